"""The headless engine entry point: runs ``star_model.cli`` for ``star-app <command>``."""
from __future__ import annotations

from typing import Sequence

from star_model import cli


def run_cli(argv: Sequence[str]) -> int:
    """Run one ``star-app`` command without the GUI; returns its exit code."""
    return cli.main(list(argv))
