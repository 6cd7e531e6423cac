"""Label files in and out of a project, and examples from labels: the app's door to
:mod:`star_model.data.interchange` and :mod:`star_model.data.label_examples` (torch-free).

Importing matches each coded media file to a project video by file name; a media file that matches
no project video but exists on disk (as the file names it, or beside the file) is brought in as a new
video. Nothing here changes the project: the controller applies the result as one undoable step.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Sequence

from star_app.project import Video
from star_app.project_check import bounded_name
from star_app.services.media import MediaError, check_video
from star_model.data.interchange import FORMATS, LabelFile, VideoLabels, match_media, place, read_label_file, \
    write_labels
from star_model.data.label_examples import pick_examples, unlabeled
from star_model.schema import Segment

__all__ = ["FORMATS", "ImportPlan", "LabelFile", "export_labels", "picks_by_label", "plan_import", "read_label_file",
           "unlabeled"]


@dataclass
class ImportPlan:
    """What importing a label file would do: the segments of each video (by path), the videos to add,
    the media that match nothing, and notes (spans the reader or the placing had to mend)."""

    segments: dict[str, list[Segment]] = field(default_factory=dict)
    new_videos: list[Video] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _on_disk(labels: LabelFile, media: str, name: str) -> Optional[Video]:
    for path in (Path(media), labels.path.parent / name):
        if path.is_file():
            try:
                return check_video(path)
            except MediaError:
                return None
    return None


def _video_for(labels: LabelFile, track, videos: list[Video], plan: ImportPlan) -> Optional[Video]:
    """The project (or newly found) video a track codes, adding a found one to the plan."""
    path = match_media(track, [v.path for v in videos])
    if path is not None:
        return next(v for v in videos if v.path == path)
    found = _on_disk(labels, track.media, track.media_name)
    if found is not None:
        videos.append(found)
        plan.new_videos.append(found)
    return found


def plan_import(labels: LabelFile, group: Optional[str], videos: Sequence[Video]) -> ImportPlan:
    """The segments that the tracks of ``group`` (every track when None) give the project's ``videos``."""
    plan = ImportPlan(notes=list(labels.notes))
    known = list(videos)
    spans: dict[str, list] = {}
    for track in labels.tracks_of(group):
        video = _video_for(labels, track, known, plan)
        if video is None:
            plan.unmatched.append(track.media_name)
        else:
            spans.setdefault(video.path, []).extend(track.spans)
    for path, video_spans in spans.items():
        video = next(v for v in known if v.path == path)
        placed = place(video_spans, video.fps, video.frame_count)
        plan.segments[path] = placed.segments
        for segment in placed.segments:  # behaviour names become action names: bounded as typed ones are
            segment.label, note = bounded_name(segment.label)
            if note and note not in plan.notes:
                plan.notes.append(note)
        if placed.cut or placed.dropped:
            plan.notes.append(f"{video.name}: {placed.cut} overlapping span(s) cut, {placed.dropped} dropped")
    return plan


def export_labels(fmt: str, videos: Sequence[Video], annotations: Mapping[str, list[Segment]], actions: list[str],
                  out: Path) -> list[Path]:
    """Write the segments of ``videos`` in format ``fmt`` (a key of ``FORMATS``) to the file or folder ``out``."""
    labels = [VideoLabels(v.path, list(annotations.get(v.path, [])), v.fps, v.frame_count, v.duration_s, actions)
              for v in videos]
    return write_labels(fmt, labels, out)


def picks_by_label(annotations: Mapping[str, list[Segment]], k: int) -> dict[str, list[tuple[str, Segment]]]:
    """``k`` confirmed segments per behaviour as (video, segment) pairs (see :func:`pick_examples`)."""
    return {label: [(p.video, p.segment) for p in picks] for label, picks in pick_examples(annotations, k).items()}
