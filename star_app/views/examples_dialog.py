"""Make examples from labels: k confirmed segments per behaviour, reviewed before they become examples."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from star_model.schema import Segment

Picks = dict[str, list[tuple[str, Segment]]]
MAX_K = 20


class ExamplesDialog(QDialog):
    """``pick(k)`` gives the segments proposed per behaviour; each is a checked row (untick one to leave it
    out; double-click shows it in the player: ``previewRequested(video, start_s)``). Accepting returns
    :meth:`chosen` and whether to label the ``unlabeled`` videos afterwards (:meth:`label_after`)."""

    previewRequested = Signal(str, float)

    def __init__(self, pick: Callable[[int], Picks], unlabeled: int, k: int = 3, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Make examples from labels")
        self.setMinimumSize(520, 420)
        self._pick = pick
        self.k = QSpinBox()
        self.k.setRange(1, MAX_K)
        self.k.setValue(k)
        self.k.valueChanged.connect(self._fill)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Behaviour / segment", "Length"])
        self.tree.setColumnWidth(0, 380)
        self.tree.itemDoubleClicked.connect(self._preview)
        self.then_label = QCheckBox(f"Then label the {unlabeled} video(s) without labels")
        self.then_label.setChecked(unlabeled > 0)
        self.then_label.setEnabled(unlabeled > 0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Make examples")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Examples per behaviour", self.k)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Confirmed segments of typical length, spread over the labeled videos. Untick any that "
                                "is not a good example; double-click one to see it."))
        layout.addLayout(form)
        layout.addWidget(self.tree)
        layout.addWidget(self.then_label)
        layout.addWidget(buttons)
        self._fill()

    def _fill(self) -> None:
        self.tree.clear()
        for label, picks in self._pick(self.k.value()).items():
            top = QTreeWidgetItem(self.tree, [f"{label} ({len(picks)})", ""])
            top.setFlags(top.flags() | Qt.ItemFlag.ItemIsAutoTristate | Qt.ItemFlag.ItemIsUserCheckable)
            for video, seg in picks:
                row = QTreeWidgetItem(top, [f"{Path(video).name}  {seg.start_s:.2f}–{seg.end_s:.2f} s",
                                            f"{seg.duration_s:.2f} s"])
                row.setFlags(row.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                row.setCheckState(0, Qt.CheckState.Checked)
                row.setData(0, Qt.ItemDataRole.UserRole, (label, video, seg))
            top.setExpanded(True)

    def _preview(self, item: QTreeWidgetItem, _column: int) -> None:
        data = item.data(0, Qt.ItemDataRole.UserRole)
        if data:
            self.previewRequested.emit(data[1], data[2].start_s)

    def rows(self) -> list[QTreeWidgetItem]:
        """Every segment row, behaviour by behaviour."""
        return [self.tree.topLevelItem(i).child(j) for i in range(self.tree.topLevelItemCount())
                for j in range(self.tree.topLevelItem(i).childCount())]

    def chosen(self) -> list[tuple[str, str, Segment]]:
        """The ticked rows: (behaviour, video, segment)."""
        return [row.data(0, Qt.ItemDataRole.UserRole) for row in self.rows()
                if row.checkState(0) == Qt.CheckState.Checked]

    def label_after(self) -> bool:
        return self.then_label.isChecked()
