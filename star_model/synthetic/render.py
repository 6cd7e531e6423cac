"""Rasteriser: draws the articulated figure over a scene with OpenCV's anti-aliased primitives.

Limbs are thick anti-aliased capsules (``cv2.line`` with round caps), the torso
a filled quadrilateral plus a spine capsule (so it keeps its depth when seen
side-on), the head a disc with a hair disc set towards the back of the head
(so front and back views differ). Parts are painted far-to-near by their
depth and shaded by it. All geometry is prepared vectorised for every frame
up front; per frame only the OpenCV calls run, which is what makes rendering
fast (thousands of frames per second at 112x112 on one core).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from .scene import AA, ONE, SHIFT, Scene, luminance, random_color
from .skeleton import J, BodyShape, standing_height

SKIN_TONES = [(255, 219, 172), (241, 194, 125), (224, 172, 105), (198, 134, 66), (141, 85, 36), (92, 58, 38)]
HAIR = [(20, 16, 14), (60, 40, 25), (110, 75, 40), (200, 160, 90), (150, 60, 30), (150, 150, 150)]

LINE, POLY, CIRCLE = 0, 1, 2


@dataclass
class Appearance:
    body: BodyShape
    scale: float  # standing height as a fraction of the frame height
    colors: dict[str, tuple[int, int, int]]

    @staticmethod
    def random(rng: np.random.Generator, bg_luma: float = 128.0) -> "Appearance":
        body = BodyShape.random(rng)
        scale = float(rng.uniform(0.5, 0.66))

        def contrasting(min_diff: float, **kw) -> tuple[int, int, int]:
            best, best_d = None, -1.0
            for _ in range(30):
                c = random_color(rng, **kw)
                d = abs(luminance(c) - bg_luma)
                if d >= min_diff:
                    return c
                if d > best_d:
                    best, best_d = c, d
            return best

        skin = np.array(SKIN_TONES[int(rng.integers(len(SKIN_TONES)))], np.float64) * rng.uniform(0.9, 1.08)
        skin = tuple(int(v) for v in np.clip(skin, 0, 255))
        hair = HAIR[int(rng.integers(len(HAIR)))]
        shirt = contrasting(55.0, sat=(0.3, 1.0), val=(0.15, 1.0))
        pants = contrasting(45.0, sat=(0.1, 0.9), val=(0.1, 0.9))
        shoes = random_color(rng, (0, 0.6), (0.05, 0.5))
        long_sleeves = rng.uniform() < 0.5
        return Appearance(body, scale, dict(skin=skin, hair=hair, shirt=shirt, pants=pants, shoes=shoes,
                                            forearm=shirt if long_sleeves else skin))


# (kind, joint a, joint b, width key, colour key, depth bias)
_ITEMS = [
    (POLY, "l_sh", "r_sh", "", "shirt", -0.02),
    (LINE, "neck", "pelvis", "torso_depth", "shirt", -0.015),
    (LINE, "l_hip", "r_hip", "leg_w", "pants", -0.025),
    (LINE, "neck", "head", "neck_w", "skin", -0.01),
    (CIRCLE, "head", "head", "head_r", "skin", 0.01),
    (CIRCLE, "hair", "hair", "hair_r", "hair", 0.0),
    (LINE, "l_sh", "l_el", "limb_w", "shirt", 0.0),
    (LINE, "l_el", "l_wr", "fore_w", "forearm", 0.0),
    (LINE, "r_sh", "r_el", "limb_w", "shirt", 0.0),
    (LINE, "r_el", "r_wr", "fore_w", "forearm", 0.0),
    (LINE, "l_hip", "l_knee", "leg_w", "pants", 0.0),
    (LINE, "l_knee", "l_ank", "leg_w", "pants", 0.0),
    (LINE, "l_ank", "l_toe", "foot_w", "shoes", 0.0),
    (LINE, "r_hip", "r_knee", "leg_w", "pants", 0.0),
    (LINE, "r_knee", "r_ank", "leg_w", "pants", 0.0),
    (LINE, "r_ank", "r_toe", "foot_w", "shoes", 0.0),
]


class Renderer:
    """Renders frames of a figure (joint track) in a scene. ``frame(i)`` is pure: any order, same pixels."""

    def __init__(self, scene: Scene, appearance: Appearance, joints: np.ndarray, yaw: np.ndarray,
                 t: np.ndarray, x0: float = 0.5, frame0: int = 0):
        self.scene = scene
        self.app = appearance
        self.n = int(joints.shape[0])
        size = scene.size
        body = appearance.body
        px_per_unit = appearance.scale * size / standing_height(body)
        jit = scene.jitter(t)  # (N, 2) px
        m = scene.margin
        bg_off = np.clip(np.rint(jit), -m, m).astype(np.int64) + m
        self._bg_off = bg_off.tolist()

        # image coordinates, fixed point
        px = (x0 * size + joints[..., 0] * px_per_unit + jit[:, 0:1]) * ONE
        py = (scene.ground * size - joints[..., 1] * px_per_unit + jit[:, 1:2]) * ONE
        pts = np.stack([px, py], -1).round().astype(np.int32)  # (N, J, 2)
        self._pts = pts.tolist()
        self._torso = np.ascontiguousarray(pts[:, [J["l_sh"], J["r_sh"], J["r_hip"], J["l_hip"]]])

        widths = {
            "torso_depth": body.torso_depth, "leg_w": body.leg_w, "limb_w": body.limb_w,
            "fore_w": body.limb_w * 0.85, "foot_w": body.leg_w * 0.7, "neck_w": body.limb_w * 0.9,
            "head_r": body.head_r, "hair_r": body.head_r * 0.93, "": 0.0,
        }
        items = []
        depth = []
        base_cols = []
        for kind, a, b, wkey, ckey, bias in _ITEMS:
            w = widths[wkey] * px_per_unit
            w_int = int(round(w * ONE)) if kind == CIRCLE else max(1, int(round(w)))
            items.append((kind, J[a], J[b], w_int))
            depth.append((joints[:, J[a], 2] + joints[:, J[b], 2]) * 0.5 + bias)
            base_cols.append(appearance.colors[ckey])
        depth = np.stack(depth, 1)  # (N, K)
        self._items = items
        self._order = np.argsort(depth, axis=1, kind="stable").tolist()
        shade = np.clip(1.0 + 1.6 * depth, 0.72, 1.12)
        facing = np.cos(yaw)
        shade[:, 0] *= 0.87 + 0.13 * facing  # torso: the back of the shirt is darker
        shade[:, 1] *= 0.87 + 0.13 * facing
        cols = np.clip(np.asarray(base_cols, np.float64)[None] * shade[..., None], 0, 255).round().astype(np.int64)
        self._cols = [[tuple(c) for c in row] for row in cols.tolist()]

        self._scene_dynamics(t, (jit * ONE).round().astype(np.int32))
        k = 0 if scene.noise_pos is None else scene.noise_pos.shape[0]
        self._noise_idx = None
        if k:
            # a small bank of noise images; rolled by a per-frame offset so that frames differ
            fi = np.arange(frame0, frame0 + self.n)
            self._noise_idx = list(zip(((fi * 7 + 3) % k).tolist(), ((fi * 37) % scene.size).tolist()))

    def _scene_dynamics(self, t: np.ndarray, jfp: np.ndarray) -> None:
        """Occluders and the distractor over time, moved by the camera jitter ``jfp`` (fixed point, (N, 2))."""
        self._occ = []
        for kind, col, prm in self.scene.occluder_polys(t):
            prm = prm.copy()
            prm[:, 0] += jfp[:, 0]
            prm[:, 1] += jfp[:, 1]
            if kind == "rect":
                prm[:, 2] += jfp[:, 0]
                prm[:, 3] += jfp[:, 1]
            self._occ.append((kind, col, prm.tolist()))
        dist = self.scene.distractor_track(t)
        if dist is not None:
            dist[:, :2] += jfp
            self._dist = (self.scene.distractor["color"], dist.tolist())
        else:
            self._dist = None

    def __len__(self) -> int:
        return self.n

    def frame(self, i: int, figure: bool = True) -> np.ndarray:
        """Frame ``i``; ``figure=False`` renders the same frame without the person (for tests/masks)."""
        sc = self.scene
        s = sc.size
        ox, oy = self._bg_off[i]
        img = sc.background[oy:oy + s, ox:ox + s].copy()
        if self._dist is not None:
            col, d = self._dist
            x, y, r = d[i]
            cv2.circle(img, (x, y), r, col, -1, AA, SHIFT)
        P = self._pts[i]
        cols = self._cols[i]
        items = self._items
        for k in (self._order[i] if figure else ()):
            kind, a, b, w = items[k]
            if kind == LINE:
                cv2.line(img, P[a], P[b], cols[k], w, AA, SHIFT)
            elif kind == CIRCLE:
                cv2.circle(img, P[a], w, cols[k], -1, AA, SHIFT)
            else:
                cv2.fillConvexPoly(img, self._torso[i], cols[k], AA, SHIFT)
        for kind, col, prm in self._occ:
            p = prm[i]
            if kind == "rect":
                cv2.rectangle(img, (p[0], p[1]), (p[2], p[3]), col, -1, AA, SHIFT)
            else:
                cv2.circle(img, (p[0], p[1]), p[2], col, -1, AA, SHIFT)
        if sc.blur:
            img = cv2.GaussianBlur(img, (sc.blur, sc.blur), 0)
        if self._noise_idx is not None:
            k, roll = self._noise_idx[i]
            pos, neg = sc.noise_pos[k], sc.noise_neg[k]
            if roll:
                pos = np.roll(pos, roll, axis=1)
                neg = np.roll(neg, roll, axis=0)
            cv2.add(img, pos, dst=img)
            cv2.subtract(img, neg, dst=img)
        return img

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(self.n):
            yield self.frame(i)

    def render_all(self) -> np.ndarray:
        out = np.empty((self.n, self.scene.size, self.scene.size, 3), np.uint8)
        for i in range(self.n):
            out[i] = self.frame(i)
        return out
