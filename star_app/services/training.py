"""What the Settings panel says about Retrain (fine-tuning runs through Engine.fine_tune)."""
from __future__ import annotations


def retrain_note() -> str:
    return ("Fine-tunes the model's STAR head on this project's example clips and confirmed (manual) "
            "segments; the CLIP backbone stays frozen. A quarter of the clips of actions with 3 or more "
            "is held out for validation. You then keep or discard the fine-tuned model.")
