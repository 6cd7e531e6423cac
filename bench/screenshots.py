"""Screenshots of the main window for docs/: the demo project labeled by the bundled model, a segment selected
(the inspector shows it), at 1024x680 and 1600x1000 (docs/screenshot_1024x680.png, docs/screenshot_1600x1000.png).

    .venv/bin/python bench/screenshots.py [--out docs] [--demo-dir DIR] [--at 0.4]

Runs under a real X server (Xvfb, through xvfb-run) when one is installed and no display is set, else on Qt's
offscreen platform. The user's settings are not read or written (a temporary settings folder).
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

SIZES = ((1024, 680), (1600, 1000))
CHILD = "STAR_SCREENSHOTS_UNDER_XVFB"
log = logging.getLogger("screenshots")


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs")
    parser.add_argument("--demo-dir", type=Path, default=None, help="the demo material (rendered when absent)")
    parser.add_argument("--at", type=float, default=0.4, help="the cursor, as a fraction of the video")
    return parser.parse_args(argv)


def _under_xvfb(argv: Sequence[str]) -> Optional[int]:
    """Run this script again under xvfb-run when there is no display and Xvfb is installed (None: run here)."""
    if os.environ.get("DISPLAY") or os.environ.get(CHILD) or os.environ.get("QT_QPA_PLATFORM") or \
            not shutil.which("xvfb-run"):
        return None
    env = dict(os.environ, **{CHILD: "1"})
    return subprocess.call(["xvfb-run", "-a", "-s", "-screen 0 1920x1200x24", sys.executable, __file__, *argv],
                           env=env)


def _wait(app, until: Callable[[], bool], timeout_s: float) -> None:
    t0 = time.monotonic()
    while not until():
        if time.monotonic() - t0 > timeout_s:
            raise TimeoutError(f"gave up after {timeout_s:.0f} s")
        app.processEvents()
        time.sleep(0.02)


def _settle(app, seconds: float = 0.6) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def _pose(window, at: float) -> None:
    """The cursor in the action segment nearest ``at`` of the video, that segment selected, its action shown."""
    video = window.current_video
    segs = window.state.segments(video)
    t = at * window.current.duration
    actions = [i for i, s in enumerate(segs) if s.label in {a.name for a in window.state.project.actions}]
    index = min(actions, key=lambda i: abs((segs[i].start_s + segs[i].end_s) / 2 - t)) if actions else 0
    window.current.set_time((segs[index].start_s + segs[index].end_s) / 2 if segs else t)
    if segs:
        window.timeline.select(index)
        window.actions_panel.select(segs[index].label)  # the action editor shows its examples


def shoot(out: Path, demo_dir: Optional[Path], at: float) -> list[Path]:
    """Open the demo project in the real main window, label it, and save one PNG per size in ``out``."""
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb" if os.environ.get("DISPLAY") else "offscreen")
    os.environ.setdefault("STAR_APP_CONFIG_DIR", tempfile.mkdtemp(prefix="star-screenshots-"))
    from PySide6.QtWidgets import QApplication

    from star_app.main_window import MainWindow
    from star_app.services.engine import Engine
    from star_app.settings import AppSettings

    app = QApplication.instance() or QApplication(["star-labeler"])
    app.setApplicationName("STAR Labeler")
    window = MainWindow(Engine(), AppSettings(device="cpu", autosave_s=0, model_chosen=True))
    window.show()
    window.jobs.open_demo(out=demo_dir)
    _wait(app, lambda: not window.runner.busy and bool(window.state.results), timeout_s=900)
    if window.last_message != ("", ""):
        raise RuntimeError(f"the demo did not label: {window.last_message}")
    written = []
    out.mkdir(parents=True, exist_ok=True)
    for width, height in SIZES:
        window.resize(width, height)
        _settle(app)
        _pose(window, at)
        _settle(app, 1.0)
        path = out / f"screenshot_{width}x{height}.png"
        image = window.grab()
        if not image.save(str(path)):
            raise OSError(f"cannot write {path}")
        log.info("wrote %s (%dx%d, %s)", path, image.width(), image.height(), app.platformName())
        written.append(path)
    window.runner.shutdown()
    window.frames.close()
    return written


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    relaunched = _under_xvfb(argv)
    if relaunched is not None:
        return relaunched
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = _parse(argv)
    shoot(args.out, args.demo_dir, args.at)
    return 0


if __name__ == "__main__":
    sys.exit(main())
