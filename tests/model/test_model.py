"""STAR end to end on precomputed features: every shipped config, ablations, zero-init identity."""
import logging

import pytest
import torch

from star_model import create_model, list_models, load_config
from star_model.nn.model import STAR
from star_model.ops.matching import frame_distances, otam_two_way, stage_order_distance

T = 8


def _episode_data(dim, n_way, k_shot, queries_per_class=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    support = torch.nn.functional.normalize(torch.randn(n_way * k_shot, T, dim, generator=gen), dim=-1)
    labels = torch.arange(n_way).repeat_interleave(k_shot)
    query = torch.nn.functional.normalize(torch.randn(n_way * queries_per_class, T, dim, generator=gen), dim=-1)
    qlabels = torch.arange(n_way).repeat_interleave(queries_per_class)
    return support, labels, query, qlabels


NAMES = ["wave", "clap", "squat then jump", "jump then squat", "kick"]


@pytest.fixture(scope="module", params=list_models())
def model(request):
    torch.manual_seed(0)
    return create_model(request.param)


@pytest.mark.parametrize("k_shot", [1, 5])
def test_episode_forward_backward_reaches_head_not_towers(model, k_shot):
    dim = model.cfg.embed_dim
    text = model.encode_text(NAMES)
    support, labels, query, qlabels = _episode_data(dim, 5, k_shot)
    model.train()
    out = model.episode(support, labels, query, text, qlabels)
    assert out.logits.shape == (10, 5)
    assert out.video_text_logits.shape == (10, 5)
    assert out.tsa_map.shape == (10, T, 5)
    assert torch.allclose(out.tsa_map.sum(-1), torch.ones(10, T), atol=1e-5)
    assert out.loss.ndim == 0 and torch.isfinite(out.loss)
    model.zero_grad()
    out.loss.backward()
    for name, p in model.backbone.named_parameters():
        assert not p.requires_grad and p.grad is None, name
    head = dict((n, p) for n, p in model.named_parameters() if not n.startswith("backbone."))
    assert head and all(p.grad is not None for p in head.values())
    # Zero-initialised branches block gradients to what lies behind them at step 0; after one
    # step every head parameter must receive a gradient.
    opt = torch.optim.SGD(model.head_parameters(), lr=0.1)
    opt.step()
    model.zero_grad()
    model.episode(support, labels, query, text, qlabels).loss.backward()
    dead = [n for n, p in head.items() if p.grad is None or p.grad.abs().sum() == 0]
    assert dead == []
    model.eval()


def test_fresh_head_is_plain_features_plus_otam():
    torch.manual_seed(1)
    model = create_model("star-tiny")
    text = model.encode_text(NAMES)
    for k_shot in (1, 3):
        support, labels, query, _ = _episode_data(model.cfg.embed_dim, 5, k_shot, seed=k_shot)
        with torch.no_grad():
            out = model.episode(support, labels, query, text)
        protos = torch.stack([support[labels == c].mean(0) for c in range(5)])
        expected = -otam_two_way(frame_distances(query, protos), 0.5)
        assert torch.allclose(out.logits, expected, atol=1e-5)


def test_output_is_deterministic_under_a_seed():
    outs = []
    for _ in range(2):
        torch.manual_seed(123)
        model = create_model("star-tiny")
        model.train()
        support, labels, query, qlabels = _episode_data(model.cfg.embed_dim, 5, 2)
        text = model.encode_text(NAMES)
        out = model.episode(support, labels, query, text, qlabels)
        out.loss.backward()
        outs.append((out.logits.detach(), out.loss.detach(), model.tsa.attn.out_proj.weight.grad.clone()))
    assert torch.equal(outs[0][0], outs[1][0])
    assert torch.equal(outs[0][1], outs[1][1])
    assert torch.equal(outs[0][2], outs[1][2])


def test_encode_frames_and_text_shapes():
    model = create_model("star-tiny")
    frames = torch.randint(0, 255, (2, T, 3, 72, 96), dtype=torch.uint8)
    with torch.no_grad():
        feats = model.encode_frames(frames)
    assert feats.shape == (2, T, 256)
    assert torch.allclose(feats.norm(dim=-1), torch.ones(2, T), atol=1e-5)
    text = model.encode_text(["wave", "clap"], [["arm goes up", "hand moves", "arm goes down"], None])
    assert text.prompts.shape == (2, 256) and text.stages.shape == (2, 3, 256)
    assert torch.allclose(text.stages.norm(dim=-1), torch.ones(2, 3), atol=1e-5)
    assert not torch.allclose(text.stages[0, 0], text.stages[0, 2])


def test_random_towers_warn(caplog):
    with caplog.at_level(logging.WARNING):
        create_model("star-tiny")
    assert "randomly initialised" in caplog.text


ABLATIONS = {
    "no_tsa": {"tsa": {"enabled": False}},
    "no_sgf": {"sgf": {"enabled": False}},
    "no_asd": {"asd": {"enabled": False}},
    "no_acu": {"acu": {"enabled": False}},
    "no_stages": {"text": {"use_stages": False}},
    "bi_mhm": {"matching": {"method": "bi_mhm"}},
    "attention_map": {"tsa": {"map_mode": "attention"}},
    "acu_depth_4_odd_strides": {"acu": {"depth": 4}, "asd": {"strides": [1, 3]}},
}


@pytest.mark.parametrize("ablation", list(ABLATIONS))
def test_every_part_is_switchable(ablation):
    from star_model.nn.config import config_from_dict

    data = load_config("star-tiny").to_dict()
    for section, values in ABLATIONS[ablation].items():
        data[section].update(values)
    torch.manual_seed(0)
    model = STAR(config_from_dict(data))
    text = model.encode_text(NAMES)
    support, labels, query, qlabels = _episode_data(model.cfg.embed_dim, 5, 2)
    out = model.episode(support, labels, query, text, qlabels)
    out.loss.backward()
    assert out.logits.shape == (10, 5) and out.tsa_map.shape == (10, T, 5)
    if ablation == "no_tsa":
        assert model.tsa is None
    if ablation == "no_stages":
        assert text.stages.shape[1] == 0


def _stage_model(features: str) -> STAR:
    from star_model.nn.config import config_from_dict

    data = load_config("star-tiny").to_dict()
    data["matching"].update({"stage_weight": 2.0, "stage_features": features})
    torch.manual_seed(0)
    return STAR(config_from_dict(data))


def test_stage_order_on_tsa_frames_is_read_off_them_and_trains_tsa():
    frames_model, tsa_model = _stage_model("frames"), _stage_model("tsa")
    tsa_model.load_state_dict(frames_model.state_dict())
    with torch.no_grad():
        for p in tsa_model.tsa.parameters():  # move TSA off its zero-initialised start, the same in both
            p.add_(0.05 * torch.randn_like(p))
    frames_model.load_state_dict(tsa_model.state_dict())
    text = tsa_model.encode_text(NAMES)
    _, _, query, _ = _episode_data(tsa_model.cfg.embed_dim, 5, 1)
    with torch.no_grad():
        enhanced = tsa_model.tsa(query, text).frames
    assert not torch.allclose(enhanced, query, atol=1e-4)
    assert torch.allclose(tsa_model.stage_order(query, text), 2.0 * stage_order_distance(enhanced, text.stages), atol=1e-5)
    assert torch.allclose(frames_model.stage_order(query, text), 2.0 * stage_order_distance(query, text.stages), atol=1e-5)
    assert not frames_model.stage_order(query, text).requires_grad  # a fixed term: nothing of the head moves it
    tsa_model.stage_order(query, text).sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in tsa_model.tsa.parameters())


def test_missing_class_in_support_is_a_clear_error():
    model = create_model("star-tiny")
    text = model.encode_text(NAMES)
    support, labels, query, _ = _episode_data(model.cfg.embed_dim, 5, 1)
    with pytest.raises(ValueError, match="jump then squat"):
        model.episode(support[:3], labels[:3], query, text)


def test_models_and_their_copies_share_one_tokenizer():
    """Building a tokenizer parses 49k BPE merges and deep-copying one took 160 ms (a fine-tune trains a copy):
    every model of a process, whatever its context length, and every copy, uses the same one, and each
    tokenizes as open_clip's own tokenizer of its context length does."""
    import copy

    import open_clip

    from star_model.nn.backbone import shared_tokenizer

    tiny, rn50 = create_model("star-tiny"), create_model("star-rn50")
    assert shared_tokenizer(None) is shared_tokenizer("RN50") is shared_tokenizer()
    assert not any("tokenizer" in name.lower() for name in vars(tiny.backbone))  # nothing of it to copy
    texts = ["a video of waving", "squat then jump"]
    for model in (tiny, rn50, copy.deepcopy(tiny)):
        context = model.backbone.context_length
        assert torch.equal(model.backbone.tokenize(texts), open_clip.SimpleTokenizer(context_length=context)(texts))
    assert (tiny.backbone.context_length, rn50.backbone.context_length) == (32, 77)
