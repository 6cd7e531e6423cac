"""Prototypes from support clips, and sliding-window labeling of long videos.

1. ``build_bank``: every support clip gives T frame features (centre frames of T uniform
   segments); STAR refines them into per-class prototypes. A background threshold (in
   distance units) is calibrated leave-one-out on the support clips.
2. ``label_features``: windows of ``window_s`` seconds (default: the median support clip
   length) at stride window/4 over the video's frames sampled at the labeling rate; each
   window gives T frames -> TSA -> STPR -> matching -> distances to every class, turned into
   probabilities over the actions plus background (background's distance is the threshold).
3. Per-frame scores are the mean over the windows covering the frame, smoothed; the argmax
   gives labels; runs shorter than the minimum segment length are merged into a neighbour.
"""
from __future__ import annotations

import json
import logging
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

from .export import BACKGROUND, Segment
from .features import FrameEmbedder, VideoFeatures
from .jobs import CancelFn, ProgressFn, check_cancel, report
from .model import STAR
from .tsa import TextBank
from .video import probe

log = logging.getLogger(__name__)


@dataclass
class ClipRef:
    """A support example: a file, optionally a span of it (seconds)."""

    path: str
    start_s: Optional[float] = None
    end_s: Optional[float] = None


@dataclass
class ActionExamples:
    """One action: its name, example clips and (optional) stage descriptors."""

    name: str
    clips: list[ClipRef]
    descriptors: Optional[list[str]] = None


@dataclass
class LabelingParams:
    """Sliding-window labeling settings; None means calibrated or derived from the bank."""

    rate: float = 4.0
    window_s: Optional[float] = None
    stride_fraction: float = 0.25
    threshold: Optional[float] = None
    temperature: Optional[float] = None
    smooth_s: float = 0.75
    min_segment_s: Optional[float] = None


REST_NAME = "stand still"
REST_DESCRIPTORS = ["a person standing still"]


@dataclass
class PrototypeBank:
    """What labeling needs from the support set: prototypes (N, T, D), the class text, calibration."""

    names: list[str]
    descriptors: list[list[str]]
    prototypes: torch.Tensor
    prompts: torch.Tensor
    stages: torch.Tensor
    threshold: float
    temperature: float
    window_s: float
    model_name: str
    backbone_id: str
    calibration: dict = field(default_factory=dict)
    rest: Optional[dict[str, torch.Tensor]] = None  # the rest class: prototype (T, D), prompt (D,), stages (S, D)

    def text(self) -> TextBank:
        return TextBank(list(self.names), self.prompts, self.stages)

    def scoring(self) -> tuple[torch.Tensor, TextBank]:
        """Prototypes (N or N + 1, T, D) and text to score windows against: the actions, then rest if known."""
        if self.rest is None:
            return self.prototypes, self.text()
        return with_rest(self.prototypes, self.text(), self.rest["prototype"], self.rest["prompt"], self.rest["stages"])

    def save(self, path: Path) -> Path:
        """Write ``path`` (safetensors; the rest in its JSON metadata) atomically."""
        meta = {k: getattr(self, k) for k in ("names", "descriptors", "threshold", "temperature", "window_s",
                                                "model_name", "backbone_id", "calibration")}
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tensors = {"prototypes": self.prototypes, "prompts": self.prompts, "stages": self.stages,
                   **{f"rest_{k}": v for k, v in (self.rest or {}).items()}}
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata={"bank": json.dumps(meta)})
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> "PrototypeBank":
        with safe_open(str(path), framework="pt") as fh:
            meta = json.loads(fh.metadata()["bank"])
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
        rest = {k[len("rest_"):]: v for k, v in tensors.items() if k.startswith("rest_")} or None
        return cls(prototypes=tensors["prototypes"], prompts=tensors["prompts"], stages=tensors["stages"], rest=rest, **meta)


def with_rest(prototypes: torch.Tensor, text: TextBank, rest_prototype: torch.Tensor, rest_prompt: torch.Tensor,
              rest_stages: torch.Tensor) -> tuple[torch.Tensor, TextBank]:
    """The actions' prototypes (N, T, D) and text with the rest class appended as class N."""
    return (torch.cat([prototypes, rest_prototype[None]]),
            TextBank([*text.names, REST_NAME], torch.cat([text.prompts, rest_prompt[None]]),
                     torch.cat([text.stages, rest_stages[None]])))


@dataclass
class LabelResult:
    """Labeling output for one video.

    frames (F,) source frame indices and times (F,) of the sampled frames; scores (F, N + 1)
    per-frame probabilities (actions, then background); labels (F,); tsa_map (F, N);
    segments covering the whole video without overlap.
    """

    video: str
    names: list[str]
    frames: np.ndarray
    times: np.ndarray
    scores: np.ndarray
    labels: list[str]
    tsa_map: np.ndarray
    segments: list[Segment]


def _distances(model: STAR, query: torch.Tensor, prototypes: torch.Tensor, text: TextBank):
    out = model.classify(query, prototypes, text)
    return out.distances, out.tsa_map


@torch.no_grad()
def calibrate(model: STAR, feats: torch.Tensor, labels: torch.Tensor, text: TextBank) -> dict:
    """Leave-one-out distances of support clips to their own class (pos) and nearest other class (neg).

    Returns threshold and temperature in distance units, and the raw statistics.
    """
    n = len(text.names)
    pos_of: dict[int, float] = {}  # support index -> distance to its own class, held out
    neg: list[float] = []
    everything = model.build_prototypes(feats, labels, text)
    for i in range(len(labels)):
        c = int(labels[i])
        keep = torch.arange(len(labels), device=labels.device) != i
        held_out = bool((labels[keep] == c).any())
        protos = model.build_prototypes(feats[keep], labels[keep], text) if held_out else everything
        d, _ = _distances(model, feats[i : i + 1], protos, text)
        if held_out:
            pos_of[i] = float(d[0, c])
        if n > 1:
            neg.append(float(torch.cat([d[0, :c], d[0, c + 1 :]]).min()))
    pos = list(pos_of.values())
    if pos and neg:
        q_pos = float(np.quantile(pos, 0.9))
        q_neg = float(np.median(neg))
        threshold = q_pos + 0.5 * (q_neg - q_pos) if q_neg > q_pos else q_pos + 0.05 * abs(q_pos)
        temperature = max(0.05, (q_neg - q_pos) / 4) if q_neg > q_pos else 0.5
    elif neg:
        # OTAM distances can be negative (soft-min), so margins are taken on their magnitude.
        median_neg = float(np.median(neg))
        threshold, temperature = median_neg - 0.1 * abs(median_neg), 0.5
    else:
        threshold, temperature = float("inf"), 0.5
    return {"threshold": threshold, "temperature": temperature, "pos": pos, "neg": neg, "pos_of": pos_of}


def active_span(feats: torch.Tensor, rest_share: float = 0.1, level: float = 0.5) -> tuple[int, int]:
    """The span [a, b) of a clip's frames where the person acts, between the rest poses it starts and ends in.

    feats: (N, D) frame features. The rest poses are the means of the first and last
    ``rest_share`` of the frames; a frame is active when its cosine distance to the nearer rest
    pose exceeds ``level`` times the largest such distance. A clip with no motion is all active.
    """
    n = len(feats)
    k = max(1, int(round(rest_share * n)))
    unit = F.normalize(feats.float(), dim=-1)
    rests = F.normalize(torch.stack([unit[:k].mean(0), unit[-k:].mean(0)]), dim=-1)
    dist = 1.0 - (unit @ rests.T).amax(dim=1)
    if n < 3 or float(dist.max()) < 0.02:
        return 0, n
    active = torch.nonzero(dist > level * dist.max()).flatten()
    return int(active[0]), int(active[-1]) + 1


def _segment_centres(n: int, T: int) -> np.ndarray:
    return np.minimum(((np.arange(T) + 0.5) * n / T).astype(int), n - 1)


def support_features(embedder: FrameEmbedder, clip: ClipRef, T: int, trim_rest: bool,
                     cancel: Optional[CancelFn] = None) -> tuple[torch.Tensor, float, Optional[torch.Tensor]]:
    """(T, D) features of one example clip, its length in seconds, and (T, D) features of its rest frames.

    With ``trim_rest`` the T frames are the segment centres of the clip's active span (the idle
    lead-in and lead-out cut off, see :func:`active_span`), the length is that span's, and the
    rest features are T frames picked from the lead-in and lead-out (None where there are none).
    """
    if not trim_rest:
        info = probe(clip.path)
        start = clip.start_s or 0.0
        end = clip.end_s if clip.end_s is not None else info.duration_s
        return embedder.clip(clip.path, T, clip.start_s, clip.end_s), max(end - start, 1.0 / max(info.fps, 1.0)), None
    dense = embedder.clip_frames(clip.path, clip.start_s, clip.end_s, cancel)
    a, b = active_span(dense.feats)
    frame_s = 1.0 / max(dense.fps, 1.0)
    active = dense.feats[torch.from_numpy(a + _segment_centres(b - a, T))]
    idle = torch.cat([dense.feats[:a], dense.feats[b:]])
    rest = idle[torch.from_numpy(_segment_centres(len(idle), T))] if len(idle) else None
    return active, max(float(dense.times[b - 1] - dense.times[a]) + frame_s, frame_s), rest


def build_bank(
    model: STAR,
    embedder: FrameEmbedder,
    actions: Sequence[ActionExamples],
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
    trim_rest: bool = True,
) -> PrototypeBank:
    """Embed every support clip (cached) and build the prototype bank with a calibrated threshold.

    With ``trim_rest`` each example's idle lead-in and lead-out are left out of its prototype and
    of the labeling window's length (the window is the median length of the examples' active spans),
    and they make a rest prototype ("a person standing still"): windows closer to it than to any
    action are background.
    """
    if not actions:
        raise ValueError("no actions: add at least one action with an example clip")
    for action in actions:
        if not action.clips:
            raise ValueError(f"action {action.name!r} has no example clip; add at least one")
    T = model.cfg.num_frames
    total = sum(len(a.clips) for a in actions)
    feats, labels, lengths, rests = [], [], [], []
    done = 0
    for c, action in enumerate(actions):
        for clip in action.clips:
            check_cancel(cancel)
            clip_feats, length, rest = support_features(embedder, clip, T, trim_rest, cancel)
            feats.append(clip_feats)
            labels.append(c)
            lengths.append(length)
            if rest is not None:
                rests.append(rest)
            done += 1
            report(progress, done, total, f"{action.name}: {Path(clip.path).name}")
    names = [a.name for a in actions]
    device = embedder.device
    with torch.no_grad():
        text = model.encode_text(names, [a.descriptors for a in actions])
        support = torch.stack(feats).to(device)
        label_t = torch.tensor(labels, device=device)
        prototypes = model.build_prototypes(support, label_t, text)
        cal = calibrate(model, support, label_t, text)
        rest = (_rest_class(model, support, label_t, prototypes, text, cal["pos_of"], torch.stack(rests).to(device))
                if rests else None)
    stages = text.stages
    descriptors = [list(a.descriptors) if a.descriptors else [] for a in actions]
    return PrototypeBank(
        names=names, descriptors=descriptors, prototypes=prototypes.cpu(), prompts=text.prompts.cpu(),
        stages=stages.cpu(), threshold=cal["threshold"], temperature=cal["temperature"],
        window_s=float(statistics.median(lengths)), model_name=model.cfg.name,
        backbone_id=embedder.backbone_id, calibration={"pos": cal["pos"], "neg": cal["neg"]}, rest=rest,
    )


def _rest_class(model: STAR, support: torch.Tensor, labels: torch.Tensor, prototypes: torch.Tensor, text: TextBank,
                pos_of: dict[int, float], rests: torch.Tensor) -> dict[str, torch.Tensor]:
    """The rest class from the examples' idle frames: prototype, text, and the offset on its distance.

    A window is background when (nearest action distance - rest distance) > offset. The offset lies
    just past the idle frames' margins (their 10 % quantile), a tenth of the way towards the median
    margin of the examples themselves (their own class held out, as in :func:`calibrate`): windows
    of a long video straddle rest and action, so the cut sits near the idle side.
    """
    rest_text = model.encode_text([REST_NAME], [REST_DESCRIPTORS])
    zeros = torch.zeros(len(rests), dtype=torch.long, device=rests.device)
    prototype = model.build_prototypes(rests, zeros, rest_text)[0]
    protos, both = with_rest(prototypes, text, prototype, rest_text.prompts[0], rest_text.stages[0])
    d_rest, _ = _distances(model, rests, protos, both)
    d_act, _ = _distances(model, support, protos, both)
    idle_margin = (d_rest[:, :-1].min(1).values - d_rest[:, -1]).cpu().numpy()
    own = torch.tensor([pos_of.get(i, float(d_act[i, int(c)])) for i, c in enumerate(labels)], device=d_act.device)
    act_margin = (own - d_act[:, -1]).cpu().numpy()
    idle_edge = float(np.quantile(idle_margin, 0.1))
    offset = idle_edge + 0.1 * (float(np.median(act_margin)) - idle_edge)
    return {"prototype": prototype.cpu(), "prompt": rest_text.prompts[0].cpu(), "stages": rest_text.stages[0].cpu(),
            "offset": torch.tensor(offset)}


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
    return start + np.minimum(((np.arange(T) + 0.5) * width / T).astype(int), width - 1)


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
def label_features(model: STAR, bank: PrototypeBank, video: VideoFeatures, params: Optional[LabelingParams] = None,
                   cancel: Optional[CancelFn] = None, batch_windows: int = 64) -> LabelResult:
    """Label one video from its sampled frame features (steps 2-4 of the pipeline)."""
    params = params or LabelingParams()
    if video.rate != params.rate:
        raise ValueError(f"features were sampled at {video.rate:g} fps but labeling asks for {params.rate:g} fps")
    T = model.cfg.num_frames
    n = len(bank.names)
    f = len(video.times)
    window_s = params.window_s or bank.window_s
    window = max(1, int(round(window_s * params.rate)))
    stride = max(1, int(round(window * params.stride_fraction)))
    threshold = params.threshold if params.threshold is not None else bank.threshold
    temperature = params.temperature or bank.temperature
    device = next(model.parameters()).device
    protos, text = bank.scoring()
    protos, text = protos.to(device), text.to(device)
    feats = video.feats.to(device)
    prob_sum = np.zeros((f, n + 1))
    cover = np.zeros(f)
    tsa_sum = np.zeros((f, n))
    tsa_count = np.zeros(f)
    starts = window_starts(f, window, stride)
    for b in range(0, len(starts), batch_windows):
        check_cancel(cancel)
        chunk = starts[b : b + batch_windows]
        picks = np.stack([window_picks(s, window, T, f) for s in chunk])
        dist, tsa = _distances(model, feats[torch.from_numpy(picks).to(device)], protos, text)
        bg = torch.full((len(chunk), 1), float(threshold), device=device)
        if bank.rest is not None:  # the rest class: background where its margin says so
            bg = torch.minimum(bg, dist[:, n:] + float(bank.rest["offset"]))
        probs = torch.softmax(-torch.cat([dist[:, :n], bg], dim=1) / temperature, dim=1).cpu().numpy()
        tsa = tsa[..., :n].cpu().numpy()
        for s, p, pk, m in zip(chunk, probs, picks, tsa):
            end = min(s + window, f)
            prob_sum[s:end] += p
            cover[s:end] += 1
            np.add.at(tsa_sum, pk, m)
            np.add.at(tsa_count, pk, 1)
    scores = prob_sum / np.maximum(cover, 1)[:, None]
    seen = tsa_count > 0
    tsa_map = np.stack([np.interp(np.arange(f), np.nonzero(seen)[0], tsa_sum[seen, c] / tsa_count[seen]) for c in range(n)], 1)
    smoothed = _smooth(scores, max(1, int(round(params.smooth_s * params.rate))))
    min_s = params.min_segment_s if params.min_segment_s is not None else window_s / 3
    idx = merge_short_runs(smoothed.argmax(1), smoothed, max(1, int(round(min_s * params.rate))))
    classes = list(bank.names) + [BACKGROUND]
    labels = [classes[i] for i in idx]
    segments = _segments(idx, smoothed, video, classes)
    return LabelResult(Path(video.path).name, list(bank.names), video.frames, video.times, smoothed, labels, tsa_map, segments)


def _segments(idx: np.ndarray, scores: np.ndarray, video: VideoFeatures, classes: list[str]) -> list[Segment]:
    t = video.times
    fps = video.fps if video.fps > 0 else 1.0
    out: list[Segment] = []
    for c, a, b in _runs(idx):
        start_s = 0.0 if a == 0 else float((t[a - 1] + t[a]) / 2)
        end_s = video.duration_s if b == len(t) else float((t[b - 1] + t[b]) / 2)
        start_f = 0 if a == 0 else int(round(start_s * fps))
        end_f = video.frame_count if b == len(t) else int(round(end_s * fps))
        out.append(Segment(classes[c], start_s, end_s, start_f, end_f, float(scores[a:b, c].mean()), "model"))
    return out


def label_video(
    model: STAR,
    embedder: FrameEmbedder,
    bank: PrototypeBank,
    path: str | Path,
    params: Optional[LabelingParams] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> LabelResult:
    """Decode and embed ``path`` (cached), then label it."""
    params = params or LabelingParams()
    feats = embedder.video(path, params.rate, progress=progress, cancel=cancel)
    return label_features(model, bank, feats, params, cancel=cancel)
