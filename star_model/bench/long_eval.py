"""The long-video labeling benchmark: test-split long videos, scored once with the shipped calibration.

Rows: the segment search with 1, 3 and 5 example clips per action (two seeded draws of the examples
each), with 5 tightly trimmed examples (``--tight-examples``), with no example at all (zero-shot: the
actions' names and descriptors through TSA only), the previous sliding-window method, and ablations
of the search's ingredients with 5 examples. Each row gives the mean over the test
videos (and draws) of frame accuracy, edit score and F1@{10,25,50}, each with a 95 % bootstrap
interval over videos, and the expected calibration error of the segment confidences.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from star_model.bench.long_data import LongSetRecipe, LongVideoCase, draw_examples, load_cases, render_long_set
from star_model.bench.window_method import WindowLabeler
from star_model.engine.bank import build_bank
from star_model.engine.calibration import LabelingCalibration, load_calibration
from star_model.engine.confidence import expected_calibration_error
from star_model.engine.decoder import DecoderConfig
from star_model.engine.features import FrameEmbedder
from star_model.engine.metrics import edit_score, f1_at, frame_accuracy
from star_model.engine.segmentation import Evidence, cut_parts, gather_evidence, part_confidence
from star_model.nn.model import STAR
from star_model.schema import BACKGROUND, LabelingParams

Say = Callable[[str], None]
METRICS = ("frame_accuracy", "edit", "f1_10", "f1_25", "f1_50")
DRAWS = (0, 1)
ABLATIONS = {
    "without the duration prior": {"w_dur": 0.0},
    "without the TSA video-text term": {"w_vt": 0.0},
    "without neighbour averaging of STAR's scores": {"neighbours": 0},
    "without activity inside action segments": {"w_act": 0.0},
    "STAR's distances only (no duration, TSA or neighbours)": {"w_dur": 0.0, "w_vt": 0.0, "neighbours": 0},
}


@dataclass
class Row:
    """One benchmark row: per-video metric values (averaged over draws) and the segments' (confidence, right)."""

    label: str
    per_video: dict[str, list[float]]
    confidences: list[tuple[float, bool]]


def scores_of(pred: list[str], truth: list[str]) -> dict[str, float]:
    return {"frame_accuracy": frame_accuracy(pred, truth), "edit": edit_score(pred, truth) / 100,
            **{f"f1_{int(o * 100)}": f1_at(pred, truth, o) for o in (0.1, 0.25, 0.5)}}


def bootstrap(values: list[float], rounds: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean and the 2.5 / 97.5 % percentiles of the mean over ``rounds`` resamples of ``values``."""
    x = np.asarray(values, dtype=np.float64)
    means = x[np.random.default_rng(seed).integers(0, len(x), size=(rounds, len(x)))].mean(1)
    return float(x.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def _decided(evidence: Evidence, names: list[str], truth: list[str], cfg: DecoderConfig,
             cal: LabelingCalibration) -> tuple[dict[str, float], list[tuple[float, bool]]]:
    cut, scores, prior = evidence.decide(cfg)
    classes = names + [BACKGROUND]
    pred = [classes[i] for i in cut.labels]
    confidences = []
    for part in cut_parts(evidence, cut, scores, prior, cfg.tau):
        majority = Counter(truth[part.start:part.end]).most_common(1)[0][0]
        confidences.append((part_confidence(part, evidence.with_examples, cal), majority == classes[part.label]))
    return scores_of(pred, truth), confidences


def _collect(rows: dict[str, Row], label: str, video: str, metrics: dict[str, float],
             confidences: list[tuple[float, bool]]) -> None:
    row = rows.setdefault(label, Row(label, {}, []))
    for key, value in metrics.items():
        row.per_video.setdefault(f"{video}|{key}", []).append(value)
    row.confidences += confidences


def run_long_benchmark(model: STAR, embedder: FrameEmbedder, workdir: Path, recipe: Optional[LongSetRecipe] = None,
                       calibration: Optional[LabelingCalibration] = None, say: Say = lambda _m: None) -> str:
    """Render (or reuse) the test set in ``workdir``, label it every way, return the Markdown section."""
    start = time.perf_counter()
    recipe = recipe or LongSetRecipe("test")
    cal = calibration or load_calibration()
    out = Path(workdir) / recipe.split
    manifest = render_long_set(out, recipe, say)
    rate = LabelingParams.rate
    cases = load_cases(out, manifest, embedder, rate)
    rows: dict[str, Row] = {}
    settings = [(shots, False) for shots in (1, 3, 5)] + [(5, True), (0, False)]
    for shots, tight in settings:
        label = (f"STAR segments, {shots} example{'s' if shots > 1 else ''}{', tight' if tight else ''}" if shots else
                 "zero-shot, text only (no examples)")
        for draw in DRAWS if shots else DRAWS[:1]:
            actions = draw_examples(out, manifest, shots, draw, tight)
            bank = build_bank(model, embedder, actions, trim_rest=not tight)
            params = LabelingParams(rate=rate, trim_rest=not tight)
            for case in cases:
                evidence = gather_evidence(model, bank, case.features, params, cal)
                _collect(rows, label, case.name, *_decided(evidence, bank.names, case.truth, cal.decoder, cal))
                if shots == 5 and not tight:
                    for name, change in ABLATIONS.items():
                        cfg = replace(cal.decoder, **change)
                        _collect(rows, f"ablation: {name}", case.name,
                                 *_decided(evidence, bank.names, case.truth, cfg, cal))
            say(f"{label}, draw {draw}: labeled {len(cases)} videos ({time.perf_counter() - start:.0f} s)")
        if shots == 5 and not tight:
            _window_rows(model, embedder, out, manifest, cases, rows)
    return format_long_report(rows, cases, recipe, cal, time.perf_counter() - start)


def _window_rows(model: STAR, embedder: FrameEmbedder, out: Path, manifest: dict, cases: list[LongVideoCase],
                 rows: dict[str, Row]) -> None:
    for draw in DRAWS:
        labeler = WindowLabeler(model, embedder, draw_examples(out, manifest, 5, draw, False))
        for case in cases:
            _collect(rows, "previous window method, 5 examples", case.name,
                     scores_of(labeler.label(case.features), case.truth), [])


def _cell(values: list[float]) -> str:
    mean, low, high = bootstrap(values)
    return f"{100 * mean:.1f} [{100 * low:.1f}, {100 * high:.1f}]"


def format_long_report(rows: dict[str, Row], cases: list[LongVideoCase], recipe: LongSetRecipe,
                       cal: LabelingCalibration, wall_s: float) -> str:
    """The Markdown section: one line per row, mean [95 % bootstrap interval over videos]."""
    majority = np.mean([max(Counter(c.truth).values()) / len(c.truth) for c in cases])
    lines = [
        "# Long-video labeling benchmark: synthetic action world, meta-test actions",
        "",
        "Regenerate with `star-app eval --only long`. Calibration (activity model, confidence model, search "
        f"knobs) fitted on the validation actions' long videos only: {cal.provenance.get('data', 'see provenance')}.",
        "",
        f"- Test: {len(cases)} long videos of the 8 meta-test actions, {recipe.min_s:.0f}-{recipe.max_s:.0f} s each "
        f"(own seeds), labeled at {LabelingParams.rate:g} fps; examples: {len(DRAWS)} seeded draws of k of "
        f"{recipe.clips} rendered clips per action; tight = the clips cut to their true active span.",
        f"- Cells: mean over videos (and draws) [95 % bootstrap interval over videos]; the majority label's share "
        f"of frames (chance) is {100 * majority:.1f} %. ECE: expected calibration error of segment confidences "
        "(10 bins).",
        f"- Wall time of this run: {wall_s / 60:.1f} min.",
        "",
        "| Method | Frame accuracy | Edit | F1@10 | F1@25 | F1@50 | ECE |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows.values():
        per_metric = {m: [float(np.mean(v)) for k, v in row.per_video.items() if k.endswith(f"|{m}")]
                      for m in METRICS}
        ece = (f"{expected_calibration_error([p for p, _ in row.confidences], [y for _, y in row.confidences]):.3f}"
               if row.confidences else "-")
        lines.append(f"| {row.label} | " + " | ".join(_cell(per_metric[m]) for m in METRICS) + f" | {ece} |")
    return "\n".join(lines + ["", "## Goals", "", *_goals(rows)]) + "\n"


def _mean(row: Row, metric: str) -> float:
    return float(np.mean([np.mean(v) for k, v in row.per_video.items() if k.endswith(f"|{metric}")]))


def _goals(rows: dict[str, Row]) -> list[str]:
    five, one = rows.get("STAR segments, 5 examples"), rows.get("STAR segments, 1 example")
    out = []

    def goal(text: str, value: float, target: float, unit: str = "") -> None:
        out.append(f"- {text} >= {target:g}{unit}: {value:.1f}{unit}, {'met' if value >= target else 'NOT met'}.")

    if five is not None:
        goal("5 examples per action, mean F1@50", 100 * _mean(five, "f1_50"), 85)
        goal("5 examples per action, mean frame accuracy", 100 * _mean(five, "frame_accuracy"), 85, " %")
        conf = [c for row in rows.values() if row.label.startswith(("STAR segments", "zero-shot")) for c in row.confidences]
        ece = expected_calibration_error([p for p, _ in conf], [y for _, y in conf])
        out.append(f"- Segment confidence ECE <= 0.08 (the segments of every STAR and zero-shot row): {ece:.3f}, "
                   f"{'met' if ece <= 0.08 else 'NOT met'}.")
    if one is not None:
        goal("1 example per action, mean F1@50", 100 * _mean(one, "f1_50"), 65)
    return out
