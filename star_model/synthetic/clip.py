"""Short clips: one seeded performance of one action, 2-6 s long, 15-30 fps.

``render_clip(action, seed)`` draws everything that varies from the seed:
frame rate, speed and amplitude of each primitive, idle lead-in/out, body
proportions, clothing, position and scale, background, clutter, occluders,
camera jitter, blur and noise. Same seed -> identical pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .actions import Action, get_action
from .motion import IDLE, Stage, build_pose_track, captions_of, displacement_range, frames_from_times, plan_action_times
from .render import Appearance, Renderer
from .scene import random_scene
from .skeleton import forward_kinematics

FPS_CHOICES = (15, 20, 24, 25, 30)
MIN_CLIP_S, MAX_CLIP_S = 2.0, 6.0
X_LIMIT = 0.3  # the pelvis stays within 0.5 +- X_LIMIT of the frame width


@dataclass
class SyntheticClip:
    frames: np.ndarray  # (N, H, W, 3) uint8 RGB
    fps: float
    captions: list[str]  # one per frame
    action: Action
    stages: list[Stage]  # idle / primitive stages covering [0, N)
    joints: np.ndarray  # (N, n_joints, 3) 3D joints in body heights (for tests and analysis)

    @property
    def duration_s(self) -> float:
        return len(self.frames) / self.fps


def _rng(seed) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed))


@dataclass
class ClipPlan:
    """Everything about a clip except its pixels; ``renderer.frame(i)`` draws frame i."""

    action: Action
    fps: float
    stages: list[Stage]
    pose: dict[str, np.ndarray]
    joints: np.ndarray
    renderer: Renderer

    @property
    def n_frames(self) -> int:
        return len(self.renderer)


def render_clip(action: Action | str, seed: int | tuple[int, ...], size: int = 112, fps: float | None = None,
                duration_s: float | None = None) -> SyntheticClip:
    """Render one clip of ``action`` (an ``Action`` or its name) under ``seed`` (an int or a tuple of ints)."""
    plan = prepare_clip(action, seed, size, fps, duration_s)
    return SyntheticClip(frames=plan.renderer.render_all(), fps=plan.fps, captions=captions_of(plan.stages),
                         action=plan.action, stages=plan.stages, joints=plan.joints)


def prepare_clip(action: Action | str, seed: int | tuple[int, ...], size: int = 112, fps: float | None = None,
                 duration_s: float | None = None) -> ClipPlan:
    """Plan the clip ``render_clip`` would render (same seed, same clip) without drawing it."""
    action = get_action(action)
    rng = _rng(seed)
    if fps is None:
        fps = float(rng.choice(FPS_CHOICES))
    durs, amps, sgns = plan_action_times(action, rng)
    lead, tail = float(rng.uniform(0.1, 0.7)), float(rng.uniform(0.1, 0.7))
    target = duration_s if duration_s is not None else float(np.clip(lead + sum(durs) + tail, MIN_CLIP_S, MAX_CLIP_S))
    room = target - lead - tail
    if sum(durs) > room:  # too long: shorten idle first, then speed the primitives up
        lead, tail = min(lead, 0.1), min(tail, 0.1)
        room = max(target - lead - tail, 0.05)
        if sum(durs) > room:
            durs = [d * room / sum(durs) for d in durs]
    extra = target - lead - tail - sum(durs)
    if extra > 0:
        f = float(rng.uniform(0.2, 0.8))
        lead, tail = lead + extra * f, tail + extra * (1 - f)
    n = max(int(round(target * fps)), len(durs) + 2)

    ranges = frames_from_times([lead] + durs, fps, 0)
    stages = [Stage(IDLE, *ranges[0])]
    for (a, b), key, amp, sgn in zip(ranges[1:], action.primitives, amps, sgns):
        stages.append(Stage(key, a, b, amp, sgn, action=action.name))
    if stages[-1].end >= n:  # rounding pushed the primitives to the end: keep >= 1 idle frame
        n = stages[-1].end + 1
    stages.append(Stage(IDLE, stages[-1].end, n))

    scene = random_scene(rng, size)
    app = Appearance.random(rng, scene.bg_luma)
    # start position: keep the figure inside the frame through its steps
    lo, hi = displacement_range(action, amps)
    lim = X_LIMIT / app.scale
    a, b = -lim - lo, lim - hi
    x_start = float(rng.uniform(a, b)) if b > a else 0.0
    pose = build_pose_track(stages, fps, rng.uniform(0, 2 * np.pi, 8), x_start)
    joints = forward_kinematics(pose, app.body)
    t = np.arange(n) / fps
    ren = Renderer(scene, app, joints, pose["yaw"], t)
    return ClipPlan(action=action, fps=float(fps), stages=stages, pose=pose, joints=joints, renderer=ren)
