"""What the Settings panel shows that comes from the engine: the shipped models and the Retrain note."""
from __future__ import annotations

from typing import Optional

from star_app.services.download import DownloadError, cached_weights, resolve_pretrained
from star_model.nn.config import list_configs


def model_names() -> list[str]:
    """The shipped model configs."""
    return list_configs()


def bundled_present() -> bool:
    """Whether the bundled model file is there (without it, star-tiny has random towers)."""
    from star_model.nn.bundled import default_model_source  # loads torch, which the app has loaded already

    return default_model_source() is not None


def weights_cached(model: str, tag: str, cache_dir: Optional[str] = None) -> bool:
    """Whether the open_clip weights ``tag`` of ``model`` are downloaded already (never uses the network)."""
    try:
        ref = resolve_pretrained(model, tag)
    except DownloadError:
        return False
    return ref is None or cached_weights(ref, cache_dir) is not None


def retrain_note() -> str:
    """What Retrain does (it runs through ``Engine.fine_tune`` with the fine-tune recipe)."""
    return ("Fine-tunes the model's STAR head on this project's example clips and confirmed (manual) "
            "segments; the CLIP backbone stays frozen. A quarter of the clips of actions with 3 or more "
            "is held out for validation. You then keep or discard the fine-tuned model.")
