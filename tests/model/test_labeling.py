"""Labeling end to end on a synthetic long video: segments, CSVs, the feature cache."""
import csv

import numpy as np
import pytest
import torch

from star_model import create_model
from star_model.data.actions_dir import load_actions_dir
from star_model.data.label_csv import SEGMENT_COLUMNS, read_segments_csv, write_frames_csv, write_segments_csv
from star_model.bench.window_method import merge_short_runs
from star_model.engine.bank import PrototypeBank, build_bank, example_span
from star_model.engine.features import FeatureCache, FrameEmbedder
from star_model.engine.segmentation import label_video
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
    assert any(done == len(result.times) for done, _ in calls)  # decoding and embedding reported to the end
    assert calls[-1][0] == calls[-1][1]  # and then the scoring of candidate segments
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
        assert not a.label == b.label == BACKGROUND  # background is one stretch; two instances may touch
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
    """With the shipped model: example lengths are the active spans, whole clips are longer."""
    model = create_model("star-tiny", pretrained="bundled")
    embedder = FrameEmbedder(model, FeatureCache(tmp_path / "cache"))
    bank = build_bank(model, embedder, load_actions_dir(synth_set))
    assert bank.prototypes.shape == (3, model.cfg.num_frames, model.cfg.embed_dim)
    assert [len(ls) for ls in bank.lengths] == [2, 2, 2] and all(0.3 < x < 6.5 for ls in bank.lengths for x in ls)
    assert bank.rest_prompt.shape == (model.cfg.embed_dim,) and bank.rest_text().names == ["stand still"]
    loaded = PrototypeBank.load(bank.save(tmp_path / "prototypes.safetensors"))
    assert loaded.names == bank.names and torch.equal(loaded.prototypes, bank.prototypes)
    assert loaded.lengths == bank.lengths and torch.equal(loaded.rest_stages, bank.rest_stages)
    untrimmed = build_bank(model, embedder, load_actions_dir(synth_set), trim_rest=False)
    assert all(w > t for ws, ts in zip(untrimmed.lengths, bank.lengths) for w, t in zip(ws, ts))


def test_a_bank_of_another_format_is_refused(synth_set, tmp_path):
    from safetensors.torch import save_file

    old = tmp_path / "old.safetensors"
    save_file({"prototypes": torch.zeros(1, 8, 4)}, str(old), metadata={"bank": '{"names": ["a"], "threshold": 0.1}'})
    with pytest.raises(ValueError, match="another format"):
        PrototypeBank.load(old)


def test_example_span_cuts_the_rest_pose_at_both_ends():
    rest, move = torch.zeros(64), torch.zeros(64)
    rest[0], move[1] = 1.0, 1.0
    ramp = [torch.nn.functional.normalize(rest + a * move, dim=0) for a in np.linspace(0.2, 3.0, 6)]
    clip = torch.stack([rest] * 7 + ramp + ramp[::-1] + [rest] * 5)
    # the first and last ramp frames stay within 6 % of the largest departure from rest: still at rest
    assert example_span(clip, fps=25.0) == (7 + 1, 7 + 11)
    assert example_span(torch.stack([rest] * 12), fps=25.0) == (0, 12)
    # a clip that starts moving at once: its first frame is its rest pose, the span starts right after
    assert example_span(torch.stack(ramp + [rest] * 4), fps=25.0)[0] == 1


def test_a_damaged_long_video_labels_its_intact_part(tiny_model, embedder, synth_set, tmp_path, caplog):
    bank = build_bank(tiny_model, embedder, load_actions_dir(synth_set))
    from star_model.video import iter_frames
    from tests.model.videos_util import make_video, truncate_copy

    whole = make_video(tmp_path / "whole.mkv", (f.image for f in iter_frames(synth_set / "long" / "long_000.mp4")), 25.0)
    cut = truncate_copy(whole, tmp_path / "cut.mkv", 0.5)
    result = label_video(tiny_model, embedder, bank, cut)
    assert 5 < result.segments[-1].end_s < 25
    assert "damaged" in caplog.text


def test_merge_short_runs():
    idx = np.array([0, 0, 0, 0, 1, 0, 0, 2, 2, 2, 2])
    scores = np.zeros((11, 3))
    scores[:, 0] = 0.6
    out = merge_short_runs(idx, scores, 2)
    assert out.tolist() == [0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2]


def test_text_only_actions_are_labeled_from_their_text_and_marked_so(tiny_model, embedder, synth_set):
    from star_model.schema import SOURCE_MODEL, SOURCE_TEXT, ActionExamples

    actions = load_actions_dir(synth_set)
    video = synth_set / "long" / "long_000.mp4"
    for named in ([ActionExamples(a.name, [], a.descriptors) for a in actions],  # zero-shot: names and descriptors
                  [actions[0], ActionExamples(actions[1].name, [], actions[1].descriptors)]):  # mixed
        bank = build_bank(tiny_model, embedder, named)
        assert bank.with_examples == [bool(a.clips) for a in named]
        result = label_video(tiny_model, embedder, bank, video)
        segs = result.segments
        assert segs[0].start_s == 0.0 and segs[-1].end_frame == 750
        assert all(a.end_frame == b.start_frame for a, b in zip(segs, segs[1:]))
        for seg in segs:
            if seg.label != BACKGROUND:
                text_only = not bank.with_examples[bank.names.index(seg.label)]
                assert seg.source == (SOURCE_TEXT if text_only else SOURCE_MODEL) and 0 <= seg.confidence <= 1
