"""The resumable part of a training run, next to its checkpoint: ``last.optim.safetensors``.

Tensors (AdamW moments and step counts) in safetensors; everything else as JSON in its header
metadata: the step, validation history and early-stopping count, the optimizer's parameter
groups and parameter names, the GradScaler state, and every rank's RNG states (the episode
generator, torch, numpy, Python ``random``). Never pickle.
"""
from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from star_model.errors import CheckpointError
from star_model.nn.checkpoint import PICKLE_MAGIC
from star_model.schema import atomic_write

log = logging.getLogger(__name__)


def rng_state(rng: np.random.Generator) -> dict:
    """This process's RNG states as JSON-able values."""
    np_state = np.random.get_state()
    state = {
        "episodes": rng.bit_generator.state,
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
        "torch": torch.get_rng_state().tolist(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state().tolist()
    return state


def set_rng_state(rng: np.random.Generator, state: dict) -> None:
    """Restore what :func:`rng_state` returned."""
    rng.bit_generator.state = state["episodes"]
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), *rest))
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(torch.tensor(state["cuda"], dtype=torch.uint8))


def save_train_state(path: Path, opt: torch.optim.Optimizer, names: list[list[str]], scaler: torch.amp.GradScaler,
                     rng: np.random.Generator, rank: int, world: int, extra: dict) -> None:
    """Gather every rank's RNG state; rank 0 writes ``path`` atomically. ``extra``: step, history, ..."""
    rngs = [rng_state(rng)]
    if world > 1:
        rngs = [None] * world
        dist.all_gather_object(rngs, rng_state(rng))
    if rank != 0:
        return
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for idx, entry in sd["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"state.{idx}.{key}"] = value.detach().contiguous().cpu()
            else:
                scalars[f"{idx}.{key}"] = value
    meta = {**extra, "param_groups": sd["param_groups"], "param_names": names, "scalars": scalars,
            "scaler": scaler.state_dict(), "rng": rngs, "world_size": world}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata={"train_state": json.dumps(meta)}))


def load_train_state(checkpoint: Path, opt: torch.optim.Optimizer, names: list[list[str]],
                     scaler: torch.amp.GradScaler, rng: np.random.Generator, rank: int, world: int) -> dict:
    """Restore optimizer, scaler and RNG states saved next to ``checkpoint``; returns the JSON state.

    Refuses pickles and states whose parameters differ from ``names`` (the message names the first).
    """
    path = checkpoint.with_name(checkpoint.name.replace(".safetensors", "") + ".optim.safetensors")
    if not path.is_file():
        raise CheckpointError(f"no optimizer state {path.name} next to {checkpoint.name}; cannot resume")
    with open(path, "rb") as fh:
        if fh.read(4).startswith(PICKLE_MAGIC):
            raise CheckpointError(f"{path.name} is a pickle file; training state is only read from safetensors")
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = json.loads((fh.metadata() or {})["train_state"])
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    except (SafetensorError, OSError, KeyError, ValueError) as exc:
        raise CheckpointError(f"{path.name} is not a readable training state ({exc})") from exc
    for group, (saved, own) in enumerate(zip(meta["param_names"], names)):
        if saved != own:
            diff = next((f"{a} vs {b}" for a, b in zip(saved, own) if a != b), f"{len(saved)} vs {len(own)} parameters")
            raise CheckpointError(f"{path.name} does not match the model being trained (group {group}: {diff})")
    if len(meta["param_names"]) != len(names):
        raise CheckpointError(f"{path.name} holds {len(meta['param_names'])} parameter groups, the run has {len(names)}; "
                              "was unfreeze_last changed?")
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        _, idx, name = key.split(".", 2)
        state.setdefault(int(idx), {})[name] = value
    for key, value in meta["scalars"].items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    params = [p for g in opt.param_groups for p in g["params"]]
    for idx, entry in state.items():
        for name, value in entry.items():
            if torch.is_tensor(value) and value.dim() and value.shape != params[idx].shape:
                raise CheckpointError(f"{path.name}: optimizer state {name} of {_flat(names)[idx]} has shape "
                                      f"{tuple(value.shape)}, the parameter {tuple(params[idx].shape)}")
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    if meta["scaler"]:
        scaler.load_state_dict(meta["scaler"])
    if len(meta["rng"]) == world:
        set_rng_state(rng, meta["rng"][rank])
    else:  # a different number of ranks: fresh, still reproducible, episode streams
        log.warning("resuming on %d ranks a run saved on %d: episodes are reseeded", world, len(meta["rng"]))
        rng.bit_generator.state = np.random.default_rng([meta["step"], rank, world]).bit_generator.state
    return meta


def _flat(names: list[list[str]]) -> list[str]:
    return [n for group in names for n in group]
