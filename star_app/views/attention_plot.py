"""The attention plot under the player: the per-frame TSA class map, one curve per action in its colour.

It shows the stretch of the shared :class:`~star_app.state.time_view.TimeView`, so a time is at the same x
here and on the timeline below (whose ruler labels both); ``axisMoved`` tells where its data area starts
and ends, for the timeline to match. The wheel scrolls and Ctrl+wheel zooms both views; a click seeks.
There is no legend over the curves: the colours are the actions' (the Actions list), and hovering
gives every action's value at that time.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from star_app.project import Action
from star_app.state.current_time import CurrentTime
from star_app.state.time_view import TimeView
from star_model.schema import LabelResult

AXIS_W = 40


class AttentionPlot(QWidget):
    """Curves of M[t, c] over the shared time axis, a cursor that follows playback, click to seek."""

    axisMoved = Signal(float, float)  # the data area's left and right margins, in this widget's pixels

    def __init__(self, current: CurrentTime, view: TimeView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._current, self.view = current, view
        self._data: Optional[LabelResult] = None
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.showGrid(x=False, y=True, alpha=0.2)
        self.plot.setLabel("left", "TSA")
        left = self.plot.getAxis("left")
        left.enableAutoSIPrefix(False)
        left.setWidth(AXIS_W)
        self.plot.hideAxis("bottom")
        self.plot.setYRange(0.0, 1.0, padding=0.02)
        self.plot.setMinimumHeight(90)
        self.cursor = pg.InfiniteLine(pos=0.0, angle=90, movable=False, pen=pg.mkPen("#d00000", width=2))
        self.plot.addItem(self.cursor)
        self.curves: dict[str, pg.PlotDataItem] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.plot.scene().sigMouseMoved.connect(self._hovered)
        self.plot.viewport().installEventFilter(self)
        self.plot.plotItem.vb.sigResized.connect(self._report_axis)
        current.changed.connect(self.cursor.setPos)
        view.changed.connect(self._show_range)
        self._show_range()

    def show_data(self, data: Optional[LabelResult], actions: list[Action]) -> None:
        """Plot ``data`` (None clears the plot)."""
        for curve in self.curves.values():
            self.plot.removeItem(curve)
        self.curves.clear()
        self._data = data
        if data is not None:
            colors = {a.name: a.color for a in actions}
            for c, name in enumerate(data.names):
                pen = pg.mkPen(QColor(colors.get(name, "#606060")), width=1.5)
                self.curves[name] = self.plot.plot(data.times, data.tsa_map[:, c], pen=pen, name=name)
        self._show_range()

    def _show_range(self) -> None:
        self.plot.setXRange(self.view.start, self.view.start + self.view.length, padding=0.0)

    def _scene_x(self, scene_x: float) -> float:
        """A scene x as an x of this widget (fractional, as the plot draws it)."""
        offset = self.plot.viewport().mapTo(self, QPoint(0, 0)).x()
        return offset + self.plot.viewportTransform().map(QPointF(scene_x, 0.0)).x()

    def data_area(self) -> tuple[float, float]:
        """The x (this widget's pixels) where the data area starts and where it ends."""
        rect = self.plot.plotItem.vb.sceneBoundingRect()
        return self._scene_x(rect.left()), self._scene_x(rect.right())

    def x_of(self, t: float) -> float:
        """The x (this widget's pixels) of time ``t``."""
        return self._scene_x(self.plot.plotItem.vb.mapViewToScene(pg.Point(t, 0.0)).x())

    def _report_axis(self) -> None:
        left, right = self.data_area()
        self.axisMoved.emit(left, self.width() - right)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._report_axis()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.Wheel and isinstance(event, QWheelEvent):
            steps = event.angleDelta().y() / 120 or event.angleDelta().x() / 120
            x = self.plot.viewport().mapTo(self, event.position().toPoint()).x()
            left, right = self.data_area()
            fraction = (x - left) / max(1.0, right - left)
            self.view.wheel(steps, bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier),
                            self.view.start + fraction * self.view.length, fraction)
            return True
        return super().eventFilter(watched, event)

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        vb = self.plot.plotItem.vb
        if vb.sceneBoundingRect().contains(event.scenePos()):
            self._current.set_time(vb.mapSceneToView(event.scenePos()).x())

    def _hovered(self, scene_pos) -> None:
        """The tooltip: every action's attention at the time under the mouse."""
        vb = self.plot.plotItem.vb
        if self._data is None or not len(self._data.times) or not vb.sceneBoundingRect().contains(scene_pos):
            self.plot.setToolTip("")
            return
        t = vb.mapSceneToView(scene_pos).x()
        i = int(np.clip(np.searchsorted(self._data.times, t), 0, len(self._data.times) - 1))
        values = ", ".join(f"{name} {self._data.tsa_map[i, c]:.2f}" for c, name in enumerate(self._data.names))
        self.plot.setToolTip(f"{self.view.format(float(self._data.times[i]))}: {values}")
