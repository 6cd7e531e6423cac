"""Windowed labeling of a long video: sampled frame features -> per-frame scores -> segments.

Windows of ``window_s`` seconds (default: the median example length) at stride window/4 over the
video's frames sampled at the labeling rate; each window gives T frames -> TSA -> STPR -> matching
-> distances to every class, turned into probabilities over the actions plus background
(background's distance is the calibrated threshold, or the rest class's margin). Per-frame scores
are the mean over the windows covering the frame, smoothed; the argmax gives labels; runs shorter
than the minimum segment length are merged into a neighbour.

The public face is :func:`label_features` (features already computed) and :func:`label_video`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from star_model.engine.bank import PrototypeBank, distances
from star_model.engine.features import FrameEmbedder, VideoFeatures
from star_model.errors import check_cancel
from star_model.nn.model import STAR
from star_model.ops.sampling import segment_centres
from star_model.schema import (BACKGROUND, SOURCE_MODEL, CancelFn, LabelingParams, LabelResult, ProgressFn,
                               Segment)


@dataclass(frozen=True)
class _Windows:
    """The windows of one video in sampled frames, and how they are scored."""

    length: int
    stride: int
    threshold: float
    temperature: float


def window_starts(n_frames: int, window: int, stride: int) -> list[int]:
    """Start indices of windows of ``window`` frames at ``stride``, the last one ending at the end."""
    if n_frames <= window:
        return [0]
    starts = list(range(0, n_frames - window + 1, stride))
    if starts[-1] + window < n_frames:
        starts.append(n_frames - window)
    return starts


def window_picks(start: int, window: int, T: int, n_frames: int) -> np.ndarray:
    """The T frame indices a window feeds the model: centres of T uniform segments."""
    width = min(window, n_frames - start)
    return start + segment_centres(width, T)


def _smooth(x: np.ndarray, frames: int) -> np.ndarray:
    if frames <= 1:
        return x
    kernel = np.ones(frames) / frames
    pad = frames // 2
    padded = np.pad(x, ((pad, frames - 1 - pad), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, j], kernel, mode="valid") for j in range(x.shape[1])], axis=1)


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


@torch.no_grad()
def _window_scores(model: STAR, bank: PrototypeBank, feats: torch.Tensor, win: _Windows,
                   cancel: Optional[CancelFn], batch_windows: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame probabilities (F, N + 1), averaged over the windows covering each frame, and the
    per-frame TSA map (F, N), averaged over the windows that fed the frame (interpolated between)."""
    T = model.cfg.num_frames
    n = len(bank.names)
    f = len(feats)
    device = next(model.parameters()).device
    protos, text = bank.scoring()
    protos, text = protos.to(device), text.to(device)
    feats = feats.to(device)
    prob_sum, cover = np.zeros((f, n + 1)), np.zeros(f)
    tsa_sum, tsa_count = np.zeros((f, n)), np.zeros(f)
    starts = window_starts(f, win.length, win.stride)
    for b in range(0, len(starts), batch_windows):
        check_cancel(cancel)
        chunk = starts[b : b + batch_windows]
        picks = np.stack([window_picks(s, win.length, T, f) for s in chunk])
        dist, tsa = distances(model, feats[torch.from_numpy(picks).to(device)], protos, text)
        bg = torch.full((len(chunk), 1), float(win.threshold), device=device)
        if bank.rest is not None:  # the rest class: background where its margin says so
            bg = torch.minimum(bg, dist[:, n:] + bank.rest.offset)
        probs = torch.softmax(-torch.cat([dist[:, :n], bg], dim=1) / win.temperature, dim=1).cpu().numpy()
        tsa = tsa[..., :n].cpu().numpy()
        for s, p, pk, m in zip(chunk, probs, picks, tsa):
            end = min(s + win.length, f)
            prob_sum[s:end] += p
            cover[s:end] += 1
            np.add.at(tsa_sum, pk, m)
            np.add.at(tsa_count, pk, 1)
    scores = prob_sum / np.maximum(cover, 1)[:, None]
    seen = tsa_count > 0
    tsa_map = np.stack([np.interp(np.arange(f), np.nonzero(seen)[0], tsa_sum[seen, c] / tsa_count[seen])
                        for c in range(n)], 1)
    return scores, tsa_map


def label_features(model: STAR, bank: PrototypeBank, video: VideoFeatures, params: LabelingParams = LabelingParams(),
                   cancel: Optional[CancelFn] = None, batch_windows: int = 64) -> LabelResult:
    """Label one video from its sampled frame features (steps 2-4 of the pipeline)."""
    if video.rate != params.rate:
        raise ValueError(f"features were sampled at {video.rate:g} fps but labeling asks for {params.rate:g} fps")
    window_s = params.window_s or bank.window_s
    length = max(1, int(round(window_s * params.rate)))
    win = _Windows(length, max(1, int(round(length * params.stride_fraction))),
                   params.threshold if params.threshold is not None else bank.threshold,
                   params.temperature or bank.temperature)
    scores, tsa_map = _window_scores(model, bank, video.feats, win, cancel, batch_windows)
    smoothed = _smooth(scores, max(1, int(round(params.smooth_s * params.rate))))
    min_s = params.min_segment_s if params.min_segment_s is not None else window_s / 3
    idx = merge_short_runs(smoothed.argmax(1), smoothed, max(1, int(round(min_s * params.rate))))
    classes = list(bank.names) + [BACKGROUND]
    labels = [classes[i] for i in idx]
    segments = _segments(idx, smoothed, video, classes)
    return LabelResult(Path(video.path).name, list(bank.names), video.frames, video.times, smoothed, labels, tsa_map,
                       segments)


def _segments(idx: np.ndarray, scores: np.ndarray, video: VideoFeatures, classes: list[str]) -> list[Segment]:
    t = video.times
    fps = video.fps if video.fps > 0 else 1.0
    out: list[Segment] = []
    for c, a, b in _runs(idx):
        start_s = 0.0 if a == 0 else float((t[a - 1] + t[a]) / 2)
        end_s = video.duration_s if b == len(t) else float((t[b - 1] + t[b]) / 2)
        start_f = 0 if a == 0 else int(round(start_s * fps))
        end_f = video.frame_count if b == len(t) else int(round(end_s * fps))
        out.append(Segment(classes[c], start_s, end_s, start_f, end_f, float(scores[a:b, c].mean()), SOURCE_MODEL))
    return out


def label_video(
    model: STAR,
    embedder: FrameEmbedder,
    bank: PrototypeBank,
    path: str | Path,
    params: LabelingParams = LabelingParams(),
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> LabelResult:
    """Decode and embed ``path`` (cached), then label it."""
    feats = embedder.video(path, params.rate, progress=progress, cancel=cancel)
    return label_features(model, bank, feats, params, cancel=cancel)
