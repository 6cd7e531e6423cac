"""The timeline: one coloured band per segment and the playback cursor.

Shading: a model segment's opacity grows with its confidence (a pale band is one to review first);
a manual segment (confirmed or edited by a person) is opaque and hatched.

Click a band to select it, drag its edges to adjust, right-click for label / split /
manual / delete / add-as-example; click or drag elsewhere to seek. Ctrl+wheel zooms
around the mouse, the wheel scrolls. Edits go through ProjectState (undoable).
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QContextMenuEvent, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import QMenu, QSizePolicy, QWidget

from star_app.state import segment_edits as edits
from star_app.state.current_time import CurrentTime
from star_app.state.project_state import ProjectState
from star_model.schema import BACKGROUND, SOURCE_MANUAL, Segment

RULER_H = 18
EDGE_PX = 5
MIN_VIEW_S = 1.0
BACKGROUND_COLOR = "#b8b8b8"
UNKNOWN_COLOR = "#707070"
MIN_ALPHA = 0.25


class Timeline(QWidget):
    """Segments of the current video over time."""

    selectionChanged = Signal(int)
    videoChanged = Signal(str)  # the video shown ("" for none)
    addExampleRequested = Signal(int)

    def __init__(self, state: ProjectState, current: CurrentTime, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._current = current
        self.video: Optional[str] = None
        self.selected = -1
        self.view_start = 0.0
        self.view_len = 0.0
        self._drag: Optional[tuple[str, int]] = None  # ("cursor", -1) or ("start"|"end", segment index)
        self._drag_t = 0.0
        self.setMinimumHeight(64)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        current.changed.connect(self._time_changed)
        current.mediaChanged.connect(self._media_changed)
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

    def _media_changed(self, duration: float, _fps: float) -> None:
        self.view_start, self.view_len = 0.0, max(duration, MIN_VIEW_S)
        self.update()

    def _select(self, index: int) -> None:
        if index != self.selected:
            self.selected = index
            self.selectionChanged.emit(index)
            self.update()

    def select(self, index: int) -> None:
        self._select(index if 0 <= index < len(self.segments) else -1)

    def _time_changed(self, t: float) -> None:
        if self._drag is None and not (self.view_start <= t <= self.view_start + self.view_len):
            self.view_start = self._clamp_start(t - 0.1 * self.view_len)
        self.update()

    # --- geometry --------------------------------------------------------------------------
    def x_of(self, t: float) -> float:
        return (t - self.view_start) / self.view_len * self.width() if self.view_len > 0 else 0.0

    def t_of(self, x: float) -> float:
        t = self.view_start + x / max(1, self.width()) * self.view_len
        return min(max(t, 0.0), self._current.duration)

    def _clamp_start(self, start: float) -> float:
        return min(max(0.0, start), max(0.0, self._current.duration - self.view_len))

    def zoom(self, factor: float, at_x: Optional[float] = None) -> None:
        """Zoom by ``factor`` (>1 zooms in) keeping the time under ``at_x`` in place."""
        duration = max(self._current.duration, MIN_VIEW_S)
        at_x = self.width() / 2 if at_x is None else at_x
        anchor = self.t_of(at_x)
        self.view_len = min(max(self.view_len / factor, MIN_VIEW_S), duration)
        self.view_start = self._clamp_start(anchor - at_x / max(1, self.width()) * self.view_len)
        self.update()

    def scroll(self, seconds: float) -> None:
        self.view_start = self._clamp_start(self.view_start + seconds)
        self.update()

    def _band(self) -> QRectF:
        return QRectF(0, RULER_H + 2, self.width(), self.height() - RULER_H - 6)

    def _hit(self, pos: QPointF) -> tuple[str, int]:
        """What is under ``pos``: ("start"|"end", i) for an edge, ("segment", i), or ("none", -1)."""
        if not self._band().contains(pos):
            return "none", -1
        for i, seg in enumerate(self.segments):
            x0, x1 = self.x_of(seg.start_s), self.x_of(seg.end_s)
            if abs(pos.x() - x0) <= EDGE_PX and i == self.selected:
                return "start", i
            if abs(pos.x() - x1) <= EDGE_PX and i == self.selected:
                return "end", i
        index = edits.index_at(self.segments, self.t_of(pos.x()))
        return ("segment", index) if index >= 0 else ("none", -1)

    # --- painting --------------------------------------------------------------------------
    def segment_color(self, seg: Segment) -> QColor:
        """The fill of a segment's band: its action's colour, opaque when manual, else with opacity
        ``MIN_ALPHA`` at confidence 0 up to 1 at confidence 1."""
        action = self._state.project.action(seg.label)
        color = QColor(BACKGROUND_COLOR if seg.label == BACKGROUND else action.color if action else UNKNOWN_COLOR)
        confidence = 1.0 if seg.source == SOURCE_MANUAL else min(max(seg.confidence, 0.0), 1.0)
        color.setAlphaF(MIN_ALPHA + (1.0 - MIN_ALPHA) * confidence)
        return color

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt API)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.fillRect(self.rect(), QColor("#fafafa"))
        if self.video is None or self._current.duration <= 0:
            p.setPen(QColor("#808080"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No video")
            return
        self._paint_ruler(p)
        band = self._band()
        for i, seg in enumerate(self.segments):
            x0, x1 = self.x_of(seg.start_s), self.x_of(seg.end_s)
            if x1 < 0 or x0 > self.width():
                continue
            if self._drag and self._drag[1] == i and self._drag[0] in ("start", "end"):
                x0, x1 = (self.x_of(self._drag_t), x1) if self._drag[0] == "start" else (x0, self.x_of(self._drag_t))
            rect = QRectF(x0, band.top(), max(1.0, x1 - x0), band.height())
            p.fillRect(rect, self.segment_color(seg))
            if seg.source == SOURCE_MANUAL:
                p.fillRect(rect, QBrush(QColor(0, 0, 0, 60), Qt.BrushStyle.BDiagPattern))
            p.setPen(QPen(QColor("#ffffff"), 1))
            p.drawLine(QPointF(x0, band.top()), QPointF(x0, band.bottom()))
            if rect.width() > 40:
                p.setPen(QColor("#000000"))
                p.drawText(rect.adjusted(4, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                           f"{seg.label} {seg.confidence:.2f}")
            if i == self.selected:
                p.setPen(QPen(QColor("#000000"), 2))
                p.drawRect(rect.adjusted(1, 1, -1, -1))
        x = self.x_of(self._drag_t if self._drag == ("cursor", -1) else self._current.time)
        p.setPen(QPen(QColor("#d00000"), 2))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))

    def _paint_ruler(self, p: QPainter) -> None:
        p.fillRect(QRectF(0, 0, self.width(), RULER_H), QColor("#e8e8e8"))
        step = next((s for s in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600)
                     if self.view_len / s <= max(2, self.width() / 70)), 1200)
        p.setPen(QColor("#505050"))
        t = (int(self.view_start / step)) * step
        while t <= self.view_start + self.view_len:
            x = self.x_of(t)
            p.drawLine(QPointF(x, RULER_H - 5), QPointF(x, RULER_H))
            minutes, seconds = divmod(t, 60)
            p.drawText(QPointF(x + 2, RULER_H - 6), f"{int(minutes)}:{seconds:04.1f}" if step < 1 else
                       f"{int(minutes)}:{int(seconds):02d}")
            t += step

    # --- mouse -----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if event.button() != Qt.MouseButton.LeftButton or self.video is None:
            return
        kind, index = self._hit(event.position())
        if kind in ("start", "end"):
            self._drag, self._drag_t = (kind, index), self.t_of(event.position().x())
        elif kind == "segment" and event.position().y() > RULER_H and index != self.selected:
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
        self._drag_t = self.t_of(event.position().x())
        if self._drag[0] == "cursor":
            self._current.set_time(self._drag_t)
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        drag, self._drag = self._drag, None
        if drag is not None and drag[0] in ("start", "end"):
            self.move_edge(drag[1], drag[0], self.t_of(event.position().x()))
        self.update()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt API)
        steps = event.angleDelta().y() / 120 or event.angleDelta().x() / 120
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(1.25 ** steps, event.position().x())
        else:
            self.scroll(-steps * 0.1 * self.view_len)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 (Qt API)
        kind, index = self._hit(QPointF(event.pos()))
        if kind == "none":
            return
        self._select(index)
        menu = QMenu(self)
        label_menu = menu.addMenu("Label as")
        for name in [a.name for a in self._state.project.actions] + [BACKGROUND]:
            label_menu.addAction(name, lambda n=name: self.relabel(index, n))
        menu.addAction("Split at cursor", self.split_at_cursor)
        menu.addAction("Mark manual (confirmed)", lambda: self.mark_manual(index))
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

    def split_at_cursor(self) -> None:
        t, fps = self._current.time, self._current.fps
        if edits.index_at(self.segments, t) >= 0:
            self._edit("Split segment", lambda segs: edits.split_at(segs, t, fps))
