"""``star-app import`` and ``star-app export``: labels between our segment CSVs and BORIS, ELAN, DeepEthogram.

- ``import FILE [--videos VIDEO ...] [--group NAME] --out DIR``: the labels of a BORIS project or events
  table, an ELAN file, a DeepEthogram label file or a segment CSV, placed on the videos they code, as
  ``DIR/<video stem>.segments.csv`` (confirmed: source ``manual``).
- ``export SEGMENTS.csv [...] --format FORMAT --out PATH [--videos VIDEO ...]``: our segment CSVs in
  another format (one file for BORIS; one file per video in the folder PATH for the others).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from star_model.cli.label_files import load_label_file, video_labels
from star_model.data.interchange import FORMATS, write_labels
from star_model.data.label_csv import read_segment_rows, write_segments_csv
from star_model.errors import LabelFileError


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``import`` and ``export`` to star-app's sub-commands."""
    imp = sub.add_parser("import", help="labels from BORIS, ELAN, DeepEthogram or a segment CSV, as segment CSVs")
    imp.add_argument("file", type=Path, metavar="FILE", help=".boris, .tsv/.csv (BORIS events), .eaf, _labels.csv")
    imp.add_argument("--videos", type=Path, nargs="*", default=[], metavar="VIDEO",
                     help="the coded videos (matched by file name; the media paths in FILE are tried too)")
    imp.add_argument("--group", help="the ELAN tier or BORIS subject to import, when the file has several")
    imp.add_argument("--out", type=Path, required=True, help="folder for <video>.segments.csv")
    imp.set_defaults(func=_cmd_import)

    exp = sub.add_parser("export", help="segment CSVs as BORIS, ELAN or DeepEthogram files")
    exp.add_argument("segments", type=Path, nargs="+", metavar="SEGMENTS_CSV")
    exp.add_argument("--format", required=True, choices=list(FORMATS),
                     help="; ".join(f"{k}: {f.title}" for k, f in FORMATS.items()))
    exp.add_argument("--out", type=Path, required=True,
                     help="the file (boris, boris-table) or the folder (elan, deepethogram, csv) to write")
    exp.add_argument("--videos", type=Path, nargs="*", default=[], metavar="VIDEO",
                     help="the labeled videos, for their exact frame rate and length (else taken from the CSVs)")
    exp.set_defaults(func=_cmd_export)


def _cmd_import(args: argparse.Namespace) -> int:
    loaded = load_label_file(args.file, args.videos, args.group)
    for video, segments in loaded.segments.items():
        out = write_segments_csv(args.out / f"{video.stem}.segments.csv", video.name, segments)
        print(f"{video.name}: {len(segments)} segments -> {out}")
    for note in loaded.notes:
        print(f"note: {note}", file=sys.stderr)
    if loaded.unmatched:
        print(f"error: no video matches {', '.join(loaded.unmatched)} (pass them with --videos)", file=sys.stderr)
        return 2
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    by_video: dict[str, list] = {}
    for path in args.segments:
        try:
            rows = read_segment_rows(path)
        except (OSError, ValueError) as exc:
            raise LabelFileError(f"cannot export {path}: {exc}") from exc
        for video, segment in rows:
            by_video.setdefault(video, []).append(segment)
    videos = [video_labels(video, segments, args.videos) for video, segments in by_video.items()]
    for written in write_labels(args.format, videos, args.out):
        print(f"wrote {written}")
    return 0
