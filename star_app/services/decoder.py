"""The frame server: decodes a video on its own thread and serves frames by index.

The player asks for a frame index (``request``); a frame in the small cache is
delivered at once, otherwise the decoder thread decodes forward to it (when it is a
little ahead) or restarts decoding at a seek near it (when it is behind or far
ahead). After delivering, the thread keeps decoding ``prefetch`` frames ahead.
Frames arrive as ``frameReady(index, time_s, QImage)``, queued to the GUI thread.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Iterator, Optional

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from star_model.video import Frame, VideoReader
from star_model.errors import VideoError

log = logging.getLogger(__name__)

MAX_SHORT_SIDE = 540
_SEEK_AHEAD_S = 1.5


def to_qimage(image: np.ndarray) -> QImage:
    """An RGB uint8 (H, W, 3) array as a QImage that owns its pixels."""
    h, w = image.shape[:2]
    data = np.ascontiguousarray(image)
    return QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class FrameServer(QObject):
    """Frames of one video by index, decoded off the GUI thread with a prefetch cache."""

    frameReady = Signal(int, float, QImage)
    failed = Signal(str)

    def __init__(self, cache_frames: int = 96, prefetch: int = 24, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cache_frames = cache_frames
        self._prefetch = prefetch
        self._cond = threading.Condition()
        self._cache: OrderedDict[int, tuple[float, QImage]] = OrderedDict()
        self._path: Optional[str] = None
        self._fps = 25.0
        self._generation = 0
        self._target = -1
        self._delivered = True
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="star-frame-server", daemon=True)
        self._thread.start()

    def open(self, path: Optional[str], fps: float) -> None:
        """Serve frames of ``path`` (None: nothing)."""
        with self._cond:
            self._path, self._fps = path, fps if fps > 0 else 25.0
            self._generation += 1
            self._cache.clear()
            self._target, self._delivered = -1, True
            self._cond.notify()

    def request(self, index: int) -> None:
        """Ask for frame ``index``; it arrives through ``frameReady``."""
        with self._cond:
            hit = self._cache.get(index)
            self._target = index
            self._delivered = hit is not None
            self._cond.notify()
        if hit is not None:
            self.frameReady.emit(index, hit[0], hit[1])

    def close(self) -> None:
        """Stop the decoder thread (the window is closing)."""
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def _needs_work(self, pos: int, at_end: bool) -> bool:
        if self._path is None:
            return False
        if not self._delivered:
            return True
        return not at_end and self._target >= 0 and pos < self._target + self._prefetch

    def _loop(self) -> None:
        frames: Optional[Iterator[Frame]] = None
        generation, pos, at_end = -1, -1, False
        while True:
            with self._cond:
                while not self._stop and not (generation == self._generation and self._needs_work(pos, at_end)) \
                        and not (generation != self._generation and self._path is not None):
                    self._cond.wait()
                if self._stop:
                    return
                if generation != self._generation:
                    generation, frames, pos, at_end = self._generation, None, -1, False
                path, fps, target, delivered = self._path, self._fps, self._target, self._delivered
            if target < 0:
                continue
            behind_or_far = target <= pos or target > pos + _SEEK_AHEAD_S * fps
            if frames is None or (not delivered and behind_or_far):
                frames, pos, at_end = self._start(path, max(0.0, (target - 0.5) / fps)), -1, False
            frame = self._next(frames)
            if frame is None:
                at_end = True
                self._deliver_nearest(generation, target)
                continue
            image = self._store(generation, frame)
            pos = frame.index
            with self._cond:
                deliver = generation == self._generation and not self._delivered and frame.index >= self._target
                if deliver:
                    self._delivered = True
            if deliver:
                self.frameReady.emit(frame.index, frame.time_s, image)

    def _next(self, frames: Optional[Iterator[Frame]]) -> Optional[Frame]:
        if frames is None:
            return None
        try:
            return next(frames)
        except StopIteration:
            return None
        except VideoError as exc:
            self.failed.emit(str(exc))
            return None

    def _start(self, path: str, start_s: float) -> Optional[Iterator[Frame]]:
        try:
            reader = VideoReader(path)
            short = min(reader.info.width, reader.info.height)
            size = MAX_SHORT_SIDE if short > MAX_SHORT_SIDE else None
            return reader.frames(start_s=start_s if start_s > 0 else None, size=size)
        except VideoError as exc:
            self.failed.emit(str(exc))
            return None

    def _store(self, generation: int, frame: Frame) -> QImage:
        image = to_qimage(frame.image)
        with self._cond:
            if generation != self._generation:
                return image
            self._cache[frame.index] = (frame.time_s, image)
            self._cache.move_to_end(frame.index)
            while len(self._cache) > self._cache_frames:
                self._cache.popitem(last=False)
        return image

    def _deliver_nearest(self, generation: int, target: int) -> None:
        """At the end of the video: deliver the cached frame nearest the target."""
        with self._cond:
            if generation != self._generation or self._delivered or not self._cache:
                self._delivered = True
                return
            index = min(self._cache, key=lambda i: abs(i - target))
            time_s, image = self._cache[index]
            self._delivered = True
        self.frameReady.emit(index, time_s, image)
