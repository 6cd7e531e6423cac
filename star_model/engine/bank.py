"""The prototype bank: what labeling needs from the example clips.

Every example clip gives T frame features (centre frames of T uniform segments of its active span,
:func:`example_span`) and its length; STAR refines the features into one prototype per action. The
bank also keeps each action's example lengths (the search's duration prior) and the rest text ("a
person standing still", the background side of the activity evidence). An action without examples
is *text only*: its name and descriptors alone score it (zero-shot, through TSA); its prototype is
zeros and its length list empty.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

from star_model.engine.activity import REST_DESCRIPTORS, REST_NAME
from star_model.engine.features import FrameEmbedder
from star_model.errors import check_cancel
from star_model.nn.model import STAR
from star_model.nn.tsa import TextBank
from star_model.ops.sampling import segment_centres
from star_model.schema import ActionExamples, CancelFn, ClipRef, ProgressFn, atomic_write, report
from star_model.video import probe

BANK_FORMAT = 2
REST_LEAD_S = 0.05
ACTIVE_LEVEL = 0.06


@dataclass
class PrototypeBank:
    """prototypes (N, T, D), the actions' text (prompts (N, D), stages (N, S, D)), their example lengths
    in seconds, the rest text (rest_prompt (D,), rest_stages (S, D)), and the example frames before STAR
    (support (M, D), of clips support_clips (M,)) for the out-of-domain check (None in older files), and
    whether every example comes from one video (one_video: then they show one scene only)."""

    names: list[str]
    descriptors: list[list[str]]
    prototypes: torch.Tensor
    prompts: torch.Tensor
    stages: torch.Tensor
    lengths: list[list[float]]
    rest_prompt: torch.Tensor
    rest_stages: torch.Tensor
    model_name: str
    backbone_id: str
    support: Optional[torch.Tensor] = None
    support_clips: Optional[torch.Tensor] = None
    one_video: bool = False

    def text(self) -> TextBank:
        return TextBank(list(self.names), self.prompts, self.stages)

    def rest_text(self) -> TextBank:
        return TextBank([REST_NAME], self.rest_prompt[None], self.rest_stages[None])

    @property
    def with_examples(self) -> list[bool]:
        """Per action: whether it has examples (False: text only)."""
        return [bool(ls) for ls in self.lengths]

    def save(self, path: Path, signature: str = "") -> Path:
        """Write ``path`` (safetensors; names, lengths and sizes in its JSON metadata) atomically; ``signature``,
        the caller's key of what the bank was built from, goes into the metadata too (:func:`saved_signature`)."""
        meta = {"format": BANK_FORMAT, "names": self.names, "descriptors": self.descriptors, "lengths": self.lengths,
                "model_name": self.model_name, "backbone_id": self.backbone_id, "one_video": self.one_video}
        tensors = {k: getattr(self, k).contiguous() for k in ("prototypes", "prompts", "stages", "rest_prompt",
                                                              "rest_stages", "support", "support_clips")
                   if getattr(self, k) is not None}
        metadata = {"bank": json.dumps(meta), "signature": signature}
        return atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))

    @classmethod
    def load(cls, path: Path) -> "PrototypeBank":
        """Read a bank; one of another format (an older release's) is a ValueError, so it gets rebuilt."""
        with safe_open(str(path), framework="pt") as fh:
            meta = json.loads((fh.metadata() or {}).get("bank", "{}"))
            if meta.pop("format", None) != BANK_FORMAT:
                raise ValueError(f"{Path(path).name} holds prototypes of another format")
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
        return cls(**tensors, **meta)


def saved_signature(path: Path) -> str:
    """The signature a bank file was saved with ("" when none: an older file, or none was given)."""
    with safe_open(str(path), framework="pt") as fh:
        return (fh.metadata() or {}).get("signature", "")


def example_span(feats: torch.Tensor, fps: float) -> tuple[int, int]:
    """The span [a, b) of an example's frames where the person acts, between the rest poses it starts and ends in.

    feats: (N, D) every frame's features. The rest poses are the first and last ``REST_LEAD_S`` seconds;
    the action starts at the first frame whose distance from the starting rest pose passes
    ``ACTIVE_LEVEL`` of that distance's largest value, and ends likewise, seen from the end. A clip with
    no motion is all active.
    """
    n = len(feats)
    k = max(1, int(round(REST_LEAD_S * fps)))
    unit = F.normalize(feats.float(), dim=-1)
    from_start = 1.0 - unit @ F.normalize(unit[:k].mean(0), dim=-1)
    from_end = 1.0 - unit @ F.normalize(unit[-k:].mean(0), dim=-1)
    if n < 3 or max(float(from_start.max()), float(from_end.max())) < 0.02:
        return 0, n
    a = int(torch.nonzero(from_start > ACTIVE_LEVEL * from_start.max())[0])
    b = int(torch.nonzero(from_end > ACTIVE_LEVEL * from_end.max())[-1]) + 1
    return (a, b) if b > a else (0, n)


def support_features(embedder: FrameEmbedder, clip: ClipRef, T: int, trim_rest: bool,
                     cancel: Optional[CancelFn] = None) -> tuple[torch.Tensor, float]:
    """(T, D) features of one example clip and its length in seconds.

    With ``trim_rest`` the T frames are the segment centres of the clip's active span (the still
    lead-in and lead-out cut off, see :func:`example_span`) and the length is that span's; without,
    or for a clip marked ``tight``, the whole clip (or its in/out span).
    """
    if not trim_rest or clip.tight:
        info = probe(clip.path)
        start = clip.start_s or 0.0
        end = clip.end_s if clip.end_s is not None else info.duration_s
        return embedder.clip(clip.path, T, clip.start_s, clip.end_s), max(end - start, 1.0 / max(info.fps, 1.0))
    dense = embedder.clip_frames(clip.path, clip.start_s, clip.end_s, cancel)
    a, b = example_span(dense.feats, dense.fps)
    frame_s = 1.0 / max(dense.fps, 1.0)
    active = dense.feats[torch.from_numpy(a + segment_centres(b - a, T))]
    return active, max(float(dense.times[b - 1] - dense.times[a]) + frame_s, frame_s)


def build_bank(
    model: STAR,
    embedder: FrameEmbedder,
    actions: Sequence[ActionExamples],
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
    trim_rest: bool = True,
) -> PrototypeBank:
    """Embed every example clip (cached) and build the prototypes, one per action with examples.

    ``trim_rest``: the examples start and end at rest, which is cut off (see :func:`support_features`).
    Actions without clips are text only (see the module docstring).
    """
    _check_actions(actions)
    T = model.cfg.num_frames
    total = sum(len(a.clips) for a in actions)
    feats, labels = [], []
    lengths: list[list[float]] = [[] for _ in actions]
    for c, action in enumerate(actions):
        for clip in action.clips:
            check_cancel(cancel)
            clip_feats, length = support_features(embedder, clip, T, trim_rest, cancel)
            feats.append(clip_feats)
            labels.append(c)
            lengths[c].append(length)
            report(progress, len(feats), total, f"{action.name}: {Path(clip.path).name}")
    names = [a.name for a in actions]
    device = embedder.device
    with torch.no_grad():
        text = model.encode_text(names, [a.descriptors for a in actions])
        rest = model.encode_text([REST_NAME], [REST_DESCRIPTORS])
        prototypes = (model.build_prototypes(torch.stack(feats).to(device), torch.tensor(labels, device=device), text,
                                             allow_missing=True) if feats else
                      text.prompts.new_zeros(len(names), T, text.prompts.shape[-1]))
    return PrototypeBank(
        names=names, descriptors=[list(a.descriptors) if a.descriptors else [] for a in actions],
        prototypes=prototypes.cpu(), prompts=text.prompts.cpu(), stages=text.stages.cpu(), lengths=lengths,
        rest_prompt=rest.prompts[0].cpu(), rest_stages=rest.stages[0].cpu(), model_name=model.cfg.name,
        backbone_id=embedder.backbone_id, support=torch.cat(feats).float().cpu() if feats else None,
        support_clips=torch.arange(len(feats)).repeat_interleave(T) if feats else None,
        one_video=len({Path(c.path).resolve() for a in actions for c in a.clips}) == 1,
    )


def _check_actions(actions: Sequence[ActionExamples]) -> None:
    if not actions:
        raise ValueError("no actions: add at least one action (a name, and example clips where you have them)")
