"""Labeling around fixed segments (a person's corrections): they come back verbatim, the model's segments
never overlap them, and the result still covers the video without gaps or overlaps."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from star_model.data.actions_dir import load_actions_dir
from star_model.engine.bank import build_bank
from star_model.engine.decoder import DecoderConfig, best_cut, candidate_windows
from star_model.engine.features import FeatureCache, FrameEmbedder
from star_model.engine.fixed import around_fixed, blocked_frames, check_fixed
from star_model.engine.segmentation import label_video
from star_model.schema import BACKGROUND, SOURCE_MANUAL, SOURCE_MODEL, LabelingParams, Segment


def assert_covers(segs: list[Segment], duration_s: float, frame_count: int) -> None:
    assert segs[0].start_s == 0.0 and segs[0].start_frame == 0
    assert segs[-1].end_s == pytest.approx(duration_s, abs=1e-6) and segs[-1].end_frame == frame_count
    for a, b in zip(segs, segs[1:]):
        assert a.end_s == b.start_s and a.end_frame == b.start_frame, (a, b)
    assert all(s.end_s > s.start_s for s in segs)


def overlaps(a: Segment, b: Segment) -> bool:
    return a.start_s < b.end_s and b.start_s < a.end_s


def test_no_candidate_covers_a_blocked_frame_and_blocked_frames_score_nothing():
    rng = np.random.default_rng(0)
    act = np.r_[np.full(10, -3.0), np.full(20, 3.0), np.full(10, -3.0), np.full(20, 3.0)]
    blocked = np.zeros(len(act), bool)
    blocked[14:22] = True
    cfg = DecoderConfig()
    free = candidate_windows(act, cfg, 4, 30)
    windows = candidate_windows(act, cfg, 4, 30, blocked)
    assert len(windows) and len(windows) < len(free)
    assert not any(blocked[s:e].any() for s, e in windows)
    assert {14, 22} <= {int(x) for x in windows.ravel()}  # a candidate may end where a fixed segment starts
    scores = rng.normal(size=(len(windows), 2)) + 5.0
    cut = best_cut(len(act), windows, scores, act, cfg, blocked)
    assert all(not blocked[windows[i, 0]:windows[i, 1]].any() for i in cut.chosen)
    # a blocked stretch of strong activity costs the background nothing: the same cut as with zero evidence there
    quiet = act.copy()
    quiet[blocked] = 0.0
    assert np.array_equal(best_cut(len(act), windows, scores, quiet, cfg, blocked).labels, cut.labels)


def test_around_fixed_keeps_the_fixed_segments_and_fills_the_rest():
    duration, frames = 20.0, 500
    model = [Segment("a", 0.0, 6.1, 0, 152, 0.7), Segment(BACKGROUND, 6.1, 12.2, 152, 305, 0.6),
             Segment("b", 12.2, 20.0, 305, 500, 0.8)]
    fixed = [Segment("b", 5.0, 8.0, 125, 200, 1.0, SOURCE_MANUAL),
             Segment(BACKGROUND, 8.02, 8.04, 200, 201, 1.0, SOURCE_MANUAL),  # between two samples: none covered
             Segment("a", 15.0, 20.0, 375, 500, 0.4, SOURCE_MANUAL)]
    out = around_fixed(model, fixed, duration, frames)
    assert_covers(out, duration, frames)
    assert [s for s in out if s.source == SOURCE_MANUAL] == fixed  # verbatim, confidence and frames included
    rest = [s for s in out if s.source == SOURCE_MODEL]
    assert not any(overlaps(m, f) for m in rest for f in fixed)
    assert [(s.label, s.start_s, s.end_s) for s in rest] == [
        ("a", 0.0, 5.0), (BACKGROUND, 8.0, 8.02), (BACKGROUND, 8.04, 12.2), ("b", 12.2, 15.0)]
    assert rest[1].confidence == 0.6  # a model segment split by a fixed one keeps its confidence in both parts
    assert blocked_frames(np.arange(0, 20, 0.25), fixed).sum() == 12 + 20  # 5-8 s and 15-20 s at 4 fps


def test_bad_fixed_segments_are_refused_with_their_values():
    a = Segment("a", 1.0, 4.0, 25, 100, 1.0, SOURCE_MANUAL)
    with pytest.raises(ValueError, match=r"overlap: a 1.000-4.000 s and b 3.000-5.000 s"):
        check_fixed([replace(a, label="b", start_s=3.0, end_s=5.0), a], 10.0)
    with pytest.raises(ValueError, match=r"a 12.000-14.000 s is empty or outside the video \(0-10.000 s\)"):
        check_fixed([replace(a, start_s=12.0, end_s=14.0)], 10.0)


@pytest.fixture()
def labeled(tiny_model, synth_set, tmp_path):
    embedder = FrameEmbedder(tiny_model, FeatureCache(tmp_path / "cache"))
    bank = build_bank(tiny_model, embedder, load_actions_dir(synth_set))
    video = synth_set / "long" / "long_000.mp4"
    return embedder, bank, video, label_video(tiny_model, embedder, bank, video, LabelingParams())


def test_relabeling_keeps_the_fixed_segments_exactly_and_labels_around_them(tiny_model, labeled):
    embedder, bank, video, first = labeled
    names = list(bank.names)
    # a person's corrections: a model segment confirmed as it is, an action drawn over 3.3 s that the model
    # called something else, and a short background segment that covers no sampled frame at 4 fps
    confirmed = replace(first.segments[1], source=SOURCE_MANUAL, confidence=1.0)
    drawn = Segment(names[-1], 20.1, 23.4, 502, 585, 1.0, SOURCE_MANUAL)
    short = Segment(BACKGROUND, 26.01, 26.2, 650, 655, 1.0, SOURCE_MANUAL)
    fixed = [short, confirmed, drawn]  # in any order
    again = label_video(tiny_model, embedder, bank, video, LabelingParams(), fixed=fixed)
    segs = again.segments
    assert_covers(segs, 30.0, 750)
    assert [s for s in segs if s.source == SOURCE_MANUAL] == sorted(fixed, key=lambda s: s.start_s)
    model = [s for s in segs if s.source != SOURCE_MANUAL]
    assert model and not any(overlaps(m, f) for m in model for f in fixed)
    assert all(0.0 <= s.confidence <= 1.0 for s in model)
    covered = (again.times >= drawn.start_s) & (again.times < drawn.end_s)
    assert covered.sum() >= 13 and {again.labels[i] for i in np.flatnonzero(covered)} == {drawn.label}
    # the whole video fixed: nothing left to the model
    whole = [Segment(names[0], 0.0, 30.0, 0, 750, 1.0, SOURCE_MANUAL)]
    assert label_video(tiny_model, embedder, bank, video, LabelingParams(), fixed=whole).segments == whole
