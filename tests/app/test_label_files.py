"""Import labels, export labels for other tools, and review examples from labels, in the real window."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from pympi import Elan
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog

from star_app.views.examples_dialog import ExamplesDialog
from star_model.data.interchange import FORMATS, VideoLabels, read_label_file, write_labels
from star_model.data.label_csv import read_segments_csv
from star_model.schema import BACKGROUND, SOURCE_MANUAL, SOURCE_MODEL, Segment
from star_model.video import probe

from .conftest import ACTIONS, WhenShown


def _truth(dataset: Path) -> list[Segment]:
    return read_segments_csv(dataset / "long" / "long_000.segments.csv")


def _coded(path: Path, video: Path, segments: list[Segment], fmt: str) -> Path:
    info = probe(video)
    return write_labels(fmt, [VideoLabels(str(video), segments, info.fps, info.frame_count, info.duration_s)], path)[0]


def _snapshot(window) -> tuple:
    p = window.state.project
    return ([v.path for v in p.videos], {k: list(v) for k, v in p.annotations.items()},
            window.state.undo_stack.count(), [a.name for a in p.actions])


def test_import_a_boris_project_adds_its_video_and_confirmed_segments_in_one_undo_step(make_window, dataset,
                                                                                        long_video, tmp_path):
    boris = _coded(tmp_path / "coded.boris", long_video, _truth(dataset), "boris")
    window = make_window()
    assert window.interchange.import_file(boris)
    video = str(long_video.resolve())
    assert [v.path for v in window.state.project.videos] == [video]  # found where the BORIS file says
    segs = window.state.segments(video)
    actions = [s for s in _truth(dataset) if s.label != BACKGROUND]
    assert [(s.label, s.start_frame, s.end_frame) for s in segs] == [(s.label, s.start_frame, s.end_frame) for s in actions]
    assert all(s.source == SOURCE_MANUAL for s in segs)
    assert window.state.undo_stack.count() == 1
    window.state.undo_stack.undo()
    assert window.state.project.videos == [] and window.state.segments(video) == []


def test_import_replaces_the_segments_of_a_project_video_and_asks_for_the_elan_tier(make_window, dataset, long_video,
                                                                                     tmp_path, qtbot):
    window = make_window()
    window.files.drop_videos([str(long_video)])
    video = window.state.project.videos[0].path
    window.state.set_segments(video, "model", lambda ss: ss.append(Segment("x", 0.0, 1.0, 0, 25, 0.3, SOURCE_MODEL)))
    eaf = _coded(tmp_path / "eaf", long_video, _truth(dataset), "elan")
    doc = Elan.Eaf(str(eaf))
    doc.add_tier("coder 2")
    doc.add_annotation("coder 2", 1000, 3000, ACTIONS[1])
    eaf.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + Elan.to_string(doc), encoding="utf-8")

    def pick_second(dialog: QInputDialog) -> None:
        assert dialog.comboBoxItems() == ["STAR actions", "coder 2"]
        dialog.setTextValue("coder 2")
        dialog.accept()

    asked = WhenShown(QInputDialog, pick_second)
    assert window.interchange.import_file(eaf)
    assert asked.done
    assert [(s.label, s.start_frame, s.end_frame, s.source) for s in window.state.segments(video)] == \
        [(ACTIONS[1], 25, 75, SOURCE_MANUAL)]


@pytest.mark.parametrize("case", ["truncated json", "eaf without tiers", "tsv missing columns", "media match nothing"])
def test_a_bad_label_file_gives_one_message_and_changes_nothing(case, make_window, dataset, long_video, tmp_path):
    window = make_window()
    window.files.drop_videos([str(long_video)])
    before = _snapshot(window)
    path = tmp_path / {"truncated json": "x.boris", "eaf without tiers": "x.eaf", "tsv missing columns": "x.tsv",
                       "media match nothing": "y.tsv"}[case]
    if case == "truncated json":
        path.write_text(_coded(tmp_path / "ok.boris", long_video, _truth(dataset), "boris").read_text()[:500])
    elif case == "eaf without tiers":
        doc = Elan.Eaf()
        doc.remove_tier("default")
        path.write_text(Elan.to_string(doc), encoding="utf-8")
    elif case == "tsv missing columns":
        path.write_text("Observation id\tSubject\tBehavior\tStart (s)\nobs\t\twalk\t1.0\n")
    else:
        table = _coded(tmp_path / "t.tsv", long_video, _truth(dataset), "boris-table")
        path.write_text(table.read_text().replace(long_video.name, "elsewhere.mp4"))
    assert not window.interchange.import_file(path)
    title, text = window.last_message
    assert title == "Cannot import labels" and path.name in text and "Nothing was imported" in text, text
    expected = {"truncated json": "breaks off", "eaf without tiers": "no tiers", "tsv missing columns": "Stop (s)",
                "media match nothing": "elsewhere.mp4"}[case]
    assert expected in text
    assert _snapshot(window) == before


def test_export_labels_menu_writes_every_format_for_the_videos_with_segments(make_window, dataset, long_video,
                                                                             tmp_path, monkeypatch):
    window = make_window()
    window.files.drop_videos([str(long_video)])
    video = window.state.project.videos[0].path
    truth = _truth(dataset)
    window.state.set_segments(video, "labels", lambda ss: ss.extend(truth))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "all"), ""))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "per-video"))
    for fmt in ("boris", "boris-table", "elan", "deepethogram"):
        window.menu_actions[f"export_{fmt}"].trigger()
    files = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["all.boris", "all.tsv", "long_000.eaf", "long_000_labels.csv"]
    for path in tmp_path.rglob("*.*"):
        labels = read_label_file(path)
        spans = [s for t in labels.tracks for s in t.spans if s.label != BACKGROUND]
        assert len(spans) == sum(1 for s in truth if s.label != BACKGROUND), path.name
    assert window.interchange.export("csv", tmp_path / "ours")[0].name == "long_000.segments.csv"
    assert set(FORMATS) == {"csv", "boris", "boris-table", "elan", "deepethogram"}


def _project_with_labels(window, videos: list[Path], dataset: Path) -> None:
    truth = [s for s in _truth(dataset) if s.label != BACKGROUND]
    window.files.drop_videos([str(v) for v in videos])
    first = window.state.project.videos[0].path
    confirmed = [Segment(s.label, s.start_s, s.end_s, s.start_frame, s.end_frame, 1.0, SOURCE_MANUAL) for s in truth]
    window.state.set_segments(first, "labels", lambda ss: ss.extend(confirmed))


def test_examples_dialog_reviews_the_picks_and_makes_tight_examples_in_one_undo_step(make_window, dataset, long_video,
                                                                                     tmp_path, qtbot):
    other = tmp_path / "other.mp4"
    other.write_bytes(long_video.read_bytes())
    window = make_window()
    _project_with_labels(window, [long_video, other], dataset)
    before = window.state.undo_stack.count()
    seen = {}

    def review(dialog: ExamplesDialog) -> None:
        dialog.k.setValue(1)
        seen["k1"] = len(dialog.rows())
        dialog.k.setValue(2)
        rows = dialog.rows()
        seen["k2"] = len(rows)
        rows[0].setCheckState(0, Qt.CheckState.Unchecked)
        dialog.then_label.setChecked(False)
        seen["label_after_offered"] = dialog.then_label.isEnabled()
        seen["chosen"] = dialog.chosen()
        dialog.accept()

    shown = WhenShown(ExamplesDialog, review)
    window.menu_actions["examples_from_labels"].trigger()
    assert shown.done
    behaviours = {s.label for s in _truth(dataset) if s.label != BACKGROUND}
    assert seen["k1"] == len(behaviours) and seen["k2"] > seen["k1"]
    assert seen["label_after_offered"]  # other.mp4 has no labels
    made = {a.name: a.examples for a in window.state.project.actions}
    assert set(made) == {label for label, _v, _s in seen["chosen"]}
    assert sum(len(e) for e in made.values()) == seen["k2"] - 1
    assert all(c.tight and c.path == window.state.project.videos[0].path for e in made.values() for c in e)
    assert window.state.undo_stack.count() == before + 1
    window.state.undo_stack.undo()
    assert window.state.project.actions == []
    assert not window.runner.busy


def test_no_confirmed_labels_no_examples(make_window, long_video):
    window = make_window()
    window.files.drop_videos([str(long_video)])
    window.menu_actions["examples_from_labels"].trigger()
    assert window.last_message[0] == "No labels to make examples from"
    assert window.state.project.actions == []


def test_deepethogram_export_counts_every_frame(make_window, dataset, long_video, tmp_path):
    window = make_window()
    _project_with_labels(window, [long_video], dataset)
    path = window.interchange.export("deepethogram", tmp_path)[0]
    rows = list(csv.reader(path.open()))
    assert len(rows) - 1 == window.state.project.videos[0].frame_count
    assert rows[0][:2] == ["", "background"]
