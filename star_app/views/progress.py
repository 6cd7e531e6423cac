"""One way to show (done, total) on a progress bar; total <= 0 means unknown (busy indicator)."""
from __future__ import annotations

from PySide6.QtWidgets import QProgressBar


def show_progress(bar: QProgressBar, done: int, total: int) -> None:
    """Set ``bar`` to done/total, or to the busy indicator when the total is unknown."""
    if total > 0:
        bar.setRange(0, total)
        bar.setValue(min(done, total))
    else:
        bar.setRange(0, 0)
