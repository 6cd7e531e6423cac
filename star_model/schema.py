"""The plain, torch-free types and constants that the engine and the app share.

Importing this module loads no torch (a test checks it): the app's state, views and project
files use these types directly, and only ``star_app/services/`` turns them into engine work.

- :class:`ClipRef`, :class:`ActionExamples`: example clips of the actions to recognise;
- :class:`Segment`, :data:`BACKGROUND`, :data:`SOURCE_MODEL` / :data:`SOURCE_MANUAL`: labelled spans;
- :class:`LabelingParams`: every labeling setting, its default written once, its range checked here;
- :class:`ModelChoice`: which model and weights to run, on which device;
- :class:`LabelResult`: what labeling one video gives (per-frame scores and segments);
- :data:`ProgressFn` / :data:`CancelFn`: the callbacks of long-running work, and :func:`report`;
- :func:`atomic_write`: how every file of the project's formats is written (and its killed writers' temp
  files removed, :func:`remove_stale_temps`).
"""
from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

log = logging.getLogger(__name__)

BACKGROUND = "background"
"""The label of every span that is none of the actions."""

SOURCE_MODEL = "model"
SOURCE_MANUAL = "manual"
SOURCE_TEXT = "text"
SOURCES = (SOURCE_MODEL, SOURCE_MANUAL, SOURCE_TEXT)
"""Where a segment comes from: the model's labeling, a person's edit, or the model's labeling of an action
known from its text alone (no examples yet: "text only")."""

ProgressFn = Callable[[int, int, str], None]
"""progress(done, total, message); total may be an estimate (0: unknown)."""

CancelFn = Callable[[], bool]
"""cancel() returns True once the caller wants the work stopped."""


def report(progress: Optional[ProgressFn], done: int, total: int, message: str = "") -> None:
    """Call ``progress`` if there is one."""
    if progress is not None:
        progress(done, total, message)


@dataclass
class ClipRef:
    """An example clip: a file, optionally a span of it (seconds). ``tight``: the span is trimmed to the
    action already (it was cut from a labelled segment), so no still lead-in or lead-out is cut off it,
    whatever the labeling's ``trim_rest``."""

    path: str
    start_s: Optional[float] = None
    end_s: Optional[float] = None
    tight: bool = False


@dataclass
class ActionExamples:
    """One action: its name, example clips and (optional) stage descriptors."""

    name: str
    clips: list[ClipRef]
    descriptors: Optional[list[str]] = None


@dataclass
class Segment:
    """One labelled span of a video; ``end_frame`` is exclusive; ``source`` is one of :data:`SOURCES`."""

    label: str
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int
    confidence: float = 1.0
    source: str = SOURCE_MODEL

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


RATE_RANGE = (0.25, 60.0)


@dataclass(frozen=True)
class LabelingParams:
    """How a long video is labeled.

    rate: frames per second sampled and embedded (in ``RATE_RANGE``); trim_rest: the examples start
    and end at rest, which is cut off them (their prototypes and lengths are their active spans).
    The search's own knobs are calibrated on validation videos (``star_model.engine.calibration``).
    """

    rate: float = 4.0
    trim_rest: bool = True

    def __post_init__(self) -> None:
        low, high = RATE_RANGE
        if not (isinstance(self.rate, (int, float)) and low <= self.rate <= high):
            raise ValueError(f"labeling rate {self.rate!r} is outside [{low:g}, {high:g}] frames per second")
        if not isinstance(self.trim_rest, bool):
            raise ValueError(f"'examples start and end at rest' must be true or false, not {self.trim_rest!r}")

    @classmethod
    def from_dict(cls, data: dict) -> "LabelingParams":
        """The parameters stored in a settings or project file; keys of older releases are dropped."""
        if not isinstance(data, dict):
            raise ValueError(f"labeling parameters must be an object, not {type(data).__name__}")
        return cls(**{k: v for k, v in data.items() if k in ("rate", "trim_rest")})


@dataclass(frozen=True)
class ModelChoice:
    """Which model runs: a shipped config name or JSON path (None: the bundled default), open_clip
    weights for its towers (a tag or a file), or a STAR checkpoint (which carries its own config);
    and the device (``auto``, ``cpu`` or ``cuda``). ``fast_cpu``: on the CPU, embed frames with the
    faster approximate image tower where there is one (an int8 copy of a ViT tower; features within
    cosine 0.99 of fp32, cached apart from them; ``star_model.nn.fast``); other towers run as they are."""

    model: Optional[str] = None
    pretrained: Optional[str] = None
    checkpoint: Optional[str] = None
    device: str = "auto"
    fast_cpu: bool = False


@dataclass(frozen=True)
class DomainCheck:
    """How far a video is from the footage its model knows, or (without a record of that) from the
    examples it was labeled with (``star_model.engine.domain``).

    distance: the video's distance to the reference frames (cosine); spread: how far the reference frames
    are from each other (the median of each one's distance to the nearest frame of another reference
    clip); far_ratio: the ratio from which the video counts as far (its labels are then likely wrong).
    """

    distance: float
    spread: float
    far_ratio: float

    @property
    def ratio(self) -> float:
        return self.distance / max(self.spread, 1e-6)

    @property
    def far(self) -> bool:
        return self.ratio >= self.far_ratio


@dataclass
class LabelResult:
    """What labeling one video gives.

    frames (F,) source frame indices and times (F,) seconds of the sampled frames; scores (F, N + 1)
    per-frame probabilities (the N actions of ``names``, then background); labels (F,); tsa_map (F, N)
    the per-frame TSA class map; segments covering the whole video without overlap; domain: how far the
    video is from the examples (None when the prototypes keep no example frames).
    """

    video: str
    names: list[str]
    frames: np.ndarray
    times: np.ndarray
    scores: np.ndarray
    labels: list[str]
    tsa_map: np.ndarray
    segments: list[Segment] = field(default_factory=list)
    domain: Optional[DomainCheck] = None


STALE_TEMP_S = 60.0
"""A temp file of :func:`atomic_write` not modified for this long is a killed writer's leftover (a live
writer's file grows, so its time is recent): the next write beside it removes it."""

_TEMP_RANDOM = "[a-z0-9_]{8}"
"""The random part of :func:`tempfile.mkstemp`'s names."""


def atomic_write(path: Path, write: Callable[[Path], None], prefix: Optional[str] = None, suffix: str = ".tmp") -> Path:
    """Write ``path`` atomically: ``write(tmp)`` fills a temporary file beside it (``prefix`` + 8 random
    characters + ``suffix``; ``prefix`` defaults to ``.<name>.``), which is then renamed over ``path``, so
    a crash mid-write leaves the previous file whole. Temp files of the same pattern left by killed writers
    (older than :data:`STALE_TEMP_S`) are removed afterwards. Returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = prefix if prefix is not None else f".{path.name}."
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    remove_stale_temps(path.parent, prefix, suffix, now=path.stat().st_mtime)
    return path


def remove_stale_temps(folder: Path, prefix: str, suffix: str, now: float) -> int:
    """Remove the files ``prefix`` + 8 random characters + ``suffix`` in ``folder`` last modified more than
    :data:`STALE_TEMP_S` before ``now``; returns how many. ``now`` is a time of the same file system (a
    fresh file's mtime), so a shared folder on a server with another clock is judged by the server's clock.
    Safe beside live writers: their temp files are younger; one removed by another sweep is skipped."""
    pattern = re.compile(re.escape(prefix) + _TEMP_RANDOM + re.escape(suffix))
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        log.debug("cannot list %s for stale temp files: %s", folder, exc)
        return 0
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < now - STALE_TEMP_S:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.debug("cannot remove the stale temp file %s: %s", entry.path, exc)
    if removed:
        log.info("removed %d stale temp file(s) %s*%s in %s", removed, prefix, suffix, folder)
    return removed


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8, flushed to disk) to ``path`` atomically."""
    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    return atomic_write(path, write)
