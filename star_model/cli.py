"""The headless command line: ``star-app <command> ...``."""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Optional, Sequence

from . import __version__

COMMANDS: dict[str, str] = {}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="star-app",
        description="STAR Labeler: few-shot action labeling of videos. Without a command the desktop app opens.",
    )
    parser.add_argument("--version", action="version", version=f"star-app {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    models = sub.add_parser("models", help="list the shipped model configs")
    models.set_defaults(func=_cmd_models)
    return parser


def _cmd_models(args: argparse.Namespace) -> int:
    from .factory import list_models

    for name in list_models():
        print(name)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one command; returns the process exit code (2 with one ``error: ...`` line on bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
