"""A first screen that leads: the three steps (actions → videos → Label) as a checklist that ticks as the project
gets there, commands disabled (with a tooltip saying why) until they can work, a short guide in Help, and the
window title following Save as."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QTextBrowser

from star_app.views.guide_dialog import GuideDialog
from tests.app.conftest import ACTIONS, clips, drop_files, wait_idle

LEFT = Qt.MouseButton.LeftButton


def ticked(window) -> list[bool]:
    return [step.done for step in window.checklist.steps]


def test_the_checklist_leads_from_actions_to_labels(make_window, qtbot, dataset, long_video, shared_engine):
    window = make_window(shared_engine)
    checklist, acts = window.checklist, window.menu_actions
    assert checklist.isVisible() and ticked(window) == [False, False, False]
    assert [s.text.text().split(".")[0][-1] for s in checklist.steps] == ["1", "2", "3"]
    for key in ("build", "label", "label_all", "play", "next", "export"):
        assert not acts[key].isEnabled(), key
    assert "Add an action" in acts["build"].toolTip() and "Add an action" in acts["label"].toolTip()
    assert "Open a video" in acts["play"].toolTip()
    assert not window.player.play_button.isEnabled()
    assert not checklist.label_button.isEnabled() and "Add an action" in checklist.label_button.toolTip()
    assert not window.videos_panel.remove_button.isEnabled()

    drop_files(window.actions_panel, [dataset / ACTIONS[0], dataset / ACTIONS[1]])
    assert ticked(window) == [True, False, False]
    assert acts["build"].isEnabled() and not acts["label"].isEnabled()
    assert "Add a long video" in acts["label"].toolTip()

    drop_files(window.videos_panel, [long_video])
    assert ticked(window) == [True, True, False]
    assert acts["label"].isEnabled() and acts["play"].isEnabled() and checklist.label_button.isEnabled()
    assert window.player.play_button.isEnabled()
    assert window.videos_panel.remove_button.isEnabled()

    qtbot.mouseClick(checklist.label_button, LEFT)
    assert window.runner.busy and not acts["build"].isEnabled()
    assert "Wait for Labeling" in acts["build"].toolTip()
    wait_idle(qtbot, window)
    assert window.last_message == ("", ""), window.last_message
    assert ticked(window) == [True, True, True]
    assert not checklist.isVisible()  # done: the room goes back to the video
    assert acts["build"].isEnabled() and acts["export"].isEnabled()
    window.new_project()
    assert checklist.isVisible() and ticked(window) == [False, False, False]


def test_the_checklist_buttons_open_the_add_dialogs(make_window, qtbot, dataset, long_video, monkeypatch):
    window = make_window()
    picked = iter([([str(p) for p in clips(dataset, ACTIONS[0])], ""), ([str(long_video)], "")])
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *args, **kwargs: next(picked))
    qtbot.mouseClick(window.checklist.actions_button, LEFT)
    qtbot.mouseClick(window.checklist.videos_button, LEFT)
    assert ticked(window) == [True, True, False]


def test_help_opens_a_short_guide(make_window, qtbot):
    window = make_window()
    window.menu_actions["guide"].trigger()
    guide = next(w for w in QApplication.topLevelWidgets() if isinstance(w, GuideDialog) and w.isVisible())
    text = guide.findChild(QTextBrowser).toPlainText()
    for words in ("Actions", "Videos", "Label", "Review", "Ctrl+L", "descriptors.txt"):
        assert words in text, words
    assert len([line for line in text.splitlines() if line.strip()]) >= 5  # a few paragraphs
    guide.close()


def test_save_as_updates_the_window_title(make_window, qtbot, dataset, tmp_path):
    window = make_window()
    window.files.drop_examples([str(p) for p in clips(dataset, ACTIONS[0])])
    assert window.save_as(tmp_path / "first")
    assert "first.star" in window.windowTitle() and " *" not in window.windowTitle().split("—")[0]
    window.files.drop_examples([str(p) for p in clips(dataset, ACTIONS[1])])
    assert window.save_as(tmp_path / "second")
    assert "second.star" in window.windowTitle() and "first" not in window.windowTitle()
