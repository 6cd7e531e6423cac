"""Long-video material for the labeling benchmark and its calibration, rendered once and kept.

``render_long_set(out, split, ...)`` writes, for the 8 actions of a split, ``clips`` example clips
each (with their true active spans, for the tight-example setting) and ``videos`` long videos of
random lengths between ``min_s`` and ``max_s``, each with its own seed, plus their ground truth.
The validation split calibrates labeling (``star-app calibrate``); the test split is scored once
(``star-app eval``). A folder that already holds a complete set of the same recipe is reused.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from star_model.data.label_csv import read_segments_csv, write_segments_csv
from star_model.engine.features import FrameEmbedder, VideoFeatures
from star_model.engine.metrics import frame_labels
from star_model.nn.descriptors import read_descriptor_file
from star_model.schema import ActionExamples, ClipRef
from star_model.synthetic import compose_long_video, render_clip, split_actions
from star_model.synthetic.dataset import clip_seed
from star_model.video import write_video

MANIFEST = "long_set.json"
_SPLIT_SEED = {"val": 2000, "test": 3000}


@dataclass(frozen=True)
class LongSetRecipe:
    """What a long-video set holds; the same recipe renders the same set (up to encoder noise)."""

    split: str
    videos: int = 10
    clips: int = 8
    min_s: float = 60.0
    max_s: float = 180.0
    seed: int = 0


@dataclass
class LongVideoCase:
    """One long video: its features at the labeling rate and the true label of each sampled frame."""

    name: str
    features: VideoFeatures
    truth: list[str]


def render_long_set(out: Path, recipe: LongSetRecipe, say: Callable[[str], None] = lambda _m: None) -> dict:
    """Render (or reuse) the set described by ``recipe`` into ``out``; returns its manifest."""
    out = Path(out)
    path = out / MANIFEST
    if path.is_file():
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if manifest.get("recipe") == asdict(recipe):
            return manifest
    actions = split_actions(recipe.split)
    spans: dict[str, list[list[float]]] = {}
    for action in actions:
        folder = out / "clips" / action.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "descriptors.txt").write_text("\n".join(action.descriptors) + "\n", encoding="utf-8")
        spans[action.name] = []
        for j in range(recipe.clips):
            clip = render_clip(action, clip_seed(recipe.seed + _SPLIT_SEED[recipe.split], action, j))
            write_video(folder / f"clip_{j:03d}.mp4", clip.frames, clip.fps)
            moving = [s for s in clip.stages if s.key != "idle"]
            spans[action.name].append([moving[0].start / clip.fps, moving[-1].end / clip.fps])
    rng = np.random.default_rng([recipe.seed, _SPLIT_SEED[recipe.split]])
    names = []
    (out / "long").mkdir(parents=True, exist_ok=True)
    for k in range(recipe.videos):
        duration = float(rng.uniform(recipe.min_s, recipe.max_s))
        video = compose_long_video(actions, (recipe.seed, _SPLIT_SEED[recipe.split], k), duration_s=duration,
                                   name=f"long_{k:03d}")
        write_video(out / "long" / f"{video.name}.mp4", video.frames(), video.fps)
        write_segments_csv(out / "long" / f"{video.name}.segments.csv", f"{video.name}.mp4", video.segments)
        names.append(video.name)
        say(f"rendered {recipe.split} long video {k + 1}/{recipe.videos} ({duration:.0f} s)")
    manifest = {"recipe": asdict(recipe), "spans": spans, "videos": names}
    path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def draw_examples(out: Path, manifest: dict, shots: int, draw: int, tight: bool) -> list[ActionExamples]:
    """``shots`` example clips per action, the ``draw``-th seeded pick; ``tight``: cut to their true active span."""
    rng = np.random.default_rng([draw, shots])
    actions = []
    for name, spans in sorted(manifest["spans"].items()):
        folder = Path(out) / "clips" / name
        picked = sorted(rng.choice(len(spans), size=min(shots, len(spans)), replace=False).tolist())
        clips = [ClipRef(str(folder / f"clip_{j:03d}.mp4"), *(spans[j] if tight else (None, None))) for j in picked]
        actions.append(ActionExamples(name, clips, read_descriptor_file(folder / "descriptors.txt")))
    return actions


def load_cases(out: Path, manifest: dict, embedder: FrameEmbedder, rate: float,
               limit: Optional[int] = None) -> list[LongVideoCase]:
    """The set's long videos, embedded at ``rate`` (cached), with their per-frame truth."""
    cases = []
    for name in manifest["videos"][:limit]:
        feats = embedder.video(Path(out) / "long" / f"{name}.mp4", rate)
        truth = read_segments_csv(Path(out) / "long" / f"{name}.segments.csv")
        cases.append(LongVideoCase(name, feats, frame_labels(truth, np.asarray(feats.times))))
    return cases
