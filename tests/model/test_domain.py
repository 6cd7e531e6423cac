"""The out-of-domain check: a video of the examples' world is near them, one of another world is far."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from star_model.data.actions_dir import load_actions_dir
from star_model.engine.bank import PrototypeBank, build_bank
from star_model.engine.domain import FAR_RATIO, domain_check, example_spread
from star_model.engine.features import FeatureCache, FrameEmbedder
from star_model.engine.segmentation import label_video
from star_model.nn.bundled import default_model_source
from star_model.nn.factory import create_model
from star_model.video import write_video


def noise_video(path, seconds: float = 12.0, fps: float = 10.0):
    """Coloured noise: nothing like a person acting."""
    rng = np.random.default_rng(0)
    return write_video(path, (rng.integers(0, 255, (96, 128, 3), dtype=np.uint8) for _ in range(int(seconds * fps))),
                       fps)


def test_spread_and_distance_are_measured_between_clips():
    support = torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
    clips = torch.tensor([0, 0, 1, 1])
    far = example_spread(support, clips)  # each frame's nearest frame of the *other* clip is ~90 degrees away
    nearest = [1 - np.cos(np.arctan(10)), 1 - np.cos(np.arctan(10) - np.arctan(0.1))]  # the two kinds of frame
    assert far == pytest.approx(np.mean(nearest), abs=0.01)  # their median
    one_clip = example_spread(support[:2], clips[:2])
    assert one_clip < 0.01  # a single clip: its frames' distance to each other
    near = domain_check(torch.tensor([[1.0, 0.05], [0.05, 1.0]]), support, clips)
    assert near.distance < 0.01 and not near.far
    away = domain_check(torch.tensor([[-1.0, -1.0]] * 3), support, clips)
    assert away.far and away.ratio > FAR_RATIO and away.far_ratio == FAR_RATIO
    assert domain_check(torch.zeros(3, 2), None, None) is None


@pytest.mark.skipif(default_model_source() is None, reason="needs the bundled model")
def test_a_video_of_another_world_is_far_from_the_examples(synth_set, tmp_path):
    model = create_model("star-tiny", pretrained="bundled")
    embedder = FrameEmbedder(model, FeatureCache(tmp_path / "cache"))
    bank = build_bank(model, embedder, load_actions_dir(synth_set))
    assert bank.support.shape == (6 * model.cfg.num_frames, bank.prototypes.shape[-1])
    again = PrototypeBank.load(bank.save(tmp_path / "bank.safetensors"))
    assert torch.equal(again.support, bank.support) and torch.equal(again.support_clips, bank.support_clips)
    near = label_video(model, embedder, again, synth_set / "long" / "long_000.mp4").domain
    far = label_video(model, embedder, again, noise_video(tmp_path / "noise.mp4")).domain
    assert not near.far and near.ratio < 1.0, near
    assert far.far and far.ratio > near.ratio * 2.5, far
