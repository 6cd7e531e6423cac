"""Every training recipe: the TrainConfig of each kind of run, and the build of the bundled model.

- :func:`meta_train_config`: ``star-app train`` (episodic meta-training from the command line);
- :func:`fine_tune_config`: fine-tuning on a project's examples (the app's Retrain, ``fine_tune``);
- :func:`bundled_config` and :func:`build_bundled`: the bundled default model, run by
  ``star-app bundle --seed 0 --out assets/`` (``--recipe`` applies a recipe chosen on meta-val,
  ``--towers-from`` reuses a bundled model's towers and runs step 2 only):

  1. pretraining of both CLIP towers (:mod:`star_model.train.pretrain`) on rendered clips of the 32
     meta-train actions: the image tower from the renderer's per-frame stage and pose, the text
     tower contrastively (captions, stage descriptors, class prompts) against the image embeddings;
  2. episodic meta-training of the STAR head (:func:`star_model.train.loop.train`) on cached frame
     features of the meta-train actions, validated on the 8 meta-val actions, towers frozen.
"""
from __future__ import annotations

import logging
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from star_model.nn.bundled import BUILD_COMMAND, load_bundled, read_card, save_bundled
from star_model.nn.config import config_from_dict, load_config, merged
from star_model.nn.model import STAR
from star_model.ops.sampling import segment_centres
from star_model.synthetic import Action, render_clip, split_actions
from star_model.train.loop import TrainConfig, train
from star_model.train.pretrain import PretrainConfig, degrade, pretrain_towers
from star_model.train.sources import FeatureSource

log = logging.getLogger(__name__)

Say = Callable[[str], None]

META_TRAIN_STEPS = 2000
TEST_ACTIONS_NOTE = (
    "The 8 meta-test actions are new to the model: no test action, name or clip is used in pretraining, "
    "meta-training, validation or model selection. They are new ordered compositions of primitive movements that "
    "all occur in meta-train actions ('turn around', a single primitive, occurs there only inside compositions); "
    "their stage descriptors are the primitives' own sentences, which the text tower saw in pretraining. "
    "docs/benchmark.md therefore measures new compositions and orders of known movements, not movements never "
    "seen; its paraphrase column rewords the descriptors as an LLM would for a new action.")


def meta_train_config(steps: Optional[int] = None, **settings) -> TrainConfig:
    """Meta-training from the command line: ``steps`` (default 2000) and the episode and optimiser
    ``settings`` given; warm-up over a twentieth of the steps (at most 100)."""
    steps = steps or META_TRAIN_STEPS
    return TrainConfig(steps=steps, warmup_steps=min(100, max(1, steps // 20)), **settings)


def fine_tune_config(steps: int = 200) -> TrainConfig:
    """Fine-tuning on a project's examples: 5-way 1-shot episodes with 2 queries, a tenth of the steps
    of warm-up, validation every tenth of the run, early stop after 5 validations without progress."""
    return TrainConfig(steps=steps, way=5, shot=1, query=2, lr=5e-4, warmup_steps=max(1, steps // 10),
                       val_every=max(1, steps // 10), patience=5)


def bundled_config(steps: int, seed: int, **settings) -> TrainConfig:
    """Meta-training of the bundled model's head: 5-way 1-shot, 4 queries, two validations, no early stop;
    ``settings`` (a recipe's ``"train"`` section) override these."""
    base = dict(steps=steps, way=5, shot=1, query=4, lr=1e-3, warmup_steps=max(1, steps // 10),
                val_every=max(1, steps // 2), val_episodes=40, patience=0, seed=seed, amp=False)
    return TrainConfig(**{**base, **settings})


def config_overrides(recipe: Optional[dict]) -> dict:
    """A recipe's model-config overrides: everything but its ``"train"`` section (training settings)."""
    return {k: v for k, v in (recipe or {}).items() if k != "train"}


def check_recipe_keys(recipe: dict, reserved: Sequence[str]) -> None:
    """Refuse a recipe whose config overrides or ``"train"`` settings name an unknown key, or a ``reserved``
    training setting (one the caller sets from its own options), before anything runs."""
    train_settings = recipe.get("train", {})
    if not isinstance(train_settings, dict):
        raise ValueError(f"the recipe's \"train\" section must be an object of training settings, not "
                         f"{train_settings!r}; e.g. {{\"train\": {{\"pair_share\": 0.5}}}}")
    known = [f for f in TrainConfig.__dataclass_fields__ if f not in reserved]
    unknown = sorted(k for k in train_settings if k not in known)
    if unknown:
        raise ValueError(f"unknown training setting train.{unknown[0]} in the recipe; known: {', '.join(known)}")
    config_from_dict(merged(load_config("star-tiny").to_dict(), config_overrides(recipe)))


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
            rendered = render_clip(action, (*seed, a, i), size=model.backbone.image_size).frames
            x = rendered[segment_centres(len(rendered), frames)]
            per.append(degrade(x, rng) if rng.random() < degrade_p else x)
        data.append(per)
    return FeatureSource.from_frames(model, [a.name for a in actions], data, [list(a.descriptors) for a in actions])


def _reuse_towers(model: STAR, donor: Path, device: str | torch.device) -> tuple[dict, str]:
    """Load a bundled model's towers into ``model``; (its pretraining record, its pretraining data)."""
    card = read_card(donor)
    model.backbone.load_state_dict(load_bundled(device, donor).backbone.state_dict())
    model.backbone.eval()  # as pretraining leaves it: batch norm uses its running statistics
    record = {"towers_from": f"{Path(donor).name} (built by: {card['command']})", **card["pretrain"]}
    return record, card["data"]["pretraining"]


def _pretrain(model: STAR, actions: list[Action], steps: Optional[int], seed: int, say: Say,
              start: float) -> tuple[dict, str]:
    """Step 1, pretraining ``model``'s towers; (the pretraining record, a line on its data)."""
    pcfg = PretrainConfig(steps=steps or PretrainConfig.steps, seed=seed)

    def on_pretrain(step: int, total: int, loss: float) -> None:
        if step % 25 == 0 or step == total:
            say(f"pretrain {step}/{total} loss {loss:.3f} ({time.perf_counter() - start:.0f} s)")

    result = pretrain_towers(model.backbone, actions, pcfg, model.cfg.text.prompt, on_pretrain)
    record = {**pcfg.to_dict(), **{k: v for k, v in result.items() if k != "steps"}}
    return record, (f"{result['clips_rendered']} rendered clips of the 32 meta-train actions: per-frame stage and "
                    "3D pose from the renderer (image tower), per-frame captions, stage descriptors and class "
                    f"prompts (text tower); {int(pcfg.degrade_p * 100)} % JPEG/blur-degraded")


BUNDLE_RESERVED = ("steps", "seed")
"""Training settings ``star-app bundle`` sets from its own options (--train-steps, --seed), not a recipe."""


def build_bundled(out_dir: Path, seed: int = 0, pretrain_steps: Optional[int] = None, train_steps: int = 200,
                  clips_per_action: int = 20, device: str | torch.device = "cpu", say: Optional[Say] = None,
                  recipe: Optional[dict] = None, towers_from: Optional[Path] = None,
                  command: str = BUILD_COMMAND) -> dict:
    """Run the whole recipe and write the bundled model into ``out_dir``; returns the model card.

    ``pretrain_steps`` None takes :class:`PretrainConfig`'s budget. ``recipe`` (config overrides, training
    settings under ``"train"``) changes the head and its meta-training. ``towers_from`` (a bundled model file)
    skips step 1: its towers are used as they are and its card's pretraining record is carried over.
    ``command`` is recorded in the card as the command that built it.
    """
    recipe = recipe or {}
    check_recipe_keys(recipe, BUNDLE_RESERVED)
    say = say or log.info
    start = time.perf_counter()
    torch.manual_seed(seed)
    cfg = config_from_dict(merged(load_config("star-tiny").to_dict(), config_overrides(recipe)))
    model = STAR(cfg, warn_random=False).to(device)
    train_actions, val_actions = split_actions("train"), split_actions("val")
    if towers_from is not None:
        pre, pretraining = _reuse_towers(model, towers_from, device)
        say(f"towers from {towers_from}")
    else:
        pre, pretraining = _pretrain(model, train_actions, pretrain_steps, seed, say, start)
    say(f"embedding meta-train/val clips ({time.perf_counter() - start:.0f} s)")
    with torch.no_grad():
        train_set = synthetic_source(model, train_actions, clips_per_action, (seed, 101), 2 * cfg.num_frames, 0.3)
        val_set = synthetic_source(model, val_actions, max(6, clips_per_action // 2), (seed, 202), cfg.num_frames)
    tcfg = bundled_config(train_steps, seed, **recipe.get("train", {}))

    def on_train(step: int, total: int, metrics: dict) -> None:
        if "val_accuracy" in metrics or step % 25 == 0:
            extra = f" val acc {metrics['val_accuracy']:.3f}" if "val_accuracy" in metrics else ""
            say(f"meta-train {step}/{total} loss {metrics['loss']:.3f}{extra} ({time.perf_counter() - start:.0f} s)")

    result = train(model, train_set, val_set, tcfg, on_train)
    wall = time.perf_counter() - start
    card = {
        "model": "star-tiny (synthetic action world)", "config": "star_model/nn/configs/star-tiny.json",
        "command": command, "seed": seed, "meta_train_clips": clips_per_action, "recipe": recipe,
        "data": {"pretraining": pretraining,
                 "meta_training": f"{clips_per_action} clips x 32 meta-train actions (30 % degraded), "
                                  f"validation on the 8 meta-val actions",
                 "test_actions_seen": False, "test_actions": TEST_ACTIONS_NOTE},
        "pretrain": pre,
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
