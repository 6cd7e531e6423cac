"""``star-app eval`` (the benchmark table) and ``star-app bundle`` (build the bundled model).

Wired into ``star_model.cli.main.build_parser`` with ``add_commands(sub)``; also runnable
alone: ``python -m star_model.cli.eval bundle --seed 0 --out assets/``.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Optional, Sequence


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``eval`` and ``bundle`` to star-app's sub-commands."""
    ev = sub.add_parser("eval", help="few-shot benchmark on the synthetic meta-test actions (writes a Markdown table)")
    ev.add_argument("--out", type=Path, default=Path("docs/benchmark.md"), help="Markdown file for the table")
    ev.add_argument("--episodes", type=int, default=1000, help="test episodes per setting (default 1000)")
    ev.add_argument("--train-steps", type=int, help="meta-training episodes per method (default: the bundled model's)")
    ev.add_argument("--clips", type=int, default=30, help="test clips per meta-test action (default 30)")
    ev.add_argument("--long-videos", type=int, default=2, help="long videos to label (default 2)")
    ev.add_argument("--long-duration", type=float, default=90.0, help="seconds per long video (default 90)")
    ev.add_argument("--methods", help="comma-separated subset of: " + ", ".join(_method_names()))
    ev.add_argument("--seed", type=int, default=0)
    ev.set_defaults(func=_cmd_eval)

    bundle = sub.add_parser("bundle", help="build the bundled default model (pretraining + meta-training, CPU ok)")
    bundle.add_argument("--out", type=Path, default=Path("assets"))
    bundle.add_argument("--seed", type=int, default=0)
    bundle.add_argument("--pretrain-steps", type=int, help="tower pretraining steps (default: the recipe's)")
    bundle.add_argument("--train-steps", type=int, default=200)
    bundle.add_argument("--clips", type=int, default=20, help="rendered clips per meta-train action (default 20)")
    bundle.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    bundle.set_defaults(func=_cmd_bundle)


def _method_names() -> list[str]:
    from star_model.bench.baselines import METHODS

    return list(METHODS)


def _cmd_bundle(args: argparse.Namespace) -> int:
    from star_model.train.recipes import build_bundled
    from star_model.nn.device import select_device

    start = time.perf_counter()

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    card = build_bundled(args.out, seed=args.seed, pretrain_steps=args.pretrain_steps, train_steps=args.train_steps,
                         clips_per_action=args.clips, device=select_device(args.device), say=say)
    print(f"bundled model written to {args.out} in {time.perf_counter() - start:.0f} s; "
          f"meta-val 5-way 1-shot {card['metrics']['meta_val_5way_1shot_accuracy']}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from star_model.bench.evaluate import EvalSettings, run_benchmark

    methods = [m.strip() for m in args.methods.split(",")] if args.methods else None
    settings = EvalSettings(episodes=args.episodes, train_steps=args.train_steps, clips=args.clips,
                            long_videos=args.long_videos, long_duration_s=args.long_duration, seed=args.seed)

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    table = run_benchmark(settings, methods, say=say)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table, encoding="utf-8")
    print(table)
    print(f"written to {args.out}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m star_model.cli.eval {eval,bundle} ...`` (the same commands as star-app's)."""
    parser = argparse.ArgumentParser(prog="python -m star_model.cli.eval")
    parser.add_argument("-v", "--verbose", action="store_true")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
