"""``star-app train``: episodic meta-training from the command line (one GPU, CPU, or torchrun).

Wired into ``star_model.cli.main.build_parser`` with ``add_commands(sub)``. Bad input raises
ValueError / CheckpointError / VideoError, which ``star_model.cli.main.main`` prints as one ``error:`` line.
Under ``torchrun --nproc_per_node G star-app train ...`` every rank trains (DDP) and rank 0 writes.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional

import torch
import torch.distributed as dist

from star_model.cli.options import add_model_options, model_choice
from star_model.cli.progress_bar import ProgressBar
from star_model.data.datasets import hold_out_classes, load_folder, load_split_list
from star_model.engine.features import FeatureCache, FrameEmbedder
from star_model.engine.session import model_source
from star_model.nn.device import select_device
from star_model.nn.factory import create_model
from star_model.schema import ActionExamples
from star_model.train.loop import TrainConfig, load_for_resume, train
from star_model.train.recipes import META_TRAIN_STEPS, meta_train_config
from star_model.train.sources import ClipSource, FeatureSource, VideoSource


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``train`` to star-app's sub-commands."""
    p = sub.add_parser("train", help="meta-train STAR on episodes of a labelled clip set (resumable)")
    data = p.add_mutually_exclusive_group(required=True)
    data.add_argument("--data", type=Path, help="training classes: one sub-folder of clips per class")
    data.add_argument("--split-list", type=Path, help="a CLIP-FSAR split list (e.g. train_few_shot.txt)")
    p.add_argument("--data-root", type=Path, help="folder the split list's video paths / ids are relative to")
    p.add_argument("--labels", type=Path, help="id -> class file for id-only split lists (JSON or CSV id,label)")
    val = p.add_mutually_exclusive_group()
    val.add_argument("--val-data", type=Path, help="validation classes as a folder (default: hold out classes)")
    val.add_argument("--val-split-list", type=Path, help="validation split list (e.g. val_few_shot.txt)")
    p.add_argument("--out", type=Path, required=True, help="folder for last/best checkpoints")
    add_model_options(p, checkpoint=False)
    init = p.add_mutually_exclusive_group()
    init.add_argument("--checkpoint", type=Path, help="initialise from a STAR checkpoint (.safetensors)")
    init.add_argument("--resume", type=Path, help="continue a run from its last.safetensors (same settings)")
    p.add_argument("--steps", type=int, help=f"training steps (default {META_TRAIN_STEPS}; with --resume: the run's own)")
    p.add_argument("--way", type=int, default=5)
    p.add_argument("--shot", type=int, default=1)
    p.add_argument("--query", type=int, default=3, help="query clips per class")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--unfreeze-last", type=int, default=0, help="train the last N backbone blocks too (slow; GPU)")
    p.add_argument("--val-every", type=int, default=100)
    p.add_argument("--val-episodes", type=int, default=100)
    p.add_argument("--patience", type=int, default=10, help="validations without improvement before stopping (0: never)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_train)


def setup_distributed(choice: str = "auto") -> tuple[torch.device, int, int]:
    """(device, rank, world size); under torchrun (WORLD_SIZE > 1) joins the process group
    (NCCL on GPUs, one per LOCAL_RANK; gloo on CPUs)."""
    device = select_device(choice)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return device, 0, 1
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device, dist.get_rank(), world


def _classes(folder: Optional[Path], split_list: Optional[Path], args: argparse.Namespace) -> list[ActionExamples]:
    if folder is not None:
        return load_folder(folder)
    if args.data_root is None:
        raise ValueError("--split-list needs --data-root, the folder its video paths are relative to")
    return load_split_list(split_list, args.data_root, args.labels)


def _source(classes: list[ActionExamples], embedder: FrameEmbedder, cfg: TrainConfig, title: str) -> ClipSource:
    if cfg.unfreeze_last:
        return VideoSource(classes, embedder.model.backbone.image_size)
    with ProgressBar(f"features ({title})") as bar:
        total = sum(len(c.clips) for c in classes)
        source = FeatureSource.from_actions(embedder, classes)
        bar(total, total)
        return source


def _cmd_train(args: argparse.Namespace) -> int:
    device, rank, world = setup_distributed(args.device)
    try:
        if args.resume is not None:
            model, cfg = load_for_resume(args.resume, device)
            cfg.steps = args.steps or cfg.steps
        else:
            source = model_source(model_choice(args))
            model = create_model(source.name, device=device, pretrained=source.pretrained, checkpoint=source.checkpoint)
            cfg = meta_train_config(args.steps, way=args.way, shot=args.shot, query=args.query, lr=args.lr,
                                    unfreeze_last=args.unfreeze_last, val_every=args.val_every,
                                    val_episodes=args.val_episodes, patience=args.patience, seed=args.seed)
        train_classes = _classes(args.data, args.split_list, args)
        if args.val_data or args.val_split_list:
            val_classes: Optional[list[ActionExamples]] = _classes(args.val_data, args.val_split_list, args)
        elif len(train_classes) >= 4:
            train_classes, val_classes = hold_out_classes(train_classes, max(2, len(train_classes) // 5), cfg.seed)
        else:
            val_classes = None
        if rank == 0:
            held = f"{len(val_classes)} validation classes" if val_classes else "no validation"
            print(f"model: {model.cfg.name} on {device}; {len(train_classes)} training classes, {held}", file=sys.stderr)
        embedder = FrameEmbedder(model, FeatureCache(args.cache_dir))
        train_set = _source(train_classes, embedder, cfg, "train")
        val_set = _source(val_classes, embedder, cfg, "val") if val_classes else None
        with ProgressBar("train") as bar:
            def show(step: int, total: int, metrics: dict) -> None:
                if rank == 0:
                    bar(step, total, " ".join(f"{k} {v:.3g}" for k, v in metrics.items() if k != "lr"))

            result = train(model, train_set, val_set, cfg, show, out_dir=args.out, resume=args.resume)
        if rank == 0:
            best = result.best
            summary = f"best val accuracy {best['val_accuracy']:.3f} at step {best['step']}" if best else "no validation"
            print(f"trained {result.step} steps ({summary}); checkpoints in {args.out}")
        return 0
    finally:
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()
