"""Video decoding for STAR Labeler: PyAV first, OpenCV as a fallback.

Everything streams: frames come out of generators and nothing ever holds a whole
video, so memory does not depend on a video's length.

Clock
    Every frame carries ``index`` (its position in the source stream, counted from
    0) and ``time_s``, its presentation time in seconds, ``(pts - start_time) *
    time_base`` of the video stream, so 0 is the stream's first instant. Variable
    frame rate video keeps its real times. After a seek (``start_s`` > 2 s) the
    index is derived from the time and the nominal frame rate, which is exact for
    constant frame rate video.

Metadata (:func:`probe`)
    The container's header is not trusted: frame count and duration come from the
    packets actually present (default, demux only, no decoding; fast) or from the
    frames that actually decode (``exact=True``). ``fps`` is the container's
    nominal rate when it agrees (within 1 %) with the measured mean rate, the
    measured rate otherwise (variable frame rate). ``duration_s`` ends at the
    last frame's end.

Rotation
    Frames come out upright: the display matrix (or the legacy ``rotate`` tag)
    is applied to every decoded frame. ``VideoInfo.rotation`` is that rotation
    in degrees counter-clockwise (FFmpeg's convention: a phone's portrait video is
    usually -90), and ``width``/``height`` are the upright size.

Damage
    A damaged file does not raise as long as some frame decodes. Decoding skips a
    packet it cannot decode and drops frames the decoder marks corrupt, logs one
    warning naming the file and the time where the damage starts, and records it
    as ``VideoReader.damaged_at_s`` / ``VideoReader.damage`` and
    ``VideoInfo.damaged_at_s``. A file that ends clearly before the duration its
    header declares (more than max(0.5 s, 3 frames)) is truncated, i.e. damaged
    where it ends. Only a file of which no frame decodes raises
    :class:`DamagedVideo`. A transport stream (.ts) declares no duration: one whose size is
    no whole number of packets is truncated. The fast probe sees truncation and incomplete packets;
    damage inside intact packets shows when decoding (``exact=True``, iterating).

Backends
    PyAV (FFmpeg) by default. ``backend="auto"`` falls back to OpenCV
    (``cv2.CAP_FFMPEG``; times from ``CAP_PROP_POS_MSEC``, rotation applied by
    OpenCV) when PyAV cannot open the file or has no decoder for its codec; the
    OpenCV backend decodes every frame (no seeking, its probe is always exact).
    Resizing (``size``) uses area interpolation.

A file of a single frame (a still image renamed .mp4) is refused by :meth:`VideoReader.probe` with
:class:`NotAVideo`. All input errors are :class:`~star_model.video.errors.VideoError` subclasses.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from star_model.video.errors import (ClipOutOfRange, DamagedVideo, EmptyVideo, NotAVideo,
                                     NoVideoStream, UnsupportedCodec, VideoError, VideoNotFound)
from star_model.video.opencv import OpenCVSource
from star_model.video.pyav import PyAVSource
from star_model.video.source import Raw, Source, VideoInfo

try:  # PyAV is a dependency, but OpenCV alone still decodes if it is missing.
    import av
except ImportError:  # pragma: no cover - exercised only without PyAV
    av = None  # type: ignore[assignment]

__all__ = [
    "VideoInfo", "Frame", "VideoReader", "probe", "iter_frames", "sample_clip",
    "write_video", "content_hash", "default_codec", "VideoError", "VideoNotFound",
    "EmptyVideo", "NotAVideo", "NoVideoStream", "UnsupportedCodec", "DamagedVideo",
    "ClipOutOfRange",
]

log = logging.getLogger(__name__)

Size = int | tuple[int, int] | None
"""Output size: ``None`` (native), an int (short side, aspect kept) or ``(width, height)``."""


@dataclass(frozen=True)
class Frame:
    """One decoded frame: ``image`` is (H, W, 3) uint8 RGB, upright."""

    index: int
    time_s: float
    image: np.ndarray


class VideoReader:
    """A video file opened with one backend (``"auto"``, ``"pyav"`` or ``"opencv"``).

    ``"auto"`` uses PyAV and falls back to OpenCV when PyAV cannot open the file
    or has no decoder for its codec. Each :meth:`frames` / :meth:`sample_clip`
    call decodes independently (its own demuxer), so a reader may be reused.
    ``damaged_at_s`` / ``damage`` hold the last damage met while decoding.
    """

    def __init__(self, path: str | Path, backend: str = "auto") -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise VideoNotFound(f"{self.path} is a folder, not a video file", self.path)
        if not self.path.is_file():
            raise VideoNotFound(f"video file not found: {self.path}", self.path)
        if self.path.stat().st_size == 0:
            raise EmptyVideo(f"{self.path.name} is empty (0 bytes); copy or export it again "
                             f"({self.path})", self.path)
        if backend not in ("auto", "pyav", "opencv"):
            raise ValueError(f"backend must be 'auto', 'pyav' or 'opencv', not {backend!r}")
        self._source: Source = self._open(backend)
        self._info: VideoInfo | None = None

    def _open(self, backend: str) -> Source:
        if backend == "opencv" or (backend == "auto" and av is None):
            return OpenCVSource(self.path)
        try:
            return PyAVSource(self.path)
        except (NotAVideo, UnsupportedCodec, DamagedVideo) as exc:
            if backend == "pyav":
                raise
            try:
                src = OpenCVSource(self.path)
            except VideoError:
                raise exc from None
            log.info("PyAV cannot read %s (%s); using OpenCV", self.path.name, exc)
            return src

    @property
    def backend(self) -> str:
        """``"pyav"`` or ``"opencv"``."""
        return self._source.name

    @property
    def damaged_at_s(self) -> float | None:
        """Time (s) where decoding stopped on damage, or ``None`` if none was met."""
        return self._source.damaged_at_s

    @property
    def damage(self) -> str | None:
        """The damage message (also logged as a warning), or ``None``."""
        return self._source.damage

    @property
    def info(self) -> VideoInfo:
        """Metadata from a fast (demux-only) probe, computed once."""
        if self._info is None:
            self._info = self.probe()
        return self._info

    def probe(self, exact: bool = False) -> VideoInfo:
        """Measure the video; ``exact`` decodes every frame instead of counting packets."""
        info = self._source.probe(exact)
        if info.frame_count < 2:
            raise NotAVideo(f"{self.path.name} holds a single frame ({info.codec}): a still image, not a video; "
                            f"choose a video of at least 2 frames (e.g. .mp4, .avi, .mkv)", self.path)
        if exact or self._info is None:
            self._info = info
        return info

    def frames(self, *, rate: float | None = None, start_s: float | None = None,
               end_s: float | None = None, size: Size = None) -> Iterator[Frame]:
        """Yield frames in ``[start_s, end_s)``, all of them or sampled at ``rate`` fps.

        With ``rate``, for each target time ``t0 + k / rate`` (``t0`` = ``start_s`` or 0)
        before the end the frame nearest to it is yielded (ties: the earlier frame);
        a frame nearest to several targets is yielded once. Only yielded frames are
        converted to RGB (and scaled to ``size``).
        """
        _check_span(start_s, end_s)
        raws = self._source.raw(start_s, end_s)
        if rate is not None:
            if not rate > 0:
                raise ValueError(f"rate must be > 0 fps, not {rate}")
            raws = _nearest_to_grid(raws, rate, start_s or 0.0, end_s, self._source.period_s)
        for raw in raws:
            yield Frame(raw.index, raw.time_s, self._source.to_rgb(raw.payload, size))

    def sample_clip(self, T: int, *, start_s: float | None = None, end_s: float | None = None,
                    size: Size = None, rng: np.random.Generator | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
        """T frames from uniform segments of the clip ``[start_s, end_s)``.

        The clip is cut into T equal segments; without ``rng`` the frame nearest each
        segment's centre is taken (inference), with ``rng`` a uniformly random frame
        inside each segment (training; a segment holding no frame falls back to the
        frame nearest its centre, so short clips repeat frames). Decoding streams and
        keeps only the chosen frames. Returns ``(frames (T, H, W, 3) uint8, times_s (T,))``.
        """
        if T < 1:
            raise ValueError(f"T must be >= 1, not {T}")
        _check_span(start_s, end_s)
        a = 0.0 if start_s is None else float(start_s)
        b = self.info.duration_s if end_s is None else float(end_s)
        if b <= a:
            raise ClipOutOfRange(f"no frames of {self.path.name} between {a:.2f} s and {b:.2f} s;"
                                 f" the video is {self.info.duration_s:.2f} s long", self.path)
        seg = (b - a) / T
        centres = [a + (i + 0.5) * seg for i in range(T)]
        nearest: list[Raw | None] = [None] * T
        picked: list[Raw | None] = [None] * T
        counts = [0] * T
        for raw in self._source.raw(start_s, b):
            t = raw.time_s
            for i, c in enumerate(centres):
                best = nearest[i]
                if best is None or abs(t - c) < abs(best.time_s - c):
                    nearest[i] = raw
            if rng is not None:
                i = min(T - 1, max(0, int((t - a) / seg)))
                counts[i] += 1
                if rng.integers(counts[i]) == 0:  # reservoir sampling of one frame
                    picked[i] = raw
        if nearest[0] is None:
            raise ClipOutOfRange(f"no frames of {self.path.name} between {a:.2f} s and {b:.2f} s;"
                                 f" the video is {self.info.duration_s:.2f} s long", self.path)
        chosen = [p if p is not None else n for p, n in zip(picked, nearest)]
        images: dict[int, np.ndarray] = {}
        for raw in chosen:
            if id(raw) not in images:
                images[id(raw)] = self._source.to_rgb(raw.payload, size)
        frames = np.stack([images[id(raw)] for raw in chosen])
        return frames, np.array([raw.time_s for raw in chosen], dtype=np.float64)


def _check_span(start_s: float | None, end_s: float | None) -> None:
    if start_s is not None and start_s < 0:
        raise ValueError(f"start_s must be >= 0, not {start_s}")
    if start_s is not None and end_s is not None and end_s <= start_s:
        raise ValueError(f"end_s ({end_s}) must be after start_s ({start_s})")


def _nearest_to_grid(raws: Iterator[Raw], rate: float, t0: float, end_s: float | None,
                     period_s: float) -> Iterator[Raw]:
    """Keep, for each grid time ``t0 + k / rate``, the raw frame nearest to it."""
    step = 1.0 / rate
    k = 0
    prev: Raw | None = None
    prev_sent = False
    eps = 1e-9
    for raw in raws:
        take = False
        while t0 + k * step <= raw.time_s + eps:
            target = t0 + k * step
            if prev is not None and target - prev.time_s <= raw.time_s - target + eps:
                if not prev_sent:
                    prev_sent = True
                    yield prev
            else:
                take = True
            k += 1
        if take:
            yield raw
        prev, prev_sent = raw, take
    if prev is not None and not prev_sent:  # a grid time after the last frame, before the end
        end = end_s if end_s is not None else prev.time_s + period_s
        if t0 + k * step < end - eps:
            yield prev


def probe(path: str | Path, *, exact: bool = False, backend: str = "auto") -> VideoInfo:
    """Metadata of a video: fps, duration, frame count, upright size, rotation, codec.

    By default frames are counted from the demuxed packets (fast; no decoding);
    ``exact=True`` decodes every frame, which also finds damaged data inside packets.
    """
    return VideoReader(path, backend).probe(exact)


def iter_frames(path: str | Path, *, rate: float | None = None, start_s: float | None = None,
                end_s: float | None = None, size: Size = None,
                backend: str = "auto") -> Iterator[Frame]:
    """Stream the frames of a video (see :meth:`VideoReader.frames`).

    Input errors (missing file, not a video, ...) raise here, at the call; the
    returned generator decodes lazily. Use a :class:`VideoReader` to read
    ``damaged_at_s`` after iterating.
    """
    return VideoReader(path, backend).frames(rate=rate, start_s=start_s, end_s=end_s, size=size)


def sample_clip(path: str | Path, T: int, *, start_s: float | None = None,
                end_s: float | None = None, size: Size = None,
                rng: np.random.Generator | None = None, backend: str = "auto"
                ) -> tuple[np.ndarray, np.ndarray]:
    """T uniform-segment frames of a clip (see :meth:`VideoReader.sample_clip`)."""
    return VideoReader(path, backend).sample_clip(T, start_s=start_s, end_s=end_s, size=size,
                                                  rng=rng)


def default_codec() -> str:
    """``"libx264"`` when PyAV's FFmpeg has it, else ``"mpeg4"``."""
    return "libx264" if av is not None and "libx264" in av.codecs_available else "mpeg4"


_EVEN_SIZE_CODECS = {"libx264", "libx265", "h264", "hevc"}
# libx264's macroblock tree (its asm path, in PyAV 18's FFmpeg build) makes two
# encodes of the same frames differ, even in one process on one thread; without
# it the files are byte-identical, so rendered material is reproducible.
_REPRODUCIBLE_CODEC_OPTIONS = {"libx264": {"x264-params": "mbtree=0"}}


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float, *,
                codec: str | None = None, times_s: Sequence[float] | None = None,
                rotation: int = 0, options: dict[str, str] | None = None) -> Path:
    """Encode uint8 RGB frames (H, W, 3) into ``path`` with PyAV; returns the path.

    The container comes from the suffix (.mp4, .avi, .mkv, .webm, .mov). ``codec``
    defaults to :func:`default_codec`. ``times_s`` gives each frame's presentation
    time (variable frame rate, millisecond precision); otherwise frame i is at
    ``i / fps``. ``rotation`` (degrees counter-clockwise) is stored as the display
    matrix. Codecs that need even sizes for yuv420p (libx264, libx265) get the
    frame padded by one replicated row/column where needed. ``options`` are
    container options, e.g. ``{"movflags": "faststart"}``. The same frames encode
    to the same bytes, in one process or many (see ``_REPRODUCIBLE_CODEC_OPTIONS``).
    """
    if av is None:  # pragma: no cover
        raise RuntimeError("write_video needs PyAV (pip install av)")
    path = Path(path)
    codec = codec or default_codec()
    rate = Fraction(fps).limit_denominator(1001)
    container = av.open(str(path), "w", options=options or {})
    try:
        stream = container.add_stream(codec, rate=rate, options=_REPRODUCIBLE_CODEC_OPTIONS.get(codec, {}))
        formats = [f.name for f in (stream.codec_context.codec.video_formats or [])]
        preferred = ("yuvj420p", "yuv420p") if codec == "mjpeg" else ("yuv420p", "yuvj420p")
        stream.pix_fmt = next((f for f in preferred if f in formats),
                              formats[0] if formats else "yuv420p")
        time_base = Fraction(1, 1000) if times_s is not None else 1 / rate
        stream.codec_context.time_base = time_base
        if rotation:
            stream.set_display_rotation(rotation)
        opened = False
        for i, img in enumerate(frames):
            img = np.asarray(img, dtype=np.uint8)
            if img.ndim != 3 or img.shape[2] != 3:
                raise ValueError(f"frame {i} has shape {img.shape}; expected (H, W, 3) uint8 RGB")
            if codec in _EVEN_SIZE_CODECS and (img.shape[0] % 2 or img.shape[1] % 2):
                img = np.pad(img, ((0, img.shape[0] % 2), (0, img.shape[1] % 2), (0, 0)),
                             mode="edge")
            if not opened:
                stream.height, stream.width = img.shape[:2]
                opened = True
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            frame.pts = round(times_s[i] * 1000) if times_s is not None else i
            frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        if not opened:
            raise ValueError(f"no frames to write to {path.name}")
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()
    return path


_CHUNK = 1 << 20


def content_hash(path: str | Path) -> str:
    """A fast content key for the feature cache (32 hex digits).

    blake2b-128 of the file size and three 1 MiB chunks (start, middle, end); the
    whole file when it is 3 MiB or smaller. Independent of name and mtime, so a
    copied or renamed video keeps its cached features; an edit that keeps the
    size and touches none of the sampled chunks is not noticed (acceptable for a
    cache key, not an integrity check).
    """
    p = Path(path)
    if not p.is_file():
        raise VideoNotFound(f"video file not found: {p}", p)
    size = p.stat().st_size
    h = hashlib.blake2b(digest_size=16)
    h.update(b"star-video-v1:%d:" % size)
    with p.open("rb") as fh:
        if size <= 3 * _CHUNK:
            h.update(fh.read())
        else:
            for offset in (0, (size - _CHUNK) // 2, size - _CHUNK):
                fh.seek(offset)
                h.update(fh.read(_CHUNK))
    return h.hexdigest()
