"""Project persistence: round trip, schema version check, atomic writes; settings persistence."""
from __future__ import annotations

import json

import pytest

from star_app.project import SCHEMA_VERSION, Action, Project, ProjectError, Video, load_project, save_project
from star_app.model_setup import ModelSetup
from star_app.settings import AppSettings, SettingsStore, load_settings, save_settings
from star_model.schema import ClipRef, LabelingParams, Segment


def sample() -> Project:
    return Project(
        actions=[Action("wave", "#ff0000", ["raise arm", "wave", "lower arm"],
                        [ClipRef("/v/a.mp4"), ClipRef("/v/b.mp4", 1.5, 3.25)])],
        videos=[Video("/v/long.mp4", 60.0, 25.0, 1500)],
        annotations={"/v/long.mp4": [Segment("wave", 0.0, 2.5, 0, 62, 0.8, "model"),
                                     Segment("background", 2.5, 60.0, 62, 1500, 1.0, "manual")]},
    )


def test_round_trip(tmp_path):
    project = sample()
    folder = save_project(project, tmp_path / "demo")
    assert folder.name == "demo.star" and project.folder == folder and project.name == "demo"
    data = json.loads((folder / "project.json").read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    loaded = load_project(folder)
    for field in ("name", "actions", "videos", "annotations", "settings", "labeled_with", "folder"):
        assert getattr(loaded, field) == getattr(project, field)
    assert load_project(folder / "project.json").actions == project.actions
    assert not [p for p in folder.iterdir() if p.name != "project.json"]


def test_unknown_schema_version_is_refused(tmp_path):
    folder = save_project(sample(), tmp_path / "future")
    data = json.loads((folder / "project.json").read_text())
    data["schema_version"] = SCHEMA_VERSION + 1
    (folder / "project.json").write_text(json.dumps(data))
    with pytest.raises(ProjectError, match=f"schema version {SCHEMA_VERSION + 1}.*newer"):
        load_project(folder)


def test_not_a_project_and_bad_json_are_readable_errors(tmp_path):
    with pytest.raises(ProjectError, match="not a STAR Labeler project"):
        load_project(tmp_path / "nothing")
    folder = tmp_path / "bad.star"
    folder.mkdir()
    (folder / "project.json").write_text("{ not json")
    with pytest.raises(ProjectError, match="not valid JSON"):
        load_project(folder)


def test_a_crash_mid_write_leaves_the_old_file_intact(tmp_path):
    project = sample()
    folder = save_project(project, tmp_path / "safe")
    old = (folder / "project.json").read_bytes()
    project.actions.append(Action(object(), "#000000"))  # type: ignore[arg-type]  # the serializer fails mid-file
    with pytest.raises(ProjectError, match="cannot write"):
        save_project(project, folder)
    assert (folder / "project.json").read_bytes() == old
    assert [p.name for p in folder.iterdir()] == ["project.json"]  # no temp file left behind


def test_a_version_1_project_is_upgraded_and_keeps_its_model(tmp_path):
    folder = save_project(sample(), tmp_path / "old")
    data = json.loads((folder / "project.json").read_text())
    data["schema_version"] = 1
    data["settings"] = {"model": {"model": "star-vitb16", "pretrained": "openai", "checkpoint": None, "device": "cpu"},
                        "labeling": {"rate": 2.0, "trim_rest": False}}
    del data["labeled_with"]
    (folder / "project.json").write_text(json.dumps(data))
    loaded = load_project(folder)
    assert loaded.settings.model == ModelSetup("pretrained", "star-vitb16", "openai")
    assert loaded.settings.labeling == LabelingParams(rate=2.0, trim_rest=False)
    assert loaded.labeled_with == {} and loaded.actions == sample().actions


def test_settings_persist_in_the_config_dir(app_dirs):
    store = SettingsStore(AppSettings(device="cpu", new_project_model=ModelSetup("pretrained", "star-rn50", "openai"),
                                      llm_url="http://127.0.0.1:8080/v1"))
    store.add_recent("/p/one.star")
    store.add_recent("/p/two.star")
    store.add_recent("/p/one.star")
    save_settings(store.settings)
    assert (app_dirs / "config" / "settings.json").is_file()
    loaded = load_settings()
    assert loaded == store.settings and loaded.recent == ["/p/one.star", "/p/two.star"]


def test_tight_examples_checkbox_reaches_the_project_settings_and_the_prototype_key(qtbot, app_dirs):
    from star_app.provenance import prototype_key
    from star_app.views.settings_dialog import SettingsDialog

    project = Project()
    dialog = SettingsDialog(AppSettings(), project.settings, True, {}, "")
    qtbot.addWidget(dialog)
    assert dialog.trim_rest.isChecked()
    dialog.trim_rest.click()
    edited = dialog.result_project()
    assert edited.labeling.trim_rest is False
    before = prototype_key(project, "cpu")
    project.settings = edited
    assert prototype_key(project, "cpu") != before  # rebuilt
    folder = save_project(project, app_dirs / "tight")
    assert load_project(folder).settings.labeling.trim_rest is False
