"""Reading a folder of example clips: one sub-folder per action.

The folder name is the action's name; an optional ``descriptors.txt`` inside gives its
stage descriptors, one per line. Folders holding ground-truth ``*.segments.csv`` files
(as ``star-app synth`` writes under ``long/``) are not actions and are skipped.
"""
from __future__ import annotations

from pathlib import Path

from star_model.errors import ActionsFolderError
from star_model.nn.descriptors import read_descriptor_file
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
    descriptors = read_descriptor_file(desc_file) if desc_file.is_file() else None
    return ActionExamples(folder.name, clips, descriptors)
