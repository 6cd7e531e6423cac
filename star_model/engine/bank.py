"""The prototype bank: what labeling needs from the example clips.

Every example clip gives T frame features (centre frames of T uniform segments of its active
span); STAR refines them into per-class prototypes. The background threshold and the softmax
temperature (in distance units) are calibrated leave-one-out on the examples
(:class:`Calibration`); the examples' still lead-in and lead-out make the rest class
(:class:`RestClass`).
"""
from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

from star_model.engine.features import FrameEmbedder
from star_model.errors import check_cancel
from star_model.nn.model import STAR
from star_model.nn.tsa import TextBank
from star_model.ops.sampling import segment_centres
from star_model.schema import ActionExamples, CancelFn, ClipRef, ProgressFn, atomic_write, report
from star_model.video import probe

REST_NAME = "stand still"
REST_DESCRIPTORS = ["a person standing still"]


@dataclass
class Calibration:
    """Threshold and temperature (distance units), and the held-out distances they come from:
    pos[i] of example i to its own class (only examples whose class has another one), neg of every
    example to its nearest other class."""

    threshold: float
    temperature: float
    pos: dict[int, float]
    neg: list[float]


@dataclass
class RestClass:
    """The rest class: prototype (T, D), prompt (D,), stages (S, D); a window is background when
    (nearest action distance - rest distance) > ``offset``."""

    prototype: torch.Tensor
    prompt: torch.Tensor
    stages: torch.Tensor
    offset: float


@dataclass
class PrototypeBank:
    """What labeling needs from the support set: prototypes (N, T, D), the class text, calibration."""

    names: list[str]
    descriptors: list[list[str]]
    prototypes: torch.Tensor
    prompts: torch.Tensor
    stages: torch.Tensor
    calibration: Calibration
    window_s: float
    model_name: str
    backbone_id: str
    rest: Optional[RestClass] = None

    @property
    def threshold(self) -> float:
        return self.calibration.threshold

    @property
    def temperature(self) -> float:
        return self.calibration.temperature

    def text(self) -> TextBank:
        return TextBank(list(self.names), self.prompts, self.stages)

    def scoring(self) -> tuple[torch.Tensor, TextBank]:
        """Prototypes (N or N + 1, T, D) and text to score windows against: the actions, then rest if known."""
        if self.rest is None:
            return self.prototypes, self.text()
        return with_rest(self.prototypes, self.text(), self.rest)

    def save(self, path: Path) -> Path:
        """Write ``path`` (safetensors; names, calibration and sizes in its JSON metadata) atomically."""
        cal = self.calibration
        meta = {"names": self.names, "descriptors": self.descriptors, "threshold": cal.threshold,
                "temperature": cal.temperature, "window_s": self.window_s, "model_name": self.model_name,
                "backbone_id": self.backbone_id, "calibration": {"pos": sorted(cal.pos.items()), "neg": cal.neg}}
        tensors = {"prototypes": self.prototypes, "prompts": self.prompts, "stages": self.stages}
        if self.rest is not None:
            tensors.update(rest_prototype=self.rest.prototype, rest_prompt=self.rest.prompt,
                           rest_stages=self.rest.stages, rest_offset=torch.tensor(self.rest.offset))
        tensors = {k: v.contiguous() for k, v in tensors.items()}
        return atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata={"bank": json.dumps(meta)}))

    @classmethod
    def load(cls, path: Path) -> "PrototypeBank":
        with safe_open(str(path), framework="pt") as fh:
            meta = json.loads(fh.metadata()["bank"])
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
        held = meta.pop("calibration")
        cal = Calibration(meta.pop("threshold"), meta.pop("temperature"), {int(i): d for i, d in held["pos"]}, held["neg"])
        rest = None
        if "rest_prototype" in tensors:
            rest = RestClass(tensors["rest_prototype"], tensors["rest_prompt"], tensors["rest_stages"],
                             float(tensors["rest_offset"]))
        return cls(prototypes=tensors["prototypes"], prompts=tensors["prompts"], stages=tensors["stages"],
                   calibration=cal, rest=rest, **meta)


def with_rest(prototypes: torch.Tensor, text: TextBank, rest: RestClass) -> tuple[torch.Tensor, TextBank]:
    """The actions' prototypes (N, T, D) and text with the rest class appended as class N."""
    return (torch.cat([prototypes, rest.prototype[None]]),
            TextBank([*text.names, REST_NAME], torch.cat([text.prompts, rest.prompt[None]]),
                     torch.cat([text.stages, rest.stages[None]])))


def distances(model: STAR, query: torch.Tensor, prototypes: torch.Tensor,
              text: TextBank) -> tuple[torch.Tensor, torch.Tensor]:
    """(Q, N) distances of query clips (Q, T, D) to the prototypes, and the (Q, T, N) TSA map."""
    out = model.classify(query, prototypes, text)
    return out.distances, out.tsa_map


@torch.no_grad()
def calibrate(model: STAR, feats: torch.Tensor, labels: torch.Tensor, text: TextBank) -> Calibration:
    """Leave-one-out distances of support clips to their own class (pos) and nearest other class (neg),
    and the threshold and temperature they give."""
    n = len(text.names)
    pos: dict[int, float] = {}
    neg: list[float] = []
    everything = model.build_prototypes(feats, labels, text)
    for i in range(len(labels)):
        c = int(labels[i])
        keep = torch.arange(len(labels), device=labels.device) != i
        held_out = bool((labels[keep] == c).any())
        protos = model.build_prototypes(feats[keep], labels[keep], text) if held_out else everything
        d, _ = distances(model, feats[i : i + 1], protos, text)
        if held_out:
            pos[i] = float(d[0, c])
        if n > 1:
            neg.append(float(torch.cat([d[0, :c], d[0, c + 1 :]]).min()))
    return Calibration(*_threshold_and_temperature(list(pos.values()), neg), pos, neg)


def _threshold_and_temperature(pos: list[float], neg: list[float]) -> tuple[float, float]:
    if pos and neg:
        q_pos = float(np.quantile(pos, 0.9))
        q_neg = float(np.median(neg))
        threshold = q_pos + 0.5 * (q_neg - q_pos) if q_neg > q_pos else q_pos + 0.05 * abs(q_pos)
        return threshold, max(0.05, (q_neg - q_pos) / 4) if q_neg > q_pos else 0.5
    if neg:
        # OTAM distances can be negative (soft-min), so margins are taken on their magnitude.
        median_neg = float(np.median(neg))
        return median_neg - 0.1 * abs(median_neg), 0.5
    return float("inf"), 0.5


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
    active = dense.feats[torch.from_numpy(a + segment_centres(b - a, T))]
    idle = torch.cat([dense.feats[:a], dense.feats[b:]])
    rest = idle[torch.from_numpy(segment_centres(len(idle), T))] if len(idle) else None
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
    _check_actions(actions)
    T = model.cfg.num_frames
    total = sum(len(a.clips) for a in actions)
    feats, labels, lengths, rests = [], [], [], []
    for c, action in enumerate(actions):
        for clip in action.clips:
            check_cancel(cancel)
            clip_feats, length, rest = support_features(embedder, clip, T, trim_rest, cancel)
            feats.append(clip_feats)
            labels.append(c)
            lengths.append(length)
            if rest is not None:
                rests.append(rest)
            report(progress, len(feats), total, f"{action.name}: {Path(clip.path).name}")
    names = [a.name for a in actions]
    device = embedder.device
    with torch.no_grad():
        text = model.encode_text(names, [a.descriptors for a in actions])
        support = torch.stack(feats).to(device)
        label_t = torch.tensor(labels, device=device)
        prototypes = model.build_prototypes(support, label_t, text)
        cal = calibrate(model, support, label_t, text)
        rest = (_rest_class(model, support, label_t, prototypes, text, cal.pos, torch.stack(rests).to(device))
                if rests else None)
    return PrototypeBank(
        names=names, descriptors=[list(a.descriptors) if a.descriptors else [] for a in actions],
        prototypes=prototypes.cpu(), prompts=text.prompts.cpu(), stages=text.stages.cpu(), calibration=cal,
        window_s=float(statistics.median(lengths)), model_name=model.cfg.name, backbone_id=embedder.backbone_id,
        rest=rest,
    )


def _check_actions(actions: Sequence[ActionExamples]) -> None:
    if not actions:
        raise ValueError("no actions: add at least one action with an example clip")
    for action in actions:
        if not action.clips:
            raise ValueError(f"action {action.name!r} has no example clip; add at least one")


def _rest_class(model: STAR, support: torch.Tensor, labels: torch.Tensor, prototypes: torch.Tensor, text: TextBank,
                pos: dict[int, float], rests: torch.Tensor) -> RestClass:
    """The rest class from the examples' idle frames.

    The offset lies just past the idle frames' margins (their 10 % quantile), a tenth of the way
    towards the median margin of the examples themselves (their own class held out, as in
    :func:`calibrate`): windows of a long video straddle rest and action, so the cut sits near the
    idle side.
    """
    rest_text = model.encode_text([REST_NAME], [REST_DESCRIPTORS])
    zeros = torch.zeros(len(rests), dtype=torch.long, device=rests.device)
    prototype = model.build_prototypes(rests, zeros, rest_text)[0]
    rest = RestClass(prototype, rest_text.prompts[0], rest_text.stages[0], 0.0)
    protos, both = with_rest(prototypes, text, rest)
    d_rest, _ = distances(model, rests, protos, both)
    d_act, _ = distances(model, support, protos, both)
    idle_margin = (d_rest[:, :-1].min(1).values - d_rest[:, -1]).cpu().numpy()
    own = torch.tensor([pos.get(i, float(d_act[i, int(c)])) for i, c in enumerate(labels)], device=d_act.device)
    act_margin = (own - d_act[:, -1]).cpu().numpy()
    idle_edge = float(np.quantile(idle_margin, 0.1))
    offset = idle_edge + 0.1 * (float(np.median(act_margin)) - idle_edge)
    # the offset is kept as float32, the precision it is stored in
    return RestClass(prototype.cpu(), rest_text.prompts[0].cpu(), rest_text.stages[0].cpu(), float(torch.tensor(offset)))
