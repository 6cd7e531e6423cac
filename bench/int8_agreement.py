"""Label agreement of the int8 ViT tower on a *trained* ViT (a proxy for ViT-B/16 with real weights).

The labeling bench measures the int8 tower's label agreement only on random ViT-B/16 towers, whose
frames all map to nearly the same feature, so any perturbation flips labels. Here a small ViT
(112 px, patch 16, width 192, 6 layers) is pretrained on the synthetic world exactly as the bundled
star-tiny's towers are (``pretrain_towers``, fewer steps), then --videos long test-split videos are
labeled from 5 example clips per action with its fp32 tower and with its int8 copy
(``FastImageEncoder``), the same STAR head (untrained: the identity refiner and OTAM). Prints, per
video and overall, the feature cosine and the share of frames with the same label, beside the goals
(cosine >= 0.99, labels >= 99 %), and the backbone frames/s of both.

Run: .venv/bin/python bench/int8_agreement.py [--pretrain-steps 400] [--videos 4] [--work DIR]
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SMALL_VIT = {
    "embed_dim": 256,
    "vision_cfg": {"image_size": 112, "layers": 6, "width": 192, "patch_size": 16, "head_width": 64},
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 96, "heads": 4, "layers": 4},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pretrain-steps", type=int, default=400)
    parser.add_argument("--videos", type=int, default=4, help="long test-split videos of 60 s to label")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "star-int8-agreement")
    args = parser.parse_args()

    import numpy as np
    import torch
    import torch.nn.functional as F

    from star_model.engine.bank import build_bank
    from star_model.engine.features import FeatureCache, FrameEmbedder
    from star_model.engine.segmentation import label_features
    from star_model.nn.config import load_config
    from star_model.nn.model import STAR
    from star_model.schema import ActionExamples, ClipRef, LabelingParams
    from star_model.synthetic import split_actions
    from star_model.synthetic.dataset import write_dataset
    from star_model.train.pretrain import PretrainConfig, pretrain_towers

    logging.basicConfig(level=logging.WARNING)
    torch.manual_seed(0)
    base = load_config("star-tiny")
    cfg = dataclasses.replace(base, name="small-vit", backbone=dataclasses.replace(base.backbone, clip=SMALL_VIT))
    model = STAR(cfg, warn_random=False)
    start = time.perf_counter()
    pcfg = PretrainConfig(steps=args.pretrain_steps, seed=0)
    pretrain_towers(model.backbone, split_actions("train"), pcfg, cfg.text.prompt,
                    lambda step, total, loss: print(f"pretrain {step}/{total} loss {loss:.3f}", file=sys.stderr)
                    if step % 50 == 0 else None)
    model.eval()
    print(f"pretrained a {sum(p.numel() for p in model.backbone.clip.visual.parameters()) / 1e6:.1f} M-parameter "
          f"ViT image tower for {args.pretrain_steps} steps in {time.perf_counter() - start:.0f} s")

    data = args.work / "data"
    if not (data / "long").is_dir():
        write_dataset(data, split="test", clips_per_action=5, long_videos=args.videos, long_duration_s=60, size=112)
    actions = [ActionExamples(d.name, [ClipRef(str(c)) for c in sorted(d.glob("clip_*.mp4"))])
               for d in sorted(p for p in data.iterdir() if p.is_dir() and p.name != "long")]
    plain = FrameEmbedder(model, FeatureCache(args.work / "cache-fp32"))
    fast = FrameEmbedder(model, FeatureCache(args.work / "cache-int8"), fast=True)
    assert fast.fast is not None and fast.fast.mode == "int8", "no int8 engine in this torch"
    bank = build_bank(model, plain, actions)
    params = LabelingParams()
    print("\n| video | frames | min cosine (fp32 vs int8) | labels agree | 1 - cosine of neighbouring frames (fp32) |")
    print("|---|---:|---:|---:|---:|")
    agree, cos_min, frames = 0, 1.0, 0
    for video in sorted((data / "long").glob("*.mp4")):
        a, b = plain.video(str(video), params.rate), fast.video(str(video), params.rate)
        la, lb = label_features(model, bank, a, params).labels, label_features(model, bank, b, params).labels
        cos = F.cosine_similarity(a.feats, b.feats).min().item()
        same = int(np.sum(np.asarray(la) == np.asarray(lb)))
        step = float((1 - F.cosine_similarity(a.feats[1:], a.feats[:-1])).mean())
        print(f"| {video.name} | {len(la)} | {cos:.4f} | {100 * same / len(la):.1f} % | {step:.3f} |", flush=True)
        agree, cos_min, frames = agree + same, min(cos_min, cos), frames + len(la)
    images = torch.randint(0, 256, (64, 3, 112, 112), dtype=torch.uint8)
    speed = {}
    for name, encoder in (("fp32", model.backbone), ("int8", fast.fast)):
        with torch.no_grad():
            encoder.encode_images(images[:32])
            t = time.perf_counter()
            encoder.encode_images(images)
            speed[name] = len(images) / (time.perf_counter() - t)
    print(f"\nOverall: min cosine {cos_min:.4f} (goal >= 0.99: {'met' if cos_min >= 0.99 else 'MISSED'}), labels agree "
          f"on {100 * agree / frames:.1f} % of {frames} frames (goal >= 99 %: "
          f"{'met' if agree / frames >= 0.99 else 'MISSED'}); backbone {speed['fp32']:.0f} f/s fp32, "
          f"{speed['int8']:.0f} f/s int8 ({speed['int8'] / speed['fp32']:.2f}x; {torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
