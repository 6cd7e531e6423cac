"""Labels in and out of the tools labs already use: BORIS, ELAN, DeepEthogram, and our segment CSV.

:func:`read_label_file` reads any of them (the kind from the suffix, and for CSV/TSV from the header)
into a :class:`LabelFile` of tracks; :func:`place` puts a track's spans on a video; :func:`match_media`
finds the video a track belongs to by file name; :func:`write_labels` writes videos' segments in a
format of :data:`FORMATS`. Torch-free: the app's services and the command line both use it.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from star_model.data.interchange.boris_project import read_boris_project, write_boris_project
from star_model.data.interchange.boris_table import (HEADER_SEARCH, behaviour_line, header_line, read_boris_table,
                                                     write_boris_table)
from star_model.data.interchange.deepethogram import is_deepethogram, read_deepethogram, write_deepethogram
from star_model.data.interchange.elan import read_eaf, write_eaf
from star_model.data.interchange.tracks import LabelFile, Placed, Span, Track, VideoLabels, place
from star_model.data.label_csv import SEGMENT_COLUMNS, read_segment_rows, write_segments_csv
from star_model.errors import LabelFileError

__all__ = ["FORMATS", "Format", "LabelFile", "Placed", "Span", "Track", "VideoLabels", "match_media", "place",
           "read_label_file", "write_labels"]


@dataclass(frozen=True)
class Format:
    """A format to export: what it is, and its file: one for all videos (``suffix`` of that file) or one
    per video (``per_video``: ``<video stem><suffix>`` in a folder)."""

    title: str
    suffix: str
    per_video: bool
    write: Callable


FORMATS: dict[str, Format] = {
    "csv": Format("segment CSV (STAR Labeler)", ".segments.csv", True,
                  lambda path, v: write_segments_csv(path, v.name, v.segments)),
    "boris": Format("BORIS project", ".boris", False, write_boris_project),
    "boris-table": Format("BORIS aggregated events table", ".tsv", False, write_boris_table),
    "elan": Format("ELAN annotation file", ".eaf", True, write_eaf),
    "deepethogram": Format("DeepEthogram per-frame labels", "_labels.csv", True, write_deepethogram),
}
"""Export formats by the name ``star-app export --format`` takes."""


def write_labels(fmt: str, videos: Sequence[VideoLabels], out: Path) -> list[Path]:
    """Write ``videos`` in format ``fmt``: into the file ``out`` (one-file formats; its suffix added when it
    has none) or into the folder ``out`` (per-video formats). Every file is written atomically."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown label format {fmt!r}; choose one of {', '.join(FORMATS)}")
    spec, out = FORMATS[fmt], Path(out)
    if not spec.per_video:
        target = out if out.suffix else out.with_name(out.name + spec.suffix)
        return [spec.write(target, list(videos))]
    return [spec.write(out / f"{Path(v.path).stem}{spec.suffix}", v) for v in videos]


def _read_our_csv(path: Path) -> LabelFile:
    try:
        rows = read_segment_rows(path)
    except ValueError as exc:
        raise LabelFileError(str(exc)) from exc
    tracks: dict[str, Track] = {}
    for video, s in rows:
        tracks.setdefault(video, Track(video, [])).spans.append(
            Span(s.label, s.start_s, s.end_s, s.start_frame, s.end_frame, s.confidence, s.source))
    if not tracks:
        raise LabelFileError(f"{path.name} holds no segments (a header and no rows)")
    return LabelFile(path, "csv", list(tracks.values()))


def _first_lines(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return [line.rstrip("\r\n") for _, line in zip(range(HEADER_SEARCH), fh)]
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelFileError(f"cannot read {path.name} ({exc})") from exc


def _read_table(path: Path) -> LabelFile:
    lines = _first_lines(path)
    first = lines[0] if lines else ""
    header = [c.strip() for c in next(csv.reader([first], delimiter="\t" if "\t" in first else ","), [])]
    if header == SEGMENT_COLUMNS:
        return _read_our_csv(path)
    if header_line(lines) is not None or behaviour_line(lines) is not None:
        return read_boris_table(path)
    if is_deepethogram(header):
        return read_deepethogram(path)
    shown = ",".join(header[:6]) + ("…" if len(header) > 6 else "") if header else "empty"
    raise LabelFileError(
        f"{path.name} is not a label table this app reads (its header is {shown}): expected a segment CSV "
        f"({','.join(SEGMENT_COLUMNS)}), a BORIS events table (Behavior, Behavior type, Start (s), Stop (s), ...) "
        "or a DeepEthogram label file (an empty first cell, then background and the behaviours)")


def read_label_file(path: Path) -> LabelFile:
    """Read a label file of any supported kind; a :class:`~star_model.errors.LabelFileError` says what is
    wrong with one that cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise LabelFileError(f"{path} does not exist or is not a file")
    name = path.name.lower()
    if name.endswith((".boris", ".boris.gz")):
        return read_boris_project(path)
    if name.endswith(".eaf"):
        return read_eaf(path)
    if name.endswith((".csv", ".tsv", ".txt")):
        return _read_table(path)
    raise LabelFileError(f"{path.name}: unknown label file kind; import a BORIS project (.boris), a BORIS events "
                         "table (.tsv, .csv), an ELAN file (.eaf), a DeepEthogram label file (_labels.csv) or a "
                         "segment CSV (.segments.csv)")


def match_media(track: Track, videos: Sequence[str]) -> Optional[str]:
    """The video of ``videos`` (paths) that ``track`` codes: the same file name, or, when the track names
    its media without a suffix (DeepEthogram, an EAF without media), the same stem."""
    name = track.media_name
    for video in videos:
        if Path(video).name == name:
            return video
    if not Path(name).suffix:
        return next((v for v in videos if Path(v).stem == name), None)
    return None
