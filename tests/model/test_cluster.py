"""``star-app label --cluster``: on a local Ray instance (2 CPUs, started once for the module), the same
CSVs as a local run, longest video first, a video the workers cannot read tried twice then reported,
a dead worker's video tried on another, and without Ray one error line naming the fix."""
from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from star_model.cli import label as label_cli
from star_model.cli.cluster import Job, Scheduler
from star_model.cli.main import main
from star_model.video import probe

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


def test_cluster_writes_the_csvs_of_a_local_run_and_reports_a_video_it_cannot_read(
        ray_cluster, videos, actions_dir, tmp_path, one_thread, monkeypatch, caplog, capsys):
    """One cluster run (it costs a worker start-up): the longest video goes first; the same bytes as a local
    run; gone.mp4, which the driver sees (its probe is stubbed) but the workers cannot read, is tried twice
    and reported while the others are labeled."""
    assert _label(videos, actions_dir, tmp_path / "local", tmp_path / "cache_local") == 0
    capsys.readouterr()
    gone = tmp_path / "gone.mp4"
    monkeypatch.setattr(label_cli, "probe", lambda path: dataclasses.replace(probe(videos[0]), duration_s=7.0)
                        if Path(path) == gone else probe(path))
    with caplog.at_level(logging.DEBUG, logger="star_model.cli.cluster"):
        code = _label([*videos, gone], actions_dir, tmp_path / "cluster", tmp_path / "cache_cluster",
                      "--cluster", "auto", "--cpus-per-worker", "1")
    err = capsys.readouterr().err
    assert code == 2
    local, cluster = _files(tmp_path / "local"), _files(tmp_path / "cluster")
    assert sorted(local) == sorted(f"{v.stem}.{kind}.csv" for v in videos for kind in ("segments", "frames"))
    assert cluster == local  # byte for byte, no temporary file left beside them, nothing for gone.mp4
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "gone.mp4" in errors[0] and "tried 2 times" in errors[0]
    assert "3 of 4 videos labeled by 2 workers" in err and "failed: gone.mp4" in err
    sent = [r.args[0] for r in caplog.records if r.getMessage().startswith("sending")]
    assert sent[:2] == ["long_000.mp4", "medium.mp4"] and sorted(sent[2:]) == ["gone.mp4", "gone.mp4", "short.mp4"]


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



def test_a_worker_that_dies_is_dropped_and_its_video_tried_on_another(ray_cluster, tmp_path):
    """A worker process killed mid-video (out of memory, say): the video goes to the other worker."""
    marker = tmp_path / "crashed-once"

    class Crashy:  # a stand-in for LabelWorker whose process dies on the first try of crash.mp4
        def label(self, video: str) -> str:
            if video.endswith("crash.mp4") and not marker.exists():
                marker.touch()
                os._exit(1)
            return video

    workers = [ray_cluster.remote(num_cpus=1)(Crashy).remote() for _ in range(2)]
    done: list[str] = []
    jobs = [Job(Path("a.mp4"), 1.0), Job(Path("crash.mp4"), 9.0), Job(Path("b.mp4"), 2.0)]
    report = Scheduler(ray_cluster, workers, lambda video, result: done.append(video.name)).run(jobs)
    assert report.failed == {} and sorted(done) == ["a.mp4", "b.mp4", "crash.mp4"]
    assert report.attempts == {Path("crash.mp4"): 2, Path("b.mp4"): 1, Path("a.mp4"): 1}
    for worker in workers:
        ray_cluster.kill(worker)


def test_when_every_worker_dies_the_videos_left_are_reported(ray_cluster):
    """poison.mp4 kills both workers in turn (the second after it labeled a.mp4): b.mp4 is left unlabeled."""
    class Doomed:
        def label(self, video: str) -> str:
            if video.endswith("poison.mp4"):
                os._exit(1)
            time.sleep(2.0)  # the first death is seen before this video is done
            return video

    workers = [ray_cluster.remote(num_cpus=1)(Doomed).remote() for _ in range(2)]
    done: list[str] = []
    jobs = [Job(Path("poison.mp4"), 9.0), Job(Path("a.mp4"), 2.0), Job(Path("b.mp4"), 1.0)]
    report = Scheduler(ray_cluster, workers, lambda video, result: done.append(video.name)).run(jobs)
    assert done == ["a.mp4"] and set(report.failed) == {Path("poison.mp4"), Path("b.mp4")}
    assert report.attempts[Path("poison.mp4")] == 2 and "no worker left" in report.failed[Path("b.mp4")]
