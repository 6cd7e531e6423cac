"""The headless engine entry point: runs :func:`star_model.cli.main.main` for ``star-app <command>``."""
from __future__ import annotations

from typing import Sequence

from star_model.cli.main import main


def run_cli(argv: Sequence[str]) -> int:
    """Run one ``star-app`` command without the GUI; returns its exit code."""
    return main(list(argv))
