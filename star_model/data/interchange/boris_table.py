"""BORIS's exported event tables, TSV or CSV (UTF-8, one header row; times in seconds).

- **Aggregated events** (BORIS: Observations → Export events → Aggregated events): one row per state
  event (START to STOP) or point event, with ``Observation id``, ``Subject``, ``Behavior``,
  ``Behavior type`` (``STATE`` or ``POINT``), ``Start (s)``, ``Stop (s)``, ``Duration (s)``,
  ``Media file name``, ``Comment start`` and the observation's ``Source``, ``Time offset (s)``,
  ``Media duration (s)`` and ``FPS (frame/s)``.
- **Tabular events** (Export events → Tabular events): one row per event, ``Time`` and a
  ``Behavior type`` of ``START``, ``STOP`` or ``POINT``.

Times in both are observation times (media time plus the time offset; the media of player 1 one after
the other). The reader takes either table; the writer writes the aggregated table with BORIS's columns
(no modifiers, no independent variables), a segment's confidence in ``Comment start``.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Optional, Sequence

from star_model.data.cells import neutralise, restore
from star_model.data.interchange.boris_project import CONFIDENCE, NO_FOCAL_SUBJECT
from star_model.data.interchange.tracks import LabelFile, Span, Track, VideoLabels
from star_model.errors import LabelFileError
from star_model.schema import BACKGROUND, Segment, atomic_write_text

COLUMNS = [
    "Observation id", "Observation date", "Description", "Observation type", "Source", "Time offset (s)",
    "Coding duration", "Media duration (s)", "FPS (frame/s)", "Subject", "Observation duration by subject by observation",
    "Behavior", "Behavioral category", "Behavior type", "Start (s)", "Stop (s)", "Duration (s)", "Media file name",
    "Image index start", "Image index stop", "Image file path start", "Image file path stop", "Comment start",
    "Comment stop",
]
AGGREGATED = ("Behavior", "Behavior type", "Start (s)", "Stop (s)")
TABULAR = ("Behavior", "Time")
TABULAR_KIND = ("Behavior type", "Status")
MEDIA_COLUMNS = ("Media file name", "Media file", "Media file path")
NA = "NA"
HEADER_SEARCH = 60


def _delimiter(line: str) -> str:
    return "\t" if "\t" in line else ";" if line.count(";") > line.count(",") else ","


def _cells(line: str) -> list[str]:
    return [c.strip() for c in next(csv.reader([line], delimiter=_delimiter(line)), [])]


def _is_header(cells: Sequence[str]) -> bool:
    aggregated = all(c in cells for c in AGGREGATED)
    return aggregated or (all(c in cells for c in TABULAR) and any(c in cells for c in TABULAR_KIND))


def header_line(lines: Sequence[str]) -> Optional[int]:
    """The index of a BORIS event table's header among the first lines of a file (older BORIS releases
    put the observation's details above it), or None."""
    return next((i for i, line in enumerate(lines[:HEADER_SEARCH]) if _is_header(_cells(line))), None)


def behaviour_line(lines: Sequence[str]) -> Optional[list[str]]:
    """The cells of the first line with a ``Behavior`` column (a BORIS table, complete or not), or None."""
    return next((cells for cells in map(_cells, lines[:HEADER_SEARCH]) if "Behavior" in cells), None)


def _missing(cells: Sequence[str]) -> list[str]:
    if "Time" in cells:
        return [] if any(c in cells for c in TABULAR_KIND) else ["Behavior type"]
    return [c for c in AGGREGATED if c not in cells]


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]], int]:
    """The header, the rows (cells restored) and the line number of the first row."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelFileError(f"cannot read {path.name} as a BORIS event table ({exc})") from exc
    at = header_line(lines)
    if at is None:
        missing = _missing(behaviour_line(lines) or [])
        raise LabelFileError(f"{path.name} lacks the BORIS column(s) {', '.join(missing)}: export the events from "
                             "BORIS as an aggregated events table (Behavior, Behavior type, Start (s), Stop (s), ...) "
                             "or a tabular one (Behavior, Time, Behavior type), TSV or CSV")
    header = _cells(lines[at])
    reader = csv.DictReader(lines[at + 1:], fieldnames=header, delimiter=_delimiter(lines[at]))
    rows = [{k: restore((v or "").strip()) for k, v in row.items() if k is not None} for row in reader]
    return header, rows, at + 2


def _float(row: dict[str, str], column: str, path: Path, line: int) -> Optional[float]:
    value = row.get(column, "")
    if value in ("", NA):
        return None
    try:
        return float(value)
    except ValueError:
        raise LabelFileError(f"{path.name}, line {line}: {column} is {value!r}, not a number of seconds") from None


def _media_start(row: dict[str, str], media: str) -> float:
    """Where ``media`` starts in its observation's time: the time offset plus the lengths of the media
    before it in player 1 (BORIS's ``Source`` and ``Media duration (s)``: ``player #1:a;b|player #2:...``)."""
    offset = _seconds(row.get("Time offset (s)", ""))
    files = row.get("Source", "").split("|")[0].split(":", 1)[-1].split(";")
    lengths = row.get("Media duration (s)", "").split("|")[0].split(";")
    for name, length in zip(files, lengths):
        if name == media:
            break
        offset += _seconds(length)
    return offset


def _seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def _media(row: dict[str, str]) -> str:
    for column in MEDIA_COLUMNS:
        media = row.get(column, "")
        if media and media not in (NA, "Not found"):
            return media
    source = row.get("Source", "").split("|")[0].split(":", 1)[-1].split(";")[0]
    return source or row.get("Observation id", "")


def _confidence(comment: str) -> Optional[float]:
    found = CONFIDENCE.match(comment.strip())
    return float(found.group(1)) if found else None


def _aggregated(path: Path, rows: list[dict[str, str]], first: int) -> list[tuple[str, str, Span]]:
    out = []
    for line, row in enumerate(rows, start=first):
        media = _media(row)
        start, stop = _float(row, "Start (s)", path, line), _float(row, "Stop (s)", path, line)
        if start is None:
            continue
        shift = _media_start(row, media)
        point = row["Behavior type"].upper() == "POINT" or stop is None
        out.append((media, row.get("Subject") or NO_FOCAL_SUBJECT,
                    Span(row["Behavior"], start - shift, None if point else stop - shift,
                         confidence=_confidence(row.get("Comment start", "")))))
    return out


def _tabular(path: Path, header: list[str], rows: list[dict[str, str]], first: int) -> list[tuple[str, str, Span]]:
    modifiers = [c for c in header if c.startswith("Modifier")]
    kind_column = next(c for c in TABULAR_KIND if c in header)
    open_: dict[tuple, tuple[float, str]] = {}
    out = []
    for line, row in enumerate(rows, start=first):
        t, kind = _float(row, "Time", path, line), row[kind_column].upper()
        if t is None:
            continue
        media = _media(row)
        subject = row.get("Subject") or NO_FOCAL_SUBJECT
        key = (row.get("Observation id"), subject, row["Behavior"], tuple(row.get(m, "") for m in modifiers))
        t -= _media_start(row, media)
        if kind == "POINT":
            out.append((media, subject, Span(row["Behavior"], t, None, confidence=_confidence(row.get("Comment", "")))))
        elif kind == "START":
            open_[key] = (t, row.get("Comment", ""))
        elif kind == "STOP" and key in open_:
            start, comment = open_.pop(key)
            out.append((media, subject, Span(row["Behavior"], start, t, confidence=_confidence(comment))))
    return out


def read_boris_table(path: Path) -> LabelFile:
    """A BORIS aggregated or tabular events table, one track per media file and subject."""
    path = Path(path)
    header, rows, first = _rows(path)
    found = _aggregated(path, rows, first) if all(c in header for c in AGGREGATED) else \
        _tabular(path, header, rows, first)
    tracks: dict[tuple[str, str], Track] = {}
    for media, subject, span in found:
        tracks.setdefault((media, subject), Track(media, [], subject)).spans.append(span)
    if not tracks:
        raise LabelFileError(f"{path.name} holds no events (a header and no rows with a start time)")
    return LabelFile(path, "boris-table", list(tracks.values()), "subject")


def _row(video: VideoLabels, seg: Segment, when: str, coded: float) -> list:
    """One aggregated-events row; like BORIS for media observations, the image index columns hold the
    segment's frames."""
    start, stop = video.time_of(seg.start_frame, seg.start_s), video.time_of(seg.end_frame, seg.end_s)
    return [
        neutralise(Path(video.path).stem), when, "labels from STAR Labeler", "Media file",
        neutralise(f"player #1:{video.path}"), "0.0", f"{video.duration_s:.3f}", f"{video.duration_s:.3f}",
        f"{video.fps:.3f}", NO_FOCAL_SUBJECT, f"{coded:.3f}", neutralise(seg.label), "Not defined", "STATE",
        f"{start:.3f}", f"{stop:.3f}", f"{stop - start:.3f}", neutralise(video.path), seg.start_frame, seg.end_frame, NA, NA,
        f"confidence {seg.confidence:.4f}", "",
    ]


def boris_table(videos: Sequence[VideoLabels], delimiter: str = "\t") -> str:
    """The aggregated events table of ``videos`` (background left out), rows in time order per video."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(COLUMNS)
    when = datetime.now().isoformat(sep=" ", timespec="seconds")
    for video in videos:
        segments = sorted((s for s in video.segments if s.label != BACKGROUND), key=lambda s: s.start_frame)
        coded = sum(video.time_of(s.end_frame, s.end_s) - video.time_of(s.start_frame, s.start_s) for s in segments)
        writer.writerows(_row(video, s, when, coded) for s in segments)
    return buf.getvalue()


def write_boris_table(path: Path, videos: Sequence[VideoLabels]) -> Path:
    """Write the aggregated events table atomically: tab-separated, or comma-separated for a ``.csv`` path."""
    path = Path(path)
    return atomic_write_text(path, boris_table(videos, "," if path.suffix.lower() == ".csv" else "\t"))
