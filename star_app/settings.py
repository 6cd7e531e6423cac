"""Application settings, persisted as JSON in the user config dir (platformdirs).

``$STAR_APP_CONFIG_DIR`` overrides the folder (tests point it at a temp dir).
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Optional

import platformdirs

log = logging.getLogger(__name__)

MAX_RECENT = 8


def config_dir() -> Path:
    env = os.environ.get("STAR_APP_CONFIG_DIR")
    return Path(env) if env else Path(platformdirs.user_config_dir("star-labeler"))


@dataclass
class AppSettings:
    """What the Settings panel edits, plus the recent projects list."""

    device: str = "auto"
    model_source: str = "bundled"  # bundled | pretrained | checkpoint
    model: str = "star-tiny"
    pretrained: str = ""
    checkpoint: str = ""
    rate: float = 4.0
    window_s: float = 0.0  # 0: the median example length
    threshold: float = 0.0  # 0: calibrated from the examples
    trim_rest: bool = True  # examples start and end at rest: cut that off, and learn background from it
    llm_url: str = ""
    llm_model: str = "default"
    llm_key: str = ""
    retrain_steps: int = 0  # 0: the default fine-tuning recipe
    autosave_s: int = 60
    recent: list[str] = field(default_factory=list)

    def add_recent(self, path: str) -> None:
        self.recent = [path] + [p for p in self.recent if p != path]
        del self.recent[MAX_RECENT:]

    @property
    def window(self) -> Optional[float]:
        return self.window_s or None

    @property
    def bg_threshold(self) -> Optional[float]:
        return self.threshold or None


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
        return AppSettings(**{k: v for k, v in data.items() if k in known})
    except TypeError as exc:
        log.warning("settings %s are invalid (%s); using defaults", path, exc)
        return AppSettings()


def save_settings(settings: AppSettings) -> None:
    """Write the settings atomically; a failure is logged (settings are not worth an error dialog)."""
    path = settings_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".settings.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(settings), fh, indent=1)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("cannot save settings to %s: %s", path, exc)
