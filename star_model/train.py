"""Episodic meta-training and fine-tuning of the STAR head (optionally the last backbone blocks).

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

from .checkpoint import CheckpointError, load_state_strict, read_checkpoint, save_checkpoint
from .datasets import hold_out_clips
from .episodes import ClipSource, EpisodeBatch, EpisodePlan, FeatureSource, draw_episode, fixed_episodes
from .factory import create_model
from .features import FrameEmbedder
from .jobs import CancelFn, ProgressFn, check_cancel, report
from .labeling import ActionExamples
from .model import STAR
from .train_state import load_train_state, save_train_state

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
    """Head weights (decayed), head norms/biases/embeddings (not decayed), unfrozen backbone blocks."""
    head = [(n, p) for n, p in model.named_parameters() if not n.startswith("backbone.")]
    backbone = [(n, p) for n, p in model.backbone.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for _, p in head if p.dim() >= 2], "names": [n for n, p in head if p.dim() >= 2],
         "weight_decay": cfg.weight_decay, "lr_scale": 1.0},
        {"params": [p for _, p in head if p.dim() < 2], "names": [n for n, p in head if p.dim() < 2],
         "weight_decay": 0.0, "lr_scale": 1.0},
    ]
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
) -> TrainResult:
    """Meta-train ``model`` in place on episodes of ``train_set``; validate on ``val_set``.

    ``train_set`` is a :class:`FeatureSource` (frozen backbone) or a :class:`VideoSource`
    (needed when ``cfg.unfreeze_last`` > 0). ``val_plans`` replaces the validation episodes
    drawn from ``cfg.val_seed``. ``resume`` is a ``last.safetensors`` of an earlier run of the same
    config whose weights ``model`` already holds (see :func:`load_for_resume`). ``stop_at`` pauses
    after that step (checkpoint written; the schedule still spans ``cfg.steps``). ``cancel`` is
    checked before every step and raises :class:`~star_model.jobs.Cancelled`.
    """
    if cfg.unfreeze_last > 0 and isinstance(train_set, FeatureSource):
        raise ValueError("unfreeze_last > 0 trains backbone blocks: use a VideoSource, not cached features")
    device = next(model.parameters()).device
    rank, world = _world()
    T = model.cfg.num_frames
    _seed_all(cfg.seed + rank)
    model.backbone.set_trainable(True, cfg.unfreeze_last)
    groups = _param_groups(model, cfg)
    params = [p for g in groups for p in g["params"]]
    opt = torch.optim.AdamW([{k: v for k, v in g.items() if k != "names"} for g in groups], lr=cfg.lr)
    names = [g["names"] for g in groups]
    amp_dtype = _amp_dtype(device, cfg)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype is torch.float16)
    net: nn.Module = EpisodeLoss(model)
    if world > 1:
        # find_unused_parameters: e.g. an ASD stride of T leaves its block's A_log out of the graph
        net = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None,
                                                  find_unused_parameters=True)
    rng = np.random.default_rng([cfg.seed, rank])
    result = TrainResult(step=0)
    bad = 0
    if resume is not None:
        state = load_train_state(Path(resume), opt, names, scaler, rng, rank, world)
        result.step, result.history, result.best, bad = state["step"], state["history"], state["best"], state["bad"]
    val_batches: list[EpisodeBatch] = []
    if val_set is not None:
        plans = val_plans or fixed_episodes(val_set.counts, cfg.way, cfg.shot, cfg.query, cfg.val_episodes, cfg.val_seed)
        val_batches = [val_set.batch(model, p, T, None) for p in plans[rank::world]]
    out_dir = Path(out_dir) if out_dir is not None else None
    save_every = cfg.save_every or cfg.val_every
    _set_train_mode(model)
    while result.step < cfg.steps and (stop_at is None or result.step < stop_at):
        check_cancel(cancel)
        plan = draw_episode(train_set.counts, cfg.way, cfg.shot, cfg.query, rng)
        batch = train_set.batch(model, plan, T, rng).to(device)
        lr = lr_at(result.step, cfg)
        for g in opt.param_groups:
            g["lr"] = lr * g["lr_scale"]
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            loss, logits = net(batch)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        scaler.step(opt)
        scaler.update()
        result.step += 1
        step = result.step
        metrics = {"loss": loss.item(), "accuracy": (logits.argmax(-1) == batch.query_labels).float().mean().item(), "lr": lr}
        stop = False
        if val_batches and (step % cfg.val_every == 0 or step == cfg.steps):
            metrics.update(evaluate(net, val_batches, device, amp_dtype))
            result.history.append({"step": step, "val_loss": metrics["val_loss"], "val_accuracy": metrics["val_accuracy"]})
            best = result.best
            if best is None or (metrics["val_accuracy"], -metrics["val_loss"]) > (best["val_accuracy"], -best["val_loss"]):
                result.best, bad = dict(result.history[-1]), 0
                if out_dir is not None and rank == 0:
                    result.best_checkpoint = _write_checkpoint(out_dir, "best", model, cfg, step, metrics)
            else:
                bad += 1
            stop = cfg.patience > 0 and bad >= cfg.patience
        result.last_metrics = metrics
        if out_dir is not None and (step % save_every == 0 or step in (cfg.steps, stop_at) or stop):
            path = _write_checkpoint(out_dir, "last", model, cfg, step, metrics) if rank == 0 else None
            save_train_state(out_dir / "last.optim.safetensors", opt, names, scaler, rng, rank, world,
                             {"step": step, "history": result.history, "best": result.best, "bad": bad})
            result.last_checkpoint = path
        if progress is not None:
            progress(step, cfg.steps, metrics)
        if stop:
            log.info("early stop at step %d: no better validation in %d validations", step, cfg.patience)
            result.stopped_early = True
            break
    model.eval()
    return result


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


def _merge(actions: Sequence[ActionExamples], confirmed: Optional[Sequence[ActionExamples]]) -> list[ActionExamples]:
    merged = {a.name: ActionExamples(a.name, list(a.clips), a.descriptors) for a in actions}
    for extra in confirmed or []:
        if extra.name not in merged:
            merged[extra.name] = ActionExamples(extra.name, [], extra.descriptors)
        merged[extra.name].clips.extend(extra.clips)
    return list(merged.values())


def holdout_plan(train_counts: Sequence[int], held_counts: Sequence[int]) -> EpisodePlan:
    """One validation episode over every class: all training clips as support, the held-out clips
    (indexed after the training clips of their class) as queries."""
    classes = [c for c, n in enumerate(train_counts) if n > 0]
    support = [(c, i) for c in classes for i in range(train_counts[c])]
    query = [(c, train_counts[c] + j) for c in classes for j in range(held_counts[c])]
    return EpisodePlan(classes, support, query)


def fine_tune(
    model: STAR,
    actions: Sequence[ActionExamples],
    confirmed: Optional[Sequence[ActionExamples]] = None,
    *,
    out_dir: Path,
    cfg: Optional[TrainConfig] = None,
    embedder: Optional[FrameEmbedder] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> tuple[Path, dict]:
    """Fine-tune the head on a project's actions (support clips plus confirmed segments), backbone frozen.

    Of every class with >= 3 clips a quarter (at least one) is held out; validation classifies them
    against prototypes of the remaining clips. Returns (the best checkpoint, or the last one without
    validation, and metrics: steps, train_loss, val_accuracy / val_loss, held_out). The model ends
    holding the returned checkpoint's weights. Raises Cancelled when ``cancel`` says so.
    """
    cfg = cfg or TrainConfig(steps=200, way=5, shot=1, query=2, lr=5e-4, warmup_steps=20, val_every=20, patience=5)
    if cfg.unfreeze_last:
        raise ValueError("fine_tune keeps the backbone frozen; set unfreeze_last to 0")
    kept, held = hold_out_clips(_merge(actions, confirmed), seed=cfg.seed)
    embedder = embedder or FrameEmbedder(model)
    report(progress, 0, cfg.steps, "embedding clips")
    train_set = FeatureSource.from_actions(embedder, kept, cancel)
    val_set, plans = None, None
    if any(held):
        extra = [[embedder.clip_frames(r.path, r.start_s, r.end_s, cancel=cancel).feats for r in h] for h in held]
        val_set = train_set.extended(extra)
        plans = [holdout_plan(train_set.counts, [len(h) for h in held])]

    def on_step(step: int, total: int, metrics: dict) -> None:
        text = " ".join(f"{k} {v:.3g}" for k, v in metrics.items() if k != "lr")
        report(progress, step, total, text)

    result = train(model, train_set, val_set, cfg, on_step, cancel, Path(out_dir), val_plans=plans)
    path = result.best_checkpoint or result.last_checkpoint
    _, state, _ = read_checkpoint(path)
    load_state_strict(model, state, f"checkpoint {path.name}")
    metrics = {"steps": result.step, "train_loss": result.last_metrics.get("loss"),
               "held_out": sum(len(h) for h in held)}
    if result.best is not None:
        metrics.update(val_accuracy=result.best["val_accuracy"], val_loss=result.best["val_loss"])
    return path, metrics
