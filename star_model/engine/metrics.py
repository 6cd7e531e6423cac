"""Action-segmentation metrics: frame accuracy, segmental edit score, F1@k (MS-TCN's definitions)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from star_model.schema import BACKGROUND, Segment


def frame_labels(segments: Sequence[Segment], times: np.ndarray, default: str = BACKGROUND) -> list[str]:
    """The label of each time in ``times`` (seconds) under ``segments``."""
    out = [default] * len(times)
    for seg in segments:
        for i in np.nonzero((times >= seg.start_s) & (times < seg.end_s))[0]:
            out[int(i)] = seg.label
    return out


def frame_accuracy(pred: Sequence[str], truth: Sequence[str]) -> float:
    """Share of frames whose predicted label equals the truth."""
    return float(np.mean([p == t for p, t in zip(pred, truth)])) if truth else 0.0


def _runs(labels: Sequence[str]) -> list[tuple[str, int, int]]:
    runs: list[tuple[str, int, int]] = []
    for i, label in enumerate(labels):
        if runs and runs[-1][0] == label:
            runs[-1] = (label, runs[-1][1], i + 1)
        else:
            runs.append((label, i, i + 1))
    return runs


def edit_score(pred: Sequence[str], truth: Sequence[str], ignore: Sequence[str] = (BACKGROUND,)) -> float:
    """Segmental edit score: 100 * (1 - normalised Levenshtein distance of the segment label sequences)."""
    p = [r[0] for r in _runs(pred) if r[0] not in ignore]
    t = [r[0] for r in _runs(truth) if r[0] not in ignore]
    if not p and not t:
        return 100.0
    d = np.zeros((len(p) + 1, len(t) + 1))
    d[:, 0] = np.arange(len(p) + 1)
    d[0, :] = np.arange(len(t) + 1)
    for i in range(1, len(p) + 1):
        for j in range(1, len(t) + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (p[i - 1] != t[j - 1]))
    return float((1 - d[-1, -1] / max(len(p), len(t))) * 100)


def f1_at(pred: Sequence[str], truth: Sequence[str], overlap: float, ignore: Sequence[str] = (BACKGROUND,)) -> float:
    """F1@overlap: a predicted segment is a true positive when its IoU with an unmatched
    ground-truth segment of the same label is at least ``overlap``."""
    p = [r for r in _runs(pred) if r[0] not in ignore]
    t = [r for r in _runs(truth) if r[0] not in ignore]
    used = [False] * len(t)
    tp = 0
    for label, start, end in p:
        best, best_j = 0.0, -1
        for j, (tl, ts, te) in enumerate(t):
            if tl != label:
                continue
            inter = max(0, min(end, te) - max(start, ts))
            union = max(end, te) - min(start, ts)
            iou = inter / union if union else 0.0
            if iou > best:
                best, best_j = iou, j
        if best >= overlap and not used[best_j]:
            tp += 1
            used[best_j] = True
    fp, fn = len(p) - tp, len(t) - tp
    precision = tp / (tp + fp) if p else 0.0
    recall = tp / (tp + fn) if t else 0.0
    return 0.0 if precision + recall == 0 else float(2 * precision * recall / (precision + recall))
