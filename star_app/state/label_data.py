"""Per-frame labeling results of one video (numpy only) and their ``.npz`` file."""
from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

log = logging.getLogger(__name__)


@dataclass
class LabelData:
    """names (N actions); frames (F,) source frame indices; times (F,) s; scores (F, N+1)
    (last column background); labels (F,) strings; tsa_map (F, N) per-frame TSA class map."""

    names: list[str]
    frames: np.ndarray
    times: np.ndarray
    scores: np.ndarray
    labels: list[str]
    tsa_map: np.ndarray

    def save(self, path: Path) -> None:
        """Write atomically (temp file, then rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".npz", dir=path.parent)
        os.close(fd)
        try:
            np.savez(tmp, names=np.asarray(self.names, dtype=str), frames=self.frames, times=self.times,
                     scores=self.scores, labels=np.asarray(self.labels, dtype=str), tsa_map=self.tsa_map)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @classmethod
    def load(cls, path: Path) -> Optional["LabelData"]:
        """The saved results, or None when absent or unreadable (they can be recomputed)."""
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                return cls([str(n) for n in z["names"]], z["frames"], z["times"], z["scores"],
                           [str(x) for x in z["labels"]], z["tsa_map"])
        except (OSError, KeyError, ValueError) as exc:
            log.warning("cannot read labeling results %s (%s)", path, exc)
            return None
