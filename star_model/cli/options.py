"""The model options that every command running a model shares, and the choice they make."""
from __future__ import annotations

import argparse
from pathlib import Path

from star_model.schema import ModelChoice


def add_model_options(p: argparse.ArgumentParser, checkpoint: bool = True) -> None:
    """--model, --checkpoint (unless the command has its own), --pretrained, --device, --fast-cpu, --cache-dir."""
    p.add_argument("--model", help="shipped model config name or JSON path (default: the bundled star-tiny model)")
    if checkpoint:
        p.add_argument("--checkpoint", type=Path, help="a STAR checkpoint (.safetensors); overrides --model")
    p.add_argument("--pretrained", help="open_clip pretrained tag or CLIP weights file for the towers")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="auto picks CUDA when available")
    p.add_argument("--fast-cpu", action="store_true",
                   help="on the CPU, embed frames with an int8 copy of a ViT image tower (about 2x faster, features "
                        "within cosine 0.99 of fp32, cached apart); other towers run as they are")
    p.add_argument("--cache-dir", type=Path, help="feature cache folder (default: the user cache dir or $STAR_CACHE_DIR)")


def model_choice(args: argparse.Namespace) -> ModelChoice:
    """The :class:`ModelChoice` of the parsed model options."""
    return ModelChoice(args.model, args.pretrained, str(args.checkpoint) if args.checkpoint else None, args.device,
                       args.fast_cpu)
