"""Honest models: only models with real weights are offered (the first run offers the bundled model, CLIP with
the OpenAI weights, downloaded with progress, or a local weights file), the window says what the chosen model
knows, a model without weights cannot label, and a video far from the examples' world gets a visible warning."""
from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from star_app.app import main
from star_app.main_window import MainWindow
from star_app.model_setup import ModelSetup
from star_app.services.download import resolve_pretrained
from star_app.views.first_run_dialog import FirstRunDialog
from star_app.views.settings_dialog import SettingsDialog
from star_model.video import write_video
from tests.app.conftest import ACTIONS, WhenShown, clips, wait_idle
from tests.app.fake_hub import FakeHub

REF = resolve_pretrained("star-vitb16", "openai")


def test_the_first_run_offers_models_with_weights_and_downloads_the_choice(qtbot, monkeypatch, tmp_path):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    data = os.urandom(2_000_000)
    seen: dict = {}

    def event_loop(_app) -> int:
        [window] = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), FirstRunDialog), timeout=5000)
        dialog = QApplication.activeModalWidget()
        seen["offered"] = [key for key, radio in dialog.picker.radios.items() if radio.isVisibleTo(dialog)]
        seen["knows_bundled"] = dialog.picker.knows.text()
        with FakeHub({(REF.repo_id, "open_clip_model.safetensors"): data}, bytes_per_s=4_000_000) as hub:
            window.downloads.endpoint = hub.url
            dialog.picker.radios["download"].click()
            seen["knows_clip"] = dialog.picker.knows.text()
            qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: window.downloads.dialog is not None and window.downloads.dialog.isVisible(),
                            timeout=5000)
            qtbot.waitUntil(lambda: not window.downloads.runner.busy, timeout=10000)
        seen.update(model=window.project_settings.model, app=window.settings, line=window.notices.model_line.text())
        window.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", event_loop)
    assert main([]) == 0
    assert seen["offered"] == ["bundled", "download", "file"]
    assert "synthetic action world" in seen["knows_bundled"] and "web images" in seen["knows_clip"]
    assert seen["model"] == ModelSetup("pretrained", "star-vitb16", "openai")
    assert seen["app"].model_chosen and seen["app"].new_project_model == seen["model"]
    assert seen["line"].startswith("Model: CLIP ViT-B/16 (openai weights), which knows web images")


def test_a_model_without_weights_is_not_offered_and_cannot_label(make_window, qtbot, dataset, long_video):
    window = make_window()
    assert "synthetic action world" in window.notices.model_line.text()

    def check(dialog: SettingsDialog) -> None:
        picker = dialog.model
        picker.radios["file"].click()  # a CLIP model and no weights file: not usable
        assert not dialog.ok_button.isEnabled() and "no weights chosen" in dialog.ok_button.toolTip()
        picker.weights[0].setText(str(clips(dataset, ACTIONS[0])[0]))  # any existing file will do here
        assert dialog.ok_button.isEnabled()
        picker.radios["bundled"].click()
        dialog.reject()

    shown = WhenShown(SettingsDialog, check)
    window.menu_actions["settings"].trigger()
    assert shown.done
    # a project that names CLIP without weights (an older file, say): labeling refuses and says what to do
    window.files.drop_examples([str(p) for p in clips(dataset, ACTIONS[0])])
    window.files.drop_videos([str(long_video)])
    window.state.set_settings(replace(window.project_settings, model=ModelSetup("pretrained", "star-rn50", "")))
    window.menu_actions["label"].trigger()
    assert not window.runner.busy
    title, text = window.last_message
    assert title == "The model cannot label" and "CLIP RN50 has no weights chosen" in text and "Settings" in text


def noise_video(path, seconds: float = 10.0, fps: float = 10.0):
    rng = np.random.default_rng(1)
    return write_video(path, (rng.integers(0, 255, (96, 128, 3), dtype=np.uint8) for _ in range(int(seconds * fps))),
                       fps)


def test_a_video_far_from_the_examples_gets_a_visible_warning(make_window, qtbot, dataset, long_video, tmp_path,
                                                              shared_engine):
    window = make_window(shared_engine)
    for action in ACTIONS:
        window.files.drop_examples([str(p) for p in clips(dataset, action)])
    near, far = window.files.drop_videos([str(long_video), str(noise_video(tmp_path / "noise.mp4"))])
    window.menu_actions["label_all"].trigger()
    wait_idle(qtbot, window)
    assert window.last_message == ("", ""), window.last_message
    window.videos_panel.select(near)
    assert window.current_video == near and not window.notices.far_box.isVisible()
    window.videos_panel.select(far)
    assert window.current_video == far and window.notices.far_box.isVisible()
    text = window.notices.far_text.text()
    assert "far from what the model and your examples know" in text and "synthetic action world" in text
    ratio = window.state.results[far].domain.ratio
    assert f"{ratio:.1f}×" in text and ratio >= window.state.results[far].domain.far_ratio
    assert window.state.results[near].domain.ratio < ratio / 2
