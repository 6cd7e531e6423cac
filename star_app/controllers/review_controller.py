"""Reviewing the model's segments of the open video: N / Shift+N / Enter (see ``state.review_queue``).

N visits the next least-confident unreviewed segment after the one the reviewer is on (Shift+N the
previous), wrapping round at the ends of the queue with a status message; the segment is selected on
the timeline and the player seeks to its start. Enter confirms the selected segment: it becomes manual
with confidence 1 (one undo step) and leaves the queue; the selection stays on it, and the next N goes
on to the segment after it in the queue. ``remaining`` counts what is left to review.
"""
from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import QObject, Signal

from star_app.state import review_queue
from star_app.state import segment_edits as edits
from star_app.state.current_time import CurrentTime
from star_app.state.project_state import ProjectState
from star_app.views.timeline import Timeline


class ReviewController(QObject):
    """The review queue of the timeline's video; reports through ``status`` (the status bar)."""

    remainingChanged = Signal(int)

    def __init__(self, state: ProjectState, current: CurrentTime, timeline: Timeline, status: Callable[[str], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state, self._current, self._timeline, self._status = state, current, timeline, status
        self._anchor: Optional[review_queue.Key] = None
        self._remaining = 0
        state.segmentsChanged.connect(self._segments_changed)
        state.projectReplaced.connect(self._video_changed)
        timeline.videoChanged.connect(lambda _video: self._video_changed())
        timeline.selectionChanged.connect(lambda _index: self._follow_selection())

    @property
    def remaining(self) -> int:
        """How many segments of the timeline's video are left to review."""
        return self._remaining

    def next(self) -> None:
        self._step(forward=True)

    def previous(self) -> None:
        self._step(forward=False)

    def confirm(self) -> None:
        """Confirm the selected segment (it becomes manual), as one undoable step."""
        video, index, segs = self._timeline.video, self._timeline.selected, self._timeline.segments
        if video is None or index < 0:
            self._status("Select a segment first (N selects the least-confident one to review)")
            return
        if not review_queue.is_unreviewed(segs[index]):
            self._status("This segment is already confirmed")
            return
        label = segs[index].label
        self._state.set_segments(video, f"Confirm {label} segment", lambda ss: edits.mark_manual(ss, index))
        self._status(f"Confirmed {label}; {self._remaining} left to review")

    def _step(self, forward: bool) -> None:
        segs = self._timeline.segments
        found = review_queue.step(segs, self._anchor, forward)
        if found is None:
            self._status("Nothing left to review: every segment is confirmed" if segs else "Nothing to review")
            return
        seg = segs[found.index]
        self._anchor = review_queue.review_key(seg)
        self._timeline.select(found.index)
        self._current.set_time(seg.start_s)
        wrapped = " (wrapped round)" if found.wrapped else ""
        self._status(f"To review {found.position + 1} of {found.size}{wrapped}: {seg.label} "
                     f"{seg.start_s:.2f}–{seg.end_s:.2f} s, confidence {seg.confidence:.2f}")

    def _follow_selection(self) -> None:
        """The reviewer is where they select: an unreviewed segment becomes the anchor of the next step."""
        index, segs = self._timeline.selected, self._timeline.segments
        if 0 <= index < len(segs) and review_queue.is_unreviewed(segs[index]):
            self._anchor = review_queue.review_key(segs[index])

    def _segments_changed(self, video: str) -> None:
        if video == self._timeline.video:
            self._follow_selection()
            self._recount()

    def _video_changed(self) -> None:
        self._anchor = None
        self._recount()

    def _recount(self) -> None:
        remaining = review_queue.remaining(self._timeline.segments)
        if remaining != self._remaining:
            self._remaining = remaining
            self.remainingChanged.emit(remaining)
