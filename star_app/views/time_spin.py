"""A spin box for a time of the video: written in the shared time format (m:ss.mmm or a frame number),
stepping one frame; it takes typed m:ss.mmm, seconds or (in frame mode) a frame number."""
from __future__ import annotations

import re

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox, QWidget

from star_app.state.time_view import TimeView

_TIME = re.compile(r"^\s*(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d*)?)\s*$")


def parse_time(text: str, fps: float, frames: bool) -> float | None:
    """Seconds from ``h:mm:ss.mmm``, ``m:ss.mmm``, ``s.mmm`` (or a frame number when ``frames``); None if
    the text is none of these."""
    match = _TIME.match(text)
    if match is None:
        return None
    first, second, last = match.groups()
    if frames and first is None:
        return float(last) / fps
    hours, minutes = (first, second) if second is not None else (None, first)
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(last)


class TimeSpin(QDoubleSpinBox):
    """Seconds shown in ``view``'s format; Up/Down step one frame of the video."""

    def __init__(self, view: TimeView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._view = view
        self.setKeyboardTracking(False)
        self.setDecimals(6)
        self.setRange(0.0, 0.0)
        self.setAccelerated(True)
        view.formatChanged.connect(lambda: self.lineEdit().setText(self.textFromValue(self.value())))

    def set_span(self, duration_s: float, fps: float) -> None:
        """The video's length and frame rate: the range and the step."""
        self.setRange(0.0, max(0.0, duration_s))
        self.setSingleStep(1.0 / fps if fps > 0 else 0.04)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt API)
        return self._view.format(value)

    def valueFromText(self, text: str) -> float:  # noqa: N802 (Qt API)
        value = parse_time(text, self._view.fps, self._view.frames)
        return self.value() if value is None else value

    def validate(self, text: str, pos: int) -> object:
        ok = parse_time(text, self._view.fps, self._view.frames) is not None
        return (QValidator.State.Acceptable if ok else QValidator.State.Intermediate), text, pos
