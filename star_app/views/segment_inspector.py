"""The selected segment, under the timeline: its label (editable), start and end (editable, in the shared
time format, one frame per step), duration, confidence and source. Every edit goes through the timeline's
undoable edits; times land on frames."""
from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from star_app.state.current_time import CurrentTime
from star_app.state.project_state import ProjectState
from star_app.state.time_view import TimeView
from star_app.views.time_spin import TimeSpin
from star_app.views.timeline import Timeline
from star_app.views.timeline_paint import SOURCE_WORDS, segment_tip
from star_model.schema import BACKGROUND, SOURCE_MODEL


class SegmentInspector(QWidget):
    """Shows and edits the timeline's selected segment (disabled when none is selected)."""

    def __init__(self, state: ProjectState, timeline: Timeline, current: CurrentTime, view: TimeView,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state, self._timeline, self._current, self._view = state, timeline, current, view
        self._showing = False
        self.label = QComboBox()
        self.label.setMinimumContentsLength(10)
        self.label.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.start, self.end = TimeSpin(view), TimeSpin(view)
        self.duration, self.confidence, self.source = QLabel(), QLabel(), QLabel()
        self.source.setStyleSheet("color: #505050;")
        row = QHBoxLayout(self)
        row.setContentsMargins(2, 0, 2, 0)
        for text, widget in (("Segment", self.label), ("from", self.start), ("to", self.end),
                             ("", self.duration), ("", self.confidence), ("", self.source)):
            if text:
                row.addWidget(QLabel(text))
            row.addWidget(widget)
        row.addStretch(1)
        self.label.activated.connect(lambda _i: self._relabel())
        self.start.editingFinished.connect(lambda: self._move("start", self.start.value()))
        self.end.editingFinished.connect(lambda: self._move("end", self.end.value()))
        timeline.selectionChanged.connect(lambda _i: self.refresh())
        state.segmentsChanged.connect(lambda _v: self.refresh())
        state.actionsChanged.connect(self.refresh)
        current.mediaChanged.connect(lambda duration, fps: (self.start.set_span(duration, fps),
                                                            self.end.set_span(duration, fps)))
        view.formatChanged.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        index, segs = self._timeline.selected, self._timeline.segments
        seg = segs[index] if 0 <= index < len(segs) else None
        self._showing = True
        self.setEnabled(seg is not None)
        self.label.clear()
        if seg is None:
            self.label.addItem("(select a segment)")
            for w in (self.duration, self.confidence, self.source):
                w.setText("")
        else:
            names = [a.name for a in self._state.project.actions] + [BACKGROUND]
            self.label.addItems(names if seg.label in names else names + [seg.label])
            self.label.setCurrentText(seg.label)
            self.start.setValue(seg.start_s)
            self.end.setValue(seg.end_s)
            length = self._view.format(seg.duration_s) + " frames" if self._view.frames else f"{seg.duration_s:.3f} s"
            self.duration.setText(f"({length})")
            self.confidence.setText(f"confidence {seg.confidence:.2f}")
            self.source.setText(f"from {SOURCE_WORDS.get(seg.source, SOURCE_WORDS[SOURCE_MODEL])}")
        self.setToolTip(segment_tip(seg, self._view) if seg is not None else "Select a segment on the timeline")
        self._showing = False

    def _relabel(self) -> None:
        index = self._timeline.selected
        if not self._showing and index >= 0 and self.label.currentText() != self._timeline.segments[index].label:
            self._timeline.relabel(index, self.label.currentText())

    def _move(self, edge: str, t: float) -> None:
        index = self._timeline.selected
        if self._showing or index < 0:
            return
        fps = self._current.fps
        t = round(t * fps) / fps
        if abs(getattr(self._timeline.segments[index], f"{edge}_s") - t) > 1e-9:
            self._timeline.move_edge(index, edge, t)
        else:
            self.refresh()
