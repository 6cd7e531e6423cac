"""Episodic meta-training of the STAR head (optionally the last backbone blocks).

One loop, :func:`train`: draw an N-way K-shot episode, loss = L_few-shot + alpha * L_video-text
(``STAR.episode``), AdamW with linear warm-up and cosine decay, gradient clipping, mixed
precision on CUDA only, validation episodes on held-out classes (the same episodes every time),
best-checkpoint keeping and early stopping. Under ``torch.distributed`` the model is wrapped in
DistributedDataParallel, each rank draws its own episodes and rank 0 writes the files.

Files in ``out_dir`` (safetensors for tensors, JSON for the rest; never pickle):
``last.safetensors`` / ``best.safetensors`` (a STAR checkpoint: config inside),
``last.optim.safetensors`` (optimizer state; step, RNG states and history in its JSON metadata)
and ``last.json`` / ``best.json`` (step, metrics, configs, readable). A run resumed from
``last.safetensors`` continues bit-exactly where it stopped.
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from star_model.data.episodes import EpisodeBatch, EpisodePlan, draw_episode, fixed_episodes, stage_order_pairs
from star_model.errors import CheckpointError, check_cancel
from star_model.nn.checkpoint import read_checkpoint, save_checkpoint
from star_model.nn.factory import create_model
from star_model.nn.model import STAR
from star_model.schema import CancelFn
from star_model.train.sources import ClipSource, FeatureSource
from star_model.train.state import load_train_state, save_train_state

log = logging.getLogger(__name__)

TrainProgressFn = Callable[[int, int, dict], None]
"""progress(step, total_steps, metrics): loss, accuracy, lr; val_loss, val_accuracy after a validation."""


@dataclass
class TrainConfig:
    """Episodes, optimisation, validation and checkpointing of a training run."""

    steps: int = 2000
    way: int = 5
    shot: int = 1
    query: int = 3
    lr: float = 1e-3
    backbone_lr_scale: float = 0.1
    weight_decay: float = 0.05
    warmup_steps: int = 100
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0
    seed: int = 0
    val_every: int = 100
    val_episodes: int = 100
    val_seed: int = 12345
    patience: int = 10
    save_every: int = 0
    unfreeze_last: int = 0
    amp: bool = True
    pair_share: float = 0.0
    """Share of episodes that hold an order pair (two classes with the same stages in another order)."""

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise CheckpointError(f"unknown training setting {unknown[0]!r} in the checkpoint")
        return cls(**data)


@dataclass
class TrainResult:
    """step reached, validation history, the best validation, and the files written."""

    step: int
    history: list[dict] = field(default_factory=list)
    best: Optional[dict] = None
    last_metrics: dict = field(default_factory=dict)
    stopped_early: bool = False
    last_checkpoint: Optional[Path] = None
    best_checkpoint: Optional[Path] = None
    best_state: Optional[dict[str, torch.Tensor]] = field(default=None, repr=False)


class EpisodeLoss(nn.Module):
    """The module DDP wraps: one episode -> (loss, query logits (Q, N)); frames (B, T, 3, H, W) are encoded first."""

    def __init__(self, model: STAR) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: EpisodeBatch) -> tuple[torch.Tensor, torch.Tensor]:
        support, query = batch.support, batch.query
        if support.dim() == 5:
            support, query = self.model.encode_frames(support), self.model.encode_frames(query)
        out = self.model.episode(support.float(), batch.support_labels, query.float(), batch.text, batch.query_labels)
        return out.loss, out.logits


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to ``cfg.lr`` over ``warmup_steps``, then cosine decay to ``lr * min_lr_ratio``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    done = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(done, 1.0))))


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _param_groups(model: STAR, cfg: TrainConfig) -> list[dict]:
    """Head weights (decayed), head norms/biases/embeddings (not decayed), unfrozen backbone blocks; a head
    parameter named in ``model.lr_scales()`` gets a group of its own at that learning-rate factor (not decayed)."""
    scaled = getattr(model, "lr_scales", dict)()
    head = [(n, p) for n, p in model.named_parameters() if not n.startswith("backbone.") and n not in scaled]
    backbone = [(n, p) for n, p in model.backbone.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for _, p in head if p.dim() >= 2], "names": [n for n, p in head if p.dim() >= 2],
         "weight_decay": cfg.weight_decay, "lr_scale": 1.0},
        {"params": [p for _, p in head if p.dim() < 2], "names": [n for n, p in head if p.dim() < 2],
         "weight_decay": 0.0, "lr_scale": 1.0},
    ]
    params = dict(model.named_parameters())
    groups += [{"params": [params[n]], "names": [n], "weight_decay": 0.0, "lr_scale": factor}
               for n, factor in scaled.items()]
    if backbone:
        groups.append({"params": [p for _, p in backbone], "names": [f"backbone.{n}" for n, _ in backbone],
                       "weight_decay": cfg.weight_decay, "lr_scale": cfg.backbone_lr_scale})
    return groups


def _amp_dtype(device: torch.device, cfg: TrainConfig) -> Optional[torch.dtype]:
    if device.type != "cuda" or not cfg.amp:
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


@torch.no_grad()
def evaluate(net: nn.Module, batches: Sequence[EpisodeBatch], device: torch.device,
             amp_dtype: Optional[torch.dtype] = None) -> dict:
    """Mean query loss and accuracy over ``batches`` (summed over ranks under torch.distributed)."""
    was_training = net.training
    net.eval()
    totals = torch.zeros(3, dtype=torch.float64, device=device)
    for batch in batches:
        batch = batch.to(device)
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            _, logits = net(batch)
        q = len(batch.query_labels)
        totals += torch.tensor([F.cross_entropy(logits.float(), batch.query_labels).item() * q,
                                (logits.argmax(-1) == batch.query_labels).sum().item(), q],
                               dtype=torch.float64, device=device)
    if _world()[1] > 1:
        dist.all_reduce(totals)
    net.train(was_training)
    loss, correct, count = totals.tolist()
    return {"val_loss": loss / max(count, 1), "val_accuracy": correct / max(count, 1)}


def _set_train_mode(model: STAR) -> None:
    model.train()
    model.backbone.eval()  # frozen statistics (RN50 batch norm) even when its last blocks train


def _seed_all(seed: int) -> None:
    import random

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class _Run:
    """The moving parts of one training run on this rank."""

    net: nn.Module
    opt: torch.optim.Optimizer
    names: list[list[str]]
    params: list[torch.Tensor]
    scaler: torch.amp.GradScaler
    amp_dtype: Optional[torch.dtype]
    rng: np.random.Generator
    rank: int
    world: int
    device: torch.device
    pairs: list[tuple[int, int]]


def _start(model: STAR, cfg: TrainConfig, train_set: ClipSource) -> _Run:
    """Seed, optimiser, mixed precision, (under torch.distributed) DDP, and the order pairs of ``train_set``."""
    device = next(model.parameters()).device
    rank, world = _world()
    _seed_all(cfg.seed + rank)
    model.backbone.set_trainable(True, cfg.unfreeze_last)
    groups = _param_groups(model, cfg)
    params = [p for g in groups for p in g["params"]]
    opt = torch.optim.AdamW([{k: v for k, v in g.items() if k != "names"} for g in groups], lr=cfg.lr)
    amp_dtype = _amp_dtype(device, cfg)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype is torch.float16)
    net: nn.Module = EpisodeLoss(model)
    if world > 1:
        # find_unused_parameters: e.g. an ASD stride of T leaves its block's A_log out of the graph
        net = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None,
                                                  find_unused_parameters=True)
    pairs = [p for p in stage_order_pairs(train_set.descriptors) if min(train_set.counts[c] for c in p) >= 2]
    return _Run(net, opt, [g["names"] for g in groups], params, scaler, amp_dtype, np.random.default_rng([cfg.seed, rank]),
                rank, world, device, pairs)


def _episode_pair(run: _Run, cfg: TrainConfig) -> tuple[int, ...]:
    """The order pair this episode must hold: one of ``run.pairs`` with probability ``cfg.pair_share``, else none
    (no random number is drawn when the share is 0, so such runs are unchanged)."""
    if cfg.pair_share <= 0 or not run.pairs or cfg.way < 2 or run.rng.random() >= cfg.pair_share:
        return ()
    return run.pairs[int(run.rng.integers(len(run.pairs)))]


def _step(run: _Run, model: STAR, train_set: ClipSource, cfg: TrainConfig, step: int) -> dict:
    """One optimisation step on a fresh episode; its loss, accuracy and learning rate."""
    plan = draw_episode(train_set.counts, cfg.way, cfg.shot, cfg.query, run.rng, _episode_pair(run, cfg))
    batch = train_set.batch(model, plan, model.cfg.num_frames, run.rng).to(run.device)
    lr = lr_at(step, cfg)
    for g in run.opt.param_groups:
        g["lr"] = lr * g["lr_scale"]
    with torch.autocast(run.device.type, dtype=run.amp_dtype or torch.float32, enabled=run.amp_dtype is not None):
        loss, logits = run.net(batch)
    run.opt.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    run.scaler.unscale_(run.opt)
    torch.nn.utils.clip_grad_norm_(run.params, cfg.grad_clip)
    run.scaler.step(run.opt)
    run.scaler.update()
    return {"loss": loss.item(), "accuracy": (logits.argmax(-1) == batch.query_labels).float().mean().item(), "lr": lr}


def train(
    model: STAR,
    train_set: ClipSource,
    val_set: Optional[ClipSource],
    cfg: TrainConfig,
    progress: Optional[TrainProgressFn] = None,
    cancel: Optional[CancelFn] = None,
    out_dir: Optional[Path] = None,
    *,
    resume: Optional[Path] = None,
    val_plans: Optional[list[EpisodePlan]] = None,
    stop_at: Optional[int] = None,
    restore_best: bool = False,
) -> TrainResult:
    """Meta-train ``model`` in place on episodes of ``train_set``; validate on ``val_set``.

    ``train_set`` is a :class:`FeatureSource` (frozen backbone) or a :class:`VideoSource`
    (needed when ``cfg.unfreeze_last`` > 0). ``val_plans`` replaces the validation episodes
    drawn from ``cfg.val_seed``. ``resume`` is a ``last.safetensors`` of an earlier run of the same
    config whose weights ``model`` already holds (see :func:`~star_model.train.state.load_for_resume`).
    ``stop_at`` pauses after that step (checkpoint written; the schedule still spans ``cfg.steps``).
    ``cancel`` is checked before every step and raises :class:`~star_model.errors.Cancelled`.
    ``restore_best``: at the end, the model holds the weights of its best validation (early stopping).
    """
    if cfg.unfreeze_last > 0 and isinstance(train_set, FeatureSource):
        raise ValueError("unfreeze_last > 0 trains backbone blocks: use a VideoSource, not cached features")
    run = _start(model, cfg, train_set)
    result, bad = TrainResult(step=0), 0
    if resume is not None:
        state = load_train_state(Path(resume), run.opt, run.names, run.scaler, run.rng, run.rank, run.world)
        result.step, result.history, result.best, bad = state["step"], state["history"], state["best"], state["bad"]
    val_batches = _val_batches(model, val_set, cfg, val_plans, run)
    out_dir = Path(out_dir) if out_dir is not None else None
    save_every = cfg.save_every or cfg.val_every
    _set_train_mode(model)
    while result.step < cfg.steps and (stop_at is None or result.step < stop_at):
        check_cancel(cancel)
        metrics = _step(run, model, train_set, cfg, result.step)
        result.step += 1
        step = result.step
        stop = False
        if val_batches and (step % cfg.val_every == 0 or step == cfg.steps):
            metrics.update(evaluate(run.net, val_batches, run.device, run.amp_dtype))
            bad = 0 if _record_validation(result, metrics, model, cfg, out_dir, run.rank, restore_best) else bad + 1
            stop = cfg.patience > 0 and bad >= cfg.patience
        result.last_metrics = metrics
        if out_dir is not None and (step % save_every == 0 or step in (cfg.steps, stop_at) or stop):
            result.last_checkpoint = _write_checkpoint(out_dir, "last", model, cfg, step, metrics) if run.rank == 0 else None
            save_train_state(out_dir / "last.optim.safetensors", run.opt, run.names, run.scaler, run.rng, run.rank,
                             run.world, {"step": step, "history": result.history, "best": result.best, "bad": bad})
        if progress is not None:
            progress(step, cfg.steps, metrics)
        if stop:
            log.info("early stop at step %d: no better validation in %d validations", step, cfg.patience)
            result.stopped_early = True
            break
    if result.best_state is not None:
        model.load_state_dict(result.best_state)
    model.eval()
    return result


def _val_batches(model: STAR, val_set: Optional[ClipSource], cfg: TrainConfig, plans: Optional[list[EpisodePlan]],
                 run: _Run) -> list[EpisodeBatch]:
    """This rank's share of the validation episodes (``plans``, else drawn from ``cfg.val_seed``)."""
    if val_set is None:
        return []
    plans = plans or fixed_episodes(val_set.counts, cfg.way, cfg.shot, cfg.query, cfg.val_episodes, cfg.val_seed)
    return [val_set.batch(model, p, model.cfg.num_frames, None) for p in plans[run.rank::run.world]]


def _record_validation(result: TrainResult, metrics: dict, model: STAR, cfg: TrainConfig, out_dir: Optional[Path],
                       rank: int, keep_state: bool = False) -> bool:
    """Add a validation to the history; True (and ``best`` written, its weights kept with ``keep_state``) when it
    is the best so far."""
    result.history.append({"step": result.step, "val_loss": metrics["val_loss"], "val_accuracy": metrics["val_accuracy"]})
    best = result.best
    if best is not None and (metrics["val_accuracy"], -metrics["val_loss"]) <= (best["val_accuracy"], -best["val_loss"]):
        return False
    result.best = dict(result.history[-1])
    if keep_state:
        result.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if out_dir is not None and rank == 0:
        result.best_checkpoint = _write_checkpoint(out_dir, "best", model, cfg, result.step, metrics)
    return True


def _write_checkpoint(out_dir: Path, name: str, model: STAR, cfg: TrainConfig, step: int, metrics: dict) -> Path:
    meta = {"kind": "star-train", "step": step, "metrics": metrics, "train_config": asdict(cfg)}
    path = save_checkpoint(out_dir / f"{name}.safetensors", model, model.cfg, meta)
    sidecar = {**meta, "model_config": model.cfg.to_dict(), "checkpoint": path.name}
    (out_dir / f"{name}.json").write_text(json.dumps(sidecar, indent=1) + "\n", encoding="utf-8")
    return path


def load_for_resume(path: str | Path, device: str | torch.device = "cpu") -> tuple[STAR, TrainConfig]:
    """The model (rebuilt from the checkpoint's own config and tensors) and the run's training config."""
    path = Path(path)
    model_cfg, _, meta = read_checkpoint(path)
    if meta.get("kind") != "star-train" or "train_config" not in meta:
        raise CheckpointError(f"{path.name} is not a training checkpoint (no training state); use it to initialise instead")
    optim = path.with_name(path.name.replace(".safetensors", "") + ".optim.safetensors")
    if not optim.is_file():
        raise CheckpointError(f"{path.name} has no optimizer state next to it ({optim.name}); cannot resume exactly")
    return create_model(model_cfg.name, device=device, checkpoint=path), TrainConfig.from_dict(meta["train_config"])
