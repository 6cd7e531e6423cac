"""The demo project (`star-app --demo`), Save As + the recent projects menu, and autosave."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QMenu

import star_app.controllers.job_controller as job_controller
from star_app.app import main
from star_app.main_window import MainWindow
from star_app.project import PALETTE
from star_app.services.demo import make_demo_project
from star_app.services.engine import Engine
from star_app.settings import AppSettings, load_settings
from star_model.schema import SOURCE_MANUAL, Segment
from star_model.synthetic import split_actions
from tests.app.conftest import ACTIONS, WhenShown, choose, clips

SMALL_DEMO = {"clips": 1, "duration_s": 6.0, "size": 64}  # 5 actions (the demo's own count), 1 clip each


# --- the demo --------------------------------------------------------------------------------------
def test_the_demo_service_renders_once_and_builds_the_project(tmp_path):
    calls = []
    out = tmp_path / "demo"
    project = make_demo_project(out, lambda done, total, msg: calls.append((done, total, msg)), actions=2, clips=2,
                                duration_s=4.0, size=64)
    names = [a.name for a in split_actions("test")[:2]]
    assert [a.name for a in project.actions] == names
    assert [a.color for a in project.actions] == PALETTE[:2]
    assert all(len(a.examples) == 2 and a.descriptors for a in project.actions)
    assert all(Path(c.path).is_file() and Path(c.path).parent.name == a.name
               for a in project.actions for c in a.examples)
    [video] = project.videos
    assert video.path == str(out / "long" / "long_000.mp4")
    assert (video.duration_s, video.fps, video.frame_count) == (4.0, 25.0, 100)
    assert calls[-1][:2] == (5, 5) and all("rendering" in m for *_, m in calls)  # 4 clips and the long video
    calls.clear()
    again = make_demo_project(out, lambda *a: calls.append(a), actions=2, clips=2, duration_s=4.0, size=64)
    assert calls == [] and again.actions == project.actions and again.videos == project.videos  # reused


def test_star_app_demo_opens_and_labels_the_demo_project(tmp_path, monkeypatch, qtbot):
    """``star-app --demo`` (``main(["--demo"])``) up to the event loop, which is replaced by a check of the
    window: the demo material is pre-rendered small in the demo folder, which the app reuses."""
    folder = tmp_path / "demo"
    make_demo_project(folder, lambda *a: None, **SMALL_DEMO)
    monkeypatch.setattr(job_controller, "demo_dir", lambda: folder)
    names = [a.name for a in split_actions("test")[:5]]
    video = str(folder / "long" / "long_000.mp4")
    seen: dict = {}

    def event_loop(app) -> int:
        [window] = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        progress = []
        window.runner.progress.connect(lambda _d, _t, message: progress.append(message))
        qtbot.waitUntil(lambda: window.state.project.name == "demo" and bool(window.state.segments(video))
                        and not window.runner.busy, timeout=30000)
        qtbot.waitUntil(lambda: window.player.shown_frame >= 0, timeout=5000)
        panel = window.actions_panel.list
        seen.update(
            actions=[panel.item(i).data(Qt.ItemDataRole.UserRole) for i in range(panel.count())],
            videos=[window.videos_panel.list.item(i).text() for i in range(window.videos_panel.list.count())],
            current=window.current_video, duration=window.current.duration, title=window.windowTitle(),
            timeline=len(window.timeline.segments), curves=set(window.plot.curves), message=window.last_message,
            rendered=[m for m in progress if "rendering" in m])
        window.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", event_loop)
    app = QApplication.instance()
    names_before = app.applicationName(), app.organizationName()
    try:
        assert main(["--demo"]) == 0
    finally:
        app.setApplicationName(names_before[0])
        app.setOrganizationName(names_before[1])
    assert seen["message"] == ("", ""), seen["message"]
    assert seen["actions"] == names
    assert len(seen["videos"]) == 1 and "long_000.mp4" in seen["videos"][0]
    assert seen["current"] == video and seen["duration"] == 6.0
    assert seen["title"].startswith("demo")
    assert seen["timeline"] > 0 and seen["curves"] == set(names)
    assert seen["rendered"] == []  # the material already there was reused


# --- Save As and recent projects --------------------------------------------------------------------
def save_as_dialog(window, qtbot, path: Path) -> None:
    """Project > Save as…: type ``path`` into the real file dialog and press Enter."""
    def type_path(dialog: QFileDialog) -> None:
        edit = dialog.findChild(QLineEdit, "fileNameEdit")
        edit.setText(str(path))  # (typing it would open the completer's popup, which takes the Return)
        qtbot.keyClick(edit, Qt.Key.Key_Return)

    dialog = WhenShown(QFileDialog, type_path)
    window.menu_actions["save_as"].trigger()
    assert dialog.done


def recent_menu(window) -> QMenu:
    project_menu = window.menuBar().actions()[0].menu()
    return next(a.menu() for a in project_menu.actions() if a.text() == "Open &recent")


def open_recent(window, qtbot, text: str) -> list[str]:
    """Pop up Project > Open recent, choose ``text``; returns the items it listed."""
    listed = []

    def handle(menu: QMenu) -> None:
        listed.extend(a.text() for a in menu.actions())
        choose(text)(menu)

    chosen = WhenShown(QMenu, handle)
    recent_menu(window).exec(window.mapToGlobal(QPoint(10, 10)))
    assert chosen.done
    qtbot.wait(20)  # the chosen item is triggered once the menu has closed
    return listed


def state_of(window) -> tuple:
    p = window.state.project
    return p.name, copy.deepcopy(p.actions), copy.deepcopy(p.videos), copy.deepcopy(p.annotations)


def test_save_as_adds_to_recent_and_reopening_from_there_restores_it(make_window, qtbot, tmp_path, dataset,
                                                                      long_video):
    window = make_window()
    window.files.drop_examples([str(p) for p in clips(dataset, ACTIONS[0])])
    window.files.drop_examples([str(p) for p in clips(dataset, ACTIONS[1])])
    video = window.files.drop_videos([str(long_video)])[0]
    window.state.update_action(ACTIONS[0], "descriptors", descriptors=["first", "second", "third"])
    window.state.set_segments(video, "segments", lambda segs: segs.append(
        Segment(ACTIONS[1], 1.0, 2.5, 25, 62, 1.0, SOURCE_MANUAL)))
    save_as_dialog(window, qtbot, tmp_path / "mine")  # no suffix typed: the project folder is mine.star
    first = tmp_path / "mine.star"
    assert (first / "project.json").is_file() and window.state.project.folder == first
    assert not window.state.dirty and window.windowTitle().startswith("mine — ")
    saved = state_of(window)
    assert saved[0] == "mine"
    assert window.settings.recent == [str(first)]
    assert load_settings().recent == [str(first)]  # remembered on disk at once

    # a second project: the most recent comes first
    window.new_project()
    window.files.drop_examples([str(p) for p in clips(dataset, ACTIONS[1])[:1]])
    save_as_dialog(window, qtbot, tmp_path / "other.star")
    second = tmp_path / "other.star"
    assert window.settings.recent == [str(second), str(first)]

    window.new_project()
    assert window.state.project.actions == []
    listed = open_recent(window, qtbot, str(second))
    assert listed == [str(second), str(first)]
    qtbot.waitUntil(lambda: window.state.project.folder == second, timeout=5000)
    assert [a.name for a in window.state.project.actions] == [ACTIONS[1]]
    window.new_project()
    assert open_recent(window, qtbot, str(first)) == [str(second), str(first)]
    qtbot.waitUntil(lambda: window.state.project.folder == first, timeout=5000)
    assert state_of(window) == saved and not window.state.dirty
    assert window.current_video == video and window.timeline.segments == saved[3][video]
    assert window.settings.recent == [str(first), str(second)]
    assert [window.actions_panel.list.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(window.actions_panel.list.count())] == ACTIONS

    # a recent project that is gone: a readable message, the open project stays
    for f in second.iterdir():
        f.unlink()
    second.rmdir()
    open_recent(window, qtbot, str(second))
    qtbot.waitUntil(lambda: window.last_message != ("", ""), timeout=5000)
    assert window.last_message[0] == "Cannot open project" and "other.star" in window.last_message[1]
    assert state_of(window) == saved


def test_an_empty_recent_list_shows_none(make_window, qtbot):
    window = make_window()
    listed = []
    chosen = WhenShown(QMenu, lambda menu: (listed.extend((a.text(), a.isEnabled()) for a in menu.actions()),
                                            menu.close()))
    recent_menu(window).exec(window.mapToGlobal(QPoint(10, 10)))
    assert chosen.done and listed == [("(none)", False)]


# --- autosave -----------------------------------------------------------------------------------------
@pytest.fixture
def autosave_window(qtbot):
    window = MainWindow(settings=AppSettings(device="cpu", autosave_s=1), engine=Engine())
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()


def test_autosave_writes_the_saved_project_after_an_edit(autosave_window, qtbot, tmp_path):
    window = autosave_window
    assert window.files.autosave.isActive() and window.files.autosave.interval() == 1000
    ticks = []
    window.files.autosave.timeout.connect(lambda: ticks.append(window.state.dirty))
    window.state.add_action("wave", [])
    qtbot.waitUntil(lambda: bool(ticks), timeout=3000)
    assert window.state.dirty and list(tmp_path.glob("*.star")) == []  # never saved: nowhere to autosave to

    assert window.save_as(tmp_path / "auto")
    project_json = tmp_path / "auto.star" / "project.json"
    assert [a["name"] for a in json.loads(project_json.read_text())["actions"]] == ["wave"]
    window.state.add_action("jump", [])
    assert window.state.dirty
    qtbot.waitUntil(lambda: not window.state.dirty, timeout=3000)
    assert [a["name"] for a in json.loads(project_json.read_text())["actions"]] == ["wave", "jump"]
    assert window.statusBar().currentMessage() == "Autosaved auto.star"
    assert " *" not in window.windowTitle()
