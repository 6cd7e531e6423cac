"""The out-of-domain check: a video of the world the model knows is near it, one of another world is far;
without a world, the examples are the reference (and examples from one video are no reference)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from star_model.data.actions_dir import load_actions_dir
from star_model.engine.bank import PrototypeBank, build_bank
from star_model.engine.domain import FAR_RATIO_EXAMPLES, FAR_RATIO_WORLD, domain_check, example_spread
from star_model.engine.features import FeatureCache, FrameEmbedder
from star_model.engine.segmentation import label_video
from star_model.engine.world import World, known_world, load_world, nearest_other_clip, save_world
from star_model.nn.bundled import default_model_source
from star_model.nn.factory import create_model
from star_model.schema import ActionExamples, ClipRef
from star_model.video import write_video


def noise_video(path, seconds: float = 12.0, fps: float = 10.0):
    """Coloured noise: nothing like a person acting."""
    rng = np.random.default_rng(0)
    return write_video(path, (rng.integers(0, 255, (96, 128, 3), dtype=np.uint8) for _ in range(int(seconds * fps))),
                       fps)


def unit(rows) -> torch.Tensor:
    return torch.nn.functional.normalize(torch.tensor(rows, dtype=torch.float32), dim=-1)


def test_spread_and_distance_are_measured_between_clips():
    support = torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
    clips = torch.tensor([0, 0, 1, 1])
    far = example_spread(support, clips)  # each frame's nearest frame of the *other* clip is ~90 degrees away
    nearest = [1 - np.cos(np.arctan(10)), 1 - np.cos(np.arctan(10) - np.arctan(0.1))]  # the two kinds of frame
    assert far == pytest.approx(np.mean(nearest), abs=0.01)  # their median
    assert example_spread(support[:2], clips[:2]) < 0.01  # a single clip: its frames' distance to each other


def test_without_a_world_the_examples_are_the_reference_unless_they_are_one_video():
    support = torch.tensor([[1.0, 0.0], [1.0, 0.1], [1.0, 0.2], [1.0, 0.3]])
    clips = torch.tensor([0, 0, 1, 1])
    near = domain_check(torch.tensor([[1.0, 0.15]] * 3), support, clips)
    assert near.distance < 0.01 and not near.far and near.far_ratio == FAR_RATIO_EXAMPLES
    away = domain_check(torch.tensor([[-1.0, -1.0]] * 3), support, clips)
    assert away.far and away.ratio > FAR_RATIO_EXAMPLES
    assert domain_check(torch.tensor([[-1.0, -1.0]] * 3), support, clips, one_scene=True) is None
    assert domain_check(torch.zeros(3, 2), None, None) is None


def test_a_world_is_the_reference_when_there_is_one(tmp_path):
    feats = unit([[1.0, 0.0], [1.0, 0.1], [1.0, 0.2], [1.0, 0.3]])
    clips = torch.tensor([0, 0, 1, 1])
    spread = float(nearest_other_clip(feats, clips).median())
    world = load_world(save_world(World(feats, clips, spread, "tower-a"), tmp_path / "w.safetensors"))
    assert world.backbone_id == "tower-a" and world.spread == spread
    assert torch.allclose(world.feats, feats, atol=1e-3) and torch.equal(world.clips, clips)
    examples = torch.tensor([[-1.0, 0.0], [-1.0, 0.1]])  # examples elsewhere: the world decides
    near = domain_check(torch.tensor([[1.0, 0.12]] * 4), examples, torch.tensor([0, 1]), world, one_scene=True)
    assert not near.far and near.far_ratio == FAR_RATIO_WORLD
    away = domain_check(torch.tensor([[0.0, 1.0]] * 4), None, None, world)
    assert away.far and away.ratio > FAR_RATIO_WORLD


@pytest.mark.skipif(default_model_source() is None, reason="needs the bundled model")
def test_a_video_of_another_world_is_far_from_what_the_bundled_model_knows(synth_set, tmp_path):
    model = create_model("star-tiny", pretrained="bundled")
    embedder = FrameEmbedder(model, FeatureCache(tmp_path / "cache"))
    assert known_world(embedder.backbone_id) is not None  # the shipped world belongs to the shipped tower
    assert known_world("another-tower") is None
    bank = build_bank(model, embedder, load_actions_dir(synth_set))
    assert bank.support.shape == (6 * model.cfg.num_frames, bank.prototypes.shape[-1]) and not bank.one_video
    again = PrototypeBank.load(bank.save(tmp_path / "bank.safetensors"))
    assert torch.equal(again.support, bank.support) and torch.equal(again.support_clips, bank.support_clips)
    near = label_video(model, embedder, again, synth_set / "long" / "long_000.mp4").domain
    far = label_video(model, embedder, again, noise_video(tmp_path / "noise.mp4")).domain
    assert not near.far and near.far_ratio == FAR_RATIO_WORLD, near
    assert far.far and far.ratio > near.ratio * 2.5, far


@pytest.mark.skipif(default_model_source() is None, reason="needs the bundled model")
def test_examples_cut_from_one_video_are_marked(synth_set, tmp_path):
    model = create_model("star-tiny", pretrained="bundled")
    embedder = FrameEmbedder(model, FeatureCache(tmp_path / "cache"))
    video = str(synth_set / "long" / "long_000.mp4")
    actions = [ActionExamples("a", [ClipRef(video, 1.0, 4.0)]), ActionExamples("b", [ClipRef(video, 8.0, 11.0)])]
    bank = PrototypeBank.load(build_bank(model, embedder, actions).save(tmp_path / "bank.safetensors"))
    assert bank.one_video
