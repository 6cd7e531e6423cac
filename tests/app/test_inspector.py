"""The segment inspector (label, start, end, duration, confidence, source; editable times) and the timeline's
feedback: tooltips, the time shown while dragging an edge, edges that land where dropped (on a frame), labels
elided instead of cut, and Split at cursor only inside the selected segment."""
from __future__ import annotations

import copy

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

from star_app.views.timeline_paint import RULER_H, band_text
from star_model.schema import BACKGROUND, SOURCE_MANUAL, SOURCE_MODEL, Segment
from tests.app.conftest import undo

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def window(make_window, long_video, qtbot):
    window = make_window()
    window.state.add_action("wave the right hand", [])
    window.state.add_action("jump", [])
    video = window.files.drop_videos([str(long_video)])[0]
    end = window.state.project.video(video).duration_s
    window.state.set_segments(video, "segments", lambda segs: segs.extend([
        Segment("wave the right hand", 0.0, 6.0, 0, 150, 0.62, SOURCE_MODEL),
        Segment(BACKGROUND, 6.0, 10.0, 150, 250, 0.59, SOURCE_MODEL),
        Segment("jump", 10.0, end, 250, round(end * 25), 0.9, SOURCE_MODEL)]))
    window.state.undo_stack.clear()
    return window


def segs(window) -> list[Segment]:
    return copy.deepcopy(window.state.segments(window.current_video))


def band_point(tl, t: float) -> QPoint:
    return QPoint(round(tl.x_of(t)), (RULER_H + tl.height()) // 2)


def test_the_inspector_shows_the_selected_segment_and_edits_its_times_and_label(window, qtbot):
    inspector, tl = window.inspector, window.timeline
    assert not inspector.isEnabled()
    qtbot.mouseClick(tl, LEFT, pos=band_point(tl, 8.0))
    assert tl.selected == 1 and inspector.isEnabled()
    assert inspector.label.currentText() == BACKGROUND
    assert (inspector.start.text(), inspector.end.text()) == ("0:06.000", "0:10.000")
    assert inspector.duration.text() == "(4.000 s)" and inspector.confidence.text() == "confidence 0.59"
    assert inspector.source.text() == "from the model"
    # a typed start lands on a frame; its neighbour follows; one undo step
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    inspector.start.setFocus()  # as a click into the field does
    inspector.start.lineEdit().selectAll()
    qtbot.keyClicks(inspector.start.lineEdit(), "0:05.013")
    qtbot.keyClick(inspector.start.lineEdit(), Qt.Key.Key_Return)
    after = segs(window)
    assert (after[1].start_s, after[1].start_frame, after[1].source) == (5.0, 125, SOURCE_MANUAL)
    assert after[0].end_s == 5.0 and inspector.source.text() == "from you (confirmed or edited)"
    inspector.label.setCurrentText("jump")
    inspector.label.activated.emit(inspector.label.currentIndex())
    assert segs(window)[1].label == "jump"
    window.timeline.setFocus()  # Ctrl+Z in the field would undo its text; on the timeline it undoes the edits
    undo(qtbot, window)
    undo(qtbot, window)
    assert segs(window)[1].start_s == 6.0 and segs(window)[1].label == BACKGROUND
    assert inspector.start.text() == "0:06.000"


def test_hovering_a_segment_shows_its_details(window, qtbot):
    tl = window.timeline
    pos = band_point(tl, 3.0)
    QApplication.sendEvent(tl, QHelpEvent(QEvent.Type.ToolTip, pos, tl.mapToGlobal(pos)))
    qtbot.waitUntil(QToolTip.isVisible, timeout=2000)
    assert QToolTip.text() == ("wave the right hand: 0:00.000 – 0:06.000 (6.000 s)\n"
                               "confidence 0.62, from the model")


def test_dragging_an_edge_shows_its_time_and_it_lands_where_dropped_on_a_frame(window, qtbot):
    tl = window.timeline
    qtbot.mouseClick(tl, LEFT, pos=band_point(tl, 3.0))
    grab = band_point(tl, 6.0) + QPoint(3, 0)  # a little off the edge, as a hand does
    qtbot.mousePress(tl, LEFT, pos=grab)
    assert tl.drag_text == "0:06.000"  # the edge does not jump to the mouse
    target = band_point(tl, 7.3)
    qtbot.mouseMove(tl, pos=target)
    shown = tl.drag_text
    expected = round((tl.t_of(target.x()) + 6.0 - tl.t_of(grab.x())) * 25) / 25
    assert shown == window.time_view.format(expected) and segs(window)[0].end_s == 6.0
    qtbot.mouseRelease(tl, LEFT, pos=target)
    after = segs(window)
    assert after[0].end_s == expected and after[0].end_frame == round(expected * 25) and tl.drag_text == ""
    assert after[1].start_s == expected  # the neighbour follows; nothing snaps to other segments


def test_band_labels_are_elided_not_cut(window, qtbot):
    tl = window.timeline
    metrics = tl.fontMetrics()
    seg = window.state.segments(window.current_video)[1]
    wide = band_text(seg, 400, metrics)
    assert wide == "background 0.59"
    narrow = band_text(seg, metrics.horizontalAdvance("background 0.59") - 10, metrics)
    assert narrow.endswith(" 0.59") and "…" in narrow and metrics.horizontalAdvance(narrow) <= \
        metrics.horizontalAdvance("background 0.59") - 16
    assert band_text(seg, 8, metrics) == ""


def test_split_at_cursor_only_inside_the_selected_segment(window, qtbot):
    tl = window.timeline
    before = segs(window)
    tl.select(0)
    window.current.set_time(12.0)  # inside segment 2, not the selected one
    window.menu_actions["split"].trigger()
    assert segs(window) == before
    assert "not inside the selected segment" in window.statusBar().currentMessage()
    window.current.set_time(2.0)
    window.menu_actions["split"].trigger()
    assert [(s.start_s, s.end_s) for s in segs(window)[:2]] == [(0.0, 2.0), (2.0, 6.0)]
