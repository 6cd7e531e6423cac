"""Write the bundled model's world reference (``assets/star-tiny-synthetic.world.safetensors``).

Renders 6 seeded clips of each of the 32 meta-train actions (never a val or test action), embeds 8
frames of each with the bundled model's image tower and stores them with the tower's fingerprint; the
out-of-domain check (``star_model/engine/domain.py``) measures videos against them. Then prints the
check's ratio for the val long videos of ``--val-dir`` (made by ``star-app calibrate --workdir DIR``,
in ``DIR/val``) and for any ``--other`` videos, the numbers its threshold is chosen from.

Run: .venv/bin/python bench/world_reference.py [--val-dir DIR/val] [--other VIDEO ...]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--val-dir", type=Path, default=None)
    parser.add_argument("--other", type=Path, nargs="*", default=[])
    parser.add_argument("--clips-per-action", type=int, default=6)
    args = parser.parse_args()

    from star_model.engine.domain import domain_check
    from star_model.engine.features import FrameEmbedder
    from star_model.engine.world import WORLD_NAME, build_world, known_world, save_world
    from star_model.nn.bundled import assets_dir
    from star_model.nn.factory import create_model

    start = time.perf_counter()
    embedder = FrameEmbedder(create_model("star-tiny", pretrained="bundled"))
    world = build_world(embedder, args.clips_per_action)
    path = save_world(world, assets_dir() / WORLD_NAME)
    known_world.cache_clear()
    print(f"{path}: {len(world.feats)} frames, spread {world.spread:.4f} ({time.perf_counter() - start:.0f} s)")
    videos = list(args.other)
    if args.val_dir is not None:
        names = json.loads((args.val_dir / "long_set.json").read_text())["videos"]
        videos = [args.val_dir / "long" / f"{n}.mp4" for n in names] + videos
    for video in videos:
        check = domain_check(embedder.video(video).feats, None, None, known_world(embedder.backbone_id))
        print(f"{video.name}: ratio {check.ratio:.2f} ({'far' if check.far else 'near'})")


if __name__ == "__main__":
    main()
