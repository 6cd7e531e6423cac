"""The review queue's order and stepping (pure functions, no Qt)."""
from __future__ import annotations

from star_app.state import review_queue as rq
from star_model.schema import BACKGROUND, SOURCE_MANUAL, SOURCE_MODEL, Segment


def seg(label: str, start: float, confidence: float, source: str = SOURCE_MODEL) -> Segment:
    return Segment(label, start, start + 1.0, round(start * 25), round((start + 1.0) * 25), confidence, source)


SEGS = [seg("wave", 0, 0.7), seg(BACKGROUND, 1, 0.3), seg("jump", 2, 0.9), seg("wave", 3, 0.3),
        seg("jump", 4, 0.1, SOURCE_MANUAL)]


def walk(segs, forward: bool, steps: int) -> list[tuple[int, bool]]:
    anchor, out = None, []
    for _ in range(steps):
        found = rq.step(segs, anchor, forward)
        out.append((found.index, found.wrapped))
        anchor = rq.review_key(segs[found.index])
    return out


def test_the_queue_is_the_model_segments_least_confident_first_background_included():
    assert rq.queue(SEGS) == [1, 3, 0, 2]  # 1 and 3 tie at 0.3: the earlier first; 4 is manual
    assert rq.remaining(SEGS) == 4
    assert rq.queue(list(reversed(SEGS))) == [3, 1, 4, 2]  # by confidence and time, not by index


def test_stepping_forward_and_back_wraps_round_and_says_so():
    assert walk(SEGS, True, 5) == [(1, False), (3, False), (0, False), (2, False), (1, True)]
    assert walk(SEGS, False, 5) == [(2, False), (0, False), (3, False), (1, False), (2, True)]
    found = rq.step(SEGS, rq.review_key(SEGS[0]), True)
    assert found == rq.Step(index=2, position=3, size=4, wrapped=False)


def test_a_confirmed_anchor_steps_on_to_its_neighbours_in_the_queue():
    segs = [seg(s.label, s.start_s, s.confidence, s.source) for s in SEGS]
    anchor = rq.review_key(segs[3])
    segs[3].source, segs[3].confidence = SOURCE_MANUAL, 1.0  # confirmed: off the queue
    assert rq.queue(segs) == [1, 0, 2]
    assert rq.step(segs, anchor, True) == rq.Step(0, 1, 3, False)
    assert rq.step(segs, anchor, False) == rq.Step(1, 0, 3, False)


def test_nothing_to_review():
    assert rq.step([], None, True) is None
    assert rq.step([seg("wave", 0, 0.2, SOURCE_MANUAL)], (0.5, 0.0), False) is None
    assert rq.remaining([seg("wave", 0, 0.2, SOURCE_MANUAL)]) == 0
    only = [seg("wave", 0, 0.2)]
    assert rq.step(only, rq.review_key(only[0]), True) == rq.Step(0, 0, 1, True)
