"""``create_model``: one factory for every STAR model (open_clip's convention)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import torch

from star_model.errors import ConfigError
from star_model.nn.checkpoint import load_state_strict, read_checkpoint
from star_model.nn.config import list_configs, load_config
from star_model.nn.model import STAR

log = logging.getLogger(__name__)


def list_models() -> list[str]:
    """Names of the shipped model configs (``star_model/nn/configs/*.json``)."""
    return list_configs()


def create_model(
    name: str,
    *,
    device: str | torch.device = "cpu",
    pretrained: Optional[str] = None,
    checkpoint: Optional[str | Path] = None,
) -> STAR:
    """Build a STAR model.

    name: a shipped config (``star-tiny``, ``star-vitb16``, ...) or a path to a JSON config.
    pretrained: an open_clip tag (e.g. ``openai``; downloads and caches for real users) or a
    local CLIP weights file, loaded into the CLIP towers; ``"bundled"`` loads the bundled default
    model (towers and head, offline, ``star_model.nn.bundled``), for ``star-tiny`` only.
    checkpoint: a STAR checkpoint (safetensors); it carries its own config, which wins over
    ``name`` (a different name is logged) and holds the towers too, so ``pretrained`` is not
    loaded with it. Without either the towers are random (a warning says so).
    """
    if checkpoint is not None:
        cfg, state, _ = read_checkpoint(Path(checkpoint))
        if cfg.name != Path(str(name)).stem:
            log.info("checkpoint %s holds model %r; building that instead of %r", checkpoint, cfg.name, name)
        model = STAR(cfg, warn_random=False)
        load_state_strict(model, state, f"checkpoint {Path(checkpoint).name}")
    elif pretrained == "bundled":
        from star_model.nn.bundled import load_bundled

        if Path(str(name)).stem != "star-tiny":
            raise ConfigError(f"pretrained='bundled' exists for star-tiny only, not {name!r}")
        model = load_bundled()
    else:
        model = STAR(load_config(name), pretrained=pretrained)
    return model.to(device).eval()
