"""Checking video files the user brings in (drops, the Add menu) and reading their metadata."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from star_model.support import VIDEO_SUFFIXES, is_video_file
from star_model.video import probe
from star_model.video_errors import VideoError

VIDEO_FILTER = "Videos (" + " ".join(f"*{s}" for s in sorted(VIDEO_SUFFIXES)) + ")"


class MediaError(ValueError):
    """A file cannot be used as a video; the message names it and says why."""


@dataclass(frozen=True)
class MediaInfo:
    path: str
    duration_s: float
    fps: float
    frame_count: int
    width: int
    height: int


def check_video(path: str | Path) -> MediaInfo:
    """Metadata of a usable video file; raises MediaError for a folder, a non-video or a damaged file.

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
    return MediaInfo(str(p.resolve()), info.duration_s, info.fps, info.frame_count, info.width, info.height)


def check_videos(paths: list[str]) -> tuple[list[MediaInfo], list[str]]:
    """The usable videos among ``paths`` and one message per rejected path."""
    good: list[MediaInfo] = []
    errors: list[str] = []
    for path in paths:
        try:
            good.append(check_video(path))
        except MediaError as exc:
            errors.append(str(exc))
    return good, errors
