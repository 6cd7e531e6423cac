"""One helper: widgets stacked top to bottom in a plain container (no margins), as one splitter pane."""
from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget


def stack(*widgets: QWidget, stretch: int = -1) -> QWidget:
    """A widget holding ``widgets`` top to bottom; the one at index ``stretch`` takes the spare height."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    for k, widget in enumerate(widgets):
        layout.addWidget(widget, 1 if k == stretch % len(widgets) else 0)
    return box
