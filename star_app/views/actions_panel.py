"""The actions panel: one row per action (its colour, which the timeline and the plot use, its coding key and
its examples); drop video files or action folders here to create actions or add examples."""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QIcon, QPixmap
from PySide6.QtWidgets import (QColorDialog, QHBoxLayout, QInputDialog, QLabel, QListWidget, QListWidgetItem,
                               QMenu, QMessageBox, QPushButton, QVBoxLayout, QWidget)

from star_app.project_check import MAX_NAME_CHARS
from star_app.state.coding_keys import key_problem, normalise
from star_app.state.project_state import ProjectState


def color_icon(color: str, size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(QColor(color))
    return QIcon(pix)


class ActionsPanel(QWidget):
    """Lists the project's actions; accepts drops of video files (on a row: examples for that action)."""

    filesDropped = Signal(list, str)  # paths, target action ("" for a new action)
    addRequested = Signal()
    addExamplesRequested = Signal(str)  # action
    currentActionChanged = Signal(str)

    def __init__(self, state: ProjectState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.list = QListWidget()
        self.list.setAcceptDrops(False)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # long names are elided
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.currentItemChanged.connect(lambda item, _prev: self.currentActionChanged.emit(self._name(item)))
        self.list.itemDoubleClicked.connect(lambda item: self.rename(self._name(item)))
        hint = QLabel("Drop clips or action folders here")
        hint.setToolTip("Example clips on empty space make a new action; on an action, more examples of it. A "
                        "folder of clips is an action (its descriptors.txt gives the stage descriptors).")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #707070;")
        add = QPushButton("Add action…")
        add.clicked.connect(self.addRequested)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        heading = QLabel("Actions")
        heading.setStyleSheet("font-weight: bold;")
        layout.addWidget(heading)
        layout.addWidget(self.list, 1)
        layout.addWidget(hint)
        layout.addLayout(buttons)
        self.setAcceptDrops(True)
        state.actionsChanged.connect(self.refresh)
        state.projectReplaced.connect(self.refresh)

    @staticmethod
    def _name(item: QListWidgetItem | None) -> str:
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else ""

    @property
    def current(self) -> str:
        return self._name(self.list.currentItem())

    def refresh(self) -> None:
        keep = self.current
        self.list.blockSignals(True)
        self.list.clear()
        for action in self._state.project.actions:
            n = len(action.examples)
            key = f"   [{action.key}]" if action.key else ""
            item = QListWidgetItem(color_icon(action.color), f"{action.name}{key}   ({n} example{'s' if n != 1 else ''})")
            item.setToolTip(f"{action.name}: " + (f"key {action.key} starts / stops it at the cursor" if action.key else
                                                    "right-click for coding key, add examples, rename, colour, delete"))
            item.setData(Qt.ItemDataRole.UserRole, action.name)
            self.list.addItem(item)
            if action.name == keep:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        if self.current != keep:
            self.currentActionChanged.emit(self.current)

    def select(self, name: str) -> None:
        for i in range(self.list.count()):
            if self._name(self.list.item(i)) == name:
                self.list.setCurrentRow(i)

    # --- drops -----------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt API)
        urls = event.mimeData().urls()
        paths = [u.toLocalFile() for u in urls if u.isLocalFile()]
        if not paths:
            return
        event.acceptProposedAction()
        self.filesDropped.emit(paths, self.action_at(event.position().toPoint()))

    def action_at(self, pos: QPoint) -> str:
        """The action whose row is under ``pos`` (panel coordinates), or ""."""
        viewport = self.list.viewport()
        return self._name(self.list.itemAt(viewport.mapFrom(self, pos)))

    # --- edits -----------------------------------------------------------------------------
    def _menu(self, pos: QPoint) -> None:
        name = self._name(self.list.itemAt(pos))
        if not name:
            return
        menu = QMenu(self)
        menu.addAction("Add examples…", lambda: self.addExamplesRequested.emit(name))
        menu.addAction("Coding key…", lambda: self.set_key(name))
        menu.addAction("Rename…", lambda: self.rename(name))
        menu.addAction("Colour…", lambda: self.recolor(name))
        menu.addSeparator()
        menu.addAction("Delete", lambda: self.delete(name))
        menu.exec(self.list.viewport().mapToGlobal(pos))

    def rename(self, name: str) -> None:
        new, ok = QInputDialog.getText(self, "Rename action", "Action name:", text=name)
        new = new.strip()
        if not ok or not new or new == name:
            return
        if len(new) > MAX_NAME_CHARS:
            QMessageBox.warning(self, "Rename action", f"That name has {len(new)} characters; an action name has "
                                f"at most {MAX_NAME_CHARS}. Choose a shorter one.")
            return
        if self._state.project.action(new) is not None:
            QMessageBox.warning(self, "Rename action", f"There is already an action called {new!r}.")
            return
        self._state.rename_action(name, new)
        self.select(new)

    def set_key(self, name: str) -> None:
        """Ask for the key that codes ``name`` (empty: none); a taken or unusable key is refused with why."""
        action = self._state.project.action(name)
        if action is None:
            return
        key, ok = QInputDialog.getText(self, "Coding key", f"Key that starts and stops {name!r} (a letter or digit; "
                                       "empty for none):", text=action.key)
        if not ok:
            return
        problem = key_problem(self._state.project, name, key)
        if problem:
            QMessageBox.warning(self, "Coding key", problem)
        elif normalise(key) != action.key:
            self._state.update_action(name, f"Coding key of {name}", key=normalise(key))

    def recolor(self, name: str) -> None:
        action = self._state.project.action(name)
        if action is None:
            return
        color = QColorDialog.getColor(QColor(action.color), self, f"Colour of {name}")
        if color.isValid():
            self._state.update_action(name, f"Recolour {name}", color=color.name())

    def delete(self, name: str) -> None:
        answer = QMessageBox.question(self, "Delete action", f"Delete the action {name!r} and its examples?")
        if answer == QMessageBox.StandardButton.Yes:
            self._state.delete_action(name)
