"""The one error family raised for bad video input (see :mod:`star_model.video`).

Every error is a :class:`~star_model.errors.VideoError`; catch that to handle them all. Each message
names the file, says what is wrong and, where there is one, how to fix it, so that
the application can show it to the user as is.
"""
from __future__ import annotations

from pathlib import Path

from star_model.errors import VideoError

__all__ = [
    "VideoError",
    "VideoNotFound",
    "EmptyVideo",
    "NotAVideo",
    "NoVideoStream",
    "UnsupportedCodec",
    "DamagedVideo",
    "ClipOutOfRange",
]

_CONVERT_HINT = "convert it, e.g. `ffmpeg -i {name} -c:v libx264 -pix_fmt yuv420p {stem}_h264.mp4`"


class VideoNotFound(VideoError):
    """The path does not exist or is not a file."""


class EmptyVideo(VideoError):
    """The file is empty (0 bytes)."""


class NotAVideo(VideoError):
    """The file is not a container FFmpeg recognises (e.g. a text file named .mp4)."""


class NoVideoStream(VideoError):
    """The container has no video stream (e.g. an audio-only file)."""


class UnsupportedCodec(VideoError):
    """The video stream's codec cannot be decoded by any available backend."""


class DamagedVideo(VideoError):
    """The file is damaged so that not a single frame decodes.

    A file damaged part-way does *not* raise: the frames before the damage are
    used and the damage is reported (warning + ``damaged_at_s``).
    """


class ClipOutOfRange(VideoError):
    """The requested clip span (in/out times) contains no frame of the video."""


def convert_hint(path: str | Path) -> str:
    """A one-line ffmpeg command that re-encodes ``path`` into a widely decodable file."""
    p = Path(path)
    return _CONVERT_HINT.format(name=p.name, stem=p.stem)
