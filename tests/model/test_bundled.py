"""The bundled-model file format and loading path."""
import json
import socket
from pathlib import Path

import pytest
import torch

from star_model import create_model
from star_model.nn.bundled import ASSET_NAME, BUILD_COMMAND, CARD_NAME, bundled_checkpoint_path, default_model_source, load_bundled, save_bundled


@pytest.fixture()
def assets(tmp_path, monkeypatch):
    monkeypatch.setenv("STAR_ASSETS_DIR", str(tmp_path / "assets"))
    return tmp_path / "assets"


def _trained_like(seed: int = 0):
    torch.manual_seed(seed)
    model = create_model("star-tiny")
    with torch.no_grad():
        model.tsa.attn.out_proj.weight.normal_()
    return model


def test_missing_asset_means_random_towers_and_says_how_to_build_it(assets):
    assert default_model_source() is None
    with pytest.raises(FileNotFoundError, match="cli.eval bundle"):
        bundled_checkpoint_path()


def test_the_command_a_missing_model_names_is_the_one_that_built_the_shipped_model():
    shipped = json.loads((Path(__file__).resolve().parents[2] / "assets" / CARD_NAME).read_text())
    assert shipped["command"] == BUILD_COMMAND


def test_saved_bundle_loads_offline_through_create_model(assets, monkeypatch):
    model = _trained_like()
    save_bundled(model, assets, {"seed": 0})
    assert (assets / CARD_NAME).is_file() and (assets / ASSET_NAME).stat().st_size < 20e6
    assert default_model_source() == "bundled"

    def no_network(*args, **kwargs):
        raise AssertionError("loading the bundled model touched the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    loaded = create_model("star-tiny", pretrained="bundled")
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        int8 = a.ndim >= 2 and name.startswith(("backbone.clip.token_embedding.", "backbone.clip.visual."))
        tol = a.abs().max().item() / (200 if int8 else 1000) + 1e-6  # int8: about half a step of the row scale
        assert torch.allclose(a, b, atol=tol), name
    with pytest.raises(ValueError, match="star-tiny only"):
        create_model("star-vitb16", pretrained="bundled")


def test_compact_format_round_trip_is_exact(assets, tmp_path):
    save_bundled(_trained_like(1), assets, {"seed": 1})
    first = load_bundled()
    save_bundled(first, tmp_path / "again", {"seed": 1})
    again = load_bundled(path=tmp_path / "again" / ASSET_NAME)
    for (name, a), b in zip(first.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), name


_SHIPPED_CHECK = """
import json, sys
from collections import Counter
from pathlib import Path
import torch
torch.set_num_threads(1)  # labels depend on the thread count at near-ties: measure one setting, on any machine
from star_model import create_model
from star_model.bench.long_data import LongSetRecipe, draw_examples, load_cases, render_long_set
from star_model.engine.bank import build_bank
from star_model.engine.features import FeatureCache, FrameEmbedder
from star_model.engine.metrics import f1_at, frame_accuracy
from star_model.engine.segmentation import label_features
tmp = Path(sys.argv[1])
model = create_model("star-tiny", pretrained="bundled")
embedder = FrameEmbedder(model, FeatureCache(tmp / "cache"))
recipe = LongSetRecipe("test", videos=1, clips=5, min_s=45.0, max_s=45.0, seed=11)
manifest = render_long_set(tmp / "set", recipe)
case = load_cases(tmp / "set", manifest, embedder, 4.0)[0]
bank = build_bank(model, embedder, draw_examples(tmp / "set", manifest, 5, 0, False))
result = label_features(model, bank, case.features)
print(json.dumps([frame_accuracy(result.labels, case.truth), f1_at(result.labels, case.truth, 0.5),
                  max(Counter(case.truth).values()) / len(case.truth)]))
"""


def test_shipped_model_labels_a_long_video_of_unseen_actions(tmp_path):
    """The model and labeling calibration as shipped (no STAR_ASSETS_DIR override), offline, on a long video of
    the 8 meta-test actions from 5 examples each: the timeline is right, far above the majority label.

    In a fresh interpreter, as a user's ``star-app label`` runs: what earlier tests left in this process
    (threads, caches) must not decide a near-tie."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k != "STAR_ASSETS_DIR"}
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", _SHIPPED_CHECK, str(tmp_path)], cwd=root, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    accuracy, f1, majority = json.loads(out.stdout.strip().splitlines()[-1])
    # measured on one thread with the build shipped since stop 23: accuracy 0.78, F1@50 0.80 (its errors: four
    # short 'turn around' segments in background); with the stop-20 build 0.85, 0.80; majority 0.54. One video is
    # a smoke test, not a measure: docs/long_video_benchmark.md has the 10-video test table (93.7 %, F1@50 97.0)
    assert accuracy >= max(0.75, majority + 0.2) and f1 >= 0.6, (accuracy, f1, majority)


def test_a_bundle_rebuilt_from_shipped_towers_with_a_recipe(assets, tmp_path, capsys):
    """``star-app bundle --towers-from FILE --recipe JSON``: the donor's towers unchanged, a new head meta-trained
    with the recipe, the recipe and the towers' provenance in the card."""
    from star_model.cli.main import main
    from star_model.nn.bundled import read_card
    from star_model.train.recipes import build_bundled

    donor = _trained_like(2)
    card = {"command": "donor build", "seed": 0, "data": {"pretraining": "donor's clips"},
            "pretrain": {"steps": 7, "wall_s": 1.0}}
    donor_file = save_bundled(donor, tmp_path / "donor", card)
    recipe = {"matching": {"stage_weight": 2.0}, "train": {"pair_share": 0.5}}
    built = build_bundled(assets, train_steps=2, clips_per_action=2, recipe=recipe, towers_from=donor_file,
                          command="the test's command")
    model = load_bundled()
    assert model.cfg.matching.stage_weight == 2.0 and built["meta_train"]["pair_share"] == 0.5
    shipped_towers = load_bundled(path=donor_file).backbone.state_dict()
    for name, value in model.backbone.state_dict().items():
        assert torch.equal(value, shipped_towers[name]), name
    head = [n for n in model.state_dict() if not n.startswith("backbone.")]
    assert any(not torch.allclose(model.state_dict()[n], load_bundled(path=donor_file).state_dict()[n]) for n in head)
    assert read_card(assets / ASSET_NAME) == built
    assert built["recipe"] == recipe and built["command"] == "the test's command"
    assert built["pretrain"]["steps"] == 7 and built["pretrain"]["towers_from"].startswith(f"{ASSET_NAME} (built by: donor build)")
    assert built["data"]["pretraining"] == "donor's clips"

    assert main(["bundle", "--out", str(tmp_path / "x"), "--recipe", '{"train": {"seed": 3}}']) == 2
    assert "unknown training setting train.seed" in capsys.readouterr().err
    assert main(["bundle", "--out", str(tmp_path / "x"), "--towers-from", str(tmp_path / "none.safetensors")]) == 2
    assert capsys.readouterr().err.startswith(f"error: --towers-from {tmp_path / 'none.safetensors'}: no such file")
    assert not (tmp_path / "x").exists()
