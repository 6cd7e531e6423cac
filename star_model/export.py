"""CSV writers (and a reader) for segments and per-frame scores, written atomically.

Segment CSV, one row per segment:
``video,label,start_s,end_s,duration_s,start_frame,end_frame,confidence,source``
(``start_frame`` inclusive, ``end_frame`` exclusive).
Per-frame CSV: ``frame,time_s,`` then one score column per action plus ``background``, then ``label``.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

SEGMENT_COLUMNS = ["video", "label", "start_s", "end_s", "duration_s", "start_frame", "end_frame", "confidence", "source"]
BACKGROUND = "background"


@dataclass
class Segment:
    """One labelled span of a video; ``end_frame`` is exclusive."""

    label: str
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int
    confidence: float = 1.0
    source: str = "model"

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def segments_csv(video: str, segments: Iterable[Segment]) -> str:
    """The segment CSV text for one video."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SEGMENT_COLUMNS)
    for s in segments:
        writer.writerow(
            [video, s.label, f"{s.start_s:.3f}", f"{s.end_s:.3f}", f"{s.duration_s:.3f}",
             s.start_frame, s.end_frame, f"{s.confidence:.4f}", s.source]
        )
    return buf.getvalue()


def write_segments_csv(path: Path, video: str, segments: Iterable[Segment]) -> Path:
    """Write the segment CSV of one video atomically."""
    return atomic_write_text(path, segments_csv(video, segments))


def write_frames_csv(
    path: Path,
    frames: Sequence[int],
    times: Sequence[float],
    actions: Sequence[str],
    scores: np.ndarray,
    labels: Sequence[str],
) -> Path:
    """Write the per-frame CSV: scores (F, len(actions) + 1), the last column being background."""
    if scores.shape != (len(frames), len(actions) + 1):
        raise ValueError(f"scores have shape {scores.shape}, expected ({len(frames)}, {len(actions) + 1})")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["frame", "time_s", *actions, BACKGROUND, "label"])
    for frame, t, row, label in zip(frames, times, scores, labels):
        writer.writerow([int(frame), f"{t:.3f}", *(f"{v:.4f}" for v in row), label])
    return atomic_write_text(path, buf.getvalue())


def read_segments_csv(path: Path) -> list[Segment]:
    """Read a segment CSV (ours or a ground-truth file in the same format)."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != SEGMENT_COLUMNS:
            raise ValueError(f"{Path(path).name} does not have the segment CSV columns {','.join(SEGMENT_COLUMNS)}")
        return [
            Segment(
                label=row["label"], start_s=float(row["start_s"]), end_s=float(row["end_s"]),
                start_frame=int(row["start_frame"]), end_frame=int(row["end_frame"]),
                confidence=float(row["confidence"]), source=row["source"],
            )
            for row in reader
        ]
