"""Trimming examples and bringing actions in: in/out marks on the preview's scrub bar, an in point after the out
point (or a span too short to be an example) refused with a message, Add clips… on an action, an action folder's
``descriptors.txt`` read when the folder is dropped, and descriptor edits (Generate too) kept only on Apply."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFileDialog, QMenu

from star_app.views.scrub_bar import MARK_COLOR
from tests.app.conftest import ACTIONS, WhenShown, choose, clips, drop_files, wait_idle
from tests.app.test_actions_and_timeline import action_menu

LEFT = Qt.MouseButton.LeftButton


def descriptors_of(folder: Path) -> list[str]:
    return [line for line in (folder / "descriptors.txt").read_text().splitlines() if line.strip()]


@pytest.fixture
def previewing(make_window, qtbot, dataset):
    """The first action's first example shown in the player (Preview), ready to trim."""
    window = make_window()
    window.files.drop_examples([str(p) for p in clips(dataset, ACTIONS[0])])
    window.actions_panel.select(ACTIONS[0])
    editor = window.action_editor
    editor.examples.setCurrentRow(0)
    qtbot.mouseClick(editor.preview_button, LEFT)
    assert window.preview == (ACTIONS[0], 0) and editor.in_button.isEnabled()
    return window


def set_at(window, qtbot, t: float, button) -> None:
    window.current.set_time(t)
    qtbot.mouseClick(button, LEFT)


def example(window):
    return window.state.project.action(ACTIONS[0]).examples[0]


def test_the_preview_scrub_bar_shows_the_in_and_out_marks(previewing, qtbot):
    window = previewing
    editor, scrub = window.action_editor, window.player.scrub
    assert scrub.isVisible() and scrub.marks == (None, None)
    set_at(window, qtbot, 0.4, editor.in_button)
    set_at(window, qtbot, 1.2, editor.out_button)
    assert (example(window).start_s, example(window).end_s) == (0.4, 1.2)
    assert scrub.marks == (0.4, 1.2)
    window.current.set_time(2 * window.current.duration / 3)
    image = scrub.grab().toImage()
    for t in (0.4, 1.2):
        x = round(scrub.x_of(t) * image.width() / scrub.width())
        assert QColor(image.pixel(x, image.height() // 2)) == QColor(MARK_COLOR), t
    qtbot.mouseClick(scrub, LEFT, pos=QPoint(scrub.width() // 2, scrub.height() // 2))  # the bar seeks
    assert window.current.time == pytest.approx(window.current.duration / 2, abs=0.1)
    qtbot.mouseClick(editor.clear_button, LEFT)
    assert scrub.marks == (None, None)


def test_an_in_point_after_the_out_point_is_refused_with_a_message(previewing, qtbot):
    window = previewing
    editor = window.action_editor
    set_at(window, qtbot, 0.8, editor.out_button)
    set_at(window, qtbot, 1.5, editor.in_button)  # after the out point
    title, text = window.last_message
    assert title == "Cannot trim the example" and "after the out point" in text, window.last_message
    assert (example(window).start_s, example(window).end_s) == (None, 0.8)
    window.last_message = ("", "")
    set_at(window, qtbot, 0.75, editor.in_button)  # 0.05 s before the out point: too short to be an example
    assert window.last_message[0] == "Cannot trim the example" and "shorter" in window.last_message[1]
    assert (example(window).start_s, example(window).end_s) == (None, 0.8)
    set_at(window, qtbot, 0.3, editor.in_button)
    assert (example(window).start_s, example(window).end_s) == (0.3, 0.8)
    qtbot.mouseClick(editor.clear_button, LEFT)
    window.last_message = ("", "")
    set_at(window, qtbot, window.current.duration - 0.05, editor.in_button)  # 0.05 s before the clip's end
    assert window.last_message[0] == "Cannot trim the example" and "shorter" in window.last_message[1]
    set_at(window, qtbot, 0.0, editor.out_button)  # an out point at the clip's start
    assert "after the out point" in window.last_message[1]
    assert (example(window).start_s, example(window).end_s) == (None, None)


def test_add_clips_to_an_action_from_a_file_dialog(make_window, qtbot, dataset, monkeypatch):
    window = make_window()
    first, second = clips(dataset, ACTIONS[0])
    window.files.drop_examples([str(first)])
    asked = []

    def pick(parent, title, *args, **kwargs):
        asked.append(title)
        return [str(second)], ""
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", pick)
    window.actions_panel.select(ACTIONS[0])
    qtbot.mouseClick(window.action_editor.add_button, LEFT)
    assert asked == [f"More example clips of {ACTIONS[0]}"]
    assert [Path(c.path).name for c in window.state.project.action(ACTIONS[0]).examples] == [first.name, second.name]
    menu = WhenShown(QMenu, choose("Add examples…"))
    action_menu(window, ACTIONS[0])
    qtbot.waitUntil(lambda: len(asked) == 2, timeout=5000)
    assert menu.done and len(window.state.project.action(ACTIONS[0]).examples) == 3


def test_a_dropped_action_folder_brings_its_descriptors(make_window, qtbot, dataset):
    window = make_window()
    folder = dataset / ACTIONS[0]
    drop_files(window.actions_panel, [folder])
    action = window.state.project.action(ACTIONS[0])
    assert action is not None, window.last_message
    assert [Path(c.path).name for c in action.examples] == [p.name for p in clips(dataset, ACTIONS[0])]
    assert action.descriptors == descriptors_of(folder) and len(action.descriptors) >= 2
    assert window.action_editor.descriptors.toPlainText() == "\n".join(action.descriptors)
    window.menu_actions["undo"].trigger()  # one undo step
    assert window.state.project.actions == []
    drop_files(window.actions_panel, [dataset])  # a folder of action folders: every action (long/ is skipped)
    assert [a.name for a in window.state.project.actions] == sorted(ACTIONS)
    assert all(a.descriptors == descriptors_of(dataset / a.name) for a in window.state.project.actions)


def test_descriptor_edits_and_generate_change_the_project_only_on_apply(make_window, qtbot, dataset):
    window = make_window()
    window.files.drop_examples([str(p) for p in clips(dataset, ACTIONS[0])])
    window.actions_panel.select(ACTIONS[0])
    editor = window.action_editor
    assert not editor.apply_button.isEnabled()  # nothing edited
    qtbot.mouseClick(editor.generate_button, LEFT)
    wait_idle(qtbot, window, timeout_s=20)
    lines = [f"the start of {ACTIONS[0]}", f"{ACTIONS[0]} in progress", f"the end of {ACTIONS[0]}"]
    assert editor.descriptors.toPlainText() == "\n".join(lines)
    assert window.state.project.action(ACTIONS[0]).descriptors == []  # not yet
    assert editor.apply_button.isEnabled() and window.state.undo_stack.count() == 1
    qtbot.mouseClick(editor.apply_button, LEFT)
    assert window.state.project.action(ACTIONS[0]).descriptors == lines
    assert not editor.apply_button.isEnabled()


def test_add_actions_from_a_folder_menu(make_window, qtbot, dataset, monkeypatch):
    window = make_window()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(dataset / ACTIONS[1]))
    window.menu_actions["add_folder"].trigger()
    assert [a.name for a in window.state.project.actions] == [ACTIONS[1]]
    assert window.state.project.actions[0].descriptors == descriptors_of(dataset / ACTIONS[1])
