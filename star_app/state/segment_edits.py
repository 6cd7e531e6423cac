"""Pure edits of a video's segment list (used through ProjectState.set_segments, hence undoable).

Every edited segment becomes ``manual``. Frames are ``round(t * fps)``; ``end_frame`` is exclusive.
"""
from __future__ import annotations

from star_model.schema import SOURCE_MANUAL, Segment

MIN_LENGTH_S = 0.05


def _frames(seg: Segment, fps: float) -> None:
    seg.start_frame = int(round(seg.start_s * fps))
    seg.end_frame = int(round(seg.end_s * fps))


def move_edge(segs: list[Segment], index: int, edge: str, t: float, fps: float) -> None:
    """Move the ``start`` or ``end`` of segment ``index`` to ``t``; a touching neighbour follows."""
    seg = segs[index]
    prev_seg = segs[index - 1] if index > 0 else None
    next_seg = segs[index + 1] if index + 1 < len(segs) else None
    if edge == "start":
        low = prev_seg.start_s + MIN_LENGTH_S if prev_seg is not None else 0.0
        t = min(max(t, low), seg.end_s - MIN_LENGTH_S)
        if prev_seg is not None and (abs(prev_seg.end_s - seg.start_s) < 1e-6 or prev_seg.end_s > t):
            prev_seg.end_s = t
            prev_seg.source = SOURCE_MANUAL
            _frames(prev_seg, fps)
        seg.start_s = t
    else:
        high = next_seg.end_s - MIN_LENGTH_S if next_seg is not None else float("inf")
        t = max(min(t, high), seg.start_s + MIN_LENGTH_S)
        if next_seg is not None and (abs(next_seg.start_s - seg.end_s) < 1e-6 or next_seg.start_s < t):
            next_seg.start_s = t
            next_seg.source = SOURCE_MANUAL
            _frames(next_seg, fps)
        seg.end_s = t
    seg.source = SOURCE_MANUAL
    _frames(seg, fps)


def relabel(segs: list[Segment], index: int, label: str) -> None:
    segs[index].label = label
    segs[index].source = SOURCE_MANUAL


def mark_manual(segs: list[Segment], index: int) -> None:
    segs[index].source = SOURCE_MANUAL
    segs[index].confidence = 1.0


def delete(segs: list[Segment], index: int) -> None:
    del segs[index]


def split_at(segs: list[Segment], t: float, fps: float) -> bool:
    """Split the segment under ``t`` in two; False when no segment holds ``t`` away from its edges."""
    for i, seg in enumerate(segs):
        if seg.start_s + MIN_LENGTH_S <= t <= seg.end_s - MIN_LENGTH_S:
            right = Segment(seg.label, t, seg.end_s, 0, 0, seg.confidence, SOURCE_MANUAL)
            seg.end_s, seg.source = t, SOURCE_MANUAL
            _frames(seg, fps)
            _frames(right, fps)
            segs.insert(i + 1, right)
            return True
    return False


def index_at(segs: list[Segment], t: float) -> int:
    """The index of the segment holding ``t``, or -1."""
    return next((i for i, s in enumerate(segs) if s.start_s <= t < s.end_s), -1)


def insert(segs: list[Segment], label: str, start_s: float, end_s: float, fps: float) -> int:
    """Put a manual segment ``label`` over [start_s, end_s) (frame times): segments under it are cut back or
    split around it, or removed when it covers them; returns its index."""
    new = Segment(label, start_s, end_s, 0, 0, 1.0, SOURCE_MANUAL)
    _frames(new, fps)
    kept: list[Segment] = []
    for seg in segs:
        if seg.end_s <= start_s or seg.start_s >= end_s:
            kept.append(seg)
            continue
        if seg.start_s < start_s:
            kept.append(Segment(seg.label, seg.start_s, start_s, seg.start_frame, new.start_frame, seg.confidence,
                                seg.source))
        if seg.end_s > end_s:
            kept.append(Segment(seg.label, end_s, seg.end_s, new.end_frame, seg.end_frame, seg.confidence,
                                seg.source))
    kept.append(new)
    kept.sort(key=lambda s: s.start_s)
    segs[:] = kept
    return kept.index(new)
