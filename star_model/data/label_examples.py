"""Old labels become examples: k confirmed segments per behaviour, cut from the videos as example clips.

Only confirmed segments (``source`` manual: a person's labels, imported or edited) are picked; the
model's own segments, text-only ones included, never become examples by themselves. Per behaviour,
the picks are the segments whose length is most typical of the behaviour (closest to its median
length, in log time), spread over as many videos as there are, and no shorter than
:data:`MIN_EXAMPLE_S`. The clips are marked ``tight``: a labelled segment is trimmed to its action
already, so labeling keeps it whole.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from star_model.schema import BACKGROUND, SOURCE_MANUAL, ActionExamples, ClipRef, Segment

MIN_EXAMPLE_S = 1.0
"""Shorter segments (point events among them) are too short to show an action."""


@dataclass(frozen=True)
class Pick:
    """A segment picked as an example of its label, and the video it is on."""

    video: str
    segment: Segment

    @property
    def label(self) -> str:
        return self.segment.label

    def clip(self) -> ClipRef:
        """The example clip: the segment's span of its video, marked tight."""
        return ClipRef(self.video, round(self.segment.start_s, 3), round(self.segment.end_s, 3), tight=True)


def is_confirmed(segment: Segment) -> bool:
    """A person's label (imported, edited or confirmed), not the model's."""
    return segment.source == SOURCE_MANUAL


def _candidates(annotations: Mapping[str, Sequence[Segment]], min_s: float) -> dict[str, list[Pick]]:
    out: dict[str, list[Pick]] = {}
    for video, segments in annotations.items():
        for s in segments:
            if is_confirmed(s) and s.label != BACKGROUND and s.duration_s >= min_s:
                out.setdefault(s.label, []).append(Pick(video, s))
    return out


def _typical_first(picks: list[Pick]) -> list[Pick]:
    logs = sorted(math.log(p.segment.duration_s) for p in picks)
    median = logs[len(logs) // 2]
    return sorted(picks, key=lambda p: (abs(math.log(p.segment.duration_s) - median), p.video, p.segment.start_s))


def _spread(ranked: list[Pick], k: int) -> list[Pick]:
    """Up to k of ``ranked``, best first, taking from the videos used least so far."""
    used: dict[str, int] = {}
    chosen: list[Pick] = []
    left = list(ranked)
    while left and len(chosen) < k:
        fewest = min(used.get(p.video, 0) for p in left)
        pick = next(p for p in left if used.get(p.video, 0) == fewest)
        left.remove(pick)
        chosen.append(pick)
        used[pick.video] = used.get(pick.video, 0) + 1
    return sorted(chosen, key=lambda p: (p.video, p.segment.start_s))


def pick_examples(annotations: Mapping[str, Sequence[Segment]], k: int, labels: Optional[Sequence[str]] = None,
                  min_s: float = MIN_EXAMPLE_S) -> dict[str, list[Pick]]:
    """Up to ``k`` examples per behaviour (of ``labels``, or every confirmed one) from ``{video: segments}``,
    behaviours in order of first appearance (or of ``labels``)."""
    if k < 1:
        raise ValueError(f"examples per behaviour must be at least 1, not {k}")
    candidates = _candidates(annotations, min_s)
    order = list(labels) if labels is not None else list(candidates)
    return {label: _spread(_typical_first(candidates[label]), k) for label in order if label in candidates}


def examples_of(picks: Mapping[str, Sequence[Pick]]) -> list[ActionExamples]:
    """The picks as actions with example clips (no descriptors: the usual fallback applies)."""
    return [ActionExamples(label, [p.clip() for p in chosen]) for label, chosen in picks.items() if chosen]


def unlabeled(videos: Sequence[str], annotations: Mapping[str, Sequence[Segment]]) -> list[str]:
    """The videos no person has labelled: no confirmed segment."""
    return [v for v in videos if not any(is_confirmed(s) for s in annotations.get(v, []))]
