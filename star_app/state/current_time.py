"""The single "current time" of the open video, shared by player, timeline and plot.

Views set it and listen to ``changed``; it emits only on a real change, so a view
reacting to ``changed`` by setting the same time again causes no loop.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

_EPS = 1e-6


class CurrentTime(QObject):
    """Playback position in seconds, clamped to [0, duration], with the video's frame rate."""

    changed = Signal(float)
    mediaChanged = Signal(float, float)  # duration_s, fps

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._time = 0.0
        self._duration = 0.0
        self._fps = 25.0

    @property
    def time(self) -> float:
        return self._time

    @property
    def duration(self) -> float:
        return self._duration

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def frame(self) -> int:
        return int(round(self._time * self._fps))

    @property
    def last_frame(self) -> int:
        return max(0, int(round(self._duration * self._fps)) - 1)

    def set_media(self, duration_s: float, fps: float) -> None:
        """A new video: its length and frame rate; the time goes back to 0."""
        self._duration = max(0.0, float(duration_s))
        self._fps = float(fps) if fps > 0 else 25.0
        self.mediaChanged.emit(self._duration, self._fps)
        self._time = -1.0
        self.set_time(0.0)

    def set_time(self, t: float) -> None:
        t = min(max(0.0, float(t)), self._duration)
        if abs(t - self._time) <= _EPS:
            return
        self._time = t
        self.changed.emit(t)

    def set_frame(self, index: int) -> None:
        """Seek to frame ``index`` (clamped to the video)."""
        index = min(max(0, int(index)), self.last_frame)
        self.set_time(index / self._fps)

    def step_frames(self, n: int) -> None:
        self.set_frame(self.frame + n)
