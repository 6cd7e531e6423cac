"""The previous labeling method, kept as a row of the long-video benchmark: sliding windows.

Windows of the median example length (active span) at stride window/4; each window's T frames
through STAR give distances to the actions and to a rest class made of the examples' still lead-in
and lead-out; a threshold and temperature calibrated leave-one-out on the examples turn them into
probabilities over the actions plus background; per-frame scores are the mean over the windows
covering a frame, smoothed over 0.75 s; the per-frame argmax gives the labels, and runs shorter than
a third of the window are merged into a neighbour. Its examples are trimmed with the rule of its
time (:func:`active_span`: half the largest distance from the rest poses).
"""
from __future__ import annotations

import statistics
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from star_model.engine.activity import REST_DESCRIPTORS, REST_NAME
from star_model.engine.features import FrameEmbedder, VideoFeatures
from star_model.nn.model import STAR
from star_model.nn.tsa import TextBank
from star_model.ops.sampling import segment_centres
from star_model.schema import BACKGROUND, ActionExamples

SMOOTH_S = 0.75
STRIDE_FRACTION = 0.25


def active_span(feats: torch.Tensor, rest_share: float = 0.1, level: float = 0.5) -> tuple[int, int]:
    """[a, b): frames farther than ``level`` x the largest distance from the nearer rest pose (first/last 10 %)."""
    n = len(feats)
    k = max(1, int(round(rest_share * n)))
    unit = F.normalize(feats.float(), dim=-1)
    rests = F.normalize(torch.stack([unit[:k].mean(0), unit[-k:].mean(0)]), dim=-1)
    dist = 1.0 - (unit @ rests.T).amax(dim=1)
    if n < 3 or float(dist.max()) < 0.02:
        return 0, n
    active = torch.nonzero(dist > level * dist.max()).flatten()
    return int(active[0]), int(active[-1]) + 1


class WindowLabeler:
    """The window method's prototypes and calibration, built from the examples."""

    @torch.no_grad()
    def __init__(self, model: STAR, embedder: FrameEmbedder, actions: Sequence[ActionExamples]) -> None:
        T = model.cfg.num_frames
        self.model, self.names = model, [a.name for a in actions]
        feats, labels, lengths, rests = [], [], [], []
        for c, action in enumerate(actions):
            for clip in action.clips:
                dense = embedder.clip_frames(clip.path, clip.start_s, clip.end_s)
                a, b = active_span(dense.feats)
                feats.append(dense.feats[torch.from_numpy(a + segment_centres(b - a, T))])
                idle = torch.cat([dense.feats[:a], dense.feats[b:]])
                if len(idle):
                    rests.append(idle[torch.from_numpy(segment_centres(len(idle), T))])
                labels.append(c)
                lengths.append(float(dense.times[b - 1] - dense.times[a]) + 1.0 / max(dense.fps, 1.0))
        support, label_t = torch.stack(feats), torch.tensor(labels)
        text = model.encode_text(self.names, [a.descriptors for a in actions])
        self.window_s = float(statistics.median(lengths))
        self.prototypes, self.text = model.build_prototypes(support, label_t, text), text
        self.threshold, self.temperature, pos = self._calibrate(support, label_t)
        self.offset = self._rest_class(support, label_t, pos, torch.stack(rests)) if rests else None

    def _distances(self, query: torch.Tensor) -> torch.Tensor:
        return self.model.classify(query, self.prototypes, self.text).distances

    def _calibrate(self, feats: torch.Tensor, labels: torch.Tensor) -> tuple[float, float, dict[int, float]]:
        """Leave-one-out distances to the own class (pos) and the nearest other class (neg)."""
        pos: dict[int, float] = {}
        neg: list[float] = []
        for i in range(len(labels)):
            c, keep = int(labels[i]), torch.arange(len(labels)) != i
            held = bool((labels[keep] == c).any())
            protos = self.model.build_prototypes(feats[keep], labels[keep], self.text) if held else self.prototypes
            d = self.model.classify(feats[i:i + 1], protos, self.text).distances[0]
            if held:
                pos[i] = float(d[c])
            if len(self.names) > 1:
                neg.append(float(torch.cat([d[:c], d[c + 1:]]).min()))
        q_pos = float(np.quantile(list(pos.values()), 0.9)) if pos else None
        q_neg = float(np.median(neg)) if neg else None
        if q_pos is not None and q_neg is not None:
            if q_neg > q_pos:
                return q_pos + 0.5 * (q_neg - q_pos), max(0.05, (q_neg - q_pos) / 4), pos
            return q_pos + 0.05 * abs(q_pos), 0.5, pos
        if q_neg is not None:
            return q_neg - 0.1 * abs(q_neg), 0.5, pos
        return float("inf"), 0.5, pos

    def _rest_class(self, support: torch.Tensor, labels: torch.Tensor, pos: dict[int, float],
                    rests: torch.Tensor) -> float:
        """Appends the rest class to the prototypes and text; returns its margin offset."""
        rest_text = self.model.encode_text([REST_NAME], [REST_DESCRIPTORS])
        prototype = self.model.build_prototypes(rests, torch.zeros(len(rests), dtype=torch.long), rest_text)
        self.prototypes = torch.cat([self.prototypes, prototype])
        self.text = TextBank([*self.names, REST_NAME], torch.cat([self.text.prompts, rest_text.prompts]),
                             torch.cat([self.text.stages, rest_text.stages]))
        d_rest, d_act = self._distances(rests), self._distances(support)
        idle = (d_rest[:, :-1].min(1).values - d_rest[:, -1]).numpy()
        own = torch.tensor([pos.get(i, float(d_act[i, int(c)])) for i, c in enumerate(labels)])
        edge = float(np.quantile(idle, 0.1))
        return edge + 0.1 * (float(np.median((own - d_act[:, -1]).numpy())) - edge)

    @torch.no_grad()
    def label(self, video: VideoFeatures, batch: int = 64) -> list[str]:
        """Per-frame labels of ``video``."""
        T, n, f = self.model.cfg.num_frames, len(self.names), len(video.times)
        length = max(1, int(round(self.window_s * video.rate)))
        stride = max(1, int(round(length * STRIDE_FRACTION)))
        starts = [0] if f <= length else list(range(0, f - length + 1, stride))
        if f > length and starts[-1] + length < f:
            starts.append(f - length)
        prob, cover = np.zeros((f, n + 1)), np.zeros(f)
        for b in range(0, len(starts), batch):
            chunk = starts[b:b + batch]
            picks = np.stack([s + segment_centres(min(length, f - s), T) for s in chunk])
            dist = self._distances(video.feats[torch.from_numpy(picks)])
            bg = torch.full((len(chunk), 1), self.threshold)
            if self.offset is not None:
                bg = torch.minimum(bg, dist[:, n:] + self.offset)
            probs = torch.softmax(-torch.cat([dist[:, :n], bg], 1) / self.temperature, 1).numpy()
            for s, p in zip(chunk, probs):
                prob[s:min(s + length, f)] += p
                cover[s:min(s + length, f)] += 1
        smoothed = _smooth(prob / np.maximum(cover, 1)[:, None], max(1, int(round(SMOOTH_S * video.rate))))
        idx = merge_short_runs(smoothed.argmax(1), smoothed, max(1, int(round(self.window_s / 3 * video.rate))))
        return [(self.names + [BACKGROUND])[i] for i in idx]


def _smooth(x: np.ndarray, frames: int) -> np.ndarray:
    if frames <= 1:
        return x
    padded = np.pad(x, ((frames // 2, frames - 1 - frames // 2), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, j], np.ones(frames) / frames, "valid") for j in range(x.shape[1])], 1)


def _runs(idx: np.ndarray) -> list[list[int]]:
    runs: list[list[int]] = []
    for i, c in enumerate(idx.tolist()):
        if runs and runs[-1][0] == c:
            runs[-1][2] = i + 1
        else:
            runs.append([c, i, i + 1])
    return runs


def merge_short_runs(idx: np.ndarray, scores: np.ndarray, min_frames: int) -> np.ndarray:
    """Relabel runs shorter than ``min_frames`` with the better-scoring neighbour's label, shortest first."""
    idx = idx.copy()
    while True:
        runs = _runs(idx)
        short = [r for r in runs if r[2] - r[1] < min_frames]
        if len(runs) < 2 or not short:
            return idx
        label, a, b = min(short, key=lambda r: r[2] - r[1])
        pos = runs.index([label, a, b])
        neighbours = [runs[k][0] for k in (pos - 1, pos + 1) if 0 <= k < len(runs)]
        idx[a:b] = max(neighbours, key=lambda c: scores[a:b, c].mean())
