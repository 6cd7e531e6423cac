"""Stale state: labels made with other settings or prototypes say so above the player, with Re-label now; the
status bar says whether the prototypes are current and keeps the last job's result; quitting while a job runs
asks first, and cancels it cleanly when the user quits."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from star_app.views.quit_question import KEEP, QUIT
from tests.app.conftest import ACTIONS, WhenShown, click_button, clips, edit_settings, wait_idle


def make_project(window, data) -> str:
    for action in ACTIONS:
        window.files.drop_examples([str(p) for p in clips(data, action)])
    return window.files.drop_videos([str(data / "long" / "long_000.mp4")])[0]


def test_labels_made_with_other_settings_are_stale_until_relabel_now(make_window, qtbot, dataset, shared_engine,
                                                                   tmp_path):
    window = make_window(shared_engine)
    make_project(window, dataset)
    notices = window.notices
    assert "not built yet" in window.prototypes_status.text()
    window.menu_actions["label"].trigger()
    wait_idle(qtbot, window)
    assert window.last_message == ("", ""), window.last_message
    assert not notices.stale_box.isVisible()
    assert window.prototypes_status.text().startswith("Prototypes up to date: 4 examples")

    rate = window.project_settings.labeling.rate + 1.0
    edit_settings(window, qtbot, lambda dialog: dialog.rate.setValue(rate))
    qtbot.waitUntil(notices.stale_box.isVisible, timeout=2000)
    assert "labeling settings changed" in notices.stale_text.text()
    assert notices.relabel_button.isVisible() and notices.relabel_button.text() == "Re-label now"

    qtbot.mouseClick(notices.relabel_button, Qt.MouseButton.LeftButton)
    assert window.runner.busy
    wait_idle(qtbot, window)
    assert window.last_message == ("", ""), window.last_message
    assert not notices.stale_box.isVisible()

    window.jobs.keep_checkpoint(tmp_path / "run-1" / "best.safetensors")  # what Keep does after a retrain
    assert notices.stale_box.isVisible() and "the model changed" in notices.stale_text.text()
    assert window.prototypes_status.text().startswith("Prototypes out of date")
    window.menu_actions["undo"].trigger()
    assert not notices.stale_box.isVisible()


def test_prototypes_status_follows_the_examples(make_window, qtbot, dataset, shared_engine):
    window = make_window(shared_engine)
    status = window.prototypes_status
    assert status.isVisible() and status.text() == "No prototypes: no actions yet"
    make_project(window, dataset)
    assert status.text() == "Prototypes not built yet (4 examples)"
    window.menu_actions["build"].trigger()
    wait_idle(qtbot, window)
    assert status.text() == "Prototypes up to date: 4 examples"
    window.action_editor.examples.setCurrentRow(0)
    qtbot.mouseClick(window.action_editor.remove_button, Qt.MouseButton.LeftButton)
    assert status.text() == "Prototypes out of date (3 examples)"
    window.menu_actions["undo"].trigger()
    assert status.text() == "Prototypes up to date: 4 examples"


def test_the_last_job_result_stays_in_the_status_bar(make_window, qtbot, dataset, shared_engine):
    window = make_window(shared_engine)
    make_project(window, dataset)
    window.menu_actions["label"].trigger()
    wait_idle(qtbot, window)
    result = window.last_result
    assert result.isVisible() and result.text().startswith("Last job: Labeled 1 video(s)")
    for message in ("Saved somewhere", "Select a segment on the timeline first"):
        window.show_status(message)  # later messages replace the temporary one, not the job's result
    window.statusBar().clearMessage()
    assert result.text().startswith("Last job: Labeled 1 video(s)")
    window.menu_actions["build"].trigger()
    window.escape()
    wait_idle(qtbot, window)
    assert result.text().startswith("Last job: Building prototypes") or "Prototypes built" in result.text()


def test_quitting_while_a_job_runs_asks_and_cancels_it(make_window, qtbot, long_dataset):
    window = make_window()
    video = make_project(window, long_dataset)
    window.menu_actions["label"].trigger()
    assert window.runner.busy
    asked = WhenShown(QMessageBox, click_button(KEEP))
    window.menu_actions["quit"].trigger()
    qtbot.waitUntil(lambda: asked.done, timeout=5000)
    assert asked.seen[0].text().startswith("Labeling is running")
    assert window.isVisible() and window.runner.busy

    quit_box = WhenShown(QMessageBox, click_button(QUIT))
    window.menu_actions["quit"].trigger()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=15000)
    assert quit_box.done and not window.runner.busy
    assert window.state.segments(video) == []  # the cancelled job wrote nothing
