"""The headless command line: ``star-app <command> ...``.

Bad input or usage exits 2 with one ``error: ...`` line; no traceback reaches the user
(``--verbose`` shows them for unexpected failures).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import NoReturn, Optional, Sequence

from . import __version__
from .checkpoint import CheckpointError
from .config import ConfigError
from .descriptors import DescriptorError
from .support import ActionsFolderError
from .video_errors import VideoError

log = logging.getLogger("star_model.cli")

USER_ERRORS = (VideoError, ActionsFolderError, ConfigError, CheckpointError, DescriptorError, ValueError, OSError)


class UsageError(Exception):
    """Wrong command-line usage."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="shipped model config name or JSON path (default: the bundled star-tiny model)")
    p.add_argument("--checkpoint", type=Path, help="a STAR checkpoint (.safetensors); overrides --model")
    p.add_argument("--pretrained", help="open_clip pretrained tag or CLIP weights file for the towers")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="auto picks CUDA when available")
    p.add_argument("--cache-dir", type=Path, help="feature cache folder (default: the user cache dir or $STAR_CACHE_DIR)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="star-app",
        description="STAR Labeler: few-shot action labeling of videos. Without a command the desktop app opens.",
    )
    parser.add_argument("--version", action="version", version=f"star-app {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages and show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    sub.add_parser("models", help="list the shipped model configs").set_defaults(func=_cmd_models)

    info = sub.add_parser("info", help="a video's metadata, as decoded")
    info.add_argument("video", type=Path)
    info.add_argument("--exact", action="store_true", help="decode every frame to count (slower)")
    info.set_defaults(func=_cmd_info)

    label = sub.add_parser("label", help="label long videos from folders of example clips")
    label.add_argument("videos", nargs="+", type=Path, metavar="VIDEO")
    label.add_argument("--actions", type=Path, required=True, help="one sub-folder of example clips per action")
    label.add_argument("--out", type=Path, required=True, help="folder for <video>.segments.csv and <video>.frames.csv")
    label.add_argument("--rate", type=float, default=4.0, help="labeling rate in frames per second (default 4)")
    label.add_argument("--window", type=float, help="window length in seconds (default: median example length)")
    label.add_argument("--threshold", type=float, help="background distance threshold (default: calibrated)")
    label.add_argument("--tight-examples", action="store_true",
                       help="the example clips are trimmed tightly to the action: keep their ends (no rest class)")
    _add_model_options(label)
    label.set_defaults(func=_cmd_label)

    synth = sub.add_parser("synth", help="render clips and long videos of the synthetic action world")
    synth.add_argument("--out", type=Path, required=True)
    synth.add_argument("--split", default="test", choices=["train", "val", "test"])
    synth.add_argument("--clips-per-action", type=int, default=3)
    synth.add_argument("--long-videos", type=int, default=0)
    synth.add_argument("--long-duration", type=float, default=120.0, help="seconds per long video")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--size", type=int, default=112)
    synth.set_defaults(func=_cmd_synth)

    demo = sub.add_parser("demo", help="render a demo set, label its long video and score the result")
    demo.add_argument("--out", type=Path, default=Path("star-demo"))
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--duration", type=float, default=150.0, help="long video length in seconds (default 150)")
    _add_model_options(demo)
    demo.set_defaults(func=_cmd_demo)

    from . import cli_eval, cli_train

    cli_train.add_commands(sub)
    cli_eval.add_commands(sub)
    return parser


def _cmd_models(args: argparse.Namespace) -> int:
    from .factory import list_models

    for name in list_models():
        print(name)
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from .video import probe

    info = probe(args.video, exact=args.exact)
    rows = [
        ("file", str(info.path)), ("codec", info.codec), ("backend", info.backend),
        ("size", f"{info.width}x{info.height}"), ("rotation", f"{info.rotation} deg"),
        ("fps", f"{info.fps:.3f}"), ("frames", str(info.frame_count)), ("duration", f"{info.duration_s:.3f} s"),
    ]
    if info.container_frame_count is not None and info.container_frame_count != info.frame_count:
        rows.append(("container claims", f"{info.container_frame_count} frames"))
    if info.damaged_at_s is not None:
        rows.append(("damaged after", f"{info.damaged_at_s:.1f} s"))
    for key, value in rows:
        print(f"{key:>16}: {value}")
    return 0


def _cmd_label(args: argparse.Namespace) -> int:
    from .labeling import LabelingParams
    from .runner import build_bank_with_bar, label_to_csv, load_engine
    from .support import load_actions_dir
    from .video import probe

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
    model, embedder = load_engine(args.model, args.checkpoint, args.pretrained, args.device, args.cache_dir)
    bank = build_bank_with_bar(model, embedder, actions, trim_rest=not args.tight_examples)
    params = LabelingParams(rate=args.rate, window_s=args.window, threshold=args.threshold)
    args.out.mkdir(parents=True, exist_ok=True)
    for video in videos:
        try:
            result = label_to_csv(model, embedder, bank, video, args.out, params)
        except VideoError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        n_actions = sum(1 for s in result.segments if s.label != "background")
        print(f"{video.name}: {n_actions} action segments -> {args.out / (video.stem + '.segments.csv')}")
    return 2 if failed else 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from .progress_bar import ProgressBar
    from .synthetic import write_dataset

    bar = ProgressBar("render")
    try:
        summary = write_dataset(args.out, split=args.split, clips_per_action=args.clips_per_action,
                                long_videos=args.long_videos, long_duration_s=args.long_duration,
                                seed=args.seed, size=args.size, progress=bar)
    finally:
        bar.close()
    print(f"wrote {len(summary['clips'])} clips of {len(summary['actions'])} actions and {args.long_videos} long videos to {args.out}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo
    from .runner import load_engine

    model, embedder = load_engine(args.model, args.checkpoint, args.pretrained, args.device, args.cache_dir)
    return run_demo(model, embedder, args.out, seed=args.seed, duration_s=args.duration)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one command; returns the process exit code (2 with one ``error: ...`` line on bad input)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: one readable line, traceback with --verbose
        if args.verbose:
            raise
        print(f"error: unexpected failure ({type(exc).__name__}: {exc}); run with --verbose for details", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
