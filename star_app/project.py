"""The project model (plain dataclasses) and its JSON persistence.

A project is a folder ``NAME.star/`` holding ``project.json`` (actions with their
example clips, stage descriptors and coding keys, long videos, annotations, the project's
settings: its model, labeling parameters and Retrain's steps, and what each video was last
labeled with) and the files beside it: ``prototypes.safetensors`` (written by the
services) and ``labels/*.npz`` (the per-frame labeling results, :func:`save_results`).
``project.json`` carries ``schema_version``; version 1 files (whose settings were
only a record) are read and upgraded, a file of another version is refused with a message. Every value is
checked before the app sees it (:func:`star_app.project_check.check_project`): a malformed file is refused
with a message naming the bad field, never a crash. Every write is atomic (:func:`star_model.schema.atomic_write`),
so a crash mid-write leaves the previous file intact. The prototypes file carries the key of what it was built
from in its own metadata (:func:`prototypes_key`), so it is never taken for prototypes of other actions.

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

from star_app.model_setup import ModelSetup
from star_app.project_check import CheckError, check_project
from star_model.schema import (ActionExamples, ClipRef, DomainCheck, LabelingParams, LabelResult, ModelChoice,
                               Segment, atomic_write)

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)
PROJECT_FILE = "project.json"
PROTOTYPES_FILE = "prototypes.safetensors"
PROTOTYPES_KEY = "signature"
"""The metadata entry of the prototypes file that holds the key it was built for (the engine writes it)."""
MAX_PROJECT_BYTES = 256 * 2**20
SUFFIX = ".star"

PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46a0a0", "#f032e6",
           "#9a6324", "#808000", "#000075", "#e6a800", "#2f8f5b"]


class ProjectError(Exception):
    """A project cannot be read or written; the message says which file and why."""


@dataclass
class Action:
    """An action to recognise: its name, colour, stage descriptors, example clips and coding key (a key
    that codes it on the timeline, as in BORIS's coding map; "" for none)."""

    name: str
    color: str
    descriptors: list[str] = field(default_factory=list)
    examples: list[ClipRef] = field(default_factory=list)
    key: str = ""

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


@dataclass(frozen=True)
class ProjectSettings:
    """What a project labels with: its model, the labeling parameters, Retrain's steps (0: the recipe's)
    and whether confirmed segments count as examples of their action."""

    model: ModelSetup = field(default_factory=ModelSetup)
    labeling: LabelingParams = field(default_factory=LabelingParams)
    retrain_steps: int = 0
    confirmed_as_examples: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model.to_dict(), "labeling": asdict(self.labeling), "retrain_steps": self.retrain_steps,
                "confirmed_as_examples": self.confirmed_as_examples}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ProjectSettings":
        return cls(ModelSetup.from_dict(data.get("model", {})), LabelingParams.from_dict(data.get("labeling", {})),
                   int(data.get("retrain_steps", 0)), bool(data.get("confirmed_as_examples", True)))


@dataclass
class Project:
    """Everything a project holds. ``labeled_with``: per video, the stamp of what it was last labeled with
    (:func:`star_app.provenance.stamp`). Not serialised: ``bank_signature``, the key of the prototypes built
    last (read from the prototypes file on load); ``folder``, where it was last saved; ``repairs``, what
    loading had to repair in the file (said to the user)."""

    name: str = "untitled"
    actions: list[Action] = field(default_factory=list)
    videos: list[Video] = field(default_factory=list)
    annotations: dict[str, list[Segment]] = field(default_factory=dict)
    settings: ProjectSettings = field(default_factory=ProjectSettings)
    labeled_with: dict[str, dict[str, str]] = field(default_factory=dict)
    bank_signature: Optional[str] = None
    folder: Optional[Path] = None
    repairs: list[str] = field(default_factory=list)

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
        "settings": project.settings.to_dict(),
        "labeled_with": project.labeled_with,
    }


def from_dict(data: dict[str, Any], folder: Optional[Path] = None) -> Project:
    """A project from its JSON dict; raises ProjectError for another schema version or bad content."""
    where = f"{folder / PROJECT_FILE}" if folder else "project"
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version not in READABLE_VERSIONS:
        raise ProjectError(f"{where} has schema version {version!r}; this version of STAR Labeler reads "
                           f"versions {', '.join(map(str, READABLE_VERSIONS))} only (was it written by a newer "
                           "release?)")
    try:
        repairs = check_project(data)
    except CheckError as exc:
        raise ProjectError(f"{where} cannot be opened: {exc}. Correct that value in the file (or restore a "
                           "backup) and open it again") from exc
    try:
        actions = [Action(a["name"], a["color"], list(a.get("descriptors", [])),
                          [ClipRef(**e) for e in a.get("examples", [])], a.get("key", "")) for a in data["actions"]]
        return Project(
            name=folder.stem if folder else data.get("name", "untitled"),
            actions=actions,
            videos=[Video(**v) for v in data.get("videos", [])],
            annotations={k: [Segment(**s) for s in v] for k, v in data.get("annotations", {}).items()},
            settings=_settings(data.get("settings", {}), version),
            labeled_with={k: dict(v) for k, v in data.get("labeled_with", {}).items()},
            bank_signature=prototypes_key(folder / PROTOTYPES_FILE) if folder else None,
            folder=folder,
            repairs=repairs,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProjectError(f"{where} is not a valid STAR Labeler project ({exc})") from exc


def _settings(data: dict[str, Any], version: int) -> ProjectSettings:
    """The project's settings; a version 1 file kept the model it was last labeled with as a ModelChoice
    (and the oldest files nothing: the defaults)."""
    if version == 1:
        if "labeling" not in data:
            return ProjectSettings()
        return ProjectSettings(ModelSetup.from_choice(ModelChoice(**data["model"])),
                               LabelingParams.from_dict(data["labeling"]))
    return ProjectSettings.from_dict(data)


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
        if file.stat().st_size > MAX_PROJECT_BYTES:
            raise ProjectError(f"{file} is {file.stat().st_size / 2**20:.0f} MB; a project file is at most "
                               f"{MAX_PROJECT_BYTES // 2**20} MB (is it a project file?)")
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ProjectError(f"{folder} is not a STAR Labeler project (no {PROJECT_FILE})") from exc
    except UnicodeDecodeError as exc:
        raise ProjectError(f"{file} is not UTF-8 text (byte {exc.start}); is it a project file?") from exc
    except OSError as exc:
        raise ProjectError(f"cannot read {file}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProjectError(f"{file} is not valid JSON ({exc.msg}, line {exc.lineno})") from exc
    except RecursionError as exc:
        raise ProjectError(f"{file} is nested too deeply to be a project file") from exc
    return from_dict(data, folder)


def prototypes_key(path: Path) -> Optional[str]:
    """The key the prototypes file ``path`` was built for (its safetensors metadata, read without loading
    the tensors); None when there is no file, it cannot be read, or it predates keys (then it is rebuilt)."""
    try:
        with open(path, "rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            header = json.loads(fh.read(size)) if 0 < size <= 2**24 else None
    except (OSError, ValueError, RecursionError):
        return None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    key = meta.get(PROTOTYPES_KEY) if isinstance(meta, dict) else None
    return key if isinstance(key, str) else None


def save_results(path: Path, result: LabelResult) -> None:
    """Write a video's per-frame labeling results (``.npz``) atomically; its segments are the project's."""
    domain = result.domain
    extra = {} if domain is None else {"domain": np.asarray([domain.distance, domain.spread, domain.far_ratio])}

    def write(tmp: Path) -> None:
        np.savez(tmp, names=np.asarray(result.names, dtype=str), frames=result.frames, times=result.times,
                 scores=result.scores, labels=np.asarray(result.labels, dtype=str), tsa_map=result.tsa_map, **extra)
    atomic_write(path, write, prefix=f".{path.stem}.", suffix=".npz")


def load_results(path: Path, video: str) -> Optional[LabelResult]:
    """The saved per-frame results of ``video``, or None when absent or unreadable (they can be recomputed)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            domain = DomainCheck(*(float(x) for x in z["domain"])) if "domain" in z.files else None
            return LabelResult(Path(video).name, [str(n) for n in z["names"]], z["frames"], z["times"], z["scores"],
                               [str(x) for x in z["labels"]], z["tsa_map"], domain=domain)
    except (OSError, KeyError, ValueError, TypeError) as exc:
        log.warning("cannot read labeling results %s (%s)", path, exc)
        return None
