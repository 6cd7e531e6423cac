"""Helpers that encode small real video files for tests (PyAV; no mocks).

Every synthetic frame carries its index as an 8-bit code (white/black blocks along
the bottom, readable with :func:`frame_code` after lossy coding and resizing) and a
red orientation marker in its top-left corner.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator, Sequence

import av
import numpy as np

from star_model.video import write_video

CODE_BITS = 8
RED = (230, 20, 20)


def synthetic_frame(i: int, width: int = 64, height: int = 48) -> np.ndarray:
    """Frame ``i``: grey background, red top-left marker, index code along the bottom."""
    img = np.full((height, width, 3), 110, np.uint8)
    img[: max(1, height // 4), : max(1, width // 4)] = RED
    strip = height - max(2, height // 5)
    for bit in range(CODE_BITS):
        x0, x1 = bit * width // CODE_BITS, (bit + 1) * width // CODE_BITS
        img[strip:, x0:x1] = 255 if (i >> bit) & 1 else 0
    return img


def frame_code(img: np.ndarray) -> int:
    """Read back the index code of an upright frame made by :func:`synthetic_frame`."""
    h, w = img.shape[:2]
    y = h - max(1, h // 10) - 1
    code = 0
    for bit in range(CODE_BITS):
        x = int((bit + 0.5) * w / CODE_BITS)
        if img[y, x].mean() > 128:
            code |= 1 << bit
    return code


def synthetic_frames(n: int, width: int = 64, height: int = 48) -> Iterator[np.ndarray]:
    """``n`` coded frames, generated lazily."""
    return (synthetic_frame(i, width, height) for i in range(n))


def make_video(path: str | Path, frames: int | Iterable[np.ndarray] = 32, fps: float = 8.0,
               codec: str | None = None, *, size: tuple[int, int] = (64, 48),
               times_s: Sequence[float] | None = None, rotation: int = 0,
               options: dict[str, str] | None = None) -> Path:
    """Write a video: ``frames`` is a count of coded synthetic frames (``size`` = (w, h))
    or an iterable of uint8 RGB arrays. ``times_s`` makes it variable frame rate."""
    if isinstance(frames, int):
        frames = synthetic_frames(frames, *size)
    return write_video(path, frames, fps, codec=codec, times_s=times_s, rotation=rotation,
                       options=options)


def make_audio_only(path: str | Path, seconds: float = 0.5, codec: str = "aac") -> Path:
    """An audio-only file (a sine tone), e.g. ``clip.m4a`` or ``clip.mp4``."""
    path = Path(path)
    rate = 16000
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        t = np.arange(int(rate * seconds)) / rate
        samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, 0
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def truncate_copy(src: str | Path, dst: str | Path, fraction: float = 0.6) -> Path:
    """Copy the first ``fraction`` of ``src``'s bytes to ``dst`` (a cut-off download)."""
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * fraction)])
    return Path(dst)


def make_unknown_codec_avi(path: str | Path, frames: int = 5) -> Path:
    """An AVI whose video fourcc names no codec FFmpeg knows (mpeg4 data, tag patched)."""
    path = Path(path)
    make_video(path, frames, 10, "mpeg4")
    data = path.read_bytes()
    assert data.count(b"FMP4") >= 1, "mpeg4-in-AVI fourcc not found"
    path.write_bytes(data.replace(b"FMP4", b"QQQ9"))
    return path
