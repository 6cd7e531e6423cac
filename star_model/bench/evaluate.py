"""The few-shot benchmark: accuracy with 95 % confidence intervals, order pairs (long videos: ``long_eval``).

All methods share the bundled model's frozen CLIP towers. The trainable heads (the OTAM
baseline, the STAR ablations) are meta-trained with the bundled STAR head's own budget and
data (its model card's ``meta_train`` settings, the same rendered meta-train clips), so the
table compares heads, not towers. Test clips are rendered from seeds disjoint from training.

Evaluation of many episodes is grouped by the episode's class set: a method's support and query
sequences depend only on the clip, its label and the episode's class texts, so each clip is
refined once per class set and every episode with that set reuses it (exactly what
``STAR.episode`` computes, far fewer forward passes).
"""
from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass, fields
from typing import Callable, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from star_model.bench.baselines import LABELS, METHODS, batched_distances, build_method
from star_model.data.episodes import EpisodePlan, fixed_episodes
from star_model.nn.bundled import bundled_card, load_bundled
from star_model.nn.model import STAR
from star_model.synthetic import get_action, order_pairs, split_actions
from star_model.train.loop import TrainConfig, train
from star_model.train.recipes import synthetic_source
from star_model.train.sources import FeatureSource

log = logging.getLogger(__name__)

Say = Callable[[str], None]
GOALS = {"star_minus_otam_1shot": 3.0, "order_pairs": 90.0}


@dataclass
class EvalSettings:
    """What the benchmark measures; ``train_steps`` None takes the bundled model's budget."""

    episodes: int = 1000
    train_steps: Optional[int] = None
    clips: int = 30
    way: int = 5
    queries: int = 3
    seed: int = 0


def mean_ci(values: Sequence[float], z: float = 1.96) -> tuple[float, float]:
    """Mean and the half-width of its normal-approximation confidence interval (z = 1.96: 95 %)."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) < 2:
        return float(x.mean()) if len(x) else float("nan"), float("nan")
    return float(x.mean()), float(z * x.std(ddof=1) / math.sqrt(len(x)))


@torch.no_grad()
def episode_accuracies(method, source: FeatureSource, plans: Sequence[EpisodePlan], T: int) -> np.ndarray:
    """(E,) query accuracy of each episode; sequences computed once per distinct class set."""
    acc = np.zeros(len(plans))
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for i, plan in enumerate(plans):
        groups[tuple(plan.classes)].append(i)
    full = method.encode_text(source.names, source.descriptors)
    for classes, members in groups.items():
        text = full.select(torch.tensor(classes))
        feats = torch.cat([torch.stack([source.clip_tensor(c, i, T, None) for i in range(source.counts[c])])
                           for c in classes])
        local = torch.cat([torch.full((source.counts[c],), j) for j, c in enumerate(classes)])
        offset = dict(zip(classes, np.cumsum([0] + [source.counts[c] for c in classes[:-1]])))
        sup = method.support_sequences(feats, local, text)
        qry = method.query_sequences(feats, text)
        for i in members:
            plan = plans[i]
            s_rows = torch.tensor([int(offset[c]) + k for c, k in plan.support])
            q_rows = torch.tensor([int(offset[c]) + k for c, k in plan.query])
            onehot = F.one_hot(plan.labels(plan.support), len(classes)).to(sup.dtype)
            protos = torch.einsum("kn,ktd->ntd", onehot, sup[s_rows]) / onehot.sum(0)[:, None, None]
            dist = batched_distances(qry[q_rows], protos, method.match, method.lam)
            acc[i] = float((dist.argmin(-1) == plan.labels(plan.query)).float().mean())
    return acc


def order_pair_plans(source: FeatureSource, shot: int, queries: int, episodes: int, seed: int) -> list[EpisodePlan]:
    """2-way episodes over the order pairs among ``source``'s classes, ``episodes`` in all, pairs in turn."""
    index = {n: i for i, n in enumerate(source.names)}
    pairs = order_pairs([get_action(n) for n in source.names])
    if not pairs:
        raise ValueError("no order pairs among the test actions")
    plans = []
    for k, (a, b) in enumerate(pairs):
        ids = sorted((index[a.name], index[b.name]))
        counts = [source.counts[c] if c in ids else 0 for c in range(len(source.names))]
        n = episodes // len(pairs) + (k < episodes % len(pairs))
        plans += fixed_episodes(counts, 2, shot, queries, n, seed + k)
    return plans


def train_head(name: str, module: torch.nn.Module, train_set: FeatureSource, cfg: TrainConfig, say: Say) -> float:
    """Meta-train ``module`` (no validation); returns the wall time in seconds."""
    start = time.perf_counter()

    def on_step(step: int, total: int, metrics: dict) -> None:
        if step % 50 == 0 or step == total:
            say(f"  {name}: step {step}/{total} loss {metrics['loss']:.3f} ({time.perf_counter() - start:.0f} s)")

    source = FeatureSource(train_set.names, train_set.descriptors, train_set.clips)  # own text-bank cache
    train(module, source, None, cfg, on_step)
    module.eval()
    return time.perf_counter() - start


def _fmt(mean: float, half: float) -> str:
    return f"{100 * mean:.1f} ± {100 * half:.1f}"


def run_benchmark(settings: EvalSettings, methods: Optional[Sequence[str]] = None, say: Optional[Say] = None,
                  towers: Optional[STAR] = None, card: Optional[dict] = None) -> str:
    """Run everything and return the Markdown report (``towers``/``card`` default to the bundled model)."""
    say = say or log.info
    start = time.perf_counter()
    methods = list(methods or METHODS)
    towers = towers if towers is not None else load_bundled()
    card = card if card is not None else bundled_card()
    T = towers.cfg.num_frames
    known = {f.name for f in fields(TrainConfig)}
    tcfg = TrainConfig(**{k: v for k, v in card["meta_train"].items() if k in known})
    if settings.train_steps is not None:
        tcfg.steps = settings.train_steps
    say("embedding test clips")
    with torch.no_grad():
        test = synthetic_source(towers, split_actions("test"), settings.clips, (settings.seed, 303), T)
        train_set = None
        if any(m not in ("star", "protonet") for m in methods):
            say("embedding meta-train clips (the bundled model's training data)")
            train_set = synthetic_source(towers, split_actions("train"), card["meta_train_clips"],
                                         (card["seed"], 101), 2 * T, 0.3)
    plans = {shot: fixed_episodes(test.counts, settings.way, shot, settings.queries, settings.episodes,
                                  settings.seed + shot) for shot in (1, 5)}
    pair_plans = {shot: order_pair_plans(test, shot, settings.queries, settings.episodes, settings.seed + 10 * shot)
                  for shot in (1, 5)}
    results: dict[str, dict] = {}
    for name in methods:
        torch.manual_seed(settings.seed)  # each head starts from the same seeded initialisation in every run
        method, module = build_method(name, towers)
        if module is not None:
            say(f"meta-training {name} ({tcfg.steps} episodes)")
            train_head(name, module, train_set, tcfg, say)
        columns = {**{f"{shot}shot": plans[shot] for shot in (1, 5)},
                   **{f"pairs{shot}": pair_plans[shot] for shot in (1, 5)}}
        acc = episode_accuracies(method, test, [p for ps in columns.values() for p in ps], T)  # one pass per class set
        bounds = np.cumsum([0] + [len(ps) for ps in columns.values()])
        row = {key: mean_ci(acc[a:b]) for key, a, b in zip(columns, bounds[:-1], bounds[1:])}
        results[name] = row
        say(f"{name}: " + ", ".join(f"{k} {_fmt(*v)}" for k, v in row.items()))
    return format_report(results, settings, tcfg, card, time.perf_counter() - start)


def format_report(results: dict, settings: EvalSettings, tcfg: TrainConfig, card: dict,
                  wall_s: float) -> str:
    """The Markdown report: accuracy table and goals."""
    lines = [
        "# Benchmark: synthetic action world, meta-test actions",
        "",
        "Regenerate with `star-app eval --only fewshot` "
        "(or `.venv/bin/python -m star_model.cli.eval eval --only fewshot`).",
        "",
        f"- Towers: the bundled model's CLIP towers (frozen) for every method; the STAR row is the bundled model "
        f"as shipped. Trainable heads: {tcfg.steps} meta-training episodes each ({tcfg.way}-way {tcfg.shot}-shot, "
        f"{tcfg.query} queries/class, lr {tcfg.lr:g}, seed {tcfg.seed}), on the bundled model's meta-train clips.",
        f"- Test: {settings.episodes} episodes per column, {settings.way}-way ({settings.queries} queries per class) "
        f"over the 8 meta-test actions, {settings.clips} rendered clips per action (seeds disjoint from training); "
        "mean accuracy ± 95 % confidence interval (1.96 · sd / sqrt(episodes)).",
        f"- Order pairs: 2-way episodes of each pair of test actions made of the same primitives in a different "
        f"order ({settings.episodes} episodes, pairs in turn).",
        f"- Wall time of this run: {wall_s / 60:.1f} min; bundled model seed {card.get('seed')}.",
        "",
        "| Method | 5-way 1-shot | 5-way 5-shot | order pairs 2-way 1-shot | order pairs 2-way 5-shot |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, row in results.items():
        lines.append(f"| {LABELS[name]} | {_fmt(*row['1shot'])} | {_fmt(*row['5shot'])} | "
                     f"{_fmt(*row['pairs1'])} | {_fmt(*row['pairs5'])} |")
    lines += [
        "",
        "The long-video labeling table is in [`long_video_benchmark.md`](long_video_benchmark.md) "
        "(`star-app eval --only long`).",
        "",
        "## Goals",
        "",
    ]
    if "star" in results and "otam" in results:
        gap = 100 * (results["star"]["1shot"][0] - results["otam"]["1shot"][0])
        met = "met" if gap >= GOALS["star_minus_otam_1shot"] else "NOT met"
        lines.append(f"- STAR >= OTAM baseline + 3 points (5-way 1-shot): {gap:+.1f} points, {met}.")
    if "star" in results:
        pair = 100 * results["star"]["pairs1"][0]
        lines.append(f"- STAR >= 90 % on order pairs (2-way 1-shot): {pair:.1f} %, "
                     f"{'met' if pair >= GOALS['order_pairs'] else 'NOT met'}.")
    return "\n".join(lines) + "\n"
