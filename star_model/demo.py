"""``star-app demo``: a small synthetic demo set, labeled end to end and scored against its ground truth."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .export import read_segments_csv
from .features import FrameEmbedder
from .labeling import LabelingParams
from .metrics import edit_score, f1_at, frame_accuracy, frame_labels
from .model import STAR
from .progress_bar import ProgressBar
from .runner import build_bank_with_bar, label_to_csv
from .support import load_actions_dir
from .synthetic import split_actions, write_dataset

DEMO_ACTIONS = 5
DEMO_CLIPS = 3


def run_demo(model: STAR, embedder: FrameEmbedder, out: Path, seed: int = 0, duration_s: float = 150.0) -> int:
    """Render 5 meta-test actions x 3 clips and one long video, label it, print the scores."""
    out = Path(out)
    data = out / "examples"
    actions = [a.name for a in split_actions("test")[:DEMO_ACTIONS]]
    bar = ProgressBar("render demo")
    try:
        write_dataset(data, split="test", clips_per_action=DEMO_CLIPS, long_videos=1, long_duration_s=duration_s,
                      seed=seed, actions=actions, progress=bar)
    finally:
        bar.close()
    examples = load_actions_dir(data)
    bank = build_bank_with_bar(model, embedder, examples)
    video = data / "long" / "long_000.mp4"
    result = label_to_csv(model, embedder, bank, video, out / "labels", LabelingParams())
    truth = frame_labels(read_segments_csv(data / "long" / "long_000.segments.csv"), np.asarray(result.times))
    acc = frame_accuracy(result.labels, truth)
    print(f"demo: {len(examples)} actions x {DEMO_CLIPS} example clips; long video {duration_s:.0f} s, "
          f"{len(result.times)} frames labeled at {LabelingParams().rate:g} fps")
    print(f"frame accuracy   {acc * 100:6.1f} %")
    print(f"segment F1@50    {f1_at(result.labels, truth, 0.5) * 100:6.1f}")
    print(f"edit score       {edit_score(result.labels, truth):6.1f}")
    print(f"CSV files in {out / 'labels'}")
    return 0
