"""The attention plot under the player: the per-frame TSA class map, one curve per action."""
from __future__ import annotations

from typing import Optional

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from star_app.project import Action
from star_app.state.current_time import CurrentTime
from star_model.schema import LabelResult


class AttentionPlot(QWidget):
    """Curves of M[t, c] over time in each action's colour, a cursor that follows playback, click to seek."""

    def __init__(self, current: CurrentTime, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._current = current
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("left", "TSA attention")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.setYRange(0.0, 1.0, padding=0.02)
        self.plot.setLabel("bottom", "time (s)")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.setXRange(0.0, 10.0, padding=0.01)
        self.plot.addLegend(offset=(-10, 5), labelTextSize="8pt")
        self.plot.setMinimumHeight(120)
        self.cursor = pg.InfiniteLine(pos=0.0, angle=90, movable=False, pen=pg.mkPen("#d00000", width=1.5))
        self.plot.addItem(self.cursor)
        self.curves: dict[str, pg.PlotDataItem] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        current.changed.connect(self._moved)

    def show_data(self, data: Optional[LabelResult], actions: list[Action], duration_s: float) -> None:
        """Plot ``data`` (None clears the plot)."""
        for curve in self.curves.values():
            self.plot.removeItem(curve)
        self.curves.clear()
        legend = self.plot.plotItem.legend
        if legend is not None:
            legend.clear()
        if data is not None:
            colors = {a.name: a.color for a in actions}
            for c, name in enumerate(data.names):
                pen = pg.mkPen(QColor(colors.get(name, "#606060")), width=1.5)
                self.curves[name] = self.plot.plot(data.times, data.tsa_map[:, c], pen=pen, name=name)
        self.plot.setXRange(0, max(duration_s, 1.0), padding=0.01)

    def _moved(self, t: float) -> None:
        self.cursor.setPos(t)

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        vb = self.plot.plotItem.vb
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        self._current.set_time(vb.mapSceneToView(event.scenePos()).x())
