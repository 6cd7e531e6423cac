"""Writing a synthetic data set to disk.

Layout written by ``write_dataset(DIR, split=...)``::

    DIR/manifest.json                       split, seed, size, actions (name, primitives, descriptors), long videos
    DIR/<action name>/clip_000.mp4 ...      ``clips_per_action`` clips of the action
    DIR/<action name>/descriptors.txt       its stage descriptors, one per line, in order
    DIR/<action name>/clip_000.captions.txt per-frame captions (only with ``captions=True``)
    DIR/long/long_000.mp4                   long videos of the split's actions with idle stretches
    DIR/long/long_000.segments.csv          their ground truth (see ``longvideo`` for the format)

The folder name is the action's name as is (lower-case words and spaces, no
other characters), so "folder name = action name" holds for the labeling CLI.
Each clip's seed depends on (seed, action name, clip index) only, so
restricting ``actions`` does not change the other clips.

Videos are encoded with ``star_model.video.write_video`` (PyAV; H.264 when
FFmpeg has libx264, MPEG-4 otherwise). Long videos are rendered and encoded
frame by frame (streaming: never all frames in memory).
"""
from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Sequence

from star_model.schema import ProgressFn
from star_model.video import write_video
from .actions import Action, get_action, split_actions
from .clip import render_clip
from .longvideo import compose_long_video

_SPLIT_ID = {"train": 1, "val": 2, "test": 3}


def clip_seed(seed: int, action: Action, index: int) -> tuple[int, ...]:
    return (int(seed), zlib.crc32(action.name.encode()), int(index))


def write_dataset(out_dir: str | Path, split: str = "test", clips_per_action: int = 3, long_videos: int = 0,
                  long_duration_s: float = 120.0, seed: int = 0, size: int = 112,
                  progress: ProgressFn | None = None, actions: Sequence[Action | str] | None = None,
                  long_fps: float = 25.0, captions: bool = False) -> dict:
    """Write clips (and optionally long videos) of a split's actions; returns a summary dict.

    ``actions`` restricts the actions (names or ``Action``s; default: all of ``split``).
    ``progress(done, total, message)`` is called after each written video.
    """
    acts = split_actions(split) if actions is None else [get_action(a) for a in actions]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    total = len(acts) * clips_per_action + long_videos
    done = 0
    n_frames = 0
    clips: list[str] = []
    for action in acts:
        d = out / action.name
        d.mkdir(exist_ok=True)
        (d / "descriptors.txt").write_text("\n".join(action.descriptors) + "\n")
        for j in range(clips_per_action):
            clip = render_clip(action, clip_seed(seed, action, j), size=size)
            p = d / f"clip_{j:03d}.mp4"
            write_video(p, clip.frames, clip.fps)
            if captions:
                (d / f"clip_{j:03d}.captions.txt").write_text("\n".join(clip.captions) + "\n")
            n_frames += len(clip.frames)
            clips.append(str(p.relative_to(out)))
            done += 1
            if progress:
                progress(done, total, f"{action.name}/{p.name}")
    longs = []
    if long_videos:
        (out / "long").mkdir(exist_ok=True)
    for k in range(long_videos):
        name = f"long_{k:03d}"
        lv = compose_long_video(acts, (int(seed), 1000 + k, _SPLIT_ID.get(split, 0)), duration_s=long_duration_s,
                                size=size, fps=long_fps, name=name)
        write_video(out / "long" / f"{name}.mp4", lv.frames(), lv.fps)
        lv.write_segments_csv(out / "long" / f"{name}.segments.csv", video=f"{name}.mp4")
        n_frames += lv.n_frames
        longs.append({"video": f"long/{name}.mp4", "segments": f"long/{name}.segments.csv",
                      "n_frames": lv.n_frames, "fps": lv.fps,
                      "n_actions": sum(s.label != "background" for s in lv.segments)})
        done += 1
        if progress:
            progress(done, total, f"long/{name}.mp4")
    summary = {
        "out_dir": str(out), "split": split, "seed": seed, "size": size, "clips_per_action": clips_per_action,
        "actions": [{"name": a.name, "primitives": list(a.primitives), "descriptors": list(a.descriptors)}
                    for a in acts],
        "clips": clips, "long_videos": longs, "frames": n_frames,
    }
    (out / "manifest.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
