"""N-way K-shot episodes: which clips, which frames, and the tensors a training step needs.

An :class:`EpisodePlan` names clips (class id, clip index); a clip source turns it into an
:class:`EpisodeBatch`. Two sources, for the two training speeds:

- :class:`FeatureSource` (frozen backbone): every frame of every clip embedded once (cached);
  a batch picks T of them per clip, a random frame inside each of T uniform segments for
  training and the centre frame for validation;
- :class:`VideoSource` (last backbone blocks trained): a batch decodes T frames per clip
  (``video.sample_clip``) and the model encodes them in the training step.

All randomness comes from one ``numpy.random.Generator`` passed in, so a run is reproducible
from its seed and resumable from the generator's state.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch
from einops import rearrange

from .features import FrameEmbedder
from .jobs import CancelFn, check_cancel
from .labeling import ActionExamples, ClipRef
from .model import STAR
from .tsa import TextBank
from .video import sample_clip


@dataclass
class EpisodePlan:
    """classes: the episode's N class ids (label i = classes[i]); support / query: (class id, clip index)."""

    classes: list[int]
    support: list[tuple[int, int]]
    query: list[tuple[int, int]]

    def labels(self, items: Sequence[tuple[int, int]]) -> torch.Tensor:
        """(len(items),) episode labels in [0, N)."""
        pos = {c: i for i, c in enumerate(self.classes)}
        return torch.tensor([pos[c] for c, _ in items], dtype=torch.long)


@dataclass
class EpisodeBatch:
    """support (N*K, T, D) features or (N*K, T, 3, H, W) uint8 frames, support_labels (N*K,),
    query likewise with (Q,) labels, text: the N classes' TextBank."""

    support: torch.Tensor
    support_labels: torch.Tensor
    query: torch.Tensor
    query_labels: torch.Tensor
    text: TextBank

    def to(self, device: torch.device) -> "EpisodeBatch":
        return EpisodeBatch(self.support.to(device), self.support_labels.to(device), self.query.to(device),
                            self.query_labels.to(device), self.text.to(device))


def segment_indices(n_frames: int, T: int, rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """(T,) frame indices: one per uniform segment, random inside it with ``rng``, else its centre.

    A segment holding no frame (``n_frames < T``) takes the frame nearest its centre.
    """
    bounds = np.arange(T + 1) * n_frames / T
    centre = np.minimum(((np.arange(T) + 0.5) * n_frames / T).astype(np.int64), n_frames - 1)
    if rng is None:
        return centre
    lo, hi = np.ceil(bounds[:-1]).astype(np.int64), np.ceil(bounds[1:]).astype(np.int64)
    pick = lo + np.floor(rng.random(T) * np.maximum(hi - lo, 1)).astype(np.int64)
    return np.where(hi > lo, np.minimum(pick, n_frames - 1), centre)


def draw_episode(counts: Sequence[int], way: int, shot: int, query: int, rng: np.random.Generator) -> EpisodePlan:
    """Draw ``way`` classes among those with >= 2 clips, then per class ``shot`` support and ``query``
    query clips without overlap (fewer when a class is small: at least one of each)."""
    eligible = [c for c, n in enumerate(counts) if n >= 2]
    if len(eligible) < 2:
        raise ValueError(f"episodes need at least 2 classes with 2 or more clips; the data has {len(eligible)}")
    n = min(way, len(eligible))
    classes = sorted(rng.choice(eligible, size=n, replace=False).tolist())
    support, queries = [], []
    for c in classes:
        order = rng.permutation(counts[c]).tolist()
        k = min(shot, counts[c] - 1)
        q = min(query, counts[c] - k)
        support += [(c, i) for i in order[:k]]
        queries += [(c, i) for i in order[k : k + q]]
    return EpisodePlan(classes, support, queries)


def fixed_episodes(counts: Sequence[int], way: int, shot: int, query: int, episodes: int, seed: int) -> list[EpisodePlan]:
    """The same ``episodes`` validation plans every time for a given ``seed``."""
    rng = np.random.default_rng(seed)
    return [draw_episode(counts, way, shot, query, rng) for _ in range(episodes)]


class ClipSource:
    """Classes (names, descriptors) and their clips; subclasses say how a clip becomes T frames."""

    def __init__(self, names: list[str], descriptors: list[Optional[list[str]]], counts: list[int]) -> None:
        self.names = names
        self.descriptors = descriptors
        self.counts = counts
        self._text: Optional[TextBank] = None

    def text_bank(self, model: STAR) -> TextBank:
        """Every class's text embedding (the text tower is frozen, so computed once), on the CPU."""
        if self._text is None:
            self._text = model.encode_text(self.names, self.descriptors).to("cpu")
        return self._text

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
