"""Player, timeline and plot share one CurrentTime: frame-accurate seeking, steps, no feedback loops."""
from __future__ import annotations

import ast
from pathlib import Path

from PySide6.QtCore import QPoint, Qt

from star_app.app import wants_gui
from star_app.views.timeline import RULER_H
from tests.app.conftest import drop_files

APP = Path(__file__).resolve().parents[2] / "star_app"


def test_seek_step_and_sync(make_window, qtbot, long_video):
    window = make_window()
    window.files.drop_videos([str(long_video)])
    current, player = window.current, window.player
    assert current.fps == 25.0 and current.duration > 23
    changes = []
    current.changed.connect(changes.append)
    current.set_time(3.0)
    current.set_time(3.0)
    assert changes == [3.0]  # only real changes are emitted
    qtbot.waitUntil(lambda: player.shown_frame == 75, timeout=5000)
    assert window.plot.cursor.value() == 3.0
    tl = window.timeline
    assert abs(tl.x_of(3.0) - (tl.margins[0] + tl.span_px * 3.0 / current.duration)) < 1

    window.menu_actions["next"].trigger()
    assert current.frame == 76
    window.menu_actions["fwd"].trigger()
    assert current.frame == 101
    window.menu_actions["back"].trigger()
    window.menu_actions["prev"].trigger()
    assert current.frame == 75
    window.menu_actions["end"].trigger()
    assert current.frame == current.last_frame
    qtbot.waitUntil(lambda: player.shown_frame == current.last_frame, timeout=5000)
    window.menu_actions["home"].trigger()
    qtbot.waitUntil(lambda: player.shown_frame == 0, timeout=5000)

    # clicking the timeline seeks (and the player follows, frame-accurately)
    tl = window.timeline
    qtbot.mouseClick(tl, Qt.MouseButton.LeftButton, pos=QPoint(tl.width() // 2, RULER_H // 2))
    assert abs(current.time - tl.t_of(tl.width() // 2)) < 1e-6
    qtbot.waitUntil(lambda: player.shown_frame == current.frame, timeout=5000)
    n, clicked = len(changes), current.time
    tl.zoom(4.0)
    assert tl.view_len < current.duration / 3 and len(changes) == n  # zooming does not move the time

    window.menu_actions["play"].trigger()
    qtbot.wait(400)
    window.menu_actions["play"].trigger()
    assert not player.playing and current.time > clicked + 0.1


def test_example_trim_on_the_player(make_window, dataset):
    window = make_window()
    clip = sorted((dataset / "jump then clap").glob("*.mp4"))[0]
    drop_files(window.actions_panel, [clip])
    window.action_editor.examples.setCurrentRow(0)
    window.action_editor.preview_button.click()
    assert window.action_editor.in_button.isEnabled()
    window.current.set_time(0.4)
    window.action_editor.in_button.click()
    window.current.set_time(1.2)
    window.action_editor.out_button.click()
    example = window.state.project.actions[0].examples[0]
    assert (example.start_s, example.end_s) == (0.4, 1.2)
    window.menu_actions["undo"].trigger()
    assert window.state.project.actions[0].examples[0].end_s is None


def test_command_line_dispatch():
    assert wants_gui([]) and wants_gui(["--demo"])
    assert not wants_gui(["label", "x.mp4"]) and not wants_gui(["--help"]) and not wants_gui(["--version"])


TORCH_FREE = ("star_model.schema", "star_model.errors")  # the shared, torch-free types and errors


def test_only_services_import_torch_or_star_model():
    offenders = []
    for path in APP.rglob("*.py"):
        if "services" in path.relative_to(APP).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("torch", "star_model")
                          and n not in TORCH_FREE]
    assert offenders == []
