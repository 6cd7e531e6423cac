"""The editor's menu entries beside the main menus (``window_menus``): the time format, playback speed keys,
the behaviour-coding keys (a Coding menu rebuilt from the actions' keys) and the in-app guide.

Letters are for coding behaviours, as in BORIS: the only plain letter taken by a command is N (review);
edit commands use modified keys.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu


def add(menu: QMenu, text: str, slot: Callable, shortcut: Any = None) -> QAction:
    """A menu entry calling ``slot``, with a window-wide ``shortcut``."""
    action = menu.addAction(text)
    action.triggered.connect(lambda _checked=False: slot())
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    return action


def time_format_entry(window: Any, menu: QMenu) -> QAction:
    """A checkable entry: times written as frame numbers (the user's setting) or as m:ss.mmm."""
    action = add(menu, "Show times as &frame numbers", lambda: _toggle_frames(window), "Ctrl+Shift+F")
    action.setCheckable(True)
    action.setChecked(window.settings.time_as_frames)
    return action


def _toggle_frames(window: Any) -> None:
    frames = not window.settings.time_as_frames
    window.store.update(time_as_frames=frames)
    window.time_view.set_frames(frames)
    window.menu_actions["time_frames"].setChecked(frames)


def speed_entries(window: Any, menu: QMenu, acts: dict[str, QAction]) -> None:
    """Slower ([) and faster (]) playback."""
    acts["slower"] = add(menu, "&Slower", lambda: window.player.change_speed(-1), "[")
    acts["faster"] = add(menu, "&Faster", lambda: window.player.change_speed(1), "]")
