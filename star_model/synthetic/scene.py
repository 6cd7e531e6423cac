"""Scenes: backgrounds, clutter, occluders, a moving distractor, sensor noise and camera jitter.

A ``Scene`` is drawn once per clip (or long video) from a seeded generator.
Everything time-varying in it is a closed-form function of time in seconds so
that clips and arbitrarily long videos are rendered frame by frame without
state. Frames are RGB uint8.
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass, field

import cv2
import numpy as np

AA = cv2.LINE_AA
SHIFT = 4  # cv2 fixed-point sub-pixel bits
ONE = 1 << SHIFT


def random_color(rng: np.random.Generator, sat=(0.2, 0.9), val=(0.2, 0.95), hue=None) -> tuple[int, int, int]:
    h = rng.uniform(0, 1) if hue is None else hue
    r, g, b = colorsys.hsv_to_rgb(h, rng.uniform(*sat), rng.uniform(*val))
    return int(r * 255), int(g * 255), int(b * 255)


def luminance(c) -> float:
    c = np.asarray(c, dtype=np.float64)
    return float(c[..., 0] * 0.299 + c[..., 1] * 0.587 + c[..., 2] * 0.114) if c.ndim == 1 else float(
        (c[..., 0] * 0.299 + c[..., 1] * 0.587 + c[..., 2] * 0.114).mean())


@dataclass
class Occluder:
    kind: str  # "pole" | "box" | "disc"
    color: tuple[int, int, int]
    x: float  # frame fractions
    y: float
    w: float
    h: float
    vx: float = 0.0  # frame fractions per second (box: horizontal slide, wraps)
    amp: float = 0.0  # disc: sway amplitude
    freq: float = 0.0
    phase: float = 0.0


@dataclass
class Scene:
    size: int
    margin: int
    background: np.ndarray  # (size + 2*margin, size + 2*margin, 3) uint8
    ground: float  # frame fraction (from the top) of the ground line the figure stands on
    bg_luma: float  # luminance of the background around the figure
    occluders: list[Occluder] = field(default_factory=list)
    distractor: dict | None = None
    noise_pos: np.ndarray | None = None  # (K, H, W, 3) uint8
    noise_neg: np.ndarray | None = None
    jitter_amp: float = 0.0  # pixels
    jitter_params: np.ndarray = field(default_factory=lambda: np.zeros(6))
    blur: int = 0

    def jitter(self, t: np.ndarray) -> np.ndarray:
        """Camera offset (N, 2) in pixels at times ``t`` (s): slow drift plus hand-held shake."""
        p = self.jitter_params
        dx = np.sin(2 * np.pi * 0.21 * t + p[0]) + 0.5 * np.sin(2 * np.pi * 1.3 * t + p[1]) + 0.25 * np.sin(
            2 * np.pi * 3.1 * t + p[2])
        dy = np.sin(2 * np.pi * 0.17 * t + p[3]) + 0.5 * np.sin(2 * np.pi * 1.1 * t + p[4]) + 0.25 * np.sin(
            2 * np.pi * 2.7 * t + p[5])
        return np.stack([dx, dy], axis=-1) * (self.jitter_amp / 1.75)

    def occluder_polys(self, t: np.ndarray) -> list[tuple[str, tuple, np.ndarray]]:
        """Per occluder: (kind, colour, params (N, k) int32 in fixed point) at times ``t``."""
        s = self.size * ONE
        out = []
        for o in self.occluders:
            if o.kind == "box":
                span = 1.0 + o.w + 0.4
                x = (o.x + o.vx * t + 0.2) % span - o.w - 0.2
                x0, x1 = x * s, (x + o.w) * s
                y0, y1 = np.full_like(t, o.y * s), np.full_like(t, (o.y + o.h) * s)
                out.append(("rect", o.color, np.stack([x0, y0, x1, y1], -1).astype(np.int32)))
            elif o.kind == "pole":
                x0 = np.full_like(t, o.x * s)
                out.append(("rect", o.color, np.stack(
                    [x0, np.full_like(t, o.y * s), x0 + o.w * s, np.full_like(t, (o.y + o.h) * s)], -1).astype(np.int32)))
            else:  # disc
                x = (o.x + o.amp * np.sin(2 * np.pi * o.freq * t + o.phase)) * s
                y = (o.y + 0.5 * o.amp * np.cos(2 * np.pi * o.freq * 0.7 * t + o.phase)) * s
                out.append(("disc", o.color, np.stack([x, y, np.full_like(t, o.w * s)], -1).astype(np.int32)))
        return out

    def distractor_track(self, t: np.ndarray) -> np.ndarray | None:
        """(N, 3) fixed-point x, y, r of a ball bouncing in the background, or None."""
        d = self.distractor
        if d is None:
            return None
        s = self.size * ONE
        u = (d["x0"] + d["vx"] * t) % 2.0
        x = np.where(u < 1.0, u, 2.0 - u)
        y = d["y0"] - d["hop"] * np.abs(np.sin(2 * np.pi * d["f"] * t + d["ph"]))
        return np.stack([x * s, y * s, np.full_like(t, d["r"] * s)], -1).astype(np.int32)


def _background(rng: np.random.Generator, size: int, margin: int, ground: float) -> np.ndarray:
    full = size + 2 * margin
    yy = np.linspace(0.0, 1.0, full, dtype=np.float32)[:, None, None]
    horizon = float(np.clip(ground - rng.uniform(0.12, 0.45), 0.25, 0.8))
    wall0, wall1 = np.array(random_color(rng, (0, 0.6), (0.25, 0.95)), np.float32), np.array(
        random_color(rng, (0, 0.6), (0.25, 0.95)), np.float32)
    floor0, floor1 = np.array(random_color(rng, (0, 0.7), (0.15, 0.85)), np.float32), np.array(
        random_color(rng, (0, 0.7), (0.15, 0.85)), np.float32)
    hy = horizon * full / size  # horizon in the (larger) background's coordinates
    wall = wall0 + (wall1 - wall0) * np.clip(yy / max(hy, 1e-3), 0, 1)
    floor = floor0 + (floor1 - floor0) * np.clip((yy - hy) / max(1 - hy, 1e-3), 0, 1)
    img = np.where(yy < hy, wall, floor) * np.ones((1, full, 1), np.float32)

    # low-frequency texture
    g = int(rng.integers(3, 9))
    low = rng.normal(0, 1, (g, g, 3)).astype(np.float32)
    low = cv2.resize(low, (full, full), interpolation=cv2.INTER_CUBIC)
    img += low * rng.uniform(4, 30)
    # a pattern: wallpaper stripes, floor tiles or none
    kind = rng.integers(0, 3)
    if kind == 0:
        period = rng.uniform(0.04, 0.15) * full
        xs = np.arange(full, dtype=np.float32)[None, :, None]
        stripes = (np.sin(2 * np.pi * xs / period) > 0).astype(np.float32) * rng.uniform(8, 30)
        img += stripes * (yy < hy)
    elif kind == 1:
        img8 = np.clip(img, 0, 255).astype(np.uint8)
        col = random_color(rng, (0, 0.5), (0.1, 0.9))
        n = int(rng.integers(4, 10))
        for i in range(1, n + 1):
            y = int((hy + (1 - hy) * (i / n) ** 1.6) * full)
            cv2.line(img8, (0, y), (full, y), col, 1, AA)
        for i in range(-n, 2 * n):
            x_far = full * (0.5 + (i - n / 2) / n * 0.5)
            x_near = full * (0.5 + (i - n / 2) / n * 1.6)
            cv2.line(img8, (int(x_far), int(hy * full)), (int(x_near), full), col, 1, AA)
        img = img8.astype(np.float32)
    img8 = np.clip(img, 0, 255).astype(np.uint8)

    # clutter: furniture, frames, lamps, cables
    for _ in range(int(rng.integers(2, 10))):
        col = random_color(rng, (0.05, 0.8), (0.1, 0.95))
        k = rng.integers(0, 4)
        cx, cy = rng.uniform(0, full), rng.uniform(0, full)
        w, h = rng.uniform(0.04, 0.3) * full, rng.uniform(0.04, 0.3) * full
        if k == 0:
            cv2.rectangle(img8, (int(cx - w / 2), int(cy - h / 2)), (int(cx + w / 2), int(cy + h / 2)), col, -1, AA)
        elif k == 1:
            cv2.rectangle(img8, (int(cx - w / 2), int(cy - h / 2)), (int(cx + w / 2), int(cy + h / 2)), col,
                          max(1, int(full / 80)), AA)
        elif k == 2:
            cv2.circle(img8, (int(cx), int(cy)), int(w / 2), col, -1, AA)
        else:
            cv2.line(img8, (int(cx), int(cy)), (int(cx + w), int(cy + h * rng.choice([-1, 1]))), col,
                     max(1, int(full / 100)), AA)
    grain = rng.uniform(0, 6)
    if grain > 1:
        img8 = np.clip(img8.astype(np.int16) + rng.normal(0, grain, img8.shape).astype(np.int16), 0, 255).astype(
            np.uint8)
    return img8


def random_scene(rng: np.random.Generator, size: int, n_noise: int = 5) -> Scene:
    margin = max(2, int(np.ceil(0.04 * size)))
    ground = float(rng.uniform(0.86, 0.96))
    bg = _background(rng, size, margin, ground)
    mid = bg[margin + int(0.25 * size): margin + int(0.95 * size), margin + int(0.2 * size): margin + int(0.8 * size)]
    scene = Scene(size=size, margin=margin, background=bg, ground=ground, bg_luma=luminance(mid))

    n_occ = int(rng.choice([0, 1, 2], p=[0.45, 0.4, 0.15]))
    for _ in range(n_occ):
        kind = str(rng.choice(["pole", "box", "disc"]))
        col = random_color(rng, (0.1, 0.9), (0.1, 0.9))
        if kind == "pole":
            w = rng.uniform(0.025, 0.06)
            top = rng.uniform(-0.1, 0.4)
            scene.occluders.append(Occluder("pole", col, rng.uniform(0.05, 0.9), top, w, 1.2 - top))
        elif kind == "box":
            w, h = rng.uniform(0.12, 0.3), rng.uniform(0.08, 0.18)
            scene.occluders.append(Occluder("box", col, rng.uniform(0, 1), 1.0 - h + rng.uniform(0, 0.04), w, h,
                                            vx=float(rng.uniform(0.03, 0.12) * rng.choice([-1, 1]))))
        else:
            scene.occluders.append(Occluder("disc", col, rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.5),
                                            rng.uniform(0.03, 0.06), 0, amp=rng.uniform(0.02, 0.1),
                                            freq=rng.uniform(0.1, 0.5), phase=rng.uniform(0, 6.3)))
    if rng.uniform() < 0.3:
        scene.distractor = dict(x0=rng.uniform(0, 2), vx=rng.uniform(0.05, 0.3), y0=rng.uniform(0.3, ground),
                                hop=rng.uniform(0.0, 0.2), f=rng.uniform(0.3, 1.0), ph=rng.uniform(0, 6.3),
                                r=rng.uniform(0.02, 0.045), color=random_color(rng))
    sigma = rng.uniform(0, 7)
    if sigma > 1.0:
        noise = rng.normal(0, sigma, (n_noise, size, size, 3)).astype(np.float32)
        scene.noise_pos = np.clip(noise, 0, 255).astype(np.uint8)
        scene.noise_neg = np.clip(-noise, 0, 255).astype(np.uint8)
    scene.jitter_amp = float(rng.choice([0.0, rng.uniform(0.2, 0.025 * size)], p=[0.3, 0.7]))
    scene.jitter_params = rng.uniform(0, 2 * np.pi, 6)
    scene.blur = 3 if rng.uniform() < 0.15 else 0
    return scene
