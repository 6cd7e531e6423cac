"""STAR checkpoints: tensors in safetensors, the model config and metadata as JSON.

One ``.safetensors`` file holds the state dict; its header metadata carries the model
config (``star_config``) and any extra JSON (``star_meta``), so a checkpoint alone rebuilds
its model. Pickle is never used.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from safetensors import safe_open

from star_model.errors import CheckpointError
from star_model.nn.config import ModelConfig, config_from_dict
from star_model.schema import atomic_write

PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05", b"PK\x03\x04")


def save_checkpoint(path: Path, model: torch.nn.Module, cfg: ModelConfig, meta: Optional[dict] = None) -> Path:
    """Write ``model``'s tensors and ``cfg`` (plus ``meta``) atomically to ``path``."""
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    metadata = {"star_config": json.dumps(cfg.to_dict()), "star_meta": json.dumps(meta or {})}
    return atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def read_checkpoint(path: Path) -> tuple[ModelConfig, dict[str, torch.Tensor], dict[str, Any]]:
    """(config, state dict, meta) of a STAR checkpoint; refuses pickles and foreign files."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(PICKLE_MAGIC):
        raise CheckpointError(
            f"{path.name} is a pickle/torch.save file; STAR only loads safetensors checkpoints "
            "(pickles can run code). Convert it with safetensors.torch.save_file."
        )
    try:
        with safe_open(str(path), framework="pt") as fh:
            header = fh.metadata() or {}
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path.name} is not a readable safetensors checkpoint ({exc})") from exc
    if "star_config" not in header:
        raise CheckpointError(f"{path.name} has no STAR model config in its metadata; was it written by save_checkpoint?")
    cfg = config_from_dict(json.loads(header["star_config"]))
    meta = json.loads(header.get("star_meta", "{}"))
    return cfg, state, meta


def load_state_strict(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load ``state`` into ``model``, refusing missing, unexpected or mis-shaped tensors by name."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensor(s), e.g. {missing[0]}")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} tensor(s), e.g. {unexpected[0]}")
        raise CheckpointError(f"{source} does not match its model config: " + "; ".join(parts))
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(own[name].shape):
            raise CheckpointError(
                f"{source} does not match its model config: {name} has shape {tuple(tensor.shape)}, "
                f"the config builds {tuple(own[name].shape)}"
            )
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})
