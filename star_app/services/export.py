"""CSV export of a project's annotations (segment CSV) and labeling results (per-frame CSV)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from star_app.project import Annotation
from star_app.state.label_data import LabelData
from star_model.export import Segment, read_segments_csv, write_frames_csv, write_segments_csv


def export_video(video: str, segments: list[Annotation], data: Optional[LabelData], folder: Path) -> list[Path]:
    """Write ``<stem>.segments.csv`` (and ``<stem>.frames.csv`` when there are per-frame results)."""
    stem = Path(video).stem
    name = Path(video).name
    rows = [Segment(a.label, a.start_s, a.end_s, a.start_frame, a.end_frame, a.confidence, a.source) for a in segments]
    written = [write_segments_csv(folder / f"{stem}.segments.csv", name, rows)]
    if data is not None:
        written.append(write_frames_csv(folder / f"{stem}.frames.csv", data.frames, data.times, data.names,
                                        data.scores, data.labels))
    return written


def read_segments(path: Path) -> list[Annotation]:
    """The segments of a segment CSV (as written by :func:`export_video`)."""
    return [Annotation(s.label, s.start_s, s.end_s, s.start_frame, s.end_frame, s.confidence, s.source)
            for s in read_segments_csv(path)]
