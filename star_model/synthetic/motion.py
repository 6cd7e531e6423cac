"""Motion timelines: stages (idle stretches and primitives) laid out in frames -> a pose track.

A timeline is a list of ``Stage``s covering frames [0, n) without gaps; each
primitive stage gets its primitive's trajectory resampled to its frame count,
idle stages hold the rest pose (optionally gliding sideways to a new position),
and a small idle sway (a function of absolute time) is added everywhere.
``root_x`` carries over from stage to stage, so a figure that stepped left
stays there.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .actions import Action
from .primitives import IDLE_CAPTION, PRIMITIVES, idle_trajectory, smoothstep
from .skeleton import CHANNELS, empty_pose

IDLE = "idle"


@dataclass(frozen=True)
class Stage:
    key: str  # a primitive key or "idle"
    start: int  # first frame (inclusive)
    end: int  # end frame (exclusive)
    amp: float = 1.0
    sgn: float = 1.0
    glide: float = 0.0  # idle only: root_x change over the stage (body heights)
    action: str | None = None  # name of the action instance this stage belongs to

    @property
    def caption(self) -> str:
        return IDLE_CAPTION if self.key == IDLE else PRIMITIVES[self.key].caption


def build_pose_track(stages: list[Stage], fps: float, sway_phase: np.ndarray, x_start: float = 0.0):
    """Pose channels (dict of (N,) arrays) for a gap-free list of stages."""
    n = stages[-1].end
    pose = empty_pose(n)
    x = x_start
    for st in stages:
        m = st.end - st.start
        if m <= 0:
            continue
        sl = slice(st.start, st.end)
        if st.key == IDLE:
            pose["root_x"][sl] = x + st.glide * smoothstep(np.linspace(0, 1, m))
            x += st.glide
            continue
        traj = PRIMITIVES[st.key].trajectory(m, st.amp, st.sgn)
        for c in CHANNELS:
            pose[c][sl] = traj[c]
        pose["root_x"][sl] += x
        x = float(pose["root_x"][st.end - 1])
    t = np.arange(n) / fps
    for c, v in idle_trajectory(t, sway_phase).items():
        pose[c] += v
    return pose


def captions_of(stages: list[Stage]) -> list[str]:
    out: list[str] = []
    for st in stages:
        out.extend([st.caption] * (st.end - st.start))
    return out


def plan_action_times(action: Action, rng: np.random.Generator, speed: float | None = None):
    """Per-primitive durations (s), amplitudes and direction signs for one performance of ``action``."""
    if speed is None:
        speed = float(rng.uniform(0.8, 1.25))
    durs, amps, sgns = [], [], []
    for key in action.primitives:
        durs.append(PRIMITIVES[key].duration_s * float(rng.uniform(0.9, 1.1)) / speed)
        amps.append(float(rng.uniform(0.85, 1.1)))
        sgns.append(float(rng.choice([-1.0, 1.0])))
    return durs, amps, sgns


def displacement_range(action: Action, amps: list[float]) -> tuple[float, float]:
    """Min and max of the cumulative sideways displacement during the action (body heights)."""
    x, lo, hi = 0.0, 0.0, 0.0
    for key, a in zip(action.primitives, amps):
        x += PRIMITIVES[key].displacement * a
        lo, hi = min(lo, x), max(hi, x)
    return lo, hi


def frames_from_times(times: list[float], fps: float, start: int = 0, min_frames: int = 1) -> list[tuple[int, int]]:
    """Contiguous (start, end) frame ranges for consecutive durations, rounding cumulative times."""
    out = []
    acc = start / fps
    prev = start
    for d in times:
        acc += d
        end = max(prev + min_frames, int(round(acc * fps)))
        out.append((prev, end))
        prev = end
    return out
