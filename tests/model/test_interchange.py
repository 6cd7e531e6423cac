"""Label formats: every export reads back as the same segments; pympi and BORIS read what we write; bad
files give one clear error; spreadsheet formulas are neutralised; spans are placed on a video's frames."""
from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pympi import Elan

from star_model.data.cells import neutralise, restore
from star_model.data.interchange import (FORMATS, Span, VideoLabels, match_media, place, read_label_file,
                                         write_labels)
from star_model.data.label_csv import write_frames_csv
from star_model.errors import LabelFileError
from star_model.schema import BACKGROUND, SOURCE_MANUAL, SOURCE_MODEL, Segment

FPS = 25.0
ROOT = Path(__file__).resolve().parents[2]
HAS_CONFIDENCE = {"csv", "boris", "boris-table", "elan"}


def _seg(label: str, a: int, b: int, conf: float, source: str = SOURCE_MODEL, offset: float = 0.013) -> Segment:
    """A segment as labeling makes them: times between sampled frames, not on frame boundaries."""
    return Segment(label, a / FPS + offset, b / FPS + offset, a, b, conf, source)


@pytest.fixture()
def video(tmp_path) -> VideoLabels:
    """A labeled video (the file need not exist for the formats): actions, background, a formula-like label,
    two touching segments of one behaviour, a manual one."""
    segments = [
        _seg(BACKGROUND, 0, 30, 0.91), _seg("wave the right hand", 30, 95, 0.8312),
        _seg(BACKGROUND, 95, 140, 0.7), _seg("-turn", 140, 180, 0.4567, SOURCE_MANUAL),
        _seg("jump then clap", 180, 230, 0.62), _seg("jump then clap", 230, 270, 0.55, SOURCE_MANUAL),
        _seg(BACKGROUND, 270, 500, 0.88),
    ]
    segments[0].start_s, segments[-1].end_s = 0.0, 20.0
    return VideoLabels(str(tmp_path / "media" / "mouse 1.mp4"), segments, FPS, 500, 20.0,
                       ["wave the right hand", "-turn", "jump then clap", "sit"])


def _export(fmt: str, video: VideoLabels, tmp_path: Path) -> Path:
    out = tmp_path / "out" / ("labels.boris" if fmt == "boris" else "labels.tsv" if fmt == "boris-table" else fmt)
    written = write_labels(fmt, [video], out)
    assert len(written) == 1 and written[0].is_file()
    return written[0]


def _read_back(path: Path, video: VideoLabels) -> list[Segment]:
    labels = read_label_file(path)
    tracks = labels.tracks_of(None)
    assert len(tracks) == 1 and match_media(tracks[0], [video.path]) == video.path
    placed = place(tracks[0].spans, video.fps, video.frame_count)
    assert placed.cut == 0 and placed.dropped == 0
    assert all(s.source == SOURCE_MANUAL for s in placed.segments)
    return placed.segments


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "deepethogram"])
def test_export_then_import_gives_the_same_segments(fmt, video, tmp_path):
    back = _read_back(_export(fmt, video, tmp_path), video)
    expected = [s for s in video.segments if fmt == "csv" or s.label != BACKGROUND]
    assert [(s.label, s.start_frame, s.end_frame) for s in back] == \
        [(s.label, s.start_frame, s.end_frame) for s in expected]
    for got, want in zip(back, expected):
        assert abs(got.start_s - want.start_s) < 1 / FPS and abs(got.end_s - want.end_s) < 1 / FPS
        assert got.confidence == pytest.approx(want.confidence if fmt in HAS_CONFIDENCE else 1.0, abs=5e-5)


def test_our_csv_keeps_times_and_sources_exactly(video, tmp_path):
    labels = read_label_file(_export("csv", video, tmp_path))
    spans = labels.tracks[0].spans
    assert [(s.start_s, s.end_s, s.source) for s in spans] == \
        [(pytest.approx(s.start_s, abs=5e-4), pytest.approx(s.end_s, abs=5e-4), s.source) for s in video.segments]


def test_deepethogram_round_trip_merges_only_what_one_hot_frames_cannot_tell_apart(video, tmp_path):
    path = _export("deepethogram", video, tmp_path)
    assert path.name == "mouse 1_labels.csv"
    header = next(csv.reader(path.open()))
    assert header == ["", "background", "wave the right hand", "'-turn", "jump then clap", "sit"]
    back = _read_back(path, video)
    # the two touching "jump then clap" segments are one run of 1s: DeepEthogram has no way to keep them apart
    assert [(s.label, s.start_frame, s.end_frame) for s in back] == [
        (BACKGROUND, 0, 30), ("wave the right hand", 30, 95), (BACKGROUND, 95, 140), ("-turn", 140, 180),
        ("jump then clap", 180, 270), (BACKGROUND, 270, 500)]
    assert sum(1 for _ in path.open()) == 501


def test_pympi_reads_our_eaf(video, tmp_path):
    eaf = Elan.Eaf(str(_export("elan", video, tmp_path)))
    assert set(eaf.get_tier_names()) == {"STAR actions", "STAR actions confidence"}
    data = sorted(eaf.get_annotation_data_for_tier("STAR actions"))
    actions = [s for s in video.segments if s.label != BACKGROUND]
    assert [(a, b, v) for a, b, v in data] == [(round(s.start_frame / FPS * 1000), round(s.end_frame / FPS * 1000),
                                                s.label) for s in actions]
    confidences = sorted(eaf.get_ref_annotation_data_for_tier("STAR actions confidence"))
    assert [float(c[2]) for c in confidences] == [pytest.approx(s.confidence, abs=5e-5) for s in actions]
    assert eaf.media_descriptors[0]["MEDIA_URL"] == Path(video.path).as_uri()


def _boris(project: Path, out: Path) -> dict:
    if importlib.util.find_spec("boris") is None:
        pytest.skip("boris-behav-obs is not installed (pip install -e '.[test]')")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, str(ROOT / "tests" / "model" / "boris_harness.py"), str(project), str(out)],
                         capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_boris_opens_our_project_and_its_export_reads_back(video, tmp_path):
    """BORIS's own reader opens the .boris we write with nothing to fix; the aggregated events BORIS exports
    from it, and the project as BORIS saves it, read back as the same segments."""
    result = _boris(_export("boris", video, tmp_path), tmp_path)
    assert result["error"] is None
    assert result["integrity"] == ""
    actions = [s for s in video.segments if s.label != BACKGROUND]
    assert result["rows"] == len(actions)
    for made_by_boris in (tmp_path / "aggregated.tsv", tmp_path / "resaved.boris"):
        back = _read_back(made_by_boris, video)
        assert [(s.label, s.start_frame, s.end_frame) for s in back] == \
            [(s.label, s.start_frame, s.end_frame) for s in actions], made_by_boris.name
        assert [s.confidence for s in back] == [pytest.approx(s.confidence, abs=5e-5) for s in actions]


def test_formula_cells_are_neutralised_in_every_table(video, tmp_path):
    for text in ("=SUM(A1)", "+1", "-turn", "@cmd", "\tx"):
        assert neutralise(text) == "'" + text and restore(neutralise(text)) == text
    assert neutralise("turn") == "turn" and restore("'quoted") == "'quoted"
    for fmt in ("csv", "boris-table", "deepethogram"):
        cells = [c for row in csv.reader(_export(fmt, video, tmp_path).open(), delimiter="\t" if fmt == "boris-table"
                                         else ",") for c in row]
        assert "'-turn" in cells and "-turn" not in cells, fmt
    frames = write_frames_csv(tmp_path / "f.csv", [0, 1], [0.0, 0.04], ["=cmd"], __import__("numpy").zeros((2, 2)),
                              ["=cmd", BACKGROUND])
    assert frames.read_text().splitlines()[0] == "frame,time_s,'=cmd,background,label"


def _eaf_without_tiers(path: Path) -> Path:
    eaf = Elan.Eaf()
    eaf.remove_tier("default")
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + Elan.to_string(eaf), encoding="utf-8")
    return path


def test_bad_files_give_one_clear_error(video, tmp_path):
    boris = _export("boris", video, tmp_path)
    truncated = tmp_path / "cut.boris"
    truncated.write_text(boris.read_text()[:400])
    table = tmp_path / "partial.tsv"
    table.write_text("Observation id\tBehavior\tStart (s)\nobs\twalk\t1.0\n")
    broken_eaf = tmp_path / "broken.eaf"
    broken_eaf.write_text(_export("elan", video, tmp_path).read_text()[:300])
    unknown = tmp_path / "notes.csv"
    unknown.write_text("a,b\n1,2\n")
    cases = {truncated: "breaks off", _eaf_without_tiers(tmp_path / "empty.eaf"): "has no tiers",
             table: "lacks the BORIS column(s) Behavior type, Stop (s)", broken_eaf: "not a readable ELAN file",
             unknown: "not a label table", tmp_path / "none.boris": "does not exist",
             tmp_path / "x.xlsx": "does not exist"}
    (tmp_path / "y.xlsx").write_bytes(b"PK")
    cases[tmp_path / "y.xlsx"] = "unknown label file kind"
    for path, words in cases.items():
        with pytest.raises(LabelFileError) as err:
            read_label_file(path)
        assert words in str(err.value) and path.name in str(err.value), (path.name, str(err.value))


def test_boris_point_events_unpaired_states_offsets_and_subjects(tmp_path):
    project = {
        "behaviors_conf": {"0": {"code": "groom", "type": "State event"}, "1": {"code": "sniff", "type": "Point event"}},
        "observations": {
            "two files": {"type": "MEDIA", "time offset": 2.0, "file": {"1": ["a.mp4", "b.mp4"], "2": []},
                          "media_info": {"length": {"a.mp4": 10.0, "b.mp4": 10.0}},
                          "events": [[3.0, "", "groom", "", ""], [5.0, "", "groom", "", ""], [4.0, "m2", "sniff", "", ""],
                                     [13.0, "", "groom", "", "confidence 0.7"], [15.0, "", "groom", "", ""],
                                     [17.0, "m2", "groom", "", ""]]},
            "live": {"type": "LIVE", "events": [[1.0, "", "sniff", "", ""]]},
        },
    }
    path = tmp_path / "p.boris"
    path.write_text(json.dumps(project))
    labels = read_label_file(path)
    assert sorted(labels.groups) == ["No focal subject", "m2"] and labels.group_kind == "subject"
    spans = {(t.media, t.group): [(s.label, s.start_s, s.end_s, s.confidence) for s in t.spans] for t in labels.tracks}
    assert spans[("a.mp4", "No focal subject")] == [("groom", 1.0, 3.0, None)]
    assert spans[("b.mp4", "No focal subject")] == [("groom", 1.0, 3.0, 0.7)]
    assert spans[("a.mp4", "m2")] == [("sniff", 2.0, None, None)]
    assert spans[("b.mp4", "m2")] == [("groom", 5.0, 10.0, None)]  # no STOP: closed at the end of b.mp4
    assert any("without a STOP" in n for n in labels.notes) and any("live" in n for n in labels.notes)
    point = place([Span("sniff", 2.0)], FPS).segments[0]
    assert (point.start_frame, point.end_frame) == (50, 51)


def test_boris_tabular_events_table(tmp_path):
    table = tmp_path / "tab.csv"
    table.write_text("Observation id,Subject,Behavior,Behavior type,Time,Media file name,Comment\n"
                     "o,,rear,START,1.5,/v/m.mp4,confidence 0.9\no,,rear,STOP,3.0,/v/m.mp4,\n"
                     "o,,sniff,POINT,4.0,/v/m.mp4,\n")
    labels = read_label_file(table)
    assert labels.format == "boris-table"
    assert [(t.media_name, [(s.label, s.start_s, s.end_s, s.confidence) for s in t.spans]) for t in labels.tracks] == \
        [("m.mp4", [("rear", 1.5, 3.0, 0.9), ("sniff", 4.0, None, None)])]


def test_place_cuts_overlaps_clamps_to_the_video_and_counts(tmp_path):
    spans = [Span("a", 0.0, 2.0), Span("b", 1.0, 3.0), Span("c", 1.2, 1.8), Span("d", 3.5, 9.0), Span("e", -1.0, 0.5)]
    placed = place(spans, 10.0, frame_count=50)
    assert [(s.label, s.start_frame, s.end_frame) for s in placed.segments] == \
        [("e", 0, 5), ("a", 5, 20), ("b", 20, 30), ("d", 35, 50)]
    assert placed.cut == 3 and placed.dropped == 1
    with pytest.raises(ValueError, match="frame rate"):
        place(spans, 0.0)


def test_media_match_by_file_name_or_stem():
    from star_model.data.interchange import Track

    videos = ["/data/day 1/mouse.mp4", "/data/other.avi"]
    assert match_media(Track("C:\\lab\\mouse.mp4", []), videos) == videos[0]
    assert match_media(Track("other", []), videos) == videos[1]
    assert match_media(Track("mouse.avi", []), videos) is None


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_writers_are_atomic(fmt, video, tmp_path, monkeypatch):
    """A write that fails on the way to the disk leaves the previous file whole and no temporary file behind."""
    first = _export(fmt, video, tmp_path)
    before = first.read_bytes()

    def disk_full(_fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    video.segments[1].label = "changed"
    with pytest.raises(OSError, match="No space"):
        _export(fmt, video, tmp_path)
    assert first.read_bytes() == before
    assert sorted(p.name for p in first.parent.iterdir()) == [first.name]
