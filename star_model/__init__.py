"""STAR: Semantic-Temporal Adaptive Representation Learning for few-shot action recognition.

The compute package of STAR Labeler. It imports PyTorch only (never Qt); mamba_ssm, triton
and CUDA are optional and chosen at call time. Its floors, lowest first: ``ops``, ``nn``,
``video``, ``data``, ``synthetic``, ``engine``, ``train``, ``bench``, ``cli``; ``schema`` and
``errors`` are torch-free and shared with the app.

The public names below are imported on first use, so that ``import star_model.schema`` (or
``star_model.errors``) loads no torch.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_PUBLIC = {
    "STAR": "star_model.nn.model",
    "EpisodeOutput": "star_model.nn.model",
    "ModelConfig": "star_model.nn.config",
    "load_config": "star_model.nn.config",
    "create_model": "star_model.nn.factory",
    "list_models": "star_model.nn.factory",
    "TextBank": "star_model.nn.tsa",
}

__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'star_model' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)


def __dir__() -> list[str]:
    return sorted(__all__)
