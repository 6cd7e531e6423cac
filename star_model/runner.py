"""Engine steps shared by the command line and the demo: load, build prototypes, label to CSV."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional, Sequence

from .bundled import default_model_source
from .device import select_device
from .export import write_frames_csv, write_segments_csv
from .factory import create_model
from .features import FeatureCache, FrameEmbedder
from .labeling import ActionExamples, LabelingParams, LabelResult, PrototypeBank, build_bank, label_video
from .model import STAR
from .progress_bar import ProgressBar


def load_engine(
    model: Optional[str] = None,
    checkpoint: Optional[Path] = None,
    pretrained: Optional[str] = None,
    device: str = "auto",
    cache_dir: Optional[Path] = None,
) -> tuple[STAR, FrameEmbedder]:
    """The model on the chosen device and a frame embedder with its feature cache.

    With no model, checkpoint or weights named, the bundled default model is used (and the
    choice is said on stderr); without the bundled file, star-tiny with random towers.
    """
    if model is None and checkpoint is None and pretrained is None:
        model, pretrained = "star-tiny", default_model_source()
        what = "the bundled default (star-tiny trained on the synthetic action world)" if pretrained else (
            "star-tiny with random weights (no bundled model file in assets/)")
    else:
        model = model or "star-tiny"
        what = str(checkpoint) if checkpoint else model
    torch_device = select_device(device)
    star = create_model(model, device=torch_device, pretrained=pretrained, checkpoint=checkpoint)
    print(f"model: {what} on {torch_device}", file=sys.stderr)
    return star, FrameEmbedder(star, FeatureCache(cache_dir) if cache_dir else None)


def build_bank_with_bar(model: STAR, embedder: FrameEmbedder, actions: Sequence[ActionExamples],
                        trim_rest: bool = True) -> PrototypeBank:
    """``build_bank`` with a progress bar on stderr."""
    bar = ProgressBar("examples")
    try:
        return build_bank(model, embedder, actions, progress=bar, trim_rest=trim_rest)
    finally:
        bar.close()


def label_to_csv(
    model: STAR, embedder: FrameEmbedder, bank: PrototypeBank, video: Path, out: Path, params: LabelingParams
) -> LabelResult:
    """Label ``video`` (progress bar on stderr) and write OUT/<stem>.segments.csv and OUT/<stem>.frames.csv."""
    bar = ProgressBar(f"label {video.name}")
    try:
        result = label_video(model, embedder, bank, video, params, progress=bar)
    finally:
        bar.close()
    write_segments_csv(out / f"{video.stem}.segments.csv", video.name, result.segments)
    write_frames_csv(out / f"{video.stem}.frames.csv", result.frames, result.times, result.names, result.scores, result.labels)
    return result
