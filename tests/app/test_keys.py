"""Behaviour-coding keys (as in BORIS's coding map): an action's key starts and stops it at the cursor, Shift+key
labels the segment at the cursor; edit commands use modified keys (plain letters are for coding); speed keys;
the keys go back to the player on a click on the video and on Esc."""
from __future__ import annotations

import copy

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QInputDialog, QMenu, QMessageBox

from star_model.schema import BACKGROUND, SOURCE_MANUAL, SOURCE_MODEL, Segment
from tests.app.conftest import WhenShown, choose, shortcut, undo

SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def window(make_window, long_video, qtbot):
    window = make_window()
    for name in ("wave", "jump"):
        window.state.add_action(name, [])
    video = window.files.drop_videos([str(long_video)])[0]
    end = window.state.project.video(video).duration_s
    window.state.set_segments(video, "segments", lambda segs: segs.extend([
        Segment(BACKGROUND, 0.0, 8.0, 0, 200, 0.6, SOURCE_MODEL), Segment("jump", 8.0, end, 200, round(end * 25), 0.7)]))
    window.state.undo_stack.clear()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    window.player.setFocus()
    return window


def segs(window) -> list[Segment]:
    return copy.deepcopy(window.state.segments(window.current_video))


def set_key(window, qtbot, action: str, key: str) -> None:
    """Right-click the action, Coding key…, type ``key``, OK."""
    def type_key(dialog: QInputDialog) -> None:
        dialog.setTextValue(key)
        dialog.accept()

    typed = WhenShown(QInputDialog, type_key)
    menu = WhenShown(QMenu, choose("Coding key…"))
    panel = window.actions_panel.list
    row = next(i for i in range(panel.count()) if panel.item(i).data(Qt.ItemDataRole.UserRole) == action)
    panel.customContextMenuRequested.emit(panel.visualItemRect(panel.item(row)).center())
    qtbot.waitUntil(lambda: typed.done, timeout=3000)
    assert menu.done


def at(window, qtbot, t: float, key: Qt.Key, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    window.current.set_time(t)
    shortcut(qtbot, window, key, modifiers)


def test_an_actions_key_starts_and_stops_it_at_the_cursor(window, qtbot):
    set_key(window, qtbot, "wave", "w")
    set_key(window, qtbot, "jump", "j")
    assert window.state.project.action("wave").key == "W"
    assert "wave   [W]" in window.actions_panel.list.item(0).text()
    before = segs(window)
    at(window, qtbot, 2.0, Qt.Key.Key_W)
    assert window.coding.open == ("wave", 2.0) and window.timeline.coding == ("wave", 2.0)
    assert "Coding wave from 0:02.000" in window.statusBar().currentMessage()
    at(window, qtbot, 5.0, Qt.Key.Key_W)
    assert window.coding.open is None
    assert [(s.label, s.start_s, s.end_s, s.source) for s in segs(window)[:3]] == [
        (BACKGROUND, 0.0, 2.0, SOURCE_MODEL), ("wave", 2.0, 5.0, SOURCE_MANUAL), (BACKGROUND, 5.0, 8.0, SOURCE_MODEL)]
    # another action's key stops the open one there and starts its own; Esc cancels the open one
    at(window, qtbot, 9.0, Qt.Key.Key_J)
    at(window, qtbot, 10.0, Qt.Key.Key_W)
    assert window.coding.open == ("wave", 10.0) and any(s.label == "jump" and s.start_s == 9.0 and s.end_s == 10.0
                                                         and s.source == SOURCE_MANUAL for s in segs(window))
    shortcut(qtbot, window, Qt.Key.Key_Escape)
    assert window.coding.open is None and window.timeline.coding is None
    for _ in range(2):
        undo(qtbot, window)
    assert segs(window) == before
    # Shift+key: the segment at the cursor takes the label
    at(window, qtbot, 4.0, Qt.Key.Key_W, SHIFT)
    assert segs(window)[0].label == "wave" and segs(window)[0].source == SOURCE_MANUAL


def test_a_taken_or_reserved_key_is_refused(window, qtbot):
    set_key(window, qtbot, "wave", "w")
    warned = []
    box = WhenShown(QMessageBox, lambda b: (warned.append(b.text()), b.accept()))
    set_key(window, qtbot, "jump", "W")
    qtbot.waitUntil(lambda: box.done, timeout=3000)
    assert "W already codes 'wave'" in warned[0] and window.state.project.action("jump").key == ""
    box = WhenShown(QMessageBox, lambda b: (warned.append(b.text()), b.accept()))
    set_key(window, qtbot, "jump", "n")
    qtbot.waitUntil(lambda: box.done, timeout=3000)
    assert "N is taken" in warned[1]


def test_plain_letters_do_not_edit_segments_and_edit_commands_use_modified_keys(window, qtbot):
    before = segs(window)
    window.timeline.select(0)
    window.current.set_time(3.0)
    for key in (Qt.Key.Key_S, Qt.Key.Key_M, Qt.Key.Key_E):
        shortcut(qtbot, window, key)
    assert segs(window) == before and window.state.project.action("wave").examples == []
    shortcut(qtbot, window, Qt.Key.Key_E, CTRL | SHIFT)  # the model's segment: confirm it first
    title, text = window.last_message
    assert title == "Add as example" and "confirm it first" in text and window.state.project.action("wave").examples == []
    for box in window.findChildren(QMessageBox):
        box.close()  # the message is window-modal: the next keys go to the window again once it is read
    shortcut(qtbot, window, Qt.Key.Key_K, CTRL)
    assert [(s.start_s, s.end_s) for s in segs(window)[:2]] == [(0.0, 3.0), (3.0, 8.0)]
    shortcut(qtbot, window, Qt.Key.Key_M, CTRL)
    assert segs(window)[0].source == SOURCE_MANUAL


def test_speed_keys(window, qtbot):
    speed = window.player.speed
    assert speed.currentData() == 1.0
    shortcut(qtbot, window, Qt.Key.Key_BracketRight)
    assert speed.currentData() == 2.0
    for _ in range(2):
        shortcut(qtbot, window, Qt.Key.Key_BracketLeft)
    assert speed.currentData() == 0.5
    for _ in range(3):
        shortcut(qtbot, window, Qt.Key.Key_BracketLeft)
    assert speed.currentData() == 0.25  # the slowest


def test_the_keys_go_back_to_the_player_on_a_click_on_the_video_and_on_esc(window, qtbot):
    window.actions_panel.select("wave")
    editor = window.action_editor.descriptors
    editor.setFocus()
    shortcut(qtbot, window, Qt.Key.Key_Space)
    assert editor.toPlainText() == " " and not window.player.playing  # typing in the box types
    screen = window.player.screen_label
    qtbot.mouseClick(screen, Qt.MouseButton.LeftButton, pos=QPoint(screen.width() // 2, screen.height() // 2))
    assert QApplication.focusWidget() is window.player
    shortcut(qtbot, window, Qt.Key.Key_Space)
    assert window.player.playing
    shortcut(qtbot, window, Qt.Key.Key_Space)
    editor.setFocus()
    shortcut(qtbot, window, Qt.Key.Key_Escape)
    assert QApplication.focusWidget() is window.player
    shortcut(qtbot, window, Qt.Key.Key_Space)
    assert window.player.playing and editor.toPlainText() == " "
    window.player.pause()
