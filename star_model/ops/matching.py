"""Sequence matching between a query and class prototypes: OTAM and Bi-MHM.

Distances take a frame-to-frame distance matrix ``dist (..., Tq, Ts)`` (typically
``1 - cos``) and return one number per leading index; logits are ``-distance``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange


def frame_distances(query: torch.Tensor, protos: torch.Tensor) -> torch.Tensor:
    """Cosine distance 1 - cos between every query frame and every prototype frame.

    query: (Q, Tq, D), protos: (N, Ts, D) -> (Q, N, Tq, Ts).
    """
    q = F.normalize(query, dim=-1)
    p = F.normalize(protos, dim=-1)
    return 1.0 - torch.einsum("qtd,nsd->qnts", q, p)


def _softmin(values: list[torch.Tensor], lam: float) -> torch.Tensor:
    return -lam * torch.logsumexp(torch.stack(values, dim=0) / -lam, dim=0)


def otam_distance(dist: torch.Tensor, lam: float = 0.5) -> torch.Tensor:
    """One-direction OTAM cumulative alignment distance, as CLIP-FSAR defines it.

    dist: (..., Tq, Ts) -> (...). The support axis is zero-padded on both sides, the first row
    is a hard cumulative sum, later rows take a soft-min (temperature ``lam``) over the diagonal
    and horizontal moves; the first and last real columns may also be entered vertically (from
    the padding column, or down the last column).
    """
    d = F.pad(dist, (1, 1), value=0.0)
    rows, cols = d.shape[-2], d.shape[-1]
    prev: list[torch.Tensor] = [torch.zeros_like(d[..., 0, 0])]
    for m in range(1, cols):
        prev.append(d[..., 0, m] + prev[m - 1])
    for row in range(1, rows):
        cur = [torch.zeros_like(prev[0])]
        cur.append(d[..., row, 1] + _softmin([prev[0], prev[1], cur[0]], lam))
        for m in range(2, cols - 1):
            cur.append(d[..., row, m] + _softmin([prev[m - 1], cur[m - 1]], lam))
        cur.append(d[..., row, cols - 1] + _softmin([prev[cols - 2], prev[cols - 1], cur[cols - 2]], lam))
        prev = cur
    return prev[-1]


def otam_two_way(dist: torch.Tensor, lam: float = 0.5) -> torch.Tensor:
    """OTAM in both directions, summed (query->support plus support->query). dist: (..., Tq, Ts) -> (...).

    When Tq == Ts (the usual T x T) both directions are one batch of ``otam_distance``: half the Python
    steps, the same arithmetic (equal, bit for bit, to the two calls).
    """
    flipped = rearrange(dist, "... a b -> ... b a")
    if dist.shape[-1] == dist.shape[-2]:
        both = otam_distance(torch.stack([dist, flipped]), lam)
        return both[0] + both[1]
    return otam_distance(dist, lam) + otam_distance(flipped, lam)


def bi_mhm_distance(dist: torch.Tensor) -> torch.Tensor:
    """Bidirectional mean Hausdorff metric (HyRSM): mean of row minima plus mean of column minima.

    dist: (..., Tq, Ts) -> (...).
    """
    return dist.min(dim=-1).values.mean(dim=-1) + dist.min(dim=-2).values.mean(dim=-1)
