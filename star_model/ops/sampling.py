"""Which frames stand for a span: one per uniform segment (its centre, or a random frame of it)."""
from __future__ import annotations

from typing import Optional

import numpy as np


def segment_centres(n_frames: int, T: int) -> np.ndarray:
    """(T,) indices of the centre frames of T uniform segments of ``n_frames`` frames.

    A segment holding no frame (``n_frames < T``) takes the frame nearest its centre.
    """
    return np.minimum(((np.arange(T) + 0.5) * n_frames / T).astype(np.int64), n_frames - 1)


def segment_indices(n_frames: int, T: int, rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """(T,) frame indices: one per uniform segment, random inside it with ``rng``, else its centre."""
    centre = segment_centres(n_frames, T)
    if rng is None:
        return centre
    bounds = np.arange(T + 1) * n_frames / T
    lo, hi = np.ceil(bounds[:-1]).astype(np.int64), np.ceil(bounds[1:]).astype(np.int64)
    pick = lo + np.floor(rng.random(T) * np.maximum(hi - lo, 1)).astype(np.int64)
    return np.where(hi > lo, np.minimum(pick, n_frames - 1), centre)
