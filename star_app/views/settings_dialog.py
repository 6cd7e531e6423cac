"""The Settings panel: device, model weights, labeling parameters, LLM endpoint, Retrain."""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QRadioButton,
                               QSpinBox, QVBoxLayout, QWidget)

from star_app.settings import AppSettings

SOURCES = ("bundled", "pretrained", "checkpoint")


class SettingsDialog(QDialog):
    """Edits a copy of AppSettings; ``result_settings()`` gives the edited copy."""

    retrainRequested = Signal()

    def __init__(self, settings: AppSettings, models: list[str], retrain_note: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._settings = settings
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        self.device.setCurrentText(settings.device)

        self.source_buttons = QButtonGroup(self)
        self.model = QComboBox()
        self.model.addItems(models)
        self.model.setCurrentText(settings.model)
        self.pretrained = QLineEdit(settings.pretrained)
        self.pretrained.setPlaceholderText("open_clip tag, e.g. openai (downloads once)")
        self.checkpoint = QLineEdit(settings.checkpoint)
        self.checkpoint.setPlaceholderText("a STAR checkpoint (.safetensors)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        model_box = QGroupBox("Model")
        model_form = QFormLayout(model_box)
        rows = [("Bundled model", self.model), ("Pretrained CLIP tag", self.pretrained),
                ("Local checkpoint", self._row(self.checkpoint, browse))]
        for k, (text, field) in enumerate(rows):
            radio = QRadioButton(text)
            self.source_buttons.addButton(radio, k)
            model_form.addRow(radio, field)
        self.source_buttons.button(SOURCES.index(settings.model_source)
                                   if settings.model_source in SOURCES else 0).setChecked(True)
        model_form.addRow("Device", self.device)

        self.rate = self._spin(settings.rate, 0.5, 30.0, 0.5, " fps")
        self.window = self._spin(settings.window_s, 0.0, 60.0, 0.5, " s", "auto (median example length)")
        self.threshold = self._spin(settings.threshold, 0.0, 10.0, 0.01, "", "calibrated from the examples")
        labeling_box = QGroupBox("Labeling")
        labeling_form = QFormLayout(labeling_box)
        labeling_form.addRow("Labeling rate", self.rate)
        labeling_form.addRow("Window length", self.window)
        labeling_form.addRow("Background threshold", self.threshold)
        self.trim_rest = QCheckBox("Examples start and end at rest")
        self.trim_rest.setChecked(settings.trim_rest)
        self.trim_rest.setToolTip("Cut the still frames at both ends of each example off its prototype and learn "
                                  "the background from them. Untick when your examples are trimmed tightly "
                                  "to the action.")
        labeling_form.addRow("", self.trim_rest)

        self.llm_url = QLineEdit(settings.llm_url)
        self.llm_url.setPlaceholderText("e.g. http://127.0.0.1:8080/v1 (empty: template descriptors)")
        self.llm_model = QLineEdit(settings.llm_model)
        self.llm_key = QLineEdit(settings.llm_key)
        self.llm_key.setEchoMode(QLineEdit.EchoMode.Password)
        llm_box = QGroupBox("Descriptor LLM (OpenAI-compatible chat endpoint)")
        llm_form = QFormLayout(llm_box)
        llm_form.addRow("URL", self.llm_url)
        llm_form.addRow("Model", self.llm_model)
        llm_form.addRow("API key", self.llm_key)

        self.retrain_button = QPushButton("Retrain…")
        self.retrain_button.setToolTip("Fine-tune the model on this project's examples")
        self.retrain_button.clicked.connect(self.retrainRequested)
        self.retrain_steps = QSpinBox()
        self.retrain_steps.setRange(0, 100_000)
        self.retrain_steps.setSingleStep(50)
        self.retrain_steps.setSuffix(" steps")
        self.retrain_steps.setSpecialValueText("default steps")
        self.retrain_steps.setToolTip("Training steps of Retrain (default: the built-in recipe)")
        self.retrain_steps.setValue(settings.retrain_steps)
        self.retrain_note = QLabel(retrain_note)
        self.retrain_note.setWordWrap(True)
        train_box = QGroupBox("Training")
        train_layout = QHBoxLayout(train_box)
        train_layout.addWidget(self.retrain_button)
        train_layout.addWidget(self.retrain_steps)
        train_layout.addWidget(self.retrain_note, 1)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for w in (model_box, labeling_box, llm_box, train_box, buttons):
            layout.addWidget(w)

    @staticmethod
    def _row(*widgets: QWidget) -> QWidget:
        w = QWidget()
        row = QHBoxLayout(w)
        row.setContentsMargins(0, 0, 0, 0)
        for x in widgets:
            row.addWidget(x)
        return w

    @staticmethod
    def _spin(value: float, low: float, high: float, step: float, suffix: str, special: str = "") -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(low, high)
        spin.setSingleStep(step)
        spin.setDecimals(2)
        spin.setSuffix(suffix)
        if special:
            spin.setSpecialValueText(special)
        spin.setValue(value)
        return spin

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "STAR checkpoint", "", "Checkpoints (*.safetensors)")
        if path:
            self.checkpoint.setText(path)
            self.source_buttons.button(2).setChecked(True)

    def result_settings(self) -> AppSettings:
        return replace(
            self._settings, device=self.device.currentText(),
            model_source=SOURCES[max(0, self.source_buttons.checkedId())], model=self.model.currentText(),
            pretrained=self.pretrained.text().strip(), checkpoint=self.checkpoint.text().strip(),
            rate=self.rate.value(), window_s=self.window.value(), threshold=self.threshold.value(),
            trim_rest=self.trim_rest.isChecked(),
            llm_url=self.llm_url.text().strip(), llm_model=self.llm_model.text().strip() or "default",
            llm_key=self.llm_key.text(), retrain_steps=self.retrain_steps.value(),
        )
