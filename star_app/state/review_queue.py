"""The review queue of a video: the model's segments nobody has confirmed yet, least confident first.

- **Unreviewed** means ``source`` "model" or "text" (an action labeled from its text alone), background included: a background span is the model's
  claim that no action happens there, and a missed action hides in exactly such a span. Any edit
  (confirm, relabel, move, split) makes a segment ``manual``, which takes it off the queue.
- **Order**: ascending confidence, ties by start time. Segments do not overlap, so the order is total:
  the same segments always give the same queue.
- **Stepping** starts from an *anchor*, the sort key of where the reviewer is (the segment they are
  on); the anchor need not be in the queue any more, so once the segment there is confirmed, the next
  step goes on to the one after it. Past the last entry the queue wraps round to the first (and before
  the first to the last), and says so.

Qt-free: the app's :class:`~star_app.controllers.review_controller.ReviewController` drives it.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import NamedTuple, Optional, Sequence

from star_model.schema import SOURCE_MODEL, SOURCE_TEXT, Segment

Key = tuple[float, float]
"""Where a segment stands in the queue: (confidence, start_s)."""


class Step(NamedTuple):
    """Where a step lands: the segment ``index``, its ``position`` in the queue (0-based), the queue's
    ``size``, and whether the step ``wrapped`` round an end of the queue."""

    index: int
    position: int
    size: int
    wrapped: bool


def is_unreviewed(seg: Segment) -> bool:
    """A claim of the model that no person has confirmed or edited."""
    return seg.source in (SOURCE_MODEL, SOURCE_TEXT)


def review_key(seg: Segment) -> Key:
    return (seg.confidence, seg.start_s)


def queue(segs: Sequence[Segment]) -> list[int]:
    """The indices of the unreviewed segments, least confident first (ties: earlier first)."""
    return sorted((i for i, seg in enumerate(segs) if is_unreviewed(seg)), key=lambda i: review_key(segs[i]))


def remaining(segs: Sequence[Segment]) -> int:
    """How many segments are left to review."""
    return sum(1 for seg in segs if is_unreviewed(seg))


def step(segs: Sequence[Segment], anchor: Optional[Key], forward: bool = True) -> Optional[Step]:
    """The queue entry after ``anchor`` (``forward``) or before it; with no anchor the first (or last)
    entry. None when nothing is left to review."""
    order = queue(segs)
    if not order:
        return None
    size = len(order)
    if anchor is None:
        position, wrapped = (0, False) if forward else (size - 1, False)
    elif forward:
        position = bisect_right([review_key(segs[i]) for i in order], anchor)
        position, wrapped = (position, False) if position < size else (0, True)
    else:
        position = bisect_left([review_key(segs[i]) for i in order], anchor) - 1
        position, wrapped = (position, False) if position >= 0 else (size - 1, True)
    return Step(order[position], position, size, wrapped)
