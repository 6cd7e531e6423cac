"""Reading a folder of example clips: one sub-folder per action.

The folder name is the action's name; an optional ``descriptors.txt`` inside gives its
stage descriptors, one per line. Folders holding ground-truth ``*.segments.csv`` files
(as ``star-app synth`` writes under ``long/``) are not actions and are skipped.
"""
from __future__ import annotations

from pathlib import Path

from star_model.errors import ActionsFolderError
from star_model.schema import ActionExamples, ClipRef

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts"}


def is_video_file(path: Path) -> bool:
    """A file whose suffix is one of the common video containers."""
    return path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES


def load_actions_dir(root: Path) -> list[ActionExamples]:
    """The actions in ``root`` (sorted by name), each with its clips and descriptors."""
    root = Path(root)
    if not root.is_dir():
        raise ActionsFolderError(f"actions folder {root} does not exist or is not a folder")
    actions = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if any(folder.glob("*.segments.csv")):
            continue
        actions.append(load_action(folder))
    if not actions:
        raise ActionsFolderError(f"actions folder {root} has no action sub-folders; make one folder of example clips per action")
    return actions


def load_action(folder: Path) -> ActionExamples:
    """One action folder: its clips (sorted by name) and the descriptors of its ``descriptors.txt``."""
    clips = [ClipRef(str(p)) for p in sorted(folder.iterdir()) if is_video_file(p)]
    if not clips:
        raise ActionsFolderError(f"action folder {folder} has no video clips ({', '.join(sorted(VIDEO_SUFFIXES))})")
    desc_file = folder / "descriptors.txt"
    descriptors = read_descriptors(desc_file) if desc_file.is_file() else None
    return ActionExamples(folder.name, clips, descriptors)


def read_descriptors(path: Path) -> list[str]:
    """The stage descriptors of a ``descriptors.txt``: one per non-empty line, UTF-8 (a byte-order mark is
    allowed). A file that is not UTF-8 text (binary, UTF-16, Latin-1, NUL bytes) is refused by name."""
    fix = "save it as UTF-8 text with one stage descriptor per line, or remove it"
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ActionsFolderError(f"{path} is not UTF-8 text (byte {exc.start} is 0x{exc.object[exc.start]:02x}); "
                                 f"{fix}") from None
    except OSError as exc:
        raise ActionsFolderError(f"cannot read {path} ({exc.strerror or exc}); {fix}") from None
    if "\x00" in text:
        raise ActionsFolderError(f"{path} holds binary data (NUL bytes), not UTF-8 text; {fix}")
    return [line.strip() for line in text.splitlines() if line.strip()]
