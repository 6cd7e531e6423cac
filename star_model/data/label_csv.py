"""The label CSV files: segments and per-frame scores, written atomically, and the segment reader.

Segment CSV, one row per segment:
``video,label,start_s,end_s,duration_s,start_frame,end_frame,confidence,source``
(``start_frame`` inclusive, ``end_frame`` exclusive).
Per-frame CSV: ``frame,time_s,`` then one score column per action plus ``background``, then ``label``.
Text cells that a spreadsheet would run as a formula are neutralised (:mod:`star_model.data.cells`).
The two CSVs of one video are written as a pair, both from one run even after a kill
(:mod:`star_model.data.label_pair`); reading a segment CSV first finishes an interrupted pair.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np

from star_model.data.cells import neutralise, restore
from star_model.data.label_pair import settle, write_pair
from star_model.schema import BACKGROUND, LabelResult, Segment, atomic_write_text

SEGMENT_COLUMNS = ["video", "label", "start_s", "end_s", "duration_s", "start_frame", "end_frame", "confidence", "source"]


def segments_csv(video: str, segments: Iterable[Segment]) -> str:
    """The segment CSV text for one video."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SEGMENT_COLUMNS)
    for s in segments:
        writer.writerow(
            [neutralise(video), neutralise(s.label), f"{s.start_s:.3f}", f"{s.end_s:.3f}", f"{s.duration_s:.3f}",
             s.start_frame, s.end_frame, f"{s.confidence:.4f}", s.source]
        )
    return buf.getvalue()


def write_segments_csv(path: Path, video: str, segments: Iterable[Segment]) -> Path:
    """Write the segment CSV of one video atomically (after finishing an interrupted pair write)."""
    settle(path)
    return atomic_write_text(path, segments_csv(video, segments))


def frames_csv(frames: Sequence[int], times: Sequence[float], actions: Sequence[str], scores: np.ndarray,
               labels: Sequence[str]) -> str:
    """The per-frame CSV text: scores (F, len(actions) + 1), the last column being background."""
    if scores.shape != (len(frames), len(actions) + 1):
        raise ValueError(f"scores have shape {scores.shape}, expected ({len(frames)}, {len(actions) + 1})")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["frame", "time_s", *map(neutralise, actions), BACKGROUND, "label"])
    for frame, t, row, label in zip(frames, times, scores, labels):
        writer.writerow([int(frame), f"{t:.3f}", *(f"{v:.4f}" for v in row), neutralise(label)])
    return buf.getvalue()


def write_frames_csv(
    path: Path,
    frames: Sequence[int],
    times: Sequence[float],
    actions: Sequence[str],
    scores: np.ndarray,
    labels: Sequence[str],
) -> Path:
    """Write the per-frame CSV alone, atomically (:func:`frames_csv`)."""
    return atomic_write_text(path, frames_csv(frames, times, actions, scores, labels))


def read_segment_rows(path: Path) -> list[tuple[str, Segment]]:
    """Every row of a segment CSV (ours or a ground-truth file in the same format): (video, segment)."""
    name = Path(path).name
    settle(Path(path))
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != SEGMENT_COLUMNS:
            raise ValueError(f"{name} does not have the segment CSV columns {','.join(SEGMENT_COLUMNS)}")
        try:
            return [(restore(row["video"]), _segment(row)) for row in reader]
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}, line {reader.line_num}: {exc}") from exc


def _segment(row: dict[str, str]) -> Segment:
    return Segment(label=restore(row["label"]), start_s=float(row["start_s"]), end_s=float(row["end_s"]),
                   start_frame=int(row["start_frame"]), end_frame=int(row["end_frame"]),
                   confidence=float(row["confidence"]), source=row["source"])


def read_segments_csv(path: Path) -> list[Segment]:
    """The segments of a segment CSV (ours or a ground-truth file in the same format)."""
    return [segment for _video, segment in read_segment_rows(path)]


def write_label_csvs(folder: Path, video: str, segments: Iterable[Segment],
                     result: Optional[LabelResult] = None) -> list[Path]:
    """``folder/<stem>.segments.csv`` of ``segments``, and ``<stem>.frames.csv`` of ``result`` when given,
    written as one pair (:mod:`star_model.data.label_pair`: both old or both new after a kill). Without a
    ``result``, an older frames CSV of the video is removed in the same step: it would disagree."""
    folder, video = Path(folder), Path(video)
    frames_path = folder / f"{video.stem}.frames.csv"
    files = []
    if result is not None:
        files.append((frames_path, frames_csv(result.frames, result.times, result.names, result.scores, result.labels)))
    segments_path = folder / f"{video.stem}.segments.csv"
    files.append((segments_path, segments_csv(video.name, segments)))
    stale = [frames_path] if result is None and frames_path.exists() else []
    return list(reversed(write_pair(segments_path, files, remove=stale)))
