"""App test fixtures: real videos (synthetic world, PyAV), the real engine (star-tiny, random weights, CPU)
and real widgets under QT_QPA_PLATFORM=offscreen. Feature cache and settings live in temp dirs."""
from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from star_app.services.engine import Engine
from star_app.settings import AppSettings
from star_model.synthetic import split_actions, write_dataset

ACTIONS = [a.name for a in split_actions("test")[:2]]


@pytest.fixture(autouse=True)
def app_dirs(tmp_path, monkeypatch):
    """Feature cache and settings in temp dirs; closing a window with edits discards them."""
    monkeypatch.setenv("STAR_CACHE_DIR", str(tmp_path / "features"))
    monkeypatch.setenv("STAR_APP_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    return tmp_path


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> Path:
    """2 actions x 2 example clips and one 24 s long video, 112 px."""
    out = tmp_path_factory.mktemp("data")
    write_dataset(out, split="test", clips_per_action=2, long_videos=1, long_duration_s=24, actions=ACTIONS,
                  size=112)
    return out


@pytest.fixture(scope="session")
def long_dataset(tmp_path_factory) -> Path:
    """One example clip per action and a 90 s long video (long enough to cancel mid-way, and for the
    responsiveness probe to measure a labeling job of several seconds)."""
    out = tmp_path_factory.mktemp("long-data")
    write_dataset(out, split="test", clips_per_action=1, long_videos=1, long_duration_s=90, actions=ACTIONS, size=112)
    return out


@pytest.fixture(scope="session")
def long_video(dataset) -> Path:
    return dataset / "long" / "long_000.mp4"


@pytest.fixture(scope="session")
def shared_engine(tmp_path_factory) -> Engine:
    """One engine (model loaded once) for the tests that do not measure first-time work."""
    return Engine(cache_dir=tmp_path_factory.mktemp("shared-features"))


def settings() -> AppSettings:
    return AppSettings(device="cpu", autosave_s=0)


@pytest.fixture
def make_window(qtbot):
    """``make_window(engine=None)``: a shown MainWindow with CPU settings; closed at teardown."""
    from star_app.main_window import MainWindow

    windows = []

    def make(engine: Engine | None = None) -> MainWindow:
        window = MainWindow(settings=settings(), engine=engine or Engine())
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()


def drop_files(widget, paths, pos: QPoint | None = None) -> None:
    """Send a real drop event carrying file URLs (as the file manager does) to ``widget``."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = pos or QPoint(widget.width() // 2, widget.height() - 5)
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    with warnings.catch_warnings():  # PySide6 marks the QPoint constructors deprecated; they are what Qt sends
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, buttons, modifiers)
        move = QDragMoveEvent(pos, Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(widget, enter)
    QApplication.sendEvent(widget, move)
    drop = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(widget, drop)


def clips(dataset: Path, action: str) -> list[Path]:
    return sorted((dataset / action).glob("*.mp4"))


def wait_idle(qtbot, window, timeout_s: float = 90.0) -> float:
    """Wait for the running job to end; returns the seconds waited."""
    t0 = time.monotonic()
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=int(timeout_s * 1000))
    return time.monotonic() - t0
