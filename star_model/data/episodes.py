"""N-way K-shot episodes: which clips an episode holds, and the tensors a training step needs.

An :class:`EpisodePlan` names clips (class id, clip index); a clip source
(:mod:`star_model.train.sources`) turns it into an :class:`EpisodeBatch`. All randomness comes
from one ``numpy.random.Generator`` passed in, so a run is reproducible from its seed and
resumable from the generator's state.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from star_model.nn.tsa import TextBank


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


def draw_episode(counts: Sequence[int], way: int, shot: int, query: int, rng: np.random.Generator,
                 include: Sequence[int] = ()) -> EpisodePlan:
    """Draw ``way`` classes among those with >= 2 clips (the ``include`` ones first, e.g. an order pair), then
    per class ``shot`` support and ``query`` query clips without overlap (fewer when a class is small: at
    least one of each)."""
    eligible = [c for c, n in enumerate(counts) if n >= 2]
    if len(eligible) < 2:
        raise ValueError(f"episodes need at least 2 classes with 2 or more clips; the data has {len(eligible)}")
    if any(c not in eligible for c in include):
        raise ValueError(f"classes {list(include)} cannot all be in an episode: each needs 2 or more clips")
    n = min(way, len(eligible))
    rest = [c for c in eligible if c not in include]
    classes = sorted([*include, *rng.choice(rest, size=max(0, n - len(include)), replace=False).tolist()])
    support, queries = [], []
    for c in classes:
        order = rng.permutation(counts[c]).tolist()
        k = min(shot, counts[c] - 1)
        q = min(query, counts[c] - k)
        support += [(c, i) for i in order[:k]]
        queries += [(c, i) for i in order[k : k + q]]
    return EpisodePlan(classes, support, queries)


def stage_order_pairs(descriptors: Sequence[Optional[Sequence[str]]]) -> list[tuple[int, int]]:
    """Class pairs whose stage descriptors are the same sentences in another order ("squat then jump" and
    "jump then squat"): the pairs only the order of their stages tells apart."""
    return [(i, j) for i, a in enumerate(descriptors) for j in range(i + 1, len(descriptors))
            if a and descriptors[j] and list(a) != list(descriptors[j]) and sorted(a) == sorted(descriptors[j])]


def fixed_episodes(counts: Sequence[int], way: int, shot: int, query: int, episodes: int, seed: int) -> list[EpisodePlan]:
    """The same ``episodes`` validation plans every time for a given ``seed``."""
    rng = np.random.default_rng(seed)
    return [draw_episode(counts, way, shot, query, rng) for _ in range(episodes)]
