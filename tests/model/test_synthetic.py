"""Tests of the synthetic action world (star_model.synthetic)."""
from __future__ import annotations

import ast
import hashlib
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest

from star_model.data.label_csv import SEGMENT_COLUMNS, read_segments_csv
from star_model.schema import BACKGROUND
from star_model.synthetic import (ACTIONS, IDLE_CAPTION, PRIMITIVES, compose_long_video,
                                  get_action, order_pairs, prepare_clip, render_clip,
                                  split_actions, write_dataset)
from star_model.synthetic import actions as actions_module
from star_model.synthetic.clip import FPS_CHOICES
from star_model.synthetic.skeleton import CHANNELS, J

PKG = Path(actions_module.__file__).parent


def _decoded_frames(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


# ---------------------------------------------------------------- vocabulary

def test_vocabulary_and_splits():
    assert len(ACTIONS) >= 48
    names = [a.name for a in ACTIONS]
    assert len(set(names)) == len(names)
    splits = {s: split_actions(s) for s in ("train", "val", "test")}
    assert [len(splits[s]) for s in ("train", "val", "test")] == [32, 8, 8]
    sets = {s: {a.name for a in v} for s, v in splits.items()}
    assert not (sets["train"] & sets["val"]) and not (sets["train"] & sets["test"]) and not (sets["val"] & sets["test"])
    for a in ACTIONS:
        assert 1 <= len(a.primitives) <= 4
        assert all(p in PRIMITIVES for p in a.primitives)
        assert len(a.descriptors) == len(a.primitives)
        assert all(d.startswith("a person ") for d in a.descriptors)
        assert get_action(a.name) is a
        # folder name = action name: must be filesystem safe
        assert a.name == a.name.strip() and all(ch.isalpha() or ch == " " for ch in a.name)
        assert a.name in " ".join(actions_module.__doc__.split())  # the docstring documents the split
    assert len(order_pairs(splits["test"])) >= 2
    assert len(order_pairs(splits["val"])) >= 1 and len(order_pairs(splits["train"])) >= 1
    # test primitives all appear in train actions (novel classes are novel combinations)
    train_prims = {p for a in splits["train"] for p in a.primitives}
    assert {p for a in splits["test"] for p in a.primitives} <= train_prims
    with pytest.raises(ValueError):
        split_actions("nope")


def test_primitives_start_and_end_at_rest():
    for key, prim in PRIMITIVES.items():
        pose = prim.trajectory(40, amp=1.1, sgn=-1.0)
        for c in CHANNELS:
            end = prim.displacement * 1.1 if c == "root_x" else 0.0
            assert abs(pose[c][0]) < 1e-6, (key, c)
            assert abs(pose[c][-1] - end) < 1e-6 if c != "yaw" else abs(np.sin(pose[c][-1])) < 1e-6, (key, c)
        assert max(np.abs(pose[c]).max() for c in CHANNELS) > 0.1, key  # it moves


def test_no_forbidden_imports():
    for f in PKG.glob("*.py"):
        tree = ast.parse(f.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [n.name for n in node.names]
            elif isinstance(node, ast.ImportFrom):
                mods = [node.module or ""] if node.level == 0 else []
            else:
                continue
            for m in mods:
                assert m.split(".")[0] not in {"torch", "PySide6", "star_app", "pyqtgraph", "superqt"}, (f.name, m)


# ---------------------------------------------------------------- clips

def test_determinism():
    a = render_clip("squat then jump", seed=11)
    b = render_clip("squat then jump", seed=11)
    c = render_clip("squat then jump", seed=12)
    assert a.frames.dtype == np.uint8 and a.frames.shape[1:] == (112, 112, 3)
    assert np.array_equal(a.frames, b.frames) and a.fps == b.fps and a.captions == b.captions
    assert a.frames.shape != c.frames.shape or not np.array_equal(a.frames, c.frames)


def test_clip_length_fps_and_size():
    for s in range(6):
        clip = render_clip(ACTIONS[s * 7], seed=s)
        assert clip.fps in FPS_CHOICES
        assert 2.0 - 1.5 / clip.fps <= clip.duration_s <= 6.0 + 1.5 / clip.fps
    big = render_clip("clap", seed=1, size=224, fps=20, duration_s=2.5)
    assert big.frames.shape == (50, 224, 224, 3) and big.fps == 20.0


def test_figure_is_drawn_and_moves():
    plan = prepare_clip("raise the left arm then raise the right arm", seed=3, fps=20)
    ren = plan.renderer
    st = [s for s in plan.stages if s.key != "idle"]
    mid = (st[0].start + st[0].end) // 2
    with_fig, without = ren.frame(mid), ren.frame(mid, figure=False)
    diff = np.abs(with_fig.astype(int) - without.astype(int)).sum(-1) > 30
    assert 0.01 < diff.mean() < 0.4
    # the changed pixels are where the figure is: around its head and its raised left wrist
    pts = np.array(ren._pts[mid]) / 16.0
    for joint in ("head", "l_wr", "pelvis"):
        x, y = np.clip(pts[J[joint]].round().astype(int), 0, 111)
        assert diff[max(0, y - 2):y + 3, max(0, x - 2):x + 3].any(), joint
    # the figure moves: the raised arm changes the frame far more than idle sway does
    # (compared on figure masks: sensor noise alone changes every pixel a little)
    def mask(i):
        return np.abs(ren.frame(i).astype(int) - ren.frame(i, figure=False).astype(int)).sum(-1) > 30

    m0 = mask(0)
    assert (mask(mid) ^ m0).sum() > 3 * (mask(1) ^ m0).sum() + 20
    assert all(not np.array_equal(ren.frame(i), ren.frame(i + 1)) for i in range(ren.n - 1))
    # the left wrist goes above the head during "raise the left arm", the right one during the second stage
    j = plan.joints
    assert j[mid, J["l_wr"], 1] > j[mid, J["head"], 1] > j[mid, J["r_wr"], 1]
    mid2 = (st[1].start + st[1].end) // 2
    assert j[mid2, J["r_wr"], 1] > j[mid2, J["head"], 1] > j[mid2, J["l_wr"], 1]


def test_order_pair_differs_in_order():
    a, b = get_action("jump then clap"), get_action("clap then jump")
    ca, cb = render_clip(a, seed=5), render_clip(b, seed=5)
    assert ca.frames.shape != cb.frames.shape or not np.array_equal(ca.frames, cb.frames)

    def order(clip):
        j = clip.joints
        t_jump = int(np.argmax(j[:, J["pelvis"], 1]))  # highest pelvis: in the air
        hands = np.linalg.norm(j[:, J["l_wr"]] - j[:, J["r_wr"]], axis=-1)
        hands[[i for i, s in enumerate(clip.captions) if s != PRIMITIVES["clap"].caption]] = np.inf
        t_clap = int(np.argmin(hands))  # hands together
        return t_jump < t_clap

    assert order(ca) and not order(cb)


def test_captions_follow_stages():
    action = get_action("turn around then bend forward then squat then jump")
    clip = render_clip(action, seed=2)
    assert len(clip.captions) == len(clip.frames)
    prims = [s for s in clip.stages if s.key != "idle"]
    assert tuple(s.key for s in prims) == action.primitives
    assert clip.stages[0].start == 0 and clip.stages[-1].end == len(clip.frames)
    for s0, s1 in zip(clip.stages, clip.stages[1:]):
        assert s0.end == s1.start
    for s in clip.stages:
        assert set(clip.captions[s.start:s.end]) == {s.caption}
        if s.start > 0:
            assert clip.captions[s.start - 1] != clip.captions[s.start]  # changes at each boundary
    assert clip.captions[0] == IDLE_CAPTION and clip.captions[-1] == IDLE_CAPTION
    assert [s.caption for s in prims] == list(action.captions)


def test_render_speed():
    plan = prepare_clip("do a jumping jack then squat then raise both arms", seed=0, fps=30, duration_s=6.0)
    t = time.perf_counter()
    frames = plan.renderer.render_all()
    fps = len(frames) / (time.perf_counter() - t)
    assert fps >= 100, fps


# ---------------------------------------------------------------- long videos and data sets

def test_long_video_ground_truth(tmp_path):
    lv = compose_long_video(split_actions("test"), seed=4, duration_s=40, fps=15)
    segs = lv.segments
    assert segs[0].start_frame == 0 and segs[0].start_s == 0.0
    assert segs[-1].end_frame == lv.n_frames == 600
    assert abs(segs[-1].end_s - 40.0) < 1e-9
    names = {a.name for a in split_actions("test")}
    for s0, s1 in zip(segs, segs[1:]):
        assert s0.end_frame == s1.start_frame and s0.end_s == s1.start_s  # no gaps, no overlaps
        assert BACKGROUND in (s0.label, s1.label)  # actions are separated by idle stretches
    for s in segs:
        assert s.end_frame > s.start_frame
        assert s.label == BACKGROUND or s.label in names
        assert s.start_s == s.start_frame / lv.fps and s.end_s == s.end_frame / lv.fps
    assert sum(s.label != BACKGROUND for s in segs) >= 3
    # idle frames are captioned as standing still, action frames with their primitives
    caps = lv.captions
    assert len(caps) == lv.n_frames
    for s in segs:
        if s.label == BACKGROUND:
            assert set(caps[s.start_frame:s.end_frame]) == {IDLE_CAPTION}
        else:
            assert IDLE_CAPTION not in caps[s.start_frame:s.end_frame]
    # streaming frames are deterministic and chunk-independent
    first = list(lv.frames(0, 3))
    again = list(lv.frames(1, 3))
    assert np.array_equal(first[1], again[0]) and np.array_equal(first[2], again[1])
    p = lv.write_segments_csv(tmp_path / "x.segments.csv")
    assert p.read_text().splitlines()[0] == ",".join(SEGMENT_COLUMNS)
    rows = read_segments_csv(p)
    assert len(rows) == len(segs) and p.read_text().splitlines()[1].startswith("long_000.mp4,")
    assert {r.source for r in rows} == {"ground_truth"} and {r.confidence for r in rows} == {1.0}


def test_write_dataset_layout_and_decodable_long_video(tmp_path):
    acts = ["jump then clap", "clap then jump"]
    seen = []
    summary = write_dataset(tmp_path, split="test", clips_per_action=2, long_videos=1, long_duration_s=12,
                            seed=1, actions=acts, progress=lambda d, t, m: seen.append((d, t)))
    assert seen[-1] == (5, 5)
    for name in acts:
        d = tmp_path / name
        assert sorted(p.name for p in d.iterdir()) == ["clip_000.mp4", "clip_001.mp4", "descriptors.txt"]
        assert (d / "descriptors.txt").read_text().splitlines() == list(get_action(name).descriptors)
        assert _decoded_frames(d / "clip_000.mp4") > 20
    assert (tmp_path / "manifest.json").exists() and len(summary["clips"]) == 4
    csv_path = tmp_path / "long" / "long_000.segments.csv"
    assert csv_path.read_text().splitlines()[0] == ",".join(SEGMENT_COLUMNS)
    rows = read_segments_csv(csv_path)
    assert rows[-1].end_frame == 300 and abs(rows[-1].end_s - 12.0) < 1e-3
    assert {r.label for r in rows} <= set(acts) | {BACKGROUND}
    assert _decoded_frames(tmp_path / "long" / "long_000.mp4") == rows[-1].end_frame


_RENDER = """
import sys
from star_model.synthetic import write_dataset
write_dataset(sys.argv[1], split="test", clips_per_action=2, long_videos=1, long_duration_s=20.0, seed=0)
"""


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.mp4"))}


def test_write_dataset_is_byte_identical_across_processes(tmp_path):
    """Benchmarks, calibration and the demo render their videos afresh: two processes
    must write the same files, or their numbers vary from run to run."""
    root = Path(__file__).resolve().parents[2]
    for k in (1, 2):
        subprocess.run([sys.executable, "-c", _RENDER, str(tmp_path / f"run{k}")], cwd=root, check=True,
                       timeout=300)
    first, second = _digests(tmp_path / "run1"), _digests(tmp_path / "run2")
    assert len(first) == 2 * len(split_actions("test")) + 1
    assert first == second
