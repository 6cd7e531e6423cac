"""The segment-level search: candidate segments, their scores, and the best cut of the whole video.

A cut of the video is a sequence of action segments and background frames covering it. Its score
is the sum of its parts:

- an action segment [s, e) labelled c scores ``w_star * log p_STAR(c | its T frames)`` (the window's
  OTAM distances to the prototypes as a softmax over the actions, at temperature ``tau``, averaged
  with the windows whose ends are one frame away), ``+ w_vt * log p_TSA(c)`` (the window's
  video-text logits), ``+ w_dur * log-normal duration fit`` (c's example lengths, in log-seconds,
  spread at least ``sd_floor``), ``+ w_act * sum of the activity log-odds over its frames``, ``+ bias``;
- a background frame scores ``-w_bg * its activity log-odds``.

:func:`best_cut` finds the highest-scoring cut exactly (semi-Markov dynamic programming) over the
candidate segments of :func:`candidate_windows`: those that start and end where the video's own
activity evidence changes (it crosses ``thresholds``, or dips inside an action) and whose length
fits some action's examples.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CLIP = 4.0


@dataclass(frozen=True)
class DecoderConfig:
    """The knobs of the search; the defaults were chosen on the validation split's long videos."""

    tau: float = 0.2
    w_star: float = 1.0
    w_vt: float = 0.5
    w_dur: float = 2.0
    w_act: float = 1.0
    w_bg: float = 1.0
    bias: float = 0.0
    sd_floor: float = 0.2
    thresholds: tuple[float, ...] = (-1.0, 1.0)
    dip: float = 2.0
    neighbours: int = 1
    duration_ratio: float = 2.0
    min_activity: float = 1.0


@dataclass(frozen=True)
class DurationPrior:
    """Per action: the geometric mean (s) and log-spread of its examples' lengths."""

    mean_s: np.ndarray
    log_sd: np.ndarray

    @classmethod
    def of(cls, lengths: list[list[float]], sd_floor: float) -> "DurationPrior":
        logs = [np.log(np.maximum(np.asarray(ls, dtype=np.float64), 1e-3)) for ls in lengths]
        return cls(np.exp([lg.mean() for lg in logs]), np.maximum([lg.std() for lg in logs], sd_floor))

    def frame_range(self, rate: float, ratio: float) -> tuple[int, int]:
        """The shortest and longest candidate length (frames): the shortest mean over ``ratio``, the longest
        mean times ``ratio``."""
        low = float(np.min(self.mean_s)) / ratio * rate
        high = float(np.max(self.mean_s)) * ratio * rate
        return max(2, int(np.floor(low))), max(3, int(np.ceil(high)))

    def log_fit(self, length_s: np.ndarray) -> np.ndarray:
        """(W, N) log-normal fit (up to a constant) of lengths (W,) seconds to each action."""
        z = (np.log(np.maximum(length_s, 1e-3))[:, None] - np.log(self.mean_s)[None]) / self.log_sd[None]
        return -0.5 * z**2


def boundaries(act: np.ndarray, cfg: DecoderConfig, longest: int) -> np.ndarray:
    """Sorted frame positions where a segment may start or end (0 and F included)."""
    n = len(act)
    found = {0, n}
    for th in cfg.thresholds:
        above = act > th
        found.update((np.nonzero(above[1:] != above[:-1])[0] + 1).tolist())
    if n > 2:
        mid = act[1:-1]
        dips = np.nonzero((mid > 0) & (mid < act[:-2]) & (mid <= act[2:]) & (mid < cfg.dip))[0] + 1
        found.update(dips.tolist())
        found.update((dips + 1).tolist())
    marks = np.array(sorted(found))
    gaps = [np.linspace(a, b, int(np.ceil((b - a) / longest)) + 1)[1:-1].round().astype(int)
            for a, b in zip(marks[:-1], marks[1:]) if b - a > longest]
    return np.unique(np.concatenate([marks, *gaps])) if gaps else marks


def candidate_windows(act: np.ndarray, cfg: DecoderConfig, shortest: int, longest: int) -> np.ndarray:
    """(W, 2) candidate segments [start, end) in frames: boundary pairs ``shortest`` to ``longest`` apart whose
    frames' mean activity log-odds reach ``cfg.min_activity`` (a mostly still stretch is no action)."""
    marks = boundaries(act, cfg, longest)
    pairs = np.asarray([(s, e) for i, s in enumerate(marks) for e in marks[i + 1:] if shortest <= e - s <= longest],
                       dtype=np.int64).reshape(-1, 2)
    summed = np.r_[0.0, np.cumsum(np.clip(act, -CLIP, CLIP))]
    mean = (summed[pairs[:, 1]] - summed[pairs[:, 0]]) / np.maximum(pairs[:, 1] - pairs[:, 0], 1)
    return pairs[mean >= cfg.min_activity]


def _log_softmax(x: np.ndarray) -> np.ndarray:
    return x - np.logaddexp.reduce(x, axis=-1, keepdims=True)


def _neighbour_mean(windows: np.ndarray, values: np.ndarray, reach: int) -> np.ndarray:
    """Each window's values averaged with those of the windows whose start and end are within ``reach``."""
    if reach <= 0 or len(windows) == 0:
        return values
    index = {(int(s), int(e)): i for i, (s, e) in enumerate(windows)}
    total = np.zeros_like(values)
    count = np.zeros(len(windows))
    for i, (s, e) in enumerate(windows):
        for ds in range(-reach, reach + 1):
            for de in range(-reach, reach + 1):
                j = index.get((int(s) + ds, int(e) + de))
                if j is not None:
                    total[i] += values[j]
                    count[i] += 1
    return total / count[:, None]


def segment_scores(windows: np.ndarray, distances: np.ndarray, text_logits: np.ndarray, act: np.ndarray,
                   prior: DurationPrior, rate: float, cfg: DecoderConfig) -> np.ndarray:
    """(W, N) score of each candidate window as each action (see the module docstring).

    windows: (W, 2) frames; distances, text_logits: (W, N) STAR's OTAM distances and TSA logits; act: (F,).
    """
    star = _neighbour_mean(windows, _log_softmax(-distances / cfg.tau), cfg.neighbours)
    summed = np.r_[0.0, np.cumsum(np.clip(act, -CLIP, CLIP))]
    inside = summed[windows[:, 1]] - summed[windows[:, 0]]
    length_s = (windows[:, 1] - windows[:, 0]) / rate
    return (cfg.w_star * star + cfg.w_vt * _log_softmax(text_logits) + cfg.w_dur * prior.log_fit(length_s)
            + cfg.w_act * inside[:, None] + cfg.bias)


@dataclass
class Cut:
    """The best cut: per-frame label index (N = background) and the chosen windows, in order."""

    labels: np.ndarray
    chosen: list[int] = field(default_factory=list)


def best_cut(n_frames: int, windows: np.ndarray, scores: np.ndarray, act: np.ndarray, cfg: DecoderConfig) -> Cut:
    """The highest-scoring cut of ``n_frames`` frames into candidate action segments and background frames."""
    n_classes = scores.shape[1] if scores.ndim == 2 else 0
    background = -cfg.w_bg * np.clip(act, -CLIP, CLIP)
    by_end: dict[int, list[int]] = {}
    for i, end in enumerate(windows[:, 1].tolist()):
        by_end.setdefault(end, []).append(i)
    top_class = scores.argmax(1) if len(windows) else np.zeros(0, dtype=np.int64)
    top_score = scores.max(1) if len(windows) else np.zeros(0)
    best = np.full(n_frames + 1, -np.inf)
    best[0] = 0.0
    back = np.full(n_frames + 1, -1, dtype=np.int64)  # the window ending here, -1: a background frame
    for t in range(1, n_frames + 1):
        best[t] = best[t - 1] + background[t - 1]
        for i in by_end.get(t, ()):
            value = best[windows[i, 0]] + top_score[i]
            if value > best[t]:
                best[t], back[t] = value, i
    labels = np.full(n_frames, n_classes, dtype=np.int64)
    chosen: list[int] = []
    t = n_frames
    while t > 0:
        i = int(back[t])
        if i < 0:
            t -= 1
            continue
        labels[windows[i, 0]:t] = top_class[i]
        chosen.append(i)
        t = int(windows[i, 0])
    return Cut(labels, chosen[::-1])
