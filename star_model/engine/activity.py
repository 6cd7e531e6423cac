"""Background evidence per frame, calibrated on the video itself: is the person acting or at rest?

Three cues, each normalised by the video's own spread (its 10 % and 90 % quantiles), so that a
calm and a busy video, a clean and a noisy scene, speak the same units:

- **motion**: how far a frame's feature moved from its neighbours (``1 - cos``, the larger of the
  two steps);
- **rest deviation**: how far a frame is from the video's own still frames nearby (within
  ``REST_SPAN_S``): a held pose mid-action is still but far from rest;
- **text**: the frame's TSA text evidence, its best cosine to the actions' text tokens minus its
  best cosine to the rest text ("a person standing still").

Each cue also enters smoothed over about a second. A logistic model (:class:`ActivityModel`,
fitted on the validation split's long videos, never on test videos) turns them into the log-odds
that a frame belongs to an action rather than to the background.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from star_model.nn.tsa import TextBank

REST_NAME = "stand still"
REST_DESCRIPTORS = ["a person standing still"]
REST_SPAN_S = 10.0
STILL_SHARE = 0.3
SMOOTH_S = 1.25
CUES = ("motion", "motion_smooth", "rest", "rest_smooth", "text", "text_smooth")


@dataclass(frozen=True)
class ActivityModel:
    """Logistic weights over :data:`CUES` and a bias: ``log_odds = cues @ weights + bias``."""

    weights: tuple[float, ...]
    bias: float

    def __post_init__(self) -> None:
        if len(self.weights) != len(CUES):
            raise ValueError(f"an activity model needs {len(CUES)} weights ({', '.join(CUES)}), got {len(self.weights)}")

    def log_odds(self, cues: np.ndarray) -> np.ndarray:
        """cues: (F, len(CUES)) -> (F,) log-odds of action against background."""
        return cues @ np.asarray(self.weights) + self.bias


def motion(feats: torch.Tensor) -> np.ndarray:
    """(F,) cosine distance of each frame to the nearer-moving of its two neighbours. feats: (F, D)."""
    x = F.normalize(feats.float(), dim=-1)
    if len(x) < 2:
        return np.zeros(len(x))
    step = (1.0 - (x[1:] * x[:-1]).sum(-1)).clamp(min=0).numpy()
    return np.maximum(np.r_[step[0], step], np.r_[step, step[-1]])


def rest_deviation(feats: torch.Tensor, moved: np.ndarray, span: int, chunk: int = 512) -> np.ndarray:
    """(F,) cosine distance of each frame to the nearest still frame within ``span`` frames.

    Still frames are the video's ``STILL_SHARE`` least moving ones. Computed in chunks, so an
    hour of frames needs no (F, F) matrix.
    """
    x = F.normalize(feats.float(), dim=-1)
    n = len(x)
    still = torch.from_numpy(moved <= np.quantile(moved, STILL_SHARE)) if n else torch.zeros(0, dtype=torch.bool)
    out = np.ones(n)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        lo, hi = max(0, a - span), min(n, b + span)
        sim = x[a:b] @ x[lo:hi].T
        rows = torch.arange(a, b)[:, None]
        cols = torch.arange(lo, hi)[None]
        near = ((rows - cols).abs() <= span) & still[lo:hi][None]
        best = torch.where(near, sim, torch.full_like(sim, -1.0)).amax(dim=1)
        out[a:b] = (1.0 - best).clamp(min=0).numpy()
    return out


def text_evidence(feats: torch.Tensor, actions: TextBank, rest: TextBank) -> np.ndarray:
    """(F,) best cosine of each frame to the actions' text tokens minus its best cosine to the rest text."""
    x = F.normalize(feats.float(), dim=-1)
    act = F.normalize(actions.tokens().flatten(0, 1).float(), dim=-1)
    still = F.normalize(rest.tokens().flatten(0, 1).float(), dim=-1)
    return ((x @ act.T).amax(dim=1) - (x @ still.T).amax(dim=1)).numpy()


def _spread(c: np.ndarray) -> np.ndarray:
    lo, hi = np.quantile(c, [0.1, 0.9]) if len(c) else (0.0, 1.0)
    return (c - lo) / max(hi - lo, 1e-6)


def _smooth(c: np.ndarray, frames: int) -> np.ndarray:
    if frames <= 1 or len(c) == 0:
        return c
    return np.convolve(np.pad(c, (frames // 2, frames - 1 - frames // 2), mode="edge"), np.ones(frames) / frames, "valid")


def activity_cues(feats: torch.Tensor, rate: float, actions: TextBank, rest: TextBank) -> np.ndarray:
    """(F, len(CUES)) the video's cues, each scaled by its own 10-90 % quantile spread. feats: (F, D)."""
    moved = motion(feats)
    raw = [np.log(moved + 1e-4),
           np.log(rest_deviation(feats, moved, max(1, int(round(REST_SPAN_S * rate)))) + 1e-4),
           text_evidence(feats, actions, rest)]
    width = max(1, int(round(SMOOTH_S * rate)))
    columns = []
    for cue in raw:
        scaled = _spread(cue)
        columns += [scaled, _smooth(scaled, width)]
    return np.stack(columns, axis=1) if len(feats) else np.zeros((0, len(CUES)))
