"""Data sets for training: folder per class, CLIP-FSAR split lists, held-out splits, episode sampling."""
from __future__ import annotations

import json

import numpy as np
import pytest

from star_model.data.datasets import hold_out_classes, hold_out_clips, load_folder, load_split_list, read_label_map
from star_model.data.episodes import draw_episode, stage_order_pairs
from star_model.errors import DatasetError
from star_model.ops.sampling import segment_indices
from tests.model.videos_util import make_video


def _video(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    return make_video(path, 3, 8.0, size=(32, 24))


def test_folder_per_class_with_descriptors_skips_long_video_folders(tmp_path):
    _video(tmp_path / "jump" / "clip_000.mp4")
    _video(tmp_path / "jump" / "clip_001.mp4")
    (tmp_path / "jump" / "descriptors.txt").write_text("crouch\nleave the ground\nland\n")
    _video(tmp_path / "clap" / "clip_000.mp4")
    _video(tmp_path / "long" / "long_000.mp4")
    (tmp_path / "long" / "long_000.segments.csv").write_text("video,label\n")
    classes = load_folder(tmp_path)
    assert [c.name for c in classes] == ["clap", "jump"]
    assert len(classes[1].clips) == 2 and classes[1].descriptors == ["crouch", "leave the ground", "land"]
    assert classes[0].descriptors is None


def test_split_list_with_paths_takes_the_class_from_the_parent_folder(tmp_path):
    root = tmp_path / "hmdb"
    for rel in ["videos/brush_hair/a.avi", "videos/brush_hair/b.avi", "videos/catch/c.avi"]:
        _video(root / rel)
    split = tmp_path / "train_few_shot.txt"
    split.write_text("train0//videos/brush_hair/a.avi\ntrain0//videos/brush_hair/b.avi\n\ntrain1//videos/catch/c.avi\n")
    classes = load_split_list(split, root)
    assert [c.name for c in classes] == ["brush hair", "catch"]
    assert [len(c.clips) for c in classes] == [2, 1]
    assert classes[1].clips[0].path == str(root / "videos/catch/c.avi")


def test_split_list_with_ids_uses_a_label_file_json_or_csv(tmp_path):
    root = tmp_path / "ssv2"
    for vid in ["101", "102", "103"]:
        _video(root / f"{vid}.mp4")
    (root / "104.webm").write_bytes((root / "101.mp4").read_bytes())  # only its existence is checked here
    split = tmp_path / "test_few_shot.txt"
    split.write_text("test0/101\ntest0/102\ntest1/103\ntest1/104\n")
    (tmp_path / "labels.json").write_text(json.dumps({"101": "pushing", "102": "pushing", "103": "lifting", "104": "lifting"}))
    classes = load_split_list(split, root, tmp_path / "labels.json")
    assert [(c.name, len(c.clips)) for c in classes] == [("lifting", 2), ("pushing", 2)]
    assert classes[0].clips[1].path.endswith("104.webm")
    (tmp_path / "labels.csv").write_text("id,label\n101,a\n102,a\n103,b\n104,b\n")
    assert [c.name for c in load_split_list(split, root, tmp_path / "labels.csv")] == ["a", "b"]
    # SSv2's own annotation JSON: the class is the template without brackets
    ssv2 = [{"id": "101", "label": "pushing a cup", "template": "Pushing [something]"}]
    (tmp_path / "ssv2.json").write_text(json.dumps(ssv2))
    assert read_label_map(tmp_path / "ssv2.json") == {"101": "Pushing something"}
    # without a label file the class is the list's prefix
    assert [c.name for c in load_split_list(split, root)] == ["test0", "test1"]
    with pytest.raises(DatasetError, match=r"test_few_shot.txt:3 \('test1/103'\): video id 103 is not in the label file"):
        load_split_list(split, root, {"101": "a", "102": "a"})


def test_missing_video_names_the_line(tmp_path):
    root = tmp_path / "root"
    _video(root / "videos/fencing/a.avi")
    split = tmp_path / "val_few_shot.txt"
    split.write_text("val0//videos/fencing/a.avi\nval0//videos/fencing/gone.avi\n")
    with pytest.raises(DatasetError, match=r"val_few_shot.txt:2 \('val0//videos/fencing/gone.avi'\): video .*gone.avi not found"):
        load_split_list(split, root)
    with pytest.raises(DatasetError, match="does not exist"):
        load_split_list(tmp_path / "nope.txt", root)


def test_hold_outs_are_reproducible(tmp_path):
    from star_model.schema import ActionExamples, ClipRef

    classes = [ActionExamples(f"c{i}", [ClipRef(f"{i}_{j}.mp4") for j in range(i + 1)]) for i in range(6)]
    train, val = hold_out_classes(classes, 2, seed=3)
    assert len(val) == 2 and {c.name for c in train} | {c.name for c in val} == {c.name for c in classes}
    assert hold_out_classes(classes, 2, seed=3)[1] == val
    kept, held = hold_out_clips(classes)
    assert [len(h) for h in held] == [0, 0, 1, 1, 1, 1]
    assert all(len(k.clips) + len(h) == len(c.clips) for k, h, c in zip(kept, held, classes))


def test_segment_frames_and_episodes():
    assert segment_indices(16, 4).tolist() == [2, 6, 10, 14]
    rng = np.random.default_rng(0)
    for _ in range(20):
        idx = segment_indices(16, 4, rng)
        assert all(4 * i <= v < 4 * (i + 1) for i, v in enumerate(idx))
    assert segment_indices(2, 4, rng).tolist() == [0, 0, 1, 1]
    plan = draw_episode([5, 5, 1, 3], way=5, shot=2, query=3, rng=np.random.default_rng(1))
    assert plan.classes == [0, 1, 3]  # class 2 has a single clip
    for c in plan.classes:
        s = {i for k, i in plan.support if k == c}
        q = {i for k, i in plan.query if k == c}
        assert s and q and not s & q
    with pytest.raises(ValueError, match="at least 2 classes"):
        draw_episode([5, 1], 2, 1, 1, np.random.default_rng(0))


def test_order_pairs_are_the_same_stages_in_another_order_and_an_episode_can_be_built_around_one():
    descriptors = [["squat", "jump"], ["jump", "squat"], ["jump"], None, ["squat", "jump", "clap"],
                   ["clap", "squat", "jump"], ["squat", "jump"]]
    assert stage_order_pairs(descriptors) == [(0, 1), (1, 6), (4, 5)]
    counts = [4] * 7
    for seed in range(30):
        plan = draw_episode(counts, 5, 1, 2, np.random.default_rng(seed), include=(4, 5))
        assert {4, 5} <= set(plan.classes) and len(plan.classes) == 5 and plan.classes == sorted(plan.classes)
        # no pair asked for: the same episode as before the option existed (same random draws)
        rng = np.random.default_rng(seed)
        eligible = list(range(7))
        classes = sorted(rng.choice(eligible, size=5, replace=False).tolist())
        assert draw_episode(counts, 5, 1, 2, np.random.default_rng(seed)).classes == classes
    with pytest.raises(ValueError, match=r"classes \[0, 3\] cannot all be in an episode"):
        draw_episode([4, 4, 4, 1], 3, 1, 1, np.random.default_rng(0), include=(0, 3))
