"""Fault injection: saves killed with SIGKILL in a child process, at random moments.

Each test starts a child that saves in a loop, kills it (``SIGKILL``, no clean-up can run) after a
random delay, and checks what the kill left: the file old or new, never half; the two label CSVs of
one video from the same run; and no temp file of ours left for good (a leftover older than
:data:`star_model.schema.STALE_TEMP_S` is removed by the next save beside it).
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from star_model.schema import STALE_TEMP_S, atomic_write_text

ROOT = Path(__file__).resolve().parents[2]
KILLS = 25

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

_SAVER = """
import sys
from star_model.schema import atomic_write_text
target, payload = sys.argv[1], int(sys.argv[2])
n = int(open(target).read().split(":")[0]) if __import__("os").path.exists(target) else 0
print("ready", flush=True)
while True:
    n += 1
    atomic_write_text(target, f"{n}:" + "x" * payload + ":end")
"""

_EXPORTER = """
import sys
import numpy as np
from star_model.data.label_csv import write_label_csvs
from star_model.schema import LabelResult, Segment
folder, frames = sys.argv[1], int(sys.argv[2])
print("ready", flush=True)
n = 0
while True:
    n += 1
    name = f"full{n}" if n % 3 else f"segments{n}"  # every third export has no per-frame result
    idx = np.arange(frames)
    result = LabelResult(video="v.mp4", names=[name], frames=idx, times=idx / 8.0,
                         scores=np.full((frames, 2), 0.5, dtype=np.float32), labels=[name] * frames,
                         tsa_map=np.zeros((1, 1)))
    segments = [Segment(label=name, start_s=0.0, end_s=frames / 8.0, start_frame=0, end_frame=frames)]
    write_label_csvs(folder, "v.mp4", segments, result if name.startswith("full") else None)
"""


def _kill_during(script: str, args: list[str], rng: random.Random) -> None:
    """Start ``script``, let it save for a random moment once it is ready, then SIGKILL it."""
    child = subprocess.Popen([sys.executable, "-c", script, *args], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(rng.uniform(0.005, 0.08))
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL


def _temps(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith(".") and p.suffix in (".tmp", ".pending"))


def _age(paths: list[Path], seconds: float) -> None:
    for p in paths:
        t = p.stat().st_mtime - seconds
        os.utime(p, (t, t))


def test_killed_saves_leave_the_old_or_the_new_file_and_no_temp_file_for_good(tmp_path):
    rng = random.Random(14)
    target = tmp_path / "project.json"
    atomic_write_text(target, "0:" + "x" * 10 + ":end")
    for _ in range(KILLS):
        _kill_during(_SAVER, [str(target), str(4 << 20)], rng)
        text = target.read_text()
        assert text.endswith(":end") and text.split(":")[0].isdigit(), "a kill left a half-written file"
    left = _temps(tmp_path)
    print(f"temp files after {KILLS} kills: {len(left)}")
    assert left, "no kill landed inside a save; the test measures nothing"
    young = tmp_path / f".{target.name}.abcd1234.tmp"  # another live writer's temp file
    young.write_text("being written")
    _age(left, STALE_TEMP_S + 5)
    atomic_write_text(target, "1:done:end")
    assert _temps(tmp_path) == [young], "stale temp files were left, or a live writer's was removed"


def test_killed_exports_leave_both_csvs_of_one_run(tmp_path):
    from star_model.data.label_csv import read_segments_csv

    rng = random.Random(7)
    inconsistent = 0
    for _ in range(KILLS):
        _kill_during(_EXPORTER, [str(tmp_path), "3000"], rng)
        if not (tmp_path / "v.segments.csv").exists():
            continue
        segments = read_segments_csv(tmp_path / "v.segments.csv")  # the reader settles an interrupted pair
        frames = tmp_path / "v.frames.csv"
        label = segments[0].label
        if frames.exists():
            inconsistent += frames.read_text().splitlines()[0].split(",")[2] != label
        else:  # a segments-only export removes the older frames CSV in the same step
            inconsistent += not label.startswith("segments")
    print(f"inconsistent pairs after {KILLS} kills: {inconsistent}")
    assert inconsistent == 0
    _age(_temps(tmp_path), STALE_TEMP_S + 5)
    from star_model.data.label_csv import write_label_csvs
    from star_model.schema import Segment

    write_label_csvs(tmp_path, "v.mp4", [Segment(label="last", start_s=0.0, end_s=1.0, start_frame=0, end_frame=8)])
    assert _temps(tmp_path) == []


def test_a_segments_only_export_removes_the_older_frames_csv(tmp_path):
    import numpy as np

    from star_model.data.label_csv import read_segments_csv, write_label_csvs
    from star_model.schema import SOURCE_MANUAL, LabelResult, Segment

    idx = np.arange(8)
    result = LabelResult(video="v.mp4", names=["a"], frames=idx, times=idx / 8.0,
                         scores=np.full((8, 2), 0.5, dtype=np.float32), labels=["a"] * 8, tsa_map=np.zeros((1, 1)))
    first = [Segment(label="a", start_s=0.0, end_s=1.0, start_frame=0, end_frame=8)]
    assert [p.name for p in write_label_csvs(tmp_path, "v.mp4", first, result)] == ["v.segments.csv", "v.frames.csv"]
    edited = [Segment(label="b", start_s=0.0, end_s=1.0, start_frame=0, end_frame=8, source=SOURCE_MANUAL)]
    assert [p.name for p in write_label_csvs(tmp_path, "v.mp4", edited)] == ["v.segments.csv"]
    assert [s.label for s in read_segments_csv(tmp_path / "v.segments.csv")] == ["b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.segments.csv"]


def test_a_reader_finishes_a_pair_interrupted_after_its_commit_point(tmp_path):
    """The state a kill leaves between the two renames: the reader completes it, a bad journal is dropped."""
    import json

    from star_model.data.label_csv import read_segments_csv, segments_csv
    from star_model.data.label_pair import journal_path
    from star_model.schema import Segment

    seg = tmp_path / "v.segments.csv"
    old = [Segment(label="old", start_s=0.0, end_s=1.0, start_frame=0, end_frame=8)]
    new = [Segment(label="new", start_s=0.0, end_s=1.0, start_frame=0, end_frame=8)]
    seg.write_text(segments_csv("v.mp4", old))
    (tmp_path / "v.frames.csv").write_text("frame,time_s,new,background,label\n")  # renamed before the kill
    (tmp_path / ".v.segments.csv.abcd1234.pending").write_text(segments_csv("v.mp4", new))
    journal = journal_path(seg)
    journal.write_text(json.dumps({"renames": [[".v.frames.csv.wxyz9876.pending", "v.frames.csv"],
                                               [".v.segments.csv.abcd1234.pending", "v.segments.csv"]]}))
    assert [s.label for s in read_segments_csv(seg)] == ["new"]
    assert not journal.exists() and _temps(tmp_path) == []
    journal.write_text('{"renames": [["../escape", "v.segments.csv"]]}')
    assert [s.label for s in read_segments_csv(seg)] == ["new"] and not journal.exists()
    journal.write_text('{"renames": [], "remove": ["../v.segments.csv"]}')
    assert [s.label for s in read_segments_csv(seg)] == ["new"] and not journal.exists()
    journal.write_text('{"renames": [], "remove": ["v.frames.csv"]}')  # committed, then killed: finish the removal
    read_segments_csv(seg)
    assert not (tmp_path / "v.frames.csv").exists() and not journal.exists()


def test_a_cache_save_removes_stale_cache_temp_files_only(tmp_path):
    """The feature cache's temp files (``.feat*.tmp``, shared by processes) go once stale, not before."""
    import torch

    from star_model.engine.features import FeatureCache

    cache = FeatureCache(tmp_path)
    stale, live = tmp_path / ".featk2j4x9_a.tmp", tmp_path / ".feat0m1n2b3v.tmp"
    other = tmp_path / ".featXY.tmp"  # not mkstemp's pattern: never ours to remove
    for p in (stale, live, other):
        p.write_bytes(b"partial")
    _age([stale, other], STALE_TEMP_S + 5)
    cache.save("video|x", {"feats": torch.zeros(2, 3)}, {})
    assert not stale.exists() and live.exists() and other.exists()
