"""Editing actions, stage descriptors and timeline segments through the real widgets, menus and shortcuts;
every edit is undone with Ctrl+Z (and redone with Ctrl+Shift+Z) back to the exact previous project state.

Dialogs (QInputDialog, QColorDialog, Settings) and popup menus are the real ones, driven by ``WhenShown``;
"Generate" asks a real HTTP chat endpoint on 127.0.0.1 served by this module.
"""
from __future__ import annotations

import copy
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QContextMenuEvent
from PySide6.QtWidgets import (QApplication, QColorDialog, QDialogButtonBox, QInputDialog, QLineEdit, QMenu,
                               QMessageBox)

from star_app.project import PALETTE
from star_app.views.settings_dialog import SettingsDialog
from star_app.views.timeline import RULER_H
from star_model.schema import BACKGROUND, SOURCE_MANUAL, SOURCE_MODEL, ClipRef, Segment
from tests.app.conftest import WhenShown, choose, redo, shortcut, undo, wait_idle

LEFT = Qt.MouseButton.LeftButton
CTRL = Qt.KeyboardModifier.ControlModifier
VIDEO = "/videos/street.mp4"  # segments of a video the actions tests never open


# --- helpers ---------------------------------------------------------------------------------------
def snapshot(window):
    """The parts of the project the edits touch, deep-copied."""
    project = window.state.project
    return copy.deepcopy(project.actions), copy.deepcopy(project.annotations)


def rows(window) -> list[tuple[str, str]]:
    """The actions panel as shown: (action name, colour of its icon) per row."""
    lst = window.actions_panel.list
    return [(lst.item(i).data(Qt.ItemDataRole.UserRole),
             lst.item(i).icon().pixmap(14, 14).toImage().pixelColor(7, 7).name()) for i in range(lst.count())]


def row_pos(window, name: str) -> QPoint:
    lst = window.actions_panel.list
    row = next(i for i in range(lst.count()) if lst.item(i).data(Qt.ItemDataRole.UserRole) == name)
    return lst.visualItemRect(lst.item(row)).center()


def action_menu(window, name: str) -> None:
    """Right-click an action's row (a real context menu event; its menu blocks until closed)."""
    viewport = window.actions_panel.list.viewport()
    pos = row_pos(window, name)
    QApplication.sendEvent(viewport, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, viewport.mapToGlobal(pos)))


def type_into_input(qtbot, text: str):
    def handle(dialog: QInputDialog) -> None:
        edit = dialog.findChild(QLineEdit)
        edit.selectAll()
        qtbot.keyClicks(edit, text)
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    return handle


def ok_button(dialog) -> object:
    return dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)


@pytest.fixture
def actions_window(make_window):
    """Two actions (not rendered: no file is read) and a video's segments labeled with them."""
    window = make_window()
    state = window.state
    state.add_action("wave", [ClipRef("/clips/wave_1.mp4"), ClipRef("/clips/wave_2.mp4", 0.5, 2.0)])
    state.add_action("jump", [ClipRef("/clips/jump_1.mp4")])
    state.update_action("wave", "descriptors", descriptors=["raise the arm", "wave", "lower the arm"])
    state.set_segments(VIDEO, "segments", lambda segs: segs.extend([
        Segment("wave", 0.0, 2.0, 0, 50, 0.8), Segment(BACKGROUND, 2.0, 3.0, 50, 75, 0.9),
        Segment("jump", 3.0, 5.0, 75, 125, 0.7), Segment("wave", 5.0, 6.0, 125, 150, 0.6)]))
    state.undo_stack.clear()
    assert rows(window) == [("wave", PALETTE[0]), ("jump", PALETTE[1])]
    return window


# --- actions ---------------------------------------------------------------------------------------
def test_rename_an_action_from_its_context_menu_relabels_its_segments_undo_redo(actions_window, qtbot):
    window = actions_window
    before = snapshot(window)
    seen = WhenShown(QMenu, choose("Rename…"))
    dialog = WhenShown(QInputDialog, type_into_input(qtbot, "wave hello"))
    action_menu(window, "wave")
    qtbot.waitUntil(lambda: dialog.done and window.state.project.action("wave hello") is not None, timeout=5000)
    assert seen.done
    assert [a.name for a in window.state.project.actions] == ["wave hello", "jump"]
    assert [s.label for s in window.state.segments(VIDEO)] == ["wave hello", BACKGROUND, "jump", "wave hello"]
    assert window.state.project.action("wave hello").examples == before[0][0].examples  # only the name changed
    assert rows(window)[0] == ("wave hello", PALETTE[0])
    assert window.actions_panel.current == "wave hello" and window.action_editor.title.text() == "wave hello"

    undo(qtbot, window)  # the rename and the relabeling are one step
    assert snapshot(window) == before
    assert [r[0] for r in rows(window)] == ["wave", "jump"]
    redo(qtbot, window)
    assert [a.name for a in window.state.project.actions] == ["wave hello", "jump"]
    assert [s.label for s in window.state.segments(VIDEO)] == ["wave hello", BACKGROUND, "jump", "wave hello"]
    undo(qtbot, window)
    assert snapshot(window) == before


def test_rename_by_double_click_refuses_a_taken_name(actions_window, qtbot, monkeypatch):
    window = actions_window
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warnings.append(a[2]))
    before, steps = snapshot(window), window.state.undo_stack.count()
    dialog = WhenShown(QInputDialog, type_into_input(qtbot, "jump"))
    viewport, pos = window.actions_panel.list.viewport(), row_pos(window, "wave")
    qtbot.mouseClick(viewport, LEFT, pos=pos)  # QTest's double click is the second click's events only
    qtbot.mouseDClick(viewport, LEFT, pos=pos)
    assert dialog.done
    assert warnings == ["There is already an action called 'jump'."]
    assert snapshot(window) == before and window.state.undo_stack.count() == steps


def test_recolour_an_action_from_its_context_menu_undo_redo(actions_window, qtbot):
    window = actions_window
    before = snapshot(window)

    def pick(dialog: QColorDialog) -> None:
        assert dialog.currentColor().name() == PALETTE[1]  # starts from the action's colour
        dialog.setCurrentColor(QColor("#123456"))
        qtbot.mouseClick(ok_button(dialog), LEFT)

    dialog = WhenShown(QColorDialog, pick)
    menu = WhenShown(QMenu, choose("Colour…"))
    action_menu(window, "jump")
    qtbot.waitUntil(lambda: window.state.project.action("jump").color == "#123456", timeout=5000)
    assert menu.done and dialog.done
    assert rows(window) == [("wave", PALETTE[0]), ("jump", "#123456")]
    undo(qtbot, window)
    assert snapshot(window) == before
    assert rows(window) == [("wave", PALETTE[0]), ("jump", PALETTE[1])]
    redo(qtbot, window)
    assert rows(window) == [("wave", PALETTE[0]), ("jump", "#123456")]


def test_delete_an_action_from_its_context_menu_asks_first_undo_redo(actions_window, qtbot, monkeypatch):
    window = actions_window
    before = snapshot(window)
    # the conftest answers every question with Discard (not Yes): nothing is deleted
    menu = WhenShown(QMenu, choose("Delete"))
    action_menu(window, "wave")
    qtbot.waitUntil(lambda: menu.done, timeout=5000)
    qtbot.wait(50)
    assert snapshot(window) == before
    questions = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: questions.append(a[2]) or QMessageBox.StandardButton.Yes)
    menu = WhenShown(QMenu, choose("Delete"))
    action_menu(window, "wave")
    qtbot.waitUntil(lambda: window.state.project.action("wave") is None, timeout=5000)
    assert menu.done
    assert questions == ["Delete the action 'wave' and its examples?"]
    assert rows(window) == [("jump", PALETTE[1])]
    undo(qtbot, window)
    assert snapshot(window) == before
    assert [r[0] for r in rows(window)] == ["wave", "jump"]
    redo(qtbot, window)
    assert [a.name for a in window.state.project.actions] == ["jump"]


# --- stage descriptors ----------------------------------------------------------------------------
def select_action(window, qtbot, name: str) -> None:
    qtbot.mouseClick(window.actions_panel.list.viewport(), LEFT, pos=row_pos(window, name))
    assert window.action_editor.action == name


def test_edit_descriptors_and_apply_undo_redo(actions_window, qtbot):
    window = actions_window
    editor = window.action_editor
    select_action(window, qtbot, "wave")
    assert editor.descriptors.toPlainText() == "raise the arm\nwave\nlower the arm"
    steps = window.state.undo_stack.count()
    qtbot.mouseClick(editor.apply_button, LEFT)  # nothing edited: no undo step
    assert window.state.undo_stack.count() == steps

    qtbot.mouseClick(editor.descriptors.viewport(), LEFT)
    qtbot.keyClick(editor.descriptors, Qt.Key.Key_A, CTRL)
    for k, line in enumerate(["hand up", "", "  hand waves  ", "hand down"]):
        if k:
            qtbot.keyClick(editor.descriptors, Qt.Key.Key_Return)
        qtbot.keyClicks(editor.descriptors, line)
    assert window.state.project.action("wave").descriptors == ["raise the arm", "wave", "lower the arm"]  # not yet
    qtbot.mouseClick(editor.apply_button, LEFT)
    assert window.state.project.action("wave").descriptors == ["hand up", "hand waves", "hand down"]
    assert editor.descriptors.toPlainText() == "hand up\nhand waves\nhand down"

    undo(qtbot, window)
    assert window.state.project.action("wave").descriptors == ["raise the arm", "wave", "lower the arm"]
    assert editor.descriptors.toPlainText() == "raise the arm\nwave\nlower the arm"
    redo(qtbot, window)
    assert editor.descriptors.toPlainText() == "hand up\nhand waves\nhand down"


class ChatHandler(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat completions endpoint that always answers three lines."""

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append((self.path, body, self.headers.get("Authorization")))
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        payload = json.dumps({"choices": [{"message": {"content": "line1\nline2\nline3"}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def chat_server(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChatHandler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def configure_llm(window, qtbot, url: str, model: str = "", key: str = "") -> None:
    """Type the chat endpoint into the real Settings dialog (Project > Settings…) and press OK."""
    def fill(dialog: SettingsDialog) -> None:
        for edit, text in ((dialog.llm_url, url), (dialog.llm_model, model), (dialog.llm_key, key)):
            edit.clear()
            qtbot.keyClicks(edit, text)
        qtbot.mouseClick(ok_button(dialog), LEFT)

    dialog = WhenShown(SettingsDialog, fill)
    window.menu_actions["settings"].trigger()
    assert dialog.done
    assert window.settings.llm_url == url


def generate(window, qtbot, name: str) -> None:
    """Generate, then Apply (the project takes the descriptors only then)."""
    select_action(window, qtbot, name)
    before = list(window.state.project.action(name).descriptors)
    qtbot.mouseClick(window.action_editor.generate_button, LEFT)
    assert window.runner.busy and window.runner.name == "Generating descriptors"
    wait_idle(qtbot, window, timeout_s=20)
    assert window.state.project.action(name).descriptors == before
    qtbot.mouseClick(window.action_editor.apply_button, LEFT)


def test_generate_descriptors_from_a_local_chat_endpoint(actions_window, qtbot, chat_server):
    window = actions_window
    url = f"http://127.0.0.1:{chat_server.server_address[1]}/v1"
    configure_llm(window, qtbot, url, "tiny-llm", "sk-test")
    before = snapshot(window)
    generate(window, qtbot, "jump")
    assert window.action_editor.descriptors.toPlainText() == "line1\nline2\nline3"
    assert window.state.project.action("jump").descriptors == ["line1", "line2", "line3"]
    [(path, body, auth)] = chat_server.requests
    assert path == "/v1/chat/completions" and body["model"] == "tiny-llm" and auth == "Bearer sk-test"
    assert "'jump'" in body["messages"][-1]["content"]
    assert window.last_message == ("", "") and "from llm" in window.statusBar().currentMessage()
    undo(qtbot, window)
    assert snapshot(window) == before
    assert window.action_editor.descriptors.toPlainText() == ""


def test_generate_without_an_endpoint_gives_the_templates(actions_window, qtbot):
    window = actions_window
    assert window.settings.llm_url == ""
    generate(window, qtbot, "jump")
    expected = ["the start of jump", "jump in progress", "the end of jump"]
    assert window.state.project.action("jump").descriptors == expected
    assert window.action_editor.descriptors.toPlainText() == "\n".join(expected)
    assert window.last_message == ("", "") and "from template" in window.statusBar().currentMessage()


def test_generate_with_the_endpoint_down_falls_back_to_templates_and_says_why(actions_window, qtbot):
    window = actions_window
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    configure_llm(window, qtbot, f"http://127.0.0.1:{port}/v1")
    generate(window, qtbot, "jump")
    assert window.action_editor.descriptors.toPlainText() == \
        "the start of jump\njump in progress\nthe end of jump"
    title, text = window.last_message
    assert title == "No descriptors from the LLM endpoint"
    assert f"cannot reach LLM endpoint http://127.0.0.1:{port}/v1/chat/completions" in text
    assert "is the server running?" in text and "template descriptors of jump were used instead" in text
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible() and b.windowTitle() == title]
    assert len(boxes) == 1
    boxes[0].close()
    generate(window, qtbot, "wave")  # the app carries on
    assert window.state.project.action("wave").descriptors[0] == "the start of wave"


# --- timeline ---------------------------------------------------------------------------------------
@pytest.fixture
def timeline_window(make_window, long_video, qtbot):
    """The 24 s video on the timeline with four model segments: wave | background | jump | wave."""
    window = make_window()
    window.state.add_action("wave", [])
    window.state.add_action("jump", [])
    video = window.files.drop_videos([str(long_video)])[0]
    assert window.current_video == video and window.current.fps == 25.0
    end = window.state.project.video(video).duration_s
    spans = [("wave", 0.0, 6.0), (BACKGROUND, 6.0, 10.0), ("jump", 10.0, 16.0), ("wave", 16.0, end)]
    window.state.set_segments(video, "segments", lambda segs: segs.extend(
        Segment(label, a, b, round(a * 25), round(b * 25), 0.6, SOURCE_MODEL) for label, a, b in spans))
    window.state.undo_stack.clear()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    return window


def segments(window) -> list[Segment]:
    return copy.deepcopy(window.state.segments(window.current_video))


def band_point(tl, t: float) -> QPoint:
    """Where time ``t`` is on the timeline's segment band."""
    return QPoint(round(tl.x_of(t)), (RULER_H + tl.height()) // 2)


def click_segment(window, qtbot, t: float) -> None:
    qtbot.mouseClick(window.timeline, LEFT, pos=band_point(window.timeline, t))


def test_click_selects_and_dragging_an_edge_moves_it_undo_redo(timeline_window, qtbot):
    window, tl = timeline_window, timeline_window.timeline
    before = segments(window)
    click_segment(window, qtbot, 3.0)
    assert tl.selected == 0 and window.current.time == 0.0  # selecting does not seek
    start, target = band_point(tl, 6.0), band_point(tl, 8.2)
    qtbot.mousePress(tl, LEFT, pos=start)
    qtbot.mouseMove(tl, pos=target)
    assert segments(window) == before  # the drag only previews
    qtbot.mouseRelease(tl, LEFT, pos=target)
    t = round(tl.t_of(target.x()) * 25) / 25  # where it was dropped, on a frame
    assert abs(t - 8.2) < 0.1
    after = segments(window)
    assert (after[0].end_s, after[0].end_frame, after[0].source) == (t, round(t * 25), SOURCE_MANUAL)
    assert (after[1].start_s, after[1].start_frame, after[1].source) == (t, round(t * 25), SOURCE_MANUAL)  # neighbour follows
    assert after[0].start_s == 0.0 and after[1].end_s == 10.0 and after[2:] == before[2:]
    undo(qtbot, window)
    assert segments(window) == before
    redo(qtbot, window)
    assert segments(window) == after


def test_delete_key_deletes_the_selected_segment_undo(timeline_window, qtbot):
    window, tl = timeline_window, timeline_window.timeline
    before = segments(window)
    click_segment(window, qtbot, 8.0)
    assert tl.selected == 1 and QApplication.focusWidget() is tl
    shortcut(qtbot, window, Qt.Key.Key_Delete)
    assert segments(window) == before[:1] + before[2:] and tl.selected == -1
    undo(qtbot, window)
    assert segments(window) == before
    shortcut(qtbot, window, Qt.Key.Key_Delete)  # nothing selected: nothing deleted
    assert segments(window) == before


def test_split_at_the_cursor_undo(timeline_window, qtbot):
    window, tl = timeline_window, timeline_window.timeline
    before = segments(window)
    qtbot.mouseClick(tl, LEFT, pos=QPoint(round(tl.x_of(12.5)), RULER_H // 2))  # click the ruler: seek
    t = window.current.time
    assert abs(t - 12.5) < 0.1 and tl.selected == -1
    shortcut(qtbot, window, Qt.Key.Key_K, CTRL)
    after = segments(window)
    assert after[:2] == before[:2] and after[4:] == before[3:]
    assert after[2] == Segment("jump", 10.0, t, 250, round(t * 25), 0.6, SOURCE_MANUAL)
    assert after[3] == Segment("jump", t, 16.0, round(t * 25), 400, 0.6, SOURCE_MANUAL)
    undo(qtbot, window)
    assert segments(window) == before


def test_relabel_through_the_context_menu_undo(timeline_window, qtbot):
    window, tl = timeline_window, timeline_window.timeline
    before = segments(window)
    pos = band_point(tl, 13.0)
    menu = WhenShown(QMenu, choose("Label as", "wave"))
    QApplication.sendEvent(tl, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, tl.mapToGlobal(pos)))
    qtbot.waitUntil(lambda: segments(window)[2].label == "wave", timeout=5000)
    assert menu.done and tl.selected == 2
    after = segments(window)
    assert (after[2].label, after[2].source) == ("wave", SOURCE_MANUAL)
    assert after[:2] == before[:2] and after[3:] == before[3:]
    undo(qtbot, window)
    assert segments(window) == before


def test_mark_manual_with_m_undo(timeline_window, qtbot):
    window = timeline_window
    before = segments(window)
    click_segment(window, qtbot, 18.0)
    shortcut(qtbot, window, Qt.Key.Key_M, CTRL)
    after = segments(window)
    assert (after[3].source, after[3].confidence) == (SOURCE_MANUAL, 1.0)
    assert after[:3] == before[:3] and (after[3].label, after[3].start_s) == (before[3].label, before[3].start_s)
    undo(qtbot, window)
    assert segments(window) == before
