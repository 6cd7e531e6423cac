"""Labeling throughput and memory: decode-only, backbone-only and end-to-end frames/s, peak RSS.

Each measurement runs in its own process so that its peak RSS is its own. Videos: a synthetic
long video (and one 4x longer), plus ../shared/videos/vtest.avi when present. Random weights
are fine for timing. The ratio judged is end-to-end / min(decode, backbone) (target >= 0.9),
and peak RSS should stay flat as the video gets 4x longer.

Run: .venv/bin/python bench/labeling.py [--models star-tiny star-vitb16] [--seconds 60]
"""
from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "videos"
RATE = 4.0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(video: str, model_name: str, mode: str) -> dict:
    """One measurement in this process: frames sampled and seconds taken."""
    import numpy as np
    import torch

    from star_model import create_model
    from star_model.engine.features import FeatureCache, FrameEmbedder
    from star_model.engine.bank import build_bank
    from star_model.engine.segmentation import label_features
    from star_model.schema import ActionExamples, ClipRef
    from star_model.video import iter_frames

    logging.disable(logging.WARNING)
    torch.manual_seed(0)
    model = create_model(model_name)
    size = model.backbone.image_size
    if mode == "decode":
        start = time.perf_counter()
        n = sum(1 for _ in iter_frames(video, rate=RATE, size=size))
        return {"frames": n, "seconds": time.perf_counter() - start, "rss_mb": _peak_rss_mb()}
    with tempfile.TemporaryDirectory() as cache_dir:
        embedder = FrameEmbedder(model, FeatureCache(Path(cache_dir)))
        if mode == "backbone":
            frames = np.stack([f.image for f in iter_frames(video, rate=RATE, size=size)])
            start = time.perf_counter()
            for b in range(0, len(frames), embedder.batch_size):
                embedder.embed_images(frames[b : b + embedder.batch_size])
            return {"frames": len(frames), "seconds": time.perf_counter() - start, "rss_mb": _peak_rss_mb()}
        clip = ActionExamples("clip", [ClipRef(video, 0.0, 3.0)])
        other = ActionExamples("other", [ClipRef(video, 3.0, 6.0)])
        bank = build_bank(model, embedder, [clip, other])
        start = time.perf_counter()
        feats = embedder.video(video, RATE)
        label_features(model, bank, feats)
        return {"frames": len(feats.times), "seconds": time.perf_counter() - start, "rss_mb": _peak_rss_mb()}


def _child(video: str, model_name: str, mode: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--one", video, model_name, mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _synthetic(path: Path, seconds: float) -> Path:
    from star_model.synthetic import compose_long_video, split_actions
    from star_model.video import write_video

    if not path.exists():
        long = compose_long_video(split_actions("test"), seed=5, duration_s=seconds, size=112, fps=25.0)
        write_video(path, long.frames(), long.fps)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="+", default=["star-tiny", "star-vitb16"])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the synthetic long video")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "star-bench")
    parser.add_argument("--one", nargs=3, metavar=("VIDEO", "MODEL", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(*args.one)))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    videos = [(f"synthetic {args.seconds:g} s", _synthetic(args.work / f"long_{args.seconds:g}.mp4", args.seconds)),
              (f"synthetic {4 * args.seconds:g} s", _synthetic(args.work / f"long_{4 * args.seconds:g}.mp4", 4 * args.seconds))]
    if (SHARED / "vtest.avi").exists():
        videos.append(("vtest.avi 79.5 s", SHARED / "vtest.avi"))
    print("| video | model | frames | decode f/s | backbone f/s | end-to-end f/s | ratio | peak RSS e2e (MB) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for model_name in args.models:
        for label, video in videos:
            r = {mode: _child(str(video), model_name, mode) for mode in ("decode", "backbone", "e2e")}
            fps = {mode: v["frames"] / v["seconds"] for mode, v in r.items()}
            ratio = fps["e2e"] / min(fps["decode"], fps["backbone"])
            print(f"| {label} | {model_name} | {r['e2e']['frames']} | {fps['decode']:.1f} | {fps['backbone']:.1f} | "
                  f"{fps['e2e']:.1f} | {ratio:.2f} | {r['e2e']['rss_mb']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
