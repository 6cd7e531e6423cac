"""The footage a model knows: a reference set of its frame features, for the out-of-domain check.

A model's *world* is what its towers were trained on. For the bundled model that is the synthetic
action world, and :func:`build_world` renders it again (seeded clips of the meta-train actions, a few
frames each) and embeds the frames. The set is stored beside the bundled model
(``star-tiny-synthetic.world.safetensors``, written by ``bench/world_reference.py``) with the
fingerprint of the image tower that embedded it: a model whose tower differs (fine-tuned with
unfrozen layers, another model) has no world here, and the check falls back to its examples.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

from star_model.engine.features import FrameEmbedder
from star_model.nn.bundled import assets_dir
from star_model.schema import atomic_write
from star_model.synthetic import render_clip, split_actions

log = logging.getLogger(__name__)

WORLD_NAME = "star-tiny-synthetic.world.safetensors"
FRAMES_PER_CLIP = 8


@dataclass(frozen=True)
class World:
    """feats (M, D) unit frame features of clips (M,) ids; spread: the median over the frames of the
    cosine distance to the nearest frame of another clip; backbone_id: the tower that embedded them."""

    feats: torch.Tensor
    clips: torch.Tensor
    spread: float
    backbone_id: str


def nearest_other_clip(feats: torch.Tensor, clips: torch.Tensor) -> torch.Tensor:
    """Per frame of unit ``feats`` (M, D): the cosine distance to the nearest frame of another clip (M,)."""
    dist = 1.0 - feats @ feats.T
    return dist.masked_fill(clips[:, None] == clips[None], float("inf")).min(1).values


def build_world(embedder: FrameEmbedder, clips_per_action: int = 6, seed: int = 99) -> World:
    """Render ``clips_per_action`` seeded clips of every meta-train action and embed 8 frames of each."""
    feats, clips = [], []
    for i, action in enumerate(split_actions("train")):
        for j in range(clips_per_action):
            frames = render_clip(action, (seed, i, j)).frames
            picked = np.linspace(0, len(frames) - 1, FRAMES_PER_CLIP).round().astype(int)
            feats.append(embedder.embed_images(frames[picked]).float().cpu())
            clips.append(torch.full((FRAMES_PER_CLIP,), len(clips)))
    unit = F.normalize(torch.cat(feats), dim=-1)
    ids = torch.cat(clips)
    return World(unit, ids, float(nearest_other_clip(unit, ids).median()), embedder.backbone_id)


def save_world(world: World, path: Path) -> Path:
    """Write ``world`` to ``path`` (fp16 safetensors, spread and fingerprint in its metadata) atomically."""
    meta = {"spread": repr(world.spread), "backbone_id": world.backbone_id}
    tensors = {"feats": world.feats.half().contiguous(), "clips": world.clips.int().contiguous()}
    return atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=meta))


def load_world(path: Path) -> World:
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
        feats, clips = f.get_tensor("feats").float(), f.get_tensor("clips").long()
    return World(F.normalize(feats, dim=-1), clips, float(meta["spread"]), meta["backbone_id"])


@functools.lru_cache(maxsize=4)
def known_world(backbone_id: str) -> Optional[World]:
    """The stored world of the tower ``backbone_id``, or None when none is stored for it."""
    path = assets_dir() / WORLD_NAME
    if not path.is_file():
        return None
    world = load_world(path)
    if world.backbone_id != backbone_id:
        log.info("the stored world reference is for another image tower; the domain check uses the examples")
        return None
    return world
