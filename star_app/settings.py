"""Application settings: what is the user's, not a project's; one store that holds them, their JSON file.

:class:`AppSettings` is a value: the device, the model new projects start with (chosen on the first
run), the LLM endpoint for descriptors, autosave, the recent projects, the time format and the window
layout. What a project labels with (its model, labeling parameters and checkpoints) is the project's
own (:class:`star_app.project.ProjectSettings`, saved in project.json). :class:`SettingsStore` holds
the current value; every change goes through :meth:`SettingsStore.update`, which saves the file and
emits ``changed`` only when something really changed. The file lives in the user config dir
(platformdirs); ``$STAR_APP_CONFIG_DIR`` overrides the folder (tests point it at a temp dir).
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs
from PySide6.QtCore import QObject, Signal

from star_app.model_setup import ModelSetup
from star_model.schema import atomic_write_text

log = logging.getLogger(__name__)

MAX_RECENT = 8


def config_dir() -> Path:
    env = os.environ.get("STAR_APP_CONFIG_DIR")
    return Path(env) if env else Path(platformdirs.user_config_dir("star-labeler"))


@dataclass
class AppSettings:
    """The device; the model new projects start with and whether the first-run choice was made; the
    descriptor LLM; autosave; the recent projects; times shown as frame numbers; the window layout
    (Qt's saved geometry and splitter states, base64, by name)."""

    device: str = "auto"
    new_project_model: ModelSetup = field(default_factory=ModelSetup)
    model_chosen: bool = False
    llm_url: str = ""
    llm_model: str = "default"
    llm_key: str = ""
    autosave_s: int = 60
    recent: list[str] = field(default_factory=list)
    time_as_frames: bool = False
    layout: dict[str, str] = field(default_factory=dict)


def settings_path() -> Path:
    return config_dir() / "settings.json"


def load_settings() -> AppSettings:
    """The saved settings, or the defaults when there are none or they cannot be read."""
    path = settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return AppSettings()
    except (OSError, json.JSONDecodeError) as exc:
        log.warning("cannot read settings %s (%s); using defaults", path, exc)
        return AppSettings()
    known = {f.name for f in fields(AppSettings)}
    try:
        values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
        if "new_project_model" in values:
            values["new_project_model"] = ModelSetup.from_dict(values["new_project_model"])
        return AppSettings(**values)
    except (AttributeError, TypeError, ValueError) as exc:
        log.warning("settings %s are invalid (%s); using defaults", path, exc)
        return AppSettings()


def save_settings(settings: AppSettings) -> None:
    """Write the settings atomically; a failure is logged (settings are not worth an error dialog)."""
    path = settings_path()
    try:
        atomic_write_text(path, json.dumps(asdict(settings), indent=1))
    except OSError as exc:
        log.warning("cannot save settings to %s: %s", path, exc)


class SettingsStore(QObject):
    """The one holder of the current settings: :meth:`update` saves them and emits ``changed``."""

    changed = Signal()

    def __init__(self, settings: AppSettings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._settings = settings if settings is not None else load_settings()

    @property
    def settings(self) -> AppSettings:
        return self._settings

    def update(self, **changes: Any) -> bool:
        """Take ``changes`` (fields of AppSettings); saved and ``changed`` emitted only when they change something."""
        new = replace(self._settings, **changes)
        if new == self._settings:
            return False
        self._settings = new
        save_settings(new)
        self.changed.emit()
        return True

    def add_recent(self, path: str) -> None:
        """Put ``path`` first among the recent projects."""
        self.update(recent=([path] + [p for p in self._settings.recent if p != path])[:MAX_RECENT])

    def save(self) -> None:
        """Write the current settings (when the window closes)."""
        save_settings(self._settings)
