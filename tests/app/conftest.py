"""App test fixtures: real videos (synthetic world, PyAV), the real engine (star-tiny, random weights, CPU)
and real widgets under QT_QPA_PLATFORM=offscreen. Feature cache and settings live in temp dirs."""
from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from shiboken6 import isValid
from PySide6.QtCore import QElapsedTimer, QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QAbstractButton, QApplication, QMenu, QMessageBox, QWidget

from star_app.services.engine import Engine
from star_app.settings import AppSettings
from star_app.views.settings_dialog import SettingsDialog
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
    """The tests' user settings: CPU, no autosave, the first-run choice made (the bundled model)."""
    return AppSettings(device="cpu", autosave_s=0, model_chosen=True)


@pytest.fixture
def make_window(qtbot):
    """``make_window(engine=None, app_settings=None)``: a shown MainWindow (with the tests' settings unless
    given); closed at teardown."""
    from star_app.main_window import MainWindow

    windows = []

    def make(engine: Engine | None = None, app_settings: AppSettings | None = None) -> MainWindow:
        window = MainWindow(settings=app_settings or settings(), engine=engine or Engine())
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.runner.shutdown()  # a job left running would make closing ask (a modal question)
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


class StallProbe:
    """A 10 ms QTimer on the GUI thread; records the longest gap between its ticks."""

    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.longest_ms = 0
        self.ticks = 0

    def start(self) -> None:
        self.clock.start()
        self.timer.start()

    def _tick(self) -> None:
        self.longest_ms = max(self.longest_ms, self.clock.restart())
        self.ticks += 1

    def stop(self) -> None:
        self.timer.stop()


def wait_idle(qtbot, window, timeout_s: float = 90.0) -> float:
    """Wait for the running job to end; returns the seconds waited."""
    t0 = time.monotonic()
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=int(timeout_s * 1000))
    return time.monotonic() - t0


def shortcut(qtbot, window, key: Qt.Key, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """Press a key as the user does: the window active, the key to its focused widget (menu shortcuts fire)."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    target = QApplication.focusWidget()
    qtbot.keyClick(target if target is not None and target.window() is window else window, key, modifiers)


def undo(qtbot, window) -> None:
    shortcut(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)


def redo(qtbot, window) -> None:
    shortcut(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)


class WhenShown:
    """Drives a blocking dialog or popup menu: polls every 10 ms (nested event loops included) for a visible
    modal widget (a popup, for ``QMenu``) of type ``kind`` and hands it to ``handle`` once.
    Start it before the call that blocks; ``done`` tells whether it was shown. Past ``timeout_s`` it closes
    whatever modal widget or popup is open, so a test that went wrong fails instead of hanging."""

    live: set["WhenShown"] = set()  # the pending ones (their timers must outlive the caller's reference)

    def __init__(self, kind: type, handle, timeout_s: float = 10.0) -> None:
        self.kind, self.handle, self.seen = kind, handle, []
        self._deadline = time.monotonic() + timeout_s
        self._timer = QTimer()
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        WhenShown.live.add(self)

    def _stop(self) -> None:
        self._timer.stop()
        WhenShown.live.discard(self)

    @property
    def done(self) -> bool:
        return bool(self.seen)

    def _tick(self) -> None:
        popup = issubclass(self.kind, QMenu)
        widget = QApplication.activePopupWidget() if popup else QApplication.activeModalWidget()
        if self.seen:  # handled: wait for it to close (closed at the deadline when the handler did not)
            shown = self.seen[0]
            if not isValid(shown) or not shown.isVisible():
                self._stop()
            elif time.monotonic() > self._deadline:
                self._stop()
                shown.close()
        elif isinstance(widget, self.kind) and widget.isVisible():
            self.seen.append(widget)
            self.handle(widget)
        elif time.monotonic() > self._deadline:
            self._stop()
            stuck = QApplication.activePopupWidget() or QApplication.activeModalWidget()
            if stuck is not None:
                stuck.close()


def choose(*texts: str):
    """A ``WhenShown`` handler for a popup menu: the item reached through ``texts`` (submenus first) is
    triggered once the menu has closed, as a click on it does."""
    def handle(menu: QMenu) -> None:
        try:
            current: QWidget = menu
            for text in texts:
                action = next(a for a in current.actions() if a.text() == text)
                current = action.menu() or current
            QTimer.singleShot(0, action.trigger)
        finally:
            menu.close()
    return handle


def click_button(text: str):
    """A ``WhenShown`` handler for a dialog or message box: its button labeled ``text`` is clicked."""
    def handle(dialog: QWidget) -> None:
        button = next(b for b in dialog.findChildren(QAbstractButton) if b.text() == text)
        QTimer.singleShot(0, button.click)
    return handle


def edit_settings(window, qtbot, change) -> None:
    """Project > Settings…: ``change(dialog)``, then OK."""
    def handle(dialog: SettingsDialog) -> None:
        change(dialog)
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    shown = WhenShown(SettingsDialog, handle)
    window.menu_actions["settings"].trigger()
    assert shown.done
