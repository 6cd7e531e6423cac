"""Settings: the dialog, taking its result (the project's part undoable, the user's part saved at once), the
first-run choice of model, Retrain's Keep / Discard question, and the window layout the user left.

A model whose weights must be downloaded is taken once they are cached: at once, or after a download
in a progress dialog; a failed or cancelled download leaves the project's model as it was.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QByteArray, QObject, Qt
from PySide6.QtWidgets import QMainWindow, QMessageBox, QSplitter

from star_app.controllers.download_controller import DownloadController
from star_app.controllers.job_controller import JobController
from star_app.model_setup import CLIP_MODELS, DEFAULT_TAG, ModelSetup
from star_app.project import ProjectSettings
from star_app.services.settings_info import bundled_present, retrain_note, weights_cached
from star_app.settings import AppSettings, SettingsStore
from star_app.state.project_state import ProjectState
from star_app.views.first_run_dialog import FirstRunDialog
from star_app.views.settings_dialog import SettingsDialog


class SettingsController(QObject):
    """Opens Settings and the first-run choice for ``window``; owns the Keep / Discard question."""

    def __init__(self, window: QMainWindow, store: SettingsStore, state: ProjectState, jobs: JobController,
                 downloads: DownloadController, status: Callable[[str], None],
                 remember: Callable[[str, str], None]) -> None:
        super().__init__(window)
        self._window, self._store, self._state, self._jobs, self._downloads = window, store, state, jobs, downloads
        self._status, self._remember = status, remember
        self.retrain_box: Optional[QMessageBox] = None

    def _cached(self) -> dict[str, bool]:
        return {model: weights_cached(model, DEFAULT_TAG, self._downloads.cache_dir) for model in CLIP_MODELS}

    def open(self) -> None:
        """The Settings dialog (modal); Retrain… in it starts the retrain job once it closes."""
        dialog = SettingsDialog(self._store.settings, self._state.project.settings, bundled_present(), self._cached(),
                                retrain_note(), self._window)
        retrain = []
        dialog.retrainRequested.connect(lambda: (retrain.append(True), dialog.accept()))
        if dialog.exec():
            self.apply(dialog.result_app(), dialog.result_project())
        if retrain:
            self._jobs.retrain(self.decide_retrain, self._state.project.settings.retrain_steps or None)

    def apply(self, app: Optional[AppSettings] = None, project: Optional[ProjectSettings] = None) -> None:
        """Take edited settings: the user's at once, the project's as one undo step (its model once usable)."""
        if app is not None:
            self._store.update(**{k: v for k, v in vars(app).items()})
        if project is None:
            self._status("Settings saved")
            return
        before = self._state.project.settings
        taken = self.take_model(project.model, settings=project)
        if not taken and project != replace(before, model=project.model):
            self._state.set_settings(replace(project, model=before.model))  # the rest now, the model once here

    def take_model(self, setup: ModelSetup, then: Callable[[], None] = lambda: None,
                   settings: Optional[ProjectSettings] = None) -> bool:
        """The project's model becomes ``setup`` (with the rest of ``settings``, when given, in the same undo
        step) once its weights are here, downloaded first when needed. True when that happened at once."""
        taken: list[bool] = []
        later: list[bool] = []

        def take() -> None:  # after a download, the project's settings as they are by then
            base = settings if settings is not None and not later else self._state.project.settings
            self._state.set_settings(replace(base, model=setup))
            self._status(f"Settings saved; the project uses {setup.title}")
            taken.append(True)
            then()
        if setup.source != "pretrained":
            take()
        elif not self._downloads.ensure(setup.model, setup.pretrained, take):
            self._status("Settings saved except the model (its weights are not here)")
        later.append(True)
        return bool(taken)

    def first_run(self) -> None:
        """The first start: which model to use (non-blocking); the choice also starts new projects."""
        dialog = FirstRunDialog(bundled_present(), self._cached(), self._window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def chosen(result: int) -> None:
            if result:
                setup = dialog.setup()
                self.take_model(setup, lambda: self._store.update(new_project_model=setup, model_chosen=True))
            else:
                self._store.update(model_chosen=True)
        dialog.finished.connect(chosen)
        dialog.open()

    def decide_retrain(self, checkpoint: Path, metrics: dict) -> None:
        """Ask whether to keep the fine-tuned model (non-blocking), with both models' validation accuracy."""
        box = QMessageBox(QMessageBox.Icon.Question, "Retrain finished", retrain_summary(metrics),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self._window)
        box.button(QMessageBox.StandardButton.Yes).setText("Keep")
        box.button(QMessageBox.StandardButton.No).setText("Discard")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda code: self._jobs.keep_checkpoint(checkpoint)
                             if code == QMessageBox.StandardButton.Yes else self._jobs.discard_checkpoint(checkpoint))
        self.retrain_box = box
        self._remember("Retrain finished", box.text())
        box.open()

    # --- the window layout ---------------------------------------------------------------------
    def restore_layout(self) -> None:
        """The window's geometry and splitter positions as the user left them (nothing the first time)."""
        layout = self._store.settings.layout
        if "geometry" in layout:
            self._window.restoreGeometry(QByteArray.fromBase64(layout["geometry"].encode()))
        for splitter in self._window.findChildren(QSplitter):
            if splitter.objectName() in layout:
                splitter.restoreState(QByteArray.fromBase64(layout[splitter.objectName()].encode()))

    def save_layout(self) -> None:
        layout = {"geometry": bytes(self._window.saveGeometry().toBase64()).decode()}
        for splitter in self._window.findChildren(QSplitter):
            if splitter.objectName():
                layout[splitter.objectName()] = bytes(splitter.saveState().toBase64()).decode()
        self._store.update(layout=layout)


def retrain_summary(metrics: dict) -> str:
    """The Keep / Discard question: the fine-tuned and the current model's accuracy on the same held-out clips."""
    acc, before, held = metrics.get("val_accuracy"), metrics.get("val_accuracy_before"), metrics.get("held_out", 0)
    if acc is None:
        quality = "No clip could be held out for validation, so the two models cannot be compared."
    else:
        now = f"{before * 100:.1f} %" if before is not None else "not measured"
        quality = (f"Validation accuracy on the same {held} held-out clip(s): fine-tuned {acc * 100:.1f} %, "
                   f"current model {now}.")
    return f"{quality}\nTrained {metrics.get('steps', 0)} steps.\n\nKeep the fine-tuned model?"
