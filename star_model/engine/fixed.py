"""Segments the user has labeled already ("fixed"): labeling keeps them verbatim and fills the rest.

A person's corrections (confirmed or edited segments, ``source == "manual"``) must survive every
re-label. Labeling is given them as ``fixed``; the sampled frames they cover are *blocked*
(:func:`blocked_frames`): the search places no candidate segment over them and scores no background
there (:mod:`star_model.engine.decoder`). The model's segments are then cut to the free time between
the fixed ones (:func:`around_fixed`), so that the result still covers the whole video without gaps
or overlaps: the fixed segments as they were, the model's around them.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from star_model.schema import BACKGROUND, SOURCE_MODEL, Segment

EPS_S = 1e-6


def check_fixed(fixed: Sequence[Segment], duration_s: float) -> list[Segment]:
    """The fixed segments in time order; a ValueError names two that overlap or one outside the video."""
    ordered = sorted(fixed, key=lambda s: (s.start_s, s.end_s))
    for seg in ordered:
        if seg.end_s <= seg.start_s or seg.start_s < -EPS_S or seg.start_s >= duration_s:
            raise ValueError(f"fixed segment {seg.label} {seg.start_s:.3f}-{seg.end_s:.3f} s is empty or outside "
                             f"the video (0-{duration_s:.3f} s); correct or delete it")
    for a, b in zip(ordered, ordered[1:]):
        if b.start_s < a.end_s - EPS_S:
            raise ValueError(f"fixed segments overlap: {a.label} {a.start_s:.3f}-{a.end_s:.3f} s and {b.label} "
                             f"{b.start_s:.3f}-{b.end_s:.3f} s; move one edge so that they only touch")
    return ordered


def blocked_frames(times: np.ndarray, fixed: Sequence[Segment]) -> np.ndarray:
    """(F,) bool: the sampled frames (at ``times`` seconds) that a fixed segment covers (start <= t < end)."""
    blocked = np.zeros(len(times), dtype=bool)
    for seg in fixed:
        blocked |= (times >= seg.start_s) & (times < seg.end_s)
    return blocked


def fixed_labels(labels: list[str], times: np.ndarray, fixed: Sequence[Segment]) -> list[str]:
    """Per sampled frame: ``labels`` (the model's), or the fixed segment's label where one covers the frame."""
    out = list(labels)
    for seg in fixed:
        for i in np.flatnonzero((times >= seg.start_s) & (times < seg.end_s)):
            out[i] = seg.label
    return out


def free_spans(fixed: Sequence[Segment], duration_s: float, frame_count: int) -> list[tuple[float, float, int, int]]:
    """The stretches (start_s, end_s, start_frame, end_frame) of the video that no fixed segment covers."""
    spans = []
    t, frame = 0.0, 0
    for seg in fixed:
        if seg.start_s > t + EPS_S:
            spans.append((t, seg.start_s, frame, seg.start_frame))
        t, frame = max(t, seg.end_s), max(frame, seg.end_frame)
    if duration_s > t + EPS_S:
        spans.append((t, duration_s, frame, frame_count))
    return spans


def _clipped(seg: Segment, span: tuple[float, float, int, int], first: bool, last: bool) -> Segment:
    """``seg`` inside ``span``: its ends at the span's edges where it is the span's first or last part."""
    start_s, end_s, start_f, end_f = span
    a = (start_s, start_f) if first or seg.start_s < start_s else (seg.start_s, seg.start_frame)
    b = (end_s, end_f) if last or seg.end_s > end_s else (seg.end_s, seg.end_frame)
    return replace(seg, start_s=a[0], start_frame=a[1], end_s=b[0], end_frame=b[1])


def around_fixed(model: Sequence[Segment], fixed: Sequence[Segment], duration_s: float,
                 frame_count: int) -> list[Segment]:
    """The fixed segments verbatim and the model's segments cut to the free time around them, in order.

    ``model`` covers the video's unblocked frames in order; a free stretch that none of them reaches
    (shorter than the sampling interval) becomes a background segment with confidence 0, first in the
    review queue.
    """
    out = list(fixed)
    for span in free_spans(fixed, duration_s, frame_count):
        inside = [s for s in model if s.end_s > span[0] + EPS_S and s.start_s < span[1] - EPS_S]
        if not inside:
            out.append(Segment(BACKGROUND, span[0], span[1], span[2], span[3], 0.0, SOURCE_MODEL))
            continue
        out += [_clipped(s, span, k == 0, k == len(inside) - 1) for k, s in enumerate(inside)]
    return sorted(out, key=lambda s: s.start_s)
