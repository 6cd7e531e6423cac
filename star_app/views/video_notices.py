"""Notices above the player about the open video: which model labels and what it knows, labels that are
out of date (with "Re-label now"), and a video far from the examples' world (its labels likely wrong)."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from star_app.provenance import stale_reasons
from star_app.state.project_state import ProjectState

STALE_STYLE = "QFrame#stale { background: #fff4d6; border: 1px solid #e0b040; border-radius: 3px; }"
FAR_STYLE = "QFrame#far { background: #ffe3d6; border: 1px solid #d07040; border-radius: 3px; }"


def _box(name: str, style: str, label: QLabel, *buttons: QPushButton) -> QFrame:
    frame = QFrame(objectName=name)
    frame.setStyleSheet(style)
    row = QHBoxLayout(frame)
    row.setContentsMargins(6, 2, 6, 2)
    label.setWordWrap(True)
    row.addWidget(label, 1)
    for b in buttons:
        row.addWidget(b)
    frame.setVisible(False)
    return frame


class VideoNotices(QWidget):
    """Follows the project and the video shown (:meth:`set_video`); ``relabelRequested`` from Re-label now."""

    relabelRequested = Signal()

    def __init__(self, state: ProjectState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._video = ""
        self.model_line = QLabel()
        self.model_line.setStyleSheet("color: #505050;")
        self.model_line.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.model_line.setWordWrap(True)  # a long model description takes two lines, not the window's width
        self.stale_text = QLabel()
        self.relabel_button = QPushButton("Re-label now")
        self.relabel_button.setToolTip("Label this video again (your confirmed and edited segments are kept)")
        self.relabel_button.clicked.connect(self.relabelRequested)
        self.stale_box = _box("stale", STALE_STYLE, self.stale_text, self.relabel_button)
        self.far_text = QLabel()
        self.far_box = _box("far", FAR_STYLE, self.far_text)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 2)
        layout.setSpacing(2)
        for w in (self.model_line, self.stale_box, self.far_box):
            layout.addWidget(w)
        for signal in (state.actionsChanged, state.settingsChanged, state.projectReplaced, state.videosChanged):
            signal.connect(self.refresh)
        state.segmentsChanged.connect(lambda _v: self.refresh())
        state.resultsChanged.connect(lambda _v: self.refresh())
        self.refresh()

    def set_video(self, video: str) -> None:
        """The video shown ("" for none)."""
        self._video = video
        self.refresh()

    def refresh(self) -> None:
        setup = self._state.project.settings.model
        self.model_line.setText(f"Model: {setup.title}, which {setup.knows}.")
        self.model_line.setToolTip("Change it in Project ▸ Settings")
        reasons = stale_reasons(self._state.project, self._video) if self._video else []
        self.stale_text.setText("Labels out of date: " + "; ".join(reasons) + "." if reasons else "")
        self.stale_box.setVisible(bool(reasons))
        result = self._state.results.get(self._video) if self._video else None
        domain = result.domain if result is not None else None
        far = domain is not None and domain.far
        if far:
            self.far_text.setText(
                f"This video looks far from what the model and your examples know: its frames are "
                f"{domain.ratio:.1f}× as far from that footage as usual (warning from {domain.far_ratio:g}×). Its "
                f"labels are likely wrong. The model {setup.knows}. Add examples from videos like this one, or "
                f"choose another model.")
        self.far_box.setVisible(far)
