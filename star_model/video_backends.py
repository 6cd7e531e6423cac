"""Decoding backends behind :mod:`star_model.video` (PyAV, and OpenCV as fallback).

A backend ("source") yields :class:`Raw` frames: index, time and a payload that is
converted to RGB only when a caller keeps the frame (``to_rgb``). It also measures
the file (``probe``) and records damage (``damaged_at_s``, ``damage``). The public
API is in :mod:`star_model.video`; this module is its implementation.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Protocol

import numpy as np

from star_model.video_errors import (DamagedVideo, NotAVideo, NoVideoStream, UnsupportedCodec,
                                     VideoError, VideoNotFound, convert_hint)

try:
    import av
except ImportError:  # pragma: no cover
    av = None  # type: ignore[assignment]

log = logging.getLogger("star_model.video")

SEEK_MIN_S = 2.0
"""``start_s`` above this seeks; below it the start is decoded through (exact indices)."""
_MAX_FAILURES = 8  # consecutive packets that fail to decode before giving up
_EPS = 1e-9


@dataclass(frozen=True)
class VideoInfo:
    """What a video really contains (see :mod:`star_model.video` for how it is measured).

    ``rotation``: degrees counter-clockwise applied to decoded frames; ``width`` and
    ``height``: the upright frame size; ``backend``: "pyav" or "opencv";
    ``damaged_at_s``: time where decoding stopped on damage (None if undamaged);
    ``exact``: counted by decoding (else from packets); ``container_*``: what the
    header declared, for diagnostics only.
    """

    path: Path
    fps: float
    duration_s: float
    frame_count: int
    width: int
    height: int
    rotation: int
    codec: str
    backend: str
    damaged_at_s: float | None = None
    exact: bool = False
    container_frame_count: int | None = None
    container_duration_s: float | None = None


@dataclass(frozen=True)
class Raw:
    """A decoded frame not yet converted to RGB."""

    index: int
    time_s: float
    payload: Any
    duration_s: float | None = None


class Source(Protocol):
    name: str
    period_s: float
    damaged_at_s: float | None
    damage: str | None

    def raw(self, start_s: float | None, end_s: float | None) -> Iterator[Raw]: ...
    def to_rgb(self, payload: Any, size: int | tuple[int, int] | None) -> np.ndarray: ...
    def probe(self, exact: bool) -> VideoInfo: ...


def sniff_container(path: Path) -> str | None:
    """Name of the video container the file's first bytes announce, or None."""
    with path.open("rb") as fh:
        b = fh.read(200)
    if b[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
        return "an MP4/QuickTime file"
    if b[:4] == b"RIFF" and b[8:12] == b"AVI ":
        return "an AVI file"
    if b[:4] == b"\x1aE\xdf\xa3":
        return "a Matroska/WebM file"
    if b[:3] == b"FLV":
        return "an FLV file"
    if b[:4] == b"\x00\x00\x01\xba":
        return "an MPEG program stream"
    if len(b) > 188 and b[0] == 0x47 and b[188] == 0x47:
        return "an MPEG transport stream"
    if b[:4] == b"OggS":
        return "an Ogg file"
    if b[:8] == b"\x30\x26\xb2\x75\x8e\x66\xcf\x11":
        return "a Windows Media (ASF) file"
    return None


def normalize_rotation(degrees: float) -> int:
    """Nearest multiple of 90 in {0, 90, 180, -90}."""
    r = int(round(degrees / 90.0)) * 90 % 360
    return -90 if r == 270 else r


def target_size(w: int, h: int, size: int | tuple[int, int] | None) -> tuple[int, int]:
    """Output (width, height) for an upright (w, h) frame; int = short side, aspect kept."""
    if size is None:
        return w, h
    if isinstance(size, (int, np.integer)):
        s = int(size)
        if s < 1:
            raise ValueError(f"size must be >= 1, not {size}")
        return (s, max(1, round(h * s / w))) if w <= h else (max(1, round(w * s / h)), s)
    tw, th = (int(v) for v in size)
    if tw < 1 or th < 1:
        raise ValueError(f"size must be positive, not {size}")
    return tw, th


def _fps_and_duration(count: int, first_t: float, last_t: float, last_dur: float | None,
                      nominal: float | None) -> tuple[float, float]:
    span = last_t - first_t
    measured = (count - 1) / span if count > 1 and span > 0 else None
    if measured is None:
        fps = nominal or 0.0
    elif nominal and abs(nominal - measured) <= 0.01 * measured:
        fps = nominal
    else:
        fps = measured
    if not last_dur or last_dur <= 0:
        last_dur = 1.0 / fps if fps else 0.0
    return float(fps), float(last_t + last_dur) if count else 0.0


class _Base:
    """Shared bookkeeping: damage records and the truncation check."""

    name = "base"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.damaged_at_s: float | None = None
        self.damage: str | None = None
        self.nominal_fps: float | None = None
        self.period_s = 1 / 25
        self.declared_end_s: float | None = None
        self.codec = "unknown"
        self.container_frames: int | None = None
        self.container_duration_s: float | None = None

    def _record_damage(self, at_s: float, message: str) -> None:
        if self.damaged_at_s is not None and abs(self.damaged_at_s - at_s) < _EPS:
            return  # already reported by an earlier pass
        self.damaged_at_s, self.damage = at_s, message
        log.warning(message)

    def _check_truncated(self, end_s: float, count: int) -> None:
        """Damage when the decoded end falls clearly short of the declared duration."""
        declared = self.declared_end_s
        if declared is None or count == 0:
            return
        tolerance = max(0.5, 3 * self.period_s)
        if end_s < declared - tolerance:
            self._record_damage(end_s, (
                f"{self.path.name} ends at {end_s:.1f} s but its header says {declared:.1f} s: "
                f"the file is truncated (damaged after {end_s:.1f} s); the {_n_frames(count)} "
                f"before are used. Copy or export it again to get the rest."))

    def _nothing_decoded(self, reason: str) -> DamagedVideo:
        return DamagedVideo(
            f"cannot decode any frame of {self.path.name} ({reason}); the file is damaged. "
            f"Copy or export it again.", self.path)


def _n_frames(n: int) -> str:
    return f"{n} frame" if n == 1 else f"{n} frames"


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    tail = str(exc).split("last error log: ", 1)
    return text[:1].lower() + text[1:] + (f": {tail[1]}" if len(tail) == 2 else "")


class PyAVSource(_Base):
    """Decodes with PyAV (FFmpeg). Raises typed errors when the file cannot be opened."""

    name = "pyav"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        if av is None:  # pragma: no cover
            raise UnsupportedCodec(f"PyAV is not installed; cannot decode {path.name}", path)
        container = self._open()
        try:
            stream = container.streams.video[0]
            self.codec = stream.codec_context.name
            self.time_base = stream.time_base
            self.origin = stream.start_time or 0
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            self.nominal_fps = float(rate) if rate else None
            self.period_s = 1.0 / self.nominal_fps if self.nominal_fps else 1 / 25
            self.container_frames = stream.frames or None
            if stream.duration:
                self.container_duration_s = float(stream.duration * stream.time_base)
            elif container.duration:
                self.container_duration_s = container.duration / 1e6
            ends = [d for d in (self.container_duration_s,) if d]
            if self.container_frames and rate:
                ends.append(self.container_frames / float(rate))
            self.declared_end_s = max(ends) if ends else None
            tag = stream.metadata.get("rotate")
            self.tag_rotation = normalize_rotation(-float(tag)) if tag else 0
        finally:
            container.close()
        self.rotation: int | None = None  # from the first decoded frame's display matrix

    def _open(self) -> Any:
        name = self.path.name
        try:
            container = av.open(str(self.path), metadata_errors="replace")
        except av.error.FileNotFoundError:
            raise VideoNotFound(f"video file not found: {self.path}", self.path) from None
        except av.error.FFmpegError as exc:
            raise self._unreadable(_reason(exc)) from None
        if not container.streams:  # e.g. an MP4 cut before its index: header parsed, no streams
            container.close()
            raise self._unreadable("no streams found")
        if not container.streams.video:
            kinds = ", ".join(f"{s.type} ({s.codec_context.name if s.codec_context else '?'})"
                              for s in container.streams)
            container.close()
            raise NoVideoStream(f"{name} has no video stream (it contains {kinds}); choose a "
                                f"file with video", self.path)
        if container.streams.video[0].codec_context is None:
            container.close()
            raise UnsupportedCodec(f"cannot decode the video of {name}: its codec is unknown "
                                   f"to FFmpeg; {convert_hint(self.path)} with a tool that "
                                   f"reads it", self.path)
        return container

    def _unreadable(self, reason: str) -> VideoError:
        """DamagedVideo when the bytes announce a video container, else NotAVideo."""
        name, kind = self.path.name, sniff_container(self.path)
        if kind:
            return DamagedVideo(
                f"{name} looks like {kind} but cannot be opened ({reason}); the file is "
                f"damaged or unfinished (e.g. a recording stopped before its index was "
                f"written). Copy or export it again.", self.path)
        return NotAVideo(
            f"{name} is not a video file (its contents are not a format FFmpeg knows: "
            f"{reason}); choose a video such as .mp4, .avi or .mkv", self.path)

    def _time(self, pts: int | None, last_t: float | None) -> float:
        if pts is None:
            return 0.0 if last_t is None else last_t + self.period_s
        return float((pts - self.origin) * self.time_base)

    def raw(self, start_s: float | None, end_s: float | None) -> Iterator[Raw]:
        container = self._open()
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        seeked = False
        if start_s is not None and start_s > SEEK_MIN_S:
            try:
                container.seek(self.origin + int(start_s / self.time_base), stream=stream)
                seeked = True
            except av.error.FFmpegError as exc:
                log.debug("seek in %s failed (%s); decoding from the start", self.path.name, exc)
        count, last_t, last_end, finished = 0, None, 0.0, False
        failure: list[Any] = []  # [time or None, frame number, reason] of the first failure
        try:
            for frame in self._decoded(container, stream, failure, lambda: count):
                t = self._time(frame.pts, last_t)
                if self.rotation is None:
                    self.rotation = normalize_rotation(frame.rotation) or self.tag_rotation
                dur = float(frame.duration * self.time_base) if frame.duration else None
                index = round(t * self.nominal_fps) if seeked and self.nominal_fps else count
                count, last_t = count + 1, t
                last_end = max(last_end, t + (dur or self.period_s))
                if start_s is not None and t < start_s - _EPS:
                    continue
                if end_s is not None and t >= end_s - _EPS:
                    return
                yield Raw(index, t, frame, dur)
            finished = True
        finally:
            container.close()
            if failure:
                fail_t, frame_no, reason = failure
                at = last_end if fail_t is None else min(max(fail_t, 0.0), last_end)
                if count == 0 and finished and not seeked:
                    raise self._nothing_decoded(reason)
                self._record_damage(at, (
                    f"cannot decode frame {frame_no} of {self.path.name} ({reason}); the file "
                    f"is damaged after {at:.1f} s. The {_n_frames(count)} that decoded are "
                    f"used; copy or export the file again to get the rest."))
            elif finished and not seeked and count == 0:
                raise self._nothing_decoded("no frame in its video stream")
            elif finished:
                self._check_truncated(last_end, count)

    def _decoded(self, container: Any, stream: Any, failure: list[Any],
                 decoded_so_far: Any) -> Iterator[Any]:
        """Decoded frames; decode/demux errors are recorded in ``failure``, not raised."""
        packets = container.demux(stream)
        fails = 0

        def fail(t: float | None, exc: Exception | str) -> None:
            if not failure:
                reason = exc if isinstance(exc, str) else _reason(exc)
                failure.extend([t, decoded_so_far(), reason])

        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.error.FFmpegError as exc:
                fail(None, exc)
                break
            t = None if packet.pts is None else self._time(packet.pts, None)
            try:
                frames = stream.decode(packet)
            except av.error.DecoderNotFoundError:
                raise UnsupportedCodec(f"no decoder for the {self.codec} video of "
                                       f"{self.path.name}; {convert_hint(self.path)}",
                                       self.path) from None
            except av.error.FFmpegError as exc:
                fail(t, exc)
                fails += 1
                if fails >= _MAX_FAILURES:
                    break
                continue
            fails = 0
            for frame in frames:
                if frame.is_corrupt:
                    fail(self._time(frame.pts, None) if frame.pts is not None else t,
                         "corrupt data")
                    continue
                yield frame
        try:  # flush what the decoder still holds after giving up on the packets
            frames = stream.decode(None)
        except av.error.FFmpegError:
            frames = []
        yield from (f for f in frames if not f.is_corrupt)

    def to_rgb(self, frame: Any, size: int | tuple[int, int] | None) -> np.ndarray:
        rot = self.rotation or 0
        w, h = frame.width, frame.height
        quarter = rot in (90, -90)
        tw, th = target_size(*((h, w) if quarter else (w, h)), size)
        cw, ch = (th, tw) if quarter else (tw, th)
        if (cw, ch) == (w, h):
            img = frame.to_ndarray(format="rgb24")
        else:
            img = frame.to_ndarray(format="rgb24", width=cw, height=ch, interpolation="AREA")
        if rot:
            img = np.rot90(img, k=rot // 90)
        return np.ascontiguousarray(img)

    def probe(self, exact: bool) -> VideoInfo:
        gen = self.raw(None, None)
        try:
            first = next(gen, None)
        finally:
            gen.close()
        if first is None:  # pragma: no cover - raw() raises first
            raise self._nothing_decoded("no frame in its video stream")
        if exact:
            count, first_t, last_t, last_dur = 0, math.inf, -math.inf, None
            for raw in self.raw(None, None):
                count += 1
                first_t = min(first_t, raw.time_s)
                if raw.time_s >= last_t:
                    last_t, last_dur = raw.time_s, raw.duration_s
        else:
            count, first_t, last_t, last_dur = self._count_packets()
        fps, duration = _fps_and_duration(count, first_t, last_t, last_dur, self.nominal_fps)
        rot = self.rotation or 0
        w, h = first.payload.width, first.payload.height
        if rot in (90, -90):
            w, h = h, w
        return VideoInfo(self.path, fps, duration, count, w, h, rot, self.codec, self.name,
                         self.damaged_at_s, exact, self.container_frames,
                         self.container_duration_s)

    def _count_packets(self) -> tuple[int, float, float, float | None]:
        """Demux only: count the intact packets, find first/last presentation times."""
        container = self._open()
        stream = container.streams.video[0]
        count, first_t, last_t, last_dur, bad_t = 0, math.inf, -math.inf, None, None
        try:
            for packet in container.demux(stream):
                if not packet.size:
                    continue
                ts = packet.pts if packet.pts is not None else packet.dts
                t = self._time(ts, last_t if count else None)
                if packet.is_corrupt:
                    bad_t = t if bad_t is None else min(bad_t, t)
                    continue
                count += 1
                first_t = min(first_t, t)
                if t >= last_t:
                    last_t = t
                    last_dur = float(packet.duration * self.time_base) if packet.duration else None
        except av.error.FFmpegError as exc:
            bad_t = max(last_t, 0.0) if bad_t is None else bad_t
            log.debug("demuxing %s stopped: %s", self.path.name, exc)
        finally:
            container.close()
        end = last_t + (last_dur or self.period_s) if count else 0.0
        if bad_t is not None:
            at = min(bad_t, end)
            self._record_damage(at, (
                f"cannot read frame {count} of {self.path.name} (incomplete data); the file "
                f"is damaged after {at:.1f} s. The {_n_frames(count)} before are used; copy or "
                f"export the file again to get the rest."))
        else:
            self._check_truncated(end, count)
        return count, first_t, last_t, last_dur
