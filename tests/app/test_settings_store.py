"""The settings store: one holder of the settings, a ``changed`` signal only on a real change, saved at once."""
from __future__ import annotations

from dataclasses import replace

import pytest

from star_app.settings import AppSettings, SettingsStore, load_settings
from star_model.schema import LabelingParams


def test_changed_is_emitted_only_on_a_real_change_and_the_change_is_saved(qtbot, app_dirs):
    store = SettingsStore(AppSettings(device="cpu"))
    seen = []
    store.changed.connect(lambda: seen.append(store.settings))
    assert store.update(device="cpu", labeling=LabelingParams()) is False  # the same values: nothing happens
    assert seen == [] and not (app_dirs / "config" / "settings.json").exists()
    assert store.update(labeling=replace(store.settings.labeling, rate=2.0)) is True
    assert len(seen) == 1 and seen[0].labeling.rate == 2.0
    assert load_settings().labeling.rate == 2.0  # saved with the change


def test_the_labeling_ranges_are_the_engines_own(qtbot, app_dirs):
    store = SettingsStore(AppSettings())
    with pytest.raises(ValueError, match="labeling rate"):
        store.update(labeling=LabelingParams(rate=0.0))
    assert store.settings.labeling.rate == LabelingParams.rate


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
    window.store.update(labeling=replace(window.settings.labeling, rate=2.0, trim_rest=False))
    before = to_dict(window.state.project)
    job = window.jobs.job_input()
    assert job.params.rate == 2.0 and job.params.trim_rest is False and job.model == window.settings.model_choice()
    assert to_dict(window.state.project) == before and not window.state.dirty
