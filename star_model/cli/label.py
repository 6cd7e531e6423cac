"""``star-app label``: label long videos from a folder of example clips, into CSV files."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from star_model.cli.options import add_model_options, model_choice
from star_model.cli.progress_bar import ProgressBar
from star_model.data.actions_dir import load_actions_dir
from star_model.data.label_csv import write_label_csvs
from star_model.engine.bank import PrototypeBank, build_bank
from star_model.engine.features import FrameEmbedder
from star_model.engine.segmentation import label_video
from star_model.engine.session import load_model
from star_model.errors import VideoError
from star_model.nn.model import STAR
from star_model.schema import BACKGROUND, ActionExamples, LabelingParams, LabelResult
from star_model.video import probe


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``label`` to star-app's sub-commands."""
    label = sub.add_parser("label", help="label long videos from folders of example clips")
    label.add_argument("videos", nargs="+", type=Path, metavar="VIDEO")
    label.add_argument("--actions", type=Path, required=True, help="one sub-folder of example clips per action")
    label.add_argument("--out", type=Path, required=True, help="folder for <video>.segments.csv and <video>.frames.csv")
    label.add_argument("--rate", type=float, default=LabelingParams.rate,
                       help=f"labeling rate in frames per second (default {LabelingParams.rate:g})")
    label.add_argument("--tight-examples", action="store_true",
                       help="the example clips are trimmed tightly to the action: keep them whole (default: cut their still ends)")
    add_model_options(label)
    label.set_defaults(func=_cmd_label)


def build_bank_with_bar(model: STAR, embedder: FrameEmbedder, actions: Sequence[ActionExamples],
                        trim_rest: bool = True) -> PrototypeBank:
    """``build_bank`` with a progress bar on stderr."""
    with ProgressBar("examples") as bar:
        return build_bank(model, embedder, actions, progress=bar, trim_rest=trim_rest)


def label_to_csv(model: STAR, embedder: FrameEmbedder, bank: PrototypeBank, video: Path, out: Path,
                 params: LabelingParams) -> LabelResult:
    """Label ``video`` (progress bar on stderr) and write OUT/<stem>.segments.csv and OUT/<stem>.frames.csv."""
    with ProgressBar(f"label {video.name}") as bar:
        result = label_video(model, embedder, bank, video, params, progress=bar)
    write_label_csvs(out, video.name, result.segments, result)
    return result


def _cmd_label(args: argparse.Namespace) -> int:
    params = LabelingParams(rate=args.rate, trim_rest=not args.tight_examples)
    actions = load_actions_dir(args.actions)
    videos = []
    for video in args.videos:
        try:
            probe(video)
            videos.append(video)
        except VideoError as exc:
            print(f"error: {exc}", file=sys.stderr)
    failed = len(args.videos) - len(videos)
    if not videos:
        return 2
    model, embedder, what = load_model(model_choice(args), args.cache_dir)
    print(f"model: {what}", file=sys.stderr)
    bank = build_bank_with_bar(model, embedder, actions, trim_rest=params.trim_rest)
    args.out.mkdir(parents=True, exist_ok=True)
    for video in videos:
        try:
            result = label_to_csv(model, embedder, bank, video, args.out, params)
        except VideoError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        n_actions = sum(1 for s in result.segments if s.label != BACKGROUND)
        print(f"{video.name}: {n_actions} action segments -> {args.out / (video.stem + '.segments.csv')}")
    return 2 if failed else 0
