"""The first start: which model to label with, and what each one knows.

Only models with real weights are offered: the bundled model (the demo's synthetic world), CLIP ViT-B/16
or RN50 with the OpenAI weights (downloaded once, with a progress dialog) or a local weights file.
The choice is the current project's model and the one new projects start with; Settings changes it.
"""
from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from star_app.model_setup import ModelSetup
from star_app.views.model_picker import ModelPicker

INTRO = ("<b>Which model should STAR Labeler use?</b><br>"
         "It learns your actions from a few example clips, on top of a model that knows what images look like. "
         "The bundled model is small and knows only the synthetic world of the demo project; for your own "
         "videos choose CLIP (downloaded once). You can change it per project in Project ▸ Settings.")


class FirstRunDialog(QDialog):
    """A model picker with an explanation; :meth:`setup` is the choice."""

    def __init__(self, bundled_present: bool, cached: dict[str, bool], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to STAR Labeler")
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        start = ModelSetup() if bundled_present else ModelSetup("pretrained", "star-vitb16", "openai")
        self.picker = ModelPicker(start, bundled_present, cached)
        self.picker.radios["checkpoint"].setVisible(False)  # nothing is fine-tuned yet
        self.picker.checkpoint[0].parentWidget().setVisible(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Use this model")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Decide later")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.picker.changed.connect(lambda: self.ok_button.setEnabled(not self.picker.problem()))
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.picker)
        layout.addWidget(buttons)
        self.setMinimumWidth(560)

    def setup(self) -> ModelSetup:
        return self.picker.setup()
