"""Old labels become examples, end to end on the synthetic world with the bundled model: one long video
labeled by its ground truth and exported to BORIS, imported into a fresh project, examples made from it,
the other videos labeled and scored (F1@50 against their ground truth)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from star_app.services.interchange import picks_by_label
from star_model.data.interchange import VideoLabels, write_labels
from star_model.engine.metrics import f1_at, frame_labels
from star_model.schema import BACKGROUND, Segment
from star_model.synthetic import compose_long_video, split_actions
from star_model.video import probe, write_video

from .conftest import wait_idle

BEHAVIOURS = [a.name for a in split_actions("test")[:3]]
DURATIONS_S = (60.0, 30.0, 30.0)
MIN_MEAN_F1_50 = 0.6


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Path, list[Path], dict[str, list[Segment]]]:
    """Three long videos of three behaviours (own scenes and people); the first coded in BORIS from its truth."""
    out = tmp_path_factory.mktemp("coded")
    videos, truth = [], {}
    for i, duration in enumerate(DURATIONS_S):
        video = compose_long_video(BEHAVIOURS, (7, i), duration_s=duration, name=f"video_{i}")
        path = write_video(out / f"{video.name}.mp4", video.frames(), video.fps)
        videos.append(Path(path))
        truth[Path(path).name] = video.segments
    info = probe(videos[0])
    write_labels("boris", [VideoLabels(str(videos[0]), truth[videos[0].name], info.fps, info.frame_count,
                                       info.duration_s)], out / "coded.boris")
    return out / "coded.boris", videos, truth


def test_boris_labels_of_one_video_label_the_others(make_window, qtbot, world):
    boris, videos, truth = world
    window = make_window()  # a fresh project; the bundled model
    window.files.drop_videos([str(v) for v in videos[1:]])
    assert window.interchange.import_file(boris)
    coded = str(videos[0].resolve())
    assert window.state.project.video(coded) is not None
    picks = picks_by_label(window.state.project.annotations, 3)
    assert set(picks) == {s.label for s in truth[videos[0].name] if s.label != BACKGROUND}
    chosen = [(label, video, seg) for label, rows in picks.items() for video, seg in rows]
    assert window.interchange.make_examples(chosen, label_after=True) == len(chosen)
    wait_idle(qtbot, window, timeout_s=600)
    assert window.last_message == ("", ""), window.last_message
    scores = []
    for path in videos[1:]:
        segments = window.state.segments(str(path.resolve()))
        assert segments, path.name
        times = np.arange(0.0, DURATIONS_S[1], 0.25)
        scores.append(f1_at(frame_labels(segments, times), frame_labels(truth[path.name], times), 0.5))
    print(f"examples from labels: F1@50 of the other videos {[round(s, 3) for s in scores]}, "
          f"mean {np.mean(scores):.3f}")
    assert np.mean(scores) >= MIN_MEAN_F1_50
    assert window.state.segments(coded)[0].source == "manual"  # the coded video kept its labels
