"""The project model (plain dataclasses) and its JSON persistence.

A project is a folder ``NAME.star/`` holding ``project.json`` (actions with their
example clips and stage descriptors, long videos, annotations, the settings it was
last labeled with) and the files beside it: ``prototypes.safetensors`` (written by the
services) and ``labels/*.npz`` (the per-frame labeling results, :func:`save_results`).
``project.json`` carries ``schema_version``; a file of another version is refused with
a message. Every write is atomic (:func:`star_model.schema.atomic_write`), so a crash
mid-write leaves the previous file intact.

The example clips, segments and labeling results are star_model's own schema types.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from star_model.schema import ActionExamples, ClipRef, LabelingParams, LabelResult, ModelChoice, Segment, atomic_write

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
PROJECT_FILE = "project.json"
PROTOTYPES_FILE = "prototypes.safetensors"
SUFFIX = ".star"

PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46a0a0", "#f032e6",
           "#9a6324", "#808000", "#000075", "#e6a800", "#2f8f5b"]


class ProjectError(Exception):
    """A project cannot be read or written; the message says which file and why."""


@dataclass
class Action:
    """An action to recognise: its name, colour, stage descriptors and example clips."""

    name: str
    color: str
    descriptors: list[str] = field(default_factory=list)
    examples: list[ClipRef] = field(default_factory=list)

    def as_examples(self) -> ActionExamples:
        """The action as the engine sees it: name, example clips, descriptors (None: generated)."""
        return ActionExamples(self.name, list(self.examples), list(self.descriptors) or None)


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
class Project:
    """Everything a project holds; ``model`` and ``labeling``: the settings it was last labeled with;
    ``folder`` is where it was last saved (not serialised)."""

    name: str = "untitled"
    actions: list[Action] = field(default_factory=list)
    videos: list[Video] = field(default_factory=list)
    annotations: dict[str, list[Segment]] = field(default_factory=dict)
    model: ModelChoice = field(default_factory=ModelChoice)
    labeling: LabelingParams = field(default_factory=LabelingParams)
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

    def actions_signature(self, model: ModelChoice, trim_rest: bool) -> str:
        """A key of what prototypes depend on (actions, examples, descriptors, the model, trim_rest)."""
        payload = {"actions": [asdict(a) for a in self.actions],
                   "model": [model.device, model.model, model.pretrained, model.checkpoint], "trim_rest": trim_rest}
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
        "settings": {"model": asdict(project.model), "labeling": asdict(project.labeling)},
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
                          [ClipRef(**e) for e in a.get("examples", [])]) for a in data["actions"]]
        return Project(
            name=folder.stem if folder else data.get("name", "untitled"),
            actions=actions,
            videos=[Video(**v) for v in data.get("videos", [])],
            annotations={k: [Segment(**s) for s in v] for k, v in data.get("annotations", {}).items()},
            **_settings(data.get("settings", {})),
            bank_signature=data.get("bank_signature"),
            folder=folder,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProjectError(f"{where} is not a valid STAR Labeler project ({exc})") from exc


def _settings(data: dict[str, Any]) -> dict[str, Any]:
    """The settings a project was last labeled with (older files, which kept them flat, give the defaults)."""
    if "labeling" not in data:
        return {}
    return {"model": ModelChoice(**data["model"]), "labeling": LabelingParams.from_dict(data["labeling"])}


def save_project(project: Project, folder: Path) -> Path:
    """Write ``folder/project.json`` atomically (temp file, fsync, rename); sets ``project.folder``."""
    folder = project_folder(folder)
    try:
        text = json.dumps(to_dict(project), indent=1) + "\n"
        atomic_write(folder / PROJECT_FILE, lambda tmp: _write_synced(tmp, text), prefix=".project.")
        _fsync_dir(folder)
    except (OSError, TypeError, ValueError) as exc:
        raise ProjectError(f"cannot write {folder / PROJECT_FILE}: {getattr(exc, 'strerror', None) or exc}") from exc
    project.folder = folder
    project.name = folder.stem
    log.info("saved project %s", folder)
    return folder


def _write_synced(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


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


def save_results(path: Path, result: LabelResult) -> None:
    """Write a video's per-frame labeling results (``.npz``) atomically; its segments are the project's."""
    def write(tmp: Path) -> None:
        np.savez(tmp, names=np.asarray(result.names, dtype=str), frames=result.frames, times=result.times,
                 scores=result.scores, labels=np.asarray(result.labels, dtype=str), tsa_map=result.tsa_map)
    atomic_write(path, write, prefix=f".{path.stem}.", suffix=".npz")


def load_results(path: Path, video: str) -> Optional[LabelResult]:
    """The saved per-frame results of ``video``, or None when absent or unreadable (they can be recomputed)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return LabelResult(Path(video).name, [str(n) for n in z["names"]], z["frames"], z["times"], z["scores"],
                               [str(x) for x in z["labels"]], z["tsa_map"])
    except (OSError, KeyError, ValueError) as exc:
        log.warning("cannot read labeling results %s (%s)", path, exc)
        return None
