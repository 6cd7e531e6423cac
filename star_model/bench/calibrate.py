"""``star-app calibrate``: fit labeling's calibration on long videos of the validation actions only.

1. Render (or reuse) the validation long-video set (:mod:`star_model.bench.long_data`).
2. The activity model: a logistic fit of each frame's cues (:mod:`star_model.engine.activity`) to
   whether it lies in an action, over every validation video.
3. The search's knobs: a coordinate search over :class:`DecoderConfig`'s weights maximising the mean
   of F1@50 and frame accuracy over 1, 3 and 5 examples per action (two draws each), with examples
   whole and trimmed to their action; then the text-only knobs, on zero-shot runs (no examples).
4. The confidence model: logistic fits of each segment's features to whether its label is right.

The test actions and videos are never used. The result is written to ``labeling_calibration.json``.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from star_model.bench.long_data import LongSetRecipe, LongVideoCase, draw_examples, load_cases, render_long_set
from star_model.engine.activity import CUES, ActivityModel, activity_cues
from star_model.engine.bank import build_bank
from star_model.engine.calibration import LabelingCalibration, load_calibration
from star_model.engine.confidence import ACTION_FEATURES, BACKGROUND_FEATURES, ConfidenceModel
from star_model.engine.decoder import DecoderConfig
from star_model.engine.features import FrameEmbedder
from star_model.engine.logistic import fit_logistic
from star_model.engine.metrics import f1_at, frame_accuracy
from star_model.engine.segmentation import Evidence, cut_parts, gather_evidence
from star_model.nn.model import STAR
from star_model.schema import BACKGROUND, LabelingParams

Say = Callable[[str], None]
SEARCH = {"tau": (0.1, 0.2, 0.4), "w_star": (0.5, 1.0, 2.0), "w_vt": (0.0, 0.5, 1.0), "w_dur": (1.0, 2.0, 4.0),
          "w_act": (0.5, 1.0, 2.0), "bias": (-2.0, 0.0, 2.0)}
SEARCH_TEXT = {"w_text": (0.5, 1.0, 2.0, 4.0), "text_only_mean_s": (1.5, 2.0, 3.0), "text_only_log_sd": (0.5, 0.7, 1.0)}
SETTINGS = [(shots, draw, tight) for shots in (1, 3, 5) for draw in (0, 1) for tight in (False, True)]
ZERO_SHOT = [(0, 0, False)]


@dataclass
class Labeled:
    """One (examples setting, video): what the search sees, the truth, and the action names."""

    evidence: Evidence
    truth: list[str]
    names: list[str]


def fit_activity(model: STAR, embedder: FrameEmbedder, out: Path, manifest: dict,
                 cases: Sequence[LongVideoCase], rate: float) -> ActivityModel:
    """The activity model fitted on every frame of ``cases`` (the action text of 5 examples per action)."""
    bank = build_bank(model, embedder, draw_examples(out, manifest, 5, 0, False))
    cues = [activity_cues(c.features.feats, rate, bank.text(), bank.rest_text()) for c in cases]
    truth = [np.array([t != BACKGROUND for t in c.truth]) for c in cases]
    weights, bias = fit_logistic(np.concatenate(cues), np.concatenate(truth))
    return ActivityModel(tuple(float(w) for w in weights), bias)


def gather(model: STAR, embedder: FrameEmbedder, out: Path, manifest: dict, cases: Sequence[LongVideoCase],
           cal: LabelingCalibration, rate: float, say: Say,
           settings: Sequence[tuple] = tuple(SETTINGS)) -> dict[tuple, list[Labeled]]:
    """The evidence of every validation video under every examples setting (shots, draw, tight)."""
    runs: dict[tuple, list[Labeled]] = {}
    for setting in settings:
        shots, draw, tight = setting
        bank = build_bank(model, embedder, draw_examples(out, manifest, shots, draw, tight), trim_rest=not tight)
        params = LabelingParams(rate=rate, trim_rest=not tight)
        runs[setting] = [Labeled(gather_evidence(model, bank, c.features, params, cal), c.truth, list(bank.names))
                         for c in cases]
        say(f"evidence for {shots or 'no'} example(s), draw {draw}{', tight' if tight else ''}")
    return runs


def _labels(run: Labeled, cfg: DecoderConfig) -> list[str]:
    cut, _, _ = run.evidence.decide(cfg)
    classes = run.names + [BACKGROUND]
    return [classes[i] for i in cut.labels]


def objective(runs: dict[tuple, list[Labeled]], cfg: DecoderConfig) -> float:
    """Mean over settings and videos of (F1@50 + frame accuracy) / 2."""
    values = []
    for labeled in runs.values():
        for run in labeled:
            pred = _labels(run, cfg)
            values.append((f1_at(pred, run.truth, 0.5) + frame_accuracy(pred, run.truth)) / 2)
    return float(np.mean(values))


def search_decoder(runs: dict[tuple, list[Labeled]], start: DecoderConfig, say: Say, rounds: int = 2,
                   space: Optional[dict] = None) -> DecoderConfig:
    """Coordinate search over ``space`` (default :data:`SEARCH`), from ``start``; returns the best configuration."""
    best_cfg, best = start, objective(runs, start)
    say(f"decoder search: start {best:.4f}")
    for _ in range(rounds):
        improved = False
        for key, values in (space or SEARCH).items():
            for value in values:
                if value == getattr(best_cfg, key):
                    continue
                cfg = replace(best_cfg, **{key: value})
                score = objective(runs, cfg)
                if score > best + 1e-4:
                    best_cfg, best, improved = cfg, score, True
                    say(f"decoder search: {key}={value} -> {best:.4f}")
        if not improved:
            break
    return best_cfg


def fit_confidence(runs: dict[tuple, list[Labeled]], cfg: DecoderConfig) -> ConfidenceModel:
    """Logistic fits of segment features to whether the segment's label is the majority of its true frames,
    for action segments, background stretches and text-only actions' segments."""
    rows: dict[str, list[tuple[np.ndarray, bool]]] = {"action": [], "background": [], "text": []}
    for labeled in runs.values():
        for run in labeled:
            cut, scores, prior = run.evidence.decide(cfg)
            classes = run.names + [BACKGROUND]
            known = run.evidence.with_examples
            for part in cut_parts(run.evidence, cut, scores, prior, cfg.tau):
                majority = Counter(run.truth[part.start:part.end]).most_common(1)[0][0]
                kind = "background" if part.label >= len(run.names) else ("action" if known[part.label] else "text")
                rows[kind].append((part.features, majority == classes[part.label]))
    fitted = {}
    for kind, pairs in rows.items():
        width = len(BACKGROUND_FEATURES if kind == "background" else ACTION_FEATURES)
        x = np.array([p for p, _ in pairs]).reshape(-1, width)
        weights, bias = fit_logistic(x, np.array([y for _, y in pairs], dtype=float)) if pairs else (np.zeros(width), 0.0)
        fitted[kind] = (tuple(float(w) for w in weights), float(bias))
    return ConfidenceModel(*fitted["action"], *fitted["background"], *fitted["text"])


def calibrate(model: STAR, embedder: FrameEmbedder, workdir: Path, recipe: Optional[LongSetRecipe] = None,
              rate: float = LabelingParams.rate, say: Say = lambda _m: None) -> LabelingCalibration:
    """Fit the whole labeling calibration on the validation split (see the module docstring)."""
    start = time.perf_counter()
    recipe = recipe or LongSetRecipe("val", videos=12)
    if recipe.split != "val":
        raise ValueError(f"labeling is calibrated on the validation split only, not {recipe.split!r}")
    out = Path(workdir) / "val"
    manifest = render_long_set(out, recipe, say)
    cases = load_cases(out, manifest, embedder, rate)
    activity = fit_activity(model, embedder, out, manifest, cases, rate)
    say(f"activity model fitted on {sum(len(c.truth) for c in cases)} frames of {len(cases)} videos")
    provisional = replace(load_calibration(), activity=activity)
    runs = gather(model, embedder, out, manifest, cases, provisional, rate, say)
    cfg = search_decoder(runs, provisional.decoder, say)
    zero_shot = gather(model, embedder, out, manifest, cases, provisional, rate, say, ZERO_SHOT)
    cfg = search_decoder(zero_shot, cfg, say, space=SEARCH_TEXT)
    confidence = fit_confidence({**runs, **zero_shot}, cfg)
    provenance = {"data": f"{len(cases)} long videos ({recipe.min_s:.0f}-{recipe.max_s:.0f} s) and {recipe.clips} "
                          "example clips per action of the 8 meta-val actions; no test action or video",
                  "recipe": recipe.__dict__, "model": model.cfg.name, "rate": rate, "cues": list(CUES),
                  "settings": [list(s) for s in SETTINGS + ZERO_SHOT], "objective": round(objective(runs, cfg), 4),
                  "zero_shot_objective": round(objective(zero_shot, cfg), 4),
                  "wall_time_s": round(time.perf_counter() - start, 1), "command": "star-app calibrate"}
    return LabelingCalibration(activity, confidence, cfg, provenance)
