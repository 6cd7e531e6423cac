"""The headless command line: ``star-app <command> ...``.

Each command lives in the module named for it (:mod:`.label`, :mod:`.demo`, :mod:`.train`,
:mod:`.eval`, :mod:`.interchange` for ``import`` and ``export``; ``models``, ``info`` and ``synth``
here). Bad input or usage exits 2 with one ``error: ...`` line; no traceback reaches the user
(``--verbose`` shows them for unexpected failures). FFmpeg's own log lines never reach stderr raw
(:mod:`star_model.video.av_log`; with ``--verbose`` PyAV's come through logging).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import NoReturn, Optional, Sequence

from star_model import __version__
from star_model.cli import demo, eval, interchange, label, train
from star_model.errors import USER_ERRORS
from star_model.video.av_log import route_ffmpeg_logs

log = logging.getLogger("star_model.cli")


class UsageError(Exception):
    """Wrong command-line usage."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


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

    label.add_commands(sub)

    synth = sub.add_parser("synth", help="render clips and long videos of the synthetic action world")
    synth.add_argument("--out", type=Path, required=True)
    synth.add_argument("--split", default="test", choices=["train", "val", "test"])
    synth.add_argument("--clips-per-action", type=int, default=3)
    synth.add_argument("--long-videos", type=int, default=0)
    synth.add_argument("--long-duration", type=float, default=120.0, help="seconds per long video")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--size", type=int, default=112)
    synth.set_defaults(func=_cmd_synth)

    for commands in (interchange, demo, train, eval):
        commands.add_commands(sub)
    return parser


def _cmd_models(args: argparse.Namespace) -> int:
    from star_model.nn.factory import list_models

    for name in list_models():
        print(name)
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from star_model.video import probe

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


def _cmd_synth(args: argparse.Namespace) -> int:
    from star_model.cli.progress_bar import ProgressBar
    from star_model.synthetic import write_dataset

    with ProgressBar("render") as bar:
        summary = write_dataset(args.out, split=args.split, clips_per_action=args.clips_per_action,
                                long_videos=args.long_videos, long_duration_s=args.long_duration,
                                seed=args.seed, size=args.size, progress=bar)
    print(f"wrote {len(summary['clips'])} clips of {len(summary['actions'])} actions and {args.long_videos} long videos to {args.out}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one command; returns the process exit code (2 with one ``error: ...`` line on bad input)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    route_ffmpeg_logs(args.verbose)
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
