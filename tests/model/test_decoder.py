"""The segment search: candidates, scores, the exact best cut, and the fitted calibration pieces."""
import itertools
import json

import numpy as np
import pytest
import torch

from star_model.engine.activity import CUES, ActivityModel, motion, rest_deviation
from star_model.engine.calibration import LabelingCalibration, load_calibration
from star_model.engine.confidence import ConfidenceModel, expected_calibration_error
from star_model.engine.decoder import (DecoderConfig, DurationPrior, best_cut, boundaries, candidate_windows,
                                       segment_scores, star_log_posterior)
from star_model.engine.logistic import fit_logistic, sigmoid


def _cut_score(cut_segments, n_frames, windows, scores, act, cfg):
    """The score of a cut given as [(window index, class)], background elsewhere."""
    covered = np.zeros(n_frames, bool)
    total = 0.0
    for i, c in cut_segments:
        s, e = windows[i]
        covered[s:e] = True
        total += scores[i, c]
    return total + float(np.sum(-cfg.w_bg * np.clip(act, -4, 4)[~covered]))


def test_best_cut_is_the_exact_maximum_over_all_cuts():
    rng = np.random.default_rng(3)
    cfg = DecoderConfig()
    for trial in range(20):
        n = 9
        windows = np.array([(s, e) for s in range(n) for e in range(s + 2, min(n, s + 4) + 1)])
        windows = windows[rng.random(len(windows)) < 0.6]
        scores = rng.normal(0, 2, size=(len(windows), 2))
        act = rng.normal(0, 2, size=n)
        cut = best_cut(n, windows, scores, act, cfg)
        best = -np.inf
        for k in range(0, 4):
            for chosen in itertools.combinations(range(len(windows)), k):
                spans = sorted(windows[list(chosen)].tolist())
                if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
                    continue
                best = max(best, _cut_score([(i, int(scores[i].argmax())) for i in chosen], n, windows, scores, act, cfg))
        got = _cut_score([(i, int(cut.labels[windows[i, 0]])) for i in cut.chosen], n, windows, scores, act, cfg)
        assert got == pytest.approx(best), trial
        for i in cut.chosen:
            assert np.all(cut.labels[windows[i, 0]:windows[i, 1]] == scores[i].argmax())
        assert np.sum(cut.labels == 2) == n - sum(windows[i, 1] - windows[i, 0] for i in cut.chosen)


def test_a_clear_action_between_rests_is_found_with_its_label_and_bounds():
    act = np.array([-3.0] * 5 + [3.0] * 6 + [-3.0] * 5)
    cfg = DecoderConfig()
    prior = DurationPrior.of([[1.5, 1.5], [4.0, 4.0]], cfg)
    windows = candidate_windows(act, cfg, *prior.frame_range(4.0, cfg.duration_ratio))
    assert [5, 11] in windows.tolist()
    dist = np.where(np.arange(2)[None] == 0, 0.2, 0.9) * np.ones((len(windows), 2))
    scores = segment_scores(windows, dist, np.zeros_like(dist), act, prior, 4.0, cfg)
    cut = best_cut(len(act), windows, scores, act, cfg)
    assert cut.labels.tolist() == [2] * 5 + [0] * 6 + [2] * 5


def test_boundaries_follow_the_activity_and_fill_long_stretches():
    cfg = DecoderConfig()
    act = np.array([-3.0] * 4 + [3.0] * 4 + [-3.0] * 40)
    marks = boundaries(act, cfg, longest=10)
    assert {0, 4, 8, 48} <= set(marks.tolist())
    assert np.max(np.diff(marks)) <= 10  # the long still stretch is cut into candidates too
    windows = candidate_windows(act, cfg, 2, 10)
    lengths = windows[:, 1] - windows[:, 0]
    assert lengths.min() >= 2 and lengths.max() <= 10
    dipped = np.array([-3, 3, 3, 1.5, 3, 3, -3], dtype=float)  # a dip inside an action: a possible cut between two
    assert {3, 4} <= set(boundaries(dipped, cfg, longest=10).tolist())


def test_duration_prior():
    prior = DurationPrior.of([[1.0, 1.0], [2.0, 8.0], []], DecoderConfig(sd_floor=0.2, text_only_mean_s=2.5,
                                                                      text_only_log_sd=0.6))
    assert prior.mean_s[2] == 2.5 and prior.log_sd[2] == 0.6  # a text-only action takes the generic prior
    prior = DurationPrior(prior.mean_s[:2], prior.log_sd[:2])
    assert prior.mean_s == pytest.approx([1.0, 4.0])
    assert prior.log_sd[0] == 0.2 and prior.log_sd[1] == pytest.approx(np.log(2.0))
    fit = prior.log_fit(np.array([1.0, 4.0]))
    assert fit[0, 0] == 0 and fit[1, 1] == 0 and fit[0, 1] < 0 and fit[1, 0] < 0
    assert prior.frame_range(4.0, 2.0) == (2, 32)


def test_neighbour_averaging_smooths_a_lone_outlier():
    windows = np.array([[0, 4], [0, 5], [1, 4], [1, 5]])
    dist = np.array([[0.1, 0.9]] * 3 + [[0.9, 0.1]])
    act = np.zeros(6)
    prior = DurationPrior.of([[1.0], [1.0]], DecoderConfig())
    alone = segment_scores(windows, dist, np.zeros_like(dist), act, prior, 4.0, DecoderConfig(neighbours=0))
    pooled = segment_scores(windows, dist, np.zeros_like(dist), act, prior, 4.0, DecoderConfig(neighbours=1))
    assert alone[3].argmax() == 1 and pooled[3].argmax() == 0


def test_fit_logistic_recovers_a_known_model_and_handles_one_class():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 2))
    y = rng.random(4000) < sigmoid(x @ np.array([2.0, -1.0]) + 0.5)
    w, b = fit_logistic(x, y, l2=1e-3)
    assert w == pytest.approx([2.0, -1.0], abs=0.2) and b == pytest.approx(0.5, abs=0.15)
    w, b = fit_logistic(x[:10], np.ones(10))
    assert np.all(w == 0) and sigmoid(b) == pytest.approx(0.99)


def test_expected_calibration_error():
    assert expected_calibration_error([0.9] * 10, [True] * 9 + [False]) == pytest.approx(0.0)
    assert expected_calibration_error([0.9] * 10, [False] * 10) == pytest.approx(0.9)
    assert expected_calibration_error([0.2, 0.8], [False, True]) == pytest.approx(0.2)


def test_activity_cues_see_motion_and_the_distance_to_rest():
    rest, pose = torch.zeros(16), torch.zeros(16)
    rest[0], pose[1] = 1.0, 1.0
    wobble = torch.zeros(16)
    wobble[2] = 0.05
    held = [torch.nn.functional.normalize(rest + 2 * pose + (-1) ** k * wobble, dim=0) for k in range(6)]
    frames = torch.stack([rest] * 10 + [torch.nn.functional.normalize(rest + pose, dim=0)] + held + [rest] * 10)
    moved = motion(frames)
    assert moved[:9].max() < 1e-6 and moved[10] > 0.05
    deviation = rest_deviation(frames, moved, span=40)
    assert deviation[12:16].min() > 0.3 and deviation[:9].max() < 1e-6  # a held pose barely moves, far from rest
    assert rest_deviation(frames, moved, span=40, chunk=4) == pytest.approx(deviation)


def test_the_shipped_calibration_loads_and_round_trips(tmp_path):
    cal = load_calibration()
    assert len(cal.activity.weights) == len(CUES)
    assert "data" in cal.provenance and "test" not in cal.provenance["data"].replace("no test", "")
    again = LabelingCalibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert again == cal
    path = cal.save(tmp_path / "cal.json")
    assert load_calibration(path) == cal
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**cal.to_dict(), "decoder": {"window": 3}}))
    with pytest.raises(ValueError, match="broken.json"):
        load_calibration(broken)
    with pytest.raises(ValueError):
        ActivityModel((1.0,), 0.0)
    with pytest.raises(ValueError):
        ConfidenceModel((1.0,), 0.0, (1.0, 1.0, 1.0), 0.0)


def test_text_only_actions_share_stars_posterior_evenly_and_lean_on_tsa():
    distances = np.array([[0.1, 0.9, 5.0], [0.9, 0.1, -5.0]])
    known = np.array([True, True, False])
    post = star_log_posterior(distances, known, tau=0.2)
    assert np.exp(post).sum(1) == pytest.approx([1.0, 1.0])
    assert post[:, 2] == pytest.approx(np.log(1 / 3))  # the text-only action's distance is never read
    assert post[0, 0] > post[0, 1] and post[1, 1] > post[1, 0]
    none = star_log_posterior(distances, np.zeros(3, bool), tau=0.2)
    assert none == pytest.approx(np.full((2, 3), np.log(1 / 3)))
    windows = np.array([[0, 4], [0, 4]])
    logits = np.array([[0.0, 0.0, 3.0], [0.0, 0.0, -3.0]])
    prior = DurationPrior.of([[1.0], [1.0], []], DecoderConfig())
    for w_text in (0.0, 4.0):
        scores = segment_scores(windows, np.zeros((2, 3)), logits, np.zeros(5), prior, 4.0,
                                DecoderConfig(w_text=w_text, w_vt=0.0, w_dur=0.0), known)
        assert (scores[0, 2] > scores[1, 2]) == (w_text > 0)
