"""The long-video benchmark and the labeling calibration, run small end to end (structure, not quality)."""
import json

import numpy as np
import pytest

from star_model.bench.calibrate import calibrate
from star_model.bench.long_data import LongSetRecipe, draw_examples, render_long_set
from star_model.bench.long_eval import bootstrap, run_long_benchmark
from star_model.engine.calibration import LabelingCalibration
from star_model.engine.features import FeatureCache, FrameEmbedder


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("long_set")
    recipe = LongSetRecipe("test", videos=1, clips=2, min_s=12.0, max_s=12.0, seed=5)
    return root, recipe, render_long_set(root / "test", recipe)


def test_rendered_set_is_reused_and_examples_are_drawn_reproducibly(small_set):
    root, recipe, manifest = small_set
    assert render_long_set(root / "test", recipe) == manifest  # the same recipe: nothing is rendered again
    assert len(manifest["videos"]) == 1 and len(manifest["spans"]) == 8
    whole = draw_examples(root / "test", manifest, 1, 0, tight=False)
    tight = draw_examples(root / "test", manifest, 1, 0, tight=True)
    assert [a.name for a in whole] == sorted(manifest["spans"]) and all(len(a.clips) == 1 for a in whole)
    assert [c.path for a in whole for c in a.clips] == [c.path for a in tight for c in a.clips]
    assert all(c.start_s is None for a in whole for c in a.clips)
    assert all(0 <= c.start_s < c.end_s for a in tight for c in a.clips)
    assert draw_examples(root / "test", manifest, 1, 1, False) != whole or len(manifest["spans"]["turn around"]) < 2


def test_bootstrap_interval_brackets_the_mean():
    mean, low, high = bootstrap([0.2, 0.4, 0.6, 0.8])
    assert mean == pytest.approx(0.5) and low < mean < high and 0.2 <= low and high <= 0.8
    assert bootstrap([0.7] * 5)[1:] == (pytest.approx(0.7), pytest.approx(0.7))


def test_long_benchmark_writes_every_row_and_goal(tiny_model, small_set, tmp_path):
    root, recipe, _ = small_set
    embedder = FrameEmbedder(tiny_model, FeatureCache(tmp_path / "cache"))
    text = run_long_benchmark(tiny_model, embedder, root, recipe)
    rows = [line for line in text.splitlines() if line.startswith("| ") and "[" in line]
    labels = [r.split(" | ")[0][2:] for r in rows]
    assert labels[:3] == ["STAR segments, 1 example", "STAR segments, 3 examples", "STAR segments, 5 examples"]
    assert "STAR segments, 5 examples, tight" in labels and "previous window method, 5 examples" in labels
    assert sum(label.startswith("ablation:") for label in labels) >= 4
    assert all(r.count("[") == 5 for r in rows)
    assert "## Goals" in text and "F1@50" in text and "ECE" in text


def test_calibration_fits_on_validation_videos_only(tiny_model, tmp_path):
    embedder = FrameEmbedder(tiny_model, FeatureCache(tmp_path / "cache"))
    with pytest.raises(ValueError, match="validation"):
        calibrate(tiny_model, embedder, tmp_path, LongSetRecipe("test", videos=1))
    recipe = LongSetRecipe("val", videos=1, clips=2, min_s=12.0, max_s=12.0, seed=1)
    cal = calibrate(tiny_model, embedder, tmp_path, recipe)
    assert np.all(np.isfinite(cal.activity.weights)) and np.isfinite(cal.confidence.action_bias)
    assert "meta-val" in cal.provenance["data"] and 0 <= cal.provenance["objective"] <= 1
    assert LabelingCalibration.from_dict(json.loads(json.dumps(cal.to_dict()))) == cal
