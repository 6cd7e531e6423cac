"""The segment-level search: candidate segments, their scores, and the best cut of the whole video.

A cut of the video is a sequence of action segments and background frames covering it. Its score
is the sum of its parts:

- an action segment [s, e) labelled c scores ``w_star * log p_STAR(c | its T frames)`` (the window's
  OTAM distances to the prototypes as a softmax over the actions, at temperature ``tau``, averaged
  with the windows whose ends are one frame away), ``+ w_vt * log p_TSA(c)`` (the window's
  video-text logits), ``+ w_dur * log-normal duration fit`` (c's example lengths, in log-seconds,
  spread at least ``sd_floor``), ``+ w_act * sum of the activity log-odds over its frames``, ``+ bias``.
  A text-only action (no examples) has no prototype: STAR gives it an even share (1/N), TSA speaks
  for it with the extra weight ``w_text``, and its length fits a generic prior (``text_only_mean_s``,
  ``text_only_log_sd``);
- a background frame scores ``-w_bg * its activity log-odds``.

:func:`best_cut` finds the highest-scoring cut exactly (semi-Markov dynamic programming) over the
candidate segments of :func:`candidate_windows`: those that start and end where the video's own
activity evidence changes (it crosses ``thresholds``, or dips inside an action) and whose length
fits some action's examples.

Frames the user has already labeled (``blocked``, see :mod:`star_model.engine.fixed`) are no part of
the search: no candidate segment overlaps them and, as background, they score nothing; their edges are
boundaries, so a candidate may end where a fixed segment starts and start where one ends.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

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
    w_text: float = 1.0
    text_only_mean_s: float = 2.0
    text_only_log_sd: float = 0.7


@dataclass(frozen=True)
class DurationPrior:
    """Per action: the geometric mean (s) and log-spread of its examples' lengths."""

    mean_s: np.ndarray
    log_sd: np.ndarray

    @classmethod
    def of(cls, lengths: list[list[float]], cfg: "DecoderConfig") -> "DurationPrior":
        """From each action's example lengths (s); an action without examples takes the generic prior."""
        mean, spread = [], []
        for ls in lengths:
            logs = np.log(np.maximum(np.asarray(ls, dtype=np.float64), 1e-3))
            mean.append(np.exp(logs.mean()) if len(logs) else cfg.text_only_mean_s)
            spread.append(max(logs.std(), cfg.sd_floor) if len(logs) else cfg.text_only_log_sd)
        return cls(np.asarray(mean), np.asarray(spread))

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


def blocked_edges(blocked: Optional[np.ndarray]) -> list[int]:
    """The frame positions where a run of blocked frames starts or ends."""
    if blocked is None or not blocked.any():
        return []
    return (np.nonzero(blocked[1:] != blocked[:-1])[0] + 1).tolist()


def boundaries(act: np.ndarray, cfg: DecoderConfig, longest: int, extra: Sequence[int] = ()) -> np.ndarray:
    """Sorted frame positions where a segment may start or end (0, F and ``extra`` included)."""
    n = len(act)
    found = {0, n, *extra}
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


def candidate_windows(act: np.ndarray, cfg: DecoderConfig, shortest: int, longest: int,
                      blocked: Optional[np.ndarray] = None) -> np.ndarray:
    """(W, 2) candidate segments [start, end) in frames: boundary pairs ``shortest`` to ``longest`` apart whose
    frames' mean activity log-odds reach ``cfg.min_activity`` (a mostly still stretch is no action) and that
    overlap no ``blocked`` frame (F,) bool."""
    marks = boundaries(act, cfg, longest, blocked_edges(blocked))
    pairs = np.asarray([(s, e) for i, s in enumerate(marks) for e in marks[i + 1:] if shortest <= e - s <= longest],
                       dtype=np.int64).reshape(-1, 2)
    summed = np.r_[0.0, np.cumsum(np.clip(act, -CLIP, CLIP))]
    mean = (summed[pairs[:, 1]] - summed[pairs[:, 0]]) / np.maximum(pairs[:, 1] - pairs[:, 0], 1)
    return drop_blocked(pairs[mean >= cfg.min_activity], blocked)


def drop_blocked(windows: np.ndarray, blocked: Optional[np.ndarray]) -> np.ndarray:
    """The windows (W, 2) that cover no ``blocked`` frame."""
    if blocked is None or not blocked.any() or len(windows) == 0:
        return windows
    covered = np.r_[0, np.cumsum(blocked)]
    return windows[covered[windows[:, 1]] == covered[windows[:, 0]]]


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


def star_log_posterior(distances: np.ndarray, with_examples: np.ndarray, tau: float) -> np.ndarray:
    """(W, N) log p_STAR: a softmax of -distance / tau over the actions with examples, scaled to their share
    of the N actions; a text-only action gets 1/N."""
    n = distances.shape[1]
    out = np.full(distances.shape, -np.log(max(n, 1)))
    if with_examples.any():
        shown = with_examples.sum()
        out[:, with_examples] = _log_softmax(-distances[:, with_examples] / tau) + np.log(shown / n)
    return out


def segment_scores(windows: np.ndarray, distances: np.ndarray, text_logits: np.ndarray, act: np.ndarray,
                   prior: DurationPrior, rate: float, cfg: DecoderConfig,
                   with_examples: Optional[np.ndarray] = None) -> np.ndarray:
    """(W, N) score of each candidate window as each action (see the module docstring).

    windows: (W, 2) frames; distances, text_logits: (W, N) STAR's OTAM distances and TSA logits; act: (F,);
    with_examples: (N,) which actions have examples (default: all).
    """
    known = np.ones(distances.shape[1], bool) if with_examples is None else np.asarray(with_examples, bool)
    star = _neighbour_mean(windows, star_log_posterior(distances, known, cfg.tau), cfg.neighbours)
    tsa = _log_softmax(text_logits)
    summed = np.r_[0.0, np.cumsum(np.clip(act, -CLIP, CLIP))]
    inside = summed[windows[:, 1]] - summed[windows[:, 0]]
    length_s = (windows[:, 1] - windows[:, 0]) / rate
    return (cfg.w_star * star + (cfg.w_vt + cfg.w_text * ~known) * tsa + cfg.w_dur * prior.log_fit(length_s)
            + cfg.w_act * inside[:, None] + cfg.bias)


@dataclass
class Cut:
    """The best cut: per-frame label index (N = background) and the chosen windows, in order."""

    labels: np.ndarray
    chosen: list[int] = field(default_factory=list)


def best_cut(n_frames: int, windows: np.ndarray, scores: np.ndarray, act: np.ndarray, cfg: DecoderConfig,
             blocked: Optional[np.ndarray] = None) -> Cut:
    """The highest-scoring cut of ``n_frames`` frames into candidate action segments and background frames.

    ``blocked`` frames (F,) bool are labeled already: they score nothing as background, and no window may
    cover them (drop those first, :func:`drop_blocked`)."""
    n_classes = scores.shape[1] if scores.ndim == 2 else 0
    background = -cfg.w_bg * np.clip(act, -CLIP, CLIP)
    if blocked is not None:
        background = np.where(blocked, 0.0, background)
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
