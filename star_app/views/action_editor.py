"""The selected action's details: example clips (preview, trim in/out), stage descriptors."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QGroupBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPlainTextEdit,
                               QPushButton, QVBoxLayout, QWidget)

from star_app.state.current_time import CurrentTime
from star_app.state.project_state import ProjectState
from star_model.schema import ClipRef


def span_text(clip: ClipRef) -> str:
    if clip.start_s is None and clip.end_s is None:
        return "whole clip"
    start = f"{clip.start_s:.2f}" if clip.start_s is not None else "start"
    end = f"{clip.end_s:.2f}" if clip.end_s is not None else "end"
    return f"{start}–{end} s"


class ActionEditor(QWidget):
    """Examples and descriptors of one action. Trim: preview an example, then Set in / Set out at the cursor."""

    exampleActivated = Signal(str, int)  # action, example index: show it in the player
    generateRequested = Signal(str)  # action: generate descriptors

    def __init__(self, state: ProjectState, current: CurrentTime, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._current = current
        self.action: str = ""
        self._preview: Optional[tuple[str, int]] = None
        self.title = QLabel("No action selected")
        self.title.setStyleSheet("font-weight: bold;")
        self.examples = QListWidget()
        self.examples.itemDoubleClicked.connect(lambda _i: self._activate())
        self.examples.currentRowChanged.connect(lambda _r: self._update_buttons())
        self.preview_button = self._button("Preview", "Show the example in the player", self._activate)
        self.in_button = self._button("Set in", "In point at the player's cursor", lambda: self._trim("in"))
        self.out_button = self._button("Set out", "Out point at the player's cursor", lambda: self._trim("out"))
        self.clear_button = self._button("Whole clip", "Forget the in/out points", lambda: self._trim("clear"))
        self.remove_button = self._button("Remove", "Remove the example from the action", self._remove)
        row = QHBoxLayout()
        for b in (self.preview_button, self.in_button, self.out_button, self.clear_button, self.remove_button):
            row.addWidget(b)
        examples_box = QGroupBox("Example clips")
        box_layout = QVBoxLayout(examples_box)
        box_layout.addWidget(self.examples)
        box_layout.addLayout(row)

        self.descriptors = QPlainTextEdit()
        self.descriptors.setPlaceholderText("Stage descriptors, one per line, in temporal order (empty: templates)")
        self.descriptors.setMaximumHeight(90)
        self.apply_button = self._button("Apply", "Keep the edited descriptors", self._apply_descriptors)
        self.generate_button = self._button("Generate", "Ask the LLM endpoint from Settings (templates when none)",
                                            lambda: self.generateRequested.emit(self.action))
        desc_row = QHBoxLayout()
        desc_row.addStretch(1)
        desc_row.addWidget(self.generate_button)
        desc_row.addWidget(self.apply_button)
        desc_box = QGroupBox("Stage descriptors")
        desc_layout = QVBoxLayout(desc_box)
        desc_layout.addWidget(self.descriptors)
        desc_layout.addLayout(desc_row)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(examples_box, 1)
        layout.addWidget(desc_box)
        state.actionsChanged.connect(self.refresh)
        state.projectReplaced.connect(lambda: self.show_action(""))
        self.show_action("")

    @staticmethod
    def _button(text: str, tip: str, slot) -> QPushButton:
        b = QPushButton(text)
        b.setToolTip(tip)
        b.clicked.connect(slot)
        return b

    def show_action(self, name: str) -> None:
        self.action = name
        self.refresh()

    def set_preview(self, preview: Optional[tuple[str, int]]) -> None:
        """Which example the player shows (trim buttons act on it), or None."""
        self._preview = preview
        self._update_buttons()

    def refresh(self) -> None:
        action = self._state.project.action(self.action) if self.action else None
        row = self.examples.currentRow()
        self.examples.clear()
        self.setEnabled(action is not None)
        if action is None:
            self.action = ""
            self.title.setText("No action selected")
            self.descriptors.setPlainText("")
            return
        self.title.setText(action.name)
        for clip in action.examples:
            item = QListWidgetItem(f"{Path(clip.path).name}   [{span_text(clip)}]")
            item.setToolTip(clip.path)
            self.examples.addItem(item)
        self.examples.setCurrentRow(min(max(row, 0), len(action.examples) - 1))
        self.descriptors.setPlainText("\n".join(action.descriptors))
        self._update_buttons()

    def _update_buttons(self) -> None:
        selected = self.examples.currentRow() >= 0
        trimming = selected and self._preview == (self.action, self.examples.currentRow())
        for b in (self.in_button, self.out_button):
            b.setEnabled(trimming)
        for b in (self.preview_button, self.clear_button, self.remove_button):
            b.setEnabled(selected)

    def _activate(self) -> None:
        if self.examples.currentRow() >= 0:
            self.exampleActivated.emit(self.action, self.examples.currentRow())

    def _trim(self, what: str) -> None:
        action = self._state.project.action(self.action)
        index = self.examples.currentRow()
        if action is None or index < 0:
            return
        clip = action.examples[index]
        start, end, t = clip.start_s, clip.end_s, round(self._current.time, 3)
        if what == "in":
            start, end = t, end if end is None or end > t else None
        elif what == "out":
            start, end = start if start is None or start < t else None, t
        else:
            start = end = None
        self._state.set_example_span(self.action, index, start, end)

    def _remove(self) -> None:
        if self.examples.currentRow() >= 0:
            self._state.remove_example(self.action, self.examples.currentRow())

    def _apply_descriptors(self) -> None:
        lines = [line.strip() for line in self.descriptors.toPlainText().splitlines() if line.strip()]
        action = self._state.project.action(self.action)
        if action is not None and lines != action.descriptors:
            self._state.update_action(self.action, f"Edit descriptors of {self.action}", descriptors=lines)

    def set_descriptors(self, lines: list[str]) -> None:
        """Put generated descriptors in the editor and keep them."""
        self.descriptors.setPlainText("\n".join(lines))
        self._apply_descriptors()
