"""Where an episode's clips come from, for the two training speeds.

- :class:`FeatureSource` (frozen backbone): every frame of every clip embedded once (cached);
  a batch picks T of them per clip, a random frame inside each of T uniform segments for
  training and the centre frame for validation;
- :class:`VideoSource` (last backbone blocks trained): a batch decodes T frames per clip
  (``video.sample_clip``) and the model encodes them in the training step.
"""
from __future__ import annotations

import weakref
from typing import Optional, Sequence

import numpy as np
import torch
from einops import rearrange

from star_model.data.episodes import EpisodeBatch, EpisodePlan
from star_model.engine.features import FrameEmbedder
from star_model.errors import check_cancel
from star_model.nn.model import STAR
from star_model.nn.tsa import TextBank
from star_model.ops.sampling import segment_indices
from star_model.schema import ActionExamples, CancelFn, ClipRef
from star_model.video import sample_clip


class ClipSource:
    """Classes (names, descriptors) and their clips; subclasses say how a clip becomes T frames."""

    def __init__(self, names: list[str], descriptors: list[Optional[list[str]]], counts: list[int]) -> None:
        self.names = names
        self.descriptors = descriptors
        self.counts = counts
        self._text: Optional[tuple[weakref.ref, TextBank]] = None

    def text_bank(self, model: STAR) -> TextBank:
        """Every class's text embedding by ``model``, on the CPU: its text tower is frozen, so computed once per
        model (another model -- a head without stage descriptors, a baseline -- gets its own bank)."""
        if self._text is None or self._text[0]() is not model:
            self._text = (weakref.ref(model), model.encode_text(self.names, self.descriptors).to("cpu"))
        return self._text[1]

    def clip_tensor(self, cls: int, index: int, T: int, rng: Optional[np.random.Generator]) -> torch.Tensor:
        raise NotImplementedError

    def batch(self, model: STAR, plan: EpisodePlan, T: int, rng: Optional[np.random.Generator]) -> EpisodeBatch:
        """The plan's tensors (on the CPU); ``rng`` None picks centre frames (validation)."""
        support = torch.stack([self.clip_tensor(c, i, T, rng) for c, i in plan.support])
        query = torch.stack([self.clip_tensor(c, i, T, rng) for c, i in plan.query])
        text = self.text_bank(model).select(torch.tensor(plan.classes))
        return EpisodeBatch(support, plan.labels(plan.support), query, plan.labels(plan.query), text)


class FeatureSource(ClipSource):
    """Frozen-backbone training data: clips[c][i] is a (F, D) tensor of every frame's features."""

    def __init__(self, names: list[str], descriptors: list[Optional[list[str]]], clips: list[list[torch.Tensor]]) -> None:
        super().__init__(names, descriptors, [len(c) for c in clips])
        self.clips = clips

    @classmethod
    def from_actions(cls, embedder: FrameEmbedder, actions: Sequence[ActionExamples],
                     cancel: Optional[CancelFn] = None) -> "FeatureSource":
        """Embed every frame of every clip once (``FrameEmbedder.clip_frames``: cached on disk)."""
        clips = []
        for action in actions:
            feats = []
            for ref in action.clips:
                check_cancel(cancel)
                feats.append(embedder.clip_frames(ref.path, ref.start_s, ref.end_s, cancel=cancel).feats)
            clips.append(feats)
        return cls([a.name for a in actions], [a.descriptors for a in actions], clips)

    @classmethod
    @torch.no_grad()
    def from_frames(cls, model: STAR, names: list[str], frames: list[list[np.ndarray]],
                    descriptors: Optional[list[Optional[list[str]]]] = None, batch_size: int = 64) -> "FeatureSource":
        """In-memory clips: frames[c][i] is a (F, H, W, 3) uint8 array, embedded here."""
        device = next(model.parameters()).device
        clips = []
        for per_class in frames:
            feats = []
            for video in per_class:
                x = rearrange(torch.from_numpy(np.ascontiguousarray(video)), "f h w c -> f c h w")
                feats.append(torch.cat([model.backbone.encode_images(x[i : i + batch_size].to(device)).float().cpu()
                                        for i in range(0, len(x), batch_size)]))
            clips.append(feats)
        return cls(names, descriptors or [None] * len(names), clips)

    def clip_tensor(self, cls: int, index: int, T: int, rng: Optional[np.random.Generator]) -> torch.Tensor:
        """(T, D) features of T segment frames."""
        feats = self.clips[cls][index]
        return feats[torch.from_numpy(segment_indices(len(feats), T, rng))]

    def extended(self, extra: list[list[torch.Tensor]]) -> "FeatureSource":
        """A source whose class c holds its own clips followed by ``extra[c]``."""
        return FeatureSource(self.names, self.descriptors, [a + b for a, b in zip(self.clips, extra)])


class VideoSource(ClipSource):
    """Training data for an unfrozen backbone: frames are decoded for every batch."""

    def __init__(self, actions: Sequence[ActionExamples], size: int) -> None:
        super().__init__([a.name for a in actions], [a.descriptors for a in actions], [len(a.clips) for a in actions])
        self.clips: list[list[ClipRef]] = [list(a.clips) for a in actions]
        self.size = size
        self._centre: dict[tuple[int, int, int], torch.Tensor] = {}

    def clip_tensor(self, cls: int, index: int, T: int, rng: Optional[np.random.Generator]) -> torch.Tensor:
        """(T, 3, S, S) uint8 frames (centre frames are decoded once and kept)."""
        key = (cls, index, T)
        if rng is None and key in self._centre:
            return self._centre[key]
        ref = self.clips[cls][index]
        images, _ = sample_clip(ref.path, T, start_s=ref.start_s, end_s=ref.end_s, size=self.size, rng=rng)
        frames = rearrange(torch.from_numpy(images), "t h w c -> t c h w")
        if rng is None:
            self._centre[key] = frames
        return frames
