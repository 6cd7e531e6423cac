"""Choosing a model that has real weights: the bundled model, a CLIP model (OpenAI weights, downloaded
once, or a local weights file) or a fine-tuned checkpoint; it says what the chosen model knows.

A CLIP model without weights (random towers, meaningless features) is not offered; the bundled model
is offered only when its file is there.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QRadioButton, QWidget)

from star_app.model_setup import BUNDLED_MODEL, CLIP_MODELS, DEFAULT_TAG, ModelSetup

CHOICES = ("bundled", "download", "file", "checkpoint")


class ModelPicker(QWidget):
    """Edits a :class:`ModelSetup`; ``changed`` on every edit; :meth:`setup` gives the current one.

    ``cached``: per CLIP config, whether its OpenAI weights are downloaded already.
    """

    changed = Signal()

    def __init__(self, setup: ModelSetup, bundled_present: bool, cached: dict[str, bool],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cached = cached
        self._checkpoint_model = setup.model if setup.source == "checkpoint" else BUNDLED_MODEL  # its config's name
        self.group = QButtonGroup(self)
        self.radios = {key: QRadioButton(text) for key, text in (
            ("bundled", "Bundled model: star-tiny, trained on the synthetic action world"),
            ("download", f"CLIP with the {DEFAULT_TAG} weights"), ("file", "CLIP with a local weights file"),
            ("checkpoint", "Fine-tuned STAR checkpoint"))}
        self.radios["bundled"].setEnabled(bundled_present)
        if not bundled_present:
            self.radios["bundled"].setText("Bundled model (missing from this installation)")
        self.clip = QComboBox()
        for config, name in CLIP_MODELS.items():
            self.clip.addItem(name, config)
        self.weights = self._path_field("a CLIP weights file (.safetensors, .pt)", "CLIP weights (*.safetensors *.pt *.bin)")
        self.checkpoint = self._path_field("a STAR checkpoint (.safetensors) from Retrain",
                                           "STAR checkpoints (*.safetensors)")
        self.download_note = QLabel()
        self.knows = QLabel()
        self.knows.setWordWrap(True)
        self.knows.setStyleSheet("color: #404040;")
        self._layout()
        self._show(setup, bundled_present)
        self.group.idToggled.connect(lambda _id, on: on and self._edited())
        self.clip.currentIndexChanged.connect(lambda _i: self._edited())

    def _path_field(self, placeholder: str, filter_text: str) -> tuple[QLineEdit, QPushButton]:
        edit = QLineEdit()
        edit.setPlaceholderText(placeholder)
        edit.textChanged.connect(lambda _t: self._edited())
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: self._browse(edit, filter_text))
        return edit, browse

    def _layout(self) -> None:
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        for k, key in enumerate(CHOICES):
            self.group.addButton(self.radios[key], k)
            grid.addWidget(self.radios[key], k, 0)
        grid.addWidget(self.download_note, 1, 1)
        grid.addWidget(self._row(*self.weights), 2, 1)
        grid.addWidget(self._row(*self.checkpoint), 3, 1)
        grid.addWidget(self._row(QLabel("CLIP model"), self.clip), 4, 0, 1, 2)
        grid.addWidget(self.knows, 5, 0, 1, 2)

    @staticmethod
    def _row(*widgets: QWidget) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        for w in widgets:
            row.addWidget(w)
        return box

    def _show(self, setup: ModelSetup, bundled_present: bool) -> None:
        key = "bundled" if setup.source == "bundled" else "checkpoint" if setup.source == "checkpoint" else \
            "file" if setup.pretrained and setup.pretrained != DEFAULT_TAG else "download"
        if key == "bundled" and not bundled_present:
            key = "download"
        index = self.clip.findData(setup.model)
        self.clip.setCurrentIndex(max(index, 0))
        self.weights[0].setText(setup.pretrained if key == "file" else "")
        self.checkpoint[0].setText(setup.checkpoint)
        self.radios[key].setChecked(True)
        self._edited()

    def _browse(self, edit: QLineEdit, filter_text: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a file", edit.text(), filter_text)
        if path:
            edit.setText(path)

    @property
    def choice(self) -> str:
        """Which of ``CHOICES`` is chosen."""
        return CHOICES[max(0, self.group.checkedId())]

    def setup(self) -> ModelSetup:
        """The chosen model."""
        clip = self.clip.currentData()
        if self.choice == "download":
            return ModelSetup("pretrained", clip, DEFAULT_TAG)
        if self.choice == "file":
            return ModelSetup("pretrained", clip, self.weights[0].text().strip())
        if self.choice == "checkpoint":
            return ModelSetup("checkpoint", self._checkpoint_model, "", self.checkpoint[0].text().strip())
        return ModelSetup("bundled", BUNDLED_MODEL)

    def _edited(self) -> None:
        clip = self.clip.currentData()
        cached = self._cached.get(clip, False)
        self.download_note.setText(f"{CLIP_MODELS[clip]}: " + ("downloaded already" if cached else
                                                              "downloaded once, with a progress dialog"))
        setup = self.setup()
        problem = setup.problem()
        self.knows.setText(f"What it knows: {setup.knows}." if not problem else f"Not usable: {problem}.")
        self.changed.emit()

    def problem(self) -> str:
        """Why the chosen model cannot label ("" when it can)."""
        setup = self.setup()
        return setup.problem() if self.choice != "bundled" else ""
