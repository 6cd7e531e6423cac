"""The review queue in the real window: N / Shift+N / Enter pressed as the user does, the counter in the status
bar, the timeline's shading by confidence, undo, and keyboard focus (the timeline, the player, text fields)."""
from __future__ import annotations

import copy

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QLineEdit

from star_app.views.timeline_paint import MIN_ALPHA, RULER_H
from star_app.window_menus import SHORTCUTS_HELP
from star_model.schema import BACKGROUND, SOURCE_MANUAL, SOURCE_MODEL, Segment
from tests.app.conftest import shortcut, undo

SHIFT = Qt.KeyboardModifier.ShiftModifier
LEFT = Qt.MouseButton.LeftButton
# label, start, end, confidence, source; the queue is 1, 3 (tied at 0.3: the earlier first), 0, 2
SPANS = [("wave", 0.0, 6.0, 0.7, SOURCE_MODEL), (BACKGROUND, 6.0, 10.0, 0.3, SOURCE_MODEL),
         ("jump", 10.0, 16.0, 0.9, SOURCE_MODEL), ("wave", 16.0, 20.0, 0.3, SOURCE_MODEL),
         ("jump", 20.0, None, 0.5, SOURCE_MANUAL)]


@pytest.fixture
def review_window(make_window, long_video, qtbot):
    """The 24 s video with five segments (four from the model), the timeline focused."""
    window = make_window()
    window.state.add_action("wave", [])
    window.state.add_action("jump", [])
    video = window.files.drop_videos([str(long_video)])[0]
    end = window.state.project.video(video).duration_s
    window.state.set_segments(video, "segments", lambda segs: segs.extend(
        Segment(label, a, b or end, round(a * 25), round((b or end) * 25), c, source) for label, a, b, c, source in SPANS))
    window.state.undo_stack.clear()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    window.timeline.setFocus()
    return window


def segments(window) -> list[Segment]:
    return copy.deepcopy(window.state.segments(window.current_video))


def press(qtbot, window, key: Qt.Key = Qt.Key.Key_N, modifiers=Qt.KeyboardModifier.NoModifier) -> tuple[int, float]:
    """Press a key to the focused widget; returns (selected segment, current time)."""
    shortcut(qtbot, window, key, modifiers)
    return window.timeline.selected, window.current.time


def test_n_and_shift_n_visit_the_least_confident_first_seek_and_select_and_wrap(review_window, qtbot):
    window = review_window
    assert QApplication.focusWidget() is window.timeline
    assert [press(qtbot, window) for _ in range(4)] == [(1, 6.0), (3, 16.0), (0, 0.0), (2, 10.0)]
    assert "To review 4 of 4" in window.statusBar().currentMessage()
    assert press(qtbot, window) == (1, 6.0)  # past the end: round to the first, and it says so
    assert "wrapped round" in window.statusBar().currentMessage()
    assert press(qtbot, window, modifiers=SHIFT) == (2, 10.0)  # before the first: round to the last
    assert press(qtbot, window, modifiers=SHIFT) == (0, 0.0)
    qtbot.waitUntil(lambda: window.player.shown_frame == 0, timeout=5000)
    qtbot.mouseClick(window.timeline, LEFT, pos=QPoint(round(window.timeline.x_of(17.0)), window.timeline.height() // 2))
    assert window.timeline.selected == 3  # a click puts the reviewer on segment 3: N goes on from there
    assert press(qtbot, window) == (0, 0.0)
    window.menu_actions["review_prev"].trigger()  # the menu entries do the same
    assert (window.timeline.selected, window.current.time) == (3, 16.0)
    qtbot.waitUntil(lambda: window.player.shown_frame == 400, timeout=5000)


def test_the_shortcuts_work_with_the_player_focused(review_window, qtbot):
    window = review_window
    window.player.speed.setFocus()
    assert QApplication.focusWidget() is window.player.speed
    assert press(qtbot, window) == (1, 6.0)
    assert press(qtbot, window, Qt.Key.Key_Return) == (1, 6.0)
    assert segments(window)[1].source == SOURCE_MANUAL


def test_enter_confirms_the_selected_segment_undo_restores_it(review_window, qtbot):
    window = review_window
    before = segments(window)
    counter = window.review_counter
    assert counter.text() == "4 left to review"
    press(qtbot, window)
    assert press(qtbot, window) == (3, 16.0)
    press(qtbot, window, Qt.Key.Key_Return)
    after = segments(window)
    assert (after[3].source, after[3].confidence) == (SOURCE_MANUAL, 1.0)
    assert after[:3] + after[4:] == before[:3] + before[4:]
    assert after[3].label == "wave" and (after[3].start_s, after[3].end_s) == (16.0, 20.0)
    assert counter.text() == "3 left to review" and window.review.remaining == 3
    assert "Confirmed wave; 3 left to review" in window.statusBar().currentMessage()
    assert window.timeline.selected == 3
    assert press(qtbot, window) == (0, 0.0)  # on to the one after the confirmed segment, not back to segment 1

    steps = window.state.undo_stack.count()
    press(qtbot, window, Qt.Key.Key_Enter)  # the keypad's Enter confirms too
    assert segments(window)[0].source == SOURCE_MANUAL and counter.text() == "2 left to review"
    undo(qtbot, window)
    undo(qtbot, window)
    assert segments(window) == before and counter.text() == "4 left to review"
    assert window.state.undo_stack.index() == steps - 1


def test_enter_without_a_reviewable_selection_changes_nothing(review_window, qtbot):
    window = review_window
    before = segments(window)
    press(qtbot, window, Qt.Key.Key_Return)  # nothing selected
    assert segments(window) == before and window.state.undo_stack.count() == 0
    assert "Select a segment first" in window.statusBar().currentMessage()
    window.timeline.select(4)  # already manual
    press(qtbot, window, Qt.Key.Key_Return)
    assert segments(window) == before and window.state.undo_stack.count() == 0
    assert window.statusBar().currentMessage() == "This segment is already confirmed"


def test_the_counter_follows_every_change_and_the_video_shown(review_window, qtbot):
    window = review_window
    counter = window.review_counter
    assert window.statusBar().isAncestorOf(counter) and counter.isVisible()
    window.timeline.relabel(0, "jump")  # any edit makes a segment manual
    assert counter.text() == "3 left to review"
    for _ in range(3):
        press(qtbot, window)
        press(qtbot, window, Qt.Key.Key_Return)
    assert counter.text() == "Nothing left to review"
    assert press(qtbot, window) == (2, 10.0)  # nothing moves
    assert window.statusBar().currentMessage() == "Nothing left to review: every segment is confirmed"
    for _ in range(4):
        undo(qtbot, window)
    assert counter.text() == "4 left to review"
    video = window.current_video
    window.show_video("")
    assert counter.text() == "Nothing left to review"
    window.show_video(video)
    assert window.current_video == video and counter.text() == "4 left to review"


def test_enter_and_n_stay_in_text_fields(review_window, qtbot):
    window = review_window
    field = QLineEdit()
    window.statusBar().addPermanentWidget(field)
    finished = []
    field.returnPressed.connect(lambda: finished.append(field.text()))
    press(qtbot, window)
    before = segments(window)
    field.setFocus()
    assert QApplication.focusWidget() is field
    assert press(qtbot, window) == (1, 6.0)  # N types into the field
    assert press(qtbot, window, Qt.Key.Key_Return) == (1, 6.0)
    assert field.text() == "n" and finished == ["n"] and segments(window) == before

    window.actions_panel.select("wave")
    editor = window.action_editor.descriptors
    editor.setFocus()
    assert QApplication.focusWidget() is editor
    press(qtbot, window)
    press(qtbot, window, Qt.Key.Key_Return)
    assert editor.toPlainText() == "n\n" and segments(window) == before
    window.timeline.setFocus()
    press(qtbot, window, Qt.Key.Key_Return)  # with the timeline focused, Enter confirms
    assert segments(window)[1].source == SOURCE_MANUAL


def brightness(name: str) -> int:
    color = QColor(name)
    return color.red() + color.green() + color.blue()


def pixel(tl, t: float) -> str:
    """The colour painted on the segment band at time ``t`` (below the label text)."""
    y = tl.height() - 8
    assert y > RULER_H + 2
    return tl.grab().toImage().pixelColor(round(tl.x_of(t)), y).name()


def test_the_timeline_shades_model_segments_by_confidence(review_window, qtbot):
    window = review_window
    tl, segs = window.timeline, window.state.segments(window.current_video)
    alphas = [tl.segment_color(s).alphaF() for s in segs]
    assert alphas[0] == pytest.approx(MIN_ALPHA + (1 - MIN_ALPHA) * 0.7, abs=0.01)
    assert alphas[3] == pytest.approx(MIN_ALPHA + (1 - MIN_ALPHA) * 0.3, abs=0.01)
    assert alphas[4] == 1.0  # manual: opaque whatever its confidence
    assert tl.segment_color(segs[0]).rgb() == tl.segment_color(segs[3]).rgb()  # the same action's colour
    wave_07, wave_03 = pixel(tl, 3.0), pixel(tl, 18.0)
    assert brightness(wave_03) > brightness(wave_07)  # the less confident, the paler on the light timeline
    tl.select(3)
    shortcut(qtbot, window, Qt.Key.Key_Return)
    assert tl.segment_color(window.state.segments(window.current_video)[3]).alphaF() == 1.0
    assert brightness(pixel(tl, 18.0)) < brightness(wave_07)  # confirmed: opaque


def test_nothing_happens_on_an_empty_timeline(make_window, long_video, qtbot):
    window = make_window()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    assert window.review_counter.text() == "Nothing left to review"
    for key, modifiers in ((Qt.Key.Key_N, Qt.KeyboardModifier.NoModifier), (Qt.Key.Key_N, SHIFT),
                           (Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier)):
        assert press(qtbot, window, key, modifiers) == (-1, 0.0)
    assert window.statusBar().currentMessage().startswith("Select a segment first")
    window.files.drop_videos([str(long_video)])  # a video without segments
    window.timeline.setFocus()
    assert press(qtbot, window) == (-1, 0.0) and press(qtbot, window, modifiers=SHIFT) == (-1, 0.0)
    assert window.statusBar().currentMessage() == "Nothing to review"
    assert window.state.undo_stack.count() == 1  # adding the video; nothing else
    assert window.review_counter.text() == "Nothing left to review"


def test_the_review_commands_are_in_the_menu_and_the_shortcuts_table(review_window):
    window = review_window
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Review")
    entries = {a.text(): [s.toString() for s in a.shortcuts()] for a in menu.actions()}
    assert entries == {"&Next segment to review": ["N"], "&Previous segment to review": ["Shift+N"],
                       "&Confirm selected segment": ["Return", "Enter"]}
    assert "<td>N / Shift+N</td>" in SHORTCUTS_HELP and "<td>Enter</td>" in SHORTCUTS_HELP
