"""The bundled default model's file: ``star-tiny`` trained on the synthetic action world.

This module loads and saves the file only; its recipe is :func:`star_model.train.recipes.build_bundled`
(run by ``star-app bundle --seed 0 --out assets/``).

The file lives in ``assets/`` at the repository root (``$STAR_ASSETS_DIR`` overrides): the tensors
in fp16 safetensors, the text token table (mostly never trained) and the visual tower's weights
in int8 with one fp16 scale per output row, the config and the model card in its JSON metadata
and next to it as ``star-tiny-synthetic.json``. No network is needed to load it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from star_model.errors import CheckpointError
from star_model.nn.checkpoint import load_state_strict
from star_model.nn.config import config_from_dict
from star_model.nn.model import STAR
from star_model.schema import atomic_write

ASSET_NAME = "star-tiny-synthetic.safetensors"
CARD_NAME = "star-tiny-synthetic.json"
BUILD_COMMAND = (".venv/bin/python -m star_model.cli.eval bundle --seed 0 --out assets/ --pretrain-steps 3600 "
                 "--recipe '{\"matching\": {\"stage_weight\": 2.0}}'")
_QUANTISED_PREFIXES = ("backbone.clip.token_embedding.", "backbone.clip.visual.")
_SCALE = ":int8_scale"


def assets_dir() -> Path:
    """``$STAR_ASSETS_DIR``, else ``assets/`` at the root of the source checkout."""
    env = os.environ.get("STAR_ASSETS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "assets"


def bundled_checkpoint_path() -> Path:
    """The bundled model file; FileNotFoundError (saying how to build it) when it is absent."""
    path = assets_dir() / ASSET_NAME
    if not path.is_file():
        raise FileNotFoundError(f"the bundled model {path} is missing; build it with: {BUILD_COMMAND}")
    return path


def bundled_card() -> dict:
    """The model card (data, budget, seed, wall time, metrics) of the bundled model."""
    return json.loads((assets_dir() / CARD_NAME).read_text(encoding="utf-8"))


def read_card(path: Path) -> dict:
    """The model card stored in a bundled model file's own metadata."""
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = (fh.metadata() or {}).get("star_meta")
    except Exception as exc:  # any unreadable file is one clear error
        raise CheckpointError(f"{Path(path).name} is not a readable bundled model ({exc})") from exc
    if meta is None:
        raise CheckpointError(f"{Path(path).name} has no model card in its metadata")
    return json.loads(meta)


def default_model_source() -> Optional[str]:
    """``"bundled"`` when the bundled model file is present, else None (random towers)."""
    return "bundled" if (assets_dir() / ASSET_NAME).is_file() else None


def save_bundled(model: STAR, out_dir: Path, card: dict) -> Path:
    """Write the compact model file and its card into ``out_dir``.

    Tensors are fp16, except the token table and the visual tower's weight matrices and kernels:
    int8 with one fp16 scale per output row (the file stays under 20 MB).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    for name, value in model.state_dict().items():
        value = value.detach().float().cpu()
        if value.ndim >= 2 and name.startswith(_QUANTISED_PREFIXES):
            scale = value.abs().amax(dim=tuple(range(1, value.ndim)), keepdim=True).clamp(min=1e-8) / 127.0
            tensors[name] = torch.round(value / scale).to(torch.int8).contiguous()
            tensors[name + _SCALE] = scale.half().contiguous()
        else:
            tensors[name] = value.half().contiguous()
    meta = {"star_config": json.dumps(model.cfg.to_dict()), "star_meta": json.dumps(card)}
    path = atomic_write(out_dir / ASSET_NAME, lambda tmp: save_file(tensors, str(tmp), metadata=meta))
    path.chmod(0o644)
    (out_dir / CARD_NAME).write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    return path


def load_bundled(device: str | torch.device = "cpu", path: Optional[Path] = None) -> STAR:
    """The bundled STAR model (float32, eval mode) on ``device``."""
    path = Path(path) if path is not None else bundled_checkpoint_path()
    try:
        with safe_open(str(path), framework="pt") as fh:
            header = fh.metadata() or {}
            raw = {k: fh.get_tensor(k) for k in fh.keys()}
    except Exception as exc:  # any unreadable file is one clear error
        raise CheckpointError(f"{path.name} is not a readable bundled model ({exc})") from exc
    if "star_config" not in header:
        raise CheckpointError(f"{path.name} has no STAR config in its metadata")
    state = {}
    for name, value in raw.items():
        if name.endswith(_SCALE):
            continue
        state[name] = value.float() * raw[name + _SCALE].float() if name + _SCALE in raw else value.float()
    model = STAR(config_from_dict(json.loads(header["star_config"])), warn_random=False)
    load_state_strict(model, state, f"bundled model {path.name}")
    return model.to(device).eval()


