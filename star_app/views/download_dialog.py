"""A progress dialog for a weights download: what is fetched, MB done of MB total, and Cancel."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from star_app.services.jobs import JobRunner
from star_app.views.progress import show_progress


class DownloadDialog(QDialog):
    """Follows the download job on ``runner`` and closes itself when the job ends (any outcome).

    The job reports KiB (``done``, ``total``; total 0 while unknown) and the MB text as its message.
    Cancel asks the runner to stop; the runner answers within its poll interval.
    """

    def __init__(self, runner: JobRunner, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumWidth(460)
        self.label = QLabel("Connecting to the model hub…")
        self.label.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addLayout(buttons)
        runner.progress.connect(self._progress)
        runner.busyChanged.connect(self._busy)

    def _progress(self, done: int, total: int, message: str) -> None:
        show_progress(self.bar, done, total)
        if message:
            self.label.setText(message)

    def _busy(self, busy: bool) -> None:
        if not busy:
            self._runner.progress.disconnect(self._progress)
            self._runner.busyChanged.disconnect(self._busy)
            self.done(QDialog.DialogCode.Accepted)

    def cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.label.setText("Cancelling…")
        self._runner.cancel()

    def reject(self) -> None:  # Esc or the window's close button: cancel the download, the job closes the dialog
        if self._runner.busy:
            self.cancel()
        else:
            super().reject()
