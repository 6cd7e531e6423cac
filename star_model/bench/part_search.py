"""Which STAR recipe to ship: candidate settings of STAR's parts, meta-trained and scored on meta-val only.

Every candidate is a set of config overrides on the bundled model's config (a gate that starts open, a
learning-rate boost on ASD's stride-mix weights, a shallower, narrower or regularised ACU, a stage-order term in the
matching, read off the towers' or TSA's frames) or, under ``"train"``,
training settings (episodes built around order pairs), meta-trained 5-way 1-shot by the benchmark's code path
(early-stopped on the meta-val clips) and then scored on *other* rendered clips of the meta-val actions, 5-way
and on the meta-val order pairs, so the choice never sees a meta-test action. Seeds are paired as in the
benchmark; each candidate gets a paired t-test against the bundled recipe on the mean of the two scores.
"""
from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from star_model.bench.baselines import build_method
from star_model.bench.evaluate import (EvalSettings, command_line, episode_accuracies, mean_sd_cell, order_pair_plans,
                                       paired_p, train_head)
from star_model.bench.pool import map_units
from star_model.data.episodes import fixed_episodes
from star_model.nn.bundled import bundled_card, load_bundled, read_card
from star_model.nn.model import STAR
from star_model.synthetic import split_actions
from star_model.train.recipes import synthetic_source

Say = Callable[[str], None]
CANDIDATES: dict[str, dict] = {
    "bundled recipe": {},
    "SGF gate starts open (0.1)": {"sgf": {"gate_init": 0.1}},
    "ASD mix weights at 10x learning rate": {"asd": {"mix_lr_scale": 10.0}},
    "ACU depth 1": {"acu": {"depth": 1}},
    "ACU expansion 1": {"acu": {"mamba": {"expand": 1}}},
    "ACU dropout 0.1": {"acu": {"dropout": 0.1}},
    "order-pair episodes 0.5": {"train": {"pair_share": 0.5}},
    "order-pair episodes 1.0": {"train": {"pair_share": 1.0}},
    "stage order 2": {"matching": {"stage_weight": 2.0}},
    "stage order 4": {"matching": {"stage_weight": 4.0}},
    "stage order 4 + order-pair episodes 0.5": {"matching": {"stage_weight": 4.0}, "train": {"pair_share": 0.5}},
    "stage order 2 + order-pair episodes 0.5": {"matching": {"stage_weight": 2.0}, "train": {"pair_share": 0.5}},
    "stage order 2 on TSA frames": {"matching": {"stage_weight": 2.0, "stage_features": "tsa"}},
    "stage order 2 on TSA frames + order-pair episodes 0.5": {"matching": {"stage_weight": 2.0, "stage_features": "tsa"},
                                                              "train": {"pair_share": 0.5}},
    "TSA off": {"tsa": {"enabled": False}},
}


def _prepare(settings: EvalSettings, say: Say, towers: Optional[STAR], card: Optional[dict]) -> dict:
    towers = towers if towers is not None else load_bundled()
    card = card if card is not None else bundled_card()
    T = towers.cfg.num_frames
    with torch.no_grad():
        say("embedding meta-train and meta-val clips")
        train_set = synthetic_source(towers, split_actions("train"), card["meta_train_clips"], (card["seed"], 101),
                                     2 * T, 0.3)
        val = synthetic_source(towers, split_actions("val"), settings.val_clips, (settings.seed, 202), T)
        score = synthetic_source(towers, split_actions("val"), settings.clips, (settings.seed, 404), T)
    return {"towers": towers, "settings": settings, "say": say,
            "sources": {"train": train_set, "val": val, "score": score}}


@torch.no_grad()
def _diagnostics(module: torch.nn.Module) -> dict[str, float]:
    """How far the parts moved from their start: mean |tanh(SGF gate)|, the largest ASD mix weight."""
    out = {}
    refiner = module.refiner
    if refiner.sgf is not None:
        out["gate"] = float(torch.tanh(refiner.sgf.gate).abs().mean())
    if refiner.asd is not None:
        out["mix"] = float(refiner.asd.mix.softmax(0).max())
    return out


def _unit_score(context: dict, unit: tuple[int, str, dict]) -> tuple[tuple[float, float], int, dict]:
    """One seed of one candidate: ((meta-val 5-way, meta-val order pairs accuracy), best training step,
    diagnostics)."""
    settings, sources, towers, say = context["settings"], context["sources"], context["towers"], context["say"]
    seed, name, recipe = unit
    score, T = sources["score"], towers.cfg.num_frames
    plans = fixed_episodes(score.counts, settings.way, 1, settings.queries, settings.episodes, 7000 + seed)
    pair_plans = order_pair_plans(score, 1, settings.queries, settings.episodes, 8000 + seed)
    torch.manual_seed(seed)
    method, module = build_method("star", towers, recipe)
    step = train_head(module, sources, settings, 1, seed, recipe)
    acc = (float(episode_accuracies(method, score, plans, T).mean()),
           float(episode_accuracies(method, score, pair_plans, T).mean()))
    say(f"seed {seed}: {name}: meta-val 5-way 1-shot {100 * acc[0]:.1f}, order pairs {100 * acc[1]:.1f} "
        f"(best step {step})")
    return acc, step, _diagnostics(module)


def run_search(settings: EvalSettings, candidates: Optional[dict[str, dict]] = None, say: Optional[Say] = None,
               jobs: int = 1, towers: Optional[STAR] = None, card: Optional[dict] = None,
               model: Optional[Path] = None) -> str:
    """Meta-train every candidate over ``settings.seeds`` paired seeds; the Markdown report of meta-val scores.

    ``settings.clips``: the scored clips per meta-val action; ``towers``/``card`` default to the bundled model,
    or to the bundled model file ``model`` (its towers and card; the report names it).
    """
    say = say or (lambda message: None)
    if model is not None:
        if not Path(model).is_file():
            raise FileNotFoundError(f"--model {model}: no such file; give a model file written by star-app bundle")
        towers, card = load_bundled("cpu", Path(model)), read_card(Path(model))
    candidates = dict(candidates or CANDIDATES)
    start = time.perf_counter()
    units = [(seed, name, recipe) for seed in range(settings.seeds) for name, recipe in candidates.items()]
    results = map_units(_unit_score, units, jobs, _prepare, (settings, say, towers, card))
    acc, pairs, steps, diag = defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list)
    for (_, name, _), ((value, pair), step, moved) in zip(units, results):
        acc[name].append(value)
        pairs[name].append(pair)
        steps[name].append(step)
        diag[name].append(moved)
    return format_search(candidates, acc, pairs, steps, diag, settings, time.perf_counter() - start, jobs,
                         (model, card) if model is not None else None)


def _mean_of(diags: Sequence[dict], key: str) -> str:
    values = [d[key] for d in diags if key in d]
    return f"{np.mean(values):.3f}" if values else "-"


def format_search(candidates: dict[str, dict], acc: dict[str, list[float]], pairs: dict[str, list[float]],
                  steps: dict[str, list[int]], diag: dict[str, list[dict]], settings: EvalSettings, wall_s: float,
                  jobs: int, model: Optional[tuple[Path, dict]] = None) -> str:
    """The search table, and which recipe wins: the best mean of the two meta-val scores (5-way 1-shot, order
    pairs), and the bundled recipe unless that candidate is significantly ahead on it (paired, p < 0.05).

    ``model``: (file, card) of the model whose towers were used, when not the shipped one."""
    base = next(iter(candidates))
    both = {n: list(np.add(acc[n], pairs[n]) / 2) for n in candidates}
    rerun = command_line("search", settings)
    if list(candidates) != list(CANDIDATES):
        rerun += f" --candidates '{','.join(candidates)}'"
    if model is not None:
        rerun += f" --model {model[0]}"
    lines = [
        "# Which STAR recipe to ship: a search on meta-val", "",
        f"Regenerate with `{rerun}`. Each candidate is meta-trained 5-way 1-shot exactly "
        "as in the "
        f"benchmark (at most {settings.max_steps} episodes, early-stopped on {settings.val_clips} clips per meta-val "
        f"action) over {settings.seeds} paired seeds, then scored on {settings.episodes} 5-way 1-shot episodes and "
        f"{settings.episodes} 2-way 1-shot episodes of the meta-val order pairs, of {settings.clips} *other* rendered "
        f"clips per meta-val action. No meta-test action is used. Score: the mean of the two; p: paired t-test of "
        f"the score against the {base}. |gate|: mean |tanh| of SGF's gate after training; mix: ASD's largest stride "
        f"weight (1/3 = uniform).",
        *([f"- Towers: `{model[0]}`, not the shipped model's (built by: `{model[1].get('command')}`)."]
          if model is not None else []),
        f"- Wall time: {wall_s / 60:.1f} min ({jobs} process(es)).", "",
        "| Candidate | overrides | meta-val 5-way 1-shot | meta-val order pairs 2-way 1-shot | score | p vs bundled "
        "| best step (mean) | gate | mix |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, recipe in candidates.items():
        p = "-" if name == base else f"{paired_p(both[name], both[base]):.3f}"
        lines.append(f"| {name} | `{recipe or '{}'}` | {mean_sd_cell(acc[name])} | {mean_sd_cell(pairs[name])} | "
                     f"{mean_sd_cell(both[name])} | {p} | {np.mean(steps[name]):.0f} | "
                     f"{_mean_of(diag[name], 'gate')} | {_mean_of(diag[name], 'mix')} |")
    best = max(candidates, key=lambda n: np.mean(both[n]))
    significant = best != base and paired_p(both[best], both[base]) < 0.05
    choice = best if significant else base
    lines += ["", f"Chosen: **{choice}** (`{candidates[choice] or '{}'}`): "
              + ("the best mean score, significantly ahead of the bundled recipe." if significant else
                 f"no candidate is significantly ahead of the bundled recipe (best mean score: {best})."), ""]
    return "\n".join(lines)
