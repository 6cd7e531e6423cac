"""Status-bar label: how many segments of the open video are left to review."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from star_app.controllers.review_controller import ReviewController


def counter_text(remaining: int) -> str:
    return f"{remaining} left to review" if remaining else "Nothing left to review"


class ReviewCounter(QLabel):
    """Shows ``ReviewController.remaining``, updated on every change of it."""

    def __init__(self, review: ReviewController, parent: QWidget | None = None) -> None:
        super().__init__(counter_text(review.remaining), parent)
        self.setToolTip("Model segments nobody has confirmed yet: N / Shift+N visit them least confident first, "
                        "Enter confirms the selected one")
        review.remainingChanged.connect(self._show)

    def _show(self, remaining: int) -> None:
        self.setText(counter_text(remaining))
