"""Checking video files the user brings in (drops, the Add menu) and reading their metadata."""
from __future__ import annotations

from pathlib import Path

from star_app.project import Video
from star_app.project_check import CheckError, video_numbers
from star_model.data.actions_dir import VIDEO_SUFFIXES, is_video_file, load_action, load_actions_dir
from star_model.errors import ActionsFolderError, VideoError
from star_model.schema import ActionExamples
from star_model.video import probe

VIDEO_FILTER = "Videos (" + " ".join(f"*{s}" for s in sorted(VIDEO_SUFFIXES)) + ")"


class MediaError(ValueError):
    """A file cannot be used as a video; the message names it and says why."""


def check_video(path: str | Path) -> Video:
    """A usable video file with its metadata; raises MediaError for a folder, a non-video or a damaged file.

    Only the container is read (packets are counted, nothing is decoded).
    """
    p = Path(path)
    if p.is_dir():
        raise MediaError(f"{p.name} is a folder; drop video files ({', '.join(sorted(VIDEO_SUFFIXES))})")
    if not p.exists():
        raise MediaError(f"{p} does not exist")
    if not is_video_file(p):
        raise MediaError(f"{p.name} is not a video file (expected one of {', '.join(sorted(VIDEO_SUFFIXES))})")
    try:
        info = probe(p)
    except VideoError as exc:
        raise MediaError(str(exc)) from exc
    if info.frame_count < 1 or info.duration_s <= 0:
        raise MediaError(f"{p.name} holds no frames")
    try:  # what a project file could not hold again (a damaged header's 1e308 s)
        video_numbers(info.duration_s, info.fps, info.frame_count, p.name)
    except CheckError as exc:
        raise MediaError(f"{exc}; is the file damaged?") from exc
    return Video(str(p.resolve()), info.duration_s, info.fps, info.frame_count)


def check_videos(paths: list[str]) -> tuple[list[Video], list[str]]:
    """The usable videos among ``paths`` and one message per rejected path."""
    good: list[Video] = []
    errors: list[str] = []
    for path in paths:
        try:
            good.append(check_video(path))
        except MediaError as exc:
            errors.append(str(exc))
    return good, errors


def read_action_folders(path: str | Path) -> list[ActionExamples]:
    """The actions of a dropped folder: one action folder (its clips and the stage descriptors of its
    ``descriptors.txt``, read as ``star-app label`` reads them) or a folder of action folders.
    Raises MediaError saying why the folder holds no action."""
    p = Path(path)
    try:
        if any(is_video_file(child) for child in p.iterdir()):
            return [load_action(p)]
        return load_actions_dir(p)
    except (ActionsFolderError, OSError) as exc:
        raise MediaError(str(exc)) from exc
