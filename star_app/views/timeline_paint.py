"""What the timeline draws, apart from its widget: the ruler's ticks, a band's text (elided to fit, never cut),
a segment's tooltip, and the colour of a segment's band."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter

from star_app.project import Project
from star_app.state.time_view import TimeView
from star_model.schema import BACKGROUND, SOURCE_MANUAL, SOURCE_MODEL, SOURCE_TEXT, Segment

RULER_H = 18
BACKGROUND_COLOR = "#b8b8b8"
UNKNOWN_COLOR = "#707070"
MIN_ALPHA = 0.25
SOURCE_WORDS = {SOURCE_MODEL: "the model", SOURCE_MANUAL: "you (confirmed or edited)",
                SOURCE_TEXT: "the model, from the action's text only"}
TICK_STEPS = (0.04, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600)


def segment_color(project: Project, seg: Segment) -> QColor:
    """A segment's fill: its action's colour, opaque when manual, else with opacity ``MIN_ALPHA`` at
    confidence 0 up to 1 at confidence 1."""
    action = project.action(seg.label)
    color = QColor(BACKGROUND_COLOR if seg.label == BACKGROUND else action.color if action else UNKNOWN_COLOR)
    confidence = 1.0 if seg.source == SOURCE_MANUAL else min(max(seg.confidence, 0.0), 1.0)
    color.setAlphaF(MIN_ALPHA + (1.0 - MIN_ALPHA) * confidence)
    return color


def band_text(seg: Segment, width: float, metrics: QFontMetrics) -> str:
    """The text of a band ``width`` px wide: label and confidence; a label that does not fit is elided ("…"),
    keeping the confidence when there is room; "" when not even an ellipsis fits."""
    suffix = f" {seg.confidence:.2f}" + (" (text only)" if seg.source == SOURCE_TEXT else "")
    room = int(width) - 6
    if metrics.horizontalAdvance(seg.label + suffix) <= room:
        return seg.label + suffix
    label_room = room - metrics.horizontalAdvance(suffix)
    if label_room >= metrics.horizontalAdvance("ab…"):
        return metrics.elidedText(seg.label, Qt.TextElideMode.ElideRight, label_room) + suffix
    text = metrics.elidedText(seg.label, Qt.TextElideMode.ElideRight, room)
    return text if room > metrics.horizontalAdvance("a…") else ""


def segment_tip(seg: Segment, view: TimeView) -> str:
    """A segment as its tooltip and the inspector describe it."""
    source = SOURCE_WORDS.get(seg.source, SOURCE_WORDS[SOURCE_MODEL])
    return (f"{seg.label}: {view.format(seg.start_s)} – {view.format(seg.end_s)} "
            f"({view.format(seg.end_s - seg.start_s) if view.frames else f'{seg.duration_s:.3f} s'})\n"
            f"confidence {seg.confidence:.2f}, from {source}")


def tick_step(view: TimeView, width: float) -> float:
    """The ruler's step: the smallest of ``TICK_STEPS`` that leaves about 70 px between ticks."""
    return next((s for s in TICK_STEPS if view.length / s <= max(2.0, width / 70)), TICK_STEPS[-1])


def tick_decimals(step: float) -> int:
    return 0 if step >= 1 else 1 if step >= 0.1 else 2


def paint_ruler(p: QPainter, view: TimeView, x_of, left: float, width: float) -> None:
    """Ticks and times (in the view's format) along the top ``RULER_H`` px, from x ``left`` over ``width``."""
    p.fillRect(QRectF(left, 0, width, RULER_H), QColor("#e8e8e8"))
    step = tick_step(view, width)
    p.setPen(QColor("#505050"))
    t = int(view.start / step) * step
    while t <= view.start + view.length + 1e-9:
        x = x_of(t)
        if x >= left - 0.5:
            p.drawLine(QPointF(x, RULER_H - 5), QPointF(x, RULER_H))
            p.drawText(QPointF(x + 2, RULER_H - 6), view.format(t, tick_decimals(step)))
        t += step
