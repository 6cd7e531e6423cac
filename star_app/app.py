"""Entry point ``star-app``: the desktop app, or a headless command when one is named."""
from __future__ import annotations

import sys
from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``star-app`` with a command (or ``--help``/``--version``) runs headless; otherwise the GUI."""
    args = list(sys.argv[1:] if argv is None else argv)
    from star_app.services.headless import run_cli

    return run_cli(args)


if __name__ == "__main__":
    sys.exit(main())
