"""Episodic training: learning on toy clips, bit-exact resume, refusals, the unfrozen path, fine_tune, CLI.

Random CLIP towers do not separate the synthetic world's actions (its random scenes dominate the
features), so the clips here are trivially separable: a coloured square (hue = class) sliding
left or right over a noisy background. A "micro" STAR config keeps every step in milliseconds.
"""
from __future__ import annotations

import colorsys
import json
import os
import pickle

import numpy as np
import pytest
import torch

from safetensors.torch import save_file

from star_model import create_model
from star_model.data.episodes import fixed_episodes
from star_model.engine.features import FeatureCache, FrameEmbedder
from star_model.errors import Cancelled, CheckpointError
from star_model.nn.checkpoint import read_checkpoint
from star_model.nn.config import config_from_dict, load_config
from star_model.nn.model import STAR
from star_model.schema import ActionExamples, ClipRef
from star_model.train.finetune import fine_tune
from star_model.train.loop import EpisodeLoss, TrainConfig, evaluate, load_for_resume, train
from star_model.train.sources import FeatureSource, VideoSource
from tests.model.videos_util import make_video


def micro_config():
    d = load_config("star-tiny").to_dict()
    d.update(name="star-micro", embed_dim=64, num_frames=4)
    d["backbone"]["clip"] = {
        "embed_dim": 64,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
        "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    }
    d["tsa"]["heads"] = 2
    d["acu"]["depth"] = 1
    return config_from_dict(d)


def micro_model(seed: int = 0) -> STAR:
    torch.manual_seed(seed)
    return STAR(micro_config(), warn_random=False).eval()


def toy_clip(c: int, n_classes: int, rng: np.random.Generator, size: int = 32) -> np.ndarray:
    """(F, size, size, 3) uint8: class c's hue, sliding right (even c) or left (odd c)."""
    n = int(rng.integers(12, 24))
    rgb = np.array(colorsys.hsv_to_rgb(c / n_classes, 0.8, 0.9)) * 255
    frames = np.full((n, size, size, 3), rng.uniform(60, 120), np.float32)
    s = size // 3
    for t in range(n):
        x = int((size - s) * t / max(n - 1, 1))
        x = size - s - x if c % 2 else x
        frames[t, 8 : 8 + s, x : x + s] = rgb
    frames += rng.normal(0, 12, frames.shape)
    return np.clip(frames, 0, 255).astype(np.uint8)


def toy_sources(model: STAR, n_classes: int = 9, clips: int = 5, seed: int = 0):
    """(train, val) FeatureSources: every third class is held out for validation."""
    rng = np.random.default_rng(seed)
    frames = [[toy_clip(c, n_classes, rng) for _ in range(clips)] for c in range(n_classes)]
    names = [f"class {c}" for c in range(n_classes)]
    tr = [c for c in range(n_classes) if c % 3]
    va = [c for c in range(n_classes) if c % 3 == 0]
    return (FeatureSource.from_frames(model, [names[c] for c in tr], [frames[c] for c in tr]),
            FeatureSource.from_frames(model, [names[c] for c in va], [frames[c] for c in va]))


def toy_project(root, n_classes: int = 3, clips: int = 3, seed: int = 0) -> list[ActionExamples]:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    actions = []
    for c in range(n_classes):
        refs = [ClipRef(str(make_video(root / f"c{c}_{i}.mp4", iter(toy_clip(c, n_classes, rng)), fps=8.0)))
                for i in range(clips)]
        actions.append(ActionExamples(f"action {c}", refs))
    return actions


@pytest.fixture(autouse=True)
def one_thread():
    """The CI box's 2 cores are shared: one intra-op thread is ~50x faster than two oversubscribed."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


CFG = dict(way=3, shot=1, query=2, lr=3e-3, warmup_steps=4, val_episodes=10, patience=0)


def test_training_lowers_validation_loss_and_beats_chance():
    model = micro_model()
    train_set, val_set = toy_sources(model)
    cfg = TrainConfig(steps=30, val_every=10, **CFG)
    batches = [val_set.batch(model, p, 4, None) for p in fixed_episodes(val_set.counts, 3, 1, 2, 10, cfg.val_seed)]
    start = evaluate(EpisodeLoss(model), batches, torch.device("cpu"))
    seen = []
    result = train(model, train_set, val_set, cfg, progress=lambda s, t, m: seen.append((s, t, m)))
    assert [s for s, _, _ in seen] == list(range(1, 31)) and all(t == 30 for _, t, _ in seen)
    assert [h["step"] for h in result.history] == [10, 20, 30]
    assert result.best["val_loss"] < start["val_loss"] - 0.1, (start, result.history)
    assert result.history[-1]["val_accuracy"] > 1 / 3 + 0.3
    # fixed validation episodes: evaluating the final model twice gives the same numbers
    assert evaluate(EpisodeLoss(model), batches, torch.device("cpu")) == evaluate(EpisodeLoss(model), batches, torch.device("cpu"))


class RecordingSource(FeatureSource):
    """A real feature source that also keeps the class set of every episode it builds."""

    def __init__(self, source: FeatureSource) -> None:
        super().__init__(source.names, source.descriptors, source.clips)
        self.episodes: list[list[int]] = []

    def batch(self, model, plan, T, rng):
        self.episodes.append(list(plan.classes))
        return super().batch(model, plan, T, rng)


@pytest.mark.parametrize("share", [0.0, 0.5, 1.0])
def test_order_pair_episodes_hold_a_pair_as_often_as_asked(share):
    model = micro_model()
    base, _ = toy_sources(model, n_classes=9, clips=3)
    stages = [["a", "b"], ["b", "a"], ["c"], ["d", "e", "f"], ["f", "e", "d"], ["g"]]  # pairs (0, 1), (3, 4)
    source = RecordingSource(FeatureSource(base.names, stages, base.clips))
    train(model, source, None, TrainConfig(steps=40, pair_share=share, **CFG))
    held = [bool({0, 1} <= set(c) or {3, 4} <= set(c)) for c in source.episodes]
    assert len(held) == 40
    if share == 1.0:
        assert all(held)
    elif share == 0.5:
        assert 20 <= sum(held) < 40
    else:  # unchanged runs: pairs only by chance (3-way among 6 classes)
        unchanged = RecordingSource(FeatureSource(base.names, stages, base.clips))
        train(micro_model(), unchanged, None, TrainConfig(steps=40, **CFG))
        assert unchanged.episodes == source.episodes and sum(held) < 20


def test_a_sources_text_bank_is_the_asking_models_own():
    with_stages = micro_model()
    d = micro_config().to_dict()
    d["text"]["use_stages"] = False
    torch.manual_seed(0)
    without = STAR(config_from_dict(d), warn_random=False).eval()
    source = FeatureSource(["a", "b"], [["x", "y"], ["y", "x"]], [[torch.zeros(6, 64)], [torch.zeros(6, 64)]])
    assert source.text_bank(with_stages).stages.shape[1] == with_stages.cfg.text.stages
    assert source.text_bank(without).stages.shape[1] == 0  # not the first model's bank
    assert source.text_bank(with_stages) is source.text_bank(with_stages)  # one model: computed once


def test_resume_continues_bit_exactly(tmp_path):
    cfg = TrainConfig(steps=12, val_every=4, **CFG)
    straight = micro_model()
    train_set, val_set = toy_sources(straight)
    full = train(straight, train_set, val_set, cfg, out_dir=tmp_path / "a")

    first = micro_model()
    paused = train(first, train_set, val_set, cfg, out_dir=tmp_path / "b", stop_at=6)
    assert paused.step == 6 and (tmp_path / "b" / "last.optim.safetensors").is_file()
    resumed_model, resumed_cfg = load_for_resume(tmp_path / "b" / "last.safetensors")
    assert resumed_cfg == cfg
    torch.manual_seed(999)  # resume must not depend on the caller's RNG state
    np.random.seed(999)
    rest = train(resumed_model, train_set, val_set, resumed_cfg, out_dir=tmp_path / "b",
                 resume=tmp_path / "b" / "last.safetensors")
    assert rest.step == 12 and rest.history == full.history
    for (name, a), b in zip(straight.state_dict().items(), resumed_model.state_dict().values()):
        assert torch.equal(a, b), name
    _, _, meta = read_checkpoint(tmp_path / "b" / "best.safetensors")
    assert meta["step"] == full.best["step"] and (tmp_path / "b" / "best.json").is_file()


def test_checkpoint_that_does_not_match_its_config_is_refused(tmp_path):
    model = micro_model()
    train_set, _ = toy_sources(model, n_classes=4, clips=3)
    train(model, train_set, None, TrainConfig(steps=2, val_every=2, **CFG), out_dir=tmp_path)
    cfg, state, meta = read_checkpoint(tmp_path / "last.safetensors")
    state["tsa.time_pos"] = torch.zeros(3, 3)
    save_file(state, str(tmp_path / "last.safetensors"),
              metadata={"star_config": json.dumps(cfg.to_dict()), "star_meta": json.dumps(meta)})
    with pytest.raises(CheckpointError, match=r"tsa\.time_pos has shape \(3, 3\)"):
        load_for_resume(tmp_path / "last.safetensors")


class _Trap:
    def __reduce__(self):
        return (open, ("/tmp/star-train-pickle-was-run", "w"))


def test_pickles_are_refused_for_resume_init_and_optimizer_state(tmp_path):
    marker = "/tmp/star-train-pickle-was-run"
    if os.path.exists(marker):
        os.unlink(marker)
    torch.save({"x": _Trap()}, tmp_path / "last.safetensors")
    with pytest.raises(CheckpointError, match="pickle"):
        load_for_resume(tmp_path / "last.safetensors")
    with pytest.raises(CheckpointError, match="pickle"):
        create_model("star-tiny", checkpoint=tmp_path / "last.safetensors")
    model = micro_model()
    train_set, _ = toy_sources(model, n_classes=4, clips=3)
    run = tmp_path / "run"
    train(model, train_set, None, TrainConfig(steps=4, val_every=2, **CFG), out_dir=run, stop_at=2)
    (run / "last.optim.safetensors").write_bytes(pickle.dumps(_Trap()))
    resumed, cfg = load_for_resume(run / "last.safetensors")
    with pytest.raises(CheckpointError, match="pickle"):
        train(resumed, train_set, None, cfg, out_dir=run, resume=run / "last.safetensors")
    assert not os.path.exists(marker)


def test_unfrozen_backbone_trains_its_last_block_from_decoded_frames(tmp_path):
    model = micro_model()
    actions = toy_project(tmp_path, n_classes=3, clips=2)
    blocks = model.backbone.clip.visual.transformer.resblocks
    before_last = [p.detach().clone() for p in blocks[-1].parameters()]
    before_first = [p.detach().clone() for p in blocks[0].parameters()]
    source = VideoSource(actions, model.backbone.image_size)
    with pytest.raises(ValueError, match="VideoSource"):
        train(model, FeatureSource([a.name for a in actions], [None] * 3, [[torch.zeros(4, 64)] * 2] * 3), None,
              TrainConfig(steps=1, unfreeze_last=1, **CFG))
    # the backbone counts ln_post as the last "block": 2 = the last residual block and ln_post
    result = train(model, source, source, TrainConfig(steps=3, val_every=3, unfreeze_last=2, **{**CFG, "way": 3, "query": 1}))
    assert result.step == 3 and result.history
    assert any(not torch.equal(a, b) for a, b in zip(before_last, blocks[-1].parameters()))
    assert all(torch.equal(a, b) for a, b in zip(before_first, blocks[0].parameters()))


def test_fine_tune_returns_a_loadable_checkpoint_and_validates_on_held_out_clips(tmp_path):
    model = micro_model()
    actions = toy_project(tmp_path / "clips", n_classes=3, clips=3)
    confirmed = [ActionExamples("action 0", [ClipRef(actions[0].clips[0].path, 0.0, 1.0)])]
    embedder = FrameEmbedder(model, FeatureCache(tmp_path / "cache"))
    messages = []
    path, metrics = fine_tune(model, actions, confirmed, out_dir=tmp_path / "ft", embedder=embedder,
                              cfg=TrainConfig(steps=6, val_every=3, **{**CFG, "query": 1}),
                              progress=lambda d, t, m: messages.append((d, t, m)))
    assert metrics["steps"] == 6 and metrics["held_out"] == 3 and 0.0 <= metrics["val_accuracy"] <= 1.0
    assert messages[-1][:2] == (6, 6) and "loss" in messages[-1][2]
    loaded = create_model("star-micro", checkpoint=path)
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name


def test_fine_tune_cancel_stops_within_one_step(tmp_path):
    model = micro_model()
    actions = toy_project(tmp_path / "clips", n_classes=2, clips=3)
    steps = []

    def progress(done, total, message):
        if message and done > 0:
            steps.append(done)

    with pytest.raises(Cancelled):
        fine_tune(model, actions, out_dir=tmp_path / "ft", embedder=FrameEmbedder(model, FeatureCache(tmp_path / "c")),
                  cfg=TrainConfig(steps=50, val_every=50, **CFG), progress=progress, cancel=lambda: len(steps) >= 2)
    assert steps == [1, 2]


def test_cli_train_writes_checkpoints_and_refuses_a_pickle_init(tmp_path, capsys):
    from star_model.cli import main as cli
    from star_model.cli import train as cli_train

    parser = cli._Parser(prog="star-app")
    sub = parser.add_subparsers(dest="command", parser_class=cli._Parser)
    cli_train.add_commands(sub)
    config = tmp_path / "star-micro.json"
    config.write_text(json.dumps(micro_config().to_dict()))
    data = tmp_path / "data"
    for a in toy_project(tmp_path / "raw", n_classes=4, clips=2):
        (data / a.name).mkdir(parents=True)
        for ref in a.clips:
            (data / a.name / ref.path.split("/")[-1]).write_bytes(open(ref.path, "rb").read())
    common = ["train", "--data", str(data), "--out", str(tmp_path / "out"), "--model", str(config), "--steps", "4",
              "--way", "2", "--query", "1", "--val-every", "2", "--val-episodes", "2", "--device", "cpu",
              "--cache-dir", str(tmp_path / "cache")]
    args = parser.parse_args(common)
    assert args.func(args) == 0
    assert "trained 4 steps" in capsys.readouterr().out
    assert (tmp_path / "out" / "last.safetensors").is_file() and (tmp_path / "out" / "best.safetensors").is_file()
    torch.save({"x": 1}, tmp_path / "init.pt")
    args = parser.parse_args(common + ["--checkpoint", str(tmp_path / "init.pt")])
    with pytest.raises(CheckpointError, match="pickle"):
        args.func(args)
