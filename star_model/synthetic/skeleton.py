"""Articulated 2.5D body model of the synthetic world.

A pose is a set of named angle/offset *channels* (see ``CHANNELS``), each an
array over frames. ``forward_kinematics`` turns a pose track into 3D joint
positions (units: body heights; x = the person's left, y = up, z = towards the
camera), vectorised over all frames at once. Turning ("yaw") rotates the whole
body about the vertical axis through the pelvis, which gives the
foreshortening of shoulders, hips and limbs that makes turns and spins visible
in an orthographic side-on projection.

Facing the camera (yaw 0) the person's left arm appears on the *right* of the
image, as in a real video of a person facing the camera.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEG = np.pi / 180.0

#: pose channels; all angles in radians, offsets in body heights
CHANNELS: tuple[str, ...] = (
    "root_x",  # horizontal position of the pelvis (body heights, relative to the start point)
    "root_y",  # height of the lowest foot above the ground (jumps)
    "yaw",  # rotation about the vertical axis (0 = facing the camera)
    "pitch",  # torso bend forward
    "lean",  # torso tilt sideways (positive: towards the person's left)
    "l_arm_abd", "l_arm_flex", "l_arm_horiz", "l_elbow",
    "r_arm_abd", "r_arm_flex", "r_arm_horiz", "r_elbow",
    "l_leg_abd", "l_leg_flex", "l_knee",
    "r_leg_abd", "r_leg_flex", "r_knee",
)

#: the neutral rest pose (arms hanging slightly away from the body)
REST_POSE: dict[str, float] = {
    "l_arm_abd": 9 * DEG, "r_arm_abd": 9 * DEG,
    "l_elbow": 8 * DEG, "r_elbow": 8 * DEG,
    "l_leg_abd": 3 * DEG, "r_leg_abd": 3 * DEG,
}

JOINTS: tuple[str, ...] = (
    "pelvis", "neck", "head", "hair",
    "l_sh", "r_sh", "l_el", "r_el", "l_wr", "r_wr",
    "l_hip", "r_hip", "l_knee", "r_knee", "l_ank", "r_ank", "l_toe", "r_toe",
)
J = {name: i for i, name in enumerate(JOINTS)}


@dataclass(frozen=True)
class BodyShape:
    """Segment lengths and widths in body heights (a standing body is ~1.0 tall)."""

    head_r: float = 0.068
    neck: float = 0.035
    torso: float = 0.30
    shoulder_w: float = 0.23
    hip_w: float = 0.14
    upper_arm: float = 0.165
    forearm: float = 0.16
    thigh: float = 0.235
    shin: float = 0.225
    foot: float = 0.06
    limb_w: float = 0.052
    leg_w: float = 0.062
    torso_depth: float = 0.11

    @staticmethod
    def random(rng: np.random.Generator) -> "BodyShape":
        def j(v: float, s: float = 0.08) -> float:
            return float(v * (1.0 + rng.uniform(-s, s)))

        return BodyShape(
            head_r=j(0.068, 0.1), neck=j(0.035, 0.2), torso=j(0.30), shoulder_w=j(0.23, 0.12),
            hip_w=j(0.14, 0.12), upper_arm=j(0.165), forearm=j(0.16), thigh=j(0.235),
            shin=j(0.225), foot=j(0.06, 0.15), limb_w=j(0.052, 0.2), leg_w=j(0.062, 0.2),
            torso_depth=j(0.11, 0.15),
        )


def empty_pose(n: int) -> dict[str, np.ndarray]:
    """A pose track of ``n`` frames, all channels zero (deltas from the rest pose)."""
    return {c: np.zeros(n, dtype=np.float64) for c in CHANNELS}


def _limb_dir(abd: np.ndarray, flex: np.ndarray, horiz: np.ndarray | float, sg: float) -> np.ndarray:
    """Unit direction of a limb hanging down, abducted (frontal plane), flexed forward, swung horizontally."""
    x = sg * np.sin(abd)
    y = -np.cos(abd)
    z = np.zeros_like(x)
    cf, sf = np.cos(flex), np.sin(flex)
    y, z = y * cf + z * sf, z * cf - y * sf
    horiz = np.broadcast_to(np.asarray(horiz, dtype=np.float64), x.shape)
    ch, sh = np.cos(horiz), sg * np.sin(horiz)
    x, z = x * ch - z * sh, x * sh + z * ch
    return np.stack([x, y, z], axis=-1)


def _torso_rot(v: np.ndarray, pitch: np.ndarray, lean: np.ndarray) -> np.ndarray:
    """Rotate vectors (N,3) or (3,) by torso pitch (forward) then lean (sideways)."""
    v = np.broadcast_to(v, pitch.shape + (3,))
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    cp, sp = np.cos(pitch), np.sin(pitch)
    y, z = y * cp - z * sp, z * cp + y * sp
    cl, sl = np.cos(lean), np.sin(lean)
    x, y = x * cl + y * sl, y * cl - x * sl
    return np.stack([x, y, z], axis=-1)


def forward_kinematics(pose: dict[str, np.ndarray], body: BodyShape) -> np.ndarray:
    """Joint positions (N, len(JOINTS), 3) for a pose track of deltas from ``REST_POSE``."""
    p = {c: np.asarray(pose[c], dtype=np.float64) + REST_POSE.get(c, 0.0) for c in CHANNELS}
    n = p["yaw"].shape[0]
    out = np.zeros((n, len(JOINTS), 3))
    pitch, lean = p["pitch"], p["lean"]

    # legs first: they decide the pelvis height (lowest foot on the ground + root_y)
    legs = {}
    for side, sg in (("l", 1.0), ("r", -1.0)):
        hip = np.array([sg * body.hip_w / 2, 0.0, 0.0])
        thigh = _limb_dir(p[f"{side}_leg_abd"], p[f"{side}_leg_flex"], 0.0, sg) * body.thigh
        shin = _limb_dir(p[f"{side}_leg_abd"], p[f"{side}_leg_flex"] - p[f"{side}_knee"], 0.0, sg) * body.shin
        knee = hip + thigh
        ank = knee + shin
        toe = ank + np.array([sg * 0.34, -0.01, 0.94]) * body.foot
        legs[side] = (hip, knee, ank, toe)
    lowest = np.minimum(legs["l"][2][:, 1], legs["r"][2][:, 1])
    pelvis_y = p["root_y"] - lowest + 0.025

    neck = _torso_rot(np.array([0.0, body.torso, 0.0]), pitch, lean)
    head = neck + _torso_rot(np.array([0.0, body.neck + body.head_r, 0.0]), pitch, lean)
    hair = head + _torso_rot(np.array([0.0, 0.38 * body.head_r, -0.45 * body.head_r]), pitch, lean)
    out[:, J["neck"]] = neck
    out[:, J["head"]] = head
    out[:, J["hair"]] = hair
    for side, sg in (("l", 1.0), ("r", -1.0)):
        sh = neck + _torso_rot(np.array([sg * body.shoulder_w / 2, -0.02, 0.0]), pitch, lean)
        up = _limb_dir(p[f"{side}_arm_abd"], p[f"{side}_arm_flex"], p[f"{side}_arm_horiz"], sg)
        lo = _limb_dir(p[f"{side}_arm_abd"] + p[f"{side}_elbow"], p[f"{side}_arm_flex"], p[f"{side}_arm_horiz"], sg)
        el = sh + _torso_rot(up, pitch, lean) * body.upper_arm
        wr = el + _torso_rot(lo, pitch, lean) * body.forearm
        out[:, J[f"{side}_sh"]] = sh
        out[:, J[f"{side}_el"]] = el
        out[:, J[f"{side}_wr"]] = wr
        hip, knee, ank, toe = legs[side]
        out[:, J[f"{side}_hip"]] = hip
        out[:, J[f"{side}_knee"]] = knee
        out[:, J[f"{side}_ank"]] = ank
        out[:, J[f"{side}_toe"]] = toe

    # yaw about the vertical axis through the pelvis, then place the pelvis
    cy, sy = np.cos(p["yaw"])[:, None], np.sin(p["yaw"])[:, None]
    x, z = out[..., 0].copy(), out[..., 2].copy()
    out[..., 0] = x * cy + z * sy + p["root_x"][:, None]
    out[..., 2] = -x * sy + z * cy
    out[..., 1] += pelvis_y[:, None]
    return out


def standing_height(body: BodyShape) -> float:
    """Height of the top of the head above the ground in the rest pose."""
    j = forward_kinematics(empty_pose(1), body)
    return float(j[0, J["head"], 1] + body.head_r)
