"""OpenCV decoding backend: the fallback when PyAV cannot open a file or its codec.

Same interface as :class:`star_model.video.pyav.PyAVSource`; used through
:class:`star_model.video.VideoReader` (``backend="opencv"`` or automatically).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from star_model.video.source import (Raw, VideoInfo, _Base, _EPS, _fps_and_duration,
                                     normalize_rotation, sniff_container, target_size)
from star_model.video.av_log import quiet_ffmpeg
from star_model.video.errors import NotAVideo, UnsupportedCodec, convert_hint


class OpenCVSource(_Base):
    """Decodes with OpenCV's FFmpeg backend; times from CAP_PROP_POS_MSEC.

    OpenCV applies the rotation itself (CAP_PROP_ORIENTATION_AUTO); it cannot
    demux without decoding, so its probe always decodes (``exact``).
    """

    name = "opencv"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        quiet_ffmpeg()
        import cv2

        self._cv2 = cv2
        cap = self._open()
        try:
            fps = cap.get(cv2.CAP_PROP_FPS)
            self.nominal_fps = float(fps) if fps and math.isfinite(fps) and fps > 0 else None
            self.period_s = 1.0 / self.nominal_fps if self.nominal_fps else 1 / 25
            frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            self.container_frames = frames if frames > 0 else None
            if self.container_frames and self.nominal_fps:
                self.declared_end_s = self.container_duration_s = frames / self.nominal_fps
            fourcc = int(cap.get(cv2.CAP_PROP_FOURCC) or 0)
            self.codec = fourcc.to_bytes(4, "little").decode("latin-1").strip("\0 ") or "unknown"
            self.rotation = normalize_rotation(-cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0)
        finally:
            cap.release()

    def _open(self) -> Any:
        cap = self._cv2.VideoCapture(str(self.path), self._cv2.CAP_FFMPEG)
        if cap.isOpened():
            return cap
        cap.release()
        kind = sniff_container(self.path)
        if kind:
            raise UnsupportedCodec(f"OpenCV cannot open {self.path.name} ({kind}): its codec is "
                                   f"not supported or the file is damaged; "
                                   f"{convert_hint(self.path)}", self.path)
        raise NotAVideo(f"{self.path.name} is not a video file OpenCV can read; choose a "
                        f"video such as .mp4, .avi or .mkv", self.path)

    def raw(self, start_s: float | None, end_s: float | None) -> Iterator[Raw]:
        cv2 = self._cv2
        cap = self._open()
        count, last_t, finished = 0, None, False
        try:
            while cap.grab():
                t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                if last_t is not None and not (math.isfinite(t) and t > last_t):
                    t = last_t + self.period_s  # OpenCV lost the pts: continue the clock
                elif last_t is None and not math.isfinite(t):
                    t = 0.0
                index, count, last_t = count, count + 1, t
                if start_s is not None and t < start_s - _EPS:
                    continue
                if end_s is not None and t >= end_s - _EPS:
                    return
                ok, img = cap.retrieve()
                if not ok:
                    self._record_damage(t, f"cannot decode frame {index} of {self.path.name}; "
                                           f"the file is damaged after {t:.1f} s")
                    break
                yield Raw(index, t, img)
            finished = True
        finally:
            cap.release()
        if count == 0:
            raise self._nothing_decoded("OpenCV read no frame")
        if finished and last_t is not None:
            self._check_truncated(last_t + self.period_s, count)

    def to_rgb(self, img: np.ndarray, size: int | tuple[int, int] | None) -> np.ndarray:
        cv2 = self._cv2
        h, w = img.shape[:2]
        tw, th = target_size(w, h, size)
        if (tw, th) != (w, h):
            img = cv2.resize(img, (tw, th), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    def probe(self, exact: bool) -> VideoInfo:
        count, first, last_t = 0, None, 0.0
        for raw in self.raw(None, None):
            count += 1
            first = raw if first is None else first
            last_t = raw.time_s
        assert first is not None
        fps, duration = _fps_and_duration(count, first.time_s, last_t, None, self.nominal_fps)
        h, w = first.payload.shape[:2]
        return VideoInfo(self.path, fps, duration, count, w, h, self.rotation, self.codec,
                         self.name, self.damaged_at_s, True, self.container_frames,
                         self.container_duration_s)
