"""Labeling a long video: sampled frame features -> activity evidence -> whole candidate segments
scored by STAR -> the best cut of the video into action segments and background -> segments with a
calibrated confidence, per-frame scores and the per-frame TSA map.

1. :func:`~star_model.engine.activity.activity_cues`: per-frame evidence of acting or resting,
   calibrated on the video itself, turned into log-odds by the fitted activity model.
2. :func:`~star_model.engine.decoder.candidate_windows`: segments that start and end where that
   evidence changes, as long as some action's examples.
3. :func:`window_scores`: each candidate's T frames (segment centres) through STAR, the way it was
   trained: OTAM distances to every prototype and the TSA video-text logits.
4. :func:`~star_model.engine.decoder.best_cut`: the exact semi-Markov search over those segments.
5. Each segment's confidence from :class:`~star_model.engine.confidence.ConfidenceModel`.

Segments a person has labeled already are given as ``fixed``: they come back verbatim and the model
labels only the rest of the video around them (:mod:`star_model.engine.fixed`).

The public face is :func:`label_features` (features already computed) and :func:`label_video`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from star_model.engine.activity import activity_cues
from star_model.engine.bank import PrototypeBank
from star_model.engine.calibration import LabelingCalibration, load_calibration
from star_model.engine.confidence import action_features, background_features
from star_model.engine.decoder import (Cut, DecoderConfig, DurationPrior, best_cut, candidate_windows, segment_scores,
                                       star_log_posterior)
from star_model.engine.domain import domain_check
from star_model.engine.features import FrameEmbedder, VideoFeatures
from star_model.engine.fixed import around_fixed, blocked_frames, check_fixed, fixed_labels
from star_model.engine.logistic import sigmoid
from star_model.engine.world import known_world
from star_model.errors import check_cancel
from star_model.nn.model import STAR
from star_model.ops.sampling import segment_centres
from star_model.schema import (BACKGROUND, SOURCE_MODEL, SOURCE_TEXT, CancelFn, LabelingParams, LabelResult, ProgressFn, Segment,
                               report)


@torch.no_grad()
def window_scores(model: STAR, bank: PrototypeBank, feats: torch.Tensor, windows: np.ndarray,
                  cancel: Optional[CancelFn] = None, progress: Optional[ProgressFn] = None,
                  batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """STAR on whole candidate segments: (W, N) OTAM distances to the prototypes and (W, N) TSA logits.

    feats: (F, D) the video's sampled frames; windows: (W, 2) [start, end) frames; each window feeds
    the centres of T uniform segments of its span.
    """
    n = len(bank.names)
    if len(windows) == 0:
        return np.zeros((0, n)), np.zeros((0, n))
    T = model.cfg.num_frames
    device = next(model.parameters()).device
    protos, text = bank.prototypes.to(device), bank.text().to(device)
    picks = windows[:, :1] + np.stack([segment_centres(int(e - s), T) for s, e in windows])
    dist, logits = [], []
    text_only = not any(bank.with_examples)
    for b in range(0, len(windows), batch):
        check_cancel(cancel)
        clips = feats[torch.from_numpy(picks[b:b + batch])].to(device)
        if text_only:  # no prototype to match: TSA alone
            logits.append(model.video_text_logits(clips, text).float().cpu().numpy())
            dist.append(np.zeros_like(logits[-1]))
            continue
        out = model.classify(clips, protos, text)
        dist.append(out.distances.float().cpu().numpy())
        logits.append(out.video_text_logits.float().cpu().numpy())
        report(progress, min(b + batch, len(windows)), len(windows), f"scoring {len(windows)} candidate segments")
    return np.concatenate(dist), np.concatenate(logits)


@torch.no_grad()
def frame_text_map(model: STAR, bank: PrototypeBank, feats: torch.Tensor, batch: int = 256) -> np.ndarray:
    """(F, N) the TSA class map of every frame, over consecutive stretches of T frames. feats: (F, D)."""
    T = model.cfg.num_frames
    f = len(feats)
    if f == 0:
        return np.zeros((0, len(bank.names)))
    device = next(model.parameters()).device
    padded = torch.cat([feats, feats[-1:].expand((-f) % T, -1)]).to(device).view(-1, T, feats.shape[-1])
    text = bank.text().to(device)
    maps = [model.text_map(padded[b:b + batch], text) for b in range(0, len(padded), batch)]
    return torch.cat(maps).flatten(0, 1)[:f].float().cpu().numpy()


def _shares(scores: np.ndarray) -> np.ndarray:
    return np.exp(scores - np.logaddexp.reduce(scores, axis=-1, keepdims=True))


def _frame_scores(n_frames: int, windows: np.ndarray, scores: np.ndarray, cut: Cut, p_active: np.ndarray) -> np.ndarray:
    """(F, N + 1): background = 1 - p(active); the actions share p(active) as the best candidate covering
    the frame does (the chosen segment inside chosen segments; evenly where no candidate covers it)."""
    n = scores.shape[1]
    share = np.full((n_frames, n), 1.0 / max(n, 1))
    if len(windows):
        shares = _shares(scores)
        for i in np.argsort(scores.max(1)):
            share[windows[i, 0]:windows[i, 1]] = shares[i]
        for i in cut.chosen:
            share[windows[i, 0]:windows[i, 1]] = shares[i]
    return np.concatenate([share * p_active[:, None], (1.0 - p_active)[:, None]], axis=1)


def _span(video: VideoFeatures, a: int, b: int) -> tuple[float, float, int, int]:
    """Times and frames of the sampled frames [a, b): from midway to the previous sample to midway to the next."""
    t = video.times
    fps = video.fps if video.fps > 0 else 1.0
    start_s = 0.0 if a == 0 else float((t[a - 1] + t[a]) / 2)
    end_s = video.duration_s if b == len(t) else float((t[b - 1] + t[b]) / 2)
    start_f = 0 if a == 0 else int(round(start_s * fps))
    end_f = video.frame_count if b == len(t) else int(round(end_s * fps))
    return start_s, end_s, start_f, end_f


@dataclass(frozen=True)
class Part:
    """One stretch of a cut: sampled frames [start, end), its label index (N: background) and the
    features its confidence is computed from."""

    start: int
    end: int
    label: int
    features: np.ndarray


def cut_parts(evidence: "Evidence", cut: Cut, scores: np.ndarray, prior: DurationPrior, tau: float) -> list[Part]:
    """The cut as alternating background stretches and action segments, in order, with their features."""
    n = len(evidence.lengths)
    p_active = sigmoid(evidence.act)
    star = star_log_posterior(evidence.distances, evidence.with_examples, tau)
    parts: list[Part] = []

    def background(a: int, b: int) -> None:
        for start, end in free_runs(evidence.blocked, a, b):
            parts.append(Part(start, end, n, background_features(p_active[start:end])))

    pos = 0
    for i in cut.chosen:
        s, e = int(evidence.windows[i, 0]), int(evidence.windows[i, 1])
        background(pos, s)
        c = int(cut.labels[s])
        z = (np.log((e - s) / evidence.rate) - np.log(prior.mean_s[c])) / prior.log_sd[c]
        parts.append(Part(s, e, c, action_features(scores[i], star[i], c, p_active[s:e], z)))
        pos = e
    background(pos, len(evidence.act))
    return parts


def part_confidence(part: Part, with_examples: np.ndarray, cal: LabelingCalibration) -> float:
    """The calibrated probability that ``part``'s label is right."""
    if part.label >= len(with_examples):
        return float(cal.confidence.background(part.features)[0])
    if with_examples[part.label]:
        return float(cal.confidence.action(part.features)[0])
    return float(cal.confidence.text_only(part.features)[0])


def free_runs(blocked: Optional[np.ndarray], a: int, b: int) -> list[tuple[int, int]]:
    """The runs of frames in [a, b) that are not ``blocked`` (a background stretch split at fixed segments)."""
    if b <= a:
        return []
    if blocked is None:
        return [(a, b)]
    free = ~blocked[a:b]
    edges = np.flatnonzero(np.diff(np.r_[False, free, False].astype(np.int8)))
    return [(a + int(s), a + int(e)) for s, e in zip(edges[::2], edges[1::2])]


def _segments(video: VideoFeatures, names: list[str], parts: list[Part], with_examples: np.ndarray,
              cal: LabelingCalibration) -> list[Segment]:
    """The parts as segments covering the video, each with its calibrated confidence; text-only actions'
    segments have the source ``text``."""
    out = []
    for part in parts:
        label = names[part.label] if part.label < len(names) else BACKGROUND
        source = SOURCE_TEXT if part.label < len(names) and not with_examples[part.label] else SOURCE_MODEL
        out.append(Segment(label, *_span(video, part.start, part.end), part_confidence(part, with_examples, cal),
                           source))
    return out


@dataclass
class Evidence:
    """What the search sees of one video: activity log-odds (F,), candidate windows (W, 2) and STAR's
    distances and TSA logits for them (W, N), the actions' example lengths (s; empty: text only) and the
    labeling rate."""

    act: np.ndarray
    windows: np.ndarray
    distances: np.ndarray
    logits: np.ndarray
    lengths: list[list[float]]
    rate: float
    blocked: Optional[np.ndarray] = None

    @property
    def with_examples(self) -> np.ndarray:
        return np.array([bool(ls) for ls in self.lengths])

    def decide(self, cfg: DecoderConfig) -> tuple[Cut, np.ndarray, DurationPrior]:
        """The best cut under ``cfg``, with the (W, N) segment scores and the duration prior it used."""
        prior = DurationPrior.of(self.lengths, cfg)
        scores = segment_scores(self.windows, self.distances, self.logits, self.act, prior, self.rate, cfg,
                                self.with_examples)
        return best_cut(len(self.act), self.windows, scores, self.act, cfg, self.blocked), scores, prior


def gather_evidence(model: STAR, bank: PrototypeBank, video: VideoFeatures, params: LabelingParams,
                    cal: LabelingCalibration, cancel: Optional[CancelFn] = None,
                    progress: Optional[ProgressFn] = None, blocked: Optional[np.ndarray] = None) -> Evidence:
    """Steps 1-3: activity evidence, candidate segments (none over a ``blocked`` frame), and STAR's scores
    of every candidate."""
    if video.rate != params.rate:
        raise ValueError(f"features were sampled at {video.rate:g} fps but labeling asks for {params.rate:g} fps")
    cfg = cal.decoder
    act = cal.activity.log_odds(activity_cues(video.feats, params.rate, bank.text(), bank.rest_text()))
    prior = DurationPrior.of(bank.lengths, cfg)
    windows = candidate_windows(act, cfg, *prior.frame_range(params.rate, cfg.duration_ratio), blocked)
    distances, logits = window_scores(model, bank, video.feats, windows, cancel, progress)
    return Evidence(act, windows, distances, logits, bank.lengths, params.rate, blocked)


def label_features(model: STAR, bank: PrototypeBank, video: VideoFeatures, params: LabelingParams = LabelingParams(),
                   cancel: Optional[CancelFn] = None, progress: Optional[ProgressFn] = None,
                   calibration: Optional[LabelingCalibration] = None, fixed: Sequence[Segment] = ()) -> LabelResult:
    """Label one video from its sampled frame features (steps 1-5 of the module docstring); the ``fixed``
    segments come back verbatim and the model labels only the time around them."""
    cal = calibration or load_calibration()
    fixed = check_fixed(fixed, video.duration_s)
    evidence = gather_evidence(model, bank, video, params, cal, cancel, progress,
                               blocked_frames(video.times, fixed) if fixed else None)
    cut, scores, prior = evidence.decide(cal.decoder)
    parts = cut_parts(evidence, cut, scores, prior, cal.decoder.tau)
    segments = _segments(video, list(bank.names), parts, evidence.with_examples, cal)
    if fixed:
        segments = around_fixed(segments, fixed, video.duration_s, video.frame_count)
    p_active = sigmoid(evidence.act)
    classes = list(bank.names) + [BACKGROUND]
    return LabelResult(Path(video.path).name, list(bank.names), video.frames, video.times,
                       _frame_scores(len(video.times), evidence.windows, scores, cut, p_active),
                       fixed_labels([classes[i] for i in cut.labels], video.times, fixed),
                       frame_text_map(model, bank, video.feats), segments,
                       domain_check(video.feats, bank.support, bank.support_clips, known_world(bank.backbone_id),
                                    bank.one_video))


def label_video(
    model: STAR,
    embedder: FrameEmbedder,
    bank: PrototypeBank,
    path: str | Path,
    params: LabelingParams = LabelingParams(),
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
    fixed: Sequence[Segment] = (),
) -> LabelResult:
    """Decode and embed ``path`` (cached), then label it around the ``fixed`` segments."""
    feats = embedder.video(path, params.rate, progress=progress, cancel=cancel)
    return label_features(model, bank, feats, params, cancel=cancel, progress=progress, fixed=fixed)
