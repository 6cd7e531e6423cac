"""Entry point ``star-app``: the desktop app, or a headless command when one is named.

``star-app`` (or ``star-app --demo``) opens the GUI; ``star-app COMMAND ...``,
``--help`` and ``--version`` run the headless engine.
"""
from __future__ import annotations

import gc
import logging
import sys
from typing import Optional, Sequence

GUI_FLAGS = {"--demo"}


def wants_gui(args: Sequence[str]) -> bool:
    """No arguments, or only GUI flags, open the window; anything else is a headless command."""
    return all(a in GUI_FLAGS for a in args)


def run_gui(demo: bool = False) -> int:
    """Open the main window (with the demo project when ``demo``) and run the event loop."""
    from PySide6.QtWidgets import QApplication

    from star_app.main_window import MainWindow
    from star_app.services.engine import Engine

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("STAR Labeler")
    app.setOrganizationName("star-labeler")
    window = MainWindow(Engine())
    window.show()
    gc.freeze()  # the libraries' and the window's objects: the collector's full passes skip them (see Engine)
    if demo:
        window.jobs.open_demo()  # the demo's world is the bundled model's: no choice to make
    elif not window.settings.model_chosen:
        window.settings_ctl.first_run()
    return app.exec()


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``star-app`` with a command (or ``--help``/``--version``) runs headless; otherwise the GUI."""
    args = list(sys.argv[1:] if argv is None else argv)
    if wants_gui(args):
        return run_gui(demo="--demo" in args)
    from star_app.services.headless import run_cli

    return run_cli(args)


if __name__ == "__main__":
    sys.exit(main())
