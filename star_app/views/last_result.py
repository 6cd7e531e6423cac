"""Status-bar label: how the last job ended ("Last job: Labeled 2 video(s): 31 segments (14:02)"), kept after
later status messages replace the temporary one, so a result the user missed can still be read."""
from __future__ import annotations

import time

from PySide6.QtWidgets import QLabel, QWidget


class LastResult(QLabel):
    """Empty (hidden) until a job has ended; then the last job's result and when it ended."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet("color: #404040;")
        self.setVisible(False)

    def show_result(self, text: str) -> None:
        """The result of the job that just ended."""
        self.setText(f"Last job: {text}")
        self.setToolTip(f"{text} (at {time.strftime('%H:%M:%S')})")
        self.setVisible(True)
