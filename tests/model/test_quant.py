"""The optional fast CPU image tower (star_model.nn.fast) against its fp32 reference twin."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from star_model.engine.features import FeatureCache, FrameEmbedder
from star_model.nn.backbone import ClipBackbone
from star_model.nn.config import BackboneConfig
from star_model.nn.fast import FastImageEncoder, SplitAttention, cpu_has_bf16, fast_image_encoder, split_attention

SMALL_VIT = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 128, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def small_vit() -> ClipBackbone:
    torch.manual_seed(0)
    return ClipBackbone(BackboneConfig(clip=SMALL_VIT), warn_random=False).eval()


def _images(n: int = 6, size: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)


@pytest.mark.parametrize("batch_first", [True, False])
def test_split_attention_equals_multihead_attention(batch_first: bool) -> None:
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(32, 4, batch_first=batch_first).eval()
    x = torch.randn(3, 5, 32) if batch_first else torch.randn(5, 3, 32)  # sequence length 5
    mask = torch.triu(torch.ones(5, 5, dtype=torch.bool), 1)
    with torch.no_grad():
        for m in (None, mask, torch.zeros(5, 5).masked_fill(mask, float("-inf"))):
            ref = mha(x, x, x, need_weights=False, attn_mask=m)[0]
            got = SplitAttention(mha)(x, x, x, need_weights=False, attn_mask=m)[0]
            torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)


def test_split_attention_keeps_the_tower_exact(small_vit: ClipBackbone) -> None:
    import copy

    twin = copy.deepcopy(small_vit)
    split_attention(twin.clip.visual)
    assert not any(isinstance(m, nn.MultiheadAttention) for m in twin.clip.visual.modules())
    with torch.no_grad():
        torch.testing.assert_close(twin.encode_images(_images()), small_vit.encode_images(_images()), atol=1e-5, rtol=1e-4)


def test_int8_tower_is_close_to_fp32(small_vit: ClipBackbone) -> None:
    fast = fast_image_encoder(small_vit, torch.device("cpu"))
    if fast is None:
        pytest.skip("no int8 engine in this torch")
    assert fast.mode == "int8"
    assert any("quantized" in type(m).__module__ for m in fast.visual.modules())
    with torch.no_grad():
        ref = small_vit.encode_images(_images())
    cos = F.cosine_similarity(fast.encode_images(_images()), ref)
    assert cos.min().item() >= 0.99
    assert not any("quantized" in type(m).__module__ for m in small_vit.modules())  # the model is not changed


def test_bf16_resnet_tower_is_close_to_fp32(tiny_model) -> None:
    if not cpu_has_bf16():
        pytest.skip("this CPU has no native bf16")
    fast = FastImageEncoder(tiny_model.backbone, "bf16")
    x = _images(size=112)
    with torch.no_grad():
        ref = tiny_model.backbone.encode_images(x)
    assert F.cosine_similarity(fast.encode_images(x), ref).min().item() >= 0.99


def test_no_fast_tower_on_a_gpu(small_vit: ClipBackbone) -> None:
    assert fast_image_encoder(small_vit, torch.device("cuda")) is None


def test_no_fast_tower_for_resnet_towers(tiny_model) -> None:
    """bf16 is not picked automatically (on the trained star-tiny tower it fell below cosine 0.99)."""
    assert fast_image_encoder(tiny_model.backbone, torch.device("cpu")) is None
    embedder = FrameEmbedder(tiny_model, FeatureCache(), fast=True)
    assert embedder.fast is None and "+" not in embedder.backbone_id


def test_fast_features_are_cached_apart(small_mp4, tmp_path) -> None:
    import dataclasses

    from star_model.nn.config import load_config
    from star_model.nn.model import STAR

    cfg = load_config("star-tiny")
    cfg = dataclasses.replace(cfg, embed_dim=64, backbone=dataclasses.replace(cfg.backbone, clip=SMALL_VIT))
    torch.manual_seed(0)
    model = STAR(cfg, warn_random=False).eval()
    cache = FeatureCache(tmp_path / "cache")
    plain = FrameEmbedder(model, cache)
    fast = FrameEmbedder(model, cache, fast=True)
    if fast.fast is None:
        pytest.skip("no int8 engine in this torch")
    assert fast.backbone_id == plain.backbone_id + "+int8"
    a, b = plain.video(small_mp4, rate=4.0), fast.video(small_mp4, rate=4.0)
    assert fast.embedded[str(small_mp4)] == len(b.times)  # not read from the fp32 entry
    np.testing.assert_array_equal(a.frames, b.frames)
    assert F.cosine_similarity(a.feats, b.feats).min().item() >= 0.99


def test_the_fast_cpu_option_reaches_the_embedder(tmp_path) -> None:
    import argparse
    import dataclasses
    import json

    from star_model.cli.options import add_model_options, model_choice
    from star_model.engine.session import load_model
    from star_model.nn.config import load_config

    cfg = load_config("star-tiny")
    cfg = dataclasses.replace(cfg, name="small-vit", embed_dim=64,
                              backbone=dataclasses.replace(cfg.backbone, clip=SMALL_VIT))
    path = tmp_path / "small-vit.json"
    path.write_text(json.dumps(dataclasses.asdict(cfg)), encoding="utf-8")
    parser = argparse.ArgumentParser()
    add_model_options(parser)
    common = ["--model", str(path), "--device", "cpu", "--cache-dir", str(tmp_path / "cache")]
    torch.manual_seed(0)
    _, plain, line = load_model(model_choice(parser.parse_args(common)))
    assert plain.fast is None and "int8" not in line
    torch.manual_seed(0)  # the same random towers
    _, fast, line = load_model(model_choice(parser.parse_args([*common, "--fast-cpu"])))
    if fast.fast is None:
        pytest.skip("no int8 engine in this torch")
    assert fast.fast.mode == "int8" and line.endswith(", int8 image tower")
    assert fast.backbone_id == plain.backbone_id + "+int8"
