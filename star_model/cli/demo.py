"""``star-app demo``: a small synthetic demo set, labeled end to end and scored against its ground truth."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from star_model.cli.label import build_bank_with_bar, label_to_csv
from star_model.cli.options import add_model_options, model_choice
from star_model.cli.progress_bar import ProgressBar
from star_model.data.actions_dir import load_actions_dir
from star_model.data.label_csv import read_segments_csv
from star_model.engine.features import FrameEmbedder
from star_model.engine.metrics import edit_score, f1_at, frame_accuracy, frame_labels
from star_model.engine.session import load_model
from star_model.nn.model import STAR
from star_model.schema import LabelingParams
from star_model.synthetic.demo import DEMO_CLIPS, demo_material


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``demo`` to star-app's sub-commands."""
    demo = sub.add_parser("demo", help="render a demo set, label its long video and score the result")
    demo.add_argument("--out", type=Path, default=Path("star-demo"))
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--duration", type=float, default=150.0, help="long video length in seconds (default 150)")
    add_model_options(demo)
    demo.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    model, embedder, what = load_model(model_choice(args), args.cache_dir)
    print(f"model: {what}", file=sys.stderr)
    return run_demo(model, embedder, args.out, seed=args.seed, duration_s=args.duration)


def run_demo(model: STAR, embedder: FrameEmbedder, out: Path, seed: int = 0, duration_s: float = 150.0) -> int:
    """Render the demo material (5 meta-test actions x 3 clips and one long video), label it, print the scores."""
    out = Path(out)
    with ProgressBar("render demo") as bar:
        material = demo_material(out / "examples", bar, seed=seed, duration_s=duration_s)
    # labeled as `star-app label --actions` would label it: the actions as the folder lists them
    actions = load_actions_dir(out / "examples")
    bank = build_bank_with_bar(model, embedder, actions)
    params = LabelingParams()
    result = label_to_csv(model, embedder, bank, material.video, out / "labels", params)
    truth = frame_labels(read_segments_csv(material.truth), np.asarray(result.times))
    acc = frame_accuracy(result.labels, truth)
    print(f"demo: {len(actions)} actions x {DEMO_CLIPS} example clips; long video {duration_s:.0f} s, "
          f"{len(result.times)} frames labeled at {params.rate:g} fps")
    print(f"frame accuracy   {acc * 100:6.1f} %")
    print(f"segment F1@50    {f1_at(result.labels, truth, 0.5) * 100:6.1f}")
    print(f"edit score       {edit_score(result.labels, truth):6.1f}")
    print(f"CSV files in {out / 'labels'}")
    return 0
