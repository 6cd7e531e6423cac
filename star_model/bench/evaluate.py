"""The few-shot benchmark: every head retrained over several seeds, early-stopped on meta-val, paired.

- **Towers**: the bundled model's frozen CLIP towers for every method, so the table compares heads.
- **Training**: each trainable head (the OTAM baseline, STAR, each STAR ablation) is meta-trained on the
  bundled recipe's meta-train clips, validated every ``val_every`` episodes on the 8 meta-val actions,
  stopped after ``patience`` validations without gain, and keeps the weights of its best validation
  (never a test number). 1-shot columns come from heads trained 1-shot, 5-shot columns from heads
  trained 5-shot.
- **Seeds, paired**: for seed s every method starts from torch seed s, trains on the same episodes
  (``TrainConfig.seed = s``) and is tested on the same test episodes (seeded by s). Cells are the mean
  ± sd over seeds; each STAR ablation gets a paired t-test against STAR over the seeds.
- **Test**: rendered clips of the 8 meta-test actions (seeds disjoint from training); order pairs are
  2-way episodes of two test actions with the same primitives in another order; the paraphrase column
  gives the test actions stage descriptors worded unlike the pretraining sentences
  (:mod:`star_model.bench.paraphrases`).

Evaluation of many episodes is grouped by the episode's class set: a method's support and query
sequences depend only on the clip, its label and the episode's class texts, so each clip is refined
once per class set and every episode with that set reuses it (exactly what ``STAR.episode`` computes).
"""
from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from star_model.bench.baselines import LABELS, METHODS, TRAINED, batched_distances, build_method
from star_model.bench.paraphrases import paraphrased_descriptors
from star_model.bench.pool import map_units
from star_model.data.episodes import EpisodePlan, fixed_episodes, stage_order_pairs
from star_model.nn.bundled import bundled_card, load_bundled
from star_model.nn.model import STAR
from star_model.synthetic import split_actions
from star_model.train.loop import TrainConfig, train
from star_model.train.recipes import check_recipe_keys, synthetic_source
from star_model.train.sources import FeatureSource

log = logging.getLogger(__name__)

Say = Callable[[str], None]
GOALS = {"star_minus_otam_1shot": 10.0, "order_pairs": 95.0}
COLUMNS = {"1shot": ("5-way 1-shot", 1), "5shot": ("5-way 5-shot", 5), "pairs1": ("order pairs 2-way 1-shot", 1),
           "pairs5": ("order pairs 2-way 5-shot", 5), "para1": ("5-way 1-shot, paraphrased descriptors", 1)}


@dataclass
class EvalSettings:
    """What the benchmark measures and how each head is trained (early-stopped on meta-val)."""

    episodes: int = 300
    seeds: int = 5
    max_steps: int = 200
    val_every: int = 50
    val_episodes: int = 60
    patience: int = 3
    clips: int = 20
    val_clips: int = 10
    way: int = 5
    queries: int = 3
    seed: int = 0
    recipe: dict = field(default_factory=dict)


@dataclass
class Row:
    """One method: per column, the accuracy of each seed; and the training steps of its best validations."""

    name: str
    accuracy: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    best_steps: list[int] = field(default_factory=list)


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
        order = method.order_distances(feats, text)
        for i in members:
            plan = plans[i]
            s_rows = torch.tensor([int(offset[c]) + k for c, k in plan.support])
            q_rows = torch.tensor([int(offset[c]) + k for c, k in plan.query])
            onehot = F.one_hot(plan.labels(plan.support), len(classes)).to(sup.dtype)
            protos = torch.einsum("kn,ktd->ntd", onehot, sup[s_rows]) / onehot.sum(0)[:, None, None]
            dist = batched_distances(qry[q_rows], protos, method.match, method.lam)
            dist = dist if order is None else dist + order[q_rows]
            acc[i] = float((dist.argmin(-1) == plan.labels(plan.query)).float().mean())
    return acc


def order_pair_plans(source: FeatureSource, shot: int, queries: int, episodes: int, seed: int) -> list[EpisodePlan]:
    """2-way episodes over the order pairs among ``source``'s classes (the same stage descriptors in another
    order, as training's order-pair episodes find them), ``episodes`` in all, pairs in turn."""
    pairs = stage_order_pairs(source.descriptors)
    if not pairs:
        raise ValueError(f"no order pairs among the actions {', '.join(source.names)}")
    plans = []
    for k, ids in enumerate(pairs):
        counts = [source.counts[c] if c in ids else 0 for c in range(len(source.names))]
        n = episodes // len(pairs) + (k < episodes % len(pairs))
        plans += fixed_episodes(counts, 2, shot, queries, n, seed + k)
    return plans


def _sources(towers: STAR, card: dict, settings: EvalSettings, say: Say) -> dict[str, FeatureSource]:
    """Test clips (and a copy with paraphrased descriptors), the bundled recipe's meta-train clips, meta-val clips."""
    T = towers.cfg.num_frames
    with torch.no_grad():
        say("embedding test, meta-train and meta-val clips")
        test = synthetic_source(towers, split_actions("test"), settings.clips, (settings.seed, 303), T)
        paraphrased = FeatureSource(test.names, [paraphrased_descriptors(n) for n in test.names], test.clips)
        train_set = synthetic_source(towers, split_actions("train"), card["meta_train_clips"], (card["seed"], 101),
                                     2 * T, 0.3)
        val = synthetic_source(towers, split_actions("val"), settings.val_clips, (settings.seed, 202), T)
    return {"test": test, "para": paraphrased, "train": train_set, "val": val}


def _plans(test: FeatureSource, settings: EvalSettings, seed: int) -> dict[str, list[EpisodePlan]]:
    """The test episodes of one seed, per column (the same for every method)."""
    base = 1000 * (settings.seed + 1) + 100 * seed
    five_way = {shot: fixed_episodes(test.counts, settings.way, shot, settings.queries, settings.episodes, base + shot)
                for shot in (1, 5)}
    return {"1shot": five_way[1], "5shot": five_way[5], "para1": five_way[1],
            "pairs1": order_pair_plans(test, 1, settings.queries, settings.episodes, base + 10),
            "pairs5": order_pair_plans(test, 5, settings.queries, settings.episodes, base + 50)}


_BENCH_TRAIN = ("steps", "shot", "warmup_steps", "val_every", "val_episodes", "patience", "seed", "amp")
"""Training settings the benchmark sets itself (from its own options), not a recipe."""


def check_recipe(recipe: dict) -> None:
    """Refuse a recipe whose config overrides or ``"train"`` settings name an unknown key, or a setting the
    benchmark sets itself (before anything runs)."""
    check_recipe_keys(recipe, _BENCH_TRAIN)


def train_head(module: torch.nn.Module, sources: dict[str, FeatureSource], settings: EvalSettings, shot: int,
               seed: int, recipe: Optional[dict] = None) -> int:
    """Meta-train ``module`` in place (best meta-val weights kept); returns the step of its best validation.

    ``recipe["train"]`` (if any) overrides :class:`TrainConfig` settings, e.g. ``{"pair_share": 0.5}``."""
    base = dict(steps=settings.max_steps, way=settings.way, shot=shot, query=4, lr=1e-3,
                warmup_steps=max(1, settings.max_steps // 10), val_every=settings.val_every,
                val_episodes=settings.val_episodes, patience=settings.patience, seed=seed, amp=False)
    cfg = TrainConfig(**{**base, **(recipe or {}).get("train", {})})
    result = train(module, sources["train"], sources["val"], cfg, restore_best=True)
    return int(result.best["step"]) if result.best else result.step


def _score(method, sources: dict[str, FeatureSource], plans: dict[str, list[EpisodePlan]], columns: Sequence[str],
           T: int) -> dict[str, float]:
    out = {}
    for key in columns:
        source = sources["para"] if key == "para1" else sources["test"]
        out[key] = float(episode_accuracies(method, source, plans[key], T).mean())
    return out


def _prepare(towers: Optional[STAR], card: Optional[dict], settings: EvalSettings, say: Say) -> dict:
    """What every seed of a run shares: towers (default: the bundled model), its card and the embedded clips."""
    towers = towers if towers is not None else load_bundled()
    card = card if card is not None else bundled_card()
    return {"towers": towers, "card": card, "settings": settings, "say": say,
            "sources": _sources(towers, card, settings, say)}


def _unit_scores(context: dict, unit: tuple[int, str]) -> tuple[dict[str, float], list[int]]:
    """One seed of one method: (column -> accuracy, best training steps)."""
    settings, sources, towers, say = context["settings"], context["sources"], context["towers"], context["say"]
    seed, name = unit
    plans = _plans(sources["test"], settings, seed)
    scores, steps = {}, []
    for shot in ((1, 5) if name in TRAINED else (None,)):
        torch.manual_seed(seed)  # seed s: the same initialisation and training episodes for every method
        method, module = build_method(name, towers, settings.recipe)
        if module is not None:
            steps.append(train_head(module, sources, settings, shot, seed, settings.recipe))
        columns = [k for k, (_, s) in COLUMNS.items() if shot is None or s == shot]
        scores.update(_score(method, sources, plans, columns, towers.cfg.num_frames))
    say(f"seed {seed}: {name} " + ", ".join(f"{k} {100 * v:.1f}" for k, v in scores.items()))
    return scores, steps


def run_benchmark(settings: EvalSettings, methods: Optional[Sequence[str]] = None, say: Optional[Say] = None,
                  towers: Optional[STAR] = None, card: Optional[dict] = None, jobs: int = 1) -> str:
    """Run everything and return the Markdown report (``towers``/``card`` default to the bundled model).

    ``jobs`` > 1 runs each method's seeds in that many worker processes (:func:`~star_model.bench.pool.map_units`);
    ``say`` must then be a module-level function.
    """
    say = say or log.info
    start = time.perf_counter()
    methods = list(methods or METHODS)
    units = [(seed, name) for seed in range(settings.seeds) for name in methods]
    rows = {name: Row(name) for name in methods}
    for (_, name), (scores, steps) in zip(units, map_units(_unit_scores, units, jobs, _prepare,
                                                            (towers, card, settings, say))):
        for key, value in scores.items():
            rows[name].accuracy[key].append(value)
        rows[name].best_steps += steps
    card = card if card is not None else bundled_card()
    threads = torch.get_num_threads()
    where = f"{jobs} processes x {max(1, threads // jobs)} thread(s)" if jobs > 1 else f"{threads} CPU thread(s)"
    return format_report(rows, settings, card, time.perf_counter() - start, where)


def paired_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided paired t-test p-value of seed-paired accuracies (nan with fewer than 2 pairs or no spread)."""
    from scipy.stats import ttest_rel

    if len(a) < 2 or np.allclose(np.subtract(a, b), np.mean(np.subtract(a, b))):
        return float("nan")
    return float(ttest_rel(a, b).pvalue)


def mean_sd_cell(values: Sequence[float]) -> str:
    """``mean ± sd`` over seeds, in percent ("-" when empty)."""
    if not values:
        return "-"
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return f"{100 * float(np.mean(values)):.1f} ± {100 * sd:.1f}"


def command_line(only: str, settings: EvalSettings) -> str:
    """The ``star-app eval`` command that reruns a benchmark with ``settings``."""
    recipe = f" --recipe '{json.dumps(settings.recipe)}'" if settings.recipe else ""
    return (f"star-app eval --only {only} --seeds {settings.seeds} --episodes {settings.episodes} "
            f"--max-steps {settings.max_steps} --clips {settings.clips} --seed {settings.seed}{recipe}")


def format_report(rows: dict[str, Row], settings: EvalSettings, card: dict, wall_s: float, where: str) -> str:
    """The Markdown report: accuracy table (mean ± sd over seeds), paired tests against STAR, goals."""
    lines = [
        "# Few-shot benchmark: synthetic action world, meta-test actions", "",
        f"Regenerate with `{command_line('fewshot', settings)}` (`--jobs N` runs it in N processes; the numbers do "
        "not depend on it).",
        "",
        f"- Heads: meta-trained on the bundled recipe's meta-train clips ({card.get('meta_train_clips')} per action), "
        f"at most {settings.max_steps} episodes, validated every {settings.val_every} on {settings.val_episodes} "
        f"meta-val episodes, stopped after {settings.patience} validations without gain, best weights kept; "
        "1-shot columns from 1-shot heads, 5-shot columns from 5-shot heads; the frozen towers of the bundled model.",
        f"- {settings.seeds} seeds, paired: seed s gives every method the same initialisation seed, training "
        f"episodes and test episodes ({settings.episodes} per column, {settings.way}-way, {settings.queries} queries "
        f"per class, {settings.clips} rendered clips per test action). Cells: mean ± sd over seeds. p: two-sided "
        "paired t-test against STAR (retrained here) over the seeds.",
        "- What is new at test time: the 8 meta-test *actions* (compositions of 1-3 primitives, in an order, that "
        "no training action has). What is not: their primitives, each of which occurs in meta-train actions, and "
        "(except in the paraphrase column) the stage-descriptor sentences, which the text tower saw in pretraining.",
        f"- STAR recipe (config overrides of the bundled model's, for STAR and every ablation): "
        f"{settings.recipe or 'none'}.",
        f"- Wall time of this run: {wall_s / 60:.1f} min on {where}.", "",
        "| Method | " + " | ".join(title for title, _ in COLUMNS.values())
        + " | p vs STAR (1-shot) | p vs STAR (5-shot) | best step (mean) |",
        "| --- |" + " --- |" * (len(COLUMNS) + 3),
    ]
    star = rows.get("star")
    for row in rows.values():
        tests = ["-", "-"]
        if star is not None and row.name.startswith("star_"):
            tests = [f"{paired_p(star.accuracy[k], row.accuracy[k]):.3f}" for k in ("1shot", "5shot")]
        steps = f"{np.mean(row.best_steps):.0f}" if row.best_steps else "-"
        lines.append(f"| {LABELS[row.name]} | " + " | ".join(mean_sd_cell(row.accuracy.get(k, [])) for k in COLUMNS)
                     + f" | {tests[0]} | {tests[1]} | {steps} |")
    return "\n".join(lines + ["", "The long-video labeling table is in [`long_video_benchmark.md`]"
                                   "(long_video_benchmark.md) (`star-app eval --only long`).",
                               "What this table shows part by part, and what it does not: "
                               "[`benchmark_notes.md`](benchmark_notes.md).", "", "## Goals", "",
                               *_goals(rows)]) + "\n"


def _switch(overrides: dict, prefix: str = "") -> str:
    """``{"sgf": {"enabled": False}}`` -> ``sgf.enabled = false`` (the config key an ablation sets)."""
    key, value = next(iter(overrides.items()))
    if isinstance(value, dict):
        return _switch(value, f"{prefix}{key}.")
    return f"{prefix}{key} = {json.dumps(value)}"


def _goals(rows: dict[str, Row]) -> list[str]:
    star, out = rows.get("star"), []
    if star is None:
        return out
    mean = {name: float(np.mean(row.accuracy["1shot"])) for name, row in rows.items() if row.accuracy.get("1shot")}
    for name, row in rows.items():
        if name.startswith("star_") and name != "star_bi_mhm":
            p = paired_p(star.accuracy["1shot"], row.accuracy["1shot"])
            ahead = mean["star"] > mean[name] and p < 0.05
            out.append(f"- STAR ahead of {LABELS[name]} (5-way 1-shot, paired p < 0.05): "
                       f"{100 * (mean['star'] - mean[name]):+.1f} points, p = {p:.3f}, {'met' if ahead else 'NOT met'} "
                       f"(switch: `{_switch(METHODS[name])}`).")
    if "otam" in mean:
        gap = 100 * (mean["star"] - mean["otam"])
        out.append(f"- STAR >= OTAM baseline + {GOALS['star_minus_otam_1shot']:g} points (5-way 1-shot): {gap:+.1f}, "
                   f"{'met' if gap >= GOALS['star_minus_otam_1shot'] else 'NOT met'}.")
    pair = 100 * float(np.mean(star.accuracy["pairs1"]))
    out.append(f"- STAR >= {GOALS['order_pairs']:g} % on order pairs (2-way 1-shot): {pair:.1f} %, "
               f"{'met' if pair >= GOALS['order_pairs'] else 'NOT met'}.")
    return out
