"""Prototypes on disk carry what they were built from: reopening a project never labels with prototypes of
actions it no longer has, and the first Label after reopening works (through the real widgets, a fresh
engine per window as after a restart)."""
from __future__ import annotations

from pathlib import Path

from star_app.project import PROTOTYPES_FILE, prototypes_key
from star_app.provenance import prototype_key
from star_app.services.engine import Engine
from tests.app.conftest import ACTIONS, clips, wait_idle


def counting(engine: Engine) -> list[int]:
    """Count the engine's prototype builds."""
    builds: list[int] = []
    build = engine.build

    def counted(*args, **kwargs):
        builds.append(1)
        return build(*args, **kwargs)
    engine.build = counted
    return builds


def label(qtbot, window) -> None:
    window.remember("", "")
    window.menu_actions["label"].trigger()
    wait_idle(qtbot, window)
    assert window.last_message == ("", ""), window.last_message


def test_reopened_prototypes_are_used_when_current_and_rebuilt_when_stale(make_window, qtbot, dataset, long_video,
                                                                         tmp_path):
    cache = tmp_path / "features"
    window = make_window(Engine(cache_dir=cache))
    for action in ACTIONS:
        window.files.drop_examples([str(p) for p in clips(dataset, action)])
    window.files.drop_videos([str(long_video)])
    assert window.save_as(tmp_path / "p")
    folder = window.state.project.folder
    window.menu_actions["build"].trigger()
    wait_idle(qtbot, window)
    assert prototypes_key(folder / PROTOTYPES_FILE) == window.jobs.job_input().signature
    assert not window.state.dirty  # the key is in the prototypes file: building is not an edit to save
    window.close()

    # reopened (a new engine, as after a restart): the saved prototypes are current, the first Label works
    window = make_window(Engine(cache_dir=cache))
    builds = counting(window.engine)
    window.open_project(folder)
    assert window.prototypes_status.text().startswith("Prototypes up to date"), window.prototypes_status.text()
    label(qtbot, window)
    assert not builds and window.state.results[str(long_video.resolve())].names == ACTIONS

    # edit the actions, build (the file is rewritten at once), quit without saving
    window.state.delete_action(ACTIONS[1])
    window.menu_actions["build"].trigger()
    wait_idle(qtbot, window)
    stale = prototypes_key(folder / PROTOTYPES_FILE)
    window.close()  # the edit is discarded (the tests answer Discard)

    window = make_window(Engine(cache_dir=cache))
    builds = counting(window.engine)
    window.open_project(folder)
    assert [a.name for a in window.state.project.actions] == ACTIONS
    assert stale != prototype_key(window.state.project, "cpu")
    assert window.prototypes_status.text().startswith("Prototypes out of date"), window.prototypes_status.text()
    label(qtbot, window)
    assert builds == [1] and window.state.results[str(long_video.resolve())].names == ACTIONS
    assert prototypes_key(Path(folder) / PROTOTYPES_FILE) == prototype_key(window.state.project, "cpu")
