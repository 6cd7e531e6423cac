"""The settings store: one holder of the settings, a ``changed`` signal only on a real change, saved at once."""
from __future__ import annotations

from dataclasses import replace

import pytest

from star_app.model_setup import ModelSetup
from star_app.settings import AppSettings, SettingsStore, load_settings


def test_changed_is_emitted_only_on_a_real_change_and_the_change_is_saved(qtbot, app_dirs):
    store = SettingsStore(AppSettings(device="cpu"))
    seen = []
    store.changed.connect(lambda: seen.append(store.settings))
    assert store.update(device="cpu", new_project_model=ModelSetup()) is False  # the same values: nothing happens
    assert seen == [] and not (app_dirs / "config" / "settings.json").exists()
    assert store.update(llm_url="http://127.0.0.1:8080/v1") is True
    assert len(seen) == 1 and seen[0].llm_url == "http://127.0.0.1:8080/v1"
    assert load_settings().llm_url == "http://127.0.0.1:8080/v1"  # saved with the change


def test_the_labeling_ranges_are_the_engines_own(make_window):
    window = make_window()
    with pytest.raises(ValueError, match="labeling rate"):
        window.apply_settings(project=replace(window.project_settings,
                                              labeling=replace(window.project_settings.labeling, rate=0.0)))
    assert window.project_settings.labeling.rate == 4.0


def test_a_changed_autosave_interval_takes_effect_at_once(make_window):
    window = make_window()
    assert not window.files.autosave.isActive()  # the test settings never autosave
    window.store.update(autosave_s=30)
    assert window.files.autosave.isActive() and window.files.autosave.interval() == 30_000
    window.store.update(autosave_s=0)
    assert not window.files.autosave.isActive()


def test_a_job_input_is_read_from_the_settings_and_writes_nothing_back(make_window):
    from star_app.project import to_dict

    window = make_window()
    window.apply_settings(project=replace(window.project_settings, labeling=replace(
        window.project_settings.labeling, rate=2.0, trim_rest=False)))
    before = to_dict(window.state.project)
    job = window.jobs.job_input()
    assert job.params.rate == 2.0 and job.params.trim_rest is False
    assert job.model == window.project_settings.model.choice(window.settings.device)
    assert to_dict(window.state.project) == before
