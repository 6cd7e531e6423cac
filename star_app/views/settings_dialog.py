"""The Settings panel: this project's model, labeling and training; the application's device and LLM endpoint.

What the project labels with is saved in the project (Project > Save); what is the user's (device, LLM
endpoint) is saved in the application settings at once.
"""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from star_app.model_setup import ModelSetup
from star_app.project import ProjectSettings
from star_app.settings import AppSettings
from star_app.views.model_picker import ModelPicker
from star_model.schema import RATE_RANGE


class SettingsDialog(QDialog):
    """Edits copies of the project's and the application's settings: :meth:`result_project`,
    :meth:`result_app`; the labeling fields take the ranges of :class:`~star_model.schema.LabelingParams`."""

    retrainRequested = Signal()

    def __init__(self, app: AppSettings, project: ProjectSettings, bundled_present: bool, cached: dict[str, bool],
                 retrain_note: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._app, self._project = app, project
        self.model = ModelPicker(project.model, bundled_present, cached)
        self.for_new_projects = QCheckBox("Start new projects with this model too")
        self.for_new_projects.setToolTip(f"New projects start with {app.new_project_model.title}")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.model.changed.connect(self._check)
        model_box = QGroupBox("This project's model")
        box_layout = QVBoxLayout(model_box)
        box_layout.addWidget(self.model)
        box_layout.addWidget(self.for_new_projects)
        layout = QVBoxLayout(self)
        for w in (model_box, self._labeling_box(), self._train_box(retrain_note), self._app_box(), buttons):
            layout.addWidget(w)
        self._check()

    def _labeling_box(self) -> QGroupBox:
        params = self._project.labeling
        self.rate = self._spin(params.rate, *RATE_RANGE, 0.5, " fps")
        self.trim_rest = QCheckBox("Examples start and end at rest")
        self.trim_rest.setChecked(params.trim_rest)
        self.trim_rest.setToolTip("Cut the still frames at both ends of each example off its prototype and its "
                                  "length. Untick when your examples are trimmed tightly to the action.")
        self.confirmed = QCheckBox("Confirmed segments are examples too")
        self.confirmed.setChecked(self._project.confirmed_as_examples)
        self.confirmed.setToolTip("Segments you confirmed or corrected join their action's examples when the "
                                  "prototypes are next built")
        box = QGroupBox("This project's labeling")
        form = QFormLayout(box)
        form.addRow("Labeling rate", self.rate)
        form.addRow("", self.trim_rest)
        form.addRow("", self.confirmed)
        return box

    def _app_box(self) -> QGroupBox:
        s = self._app
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        self.device.setCurrentText(s.device)
        self.fast_cpu = QCheckBox("Fast CPU features for CLIP ViT-B/16 (int8, approximate)")
        self.fast_cpu.setChecked(s.fast_cpu)
        self.fast_cpu.setToolTip("On the CPU, embed frames with an int8 copy of a ViT image tower: about 2x "
                                 "faster, features within cosine 0.99 of the exact ones. Other models run as "
                                 "they are; the GPU is never affected.")
        self.llm_url = QLineEdit(s.llm_url)
        self.llm_url.setPlaceholderText("e.g. http://127.0.0.1:8080/v1 (empty: template descriptors)")
        self.llm_model = QLineEdit(s.llm_model)
        self.llm_key = QLineEdit(s.llm_key)
        self.llm_key.setEchoMode(QLineEdit.EchoMode.Password)
        box = QGroupBox("Application (every project)")
        form = QFormLayout(box)
        form.addRow("Device", self.device)
        form.addRow("", self.fast_cpu)
        form.addRow("Descriptor LLM URL", self.llm_url)
        form.addRow("LLM model", self.llm_model)
        form.addRow("LLM API key", self.llm_key)
        return box

    def _train_box(self, retrain_note: str) -> QGroupBox:
        self.retrain_button = QPushButton("Retrain…")
        self.retrain_button.setToolTip("Fine-tune the model on this project's examples")
        self.retrain_button.clicked.connect(self.retrainRequested)
        self.retrain_steps = QSpinBox()
        self.retrain_steps.setRange(0, 100_000)
        self.retrain_steps.setSingleStep(50)
        self.retrain_steps.setSuffix(" steps")
        self.retrain_steps.setSpecialValueText("default steps")
        self.retrain_steps.setToolTip("Training steps of Retrain (default: the built-in recipe)")
        self.retrain_steps.setValue(self._project.retrain_steps)
        self.retrain_note = QLabel(retrain_note)
        self.retrain_note.setWordWrap(True)
        box = QGroupBox("This project's training")
        layout = QHBoxLayout(box)
        layout.addWidget(self.retrain_button)
        layout.addWidget(self.retrain_steps)
        layout.addWidget(self.retrain_note, 1)
        return box

    @staticmethod
    def _spin(value: float, low: float, high: float, step: float, suffix: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(low, high)
        spin.setSingleStep(step)
        spin.setDecimals(2)
        spin.setSuffix(suffix)
        spin.setValue(value)
        return spin

    def _check(self) -> None:
        """OK only for a model that can label; its tooltip says why not."""
        problem = self.model.problem()
        self.ok_button.setEnabled(not problem)
        self.ok_button.setToolTip(problem)

    def result_project(self) -> ProjectSettings:
        labeling = replace(self._project.labeling, rate=self.rate.value(), trim_rest=self.trim_rest.isChecked())
        return replace(self._project, model=self.model.setup(), labeling=labeling,
                       retrain_steps=self.retrain_steps.value(), confirmed_as_examples=self.confirmed.isChecked())

    def result_app(self) -> AppSettings:
        model: ModelSetup = self.model.setup() if self.for_new_projects.isChecked() else self._app.new_project_model
        return replace(self._app, device=self.device.currentText(), fast_cpu=self.fast_cpu.isChecked(), llm_url=self.llm_url.text().strip(),
                       llm_model=self.llm_model.text().strip() or "default", llm_key=self.llm_key.text(),
                       new_project_model=model)
