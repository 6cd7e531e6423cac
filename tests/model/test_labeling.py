"""Labeling end to end on a synthetic long video: segments, CSVs, the feature cache."""
import csv

import numpy as np
import pytest
import torch

from star_model import create_model
from star_model.data.actions_dir import load_actions_dir
from star_model.data.label_csv import SEGMENT_COLUMNS, read_segments_csv, write_frames_csv, write_segments_csv
from star_model.engine.bank import PrototypeBank, active_span, build_bank
from star_model.engine.features import FeatureCache, FrameEmbedder
from star_model.engine.segmentation import label_video, merge_short_runs, window_picks, window_starts
from star_model.schema import BACKGROUND, LabelingParams


@pytest.fixture()
def embedder(tiny_model, tmp_path):
    return FrameEmbedder(tiny_model, FeatureCache(tmp_path / "cache"))


def test_label_long_video_segments_and_csvs(tiny_model, embedder, synth_set, tmp_path):
    actions = load_actions_dir(synth_set)
    assert len(actions) == 3 and all(len(a.clips) == 2 for a in actions)
    bank = build_bank(tiny_model, embedder, actions)
    video = synth_set / "long" / "long_000.mp4"
    calls = []
    result = label_video(tiny_model, embedder, bank, video, LabelingParams(), progress=lambda d, t, m: calls.append((d, t)))
    assert calls and calls[-1][0] == len(result.times)
    # 30 s at 4 fps
    assert abs(len(result.times) - 120) <= 1
    assert np.all(np.diff(result.times) > 0) and np.all(np.diff(result.frames) > 0)
    assert result.scores.shape == (len(result.times), 4)
    assert np.allclose(result.scores.sum(1), 1.0, atol=1e-6)
    assert result.tsa_map.shape == (len(result.times), 3)
    segs = result.segments
    assert segs[0].start_s == 0.0 and segs[0].start_frame == 0
    assert segs[-1].end_s == pytest.approx(30.0, abs=0.05) and segs[-1].end_frame == 750
    for a, b in zip(segs, segs[1:]):
        assert a.end_s == b.start_s and a.end_frame == b.start_frame
        assert a.label != b.label
    assert all(s.end_s > s.start_s and s.end_frame > s.start_frame for s in segs)
    assert {s.label for s in segs} <= set(bank.names) | {BACKGROUND}
    assert all(0 <= s.confidence <= 1 for s in segs)

    seg_csv = write_segments_csv(tmp_path / "out" / "long_000.segments.csv", "long_000.mp4", segs)
    with open(seg_csv) as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == SEGMENT_COLUMNS and len(rows) == len(segs) + 1
    assert [s.label for s in read_segments_csv(seg_csv)] == [s.label for s in segs]
    frames_csv = write_frames_csv(tmp_path / "out" / "long_000.frames.csv", result.frames, result.times,
                                  result.names, result.scores, result.labels)
    with open(frames_csv) as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["frame", "time_s", *bank.names, BACKGROUND, "label"]
    assert len(rows) == len(result.times) + 1
    assert [r[-1] for r in rows[1:]] == result.labels


def test_adding_an_action_reuses_the_feature_cache(tiny_model, synth_set, tmp_path):
    cache = FeatureCache(tmp_path / "cache")
    first = FrameEmbedder(tiny_model, cache)
    actions = load_actions_dir(synth_set)
    video = str(synth_set / "long" / "long_000.mp4")
    bank = build_bank(tiny_model, first, actions[:2])
    before = label_video(tiny_model, first, bank, video)
    assert first.decoded[video] == len(before.times) and first.embedded[video] == len(before.times)
    # A new session (fresh embedder, same disk cache) adds the third action and labels again.
    second = FrameEmbedder(tiny_model, cache)
    bank3 = build_bank(tiny_model, second, actions)
    after = label_video(tiny_model, second, bank3, video)
    old_clips = [c.path for a in actions[:2] for c in a.clips]
    new_clips = [c.path for c in actions[2].clips]
    assert second.decoded[video] == 0 and second.embedded[video] == 0
    assert all(second.decoded[p] == 0 and second.embedded[p] == 0 for p in old_clips)
    assert all(second.embedded[p] == second.decoded[p] > tiny_model.cfg.num_frames for p in new_clips)  # every frame, once
    assert np.array_equal(after.times, before.times)
    assert after.scores.shape[1] == 4


def test_damaged_cache_entry_is_recomputed(tiny_model, synth_set, tmp_path, caplog):
    cache = FeatureCache(tmp_path / "cache")
    video = str(synth_set / "long" / "long_000.mp4")
    reference = FrameEmbedder(tiny_model, cache).video(video)
    for entry in (tmp_path / "cache").glob("*.safetensors"):
        entry.write_bytes(entry.read_bytes()[:100])
    again = FrameEmbedder(tiny_model, cache)
    feats = again.video(video)
    assert again.decoded[video] == len(reference.times)
    assert "damaged" in caplog.text
    assert torch.allclose(feats.feats, reference.feats, atol=1e-5)


def test_bank_round_trip(synth_set, tmp_path):
    """With the shipped model (random towers barely tell frames apart, so they find no rest pose)."""
    model = create_model("star-tiny", pretrained="bundled")
    embedder = FrameEmbedder(model, FeatureCache(tmp_path / "cache"))
    bank = build_bank(model, embedder, load_actions_dir(synth_set))
    assert bank.prototypes.shape == (3, model.cfg.num_frames, model.cfg.embed_dim)
    assert 0.5 < bank.window_s < 6.5
    assert np.isfinite(bank.threshold)
    assert bank.rest.prototype.shape == bank.prototypes.shape[1:] and np.isfinite(bank.rest.offset)
    loaded = PrototypeBank.load(bank.save(tmp_path / "prototypes.safetensors"))
    assert loaded.names == bank.names and torch.equal(loaded.prototypes, bank.prototypes)
    assert loaded.threshold == bank.threshold
    assert loaded.rest.offset == bank.rest.offset and all(torch.equal(getattr(loaded.rest, k), getattr(bank.rest, k))
                                                          for k in ("prototype", "prompt", "stages"))
    untrimmed = build_bank(model, embedder, load_actions_dir(synth_set), trim_rest=False)
    assert untrimmed.rest is None and untrimmed.window_s >= bank.window_s


def test_active_span_cuts_the_rest_pose_at_both_ends():
    rest, move = torch.zeros(64), torch.zeros(64)
    rest[0], move[1] = 1.0, 1.0
    ramp = [torch.nn.functional.normalize(rest + a * move, dim=0) for a in np.linspace(0.2, 3.0, 6)]
    clip = torch.stack([rest] * 7 + ramp + ramp[::-1] + [rest] * 5)
    assert active_span(clip) == (7 + 2, 7 + 10)
    assert active_span(torch.stack([rest] * 12)) == (0, 12)


def test_a_damaged_long_video_labels_its_intact_part(tiny_model, embedder, synth_set, tmp_path, caplog):
    bank = build_bank(tiny_model, embedder, load_actions_dir(synth_set))
    from star_model.video import iter_frames
    from tests.model.videos_util import make_video, truncate_copy

    whole = make_video(tmp_path / "whole.mkv", (f.image for f in iter_frames(synth_set / "long" / "long_000.mp4")), 25.0)
    cut = truncate_copy(whole, tmp_path / "cut.mkv", 0.5)
    result = label_video(tiny_model, embedder, bank, cut)
    assert 5 < result.segments[-1].end_s < 25
    assert "damaged" in caplog.text


def test_window_helpers():
    assert window_starts(10, 20, 5) == [0]
    assert window_starts(20, 8, 2)[-1] == 12
    starts = window_starts(23, 8, 2)
    assert starts[-1] == 15 and all(b - a <= 2 for a, b in zip(starts, starts[1:]))
    picks = window_picks(4, 12, 8, 100)
    assert len(picks) == 8 and picks[0] >= 4 and picks[-1] < 16 and np.all(np.diff(picks) > 0)
    assert window_picks(0, 12, 8, 5).max() == 4


def test_merge_short_runs():
    idx = np.array([0, 0, 0, 0, 1, 0, 0, 2, 2, 2, 2])
    scores = np.zeros((11, 3))
    scores[:, 0] = 0.6
    out = merge_short_runs(idx, scores, 2)
    assert out.tolist() == [0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2]
