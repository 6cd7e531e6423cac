"""Settings > Retrain through the real widgets: the Settings dialog (its step count and Retrain button),
the job in the worker thread with the status-bar progress and Cancel, the Keep / Discard message box,
and the settings it leaves behind. Training runs for real (star-tiny on CPU, a few steps)."""
from __future__ import annotations

import copy
import os
import re
import shutil
import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from star_app.project import to_dict
from star_app.views.settings_dialog import SettingsDialog
from star_model.data.label_csv import read_segments_csv
from star_model.nn.checkpoint import read_checkpoint
from star_model.nn.factory import create_model
from star_model.schema import SOURCE_MANUAL
from tests.app.conftest import ACTIONS, StallProbe, clips, wait_idle

STEPS = 4


def make_project(window, dataset: Path, long_video: Path) -> None:
    """Two actions of 2 example clips each, the long video, and one confirmed (manual) segment per action
    taken from the video's ground truth: 3 clips per action, so one of each is held out for validation."""
    for action in ACTIONS:
        window.files.drop_examples([str(p) for p in clips(dataset, action)])
    video = window.files.drop_videos([str(long_video)])[0]
    truth = read_segments_csv(long_video.with_name(f"{long_video.stem}.segments.csv"))
    confirmed = [replace(next(s for s in truth if s.label == a), source=SOURCE_MANUAL) for a in ACTIONS]
    window.state.set_segments(video, "Confirm segments", lambda segs: segs.extend(confirmed))
    assert [s.source for s in window.state.segments(video)] == [SOURCE_MANUAL, SOURCE_MANUAL]


def retrain_from_settings(window, qtbot, steps: int) -> None:
    """Open Settings (modal), set the step count, press Retrain…; returns once the job has started."""
    seen = []

    def press() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, SettingsDialog)
        seen.append(dialog)
        dialog.retrain_steps.setValue(steps)
        qtbot.mouseClick(dialog.retrain_button, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, press)
    window.menu_actions["settings"].trigger()  # SettingsDialog.exec() until Retrain… closes it
    assert seen, "the Settings dialog did not open"
    assert window.runner.busy and window.runner.name == "Retraining"


def retrain_box(window) -> QMessageBox:
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible() and b.windowTitle() == "Retrain finished"]
    assert len(boxes) == 1, window.last_message
    return boxes[0]


def snapshot(window) -> tuple:
    """(app settings, the whole project as saved, unsaved-edits flag)."""
    return copy.deepcopy(window.settings.__dict__), to_dict(window.state.project), window.state.dirty


def without_settings(saved: dict) -> dict:
    """A saved project without its settings."""
    return {k: v for k, v in saved.items() if k != "settings"}


def runs() -> list[Path]:
    """The retrain run folders (the project is not saved: they live in the app's config dir)."""
    training = Path(os.environ["STAR_APP_CONFIG_DIR"]) / "training"
    return sorted(training.iterdir()) if training.is_dir() else []


def run_retrain(window, qtbot, steps: int = STEPS) -> tuple[QMessageBox, list]:
    progress = []
    window.runner.progress.connect(lambda done, total, _msg: progress.append((done, total)))
    retrain_from_settings(window, qtbot, steps)
    assert window.job_status.isVisible()
    wait_idle(qtbot, window, timeout_s=60)
    qtbot.waitUntil(lambda: window.last_message[0] == "Retrain finished", timeout=5000)
    return retrain_box(window), progress


def test_retrain_keep_then_discard(make_window, qtbot, dataset, long_video, shared_engine):
    window = make_window(shared_engine)
    make_project(window, dataset, long_video)
    before = snapshot(window)
    t0 = time.monotonic()
    box, progress = run_retrain(window, qtbot)
    # the progress reached the last step, in the job list and in the status-bar bar
    assert progress[-1] == (STEPS, STEPS)
    assert (window.job_status.bar.value(), window.job_status.bar.maximum()) == (STEPS, STEPS)
    # the user sees the validation accuracy on the held-out clips (one confirmed segment + examples per action)
    text = box.text()
    m = re.search(r"Validation accuracy on the same (\d+) held-out clip\(s\): fine-tuned (\d+\.\d) %, current "
                  r"model (\d+\.\d) %\.\nTrained (\d+) steps", text)
    assert m, text
    assert int(m[1]) == len(ACTIONS) and 0.0 <= float(m[2]) <= 100.0 and 0.0 <= float(m[3]) <= 100.0
    assert int(m[4]) == STEPS
    assert window.last_result.text() == f"Last job: Retrained {STEPS} steps; keep or discard the fine-tuned model"
    assert window.project_settings.retrain_steps == STEPS  # the step count is a setting of the project

    # Keep: the project switches to the fine-tuned checkpoint, which exists and loads
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    assert box.button(QMessageBox.StandardButton.Yes).text() == "Keep"
    kept = Path(window.project_settings.model.checkpoint)
    assert window.project_settings.model.source == "checkpoint" and kept.is_file() and kept.suffix == ".safetensors"
    cfg, state, meta = read_checkpoint(kept)
    assert cfg.name == "star-tiny" and meta.get("kind") == "star-train" and state
    model = create_model(cfg.name, device="cpu", checkpoint=kept)
    assert model.cfg.name == "star-tiny"
    # the rest of the project is untouched; only its settings changed, and the user's did not
    assert without_settings(snapshot(window)[1]) == without_settings(before[1])
    assert snapshot(window)[0] == before[0]
    kept_bytes = kept.read_bytes()
    after_keep = copy.deepcopy(window.project_settings)
    first_s = time.monotonic() - t0

    # a second retrain (now from the kept checkpoint), discarded: settings and the kept file stay as they were
    box, progress = run_retrain(window, qtbot)
    assert progress[-1] == (STEPS, STEPS)
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.No), Qt.MouseButton.LeftButton)
    assert box.button(QMessageBox.StandardButton.No).text() == "Discard"
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=2000)
    assert window.project_settings == after_keep
    assert kept.read_bytes() == kept_bytes, "the discarded run overwrote the kept checkpoint"
    assert window.statusBar().currentMessage() == "Fine-tuned model discarded"
    assert runs() == [kept.parent]  # the discarded run's folder is gone, the kept one stays
    window.new_project()  # the fine-tuned model is this project's: a new project starts from the defaults
    assert window.project_settings.model.source == "bundled"
    print(f"\n[retrain] first retrain + keep: {first_s:.1f} s")


def test_gui_thread_stays_responsive_while_retraining(make_window, qtbot, dataset, long_video, shared_engine,
                                                      capsys):
    """The stall probe through a retrain (embedding the clips, training, validating, writing the checkpoint)
    with the player playing the video, as the labeling probe of test_flow does for load, build and label."""
    window = make_window(shared_engine)
    make_project(window, dataset, long_video)
    window.player.play()
    probe = StallProbe()
    # from the moment the job runs (opening and closing the Settings dialog is the user's, not the job's)
    window.runner.started.connect(probe.start)
    t0 = time.monotonic()
    box, progress = run_retrain(window, qtbot, steps=12)
    job_s = time.monotonic() - t0
    playing = window.player.playing
    window.player.pause()
    probe.stop()
    assert progress and progress[-1][1] == 12 and playing
    box.button(QMessageBox.StandardButton.No).click()
    with capsys.disabled():
        print(f"\n[responsiveness] longest GUI-thread stall while retraining 12 steps (player playing): "
              f"{probe.longest_ms} ms ({probe.ticks} probe ticks of 10 ms; the job took {job_s:.1f} s)")
    assert probe.ticks >= job_s * 100 * 0.5
    # bench/gui_stall.py measures #11's 50 ms goal over 5 fresh runs (23-34 ms); inside the whole suite, on a
    # shared CI machine, this bound catches a frozen window (359 ms before the collector and GIL fixes)
    assert probe.longest_ms < 200


def test_cancel_retrain_stops_quickly_and_changes_nothing(make_window, qtbot, dataset, long_video, shared_engine):
    window = make_window(shared_engine)
    make_project(window, dataset, long_video)
    before = snapshot(window)
    before[1]["settings"]["retrain_steps"] = 5000  # the step count typed in the dialog (a long run, to cancel)
    steps = []
    window.runner.progress.connect(lambda done, total, _msg: steps.append(done))
    retrain_from_settings(window, qtbot, 5000)
    qtbot.waitUntil(lambda: any(s > 0 for s in steps), timeout=30000)  # training steps are running
    t0 = time.monotonic()
    qtbot.mouseClick(window.job_status.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=2000)
    assert time.monotonic() - t0 < 2.0
    assert max(steps) < 5000
    assert window.statusBar().currentMessage() == "Retraining cancelled"
    assert not [b for b in window.findChildren(QMessageBox) if b.isVisible()]  # no Keep / Discard question
    assert window.last_message == ("", "")
    after = snapshot(window)
    assert after[0] == before[0] and after[1] == before[1]
    assert not window.job_status.isVisible()
    assert runs() == []  # the cancelled run's files are removed


def test_failed_retrain_shows_a_readable_message_and_app_stays_usable(make_window, qtbot, dataset, long_video,
                                                                      shared_engine, tmp_path):
    window = make_window(shared_engine)
    make_project(window, dataset, long_video)
    gone = tmp_path / "gone_clip.mp4"
    shutil.copy(clips(dataset, ACTIONS[0])[0], gone)
    window.files.drop_examples([str(gone)], ACTIONS[0])
    gone.unlink()
    before = snapshot(window)
    retrain_from_settings(window, qtbot, STEPS)
    wait_idle(qtbot, window, timeout_s=60)
    title, text = window.last_message
    assert title == "Retraining failed"
    assert "not found" in text and "gone_clip.mp4" in text and "Traceback" not in text and len(text) < 400, text
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert [b.text() for b in boxes] == [text]  # the error box, not the Keep / Discard question
    boxes[0].button(QMessageBox.StandardButton.Ok).click()
    assert runs() == []
    after = snapshot(window)
    assert after[0] == before[0] and without_settings(after[1]) == without_settings(before[1])
    assert after[1]["settings"]["model"] == before[1]["settings"]["model"]
    # still usable: remove the bad example and retrain again
    window.state.remove_example(ACTIONS[0], len(window.state.project.action(ACTIONS[0]).examples) - 1)
    window.last_message = ("", "")
    box, progress = run_retrain(window, qtbot)
    assert progress[-1] == (STEPS, STEPS)
    box.button(QMessageBox.StandardButton.No).click()
