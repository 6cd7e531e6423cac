"""The demo project: synthetic example clips of a few actions and a long video, rendered in a worker."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import platformdirs

from star_app.project import PALETTE, Action, ExampleClip, Project, Video
from star_model.descriptors import read_descriptor_file
from star_model.support import is_video_file
from star_model.synthetic import split_actions, write_dataset
from star_model.video import probe

log = logging.getLogger(__name__)

DEMO_ACTIONS = 5


def demo_dir() -> Path:
    return Path(platformdirs.user_cache_dir("star-labeler")) / "demo"


def make_demo_project(out: Path, progress: Callable[[int, int, str], None], actions: int = DEMO_ACTIONS,
                      clips: int = 3, duration_s: float = 60.0, size: int = 112) -> Project:
    """Render the demo material into ``out`` (reused when already there) and build a project of it."""
    names = [a.name for a in split_actions("test")[:actions]]
    data = Path(out)
    if not (data / "manifest.json").is_file():
        write_dataset(data, split="test", clips_per_action=clips, long_videos=1, long_duration_s=duration_s,
                      actions=names, size=size, progress=lambda d, t, m: progress(d, t, f"rendering {m}"))
    project = Project(name="demo")
    for k, name in enumerate(names):
        folder = data / name
        examples = [ExampleClip(str(p)) for p in sorted(folder.iterdir()) if is_video_file(p)]
        project.actions.append(Action(name, PALETTE[k % len(PALETTE)], read_descriptor_file(folder / "descriptors.txt"),
                                      examples))
    long_video = data / "long" / "long_000.mp4"
    info = probe(long_video)
    project.videos.append(Video(str(long_video), info.duration_s, info.fps, info.frame_count))
    return project
