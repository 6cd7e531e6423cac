"""Sequence matching between a query and class prototypes: OTAM and Bi-MHM; and between a query and a
class's ordered stage descriptors (:func:`stage_order_distance`).

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


def stage_order_distance(frames: torch.Tensor, stages: torch.Tensor) -> torch.Tensor:
    """How badly ``frames`` read as each class's stages *in their order*: the cheapest monotone alignment.

    frames: (B, T, D) frame features, stages: (N, S, D) each class's ordered stage-descriptor embeddings
    (same space) -> (B, N): the minimum, over assignments of frame t to stage s(t) with s(0) = 0,
    s(T-1) = S-1 and s never decreasing (stages may be skipped), of the sum over t of 1 - cos(frame t,
    stage s(t)). Order-sensitive where OTAM against one support clip may not be: "squat then jump" read
    as "jump then squat" pays for every frame that falls in the wrong stage.
    """
    cost = 1.0 - torch.einsum("btd,nsd->bnts", F.normalize(frames, dim=-1), F.normalize(stages, dim=-1))
    blocked = torch.full_like(cost[..., 0, 1:], float("inf"))
    best = torch.cat([cost[..., 0, :1], blocked], dim=-1)  # (B, N, S): frame 0 is in the first stage
    for t in range(1, cost.shape[-2]):
        best = torch.cummin(best, dim=-1).values + cost[..., t, :]
    return best[..., -1]
