"""The one time axis the plot and the timeline share: which stretch of the video they show, and how times
are written (``m:ss.mmm``, or frame numbers).

Both views map time to x through this object (the same start and length, the same margins), so a time
is at the same x in both; zooming or scrolling either moves both. ``changed`` is emitted only on a real
change, so a view that reacts by setting the same range again causes no loop.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from star_app.state.current_time import CurrentTime

MIN_VIEW_S = 1.0
_EPS = 1e-9


def format_time(t: float, fps: float = 25.0, frames: bool = False, decimals: int = 3) -> str:
    """``t`` seconds as ``m:ss.mmm`` (``h:mm:ss.mmm`` from an hour; ``decimals`` digits of seconds), or as the
    frame number ``round(t * fps)`` when ``frames``."""
    if frames:
        return str(int(round(max(0.0, t) * fps)))
    scale = 10 ** decimals
    total = int(round(max(0.0, t) * scale))
    seconds, fraction = divmod(total, scale)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return f"{text}.{fraction:0{decimals}d}" if decimals else text


class TimeView(QObject):
    """The shown stretch [start, start + length] of the current video (``duration`` s), which follows the
    playback position, and the time format."""

    changed = Signal()  # the shown stretch
    formatChanged = Signal()

    def __init__(self, current: CurrentTime, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.start = 0.0
        self.length = MIN_VIEW_S
        self.duration = 0.0
        self.fps = 25.0
        self.frames = False
        current.mediaChanged.connect(self.set_media)
        current.changed.connect(self.follow)

    def format(self, t: float, decimals: int = 3) -> str:
        """``t`` in the current format."""
        return format_time(t, self.fps, self.frames, decimals)

    def set_frames(self, frames: bool) -> None:
        """Write times as frame numbers (True) or as ``m:ss.mmm``."""
        if frames != self.frames:
            self.frames = frames
            self.formatChanged.emit()

    def set_media(self, duration: float, fps: float) -> None:
        """A new video: the whole of it is shown."""
        self.duration, self.fps = max(0.0, duration), fps if fps > 0 else 25.0
        self.set_range(0.0, max(self.duration, MIN_VIEW_S))

    def set_range(self, start: float, length: float) -> None:
        length = min(max(length, MIN_VIEW_S), max(self.duration, MIN_VIEW_S))
        start = min(max(0.0, start), max(0.0, self.duration - length))
        if abs(start - self.start) > _EPS or abs(length - self.length) > _EPS:
            self.start, self.length = start, length
            self.changed.emit()

    def zoom(self, factor: float, anchor: float, fraction: float) -> None:
        """Zoom by ``factor`` (> 1 zooms in) keeping time ``anchor`` at ``fraction`` (0-1) of the width."""
        length = self.length / factor
        self.set_range(anchor - fraction * min(max(length, MIN_VIEW_S), max(self.duration, MIN_VIEW_S)), length)

    def scroll(self, seconds: float) -> None:
        self.set_range(self.start + seconds, self.length)

    def follow(self, t: float) -> None:
        """Bring ``t`` into view (a tenth of the width from the left) when it is outside it."""
        if not self.start <= t <= self.start + self.length:
            self.set_range(t - 0.1 * self.length, self.length)

    def wheel(self, steps: float, ctrl: bool, anchor: float, fraction: float) -> None:
        """A mouse wheel turned ``steps`` notches over either view: Ctrl zooms around the mouse, else it scrolls."""
        if ctrl:
            self.zoom(1.25 ** steps, anchor, fraction)
        else:
            self.scroll(-steps * 0.1 * self.length)
