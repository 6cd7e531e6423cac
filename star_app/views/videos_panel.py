"""The long videos of the project; drop video files here to add them. Selecting one opens it."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from star_app.state.project_state import ProjectState


class VideosPanel(QWidget):
    """Lists the videos to label, with how many segments each has."""

    filesDropped = Signal(list)
    addRequested = Signal()
    currentVideoChanged = Signal(str)

    def __init__(self, state: ProjectState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.list = QListWidget()
        self.list.setAcceptDrops(False)
        self.list.currentItemChanged.connect(lambda item, _p: self.currentVideoChanged.emit(self._path(item)))
        self.list.currentItemChanged.connect(lambda item, _p: self.remove_button.setEnabled(item is not None))
        add = QPushButton("Add videos…")
        add.clicked.connect(self.addRequested)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._remove)
        self.remove_button.setToolTip("Remove the selected video from the project (its file stays)")
        self.remove_button.setEnabled(False)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        heading = QLabel("Videos to label")
        heading.setStyleSheet("font-weight: bold;")
        layout.addWidget(heading)
        layout.addWidget(self.list, 1)
        layout.addLayout(row)
        self.setAcceptDrops(True)
        state.videosChanged.connect(self.refresh)
        state.projectReplaced.connect(self.refresh)
        state.segmentsChanged.connect(lambda _v: self.refresh())

    @staticmethod
    def _path(item: QListWidgetItem | None) -> str:
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else ""

    @property
    def current(self) -> str:
        return self._path(self.list.currentItem())

    def refresh(self) -> None:
        keep = self.current
        self.list.blockSignals(True)
        self.list.clear()
        for video in self._state.project.videos:
            n = len(self._state.segments(video.path))
            status = f"{n} segments" if n else "not labeled"
            item = QListWidgetItem(f"{video.name}   {video.duration_s:.1f} s, {status}")
            item.setToolTip(video.path)
            item.setData(Qt.ItemDataRole.UserRole, video.path)
            self.list.addItem(item)
            if video.path == keep:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self.remove_button.setEnabled(bool(self.current))
        if self.current != keep:
            self.currentVideoChanged.emit(self.current)

    def select(self, path: str) -> None:
        for i in range(self.list.count()):
            if self._path(self.list.item(i)) == path:
                self.list.setCurrentRow(i)

    def _remove(self) -> None:
        if self.current:
            self._state.remove_video(self.current)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt API)
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.filesDropped.emit(paths)
