"""The bundled default model: ``star-tiny`` trained on the synthetic action world.

Recipe (:func:`build_bundled`, run by ``star-app bundle --seed 0 --out assets/``):

1. pretraining of both CLIP towers (``star_model.pretrain``) on rendered clips of the 32
   meta-train actions: the image tower from the renderer's per-frame stage and pose, the text
   tower contrastively (captions, stage descriptors, class prompts) against the image embeddings;
2. episodic meta-training of the STAR head (``star_model.train.train``) on cached frame
   features of the meta-train actions, validated on the 8 meta-val actions, towers frozen.

The file lives in ``assets/`` at the repository root (``$STAR_ASSETS_DIR`` overrides): the tensors
in fp16 safetensors, the text token table (mostly never trained) and the visual tower's weights
in int8 with one fp16 scale per output row, the config and the model card in its JSON metadata
and next to it as ``star-tiny-synthetic.json``. No network is needed to load it.
"""
from __future__ import annotations

import json
import logging
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .checkpoint import CheckpointError, load_state_strict
from .config import config_from_dict, load_config
from .episodes import FeatureSource, segment_indices
from .model import STAR
from .pretrain import PretrainConfig, degrade, pretrain_towers
from .synthetic import Action, render_clip, split_actions
from .train import TrainConfig, train

log = logging.getLogger(__name__)

ASSET_NAME = "star-tiny-synthetic.safetensors"
CARD_NAME = "star-tiny-synthetic.json"
BUILD_COMMAND = ".venv/bin/python -m star_model.cli_eval bundle --seed 0 --out assets/"
_QUANTISED_PREFIXES = ("backbone.clip.token_embedding.", "backbone.clip.visual.")
_SCALE = ":int8_scale"

Say = Callable[[str], None]


def assets_dir() -> Path:
    """``$STAR_ASSETS_DIR``, else ``assets/`` at the root of the source checkout."""
    env = os.environ.get("STAR_ASSETS_DIR")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "assets"


def bundled_checkpoint_path() -> Path:
    """The bundled model file; FileNotFoundError (saying how to build it) when it is absent."""
    path = assets_dir() / ASSET_NAME
    if not path.is_file():
        raise FileNotFoundError(f"the bundled model {path} is missing; build it with: {BUILD_COMMAND}")
    return path


def bundled_card() -> dict:
    """The model card (data, budget, seed, wall time, metrics) of the bundled model."""
    return json.loads((assets_dir() / CARD_NAME).read_text(encoding="utf-8"))


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
    path = out_dir / ASSET_NAME
    tmp = out_dir / f".{ASSET_NAME}.tmp"
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(path)
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


def _subsample(frames: np.ndarray, count: int) -> np.ndarray:
    return frames[segment_indices(len(frames), count)]


def synthetic_source(model: STAR, actions: list[Action], clips: int, seed: tuple[int, ...], frames: int,
                     degrade_p: float = 0.0) -> FeatureSource:
    """Frame features of ``clips`` rendered clips per action (``frames`` per clip, segment centres).

    Clip (a, i) has seed ``(*seed, a, i)``; a share ``degrade_p`` of the clips is JPEG-degraded.
    """
    rng = np.random.default_rng(list(seed))
    data = []
    for a, action in enumerate(actions):
        per = []
        for i in range(clips):
            x = _subsample(render_clip(action, (*seed, a, i), size=model.backbone.image_size).frames, frames)
            per.append(degrade(x, rng) if rng.random() < degrade_p else x)
        data.append(per)
    return FeatureSource.from_frames(model, [a.name for a in actions], data, [list(a.descriptors) for a in actions])


def build_bundled(out_dir: Path, seed: int = 0, pretrain_steps: Optional[int] = None, train_steps: int = 200,
                  clips_per_action: int = 20, device: str | torch.device = "cpu", say: Optional[Say] = None) -> dict:
    """Run the whole recipe and write the bundled model into ``out_dir``; returns the model card.

    ``pretrain_steps`` None takes :class:`PretrainConfig`'s budget.
    """
    say = say or log.info
    start = time.perf_counter()
    torch.manual_seed(seed)
    cfg = load_config("star-tiny")
    model = STAR(cfg, warn_random=False).to(device)
    train_actions, val_actions = split_actions("train"), split_actions("val")
    pcfg = PretrainConfig(steps=pretrain_steps or PretrainConfig.steps, seed=seed)

    def on_pretrain(step: int, total: int, loss: float) -> None:
        if step % 25 == 0 or step == total:
            say(f"pretrain {step}/{total} loss {loss:.3f} ({time.perf_counter() - start:.0f} s)")

    pre = pretrain_towers(model.backbone, train_actions, pcfg, cfg.text.prompt, on_pretrain)
    say(f"embedding meta-train/val clips ({time.perf_counter() - start:.0f} s)")
    with torch.no_grad():
        train_set = synthetic_source(model, train_actions, clips_per_action, (seed, 101), 2 * cfg.num_frames, 0.3)
        val_set = synthetic_source(model, val_actions, max(6, clips_per_action // 2), (seed, 202), cfg.num_frames)
    tcfg = TrainConfig(steps=train_steps, way=5, shot=1, query=4, lr=1e-3, warmup_steps=max(1, train_steps // 10),
                       val_every=max(1, train_steps // 2), val_episodes=40, patience=0, seed=seed, amp=False)

    def on_train(step: int, total: int, metrics: dict) -> None:
        if "val_accuracy" in metrics or step % 25 == 0:
            extra = f" val acc {metrics['val_accuracy']:.3f}" if "val_accuracy" in metrics else ""
            say(f"meta-train {step}/{total} loss {metrics['loss']:.3f}{extra} ({time.perf_counter() - start:.0f} s)")

    result = train(model, train_set, val_set, tcfg, on_train)
    wall = time.perf_counter() - start
    card = {
        "model": "star-tiny (synthetic action world)", "config": "star_model/configs/star-tiny.json",
        "command": BUILD_COMMAND, "seed": seed, "meta_train_clips": clips_per_action,
        "data": {"pretraining": f"{pre['clips_rendered']} rendered clips of the 32 meta-train actions: "
                                "per-frame stage and 3D pose from the renderer (image tower), per-frame "
                                "captions, stage descriptors and class prompts (text tower); "
                                f"{int(pcfg.degrade_p * 100)} % JPEG/blur-degraded",
                 "meta_training": f"{clips_per_action} clips x 32 meta-train actions (30 % degraded), "
                                  f"validation on the 8 meta-val actions",
                 "test_actions_seen": False},
        "pretrain": {**pcfg.to_dict(), **{k: v for k, v in pre.items() if k != "steps"}},
        "meta_train": {**asdict(tcfg), "val_history": result.history, "final_train_loss": result.last_metrics.get("loss")},
        "storage": "fp16 safetensors; token table and visual tower weights int8 with per-row fp16 scales",
        "wall_time_s": round(wall, 1),
        "build_machine": {"device": str(device), "cpu_threads": torch.get_num_threads(),
                          "platform": platform.platform(), "torch": torch.__version__},
        "metrics": {"meta_val_5way_1shot_accuracy": result.history[-1]["val_accuracy"] if result.history else None},
    }
    path = save_bundled(model, out_dir, card)
    say(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in {wall:.0f} s")
    return card
