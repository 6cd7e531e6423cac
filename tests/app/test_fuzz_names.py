"""A 100k-character action name froze the GUI for 20-30 s: names are bounded (200 characters) where they come
in: typed (new action by name, rename), in a project file, in imported labels; each with a message."""
from __future__ import annotations

import json
import time

from PySide6.QtWidgets import QInputDialog, QMessageBox

from star_app.project import Project, load_project, save_project, to_dict
from star_app.project_check import MAX_NAME_CHARS
from star_model.data.label_csv import write_segments_csv
from star_model.schema import Segment
from star_model.video import probe

HUGE = "n" * 100_000


def test_a_typed_huge_name_is_shortened_at_once(make_window, monkeypatch):
    window = make_window()
    window.new_project()
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: (HUGE, True))
    t0 = time.monotonic()
    window.add_text_action_dialog()
    took = time.monotonic() - t0
    assert [len(a.name) for a in window.state.project.actions] == [MAX_NAME_CHARS]
    assert window.last_message[0] == "Action name shortened" and "100000 characters" in window.last_message[1]
    assert took < 2.0, took

    warned: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text: warned.append(text))
    name = window.state.project.actions[0].name
    window.actions_panel.rename(name)
    assert window.state.project.actions[0].name == name and "at most 200" in warned[0]


def test_a_project_with_a_huge_name_opens_at_once_shortened(make_window, tmp_path):
    folder = save_project(Project(), tmp_path / "p")
    data = to_dict(Project())
    data["actions"] = [{"name": HUGE, "color": "#ff0000", "descriptors": [HUGE[:900]], "examples": []}]
    (folder / "project.json").write_text(json.dumps(data))
    window = make_window()
    t0 = time.monotonic()
    window.open_project(folder)
    window.repaint()
    took = time.monotonic() - t0
    assert [len(a.name) for a in window.state.project.actions] == [MAX_NAME_CHARS]
    assert window.last_message[0] == "Project repaired on opening" and "shortened" in window.last_message[1]
    assert took < 2.0, took


def test_imported_labels_with_a_huge_name_are_shortened_with_a_note(make_window, tmp_path, long_video):
    window = make_window()
    window.new_project()
    window.files.drop_videos([str(long_video)])
    video = window.state.project.videos[0].path
    fps = probe(video).fps
    csv = write_segments_csv(tmp_path / f"{long_video.stem}.segments.csv", video,
                             [Segment(HUGE, 0.0, 2.0, 0, int(2 * fps), 1.0, "manual")])
    assert window.interchange.import_file(csv)
    labels = {s.label for s in window.state.segments(video)}
    assert HUGE[:MAX_NAME_CHARS] in labels and not any(len(x) > MAX_NAME_CHARS for x in labels)
    assert "shortened" in window.last_message[1]


def test_overlong_descriptors_are_cut_with_a_note(tmp_path):
    folder = save_project(Project(), tmp_path / "d")
    data = to_dict(Project())
    data["actions"] = [{"name": "jump", "color": "#ff0000", "descriptors": ["d" * 5000] * 80, "examples": []}]
    (folder / "project.json").write_text(json.dumps(data))
    project = load_project(folder)
    assert [len(d) for d in project.actions[0].descriptors] == [1000] * 50
    assert "cut to at most 50 lines of 1000 characters" in project.repairs[0]
