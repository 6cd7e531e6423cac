"""A video's label CSVs written as one: after a crash or a kill, both are from the old run or both from the new.

Two renames cannot be one atomic step, so the pair is written with a small journal in the output folder:

1. each new file is written in full (flushed to disk) to a hidden file beside its target,
   ``.<target name>.<8 random characters>.pending``;
2. the journal ``.<video stem>.labels.json`` (``{"renames": [[pending name, target name], ...], "remove":
   [name, ...]}``, frames CSV first, segment CSV last) is written atomically: this is the commit point;
3. each file under ``remove`` (the old frames CSV when the new pair has none) is deleted, each pending file
   is renamed over its target, in the journal's order, and the journal is removed.

A kill before 2 leaves the old pair (its pending files are removed by a later write once older than
:data:`star_model.schema.STALE_TEMP_S`); a kill after 2 leaves the journal, and :func:`settle` finishes
the renames it lists (one already done is skipped), so the pair is the new one. Every reader of a
segment CSV (:func:`star_model.data.label_csv.read_segment_rows`) and every write of one settles first,
so our importers never see a half-written pair. A reader that does not know the journal (a spreadsheet)
sees at worst a new frames CSV beside the old segment CSV, never the other way round, and only until the
next read or write by STAR Labeler. One writer per video's pair at a time (labeling writes each video once).
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Sequence

from star_model.schema import atomic_write_text, remove_stale_temps

log = logging.getLogger(__name__)

SEGMENTS_SUFFIX = ".segments.csv"
PENDING_SUFFIX = ".pending"
PAIR_SUFFIXES = (".frames.csv", SEGMENTS_SUFFIX)
"""The files of a video's pair, ``<stem><suffix>``: their stale pending files are removed by every pair write."""


def journal_path(segments_csv: Path) -> Path | None:
    """The journal of the pair whose segment CSV is ``segments_csv`` (None: not a ``*.segments.csv``)."""
    name = Path(segments_csv).name
    if not name.endswith(SEGMENTS_SUFFIX) or name == SEGMENTS_SUFFIX:
        return None
    return Path(segments_csv).parent / f".{name[: -len(SEGMENTS_SUFFIX)]}.labels.json"


def _steps(journal: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """The journal's (pending, target) names and the names to remove; ValueError when it is not one of ours."""
    try:
        data = json.loads(journal.read_text(encoding="utf-8"))
        pairs = [(str(a), str(b)) for a, b in data["renames"]]
        removals = [str(n) for n in data.get("remove", [])]
    except (UnicodeDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{journal.name} is not a label journal ({exc})") from exc
    if any(Path(n).name != n or n in ("", ".", "..") for n in [*removals, *(n for pair in pairs for n in pair)]):
        raise ValueError(f"{journal.name} names a file outside its folder")
    return pairs, removals


def settle(segments_csv: Path) -> None:
    """Finish an interrupted :func:`write_pair` of the pair whose segment CSV is ``segments_csv``, if any.

    A journal that cannot be read is removed with a warning (the pair is then left as it is); a folder
    where the renames fail (read-only) is left as it is, with a warning that the pair may disagree."""
    journal = journal_path(segments_csv)
    if journal is None or not journal.exists():
        return
    folder = journal.parent
    try:
        renames, removals = _steps(journal)
    except (OSError, ValueError) as exc:
        log.warning("%s; ignoring it (the label CSVs of %s are left as they are)", exc, Path(segments_csv).name)
        with contextlib.suppress(OSError):
            journal.unlink(missing_ok=True)
        return
    try:
        for name in removals:
            (folder / name).unlink(missing_ok=True)
        for pending, target in renames:
            try:
                os.replace(folder / pending, folder / target)
            except FileNotFoundError:
                continue  # renamed before the interruption
        journal.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("cannot finish the interrupted write of %s in %s (%s); its frames CSV may be from another "
                    "run: label the video again", Path(segments_csv).name, folder, exc)
        return
    log.info("finished the interrupted write of %s", Path(segments_csv).name)


def _write_pending(target: Path, text: str) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=PENDING_SUFFIX, dir=target.parent)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(tmp)


def write_pair(segments_csv: Path, files: Sequence[tuple[Path, str]], remove: Sequence[Path] = ()) -> list[Path]:
    """Write ``files`` ((path, text), all in the folder of ``segments_csv``, the segment CSV last) as one
    (see the module's protocol), deleting the files ``remove`` (same folder) in the same step. Returns the
    written paths."""
    segments_csv = Path(segments_csv)
    journal = journal_path(segments_csv)
    if journal is None:
        raise ValueError(f"{segments_csv.name} is not a segment CSV name (<video>{SEGMENTS_SUFFIX})")
    segments_csv.parent.mkdir(parents=True, exist_ok=True)
    settle(segments_csv)
    pending: list[Path] = []
    try:
        for path, text in files:
            pending.append(_write_pending(Path(path), text))
        atomic_write_text(journal, json.dumps({"renames": [[p.name, Path(path).name]
                                                           for p, (path, _) in zip(pending, files)],
                                               "remove": [Path(path).name for path in remove]}))
    except BaseException:
        for p in pending:
            p.unlink(missing_ok=True)
        raise
    settle(segments_csv)
    now, stem = segments_csv.stat().st_mtime, segments_csv.name[: -len(SEGMENTS_SUFFIX)]
    for suffix in PAIR_SUFFIXES:
        remove_stale_temps(segments_csv.parent, f".{stem}{suffix}.", PENDING_SUFFIX, now)
    return [Path(path) for path, _ in files]
