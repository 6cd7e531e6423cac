"""What every label format reads into and writes from.

Reading: a file gives :class:`Track`s, one per coded video (and per tier or subject when the format
has several), each a list of :class:`Span`s in the file's own terms (seconds, or frames for per-frame
formats; a point event has no end). :func:`place` turns the spans of one track into the project's
:class:`~star_model.schema.Segment`s once the video they belong to (and so its frame rate) is known.

Writing: every writer takes :class:`VideoLabels`, a video's segments with what the formats record of
the video (its path, frame rate, length). Times are written at frame boundaries (``frame / fps``), so
that reading them back gives the same frames.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from star_model.schema import BACKGROUND, SOURCE_MANUAL, Segment


@dataclass
class Span:
    """One labelled span as a file holds it: seconds, or frames (``end`` exclusive); ``end_s`` None with
    no ``end_frame`` is a point event; confidence and source where the format keeps them."""

    label: str
    start_s: Optional[float] = None
    end_s: Optional[float] = None
    start_frame: Optional[int] = None
    end_frame: Optional[int] = None
    confidence: Optional[float] = None
    source: Optional[str] = None


@dataclass
class Track:
    """The spans a file holds for one video: ``media`` as the file names it (a path or a file name);
    ``group`` the tier (ELAN) or subject (BORIS) they belong to, "" when the format has no such choice."""

    media: str
    spans: list[Span]
    group: str = ""

    @property
    def media_name(self) -> str:
        """The media's file name, whichever separators its path uses."""
        return self.media.replace("\\", "/").rsplit("/", 1)[-1]


@dataclass
class LabelFile:
    """A read label file: its format (a key of ``FORMATS``), its tracks, what a group is called in it, and
    notes on what the reader had to skip or mend."""

    path: Path
    format: str
    tracks: list[Track]
    group_kind: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def groups(self) -> list[str]:
        """The tiers or subjects to choose from, in the order the file first uses them (one empty name when
        the format has no such choice)."""
        return list(dict.fromkeys(t.group for t in self.tracks))

    def tracks_of(self, group: Optional[str] = None) -> list[Track]:
        """The tracks of ``group`` (all of them when None)."""
        return [t for t in self.tracks if group is None or t.group == group]


@dataclass
class VideoLabels:
    """A video's segments and what the formats record of the video; ``actions``: behaviours to list even
    when no segment has them (the order of the ethogram and of the per-frame columns)."""

    path: str
    segments: list[Segment]
    fps: float
    frame_count: int
    duration_s: float
    actions: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return Path(self.path).name

    def behaviours(self) -> list[str]:
        """``actions`` then every other label of the segments, background left out."""
        labels = list(self.actions) + [s.label for s in self.segments]
        return [x for x in dict.fromkeys(labels) if x != BACKGROUND]

    def time_of(self, frame: int, fallback: float) -> float:
        """The time of a frame boundary (``fallback`` when the frame rate is unknown)."""
        return frame / self.fps if self.fps > 0 else fallback


@dataclass
class Placed:
    """Segments placed on a video, and what :func:`place` had to change: spans cut where they overlapped
    an earlier one, and spans dropped (nothing left after the cut, or outside the video)."""

    segments: list[Segment]
    cut: int = 0
    dropped: int = 0


def _frames(span: Span, fps: float) -> tuple[int, int]:
    start = span.start_frame if span.start_frame is not None else int(round((span.start_s or 0.0) * fps))
    if span.end_frame is not None:
        return start, span.end_frame
    if span.end_s is None:  # a point event: one frame
        return start, start + 1
    return start, int(round(span.end_s * fps))


def _segment(span: Span, a: int, b: int, fps: float, source: str) -> Segment:
    """The segment of ``span`` on frames [a, b); its own times are kept unless a or b had to move."""
    a0, b0 = _frames(span, fps)
    start_s = span.start_s if span.start_s is not None and a == a0 else a / fps
    end_s = span.end_s if span.end_s is not None and b == b0 else b / fps
    confidence = 1.0 if span.confidence is None else float(span.confidence)
    return Segment(span.label, float(start_s), float(end_s), a, b, confidence, source)


def place(spans: list[Span], fps: float, frame_count: int = 0, source: str = SOURCE_MANUAL) -> Placed:
    """The spans of one track as segments of a video of ``fps`` frames per second (and ``frame_count``
    frames, when known), in time order, marked ``source`` (imported labels are confirmed: manual).

    Frames are ``round(t * fps)``. A point event becomes a one-frame segment. Spans that overlap an earlier
    one are cut to start where it ends (the timeline shows one label at a time); spans left empty or lying
    outside the video are dropped (and a start before 0 is moved to 0). Both are counted in the result.
    """
    if fps <= 0:
        raise ValueError(f"cannot place labels on a video of frame rate {fps!r}")
    placed = Placed([])
    limit = frame_count if frame_count > 0 else None
    for span in sorted(spans, key=lambda s: _frames(s, fps)):
        a, b = _frames(span, fps)
        a, b = max(a, 0), b if limit is None else min(b, limit)
        if placed.segments and a < placed.segments[-1].end_frame:
            a = placed.segments[-1].end_frame
            placed.cut += 1
        if b <= a:
            placed.dropped += 1
            continue
        placed.segments.append(_segment(span, a, b, fps, source))
    return placed
