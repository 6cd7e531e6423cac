"""The model policy the command line and the app both follow: which model runs when none is named
(the bundled default), on which device, with which feature cache, and the one line that says so.

The other shared policies sit with what they decide about: the demo material in
:mod:`star_model.synthetic.demo`, the descriptor fallback in
:func:`star_model.nn.descriptors.resolve_stages`, the fine-tune recipe in
:func:`star_model.train.recipes.fine_tune_config`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from star_model.engine.features import FeatureCache, FrameEmbedder
from star_model.nn.bundled import default_model_source
from star_model.nn.device import select_device
from star_model.nn.factory import create_model
from star_model.nn.model import STAR
from star_model.schema import ModelChoice

log = logging.getLogger(__name__)

DEFAULT_MODEL = "star-tiny"


@dataclass(frozen=True)
class ModelSource:
    """What :func:`create_model` is given for a :class:`ModelChoice`, and how to name it to the user."""

    name: str
    pretrained: Optional[str]
    checkpoint: Optional[str]
    description: str


def model_source(choice: ModelChoice) -> ModelSource:
    """The bundled default model when no weights are named and the model is star-tiny (or none is
    named); without the bundled file, star-tiny with random towers. Otherwise what ``choice`` names."""
    name = choice.model or DEFAULT_MODEL
    if choice.pretrained is None and choice.checkpoint is None and name == DEFAULT_MODEL:
        pretrained = default_model_source()
        what = ("the bundled default (star-tiny trained on the synthetic action world)" if pretrained else
                "star-tiny with random weights (no bundled model file in assets/)")
        return ModelSource(name, pretrained, None, what)
    return ModelSource(name, choice.pretrained, choice.checkpoint, str(choice.checkpoint) if choice.checkpoint else name)


def load_model(choice: ModelChoice, cache_dir: Optional[Path] = None) -> tuple[STAR, FrameEmbedder, str]:
    """The chosen model on its device, a frame embedder with its feature cache (``cache_dir``, else the
    user cache dir or ``$STAR_CACHE_DIR``), and a line saying which model runs where."""
    source = model_source(choice)
    device = select_device(choice.device)
    model = create_model(source.name, device=device, pretrained=source.pretrained, checkpoint=source.checkpoint)
    log.info("model %s on %s", model.cfg.name, device)
    embedder = FrameEmbedder(model, FeatureCache(cache_dir), fast=choice.fast_cpu)
    fast = f", {embedder.fast.mode} image tower" if embedder.fast is not None else ""
    return model, embedder, f"{source.description} on {device}{fast}"
