"""``star-app eval`` (the benchmark tables), ``star-app calibrate`` (fit labeling on validation videos) and
``star-app bundle`` (build the bundled model).

Wired into ``star_model.cli.main.build_parser`` with ``add_commands(sub)``; also runnable
alone: ``python -m star_model.cli.eval bundle --seed 0 --out assets/``.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, Optional, Sequence


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``eval``, ``calibrate`` and ``bundle`` to star-app's sub-commands."""
    ev = sub.add_parser("eval", help="few-shot and long-video benchmarks on the synthetic meta-test actions "
                                     "(writes Markdown tables)")
    ev.add_argument("--only", choices=["fewshot", "long", "search"],
                    help="run one of the two benchmarks (default: both), or the meta-val search for the STAR recipe")
    ev.add_argument("--out", type=Path, default=Path("docs/benchmark.md"), help="Markdown file for the few-shot table")
    ev.add_argument("--search-out", type=Path, default=Path("docs/part_search.md"),
                    help="Markdown file for the recipe search (--only search)")
    ev.add_argument("--long-out", type=Path, default=Path("docs/long_video_benchmark.md"),
                    help="Markdown file for the long-video table")
    ev.add_argument("--workdir", type=Path, help="folder for the rendered long videos, reused when it holds them "
                                                 "(default: a temporary folder)")
    ev.add_argument("--episodes", type=int, default=300, help="test episodes per column and seed (default 300)")
    ev.add_argument("--seeds", type=int, default=5, help="training seeds per method (default 5)")
    ev.add_argument("--max-steps", type=int, default=200,
                    help="most meta-training episodes per head, early-stopped on meta-val (default 200)")
    ev.add_argument("--clips", type=int, default=20,
                    help="test clips per meta-test action (the search: per meta-val action; default 20)")
    ev.add_argument("--long-videos", type=int, default=10, help="test long videos to label (default 10)")
    ev.add_argument("--methods", help="comma-separated subset of: " + ", ".join(_method_names()))
    ev.add_argument("--recipe", type=_recipe, default={},
                    help='STAR config overrides for STAR and its ablations, as JSON: \'{"sgf": {"gate_init": 0.1}}\'')
    ev.add_argument("--candidates", type=_candidates,
                    help="--only search: a comma-separated subset of the candidate recipes (default: all; see "
                         "star_model/bench/part_search.py), the first the one the others are tested against")
    ev.add_argument("--model", type=Path,
                    help="with --only search: a bundled model file whose towers the candidates are trained on, "
                         "instead of the shipped one (to judge a new build on meta-val before shipping it)")
    ev.add_argument("--jobs", type=int, default=2,
                    help="worker processes for the seeds x methods (the CPU threads are shared among them; "
                         "default 2)")
    ev.add_argument("--seed", type=int, default=0)
    ev.set_defaults(func=_cmd_eval)

    cal = sub.add_parser("calibrate", help="fit labeling's activity, confidence and search settings on long videos "
                                           "of the validation actions")
    cal.add_argument("--out", type=Path, help="calibration file (default: the shipped labeling_calibration.json)")
    cal.add_argument("--workdir", type=Path, help="folder for the rendered validation videos, reused when it holds them")
    cal.add_argument("--videos", type=int, default=12, help="validation long videos (default 12)")
    cal.set_defaults(func=_cmd_calibrate)

    bundle = sub.add_parser("bundle", help="build the bundled default model (pretraining + meta-training, CPU ok)")
    bundle.add_argument("--out", type=Path, default=Path("assets"))
    bundle.add_argument("--seed", type=int, default=0)
    bundle.add_argument("--pretrain-steps", type=int, help="tower pretraining steps (default: the recipe's)")
    bundle.add_argument("--train-steps", type=int, default=200)
    bundle.add_argument("--clips", type=int, default=20, help="rendered clips per meta-train action (default 20)")
    bundle.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    bundle.add_argument("--recipe", type=_recipe, default={},
                        help="JSON config overrides for the head, training settings under \"train\" (a recipe "
                             "chosen by --only search), e.g. '{\"matching\": {\"stage_weight\": 2.0}}'")
    bundle.add_argument("--towers-from", type=Path,
                        help="a bundled model file whose towers are reused as they are (skips the 22-min "
                             "pretraining; its card's pretraining record is carried over)")
    bundle.set_defaults(func=_cmd_bundle)


def _recipe(text: str) -> dict:
    """``--recipe``: a JSON object of config overrides (and training settings under ``"train"``)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not JSON ({exc}); e.g. '{{\"sgf\": {{\"gate_init\": 0.1}}}}'")
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{text!r} is not a JSON object of config sections")
    return value


def _candidates(text: str) -> dict:
    """``--candidates``: names of the search's candidate recipes -> {name: overrides}."""
    from star_model.bench.part_search import CANDIDATES

    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown candidate {', '.join(map(repr, unknown)) or repr(text)}; "
                                         f"known: {', '.join(CANDIDATES)}")
    return {n: CANDIDATES[n] for n in names}


def _method_names() -> list[str]:
    from star_model.bench.baselines import METHODS

    return list(METHODS)


def _cmd_bundle(args: argparse.Namespace) -> int:
    from star_model.train.recipes import build_bundled
    from star_model.nn.device import select_device

    from star_model.train.recipes import BUNDLE_RESERVED, check_recipe_keys

    start = time.perf_counter()
    check_recipe_keys(args.recipe, BUNDLE_RESERVED)  # a wrong key fails now, not after the pretraining
    if args.towers_from is not None and not args.towers_from.is_file():
        raise FileNotFoundError(f"--towers-from {args.towers_from}: no such file; give a bundled model file, "
                                f"e.g. assets/star-tiny-synthetic.safetensors")
    command = " ".join([".venv/bin/python -m star_model.cli.eval", *map(shlex.quote, sys.argv[1:])])
    card = build_bundled(args.out, seed=args.seed, pretrain_steps=args.pretrain_steps, train_steps=args.train_steps,
                         clips_per_action=args.clips, device=select_device(args.device), say=_say,
                         recipe=args.recipe, towers_from=args.towers_from, command=command)
    print(f"bundled model written to {args.out} in {time.perf_counter() - start:.0f} s; "
          f"meta-val 5-way 1-shot {card['metrics']['meta_val_5way_1shot_accuracy']}")
    return 0


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _bundled_engine():
    from star_model.engine.features import FeatureCache, FrameEmbedder
    from star_model.nn.bundled import load_bundled

    model = load_bundled()
    return model, FrameEmbedder(model, FeatureCache())


def _write(path: Path, text: str) -> None:
    from star_model.schema import atomic_write_text

    atomic_write_text(path, text)
    print(text)
    print(f"written to {path}")


def _cmd_eval(args: argparse.Namespace) -> int:
    from star_model.bench.evaluate import EvalSettings

    settings = EvalSettings(episodes=args.episodes, seeds=args.seeds, max_steps=args.max_steps, clips=args.clips,
                            seed=args.seed, recipe=args.recipe)
    if args.recipe:
        from star_model.bench.evaluate import check_recipe

        check_recipe(args.recipe)  # a wrong key fails now, not later
    if args.model is not None and args.only != "search":
        raise ValueError(f"--model {args.model} applies to --only search; the benchmark tables measure the "
                         "shipped model")
    if args.only == "search":
        from star_model.bench.part_search import run_search

        _write(args.search_out, run_search(settings, args.candidates, say=_say, jobs=args.jobs, model=args.model))
        return 0
    if args.only != "long":
        from star_model.bench.evaluate import run_benchmark

        methods = [m.strip() for m in args.methods.split(",")] if args.methods else None
        _write(args.out, run_benchmark(settings, methods, say=_say, jobs=args.jobs))
    if args.only != "fewshot":
        from star_model.bench.long_data import LongSetRecipe
        from star_model.bench.long_eval import run_long_benchmark

        model, embedder = _bundled_engine()
        recipe = LongSetRecipe("test", videos=args.long_videos, seed=args.seed)
        with _workdir(args.workdir) as workdir:
            _write(args.long_out, run_long_benchmark(model, embedder, workdir, recipe, say=_say))
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from star_model.bench.calibrate import calibrate
    from star_model.bench.long_data import LongSetRecipe
    from star_model.engine.calibration import CALIBRATION_FILE

    model, embedder = _bundled_engine()
    with _workdir(args.workdir) as workdir:
        cal = calibrate(model, embedder, workdir, LongSetRecipe("val", videos=args.videos), say=_say)
    path = cal.save(args.out or CALIBRATION_FILE)
    print(f"labeling calibration written to {path} (validation objective {cal.provenance['objective']})")
    return 0


@contextlib.contextmanager
def _workdir(given: Optional[Path]) -> Iterator[Path]:
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="star-eval-") as tmp:
        yield Path(tmp)


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
