"""Status-bar label: how the last job ended ("Last job: Labeled 2 video(s): 31 segments"; its tooltip says when),
kept after later status messages replace the temporary one, so a result the user missed can still be read."""
from __future__ import annotations

import time

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QWidget


class LastResult(QLabel):
    """Empty (hidden) until a job has ended; then the last job's result and when it ended."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet("color: #404040;")
        self.setMinimumWidth(80)  # a narrow window elides it (the tooltip holds it whole)
        self.setMaximumWidth(360)
        self.full_text = ""
        self.setVisible(False)

    def show_result(self, text: str) -> None:
        """The result of the job that just ended."""
        self.full_text = f"Last job: {text}"
        self.setToolTip(f"{text} (at {time.strftime('%H:%M:%S')})")
        self._elide()
        self.setVisible(True)

    def text(self) -> str:  # the whole text, whatever the width shows
        return self.full_text

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        hint = super().sizeHint()
        hint.setWidth(min(self.fontMetrics().horizontalAdvance(self.full_text) + 8, self.maximumWidth()))
        return hint

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        super().setText(self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideRight, self.width()))
