"""Parameter count per module and the CPU time of one 5-way 5-shot episode on precomputed features.

Run: .venv/bin/python bench/model_size.py [--runs 10]
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from star_model import create_model  # noqa: E402


def count(module: torch.nn.Module | None) -> int:
    return 0 if module is None else sum(p.numel() for p in module.parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="+", default=["star-tiny", "star-vitb16"])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    torch.set_num_threads(args.threads)
    rows = []
    for name in args.models:
        torch.manual_seed(0)
        model = create_model(name)
        r = model.refiner
        parts = {
            "visual tower": count(model.backbone.clip.visual),
            "text tower": count(model.backbone.clip) - count(model.backbone.clip.visual),
            "TSA": count(model.tsa),
            "SGF": count(r.sgf),
            "ASD": count(r.asd),
            "ACU": count(r.acu),
        }
        parts["head total"] = parts["TSA"] + parts["SGF"] + parts["ASD"] + parts["ACU"]
        parts["all"] = count(model)
        d, t = model.cfg.embed_dim, model.cfg.num_frames
        text = model.encode_text([f"action {i}" for i in range(5)])
        support = torch.randn(25, t, d)
        labels = torch.arange(5).repeat_interleave(5)
        query = torch.randn(25, t, d)
        times = []
        with torch.no_grad():
            for i in range(args.runs + 2):
                start = time.perf_counter()
                model.episode(support, labels, query, text)
                if i >= 2:
                    times.append(time.perf_counter() - start)
        rows.append((name, parts, statistics.median(times)))
    keys = list(rows[0][1])
    print(f"| module | {' | '.join(r[0] for r in rows)} |")
    print(f"|---|{'---:|' * len(rows)}")
    for key in keys:
        print(f"| {key} | {' | '.join(f'{r[1][key]:,}' for r in rows)} |")
    print(
        f"| 5-way 5-shot episode, 25 queries, CPU ({args.threads} threads), median of {args.runs} | "
        + " | ".join(f"{r[2] * 1000:.1f} ms" for r in rows)
        + " |"
    )


if __name__ == "__main__":
    main()
