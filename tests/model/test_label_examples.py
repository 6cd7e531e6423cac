"""Examples from labels: which confirmed segments are picked, and how they become clips; and the headless
paths: star-app import, export and label --examples-from."""
from __future__ import annotations

from pathlib import Path

import pytest

from star_model.cli.main import main
from star_model.data.label_csv import read_segments_csv
from star_model.data.label_examples import MIN_EXAMPLE_S, examples_of, pick_examples, unlabeled
from star_model.schema import BACKGROUND, SOURCE_MANUAL, SOURCE_MODEL, Segment
from star_model.synthetic import compose_long_video, split_actions
from star_model.video import write_video


def _s(label: str, start: float, length: float, source: str = SOURCE_MANUAL) -> Segment:
    return Segment(label, start, start + length, int(start * 25), int((start + length) * 25), 1.0, source)


def test_picks_are_confirmed_typical_long_enough_and_spread_over_videos():
    annotations = {
        "a.mp4": [_s("walk", 0, 2.0), _s("walk", 5, 2.1), _s("walk", 10, 9.0), _s("walk", 20, 0.5),
                  _s(BACKGROUND, 30, 5.0), _s("sit", 40, 3.0, SOURCE_MODEL), _s("sit", 50, 3.0, "text")],
        "b.mp4": [_s("walk", 3, 2.05), _s("sit", 9, 4.0)],
    }
    picks = pick_examples(annotations, 2)
    assert list(picks) == ["walk", "sit"]
    # the median length (2.1 s) first, then one from the other video before a second from a.mp4; 9 s and
    # 0.5 s (too short) come last or never
    assert [(p.video, p.segment.start_s) for p in picks["walk"]] == [("a.mp4", 5), ("b.mp4", 3)]
    assert [(p.video, p.segment.start_s) for p in picks["sit"]] == [("b.mp4", 9)]  # the model's and a text-only sit: no
    assert len(pick_examples(annotations, 3)["walk"]) == 3
    assert pick_examples(annotations, 5, labels=["sit", "run"]).keys() == {"sit"}
    assert all(p.segment.duration_s >= MIN_EXAMPLE_S for ps in pick_examples(annotations, 9).values() for p in ps)
    actions = examples_of(picks)
    assert [(a.name, [(c.path, c.start_s, c.end_s, c.tight) for c in a.clips]) for a in actions] == [
        ("walk", [("a.mp4", 5.0, 7.1, True), ("b.mp4", 3.0, 5.05, True)]), ("sit", [("b.mp4", 9.0, 13.0, True)])]
    assert unlabeled(["a.mp4", "b.mp4", "c.mp4", "d.mp4"], {**annotations, "c.mp4": [_s("x", 0, 3, SOURCE_MODEL)]}) \
        == ["c.mp4", "d.mp4"]
    with pytest.raises(ValueError, match="at least 1"):
        pick_examples(annotations, 0)


@pytest.fixture(scope="module")
def two_videos(tmp_path_factory) -> list[Path]:
    """Two 30 s long videos of two behaviours, each with its ground truth (segment CSV beside it)."""
    from star_model.data.label_csv import write_segments_csv

    out = tmp_path_factory.mktemp("two")
    names = [a.name for a in split_actions("test")[:2]]
    paths = []
    for i in range(2):
        video = compose_long_video(names, (11, i), duration_s=30.0, name=f"coded_{i}")
        paths.append(Path(write_video(out / f"{video.name}.mp4", video.frames(), video.fps)))
        write_segments_csv(out / f"{video.name}.segments.csv", paths[-1].name, video.segments)
    return paths


def _lines(capsys, stream: str = "err") -> list[str]:
    return getattr(capsys.readouterr(), stream).splitlines()


@pytest.mark.parametrize("fmt,name", [("boris", "x.boris"), ("boris-table", "x.tsv"), ("elan", "eaf"),
                                      ("deepethogram", "de"), ("csv", "csv")])
def test_export_then_import_on_the_command_line(fmt, name, two_videos, tmp_path, capsys):
    video = two_videos[0]
    truth = read_segments_csv(video.with_suffix(".segments.csv"))
    assert main(["export", str(video.with_suffix(".segments.csv")), "--format", fmt, "--out", str(tmp_path / name),
                 "--videos", str(video)]) == 0
    written = Path(_lines(capsys, "out")[0].removeprefix("wrote "))
    assert main(["import", str(written), "--videos", str(video), "--out", str(tmp_path / "back")]) == 0
    back = read_segments_csv(tmp_path / "back" / f"{video.stem}.segments.csv")
    keep = [s for s in truth if fmt in ("csv", "deepethogram") or s.label != BACKGROUND]
    assert [(s.label, s.start_frame, s.end_frame) for s in back] == [(s.label, s.start_frame, s.end_frame) for s in keep]
    assert {s.source for s in back} == {SOURCE_MANUAL}


def test_import_errors_are_one_line(two_videos, tmp_path, capsys):
    video = two_videos[0]
    assert main(["export", str(video.with_suffix(".segments.csv")), "--format", "elan", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["import", str(tmp_path / f"{video.stem}.eaf"), "--out", str(tmp_path / "o")]) == 2
    errors = [line for line in _lines(capsys) if line.startswith("error:")]
    assert len(errors) == 1 and "matches a video" in errors[0] and video.name in errors[0]
    (tmp_path / "bad.boris").write_text('{"observations": {')
    assert main(["import", str(tmp_path / "bad.boris"), "--out", str(tmp_path / "o")]) == 2
    errors = [line for line in _lines(capsys) if line.startswith("error:")]
    assert len(errors) == 1 and "bad.boris" in errors[0]
    assert not (tmp_path / "o").exists()


def test_label_with_examples_from_a_boris_file(two_videos, tmp_path, capsys):
    coded, other = two_videos
    assert main(["export", str(coded.with_suffix(".segments.csv")), "--format", "boris", "--out",
                 str(tmp_path / "coded.boris"), "--videos", str(coded)]) == 0
    code = main(["label", str(coded), str(other), "--examples-from", str(tmp_path / "coded.boris"), "--out",
                 str(tmp_path / "labels"), "--cache-dir", str(tmp_path / "cache"), "--device", "cpu",
                 "--examples-per-action", "2"])
    err = _lines(capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "labels").iterdir()) == [f"{other.stem}.frames.csv",
                                                                      f"{other.stem}.segments.csv"]
    picked = [line for line in err if line.startswith("examples of ")]
    assert picked and all(coded.name in line for line in picked)
    assert main(["label", str(coded), "--examples-from", str(tmp_path / "coded.boris"), "--out",
                 str(tmp_path / "l2")]) == 2
    assert any("add the videos to label" in line for line in _lines(capsys))
