"""Settings per project: the model, the labeling parameters and the checkpoints belong to the project (saved
in project.json); the application keeps only what is the user's (recent projects, the LLM endpoint, the
window layout); a new project starts from the defaults."""
from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtWidgets import QApplication

from star_app.settings import load_settings
from star_app.views.settings_dialog import SettingsDialog
from tests.app.conftest import edit_settings


def test_labeling_settings_belong_to_the_project_and_a_new_project_starts_from_defaults(make_window, qtbot, tmp_path):
    window = make_window()

    def change(dialog: SettingsDialog) -> None:
        dialog.rate.setValue(2.0)
        dialog.trim_rest.setChecked(False)
        dialog.llm_url.setText("http://127.0.0.1:9/v1")

    edit_settings(window, qtbot, change)
    assert window.project_settings.labeling.rate == 2.0 and not window.project_settings.labeling.trim_rest
    assert window.settings.llm_url == "http://127.0.0.1:9/v1"  # the user's own: application-wide
    assert window.state.dirty  # a project change, saved with the project
    app_file = json.loads((Path(os.environ["STAR_APP_CONFIG_DIR"]) / "settings.json").read_text())
    assert not {"labeling", "model", "checkpoint", "retrain_steps"} & set(app_file)
    assert app_file["new_project_model"]["source"] == "bundled"  # the settings of this project stay in it
    assert window.save_as(tmp_path / "mine")
    saved = json.loads((tmp_path / "mine.star" / "project.json").read_text())["settings"]
    assert saved["labeling"] == {"rate": 2.0, "trim_rest": False}

    window.new_project()
    assert window.project_settings.labeling.rate == 4.0 and window.project_settings.labeling.trim_rest
    assert window.project_settings.model.source == "bundled"
    assert window.settings.llm_url == "http://127.0.0.1:9/v1"
    window.open_project(tmp_path / "mine.star")
    assert window.project_settings.labeling.rate == 2.0


def test_a_settings_change_is_one_undo_step(make_window, qtbot):
    window = make_window()
    edit_settings(window, qtbot, lambda dialog: dialog.rate.setValue(1.0))
    assert window.project_settings.labeling.rate == 1.0
    window.menu_actions["undo"].trigger()
    assert window.project_settings.labeling.rate == 4.0


def test_the_window_layout_is_the_users_and_comes_back(make_window, qtbot):
    window = make_window()
    window.resize(780, 560)  # within the offscreen screen (800 x 600): restoring keeps a window on its screen
    splitter = window.centralWidget()
    splitter.setSizes([250, 530])
    sizes, size = splitter.sizes(), (window.width(), window.height())
    window.close()
    saved = load_settings()
    assert set(saved.layout) == {"geometry", "main", "left", "right"}
    again = make_window(app_settings=saved)
    QApplication.processEvents()
    assert (again.width(), again.height()) == size
    assert again.centralWidget().sizes() == sizes


def test_fast_cpu_features_are_the_users_setting_and_reach_the_jobs(make_window, qtbot):
    window = make_window()
    before = window.jobs.job_input()
    assert not before.model.fast_cpu
    edit_settings(window, qtbot, lambda dialog: dialog.fast_cpu.setChecked(True))
    assert window.store.settings.fast_cpu and load_settings().fast_cpu  # saved with the user's settings
    after = window.jobs.job_input()
    assert after.model.fast_cpu and after.model.device == before.model.device
    assert after.signature != before.signature  # other features: other prototypes
