"""Training data sets: which clips belong to which class.

Two layouts, both read into ``list[ActionExamples]`` (one entry per class, sorted by name):

- a folder per class, as ``star-app synth`` writes it: ``DIR/<class>/*.mp4`` plus an optional
  ``descriptors.txt``; folders holding ``*.segments.csv`` (long videos) are skipped
  (:func:`load_folder`);
- the few-shot benchmark split lists published with CLIP-FSAR / MoLo / HyRSM
  (``train_few_shot.txt``, ``val_few_shot.txt``, ``test_few_shot.txt``), one video a line
  (:func:`load_split_list`):

  * ``train0//videos/fencing/NAME.avi`` (HMDB51, UCF101, Kinetics-100): ``<split><class index>//``
    then a path relative to the data root; the class is the video's parent folder name;
  * ``test0/88644`` (Something-Something V2): ``<split><class index>/`` then a video id, resolved as
    ``<data root>/<id>.mp4`` (or another video suffix such as ``.webm``); the class name comes
    from a label file (JSON ``{id: label}``, SSv2's own annotation JSON, a list of objects with
    ``id`` and ``template``/``label``, or CSV/TXT ``id,label`` lines); without one the class is
    named by its prefix (``test0``).

  Lines that are a bare relative path (``videos/fencing/NAME.avi``) are read like the first form.
"""
from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from star_model.data.actions_dir import VIDEO_SUFFIXES, load_actions_dir
from star_model.errors import DatasetError
from star_model.schema import ActionExamples, ClipRef

_PREFIXED = re.compile(r"(?P<split>[A-Za-z_-]*?)(?P<index>\d+)/(?P<rest>.+)")
_SUFFIX_ORDER = (".mp4", ".webm", ".avi", ".mkv", ".mov", ".m4v")


def load_folder(root: str | Path) -> list[ActionExamples]:
    """Classes of a folder-per-class data set (``DIR/<class>/*.mp4`` + optional ``descriptors.txt``)."""
    return load_actions_dir(Path(root))


def read_label_map(path: str | Path) -> dict[str, str]:
    """A video id -> class name map from a JSON or CSV/TXT label file (formats in the module doc)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"label file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"label file {path.name} is not valid JSON: {exc}") from exc
        if isinstance(data, dict):
            return {str(k): str(v) for k, v in data.items()}
        if isinstance(data, list) and all(isinstance(d, dict) and "id" in d for d in data):
            out = {}
            for entry in data:
                label = entry.get("template") or entry.get("label")
                if label is None:
                    raise DatasetError(f"label file {path.name}: entry {entry['id']!r} has no 'template' or 'label'")
                out[str(entry["id"])] = re.sub(r"[\[\]]", "", str(label)).strip()
            return out
        raise DatasetError(f"label file {path.name}: expected {{id: label}} or a list of {{id, label}} objects")
    out = {}
    lines = text.splitlines()
    dialect = "excel-tab" if lines and "\t" in lines[0] else "excel"
    for lineno, row in enumerate(csv.reader(lines, dialect=dialect), 1):
        if not row or not row[0].strip() or row[0].startswith("#"):
            continue
        if len(row) < 2:
            raise DatasetError(f"label file {path.name}:{lineno}: expected 'id,label', got {','.join(row)!r}")
        if lineno == 1 and row[0].strip().lower() == "id":
            continue
        out[row[0].strip()] = row[1].strip()
    return out


def _class_name(folder: str) -> str:
    return folder.replace("_", " ").strip()


def _resolve(data_root: Path, rel: str, add_suffix: bool) -> Optional[Path]:
    path = data_root / rel
    if path.is_file():
        return path
    if add_suffix and path.suffix.lower() not in VIDEO_SUFFIXES:
        for suffix in _SUFFIX_ORDER:
            candidate = path.with_name(path.name + suffix)
            if candidate.is_file():
                return candidate
    return None


def load_split_list(
    split_file: str | Path, data_root: str | Path, labels: Optional[str | Path | dict[str, str]] = None
) -> list[ActionExamples]:
    """Classes and videos of a CLIP-FSAR-style split list, videos resolved against ``data_root``.

    A video that is not on disk raises :class:`DatasetError` naming the list, the line number and
    the line.
    """
    split_file, data_root = Path(split_file), Path(data_root)
    if not split_file.is_file():
        raise DatasetError(f"split list {split_file} does not exist")
    if not data_root.is_dir():
        raise DatasetError(f"data root {data_root} does not exist or is not a folder")
    label_map = read_label_map(labels) if isinstance(labels, (str, Path)) else labels
    classes: dict[str, list[ClipRef]] = defaultdict(list)
    for lineno, raw in enumerate(split_file.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{split_file.name}:{lineno} ({line!r})"
        m = _PREFIXED.fullmatch(line)
        if m and m["rest"].startswith("/"):  # train0//videos/fencing/NAME.avi
            rel = m["rest"].lstrip("/")
            name = _class_name(Path(rel).parent.name) or f"{m['split']}{m['index']}"
            vid_id = rel
        elif m and "/" not in m["rest"]:  # test0/88644
            rel = vid_id = m["rest"]
            name = f"{m['split']}{m['index']}"
        elif "/" in line:  # videos/fencing/NAME.avi
            rel = vid_id = line
            name = _class_name(Path(line).parent.name)
        else:  # 88644
            rel = vid_id = line
            name = ""
        if label_map is not None and "/" not in vid_id:
            if vid_id not in label_map:
                raise DatasetError(f"{where}: video id {vid_id} is not in the label file")
            name = label_map[vid_id]
        if not name:
            raise DatasetError(f"{where}: no class for this line; pass a label file (--labels) mapping ids to classes")
        path = _resolve(data_root, rel, add_suffix="/" not in vid_id)
        if path is None:
            raise DatasetError(f"{where}: video {data_root / rel} not found under the data root {data_root}")
        classes[name].append(ClipRef(str(path)))
    if not classes:
        raise DatasetError(f"split list {split_file} lists no videos")
    return [ActionExamples(name, clips) for name, clips in sorted(classes.items())]


def hold_out_classes(
    classes: Sequence[ActionExamples], count: int, seed: int = 0
) -> tuple[list[ActionExamples], list[ActionExamples]]:
    """(training classes, ``count`` held-out validation classes), chosen reproducibly from ``seed``."""
    if not 0 < count < len(classes):
        raise DatasetError(f"cannot hold out {count} of {len(classes)} classes")
    picked = set(np.random.default_rng(seed).choice(len(classes), size=count, replace=False).tolist())
    return ([c for i, c in enumerate(classes) if i not in picked], [c for i, c in enumerate(classes) if i in picked])


def hold_out_clips(
    classes: Sequence[ActionExamples], min_clips: int = 3, fraction: float = 0.25, seed: int = 0
) -> tuple[list[ActionExamples], list[list[ClipRef]]]:
    """Leave clips out for validation: of each class with >= ``min_clips`` clips, ``fraction``
    (at least one) chosen reproducibly. Returns (classes with the remaining clips, held-out clips per class)."""
    rng = np.random.default_rng(seed)
    kept: list[ActionExamples] = []
    held: list[list[ClipRef]] = []
    for c in classes:
        n = len(c.clips)
        out = set(rng.choice(n, size=max(1, int(n * fraction)), replace=False).tolist()) if n >= min_clips else set()
        kept.append(ActionExamples(c.name, [clip for i, clip in enumerate(c.clips) if i not in out], c.descriptors))
        held.append([clip for i, clip in enumerate(c.clips) if i in out])
    return kept, held
