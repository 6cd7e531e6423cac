"""Workers: cancel stops quickly and changes nothing; a failure is a message; closing does not hang."""
from __future__ import annotations

import gc
import shutil
import sys
import time
import weakref

from PySide6.QtWidgets import QMessageBox

from star_app.services.engine import Engine
from star_app.services.jobs import JobRunner
from star_model.schema import ModelChoice
from star_app.views.quit_question import QUIT
from tests.app.conftest import ACTIONS, WhenShown, click_button, clips, wait_idle


def prepared(make_window, data, engine=None):
    window = make_window(engine)
    for action in ACTIONS:
        window.files.drop_examples([str(p) for p in clips(data, action)])
    window.files.drop_videos([str(data / "long" / "long_000.mp4")])
    return window


def start_and_wait_for_video_progress(qtbot, window) -> None:
    """Start labeling and return once the long video's frames are being embedded."""
    seen = []
    window.runner.progress.connect(lambda done, total, msg: seen.append(msg) if "long_000" in msg and done else None)
    window.label_current()
    qtbot.waitUntil(lambda: bool(seen), timeout=60000)


def test_cancel_stops_quickly_and_leaves_the_project_unchanged(make_window, qtbot, long_dataset):
    window = prepared(make_window, long_dataset)
    video = window.current_video
    undo_count = window.state.undo_stack.count()
    actions_before = [(a.name, len(a.examples)) for a in window.state.project.actions]
    start_and_wait_for_video_progress(qtbot, window)
    assert window.runner.busy
    window.job_status.cancel_button.click()
    t0 = time.monotonic()
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=2000)
    stopped_s = time.monotonic() - t0
    assert stopped_s < 2.0
    assert window.state.segments(video) == [] and video not in window.state.results
    assert window.state.undo_stack.count() == undo_count
    assert [(a.name, len(a.examples)) for a in window.state.project.actions] == actions_before
    assert not window.job_status.isVisible()
    assert "cancelled" in window.statusBar().currentMessage()
    assert window.last_message == ("", "")


def test_a_failing_worker_shows_a_message_and_the_app_carries_on(make_window, qtbot, dataset, long_video,
                                                                  shared_engine, tmp_path):
    window = make_window(shared_engine)
    for action in ACTIONS:
        window.files.drop_examples([str(p) for p in clips(dataset, action)])
    doomed = tmp_path / "doomed.mp4"
    shutil.copy(long_video, doomed)
    window.files.drop_videos([str(doomed)])
    doomed.unlink()  # the file disappears after it was added
    window.label_current()
    wait_idle(qtbot, window)
    # the player cannot show the file either: its own message may come before or after the job's
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible() and b.windowTitle() == "Labeling failed"]
    assert len(boxes) == 1 and "doomed.mp4" in boxes[0].text() and "not found" in boxes[0].text()
    assert window.state.segments(window.current_video) == []
    # still usable: the next job runs
    window.files.drop_videos([str(long_video)])
    window.videos_panel.select(str(long_video.resolve()))
    window.label_current()
    wait_idle(qtbot, window)
    assert window.state.segments(str(long_video.resolve()))


def test_closing_the_window_while_a_worker_runs_does_not_hang(make_window, qtbot, long_dataset):
    window = prepared(make_window, long_dataset, Engine())
    start_and_wait_for_video_progress(qtbot, window)
    asked = WhenShown(QMessageBox, click_button(QUIT))  # quitting asks first; the user quits
    t0 = time.monotonic()
    assert window.close()
    assert time.monotonic() - t0 < 3.0
    assert asked.done and not window.runner.busy and not window.isVisible()


def test_a_job_gets_the_gil_back_to_the_gui_thread_within_a_millisecond(qtbot):
    """While a worker runs, the interpreter's switch interval is 1 ms (a Python-bound worker cost the GUI thread
    5 ms per wait, many times per painted frame); afterwards it is what it was."""
    before = sys.getswitchinterval()
    runner = JobRunner()
    seen = []
    runner.start("probe", lambda progress, cancel: sys.getswitchinterval(), on_done=seen.append)
    qtbot.waitUntil(lambda: not runner.busy, timeout=5000)
    assert seen and seen[0] <= 0.001 < before
    assert sys.getswitchinterval() == before


def test_a_loaded_model_is_left_out_of_the_collectors_full_passes(tmp_path):
    """The engine freezes what exists once a model is loaded: a full collection (which holds the GIL, and so the
    GUI thread) scanned the model's, the libraries' and the window's objects for 0.3 s."""
    engine = Engine(cache_dir=tmp_path)
    engine._load(ModelChoice(), lambda done, total, message: None)
    model = engine._model
    collected = {id(o) for o in gc.get_objects()}  # every generation the collector scans
    assert id(model) not in collected and id(model.backbone) not in collected
    assert gc.get_freeze_count() > 0
    replaced = weakref.ref(model)
    del model
    engine._load(ModelChoice(device="cpu"), lambda done, total, message: None)  # another choice: a reload
    assert replaced() is None  # a frozen model is still freed once nothing refers to it
