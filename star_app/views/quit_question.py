"""The question asked when the window closes while a job (labeling, building, retraining) runs."""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

QUIT = "Cancel it and quit"
KEEP = "Keep working"


def quit_during_job(parent: QWidget, job: str) -> bool:
    """Ask (modal) whether to cancel the running ``job`` and quit; True when the user says so."""
    box = QMessageBox(QMessageBox.Icon.Question, "A job is running",
                      f"{job} is running. Quitting cancels it and its results are lost (nothing of it is written "
                      "to the project).", parent=parent)
    quit_button = box.addButton(QUIT, QMessageBox.ButtonRole.DestructiveRole)
    keep = box.addButton(KEEP, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    box.exec()
    return box.clickedButton() is quit_button
