"""The timeline: one coloured band per segment and the playback cursor, on the time axis it shares with the
attention plot (:class:`~star_app.state.time_view.TimeView`: the same x for the same time, zoom and scroll
together, one time format).

Shading: a model segment's opacity grows with its confidence (a pale band is one to review first);
a manual segment (confirmed or edited by a person) is opaque and hatched. Band texts are elided to fit.

Click a band to select it (hover for its details), drag the selected band's edges to adjust them (the
time is shown while dragging; the edge lands where it is dropped, on a frame); right-click for label /
split / confirm / delete / add-as-example; click or drag elsewhere to seek. Ctrl+wheel zooms around the
mouse, the wheel scrolls. Edits go through ProjectState (undoable).
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QContextMenuEvent, QHelpEvent, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import QMenu, QSizePolicy, QToolTip, QWidget

from star_app.state import segment_edits as edits
from star_app.state.current_time import CurrentTime
from star_app.state.project_state import ProjectState
from star_app.state.time_view import TimeView
from star_app.views.timeline_paint import RULER_H, band_text, paint_ruler, segment_color, segment_tip
from star_model.schema import BACKGROUND, SOURCE_MANUAL, Segment

EDGE_PX = 5


class Timeline(QWidget):
    """Segments of the current video over time."""

    selectionChanged = Signal(int)
    videoChanged = Signal(str)  # the video shown ("" for none)
    addExampleRequested = Signal(int)
    splitRequested = Signal()

    def __init__(self, state: ProjectState, current: CurrentTime, view: TimeView,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state, self._current, self.view = state, current, view
        self.video: Optional[str] = None
        self.selected = -1
        self.margins = (0.0, 0.0)
        self.coding: Optional[tuple[str, float]] = None  # an open coding: (label, start time)
        self._drag: Optional[tuple[str, int]] = None  # ("cursor", -1) or ("start"|"end", segment index)
        self._drag_t = 0.0
        self._grab = 0.0  # edge time minus mouse time when an edge drag starts
        self.setMinimumHeight(64)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        current.changed.connect(lambda _t: self.update())
        view.changed.connect(self.update)
        view.formatChanged.connect(self.update)
        state.segmentsChanged.connect(self._segments_changed)
        state.actionsChanged.connect(self.update)

    # --- data ------------------------------------------------------------------------------
    def set_video(self, video: Optional[str]) -> None:
        changed = video != self.video
        self.video = video
        self._select(-1)
        self.update()
        if changed:
            self.videoChanged.emit(video or "")

    @property
    def segments(self) -> list:
        return self._state.segments(self.video) if self.video else []

    def _segments_changed(self, video: str) -> None:
        if video == self.video:
            if self.selected >= len(self.segments):
                self._select(-1)
            self.update()

    def _select(self, index: int) -> None:
        if index != self.selected:
            self.selected = index
            self.selectionChanged.emit(index)
            self.update()

    def select(self, index: int) -> None:
        self._select(index if 0 <= index < len(self.segments) else -1)

    def set_coding(self, coding: Optional[tuple[str, float]]) -> None:
        """Show an open coding (a label and its start, running to the cursor), or none."""
        self.coding = coding
        self.update()

    # --- geometry: the shared time axis -------------------------------------------------------
    def set_margins(self, left: float, right: float) -> None:
        """Where the time axis starts and ends inside the widget (the plot's data area, for one x mapping)."""
        if (left, right) != self.margins:
            self.margins = (left, right)
            self.update()

    @property
    def span_px(self) -> float:
        return max(1.0, self.width() - self.margins[0] - self.margins[1])

    @property
    def view_start(self) -> float:
        return self.view.start

    @property
    def view_len(self) -> float:
        return self.view.length

    def x_of(self, t: float) -> float:
        return self.margins[0] + (t - self.view.start) / self.view.length * self.span_px

    def t_of(self, x: float) -> float:
        t = self.view.start + (x - self.margins[0]) / self.span_px * self.view.length
        return min(max(t, 0.0), self._current.duration)

    def zoom(self, factor: float, at_x: Optional[float] = None) -> None:
        """Zoom by ``factor`` (>1 zooms in) keeping the time under ``at_x`` in place."""
        at_x = self.margins[0] + self.span_px / 2 if at_x is None else at_x
        self.view.zoom(factor, self.t_of(at_x), (at_x - self.margins[0]) / self.span_px)

    def _band(self) -> QRectF:
        return QRectF(0, RULER_H + 2, self.width(), self.height() - RULER_H - 6)

    def _hit(self, pos: QPointF) -> tuple[str, int]:
        """What is under ``pos``: ("start"|"end", i) for an edge, ("segment", i), or ("none", -1)."""
        if not self._band().contains(pos):
            return "none", -1
        if 0 <= self.selected < len(self.segments):
            seg = self.segments[self.selected]
            for edge, t in (("start", seg.start_s), ("end", seg.end_s)):
                if abs(pos.x() - self.x_of(t)) <= EDGE_PX:
                    return edge, self.selected
        index = edits.index_at(self.segments, self.t_of(pos.x()))
        return ("segment", index) if index >= 0 else ("none", -1)

    def segment_color(self, seg: Segment) -> QColor:
        return segment_color(self._state.project, seg)

    @property
    def drag_text(self) -> str:
        """The time shown beside an edge being dragged ("" when none is)."""
        return self.view.format(self._drag_t) if self._drag and self._drag[0] in ("start", "end") else ""

    def _snap(self, t: float) -> float:
        """``t`` on a frame of the video (edges land on frames, never on other segments)."""
        fps = self._current.fps
        return min(max(round(t * fps) / fps, 0.0), self._current.duration)

    # --- painting --------------------------------------------------------------------------
    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt API)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#fafafa"))
        if self.video is None or self._current.duration <= 0:
            p.setPen(QColor("#808080"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No video")
            return
        paint_ruler(p, self.view, self.x_of, self.margins[0], self.span_px)
        p.setClipRect(QRectF(self.margins[0], 0, self.span_px, self.height()))
        for i, seg in enumerate(self.segments):
            self._paint_segment(p, i, seg)
        self._paint_coding(p)
        x = self.x_of(self._drag_t if self._drag == ("cursor", -1) else self._current.time)
        p.setPen(QPen(QColor("#d00000"), 2))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        if self.drag_text:
            p.setPen(QColor("#000000"))
            p.drawText(QPointF(self.x_of(self._drag_t) + 4, RULER_H + 14), self.drag_text)

    def _paint_segment(self, p: QPainter, i: int, seg: Segment) -> None:
        band = self._band()
        x0, x1 = self.x_of(seg.start_s), self.x_of(seg.end_s)
        if self._drag and self._drag[1] == i and self._drag[0] in ("start", "end"):
            x0, x1 = (self.x_of(self._drag_t), x1) if self._drag[0] == "start" else (x0, self.x_of(self._drag_t))
        if x1 < 0 or x0 > self.width():
            return
        rect = QRectF(x0, band.top(), max(1.0, x1 - x0), band.height())
        p.fillRect(rect, self.segment_color(seg))
        if seg.source == SOURCE_MANUAL:
            p.fillRect(rect, QBrush(QColor(0, 0, 0, 60), Qt.BrushStyle.BDiagPattern))
        p.setPen(QPen(QColor("#ffffff"), 1))
        p.drawLine(QPointF(x0, band.top()), QPointF(x0, band.bottom()))
        visible = QRectF(max(rect.left(), self.margins[0]), rect.top(), 0, rect.height())
        visible.setRight(min(rect.right(), self.margins[0] + self.span_px))
        text = band_text(seg, visible.width(), p.fontMetrics())
        if text:
            p.setPen(QColor("#000000"))
            p.drawText(visible.adjusted(4, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
        if i == self.selected:
            p.setPen(QPen(QColor("#000000"), 2))
            p.drawRect(rect.adjusted(1, 1, -1, -1))

    def _paint_coding(self, p: QPainter) -> None:
        if self.coding is None:
            return
        label, start = self.coding
        a, b = sorted((start, self._current.time))
        band = self._band()
        rect = QRectF(self.x_of(a), band.top() + band.height() / 2, max(2.0, self.x_of(b) - self.x_of(a)),
                      band.height() / 2)
        action = self._state.project.action(label)
        p.fillRect(rect, QBrush(QColor(action.color if action else "#000000"), Qt.BrushStyle.Dense4Pattern))
        p.setPen(QColor("#000000"))
        p.drawText(rect.adjusted(3, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, f"coding {label}…")

    # --- mouse -----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if event.button() != Qt.MouseButton.LeftButton or self.video is None:
            return
        kind, index = self._hit(event.position())
        if kind in ("start", "end"):
            edge_t = getattr(self.segments[index], f"{kind}_s")
            self._grab = edge_t - self.t_of(event.position().x())
            self._drag, self._drag_t = (kind, index), edge_t
        elif kind == "segment" and index != self.selected:
            self._select(index)
        else:
            self._select(index if kind == "segment" else -1)
            self._drag, self._drag_t = ("cursor", -1), self.t_of(event.position().x())
            self._current.set_time(self._drag_t)
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if self._drag is None:
            kind, _ = self._hit(event.position())
            self.setCursor(Qt.CursorShape.SizeHorCursor if kind in ("start", "end") else Qt.CursorShape.ArrowCursor)
            return
        if self._drag[0] == "cursor":
            self._drag_t = self.t_of(event.position().x())
            self._current.set_time(self._drag_t)
        else:
            self._drag_t = self._snap(self.t_of(event.position().x()) + self._grab)
        self.update()

    def mouseReleaseEvent(self, _event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        drag, self._drag = self._drag, None
        if drag is not None and drag[0] in ("start", "end") and \
                abs(getattr(self.segments[drag[1]], f"{drag[0]}_s") - self._drag_t) > 1e-9:
            self.move_edge(drag[1], drag[0], self._drag_t)
        self.update()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt API)
        steps = event.angleDelta().y() / 120 or event.angleDelta().x() / 120
        x = event.position().x()
        self.view.wheel(steps, bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier), self.t_of(x),
                        (x - self.margins[0]) / self.span_px)

    def event(self, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            kind, index = self._hit(QPointF(event.pos()))
            if index >= 0:
                QToolTip.showText(event.globalPos(), segment_tip(self.segments[index], self.view), self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 (Qt API)
        kind, index = self._hit(QPointF(event.pos()))
        if kind == "none":
            return
        self._select(index)
        menu = QMenu(self)
        label_menu = menu.addMenu("Label as")
        for name in [a.name for a in self._state.project.actions] + [BACKGROUND]:
            label_menu.addAction(name, lambda n=name: self.relabel(index, n))
        menu.addAction("Split at cursor", self.splitRequested.emit)
        menu.addAction("Confirm (mark manual)", lambda: self.mark_manual(index))
        menu.addAction("Add as example of its action", lambda: self.addExampleRequested.emit(index))
        menu.addSeparator()
        menu.addAction("Delete segment", lambda: self.delete(index))
        menu.exec(event.globalPos())

    # --- edits (undoable, via ProjectState) -------------------------------------------------------
    def _edit(self, text: str, change) -> None:
        if self.video is not None:
            self._state.set_segments(self.video, text, change)

    def move_edge(self, index: int, edge: str, t: float) -> None:
        self._edit(f"Move segment {edge}", lambda segs: edits.move_edge(segs, index, edge, t, self._current.fps))

    def relabel(self, index: int, label: str) -> None:
        self._edit(f"Label segment as {label}", lambda segs: edits.relabel(segs, index, label))

    def mark_manual(self, index: int) -> None:
        self._edit("Mark segment manual", lambda segs: edits.mark_manual(segs, index))

    def delete(self, index: int) -> None:
        self._select(-1)
        self._edit("Delete segment", lambda segs: edits.delete(segs, index))

    def split_at_cursor(self) -> str:
        """Split the selected segment (none selected: the one under the cursor) at the cursor; "" when done,
        else why not."""
        t, fps, segs = self._current.time, self._current.fps, self.segments
        index = self.selected if self.selected >= 0 else edits.index_at(segs, t)
        if index < 0:
            return "Put the cursor inside a segment to split it"
        seg = segs[index]
        if not seg.start_s + edits.MIN_LENGTH_S <= t <= seg.end_s - edits.MIN_LENGTH_S:
            return (f"The cursor ({self.view.format(t)}) is not inside the selected segment "
                    f"({self.view.format(seg.start_s)} – {self.view.format(seg.end_s)}); move it there to split")
        self._edit("Split segment", lambda ss: edits.split_at(ss, t, fps))
        return ""
