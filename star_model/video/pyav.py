"""The PyAV (FFmpeg) decoding backend, the default one behind :mod:`star_model.video`."""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from star_model.video.errors import (DamagedVideo, NotAVideo, NoVideoStream, UnsupportedCodec,
                                     VideoError, VideoNotFound, convert_hint)
from star_model.video.source import (SEEK_MIN_S, Raw, VideoInfo, _Base, _EPS, _MAX_FAILURES, _fps_and_duration,
                                     _n_frames, ends_mid_packet, mp4_cut_short, normalize_rotation, sniff_container,
                                     target_size)

try:
    import av
except ImportError:  # pragma: no cover
    av = None  # type: ignore[assignment]

log = logging.getLogger("star_model.video")

SMALL_FRAME_PIXELS = 640 * 480
"""Frames of at most this many pixels are decoded on one thread: frame threading there costs more
CPU than it saves (about 2x for 112-pixel H.264) and competes with the embedding threads."""


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    tail = str(exc).split("last error log: ", 1)
    return text[:1].lower() + text[1:] + (f": {tail[1]}" if len(tail) == 2 else "")


_SWS_THREADS = [True]  # False once this PyAV turns out to have no ``threads`` argument


def _rgb24(frame: Any, **kwargs: Any) -> np.ndarray:
    """The frame as (H, W, 3) uint8 RGB. swscale on one thread: its default thread pool gives the
    same pixels but costs more CPU than it saves (about 5x on 112-pixel frames)."""
    if _SWS_THREADS[0]:
        try:
            return frame.to_ndarray(format="rgb24", threads=1, **kwargs)
        except TypeError:  # an older PyAV
            _SWS_THREADS[0] = False
    return frame.to_ndarray(format="rgb24", **kwargs)


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
            self.cut_mid_packet = ends_mid_packet(self.path, container.format.name)
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
        if (not container.streams.video or container.streams.video[0].codec_context is None) \
                and mp4_cut_short(self.path):
            container.close()
            raise self._unreadable("its index ends past the end of the file")
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
        if stream.codec_context.width * stream.codec_context.height <= SMALL_FRAME_PIXELS:
            stream.codec_context.thread_count = 1  # threads cost more than they save on small frames
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
            img = _rgb24(frame)
        else:
            img = _rgb24(frame, width=cw, height=ch, interpolation="AREA")
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
