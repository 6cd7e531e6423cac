"""The benchmark's pieces: the paired test, grouped episode evaluation, baselines, the report."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from star_model import create_model
from star_model.bench.baselines import METHODS, OtamBaseline, ProtoNet, StarMethod, batched_distances, build_method
from star_model.bench.evaluate import (EvalSettings, _prepare, _unit_scores, episode_accuracies, paired_p,
                                       run_benchmark)
from star_model.data.episodes import fixed_episodes
from star_model.train.sources import FeatureSource

T, D = 8, 256


def test_paired_p_tells_a_consistent_difference_from_noise():
    base = [0.80, 0.82, 0.79, 0.81, 0.83]
    assert paired_p(base, [b - 0.05 + 0.002 * k for k, b in enumerate(base)]) < 0.001
    noisy = [b + d for b, d in zip(base, [0.02, -0.03, 0.01, -0.01, 0.02])]
    assert paired_p(base, noisy) > 0.3
    assert math.isnan(paired_p(base, [b - 0.01 for b in base]))  # the same difference every seed: no spread
    assert math.isnan(paired_p([0.5], [0.4]))


def _source(separable: bool, classes: int = 6, clips: int = 6) -> FeatureSource:
    gen = torch.Generator().manual_seed(0)
    centres = F.normalize(torch.randn(classes, D, generator=gen), dim=-1)
    data = []
    for c in range(classes):
        noise = torch.randn(clips, T, D, generator=gen)
        feats = centres[c] * 3 + 0.3 * noise if separable else noise
        data.append([F.normalize(x, dim=-1) for x in feats])
    return FeatureSource([f"action {c}" for c in range(classes)], [None] * classes, data)


@pytest.fixture(scope="module")
def towers():
    torch.manual_seed(0)
    return create_model("star-tiny")


def test_protonet_and_otam_baseline_separate_easy_classes_and_not_noise(towers):
    plans = fixed_episodes([6] * 6, 5, 1, 2, 40, seed=1)
    for name in ("protonet", "otam"):
        method, _ = build_method(name, towers)
        assert episode_accuracies(method, _source(True), plans, T).mean() == 1.0
        assert episode_accuracies(method, _source(False), plans, T).mean() < 0.5


def _perturb(module: torch.nn.Module) -> None:
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if not name.startswith("backbone."):
                p.add_(0.05 * torch.randn(p.shape, generator=gen))


@pytest.mark.parametrize("name, recipe", [("star", {}), ("otam", {}), ("star", {"matching": {"stage_weight": 2.0}})])
def test_grouped_evaluation_equals_the_models_own_episode(towers, name, recipe):
    """Refining each clip once per class set must give exactly what ``episode`` gives."""
    method, module = build_method(name, towers, recipe)
    net = module if module is not None else towers
    _perturb(net)
    source = _source(False)
    plan = fixed_episodes(source.counts, 5, 2, 2, 1, seed=4)[0]
    batch = source.batch(net, plan, T, None)
    with torch.no_grad():
        logits = net.episode(batch.support, batch.support_labels, batch.query, batch.text).logits
    expected = float((logits.argmax(-1) == batch.query_labels).float().mean())
    assert episode_accuracies(method, source, [plan], T)[0] == pytest.approx(expected)
    sup = method.support_sequences(batch.support, batch.support_labels, batch.text)
    protos = torch.stack([sup[batch.support_labels == c].mean(0) for c in range(5)])
    with torch.no_grad():
        mine = -batched_distances(method.query_sequences(batch.query, batch.text), protos, method.match, method.lam)
        order = method.order_distances(batch.query, batch.text)
    assert (order is not None) == bool(recipe)
    assert torch.allclose(mine if order is None else mine - order, logits, atol=1e-4)


def test_otam_baseline_trains_its_head_only(towers):
    head = OtamBaseline(towers.cfg, towers.backbone)
    source = _source(True)
    batch = source.batch(head, fixed_episodes(source.counts, 5, 1, 2, 1, seed=0)[0], T, None)
    out = head.episode(batch.support, batch.support_labels, batch.query, batch.text, batch.query_labels)
    out.loss.backward()
    assert out.logits.shape == (10, 5) and torch.isfinite(out.loss)
    assert head.layer.self_attn.in_proj_weight.grad is not None
    assert all(p.grad is None for p in towers.backbone.parameters())
    assert isinstance(build_method("protonet", towers)[0], ProtoNet)
    assert isinstance(build_method("star_no_tsa", towers)[0], StarMethod)


TINY = EvalSettings(episodes=6, seeds=2, max_steps=2, val_every=1, val_episodes=2, patience=1, clips=3, val_clips=2,
                    queries=1)


def test_tiny_benchmark_run_writes_the_table(towers):
    card = {"seed": 0, "meta_train_clips": 2}
    text = run_benchmark(TINY, ["protonet", "otam", "shipped", "star", "star_no_sgf"], say=lambda m: None,
                         towers=towers, card=card)
    assert "| ProtoNet (mean frame feature, cosine) |" in text and "| STAR as shipped" in text
    assert "| OTAM baseline" in text and "| STAR (retrained here) |" in text and "| STAR without SGF |" in text
    assert "long_video_benchmark.md" in text and "## Goals" in text and "paraphrased" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "±" in line]
    assert len(rows) == 5 and all(line.count("±") == 5 for line in rows)
    sgf = next(r for r in rows if "without SGF" in r).split(" | ")
    assert sgf[-2] != "-" and sgf[-1].strip(" |") != "-"  # a paired test against STAR, and its best steps
    assert "STAR ahead of STAR without SGF" in text


def test_every_part_of_star_has_an_ablation_row():
    assert {"star_no_tsa", "star_no_sgf", "star_no_asd", "star_no_acu", "star_no_stages", "star_bi_mhm"} <= set(METHODS)


def test_a_benchmark_run_does_not_depend_on_the_random_state_it_starts_in(towers):
    card = {"seed": 0, "meta_train_clips": 2}
    settings = EvalSettings(episodes=20, seeds=1, max_steps=3, val_every=1, val_episodes=2, clips=3, val_clips=2,
                            queries=2)

    def rows(seed: int) -> list[str]:
        torch.manual_seed(seed)  # whatever ran before: the heads must start from the run's own seed
        text = run_benchmark(settings, ["otam"], say=lambda m: None, towers=towers, card=card)
        return [line for line in text.splitlines() if "±" in line]

    assert rows(1) == rows(2)


def test_a_units_scores_do_not_depend_on_what_ran_before_it_in_its_process(towers):
    """A worker runs units in whatever order the pool hands them out: each must score as if it ran alone."""
    card = {"seed": 0, "meta_train_clips": 2}
    settings = EvalSettings(episodes=20, seeds=1, max_steps=6, val_every=1, val_episodes=6, patience=3, clips=3,
                            val_clips=2, queries=2, recipe={"matching": {"stage_weight": 2.0}})  # validation uses stages

    def scores(units: list[tuple[int, str]]) -> tuple[dict, list[int]]:
        context = _prepare(towers, card, settings, lambda m: None)
        return [_unit_scores(context, unit) for unit in units][-1]

    alone = scores([(0, "star")])
    assert scores([(0, "otam"), (0, "star")]) == alone
    assert scores([(0, "star_no_stages"), (0, "star")]) == alone
