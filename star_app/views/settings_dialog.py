"""The Settings panel: device, model weights, labeling parameters, LLM endpoint, Retrain."""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QRadioButton,
                               QSpinBox, QVBoxLayout, QWidget)

from star_app.settings import MODEL_SOURCES, AppSettings
from star_model.schema import RATE_RANGE


class SettingsDialog(QDialog):
    """Edits a copy of AppSettings; ``result_settings()`` gives the edited copy. The labeling fields take
    the ranges of :class:`~star_model.schema.LabelingParams`; 0 in window and threshold means automatic."""

    retrainRequested = Signal()

    def __init__(self, settings: AppSettings, models: list[str], retrain_note: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._settings = settings
        layout = QVBoxLayout(self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        for w in (self._model_box(models), self._labeling_box(), self._llm_box(), self._train_box(retrain_note),
                  buttons):
            layout.addWidget(w)

    def _model_box(self, models: list[str]) -> QGroupBox:
        s = self._settings
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        self.device.setCurrentText(s.device)
        self.source_buttons = QButtonGroup(self)
        self.model = QComboBox()
        self.model.addItems(models)
        self.model.setCurrentText(s.model)
        self.pretrained = QLineEdit(s.pretrained)
        self.pretrained.setPlaceholderText("open_clip tag, e.g. openai (downloads once)")
        self.checkpoint = QLineEdit(s.checkpoint)
        self.checkpoint.setPlaceholderText("a STAR checkpoint (.safetensors)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        box = QGroupBox("Model")
        form = QFormLayout(box)
        rows = [("Bundled model", self.model), ("Pretrained CLIP tag", self.pretrained),
                ("Local checkpoint", self._row(self.checkpoint, browse))]
        for k, (text, field) in enumerate(rows):
            radio = QRadioButton(text)
            self.source_buttons.addButton(radio, k)
            form.addRow(radio, field)
        self.source_buttons.button(MODEL_SOURCES.index(s.model_source)
                                   if s.model_source in MODEL_SOURCES else 0).setChecked(True)
        form.addRow("Device", self.device)
        return box

    def _labeling_box(self) -> QGroupBox:
        params = self._settings.labeling
        self.rate = self._spin(params.rate, *RATE_RANGE, 0.5, " fps")
        box = QGroupBox("Labeling")
        form = QFormLayout(box)
        form.addRow("Labeling rate", self.rate)
        self.trim_rest = QCheckBox("Examples start and end at rest")
        self.trim_rest.setChecked(params.trim_rest)
        self.trim_rest.setToolTip("Cut the still frames at both ends of each example off its prototype and its "
                                  "length. Untick when your examples are trimmed tightly to the action.")
        form.addRow("", self.trim_rest)
        return box

    def _llm_box(self) -> QGroupBox:
        s = self._settings
        self.llm_url = QLineEdit(s.llm_url)
        self.llm_url.setPlaceholderText("e.g. http://127.0.0.1:8080/v1 (empty: template descriptors)")
        self.llm_model = QLineEdit(s.llm_model)
        self.llm_key = QLineEdit(s.llm_key)
        self.llm_key.setEchoMode(QLineEdit.EchoMode.Password)
        box = QGroupBox("Descriptor LLM (OpenAI-compatible chat endpoint)")
        form = QFormLayout(box)
        form.addRow("URL", self.llm_url)
        form.addRow("Model", self.llm_model)
        form.addRow("API key", self.llm_key)
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
        self.retrain_steps.setValue(self._settings.retrain_steps)
        self.retrain_note = QLabel(retrain_note)
        self.retrain_note.setWordWrap(True)
        box = QGroupBox("Training")
        layout = QHBoxLayout(box)
        layout.addWidget(self.retrain_button)
        layout.addWidget(self.retrain_steps)
        layout.addWidget(self.retrain_note, 1)
        return box

    @staticmethod
    def _row(*widgets: QWidget) -> QWidget:
        w = QWidget()
        row = QHBoxLayout(w)
        row.setContentsMargins(0, 0, 0, 0)
        for x in widgets:
            row.addWidget(x)
        return w

    @staticmethod
    def _spin(value: float, low: float, high: float, step: float, suffix: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(low, high)
        spin.setSingleStep(step)
        spin.setDecimals(2)
        spin.setSuffix(suffix)
        spin.setValue(value)
        return spin

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "STAR checkpoint", "", "Checkpoints (*.safetensors)")
        if path:
            self.checkpoint.setText(path)
            self.source_buttons.button(2).setChecked(True)

    def result_settings(self) -> AppSettings:
        labeling = replace(self._settings.labeling, rate=self.rate.value(), trim_rest=self.trim_rest.isChecked())
        return replace(
            self._settings, device=self.device.currentText(),
            model_source=MODEL_SOURCES[max(0, self.source_buttons.checkedId())], model=self.model.currentText(),
            pretrained=self.pretrained.text().strip(), checkpoint=self.checkpoint.text().strip(), labeling=labeling,
            llm_url=self.llm_url.text().strip(), llm_model=self.llm_model.text().strip() or "default",
            llm_key=self.llm_key.text(), retrain_steps=self.retrain_steps.value(),
        )
