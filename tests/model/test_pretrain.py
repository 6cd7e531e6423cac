"""Tower pretraining: per-frame targets from the renderer, where each loss's gradient goes, a short run."""
import numpy as np
import pytest
import torch

from star_model import create_model
from star_model.train.pretrain import (STAGE_KEYS, ClipPool, FrameProbes, PretrainConfig, _batch, frame_stage_keys,
                                 pretrain_loss, pretrain_towers, relative_pose)
from star_model.synthetic import IDLE_CAPTION, PRIMITIVES, render_clip, split_actions
from star_model.synthetic.skeleton import J


def test_frame_targets_follow_the_clips_own_stages_and_captions():
    clip = render_clip("squat then jump", 3)
    keys = frame_stage_keys(clip)
    assert keys.shape == (len(clip.frames),)
    for key, caption in zip(keys, clip.captions):
        expected = IDLE_CAPTION if STAGE_KEYS[key] == "idle" else PRIMITIVES[STAGE_KEYS[key]].caption
        assert caption == expected
    assert {STAGE_KEYS[k] for k in keys} == {"idle", "squat", "jump"}
    pose = relative_pose(clip.joints).reshape(len(clip.frames), -1, 3)
    assert np.abs(pose[:, J["pelvis"], [0, 2]]).max() == 0.0
    jump = keys == STAGE_KEYS.index("jump")
    assert pose[jump, J["pelvis"], 1].max() > pose[~jump, J["pelvis"], 1].max()  # the body leaves the ground


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    backbone = create_model("star-tiny").backbone
    backbone.set_trainable(False)
    backbone.train()
    cfg = PretrainConfig(clips=3, frames=2, pool=4)
    pool = ClipPool(split_actions("train")[:4], cfg.pool, backbone.image_size, seed=0)
    probes = FrameProbes(backbone.clip.visual.output_dim, relative_pose(pool.clips[0].joints).shape[1])
    return backbone, probes, cfg, _batch(pool, cfg)


def _grads(module: torch.nn.Module) -> float:
    return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)


@pytest.mark.parametrize("sup_weight", [1.0, 0.0])
def test_probes_train_the_image_tower_and_contrast_trains_only_the_text_tower(setup, sup_weight):
    backbone, probes, cfg, batch = setup
    backbone.zero_grad(set_to_none=True)
    probes.zero_grad(set_to_none=True)
    cfg = PretrainConfig(clips=cfg.clips, frames=cfg.frames, pool=cfg.pool, sup_weight=sup_weight)
    pretrain_loss(backbone, probes, batch, cfg, "a video of {name}").backward()
    assert _grads(backbone.clip.transformer) > 0 and float(backbone.clip.logit_scale.grad.abs()) > 0
    if sup_weight:
        assert _grads(backbone.clip.visual) > 0 and _grads(probes) > 0
    else:
        assert _grads(backbone.clip.visual) == 0.0


def test_a_short_run_changes_both_towers_freezes_them_and_reports():
    torch.manual_seed(0)
    backbone = create_model("star-tiny").backbone
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    steps = []
    cfg = PretrainConfig(steps=3, clips=3, frames=2, pool=4, refresh=1, warmup=1, probe_clips=2)
    summary = pretrain_towers(backbone, split_actions("train")[:3], cfg, on_step=lambda s, n, loss: steps.append((s, n)))
    assert steps == [(1, 3), (2, 3), (3, 3)]
    after = backbone.state_dict()
    for name in ("clip.visual.conv1.weight", "clip.transformer.resblocks.0.mlp.c_fc.weight", "clip.token_embedding.weight"):
        assert not torch.equal(before[name], after[name]), name
    assert not any(p.requires_grad for p in backbone.parameters()) and not backbone.training
    assert 0.0 <= summary["heldout_stage_probe_accuracy"] <= 1.0 and 0.0 < summary["heldout_stage_majority"] <= 1.0
    assert summary["clips_rendered"] == 4 + 3
