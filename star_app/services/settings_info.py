"""What the Settings panel shows that comes from the engine: the shipped models and the Retrain note."""
from __future__ import annotations

from star_model.nn.config import list_configs


def model_names() -> list[str]:
    """The shipped model configs."""
    return list_configs()


def retrain_note() -> str:
    """What Retrain does (it runs through ``Engine.fine_tune`` with the fine-tune recipe)."""
    return ("Fine-tunes the model's STAR head on this project's example clips and confirmed (manual) "
            "segments; the CLIP backbone stays frozen. A quarter of the clips of actions with 3 or more "
            "is held out for validation. You then keep or discard the fine-tuned model.")
