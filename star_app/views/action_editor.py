"""The selected action's details: example clips (preview, trim in/out), stage descriptors."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QGridLayout, QGroupBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPlainTextEdit,
                               QPushButton, QVBoxLayout, QWidget)

from star_app.state.current_time import CurrentTime
from star_app.state.project_state import ProjectState
from star_model.schema import ClipRef

MIN_EXAMPLE_S = 0.2
"""The shortest span an example may be trimmed to (about 5 frames at 25 fps)."""


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
    addExamplesRequested = Signal(str)  # action: more example clips from a file dialog
    problem = Signal(str, str)  # title, text: an edit that was refused, and why

    def __init__(self, state: ProjectState, current: CurrentTime, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._current = current
        self.action: str = ""
        self._preview: Optional[tuple[str, int]] = None
        self._shown: Optional[tuple[str, list[str]]] = None  # the action and descriptors the text box was given
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
        self.add_button = self._button("Add clips…", "More example clips of this action, from files",
                                       lambda: self.addExamplesRequested.emit(self.action))
        row = QGridLayout()  # two rows of three: the pane stays narrow
        for k, b in enumerate((self.add_button, self.preview_button, self.remove_button, self.in_button,
                               self.out_button, self.clear_button)):
            row.addWidget(b, k // 3, k % 3)
        examples_box = QGroupBox("Example clips")
        box_layout = QVBoxLayout(examples_box)
        box_layout.addWidget(self.examples)
        box_layout.addLayout(row)

        self.descriptors = QPlainTextEdit()
        self.descriptors.setPlaceholderText("Stage descriptors, one per line, in temporal order (empty: templates)")
        self.descriptors.setMaximumHeight(80)
        self.descriptors.textChanged.connect(self._update_apply)
        self.apply_button = self._button("Apply", "Keep the edited descriptors (the project changes only now)",
                                         self._apply_descriptors)
        self.generate_button = self._button("Generate", "Ask the LLM endpoint from Settings (templates when none); "
                                                        "Apply keeps what it wrote",
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
            self._shown = None
            self.descriptors.setPlainText("")
            return
        self.title.setText(action.name)
        for clip in action.examples:
            item = QListWidgetItem(f"{Path(clip.path).name}   [{span_text(clip)}]")
            item.setToolTip(clip.path)
            self.examples.addItem(item)
        self.examples.setCurrentRow(min(max(row, 0), len(action.examples) - 1))
        if self._shown != (action.name, action.descriptors):  # unapplied edits stay while nothing of them changed
            self._shown = (action.name, list(action.descriptors))
            self.descriptors.setPlainText("\n".join(action.descriptors))
        self._update_apply()
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
        if what == "clear":
            start = end = None
        elif what == "in":
            start = t
        else:
            end = t
        problem = trim_problem(start or 0.0, end if end is not None else self._current.duration, what)
        if problem:
            self.problem.emit("Cannot trim the example", problem)
        elif (start, end) != (clip.start_s, clip.end_s):
            self._state.set_example_span(self.action, index, start, end)

    def _remove(self) -> None:
        if self.examples.currentRow() >= 0:
            self._state.remove_example(self.action, self.examples.currentRow())

    def _apply_descriptors(self) -> None:
        lines = self._edited_lines()
        action = self._state.project.action(self.action)
        if action is not None and lines != action.descriptors:
            self._state.update_action(self.action, f"Edit descriptors of {self.action}", descriptors=lines)
        self._update_apply()

    def _edited_lines(self) -> list[str]:
        return [line.strip() for line in self.descriptors.toPlainText().splitlines() if line.strip()]

    def _update_apply(self) -> None:
        action = self._state.project.action(self.action) if self.action else None
        self.apply_button.setEnabled(action is not None and self._edited_lines() != action.descriptors)

    def set_descriptors(self, lines: list[str]) -> None:
        """Put generated descriptors in the editor; the project takes them on Apply."""
        self.descriptors.setPlainText("\n".join(lines))


def trim_problem(start: float, end: float, what: str) -> str:
    """Why an example cannot span ``start``–``end`` seconds of its clip after its ``what`` point ("in", "out",
    "clear") was set ("" when it can)."""
    if what != "clear" and end <= start:
        return (f"The in point ({start:.2f} s) would be after the out point ({end:.2f} s). "
                + ("Move the cursor before the out point, or set the out point later first." if what == "in" else
                   "Move the cursor after the in point, or set the in point earlier first."))
    if what != "clear" and end - start < MIN_EXAMPLE_S:
        return (f"The example would last {end - start:.2f} s, shorter than {MIN_EXAMPLE_S:g} s: too short to show "
                "the action. Choose points further apart.")
    return ""
