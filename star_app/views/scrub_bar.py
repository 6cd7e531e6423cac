"""The player's scrub bar: where the cursor is in the open video or clip, click or drag to seek, and the in/out
marks of an example being trimmed (the part outside them shaded)."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from star_app.state.current_time import CurrentTime

MARK_COLOR = "#e07000"
TRACK_COLOR = "#d8d8d8"
OUTSIDE_COLOR = "#909090"
CURSOR_COLOR = "#202020"
PAD = 4


class ScrubBar(QWidget):
    """Follows ``current``; ``marks`` is (in, out) in seconds, None where unset."""

    def __init__(self, current: CurrentTime, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._current = current
        self.marks: tuple[Optional[float], Optional[float]] = (None, None)
        self.setFixedHeight(16)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Click or drag to move the cursor; an example's in and out points are marked in orange")
        current.changed.connect(lambda _t: self.update())
        current.mediaChanged.connect(lambda _d, _f: self.update())

    def set_marks(self, start_s: Optional[float], end_s: Optional[float]) -> None:
        """The in and out points to draw (None: not set)."""
        self.marks = (start_s, end_s)
        self.update()

    def x_of(self, t: float) -> float:
        """The x of time ``t`` (seconds) on the bar."""
        duration = self._current.duration
        return PAD + (self.width() - 2 * PAD) * (min(max(t / duration, 0.0), 1.0) if duration > 0 else 0.0)

    def time_at(self, x: float) -> float:
        return (x - PAD) / max(self.width() - 2 * PAD, 1) * self._current.duration

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        p = QPainter(self)
        h = self.height()
        left, right = float(PAD), float(self.width() - PAD)
        p.fillRect(QRectF(left, h / 2 - 3, right - left, 6), QColor(TRACK_COLOR))
        start, end = self.marks
        if self._current.duration > 0:
            if start is not None:
                p.fillRect(QRectF(left, h / 2 - 3, self.x_of(start) - left, 6), QColor(OUTSIDE_COLOR))
            if end is not None:
                p.fillRect(QRectF(self.x_of(end), h / 2 - 3, right - self.x_of(end), 6), QColor(OUTSIDE_COLOR))
            for t in (start, end):
                if t is not None:
                    p.fillRect(QRectF(round(self.x_of(t)) - 1, 0, 3, h), QColor(MARK_COLOR))
            x = round(self.x_of(self._current.time))
            p.fillRect(QRectF(x - 1, 2, 2, h - 4), QColor(CURSOR_COLOR))
        p.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if event.button() == Qt.MouseButton.LeftButton and self._current.duration > 0:
            self._current.set_time(self.time_at(event.position().x()))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if event.buttons() & Qt.MouseButton.LeftButton and self._current.duration > 0:
            self._current.set_time(self.time_at(event.position().x()))
