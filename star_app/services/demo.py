"""The demo project: the demo material of ``star-app demo`` (rendered in a worker, reused) as a project."""
from __future__ import annotations

import logging
from pathlib import Path

import platformdirs

from star_app.project import PALETTE, Action, Project, Video
from star_model.schema import ProgressFn
from star_model.synthetic.demo import DEMO_ACTIONS, demo_material
from star_model.video import probe

log = logging.getLogger(__name__)


def demo_dir() -> Path:
    return Path(platformdirs.user_cache_dir("star-labeler")) / "demo"


def make_demo_project(out: Path, progress: ProgressFn, actions: int = DEMO_ACTIONS,
                      clips: int = 3, duration_s: float = 60.0, size: int = 112) -> Project:
    """Render the demo material into ``out`` (reused when already there) and build a project of it."""
    material = demo_material(out, lambda d, t, m: progress(d, t, f"rendering {m}"), duration_s=duration_s,
                             actions=actions, clips=clips, size=size, reuse=True)
    project = Project(name="demo")
    for k, action in enumerate(material.actions):
        project.actions.append(Action(action.name, PALETTE[k % len(PALETTE)], list(action.descriptors or []),
                                      list(action.clips)))
    info = probe(material.video)
    project.videos.append(Video(str(material.video), info.duration_s, info.fps, info.frame_count))
    return project
