"""Pretrained-weights download: huggingface_hub against a real local HTTP server standing in for the hub.

Only the hub is replaced (tests/app/fake_hub.py): huggingface_hub, open_clip's pretrained config and
cache lookup, the worker, the dialog and the settings are the real ones. The hub cache is a temp dir.
"""
from __future__ import annotations

import os
import socket
import time
from dataclasses import replace
from pathlib import Path

import open_clip.pretrained as oc_pretrained
import pytest
from huggingface_hub import constants as hf_constants

from star_app.model_setup import ModelSetup
from star_app.services.download import DownloadError, cached_weights, download_weights, resolve_pretrained
from star_model.errors import Cancelled
from tests.app.fake_hub import FakeHub

REF = resolve_pretrained("star-vitb16", "openai")  # timm/vit_base_patch16_clip_224.openai
MB = 1_000_000


@pytest.fixture(autouse=True)
def hub_cache(tmp_path, monkeypatch) -> Path:
    """huggingface_hub's cache (the one open_clip reads) in a temp dir; online unless a test says otherwise."""
    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    return cache


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def leftovers(cache: Path) -> list[Path]:
    return list(cache.rglob("*.incomplete"))


def test_resolve_follows_open_clip_and_rejects_unusable_tags(tmp_path):
    assert REF.repo_id == "timm/vit_base_patch16_clip_224.openai"
    assert REF.filenames == ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")  # open_clip's order
    with pytest.raises(DownloadError, match="no pretrained tag 'nonsense' for ViT-B-16 .*openai"):
        resolve_pretrained("star-vitb16", "nonsense")
    with pytest.raises(DownloadError, match="star-tiny has its own small CLIP backbone"):
        resolve_pretrained("star-tiny", "openai")
    local = tmp_path / "weights.safetensors"
    local.write_bytes(b"x")
    assert resolve_pretrained("star-vitb16", str(local)) is None  # a local file needs no download


def test_download_reports_progress_and_fills_the_cache_open_clip_reads(hub_cache, monkeypatch):
    data = os.urandom(3 * MB)
    # only the .bin exists: the safetensors variant (tried first, as open_clip does) is a 404 EntryNotFound
    with FakeHub({(REF.repo_id, "open_clip_pytorch_model.bin"): data}, bytes_per_s=6 * MB) as hub:
        seen: list[tuple[int, int, str]] = []
        assert cached_weights(REF) is None
        path = download_weights(REF, lambda *a: seen.append(a), lambda: False, endpoint=hub.url)
    assert Path(path).read_bytes() == data
    assert Path(path).name == "open_clip_pytorch_model.bin" and Path(path).is_relative_to(hub_cache)
    kib = len(data) // 1024
    sizes = [done for done, total, _ in seen if total == kib]
    assert sizes == sorted(sizes) and sizes[-1] == kib
    assert len({d for d in sizes if 0 < d < kib}) >= 2  # it moved in steps, not 0 then done
    assert seen[-1][2].endswith("3.0 MB downloaded") and any("MB of 3.0 MB" in m for _, _, m in seen)
    assert leftovers(hub_cache) == []
    # open_clip, offline now, finds the file where create_model(arch, pretrained=tag) looks for it
    assert cached_weights(REF) == path
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    assert oc_pretrained.download_pretrained(oc_pretrained.get_pretrained_cfg("ViT-B-16", "openai")) == path


def test_unreachable_hub_is_a_readable_error():
    t0 = time.monotonic()
    with pytest.raises(DownloadError) as err:
        download_weights(REF, lambda *a: None, lambda: False, endpoint=closed_port_url())
    assert time.monotonic() - t0 < 5.0
    text = str(err.value)
    assert text.startswith("cannot reach the model hub (http://127.0.0.1:")
    assert text.endswith("; check the network, or choose a local checkpoint file in Settings")


def test_cancel_is_answered_while_the_hub_does_not_answer():
    """A hub that accepts the connection and never replies: cancel still ends the job at once."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        asked = time.monotonic()
        messages: list[str] = []
        with pytest.raises(Cancelled):
            download_weights(REF, lambda d, t, m: messages.append(m), lambda: time.monotonic() - asked > 0.5,
                             endpoint=f"http://127.0.0.1:{silent.getsockname()[1]}")
        assert time.monotonic() - asked < 1.0
        assert messages and messages[-1].startswith("asking http://127.0.0.1:")


def test_a_hub_without_the_file_is_a_readable_error():
    with FakeHub({}) as hub, pytest.raises(DownloadError, match="none of open_clip_model.safetensors, "
                                                                "open_clip_pytorch_model.bin in timm/"):
        download_weights(REF, lambda *a: None, lambda: False, endpoint=hub.url)


def vitb16_openai(window):
    """The project's settings with CLIP ViT-B/16 and the openai weights."""
    return replace(window.project_settings, model=ModelSetup("pretrained", "star-vitb16", "openai"))


def model(window) -> ModelSetup:
    return window.project_settings.model


def test_picking_an_uncached_tag_downloads_it_in_a_dialog_then_the_settings_take_it(make_window, qtbot, hub_cache):
    window = make_window()
    data = os.urandom(4 * MB)
    with FakeHub({(REF.repo_id, "open_clip_model.safetensors"): data}, bytes_per_s=4 * MB) as hub:
        window.downloads.endpoint = hub.url
        window.apply_settings(project=vitb16_openai(window))
        dialog = window.downloads.dialog
        assert dialog.isVisible() and model(window).source == "bundled"  # not taken yet
        qtbot.waitUntil(lambda: dialog.bar.maximum() == len(data) // 1024 and dialog.bar.value() > 0, timeout=5000)
        assert " MB of 4.0 MB" in dialog.label.text()
        qtbot.waitUntil(lambda: not window.downloads.runner.busy, timeout=10000)
    assert not dialog.isVisible()
    assert model(window) == ModelSetup("pretrained", "star-vitb16", "openai")
    assert window.state.dirty  # the project's model: saved with the project
    assert not (Path(os.environ["STAR_APP_CONFIG_DIR"]) / "settings.json").exists()  # nothing of the user's changed
    assert Path(cached_weights(REF)).read_bytes() == data
    assert window.last_message == ("", "")
    # picking it again: cached, so taken at once without a dialog or a request
    window.menu_actions["undo"].trigger()
    assert model(window).source == "bundled"
    window.apply_settings(project=vitb16_openai(window))
    assert model(window).source == "pretrained" and window.downloads.dialog is dialog


def test_cancel_in_the_dialog_stops_the_download_within_2_s(make_window, qtbot, hub_cache):
    window = make_window()
    with FakeHub({(REF.repo_id, "open_clip_model.safetensors"): os.urandom(64 * MB)}, bytes_per_s=4 * MB) as hub:
        window.downloads.endpoint = hub.url
        window.apply_settings(project=vitb16_openai(window))
        dialog = window.downloads.dialog
        qtbot.waitUntil(lambda: dialog.bar.value() > 0, timeout=5000)
        assert dialog.bar.maximum() == 64 * MB // 1024 and "MB of 64.0 MB" in dialog.label.text()
        dialog.cancel_button.click()
        t0 = time.monotonic()
        qtbot.waitUntil(lambda: not window.downloads.runner.busy, timeout=2000)
        assert time.monotonic() - t0 < 2.0
        assert not dialog.isVisible()
        # the transfer itself stops too (at its next chunk) and huggingface_hub removes its partial file
        qtbot.waitUntil(lambda: leftovers(hub_cache) == [], timeout=3000)
    assert model(window) == ModelSetup()
    assert cached_weights(REF) is None
    assert "Download cancelled" in window.statusBar().currentMessage()
    assert window.last_message == ("", "")


def test_a_failed_download_is_a_message_and_keeps_the_model_choice(make_window, qtbot):
    window = make_window()
    window.downloads.endpoint = closed_port_url()
    window.apply_settings(project=replace(vitb16_openai(window),
                                          labeling=replace(window.project_settings.labeling, rate=2.0)))
    qtbot.waitUntil(lambda: not window.downloads.runner.busy, timeout=5000)
    title, text = window.last_message
    assert title == "Cannot download the pretrained weights"
    assert text.startswith("cannot reach the model hub") and "choose a local checkpoint file in Settings" in text
    assert model(window) == ModelSetup()
    assert window.project_settings.labeling.rate == 2.0  # the other settings were taken
    assert not window.downloads.dialog.isVisible()


def test_an_unusable_tag_is_refused_without_a_download(make_window):
    window = make_window()
    window.apply_settings(project=replace(window.project_settings,
                                          model=ModelSetup("pretrained", "star-tiny", "openai")))
    assert window.last_message[0] == "Cannot use the pretrained tag"
    assert model(window) == ModelSetup() and window.downloads.dialog is None
