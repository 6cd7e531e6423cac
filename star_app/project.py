"""The project model (plain dataclasses) and its JSON persistence.

A project is a folder ``NAME.star/`` holding ``project.json`` (actions with their
example clips and stage descriptors, long videos, annotations, the settings last
used) and the files the services write beside it (``prototypes.safetensors``,
``labels/*.npz``). ``project.json`` carries ``schema_version``; a file of another
version is refused with a message. Every write is atomic: the JSON goes to a temp
file in the same folder, is flushed and fsynced, then renamed over the old file, so
a crash mid-write leaves the previous file intact.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, TextIO

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
PROJECT_FILE = "project.json"
PROTOTYPES_FILE = "prototypes.safetensors"
SUFFIX = ".star"
MANUAL = "manual"
MODEL = "model"
BACKGROUND = "background"

PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46a0a0", "#f032e6",
           "#9a6324", "#808000", "#000075", "#e6a800", "#2f8f5b"]


class ProjectError(Exception):
    """A project cannot be read or written; the message says which file and why."""


@dataclass
class ExampleClip:
    """A support example: a video file and optional in/out points (seconds)."""

    path: str
    start_s: Optional[float] = None
    end_s: Optional[float] = None


@dataclass
class Action:
    """An action to recognise: its name, colour, stage descriptors and example clips."""

    name: str
    color: str
    descriptors: list[str] = field(default_factory=list)
    examples: list[ExampleClip] = field(default_factory=list)


@dataclass
class Video:
    """A long video to label."""

    path: str
    duration_s: float = 0.0
    fps: float = 0.0
    frame_count: int = 0

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass
class Annotation:
    """A labelled span; ``end_frame`` is exclusive; ``source`` is ``model`` or ``manual``."""

    label: str
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int
    confidence: float = 1.0
    source: str = MODEL


@dataclass
class ProjectSettings:
    """The engine settings a project was last built and labeled with."""

    device: str = "auto"
    model: str = "star-tiny"
    pretrained: Optional[str] = None
    checkpoint: Optional[str] = None
    rate: float = 4.0
    window_s: Optional[float] = None
    threshold: Optional[float] = None
    trim_rest: bool = True


@dataclass
class Project:
    """Everything a project holds; ``folder`` is where it was last saved (not serialised)."""

    name: str = "untitled"
    actions: list[Action] = field(default_factory=list)
    videos: list[Video] = field(default_factory=list)
    annotations: dict[str, list[Annotation]] = field(default_factory=dict)
    settings: ProjectSettings = field(default_factory=ProjectSettings)
    bank_signature: Optional[str] = None
    folder: Optional[Path] = None

    def action(self, name: str) -> Optional[Action]:
        return next((a for a in self.actions if a.name == name), None)

    def video(self, path: str) -> Optional[Video]:
        return next((v for v in self.videos if v.path == path), None)

    def next_color(self) -> str:
        used = {a.color for a in self.actions}
        return next((c for c in PALETTE if c not in used), PALETTE[len(self.actions) % len(PALETTE)])

    def unique_action_name(self, base: str) -> str:
        name, k = base, 2
        while self.action(name) is not None:
            name, k = f"{base} {k}", k + 1
        return name

    def actions_signature(self) -> str:
        """A key of what prototypes depend on (actions, examples, descriptors, model settings)."""
        s = self.settings
        payload = {"actions": [asdict(a) for a in self.actions],
                   "model": [s.device, s.model, s.pretrained, s.checkpoint], "trim_rest": s.trim_rest}
        payload["actions"] = [{k: v for k, v in a.items() if k != "color"} for a in payload["actions"]]
        return hashlib.blake2b(json.dumps(payload, sort_keys=True).encode(), digest_size=12).hexdigest()

    @property
    def prototypes_path(self) -> Optional[Path]:
        return self.folder / PROTOTYPES_FILE if self.folder else None

    def results_path(self, video_path: str) -> Optional[Path]:
        """Where the per-frame labeling results of a video are kept (``labels/<stem>-<hash>.npz``)."""
        if self.folder is None:
            return None
        stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(video_path).stem)[:40]
        digest = hashlib.blake2b(video_path.encode(), digest_size=4).hexdigest()
        return self.folder / "labels" / f"{stem}-{digest}.npz"


def project_folder(path: Path) -> Path:
    """``path`` as a project folder: ``x.star`` stays, ``x`` becomes ``x.star``, a project.json its folder."""
    path = Path(path)
    if path.name == PROJECT_FILE:
        return path.parent
    return path if path.suffix == SUFFIX else path.with_name(path.name + SUFFIX)


def to_dict(project: Project) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "name": project.name,
        "actions": [asdict(a) for a in project.actions],
        "videos": [asdict(v) for v in project.videos],
        "annotations": {k: [asdict(s) for s in v] for k, v in project.annotations.items()},
        "settings": asdict(project.settings),
        "bank_signature": project.bank_signature,
    }


def from_dict(data: dict[str, Any], folder: Optional[Path] = None) -> Project:
    """A project from its JSON dict; raises ProjectError for another schema version or bad content."""
    where = f"{folder / PROJECT_FILE}" if folder else "project"
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version != SCHEMA_VERSION:
        raise ProjectError(f"{where} has schema version {version!r}; this version of STAR Labeler reads "
                           f"version {SCHEMA_VERSION} only (was it written by a newer release?)")
    try:
        actions = [Action(a["name"], a["color"], list(a.get("descriptors", [])),
                          [ExampleClip(**e) for e in a.get("examples", [])]) for a in data["actions"]]
        return Project(
            name=folder.stem if folder else data.get("name", "untitled"),
            actions=actions,
            videos=[Video(**v) for v in data.get("videos", [])],
            annotations={k: [Annotation(**s) for s in v] for k, v in data.get("annotations", {}).items()},
            settings=ProjectSettings(**data.get("settings", {})),
            bank_signature=data.get("bank_signature"),
            folder=folder,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProjectError(f"{where} is not a valid STAR Labeler project ({exc})") from exc


def _serialize(project: Project, fh: TextIO) -> None:
    json.dump(to_dict(project), fh, indent=1)
    fh.write("\n")


def save_project(project: Project, folder: Path) -> Path:
    """Write ``folder/project.json`` atomically (temp file, fsync, rename); sets ``project.folder``."""
    folder = project_folder(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".project.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ProjectError(f"cannot write the project to {folder}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            _serialize(project, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, folder / PROJECT_FILE)
        _fsync_dir(folder)
    except (OSError, TypeError, ValueError) as exc:
        raise ProjectError(f"cannot write {folder / PROJECT_FILE}: {exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    project.folder = folder
    project.name = folder.stem
    log.info("saved project %s", folder)
    return folder


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_project(path: Path) -> Project:
    """Read a project folder (or its project.json)."""
    folder = project_folder(path)
    file = folder / PROJECT_FILE
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ProjectError(f"{folder} is not a STAR Labeler project (no {PROJECT_FILE})") from exc
    except OSError as exc:
        raise ProjectError(f"cannot read {file}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProjectError(f"{file} is not valid JSON ({exc.msg}, line {exc.lineno})") from exc
    return from_dict(data, folder)
