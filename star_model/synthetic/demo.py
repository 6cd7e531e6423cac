"""The demo's material, the same for ``star-app demo`` and the app's demo project: a few meta-test
actions with their example clips, and one long video with its ground truth."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from star_model.data.actions_dir import load_action
from star_model.schema import ActionExamples, ProgressFn
from star_model.synthetic.actions import split_actions
from star_model.synthetic.dataset import write_dataset

DEMO_ACTIONS = 5
DEMO_CLIPS = 3


@dataclass
class DemoMaterial:
    """The demo's actions (in the synthetic split's order), its long video and that video's ground truth."""

    actions: list[ActionExamples]
    video: Path
    truth: Path


def demo_material(out: Path, progress: Optional[ProgressFn] = None, *, seed: int = 0, duration_s: float = 150.0,
                  actions: int = DEMO_ACTIONS, clips: int = DEMO_CLIPS, size: int = 112,
                  reuse: bool = False) -> DemoMaterial:
    """Render ``actions`` meta-test actions x ``clips`` example clips and one long video into ``out``
    (with ``reuse``, material already there is kept)."""
    out = Path(out)
    names = [a.name for a in split_actions("test")[:actions]]
    if not (reuse and (out / "manifest.json").is_file()):
        write_dataset(out, split="test", clips_per_action=clips, long_videos=1, long_duration_s=duration_s,
                      seed=seed, actions=names, size=size, progress=progress)
    long_dir = out / "long"
    return DemoMaterial([load_action(out / name) for name in names], long_dir / "long_000.mp4",
                        long_dir / "long_000.segments.csv")
