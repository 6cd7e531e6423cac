"""The model a project labels with, as the user chooses it, and what each choice knows.

:class:`ModelSetup` is the choice (torch-free, saved in project.json): the bundled model, a CLIP model
with real weights (an open_clip pretrained tag, downloaded once, or a local weights file), or a STAR
checkpoint (Retrain's). A configuration whose towers would have no real weights (a CLIP model without
weights) is not usable: :meth:`ModelSetup.problem` says so and how to fix it, and labeling refuses it.
:meth:`ModelSetup.knows` is the line the window shows about what the model knows.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from star_model.schema import ModelChoice

BUNDLED_MODEL = "star-tiny"
CLIP_MODELS = {"star-vitb16": "CLIP ViT-B/16", "star-rn50": "CLIP RN50"}
"""The configs with open_clip towers, as the user knows them."""
SOURCES = ("bundled", "pretrained", "checkpoint")
DEFAULT_TAG = "openai"

KNOWS_BUNDLED = ("knows only the synthetic action world it was trained on (rendered figures doing 32 actions); "
                 "real videos are far from it, expect poor labels")
KNOWS_CLIP = ("knows web images of every kind (CLIP, 400 M image-text pairs): a good start for real videos, "
              "few-shot from your examples")
KNOWS_CHECKPOINT = "fine-tuned on a project's examples and confirmed segments (Retrain), from the model it started with"


@dataclass(frozen=True)
class ModelSetup:
    """source: ``bundled``, ``pretrained`` (``model`` is a CLIP config, ``pretrained`` a tag or a weights
    file) or ``checkpoint`` (a STAR checkpoint file)."""

    source: str = "bundled"
    model: str = BUNDLED_MODEL
    pretrained: str = ""
    checkpoint: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelSetup":
        setup = cls(**{k: v for k, v in data.items() if k in ("source", "model", "pretrained", "checkpoint")})
        if setup.source not in SOURCES:
            raise ValueError(f"model source {setup.source!r} is not one of {', '.join(SOURCES)}")
        return setup

    @classmethod
    def from_choice(cls, choice: ModelChoice) -> "ModelSetup":
        """The setup of a :class:`ModelChoice` (as projects of schema version 1 stored it)."""
        model = choice.model or BUNDLED_MODEL
        if choice.checkpoint:
            return cls("checkpoint", model, "", choice.checkpoint)
        if choice.pretrained and choice.pretrained != "bundled":
            return cls("pretrained", model, choice.pretrained)
        return cls("bundled", BUNDLED_MODEL)

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    def choice(self, device: str, fast_cpu: bool = False) -> ModelChoice:
        """What the engine runs, on ``device`` (``fast_cpu``: with the fast int8 tower of a ViT on the CPU)."""
        if self.source == "checkpoint":
            return ModelChoice(model=self.model, checkpoint=self.checkpoint or None, device=device, fast_cpu=fast_cpu)
        if self.source == "pretrained":
            return ModelChoice(model=self.model, pretrained=self.pretrained or None, device=device, fast_cpu=fast_cpu)
        return ModelChoice(model=BUNDLED_MODEL, device=device, fast_cpu=fast_cpu)

    @property
    def title(self) -> str:
        """The model as the window names it."""
        if self.source == "checkpoint":
            return f"fine-tuned checkpoint {Path(self.checkpoint).name or '(none chosen)'}"
        if self.source == "pretrained":
            name = CLIP_MODELS.get(self.model, self.model)
            if self.pretrained and Path(self.pretrained).expanduser().is_file():
                return f"{name} with the weights file {Path(self.pretrained).name}"
            return f"{name} ({self.pretrained or 'no weights'} weights)"
        return "the bundled model (star-tiny)"

    def problem(self, bundled_present: bool = True) -> str:
        """Why this setup cannot label (its towers would have no real weights) and what to do; "" if it can."""
        if self.source == "bundled" and not bundled_present:
            return ("the bundled model file is missing from assets/, so star-tiny would have random weights; "
                    "choose CLIP weights in Project > Settings")
        if self.source == "pretrained" and self.model not in CLIP_MODELS:
            return (f"{self.model} has no downloadable weights; choose {' or '.join(CLIP_MODELS.values())} "
                    "in Project > Settings")
        if self.source == "pretrained" and not self.pretrained:
            return (f"{CLIP_MODELS[self.model]} has no weights chosen, so its features would be meaningless; choose "
                    f"the {DEFAULT_TAG} weights (downloaded once) or a local weights file in Project > Settings")
        if self.source == "checkpoint" and not Path(self.checkpoint).expanduser().is_file():
            return (f"the checkpoint {self.checkpoint or '(none chosen)'} does not exist; choose another in "
                    "Project > Settings")
        return ""

    @property
    def knows(self) -> str:
        """What the model knows, in one line."""
        if self.source == "checkpoint":
            return KNOWS_CHECKPOINT
        if self.source == "pretrained":
            return KNOWS_CLIP if not Path(self.pretrained).expanduser().is_file() else \
                "knows what its weights file was trained on"
        return KNOWS_BUNDLED
