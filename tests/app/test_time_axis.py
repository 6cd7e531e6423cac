"""One time axis: the plot and the timeline map a time to the same x, zoom and scroll together (the wheel and
Ctrl+wheel do the same over either), write times one way (m:ss.mmm, or frame numbers), and the plot has no
legend over its curves; readable at 1024x680."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from star_app.state.time_view import format_time
from star_model.schema import Segment
from tests.app.conftest import ACTIONS

SIZES = [(1024, 680), (1600, 1000)]


@pytest.fixture
def open_video(make_window, qtbot, long_dataset):
    window = make_window()
    for name in ACTIONS:
        window.state.add_action(name, [])
    video = window.files.drop_videos([str(long_dataset / "long" / "long_000.mp4")])[0]
    window.state.set_segments(video, "segments", lambda segs: segs.extend([
        Segment(ACTIONS[0], 0.0, 30.0, 0, 750, 0.8), Segment(ACTIONS[1], 30.0, 90.0, 750, 2250, 0.6)]))
    return window


def window_x(widget, x: float) -> float:
    return widget.mapTo(widget.window(), QPoint(0, 0)).x() + x


def cursor_xs(window, t: float) -> tuple[float, float]:
    """Where the plot's and the timeline's cursors are drawn for time ``t``, in window pixels."""
    QApplication.processEvents()
    return window_x(window.plot, window.plot.x_of(t)), window_x(window.timeline, window.timeline.x_of(t))


def wheel(widget, x: float, steps: int, ctrl: bool) -> None:
    pos = QPointF(x, widget.height() / 2)
    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.ControlModifier if ctrl else Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


@pytest.mark.parametrize("size", SIZES)
def test_the_plot_and_the_timeline_put_a_time_at_the_same_x(open_video, qtbot, size):
    window = open_video
    window.resize(*size)
    qtbot.waitUntil(lambda: window.timeline.margins[0] > 0, timeout=3000)
    for t in (0.0, 39.8, 71.25, 90.0):
        window.current.set_time(t)
        plot_x, timeline_x = cursor_xs(window, t)
        assert abs(plot_x - timeline_x) <= 1.0, (t, plot_x, timeline_x)
    # Ctrl+wheel over the plot zooms both around the mouse; the wheel over the timeline scrolls both
    view = window.time_view
    wheel(window.plot.plot.viewport(), window.plot.plot.viewport().width() / 2, 2, ctrl=True)
    assert view.length < 90.0 / 1.5
    window.current.set_time(view.start + view.length / 3)
    plot_x, timeline_x = cursor_xs(window, window.current.time)
    assert abs(plot_x - timeline_x) <= 1.0
    start = view.start
    wheel(window.timeline, window.timeline.width() / 2, -1, ctrl=False)
    assert view.start > start
    shown = window.plot.plot.plotItem.vb.viewRange()[0]
    assert shown == pytest.approx([view.start, view.start + view.length], abs=1e-6)
    wheel(window.timeline, window.timeline.width() / 2, -3, ctrl=True)
    assert view.length == pytest.approx(90.0)


def test_one_time_format_with_frames_available(open_video, qtbot):
    window = open_video
    window.current.set_time(39.8)
    assert window.player.time_label.text() == "0:39.800 / 1:30.000  frame 995"
    assert format_time(3725.5) == "1:02:05.500" and format_time(1.0, 25.0, frames=True) == "25"
    assert window.timeline.view.format(39.8) == "0:39.800"
    window.menu_actions["time_frames"].trigger()
    assert window.settings.time_as_frames
    assert window.player.time_label.text() == "995 / 2250"
    assert window.timeline.view.format(39.8) == "995"
    window.menu_actions["time_frames"].trigger()
    assert window.player.time_label.text().startswith("0:39.800")


def test_no_legend_over_the_curves_and_readable_at_1024x680(open_video, qtbot):
    window = open_video
    window.resize(1024, 680)
    QApplication.processEvents()
    assert window.plot.plot.plotItem.legend is None
    label = window.player.time_label
    window.current.set_time(89.96)
    QApplication.processEvents()
    assert label.isVisible() and label.width() >= label.sizeHint().width()  # the frame counter is not cut
    assert window.plot.height() >= 90 and window.timeline.height() >= 64
    assert window.player.screen_label.height() >= 160
