"""``star-app label --cluster``: on a local Ray instance (2 CPUs, started once for the module), the same
CSVs as a local run, longest video first, a video the workers cannot read tried twice then reported,
and without Ray one error line naming the fix."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from star_model.cli import label as label_cli
from star_model.cli.main import main
from star_model.video import VideoInfo, probe

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray instance with 2 CPUs and no dashboard, for the whole module."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def actions_dir(synth_set, tmp_path_factory) -> Path:
    """Two actions of the synthetic set, as a user's folder of example clips."""
    root = tmp_path_factory.mktemp("actions")
    for folder in sorted(p for p in synth_set.iterdir() if p.is_dir() and p.name != "long")[:2]:
        (root / folder.name).mkdir()
        for f in folder.iterdir():
            (root / folder.name / f.name).write_bytes(f.read_bytes())
    return root


@pytest.fixture(scope="module")
def videos(synth_set, make_video, tmp_path_factory) -> list[Path]:
    """Three videos, shortest first: 5 s and 10 s of coded frames (PyAV), the 30 s synthetic long video."""
    root = tmp_path_factory.mktemp("cluster_videos")
    return [make_video(root / "short.mp4", 40, 8.0), make_video(root / "medium.mp4", 80, 8.0),
            synth_set / "long" / "long_000.mp4"]


def _label(videos, actions_dir, out, cache, *extra) -> int:
    return main(["label", *map(str, videos), "--actions", str(actions_dir), "--out", str(out),
                 "--cache-dir", str(cache), "--device", "cpu", *extra])


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture()
def one_thread():
    """torch on one thread here, as in each 1-CPU worker: scores summed in another order by another
    number of threads differ in their last bits (a 4th decimal now and then), on a cluster as locally."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_cluster_writes_the_same_csvs_as_a_local_run_longest_first(ray_cluster, videos, actions_dir, tmp_path,
                                                                      one_thread, caplog, capsys):
    assert _label(videos, actions_dir, tmp_path / "local", tmp_path / "cache_local") == 0
    capsys.readouterr()
    with caplog.at_level(logging.DEBUG, logger="star_model.cli.cluster"):
        code = _label(videos, actions_dir, tmp_path / "cluster", tmp_path / "cache_cluster",
                      "--cluster", "auto", "--cpus-per-worker", "1")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    local, cluster = _files(tmp_path / "local"), _files(tmp_path / "cluster")
    assert sorted(local) == sorted(f"{v.stem}.{kind}.csv" for v in videos for kind in ("segments", "frames"))
    assert cluster == local  # byte for byte, and no temporary file left beside them
    assert "3 of 3 videos labeled by 2 workers" in captured.err
    sent = [r.args[0] for r in caplog.records if r.getMessage().startswith("sending")]
    assert sent == ["long_000.mp4", "medium.mp4", "short.mp4"]


def test_a_video_the_workers_cannot_read_is_tried_twice_then_reported(ray_cluster, videos, actions_dir, tmp_path,
                                                                      monkeypatch, capsys):
    """The driver sees the video (its probe is stubbed), the workers do not: the others are labeled."""
    gone = tmp_path / "gone.mp4"

    def driver_probe(path) -> VideoInfo:
        return probe(videos[0]) if Path(path) == gone else probe(path)

    monkeypatch.setattr(label_cli, "probe", driver_probe)
    out = tmp_path / "out"
    code = _label([gone, videos[0]], actions_dir, out, tmp_path / "cache", "--cluster", "auto",
                  "--cpus-per-worker", "1")
    err = capsys.readouterr().err
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "gone.mp4" in errors[0] and "tried 2 times" in errors[0]
    assert "1 of 2 videos labeled by 2 workers" in err and "failed: gone.mp4" in err
    assert sorted(p.name for p in out.iterdir()) == ["short.frames.csv", "short.segments.csv"]


def test_without_ray_one_error_line_names_the_extra(videos, actions_dir, tmp_path):
    """In a fresh interpreter the command line loads no Ray; with Ray blocked, --cluster says how to install it."""
    code = ("import sys\nimport star_model, star_model.cli.main\n"
            "assert 'ray' not in sys.modules, 'importing the command line loads ray'\n"
            "sys.modules['ray'] = None\n"
            "sys.exit(star_model.cli.main.main(sys.argv[1:]))\n")
    args = ["label", str(videos[0]), "--actions", str(actions_dir), "--out", str(tmp_path / "out"), "--cluster", "auto"]
    res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.returncode == 2, res.stderr
    assert lines == ["error: --cluster needs Ray, which is not installed: pip install 'star-labeler[cluster]'"]
    assert not (tmp_path / "out").exists()

