"""What every decoding backend shares: :class:`VideoInfo`, :class:`Raw` frames, the :class:`Source`
protocol, container sniffing, sizes and rotation, and the damage bookkeeping of :class:`_Base`.

A backend ("source") yields :class:`Raw` frames: index, time and a payload that is
converted to RGB only when a caller keeps the frame (``to_rgb``). It also measures
the file (``probe``) and records damage (``damaged_at_s``, ``damage``). The public
API is in :mod:`star_model.video`; the backends are :mod:`.pyav` and :mod:`.opencv`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Protocol

import numpy as np

from star_model.video.errors import DamagedVideo

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


def mp4_cut_short(path: Path) -> bool:
    """An MP4/QuickTime file whose top-level boxes run past its end: cut off (e.g. a copy stopped inside the
    index at the front of a "faststart" file, which FFmpeg then reads as streams of no known codec)."""
    size, offset = path.stat().st_size, 0
    with path.open("rb") as fh:
        while offset + 8 <= size:
            fh.seek(offset)
            head = fh.read(16)
            if head[4:8] not in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"uuid", b"pdin", b"moof",
                                 b"mfra", b"meta", b"styp", b"sidx"):
                return False
            box = int.from_bytes(head[:4], "big")
            if box == 1:
                box = int.from_bytes(head[8:16], "big") if len(head) == 16 else size + 1
            elif box == 0:
                return False  # runs to the end of the file by definition
            if box < 8 or offset + box > size:
                return box >= 8
            offset += box
    return offset < size


TS_PACKET_SIZES = (188, 192, 204)
"""MPEG transport stream packets: plain, with a 4-byte timestamp (M2TS), with Reed-Solomon bytes."""


def ends_mid_packet(path: Path, format_name: str) -> bool:
    """An MPEG transport stream whose size is no whole number of packets: cut off. A transport stream
    declares no length, so this is how its truncation shows (a cut exactly between packets cannot be told
    from a shorter recording)."""
    if "mpegts" not in format_name.split(","):
        return False
    size = path.stat().st_size
    return all(size % n for n in TS_PACKET_SIZES)


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
        self.cut_mid_packet = False  # a transport stream cut off (see ends_mid_packet)

    def _record_damage(self, at_s: float, message: str) -> None:
        if self.damaged_at_s is not None and abs(self.damaged_at_s - at_s) < _EPS:
            return  # already reported by an earlier pass
        self.damaged_at_s, self.damage = at_s, message
        log.warning(message)

    def _check_truncated(self, end_s: float, count: int) -> None:
        """Damage when the decoded end falls clearly short of the declared duration."""
        if self.cut_mid_packet and count:
            self._record_damage(end_s, (
                f"{self.path.name} ends in the middle of a transport stream packet: the file is truncated "
                f"(damaged after {end_s:.1f} s); the {_n_frames(count)} before are used. Copy or export it "
                f"again to get the rest."))
            return
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
