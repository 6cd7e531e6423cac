"""Application settings: what the Settings panel edits, one store that holds them, their JSON file.

:class:`AppSettings` is a value: the model choice as the panel shows it, the labeling parameters
(a :class:`~star_model.schema.LabelingParams`, whose defaults and ranges are the engine's own),
the LLM endpoint, Retrain's step count, autosave and the recent projects. :class:`SettingsStore`
holds the current value; every change goes through :meth:`SettingsStore.update`, which saves the
file and emits ``changed`` only when something really changed. The file lives in the user config
dir (platformdirs); ``$STAR_APP_CONFIG_DIR`` overrides the folder (tests point it at a temp dir).
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

from star_model.schema import LabelingParams, ModelChoice, atomic_write_text

log = logging.getLogger(__name__)

MAX_RECENT = 8
MODEL_SOURCES = ("bundled", "pretrained", "checkpoint")


def config_dir() -> Path:
    env = os.environ.get("STAR_APP_CONFIG_DIR")
    return Path(env) if env else Path(platformdirs.user_config_dir("star-labeler"))


@dataclass
class AppSettings:
    """The model choice as the panel shows it (its source, and the model, tag and checkpoint each source
    remembers), the labeling parameters, the descriptor LLM, Retrain's steps (0: the recipe's), autosave
    and the recent projects."""

    device: str = "auto"
    model_source: str = "bundled"
    model: str = "star-tiny"
    pretrained: str = ""
    checkpoint: str = ""
    labeling: LabelingParams = field(default_factory=LabelingParams)
    llm_url: str = ""
    llm_model: str = "default"
    llm_key: str = ""
    retrain_steps: int = 0
    autosave_s: int = 60
    recent: list[str] = field(default_factory=list)

    def model_choice(self) -> ModelChoice:
        """The model the engine runs: the tag or checkpoint only when its source is chosen."""
        return ModelChoice(
            model=self.model, device=self.device,
            pretrained=self.pretrained or None if self.model_source == "pretrained" else None,
            checkpoint=self.checkpoint or None if self.model_source == "checkpoint" else None)


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
        if "labeling" in values:
            values["labeling"] = LabelingParams.from_dict(values["labeling"])
        return AppSettings(**values)
    except (TypeError, ValueError) as exc:
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
