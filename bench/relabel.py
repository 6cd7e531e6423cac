"""Re-labeling speed: one hour of cached features, 8 actions, the bundled star-tiny on this CPU.

What a user waits for after adding or editing an action: the video's frames are already embedded
(the feature cache), so labeling re-runs only activity evidence, candidate segments, STAR on each
candidate, the search and the per-frame TSA map. The goal is <= 15 s for an hour of video.

A synthetic hour of the 8 meta-test actions is rendered and embedded once into --work (reused);
the examples are 5 rendered clips per action. Prints one table row per stage (median of --runs).

Run: .venv/bin/python bench/relabel.py [--minutes 60] [--runs 3] [--threads 2]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
GOAL_S_PER_HOUR = 15.0


def _timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "star-relabel-bench")
    args = parser.parse_args()

    import torch

    from star_model.bench.long_data import LongSetRecipe, draw_examples, render_long_set
    from star_model.engine.activity import activity_cues
    from star_model.engine.bank import build_bank
    from star_model.engine.calibration import load_calibration
    from star_model.engine.decoder import DurationPrior, candidate_windows
    from star_model.engine.features import FeatureCache, FrameEmbedder
    from star_model.engine.segmentation import frame_text_map, label_features, window_scores
    from star_model.nn.bundled import load_bundled
    from star_model.schema import LabelingParams
    from star_model.synthetic import compose_long_video, split_actions
    from star_model.video import write_video

    torch.set_num_threads(args.threads)
    model = load_bundled()
    embedder = FrameEmbedder(model, FeatureCache(args.work / "cache"))
    manifest = render_long_set(args.work / "set", LongSetRecipe("test", videos=0, clips=5))
    bank = build_bank(model, embedder, draw_examples(args.work / "set", manifest, 5, 0, False))
    video = args.work / f"hour_{args.minutes:g}.mp4"
    if not video.exists():
        long = compose_long_video(split_actions("test"), seed=(7, 7), duration_s=60 * args.minutes)
        write_video(video, long.frames(), long.fps)
    feats = embedder.video(video, LabelingParams.rate)
    cal = load_calibration()
    cfg, rate = cal.decoder, LabelingParams.rate
    stages: dict[str, list[float]] = {}
    for _ in range(args.runs):
        act, t = _timed(lambda: cal.activity.log_odds(activity_cues(feats.feats, rate, bank.text(), bank.rest_text())))
        stages.setdefault("activity evidence", []).append(t)
        prior = DurationPrior.of(bank.lengths, cfg)
        windows, t = _timed(candidate_windows, act, cfg, *prior.frame_range(rate, cfg.duration_ratio))
        stages.setdefault("candidate segments", []).append(t)
        _, t = _timed(window_scores, model, bank, feats.feats, windows)
        stages.setdefault(f"STAR on {len(windows)} candidates ({len(windows) / len(act):.2f} per frame)", []).append(t)
        _, t = _timed(frame_text_map, model, bank, feats.feats)
        stages.setdefault("per-frame TSA map", []).append(t)
        _, t = _timed(label_features, model, bank, feats)
        stages.setdefault("whole re-label (label_features)", []).append(t)
    hours = feats.duration_s / 3600
    print(f"{len(feats.times)} frames ({feats.duration_s / 60:.1f} min at {rate:g} fps), {len(bank.names)} actions, "
          f"{args.threads} threads, median of {args.runs} runs")
    print("| stage | seconds | seconds per hour of video |")
    print("|---|---:|---:|")
    for name, times in stages.items():
        median = statistics.median(times)
        print(f"| {name} | {median:.2f} | {median / hours:.1f} |")
    whole = statistics.median(stages["whole re-label (label_features)"]) / hours
    print(f"\ngoal: re-label an hour with 8 actions in <= {GOAL_S_PER_HOUR:g} s: {whole:.1f} s, "
          f"{'met' if whole <= GOAL_S_PER_HOUR else 'NOT met'}")


if __name__ == "__main__":
    main()
