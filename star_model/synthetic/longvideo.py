"""Long videos: a seeded sequence of actions separated by idle stretches, with ground truth.

One person in one scene performs actions drawn (with replacement) from the
given list, separated by idle stretches (standing with a small sway) of
``idle_s`` seconds. The ground truth is a list of ``Segment``s covering every
frame exactly once, in order: each action instance is one segment labelled
with the action's name (from the first frame of its first primitive to the
last frame of its last primitive), every idle stretch one segment labelled
``"background"``.

Frame/time convention: ``start_frame`` is inclusive, ``end_frame`` exclusive;
``start_s = start_frame / fps``, ``end_s = end_frame / fps`` (so consecutive
segments share the boundary time, the first starts at 0 and the last ends at
``n_frames / fps``), ``duration_s = end_s - start_s``.

CSV (``star_model.engine.export.write_segments_csv``, the project's segment CSV); ``video`` is the
video's file name (e.g. ``long_000.mp4``), ``confidence`` 1.0 and ``source``
``ground_truth``.

Frames are generated lazily (``LongVideo.frames()`` renders chunk by chunk)
so a long video is never held in memory.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from star_model.data.label_csv import write_segments_csv
from star_model.schema import BACKGROUND, Segment
from .actions import Action, get_action
from .clip import X_LIMIT, _rng
from .motion import IDLE, Stage, build_pose_track, captions_of, displacement_range, frames_from_times, plan_action_times
from .primitives import PRIMITIVES
from .render import Appearance, Renderer
from .scene import Scene, random_scene
from .skeleton import forward_kinematics

CHUNK = 256


def _segment(label: str, start: int, end: int, fps: float) -> Segment:
    return Segment(label, start / fps, end / fps, int(start), int(end), confidence=1.0, source="ground_truth")


@dataclass
class LongVideo:
    name: str
    fps: float
    size: int
    n_frames: int
    segments: list[Segment]
    stages: list[Stage]
    scene: Scene = field(repr=False)
    appearance: Appearance = field(repr=False)
    pose: dict = field(repr=False)

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.fps

    @property
    def captions(self) -> list[str]:
        return captions_of(self.stages)

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """Render frames [start, stop) one by one (chunked kinematics, nothing kept)."""
        stop = self.n_frames if stop is None else min(stop, self.n_frames)
        for a in range(start, stop, CHUNK):
            b = min(a + CHUNK, stop)
            pose = {k: v[a:b] for k, v in self.pose.items()}
            joints = forward_kinematics(pose, self.appearance.body)
            ren = Renderer(self.scene, self.appearance, joints, pose["yaw"], np.arange(a, b) / self.fps, frame0=a)
            yield from ren

    def write_segments_csv(self, path: str | Path, video: str | None = None) -> Path:
        """The ground truth in the segment CSV format (source ``ground_truth``)."""
        return write_segments_csv(path, video if video is not None else f"{self.name}.mp4", self.segments)


def compose_long_video(actions: Sequence[Action | str], seed: int | tuple[int, ...], duration_s: float = 120.0,
                       size: int = 112, fps: float = 25.0, name: str = "long_000",
                       idle_s: tuple[float, float] = (1.0, 4.0)) -> LongVideo:
    """Plan a long video of ``actions`` (drawn at random, seeded) with idle stretches and its ground truth."""
    actions = [get_action(a) for a in actions]
    rng = _rng(seed)
    n_total = max(1, int(round(duration_s * fps)))
    scene = random_scene(rng, size)
    app = Appearance.random(rng, scene.bg_luma)
    lim = X_LIMIT / app.scale
    x = float(rng.uniform(-lim / 2, lim / 2))
    x_start = x
    min_tail = int(round(0.5 * fps))

    stages: list[Stage] = []
    segments: list[Segment] = []
    pos = 0
    idle_n = max(1, int(round(rng.uniform(*idle_s) * fps)))
    while actions:
        action = actions[int(rng.integers(len(actions)))]
        durs, amps, sgns = plan_action_times(action, rng)
        lo, hi = displacement_range(action, amps)
        glide = 0.0
        if x + lo < -lim or x + hi > lim:
            glide = float(rng.uniform(-lim - lo, lim - hi)) - x if lim - hi > -lim - lo else -x
        ranges = frames_from_times(durs, fps, start=pos + idle_n, min_frames=3)
        if ranges[-1][1] + min_tail > n_total:
            break
        stages.append(Stage(IDLE, pos, pos + idle_n, glide=glide))
        segments.append(_segment(BACKGROUND, pos, pos + idle_n, fps))
        for (a, b), key, amp, sgn in zip(ranges, action.primitives, amps, sgns):
            stages.append(Stage(key, a, b, amp, sgn, action=action.name))
        segments.append(_segment(action.name, ranges[0][0], ranges[-1][1], fps))
        pos = ranges[-1][1]
        x += glide + sum(PRIMITIVES[k].displacement * a for k, a in zip(action.primitives, amps))
        idle_n = max(1, int(round(rng.uniform(*idle_s) * fps)))
    stages.append(Stage(IDLE, pos, n_total))
    segments.append(_segment(BACKGROUND, pos, n_total, fps))
    pose = build_pose_track(stages, fps, rng.uniform(0, 2 * np.pi, 8), x_start)
    return LongVideo(name=name, fps=float(fps), size=size, n_frames=n_total, segments=segments, stages=stages,
                     scene=scene, appearance=app, pose=pose)
