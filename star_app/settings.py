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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import platformdirs
from PySide6.QtCore import QObject, Signal

from star_app.model_setup import ModelSetup
from star_app.project_check import CheckError, flag, items, obj, text, whole
from star_model.schema import atomic_write, atomic_write_text

log = logging.getLogger(__name__)

MAX_RECENT = 8


def config_dir() -> Path:
    env = os.environ.get("STAR_APP_CONFIG_DIR")
    return Path(env) if env else Path(platformdirs.user_config_dir("star-labeler"))


@dataclass
class AppSettings:
    """The device (and whether to embed frames on the CPU with the fast int8 ViT tower); the model new projects start with and whether the first-run choice was made; the
    descriptor LLM; autosave; the recent projects; times shown as frame numbers; the window layout
    (Qt's saved geometry and splitter states, base64, by name)."""

    device: str = "auto"
    fast_cpu: bool = False
    new_project_model: ModelSetup = field(default_factory=ModelSetup)
    model_chosen: bool = False
    llm_url: str = ""
    llm_model: str = "default"
    llm_key: str = ""
    autosave_s: int = 60
    recent: list[str] = field(default_factory=list)
    time_as_frames: bool = False
    layout: dict[str, str] = field(default_factory=dict)

    @property
    def compute(self) -> str:
        """Where and how features are computed: the device, and ``+fast-cpu`` with the fast tower."""
        return f"{self.device}+fast-cpu" if self.fast_cpu else self.device


def settings_path() -> Path:
    return config_dir() / "settings.json"


MAX_SETTINGS_BYTES = 16 * 2**20
FIELD_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "device": lambda v, w: text(v, w, 64, empty=False),
    "new_project_model": lambda v, w: ModelSetup.from_dict({k: text(x, f"{w}.{k}", 4096)
                                                            for k, x in obj(v, w).items()}),
    "model_chosen": flag,
    "fast_cpu": flag,
    "llm_url": lambda v, w: text(v, w, 4096),
    "llm_model": lambda v, w: text(v, w, 256),
    "llm_key": lambda v, w: text(v, w, 4096),
    "autosave_s": lambda v, w: whole(v, w, 0, 24 * 3600),
    "recent": lambda v, w: [text(x, f"{w}[{k}]", 4096, empty=False) for k, x in enumerate(items(v, w)[:MAX_RECENT])],
    "time_as_frames": flag,
    "layout": lambda v, w: {text(k, f"{w} key", 256): text(x, f"{w}[{k!r}]", 2**20) for k, x in obj(v, w).items()},
}
"""How each field of the settings file is read: its value checked (a CheckError names what is wrong)."""


def load_settings() -> AppSettings:
    """The saved settings, or the defaults when there are none; a file that cannot be read, or a field that
    is not what it must be, gives the defaults (for that field) with a warning, and the file is kept as
    ``settings.json.bad`` (it is rewritten whole on the next change)."""
    path = settings_path()
    try:
        if path.stat().st_size > MAX_SETTINGS_BYTES:
            raise ValueError(f"it is {path.stat().st_size} bytes, more than a settings file can be")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return AppSettings()
    except (OSError, ValueError, RecursionError) as exc:  # not UTF-8, not JSON, nested too deeply
        _keep_bad(path, f"cannot be read ({type(exc).__name__}: {exc})")
        return AppSettings()
    if not isinstance(data, dict):
        _keep_bad(path, f"holds {type(data).__name__}, not an object of settings")
        return AppSettings()
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, check in FIELD_CHECKS.items():
        if name in data:
            try:
                values[name] = check(data[name], name)
            except (CheckError, ValueError, TypeError) as exc:
                problems.append(str(exc))
    if problems:
        _keep_bad(path, "has values the app cannot use: " + "; ".join(problems))
    return AppSettings(**values)


def _keep_bad(path: Path, why: str) -> None:
    """Warn that the settings file ``why``, and keep a copy of it beside it (``settings.json.bad``)."""
    bad = path.with_name(path.name + ".bad")
    try:
        raw = path.read_bytes()
        atomic_write(bad, lambda tmp: tmp.write_bytes(raw))
    except OSError as exc:
        log.warning("cannot keep a copy of %s (%s)", path, exc)
    log.warning("the settings file %s %s; the defaults are used instead (the file is kept as %s)", path, why, bad)


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
