"""Primitive movements: pose trajectories that start and end in the rest pose.

Each primitive maps normalised time ``u`` in [0, 1] (an array over its frames),
an amplitude factor (about 0.85-1.1) and a direction sign (for turns/spins) to
pose-channel deltas from the rest pose (see ``skeleton.CHANNELS``). All of
them are zero at u=0 and u=1 except ``root_x`` for the two steps, which ends
displaced by the step (the figure stays where it stepped to).

Every primitive carries the text the rest of the project uses for it:
``phrase`` (imperative, used to build action names: "raise the left arm"),
``descriptor`` (a stage sentence: "a person raises the left arm above the
head") and ``caption`` (per-frame caption: "a person raising the left arm").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .skeleton import DEG, empty_pose

IDLE_CAPTION = "a person standing still"
STEP_SIZE = 0.3  # body heights


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def bump(u: np.ndarray, a: float, b: float) -> np.ndarray:
    """0 at u<=0, smoothly up to 1 at u=a, holds to u=b, smoothly back to 0 at u=1."""
    return smoothstep(u / a) * (1.0 - smoothstep((u - b) / (1.0 - b)))


def window(u: np.ndarray, a: float, b: float) -> np.ndarray:
    """Local time in [0, 1] over [a, b] (clipped)."""
    return np.clip((u - a) / (b - a), 0.0, 1.0)


def _osc(u: np.ndarray, a: float, b: float, cycles: float) -> np.ndarray:
    """0..1 oscillation (1 - cos)/2 with ``cycles`` periods inside [a, b], zero outside."""
    v = window(u, a, b)
    return 0.5 - 0.5 * np.cos(2 * np.pi * cycles * v)


Traj = dict[str, np.ndarray]


def _raise(side: str):
    def f(u, amp, sgn):
        e = bump(u, 0.35, 0.65)
        return {f"{side}_arm_abd": e * 158 * DEG * amp, f"{side}_elbow": -e * 6 * DEG}
    return f


def _raise_both(u, amp, sgn):
    e = bump(u, 0.35, 0.65)
    return {"l_arm_abd": e * 160 * DEG * amp, "r_arm_abd": e * 160 * DEG * amp,
            "l_elbow": -e * 6 * DEG, "r_elbow": -e * 6 * DEG}


def _arms_out(u, amp, sgn):
    e = bump(u, 0.3, 0.7)
    a = e * 82 * DEG * amp
    return {"l_arm_abd": a, "r_arm_abd": a, "l_elbow": -e * 8 * DEG, "r_elbow": -e * 8 * DEG}


def _wave(side: str):
    def f(u, amp, sgn):
        e = bump(u, 0.2, 0.8)
        osc = _osc(u, 0.2, 0.8, 3.0)
        return {f"{side}_arm_abd": e * 95 * DEG, f"{side}_elbow": e * (25 + 60 * amp * osc) * DEG}
    return f


def _clap(u, amp, sgn):
    e = bump(u, 0.2, 0.8)
    osc = _osc(u, 0.2, 0.8, 3.0)  # 0 = hands together, 1 = apart
    a = e * 75 * DEG
    h = e * (108 - 55 * amp * osc) * DEG
    return {"l_arm_abd": a, "r_arm_abd": a, "l_arm_horiz": h, "r_arm_horiz": h,
            "l_elbow": -e * 8 * DEG, "r_elbow": -e * 8 * DEG}


def _squat(u, amp, sgn):
    e = bump(u, 0.38, 0.62) * amp
    out = {"l_leg_flex": e * 95 * DEG, "r_leg_flex": e * 95 * DEG,
           "l_knee": e * 125 * DEG, "r_knee": e * 125 * DEG,
           "l_leg_abd": e * 12 * DEG, "r_leg_abd": e * 12 * DEG,
           "pitch": e * 22 * DEG, "l_arm_abd": e * 40 * DEG, "r_arm_abd": e * 40 * DEG,
           "l_elbow": e * 50 * DEG, "r_elbow": e * 50 * DEG}
    return out


def _crouch(e):
    return {"l_leg_flex": e * 45 * DEG, "r_leg_flex": e * 45 * DEG,
            "l_knee": e * 70 * DEG, "r_knee": e * 70 * DEG, "pitch": e * 10 * DEG}


def _add(a: Traj, b: Traj) -> Traj:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0.0) + v
    return out


def _jump(u, amp, sgn):
    crouch = bump(window(u, 0.0, 0.35), 0.5, 0.6) + bump(window(u, 0.68, 1.0), 0.3, 0.45)
    flight = np.sin(np.pi * window(u, 0.3, 0.7))
    out = _crouch(crouch)
    out["root_y"] = flight * 0.2 * amp
    arms = bump(window(u, 0.25, 0.75), 0.3, 0.7)
    out = _add(out, {"l_arm_abd": arms * 125 * DEG, "r_arm_abd": arms * 125 * DEG,
                     "l_knee": flight * 20 * DEG, "r_knee": flight * 20 * DEG})
    return out


def _jumping_jack(u, amp, sgn):
    out: Traj = {}
    for a, b in ((0.0, 0.5), (0.5, 1.0)):
        v = window(u, a, b)
        crouch = bump(window(v, 0.0, 0.25), 0.5, 0.6) * 0.6 + bump(window(v, 0.8, 1.0), 0.4, 0.5) * 0.6
        flight = np.sin(np.pi * window(v, 0.2, 0.8))
        open_ = bump(window(v, 0.15, 0.85), 0.35, 0.65)
        out = _add(out, _crouch(crouch))
        out = _add(out, {"root_y": flight * 0.1 * amp,
                         "l_arm_abd": open_ * 165 * DEG, "r_arm_abd": open_ * 165 * DEG,
                         "l_leg_abd": open_ * 24 * DEG * amp, "r_leg_abd": open_ * 24 * DEG * amp})
    return out


def _step(direction: float):
    # direction +1: the person's left (image right when facing the camera)
    lead, trail = ("l", "r") if direction > 0 else ("r", "l")

    def f(u, amp, sgn):
        lift1 = bump(window(u, 0.0, 0.55), 0.45, 0.55)
        lift2 = bump(window(u, 0.45, 1.0), 0.45, 0.55)
        return {"root_x": direction * STEP_SIZE * amp * smoothstep(window(u, 0.1, 0.9)),
                f"{lead}_leg_abd": lift1 * 28 * DEG, f"{lead}_knee": lift1 * 25 * DEG,
                f"{trail}_leg_abd": lift2 * 20 * DEG, f"{trail}_knee": lift2 * 25 * DEG,
                f"{lead}_arm_abd": (lift1 + lift2) * 12 * DEG, f"{trail}_arm_abd": (lift1 + lift2) * 12 * DEG}
    return f


def _bend(u, amp, sgn):
    e = bump(u, 0.38, 0.62)
    p = e * 78 * DEG * amp
    return {"pitch": p, "l_arm_flex": p, "r_arm_flex": p, "l_leg_flex": e * 12 * DEG,
            "r_leg_flex": e * 12 * DEG, "l_knee": e * 8 * DEG, "r_knee": e * 8 * DEG}


def _kick(side: str):
    other = "r" if side == "l" else "l"

    def f(u, amp, sgn):
        chamber = bump(window(u, 0.0, 0.5), 0.6, 0.7)
        ext = bump(window(u, 0.25, 0.85), 0.4, 0.6)
        return {f"{side}_leg_abd": ext * 45 * DEG * amp, f"{side}_leg_flex": (chamber * 60 + ext * 30) * DEG,
                f"{side}_knee": (chamber * 90 - ext * 40).clip(0) * DEG,
                f"{other}_arm_abd": ext * 55 * DEG, f"{side}_arm_abd": ext * 30 * DEG,
                "lean": -(1 if side == "l" else -1) * ext * 10 * DEG}
    return f


def _turn(u, amp, sgn):
    e = bump(u, 0.35, 0.65)
    return {"yaw": sgn * e * np.pi}


def _spin(u, amp, sgn):
    arms = bump(u, 0.15, 0.85)
    return {"yaw": sgn * 2 * np.pi * smoothstep(window(u, 0.15, 0.85)),
            "l_arm_abd": arms * 70 * DEG, "r_arm_abd": arms * 70 * DEG}


def _lean(direction: float):
    def f(u, amp, sgn):
        e = bump(u, 0.35, 0.65)
        far = "r" if direction > 0 else "l"  # the arm on the far side goes over the head
        return {"lean": direction * e * 32 * DEG * amp, f"{far}_arm_abd": e * 140 * DEG,
                f"{far}_elbow": e * 20 * DEG}
    return f


@dataclass(frozen=True)
class Primitive:
    key: str
    phrase: str
    descriptor: str
    caption: str
    duration_s: float  # at speed 1
    fn: Callable[[np.ndarray, float, float], Traj]
    displacement: float = 0.0  # net root_x displacement at amp 1 (body heights)

    def trajectory(self, n: int, amp: float = 1.0, sgn: float = 1.0) -> dict[str, np.ndarray]:
        """Pose deltas over ``n`` frames (u sampled at frame centres, ends pinned to rest)."""
        u = np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)
        pose = empty_pose(n)
        for k, v in self.fn(u, amp, sgn).items():
            pose[k] = pose[k] + np.broadcast_to(v, (n,))
        return pose


_P = [
    Primitive("raise_left_arm", "raise the left arm", "a person raises the left arm above the head",
              "a person raising the left arm", 1.2, _raise("l")),
    Primitive("raise_right_arm", "raise the right arm", "a person raises the right arm above the head",
              "a person raising the right arm", 1.2, _raise("r")),
    Primitive("raise_both_arms", "raise both arms", "a person raises both arms above the head",
              "a person raising both arms", 1.2, _raise_both),
    Primitive("arms_out", "stretch the arms out", "a person stretches both arms out to the sides",
              "a person stretching the arms out", 1.2, _arms_out),
    Primitive("wave_left", "wave the left hand", "a person waves the left hand in the air",
              "a person waving the left hand", 1.8, _wave("l")),
    Primitive("wave_right", "wave the right hand", "a person waves the right hand in the air",
              "a person waving the right hand", 1.8, _wave("r")),
    Primitive("clap", "clap", "a person claps the hands together in front of the chest",
              "a person clapping", 1.6, _clap),
    Primitive("squat", "squat", "a person bends the knees into a squat and stands back up",
              "a person squatting", 1.3, _squat),
    Primitive("jump", "jump", "a person jumps up into the air and lands",
              "a person jumping", 1.1, _jump),
    Primitive("jumping_jack", "do a jumping jack", "a person jumps spreading the arms and legs wide",
              "a person doing jumping jacks", 1.6, _jumping_jack),
    Primitive("step_left", "step left", "a person steps sideways to the left",
              "a person stepping to the left", 0.9, _step(+1.0), STEP_SIZE),
    Primitive("step_right", "step right", "a person steps sideways to the right",
              "a person stepping to the right", 0.9, _step(-1.0), -STEP_SIZE),
    Primitive("bend", "bend forward", "a person bends forward at the waist and straightens up",
              "a person bending forward", 1.5, _bend),
    Primitive("kick_left", "kick with the left leg", "a person kicks out with the left leg",
              "a person kicking with the left leg", 1.1, _kick("l")),
    Primitive("kick_right", "kick with the right leg", "a person kicks out with the right leg",
              "a person kicking with the right leg", 1.1, _kick("r")),
    Primitive("turn", "turn around", "a person turns around to face away and turns back",
              "a person turning around", 1.8, _turn),
    Primitive("spin", "spin around", "a person spins around a full circle with the arms out",
              "a person spinning around", 1.5, _spin),
    Primitive("lean_left", "lean left", "a person leans the upper body to the left",
              "a person leaning to the left", 1.3, _lean(+1.0)),
    Primitive("lean_right", "lean right", "a person leans the upper body to the right",
              "a person leaning to the right", 1.3, _lean(-1.0)),
]

PRIMITIVES: dict[str, Primitive] = {p.key: p for p in _P}


def idle_trajectory(t: np.ndarray, phase: np.ndarray) -> dict[str, np.ndarray]:
    """Small idle sway/breathing as a function of absolute time ``t`` (seconds); added everywhere."""
    ph = phase
    return {
        "lean": 1.6 * DEG * np.sin(2 * np.pi * 0.23 * t + ph[0]),
        "pitch": 1.2 * DEG * np.sin(2 * np.pi * 0.17 * t + ph[1]),
        "l_arm_abd": 2.5 * DEG * np.sin(2 * np.pi * 0.31 * t + ph[2]),
        "r_arm_abd": 2.5 * DEG * np.sin(2 * np.pi * 0.29 * t + ph[3]),
        "l_elbow": 3.0 * DEG * np.sin(2 * np.pi * 0.21 * t + ph[4]),
        "r_elbow": 3.0 * DEG * np.sin(2 * np.pi * 0.19 * t + ph[5]),
        "root_x": 0.006 * np.sin(2 * np.pi * 0.11 * t + ph[6]),
    }
