"""A fuzz corpus of project.json and settings files, loaded through the real app code.

The corpus is made here: each bad value the fault-injection run found (an action name that is a list
crashed the app with a segfault, a duration of 1e308 with "Fatal Python error", an int name, int descriptors,
an int example path, a string start time or duration, an infinite duration, a 100k-character name) and
random mutations of a real project with a fixed seed. The projects are opened in a real MainWindow
(offscreen) in a child process, since a crash would kill pytest: it must exit 0, and every file is either
opened or refused with a message naming the bad field.
"""
from __future__ import annotations

import copy
import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from star_app.project import Action, Project, ProjectError, Video, load_project, save_project, to_dict
from star_app.settings import AppSettings, SettingsStore, load_settings, settings_path
from star_model.schema import ClipRef, Segment
from tests.app.conftest import ACTIONS, clips

ROOT = Path(__file__).resolve().parents[2]
RANDOM_CASES = 40
POOL: list[Any] = [None, [], {}, "", "x", -1, 0, 10**30, 1e308, math.inf, -math.inf, math.nan, True, [1, 2],
                   {"a": 1}, "a" * 100_000, 3.5]

# (where in the file, the bad value, the words the refusal must name); where: keys and indices from the top
KNOWN_BAD: list[tuple[tuple, Any, str]] = [
    (("actions", 0, "name"), [1, 2], "actions[0].name is a list"),
    (("videos", 0, "duration_s"), 1e308, "videos[0].duration_s is 1e+308"),
    (("actions", 0, "name"), 7, "actions[0].name is a whole number (7)"),
    (("actions", 0, "descriptors"), 7, "actions[0].descriptors is a whole number (7)"),
    (("actions", 0, "examples", 0, "path"), 7, "actions[0].examples[0].path is a whole number (7)"),
    (("actions", 0, "examples", 0, "start_s"), "1.5", "actions[0].examples[0].start_s is text ('1.5')"),
    (("videos", 0, "duration_s"), "60", "videos[0].duration_s is text ('60')"),
    (("videos", 0, "duration_s"), math.inf, "videos[0].duration_s is inf"),
    (("videos", 0, "fps"), math.nan, "videos[0].fps is nan"),
    (("actions",), {"a": 1}, "actions is an object"),
    (("settings", "labeling", "rate"), 1e308, "settings.labeling.rate is 1e+308"),
]


def base_project(dataset: Path, long_video: Path) -> dict:
    """A real, valid project (its example clips and video exist) as project.json holds it."""
    video = str(long_video)
    actions = [Action(name, f"#{k}0{k}0{k}0", [f"{name} starts", f"{name} ends"],
                      [ClipRef(str(p)) for p in clips(dataset, name)[:1]] + [ClipRef(str(clips(dataset, name)[1]), 0.1, 0.9)])
               for k, name in enumerate(ACTIONS)]
    segments = [Segment(ACTIONS[0], 0.0, 2.0, 0, 50, 0.9, "model"), Segment("background", 2.0, 24.0, 50, 600, 1.0,
                                                                             "manual")]
    project = Project(actions=actions, videos=[Video(video, 24.0, 25.0, 600)], annotations={video: segments})
    return to_dict(project)


def mutate(data: dict, path: tuple, value: Any) -> dict:
    out = copy.deepcopy(data)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def leaves(node: Any, path: tuple = ()) -> list[tuple]:
    """Every place in ``node`` a value sits (containers too)."""
    found = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += leaves(value, path + (key,))
    elif isinstance(node, list):
        for k, value in enumerate(node):
            found += leaves(value, path + (k,))
    return found


def corpus(base: dict) -> list[tuple[dict, str]]:
    """(file content, the words its refusal must name; "" when it may open) for every case."""
    cases = [(mutate(base, where, value), words) for where, value, words in KNOWN_BAD]
    rng = random.Random(14)
    places = [p for p in leaves(base) if p[0] != "schema_version"]
    for _ in range(RANDOM_CASES):
        cases.append((mutate(base, rng.choice(places), rng.choice(POOL)), ""))
    return cases


def write_corpus(folder: Path, cases: list[tuple[dict, str]]) -> list[Path]:
    paths = []
    for k, (data, _) in enumerate(cases):
        path = folder / f"case{k:03d}.star"
        path.mkdir(parents=True)
        (path / "project.json").write_text(json.dumps(data), encoding="utf-8")  # inf and nan as JSON allows them
        paths.append(path)
    return paths


def test_every_bad_value_is_refused_naming_the_field_and_the_value(tmp_path, dataset, long_video):
    base = base_project(dataset, long_video)
    for folder, (_, words) in zip(write_corpus(tmp_path, corpus(base)), corpus(base)[:len(KNOWN_BAD)]):
        with pytest.raises(ProjectError) as info:
            load_project(folder)
        assert words in str(info.value) and "project.json cannot be opened" in str(info.value), str(info.value)


def test_a_long_action_name_is_shortened_with_a_note(tmp_path, dataset, long_video):
    data = mutate(base_project(dataset, long_video), ("actions", 0, "name"), "n" * 100_000)
    (tmp_path / "long.star").mkdir()
    (tmp_path / "long.star" / "project.json").write_text(json.dumps(data))
    project = load_project(tmp_path / "long.star")
    assert len(project.actions[0].name) == 200 and "100000 characters" in project.repairs[0]


def test_undecodable_and_deep_project_files_are_refused(tmp_path):
    for name, raw in (("binary", b"\xff\xfe{}"), ("deep", b"[" * 100_000 + b"]" * 100_000), ("list", b"[]")):
        (tmp_path / f"{name}.star").mkdir()
        (tmp_path / f"{name}.star" / "project.json").write_bytes(raw)
        with pytest.raises(ProjectError):
            load_project(tmp_path / f"{name}.star")


def open_corpus_in_window(folders: list[str]) -> None:
    """(child process) Open every project in one real MainWindow, show its actions and videos; one JSON
    line per file: whether it opened and the last message."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication, QMessageBox

    from star_app.main_window import MainWindow
    from star_app.services.engine import Engine
    from star_app.settings import AppSettings

    app = QApplication.instance() or QApplication([])
    QMessageBox.question = lambda *a, **k: QMessageBox.StandardButton.Discard
    window = MainWindow(Engine(), AppSettings(device="cpu", autosave_s=0, model_chosen=True))
    window.show()
    for folder in folders:
        window.remember("", "")
        window.open_project(Path(folder))
        opened = window.state.project.folder == Path(folder)
        for action in window.state.project.actions:
            window.actions_panel.select(action.name)
            app.processEvents()
        for video in window.state.project.videos:
            window.show_video(video.path)
            app.processEvents()
        window.repaint()
        app.processEvents()
        print(json.dumps({"folder": folder, "opened": opened, "message": list(window.last_message)}), flush=True)
        window.new_project()
    window.close()


def test_the_corpus_opens_in_a_real_window_without_a_crash(tmp_path, dataset, long_video):
    cases = corpus(base_project(dataset, long_video))
    folders = write_corpus(tmp_path / "corpus", cases)
    good = tmp_path / "good.star"
    save_project(Project(), good)
    (good / "project.json").write_text(json.dumps(base_project(dataset, long_video)))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "STAR_APP_CONFIG_DIR": str(tmp_path / "config"),
           "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, __file__, str(good), *map(str, folders)], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=240)
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stderr[-3000:]}"
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == len(folders) + 1
    assert lines[0]["opened"] and lines[0]["message"] == ["", ""], lines[0]
    for line, (_, words) in zip(lines[1:], cases):
        title, text = line["message"]
        if not line["opened"]:
            assert title == "Cannot open project" and "cannot be opened:" in text, line
        if words:
            assert not line["opened"] and words in text, (words, line)
    refused = sum(not line["opened"] for line in lines[1:])
    assert refused >= len(KNOWN_BAD) + RANDOM_CASES // 2, refused  # most random mutations are refused, not crashes


SETTINGS_CASES: list[tuple[str, bytes]] = [
    ("not UTF-8", b'{"device": "\xff\xfe"}'),
    ("a list", b"[1, 2]"),
    ("null", b"null"),
    ("nested deeply", b'{"layout": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    ("a huge integer", json.dumps({"autosave_s": 10**40}).encode()),
    ("a 5000-digit integer", b'{"autosave_s": ' + b"9" * 5000 + b"}"),
    ("wrong types", json.dumps({"device": 3, "recent": "x", "layout": [1], "model_chosen": "yes",
                                "new_project_model": {"source": 5}, "time_as_frames": None}).encode()),
    ("infinite autosave", b'{"autosave_s": Infinity}'),
]


@pytest.mark.parametrize("what,raw", SETTINGS_CASES, ids=[c[0] for c in SETTINGS_CASES])
def test_a_bad_settings_file_gives_the_defaults_with_a_warning_and_is_kept(what, raw, app_dirs, caplog, qtbot):
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    settings = load_settings()
    assert settings == AppSettings(), what
    assert "defaults are used" in caplog.text and str(path) in caplog.text
    assert path.with_name("settings.json.bad").read_bytes() == raw
    store = SettingsStore()  # what the window starts with
    store.update(autosave_s=30)
    assert json.loads(path.read_text())["autosave_s"] == 30


def test_good_fields_of_a_partly_bad_settings_file_are_kept(app_dirs):
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"device": "cpu", "llm_url": "http://127.0.0.1:1/v1", "autosave_s": "often",
                                "recent": ["/a.star", 5]}))
    settings = load_settings()
    assert (settings.device, settings.llm_url, settings.autosave_s, settings.recent) == \
        ("cpu", "http://127.0.0.1:1/v1", 60, [])


STARTS = """
import os, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from star_app.app import main
app = QApplication([])
for config in sys.argv[1:]:
    os.environ["STAR_APP_CONFIG_DIR"] = config
    QTimer.singleShot(300, app.quit)
    print("exit", main([]), flush=True)
"""


def test_star_app_starts_with_each_bad_settings_file(tmp_path):
    """The real entry point (``star-app``'s main), in a child process: the window opens with each bad file
    (a timer closes it), the defaults are used with a warning, no traceback."""
    configs = []
    for k, (_, raw) in enumerate(SETTINGS_CASES):
        configs.append(tmp_path / f"config{k}")
        configs[-1].mkdir()
        (configs[-1] / "settings.json").write_bytes(raw)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "STAR_CACHE_DIR": str(tmp_path / "cache")}
    run = subprocess.run([sys.executable, "-c", STARTS, *map(str, configs)], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=120)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.stdout.split() == ["exit", "0"] * len(SETTINGS_CASES), run.stdout
    assert run.stderr.count("the defaults are used instead") == len(SETTINGS_CASES), run.stderr[-3000:]
    assert all((config / "settings.json.bad").is_file() for config in configs)


if __name__ == "__main__":
    open_corpus_in_window(sys.argv[1:])
