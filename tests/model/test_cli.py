"""The headless CLI: exit codes and one-line messages for each bad input; real runs on small videos."""
import csv
import subprocess
import sys
from pathlib import Path

import pytest

from star_model.cli.main import main
from star_model.data.label_csv import SEGMENT_COLUMNS
from tests.model.videos_util import make_audio_only, truncate_copy


def _errors(capsys):
    err = capsys.readouterr().err
    return [line for line in err.splitlines() if line.startswith("error:")]


@pytest.fixture()
def actions_dir(synth_set, tmp_path):
    """Two actions of the synthetic set, as a user's folder of example clips."""
    root = tmp_path / "actions"
    for folder in sorted(p for p in synth_set.iterdir() if p.is_dir() and p.name != "long")[:2]:
        (root / folder.name).mkdir(parents=True)
        for f in folder.iterdir():
            (root / folder.name / f.name).write_bytes(f.read_bytes())
    return root


def test_label_writes_both_csvs_and_reports_a_bad_video_among_good_ones(actions_dir, synth_set, tmp_path, capsys):
    long = synth_set / "long" / "long_000.mp4"
    missing = tmp_path / "nope.mp4"
    out = tmp_path / "out"
    code = main(["label", str(missing), str(long), "--actions", str(actions_dir), "--out", str(out),
                 "--cache-dir", str(tmp_path / "cache"), "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 2
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "nope.mp4" in errors[0]
    assert "Traceback" not in captured.err
    with open(out / "long_000.segments.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == SEGMENT_COLUMNS and len(rows) > 1
    with open(out / "long_000.frames.csv") as fh:
        header = next(csv.reader(fh))
    assert header[:2] == ["frame", "time_s"] and header[-2:] == ["background", "label"]
    assert not (out / "nope.segments.csv").exists()


@pytest.mark.parametrize("case", ["empty", "text", "audio", "missing"])
def test_each_bad_video_gets_one_error_line(case, actions_dir, tmp_path, capsys):
    path = tmp_path / "bad.mp4"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("this is not a video\n" * 20)
    elif case == "audio":
        path = make_audio_only(tmp_path / "bad.m4a")
    code = main(["label", str(path), "--actions", str(actions_dir), "--out", str(tmp_path / "out"),
                 "--cache-dir", str(tmp_path / "cache"), "--device", "cpu"])
    errors = _errors(capsys)
    assert code == 2
    assert len(errors) == 1 and path.name in errors[0]
    expected = {"empty": "empty", "text": "not a video", "audio": "no video stream", "missing": "not found"}[case]
    assert expected in errors[0].lower()


def test_bad_actions_folders(tmp_path, capsys, small_mp4):
    cases = {
        "missing": tmp_path / "no-such-folder",
        "empty": tmp_path / "empty",
        "no clips": tmp_path / "noclips",
    }
    cases["empty"].mkdir()
    (cases["no clips"] / "wave").mkdir(parents=True)
    (cases["no clips"] / "wave" / "notes.txt").write_text("x")
    for name, folder in cases.items():
        code = main(["label", str(small_mp4), "--actions", str(folder), "--out", str(tmp_path / "o")])
        errors = _errors(capsys)
        assert code == 2, name
        assert len(errors) == 1 and str(folder.name) in errors[0], name


def test_usage_errors_are_one_line(capsys):
    assert main(["label", "x.mp4"]) == 2
    errors = _errors(capsys)
    assert len(errors) == 1 and "--out" in errors[0]
    assert main(["label", "x.mp4", "--out", "o"]) == 2
    errors = _errors(capsys)
    assert len(errors) == 1 and "--actions" in errors[0] and "--examples-from" in errors[0]
    assert main(["frobnicate"]) == 2
    assert len(_errors(capsys)) == 1


def test_cuda_on_a_machine_without_one(actions_dir, small_mp4, tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code = main(["label", str(small_mp4), "--actions", str(actions_dir), "--out", str(tmp_path / "o"), "--device", "cuda"])
    errors = _errors(capsys)
    assert code == 2 and len(errors) == 1 and "no CUDA GPU" in errors[0]


def test_info_prints_decoded_metadata(small_mp4, tmp_path, capsys):
    assert main(["info", str(small_mp4)]) == 0
    out = capsys.readouterr().out
    assert "frames: 32" in out and "fps: 8.000" in out and "64x48" in out
    cut = truncate_copy(small_mp4, tmp_path / "cut.mp4", 0.3)
    assert main(["info", str(cut)]) == 2
    assert len(_errors(capsys)) == 1


def test_synth_writes_the_folder_layout(tmp_path, capsys):
    assert main(["synth", "--out", str(tmp_path / "s"), "--split", "val", "--clips-per-action", "1", "--seed", "2"]) == 0
    folders = [p for p in (tmp_path / "s").iterdir() if p.is_dir()]
    assert len(folders) == 8
    assert all((f / "clip_000.mp4").is_file() and (f / "descriptors.txt").is_file() for f in folders)


def test_entry_point_exit_code_and_single_error_line(tmp_path):
    exe = Path(sys.executable).with_name("star-app")
    if not exe.exists():
        pytest.skip("star-app console script not installed in this environment")
    res = subprocess.run([str(exe), "info", str(tmp_path / "missing.mp4")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "missing.mp4" in lines[0]


def test_tight_examples_keeps_the_examples_whole(actions_dir, synth_set, tmp_path):
    long = synth_set / "long" / "long_000.mp4"
    frames = {}
    for flag in ([], ["--tight-examples"]):
        out = tmp_path / ("tight" if flag else "trimmed")
        code = main(["label", str(long), "--actions", str(actions_dir), "--out", str(out),
                     "--cache-dir", str(tmp_path / "cache"), "--device", "cpu", *flag])
        assert code == 0
        frames[bool(flag)] = (out / "long_000.frames.csv").read_text()
    assert frames[True] != frames[False]  # whole examples, no rest class: other prototypes, other scores
