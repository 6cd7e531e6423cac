"""Shared video fixtures: small real files encoded with PyAV (see videos_util.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.model import videos_util

SHARED_VIDEOS = Path(__file__).resolve().parents[2].parent / "shared" / "videos"


@pytest.fixture(scope="session")
def make_video():
    """``make_video(path, frames=32, fps=8.0, codec=None, *, size=(64, 48), times_s=None,
    rotation=0, options=None) -> Path``; frames carry their index (videos_util.frame_code)."""
    return videos_util.make_video


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session-wide folder for videos that tests only read."""
    return tmp_path_factory.mktemp("videos")


@pytest.fixture(scope="session")
def small_mp4(video_dir: Path) -> Path:
    """64x48 H.264 (or mpeg4) MP4: 32 frames at 8 fps (4.0 s), frame i coded with i."""
    return videos_util.make_video(video_dir / "small.mp4", 32, 8.0)


@pytest.fixture(scope="session")
def shared_videos() -> Path:
    """The real sample videos in ../shared/videos; skips when the folder is absent."""
    if not SHARED_VIDEOS.is_dir():
        pytest.skip(f"real sample videos not present ({SHARED_VIDEOS})")
    return SHARED_VIDEOS


@pytest.fixture(scope="session")
def synth_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic set: 3 test actions x 2 clips (DIR/<action>/) and one 30 s long video (DIR/long/)."""
    from star_model.synthetic import split_actions, write_dataset

    root = tmp_path_factory.mktemp("synth")
    names = [a.name for a in split_actions("test")[:3]]
    write_dataset(root, split="test", clips_per_action=2, long_videos=1, long_duration_s=30, seed=3, actions=names)
    return root


@pytest.fixture(scope="session")
def tiny_model():
    """star-tiny with random towers, seeded (labeling structure, not quality, is under test)."""
    import torch

    from star_model import create_model

    torch.manual_seed(0)
    return create_model("star-tiny")
