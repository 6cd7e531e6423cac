"""``star-app label``: label long videos from a folder of example clips (or from the labelled videos of a
label file: ``--examples-from``), into CSV files."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from star_model.cli.cluster import Job, WorkerSetup, import_ray, label_on_cluster
from star_model.cli.label_files import load_label_file
from star_model.cli.options import add_model_options, model_choice
from star_model.cli.progress_bar import ProgressBar
from star_model.data.actions_dir import load_actions_dir
from star_model.data.label_csv import write_label_csvs
from star_model.data.label_examples import MIN_EXAMPLE_S, examples_of, pick_examples
from star_model.engine.bank import PrototypeBank, build_bank
from star_model.engine.features import FrameEmbedder
from star_model.engine.segmentation import label_video
from star_model.engine.session import load_model
from star_model.errors import LabelFileError, VideoError
from star_model.nn.model import STAR
from star_model.schema import BACKGROUND, ActionExamples, LabelingParams, LabelResult
from star_model.video import probe


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``label`` to star-app's sub-commands."""
    label = sub.add_parser("label", help="label long videos from folders of example clips")
    label.add_argument("videos", nargs="+", type=Path, metavar="VIDEO")
    source = label.add_mutually_exclusive_group(required=True)
    source.add_argument("--actions", type=Path, help="one sub-folder of example clips per action")
    source.add_argument("--examples-from", type=Path, metavar="FILE",
                        help="a label file (.boris, BORIS events .tsv/.csv, .eaf, DeepEthogram _labels.csv, segment "
                             "CSV): the videos it codes give the examples, the other videos are labeled")
    label.add_argument("--examples-per-action", type=int, default=3, metavar="K",
                       help="with --examples-from: confirmed segments picked per behaviour (default 3)")
    label.add_argument("--group", help="with --examples-from: the ELAN tier or BORIS subject, when there are several")
    label.add_argument("--out", type=Path, required=True, help="folder for <video>.segments.csv and <video>.frames.csv")
    label.add_argument("--rate", type=float, default=LabelingParams.rate,
                       help=f"labeling rate in frames per second (default {LabelingParams.rate:g})")
    label.add_argument("--tight-examples", action="store_true",
                       help="the example clips are trimmed tightly to the action: keep them whole (default: cut their still ends)")
    label.add_argument("--cluster", metavar="auto|ADDRESS",
                       help="label on a Ray cluster ('pip install star-labeler[cluster]'): 'auto' joins the cluster "
                            "this machine belongs to (else starts Ray here), or give the head's address")
    label.add_argument("--cpus-per-worker", type=int, default=4, metavar="N",
                       help="with --cluster and no GPU: CPUs per worker, one model each (default 4)")
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


def examples_from_labels(path: Path, videos: Sequence[Path], k: int,
                         group: Optional[str] = None) -> tuple[list[ActionExamples], list[Path]]:
    """The actions whose examples are ``k`` confirmed segments per behaviour of the videos ``path`` codes
    (each pick listed on stderr), and the videos among ``videos`` that it does not code."""
    loaded = load_label_file(path, videos, group)
    picks = pick_examples({str(v): s for v, s in loaded.segments.items()}, k)
    if not picks:
        raise LabelFileError(f"{path.name} has no segment of {MIN_EXAMPLE_S:g} s or more to use as an example")
    for label, chosen in picks.items():
        where = ", ".join(f"{Path(p.video).name} {p.segment.start_s:.2f}-{p.segment.end_s:.2f} s" for p in chosen)
        print(f"examples of {label}: {where}", file=sys.stderr)
    coded = {Path(v).resolve() for v in loaded.segments}
    rest = [v for v in videos if Path(v).resolve() not in coded]
    if not rest:
        raise LabelFileError(f"every video given is coded in {path.name}: add the videos to label")
    return examples_of(picks), rest


def _probe_all(todo: Sequence[Path]) -> tuple[list[Job], list[Path]]:
    """The videos that open, with their lengths, and those that do not (each with an error line)."""
    jobs, failed = [], []
    for video in todo:
        try:
            jobs.append(Job(video, probe(video).duration_s))
        except VideoError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed.append(video)
    return jobs, failed


def _done(video: Path, result: LabelResult, out: Path) -> None:
    n_actions = sum(1 for s in result.segments if s.label != BACKGROUND)
    print(f"{video.name}: {n_actions} action segments -> {out / (video.stem + '.segments.csv')}")


def _label_here(args: argparse.Namespace, actions: list[ActionExamples], jobs: list[Job],
                params: LabelingParams) -> list[Path]:
    """Label the videos one by one in this process; the videos that failed."""
    model, embedder, what = load_model(model_choice(args), args.cache_dir)
    print(f"model: {what}", file=sys.stderr)
    bank = build_bank_with_bar(model, embedder, actions, trim_rest=params.trim_rest)
    failed = []
    for job in jobs:
        try:
            result = label_to_csv(model, embedder, bank, job.video, args.out, params)
        except VideoError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed.append(job.video)
            continue
        _done(job.video, result, args.out)
    return failed


def _label_on_cluster(args: argparse.Namespace, actions: list[ActionExamples], jobs: list[Job],
                      params: LabelingParams) -> list[Path]:
    """Label the videos on the Ray cluster ``args.cluster`` (the CSVs written here as results arrive); the
    videos that failed twice, each with an error line."""
    def write(video: Path, result: LabelResult) -> None:
        write_label_csvs(args.out, video.name, result.segments, result)
        _done(video, result, args.out)

    setup = WorkerSetup.absolute(model_choice(args), args.cache_dir, actions, params)
    report = label_on_cluster(args.cluster, jobs, setup, write, args.cpus_per_worker)
    for video, reason in report.failed.items():
        print(f"error: {video.name}: {reason} (tried {report.attempts[video]} times)", file=sys.stderr)
    print(f"cluster: {len(report.labeled)} of {len(jobs)} videos labeled by {report.workers} workers in "
          f"{report.seconds:.1f} s (workers ready in {report.setup_s:.1f} s)", file=sys.stderr)
    return list(report.failed)


def _cmd_label(args: argparse.Namespace) -> int:
    if args.cluster:
        import_ray()  # before any work: without Ray, say how to install it
    params = LabelingParams(rate=args.rate, trim_rest=not args.tight_examples)
    if args.actions is not None:
        actions, todo = load_actions_dir(args.actions), list(args.videos)
    else:
        actions, todo = examples_from_labels(args.examples_from, args.videos, args.examples_per_action, args.group)
    jobs, failed = _probe_all(todo)
    if not jobs:
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    failed += (_label_on_cluster if args.cluster else _label_here)(args, actions, jobs, params)
    if failed and args.cluster:
        print(f"failed: {', '.join(v.name for v in failed)}", file=sys.stderr)
    return 2 if failed else 0
