"""The first screen's three steps (actions → videos → Label) as a checklist above the player: each step ticks
when the project gets there, and its button does the step. Hidden once all three are done."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from star_app.state.project_state import ProjectState

STYLE = "QFrame#checklist { background: #eef4fb; border: 1px solid #9db8d8; border-radius: 4px; }"
STEPS = ("Add actions: drop a folder of example clips per action on Actions (or add one by name)",
         "Add long videos to label: drop them on Videos",
         "Label: the model marks where each action happens; then review and correct (N, Enter)")


@dataclass
class Step:
    """One row: its text label, its button, and whether it is done."""

    text: QLabel
    button: QPushButton
    done: bool = False


class Checklist(QFrame):
    """Follows ``state``; the buttons ask the window for the step (``actionsRequested`` etc.)."""

    actionsRequested = Signal()
    videosRequested = Signal()
    labelRequested = Signal()

    def __init__(self, state: ProjectState, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="checklist")
        self._state = state
        self.setStyleSheet(STYLE)
        self.actions_button = QPushButton("Add action…")
        self.videos_button = QPushButton("Add videos…")
        self.label_button = QPushButton("Label (Ctrl+L)")
        self.actions_button.clicked.connect(self.actionsRequested)
        self.videos_button.clicked.connect(self.videosRequested)
        self.label_button.clicked.connect(self.labelRequested)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(2)
        heading = QLabel("<b>Getting started</b> — three steps (Help ▸ Guide tells more)")
        layout.addWidget(heading)
        self.steps: list[Step] = []
        for k, (text, button) in enumerate(zip(STEPS, (self.actions_button, self.videos_button, self.label_button))):
            label = QLabel(f"{k + 1}. {text}")
            label.setWordWrap(True)
            row = QHBoxLayout()
            row.addWidget(label, 1)
            row.addWidget(button)
            layout.addLayout(row)
            self.steps.append(Step(label, button))
        for signal in (state.actionsChanged, state.videosChanged, state.projectReplaced):
            signal.connect(self.refresh)
        state.segmentsChanged.connect(lambda _video: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        project = self._state.project
        done = [bool(project.actions), bool(project.videos), any(project.annotations.values())]
        for k, (step, text) in enumerate(zip(self.steps, STEPS)):
            step.done = done[k]
            mark = "✓" if step.done else "☐"
            style = "color: #2f7d32;" if step.done else ""
            step.text.setText(f"{mark}  {k + 1}. {text}")
            step.text.setStyleSheet(style)
        self.setVisible(not all(done))

    def set_label_enabled(self, enabled: bool, why: str) -> None:
        """The Label button as the Label command is (``why``: the tooltip, saying why not)."""
        self.label_button.setEnabled(enabled)
        self.label_button.setToolTip(why or "Label the video shown (the prototypes are built first)")
