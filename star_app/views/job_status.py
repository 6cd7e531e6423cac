"""Status-bar widget: the running job's name, a progress bar and a Cancel button."""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from star_app.services.jobs import JobRunner
from star_app.views.progress import show_progress


class JobStatus(QWidget):
    """Shows what the JobRunner is doing; hidden while it is idle."""

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setFixedWidth(220)
        self.bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running job (Esc)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.cancel_button.clicked.connect(self._cancel)
        runner.started.connect(self._started)
        runner.progress.connect(self._progress)
        runner.busyChanged.connect(self._busy)
        self.setVisible(False)

    def _started(self, name: str) -> None:
        self.label.setText(name)
        self.bar.setRange(0, 0)
        self.cancel_button.setEnabled(True)

    def _progress(self, done: int, total: int, message: str) -> None:
        show_progress(self.bar, done, total)
        self.label.setText(f"{self._runner.name}: {message}" if message else self._runner.name)

    def _busy(self, busy: bool) -> None:
        self.setVisible(busy)

    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.label.setText(f"{self._runner.name}: cancelling…")
        self._runner.cancel()
