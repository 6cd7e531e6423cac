"""DeepEthogram's per-frame label files: ``<video stem>_labels.csv``.

As DeepEthogram writes them (a pandas frame with its index): a header row whose first cell is empty,
then ``background`` and one column per behaviour; one row per video frame, the frame index first, then
1 where the behaviour is present and 0 where not (-1: not labeled yet). Several behaviours may be 1 in
the same frame. Writing: every frame of the video, background 1 where no action segment covers it.
Reading: each run of 1s in a column is a span (background runs included); the media is the file's stem
without ``_labels`` (or ``_predictions``).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from star_model.data.cells import neutralise, restore
from star_model.data.interchange.tracks import LabelFile, Span, Track, VideoLabels
from star_model.errors import LabelFileError
from star_model.schema import BACKGROUND, atomic_write_text

SUFFIXES = ("_labels", "_predictions")


def one_hot(video: VideoLabels) -> tuple[list[str], np.ndarray]:
    """The columns (background first) and the (frames, columns) 0/1 matrix of a video's segments."""
    columns = [BACKGROUND] + video.behaviours()
    n = max([video.frame_count] + [s.end_frame for s in video.segments])
    table = np.zeros((n, len(columns)), dtype=np.int8)
    for s in video.segments:
        if s.label != BACKGROUND:
            table[max(s.start_frame, 0):s.end_frame, columns.index(s.label)] = 1
    table[:, 0] = table[:, 1:].max(axis=1, initial=0) == 0
    return columns, table


def deepethogram_text(video: VideoLabels) -> str:
    """The label CSV of one video, as DeepEthogram writes it."""
    columns, table = one_hot(video)
    buf = io.StringIO()
    buf.write(",".join(["", *(_cell(c) for c in columns)]) + "\n")
    buf.writelines(f"{i}," + ",".join(map(str, row)) + "\n" for i, row in enumerate(table.tolist()))
    return buf.getvalue()


def _cell(text: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([neutralise(text)])
    return buf.getvalue()


def write_deepethogram(path: Path, video: VideoLabels) -> Path:
    """Write one video's per-frame label CSV atomically."""
    return atomic_write_text(Path(path), deepethogram_text(video))


def is_deepethogram(header: list[str]) -> bool:
    """A header whose first cell is the unnamed index column and which has behaviour columns."""
    return len(header) >= 2 and header[0].strip() in ("", "Unnamed: 0")


def _matrix(path: Path, rows: list[list[str]], width: int) -> np.ndarray:
    try:
        table = np.array([[int(float(v)) for v in row[1:width]] for row in rows if row], dtype=np.int64)
    except ValueError as exc:
        raise LabelFileError(f"{path.name} has a value that is not 0, 1 or -1 ({exc}): a DeepEthogram label file "
                             "holds one row of 0/1 per frame") from exc
    if table.ndim != 2 or table.shape[1] != width - 1:
        raise LabelFileError(f"{path.name}: every row must have {width} cells (the frame, then one per column)")
    return table


def _runs(column: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], (column == 1).astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def read_deepethogram(path: Path) -> LabelFile:
    """A DeepEthogram label CSV: one track (the video named by the file) of per-frame runs."""
    path = Path(path)
    try:
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise LabelFileError(f"cannot read {path.name} as a DeepEthogram label file ({exc})") from exc
    if not rows or not is_deepethogram(rows[0]):
        raise LabelFileError(f"{path.name} is not a DeepEthogram label file: the header must start with an empty "
                             "cell (the frame index) followed by the behaviour columns")
    names = [restore(c.strip()) for c in rows[0][1:]]
    names = [BACKGROUND if n == "none" else n for n in names]
    table = _matrix(path, rows[1:], len(rows[0]))
    spans = [Span(name, start_frame=a, end_frame=b) for k, name in enumerate(names) for a, b in _runs(table[:, k])]
    stem = path.stem
    for suffix in SUFFIXES:
        stem = stem[: -len(suffix)] if stem.endswith(suffix) else stem
    result = LabelFile(path, "deepethogram", [Track(stem, sorted(spans, key=lambda s: s.start_frame))])
    if (table == -1).any():
        result.notes.append(f"{int((table == -1).any(axis=1).sum())} frame(s) not labeled yet (-1) were left out")
    return result
