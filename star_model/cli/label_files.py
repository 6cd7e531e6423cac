"""Label files on the command line: read one onto the videos it codes, and describe videos for export.

Used by ``star-app import``, ``star-app export`` and ``star-app label --examples-from``.
"""
from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from star_model.data.interchange import LabelFile, VideoLabels, match_media, place, read_label_file
from star_model.errors import LabelFileError, VideoError
from star_model.schema import Segment
from star_model.video import probe

log = logging.getLogger(__name__)


@dataclass
class Loaded:
    """A label file placed on its videos: segments per video path, and what could not be used."""

    segments: dict[Path, list[Segment]] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def choose_group(labels: LabelFile, group: Optional[str]) -> Optional[str]:
    """The tier or subject to read: ``group``, or the file's only one; several and none chosen is an error."""
    groups = labels.groups
    if group is not None:
        if group not in groups:
            raise LabelFileError(f"{labels.path.name} has no {labels.group_kind or 'group'} {group!r}; "
                                 f"it has {', '.join(repr(g) for g in groups)}")
        return group
    if len(groups) > 1:
        raise LabelFileError(f"{labels.path.name} has several {labels.group_kind}s ({', '.join(repr(g) for g in groups)});"
                             f" choose one with --group")
    return None


def _candidates(labels: LabelFile, videos: Sequence[Path]) -> list[Path]:
    """The videos given, then the media the file names that exist (as written, or beside the file)."""
    found = [Path(v) for v in videos]
    for track in labels.tracks:
        for path in (Path(track.media), labels.path.parent / track.media_name):
            if path.is_file() and path.name not in {f.name for f in found}:
                found.append(path)
    return found


def load_label_file(path: Path, videos: Sequence[Path], group: Optional[str] = None) -> Loaded:
    """Read ``path`` and place the chosen group's tracks on the videos they code (matched by file name
    among ``videos`` and the media paths the file names); every segment is confirmed (manual)."""
    labels = read_label_file(path)
    chosen = choose_group(labels, group)
    candidates = _candidates(labels, videos)
    loaded = Loaded(notes=list(labels.notes))
    spans: dict[Path, list] = {}
    for track in labels.tracks_of(chosen):
        video = match_media(track, [str(c) for c in candidates])
        if video is None:
            loaded.unmatched.append(track.media_name)
        else:
            spans.setdefault(Path(video), []).extend(track.spans)
    if not spans:
        raise LabelFileError(f"no media named in {labels.path.name} matches a video ({', '.join(loaded.unmatched)}): "
                             "pass the coded videos on the command line, or put them beside the file")
    for video, video_spans in spans.items():
        info = probe(video)
        placed = place(video_spans, info.fps, info.frame_count)
        loaded.segments[video] = placed.segments
        if placed.cut or placed.dropped:
            loaded.notes.append(f"{video.name}: {placed.cut} overlapping span(s) cut, {placed.dropped} dropped")
    return loaded


def _estimate(video: str, segments: list[Segment]) -> VideoLabels:
    """A video known only by its segment CSV: frame rate, frames and length from the segments themselves."""
    rates = [s.end_frame / s.end_s for s in segments if s.end_s > 0 and s.end_frame > 0]
    fps = statistics.median(rates) if rates else 0.0
    return VideoLabels(video, segments, fps, max((s.end_frame for s in segments), default=0),
                       max((s.end_s for s in segments), default=0.0))


def video_labels(video: str, segments: list[Segment], videos: Sequence[Path]) -> VideoLabels:
    """What the export formats record of ``video`` (a name or path from a segment CSV): the matching file
    among ``videos`` when there is one (probed), else what the segments tell."""
    path = next((Path(v) for v in videos if Path(v).name == Path(video).name), None)
    if path is None:
        return _estimate(video, segments)
    try:
        info = probe(path)
    except VideoError as exc:
        log.warning("%s; its frame rate and length are taken from the segments", exc)
        return _estimate(str(path), segments)
    return VideoLabels(str(path.resolve()), segments, info.fps, info.frame_count, info.duration_s)
