"""Temporal Semantic Attention (TSA): frame-level cross-modal alignment.

Frames (with a learnable temporal position embedding, added inside the attention branch
only) attend, multi-head, to the episode's text tokens: each class's prompt t_c and its
stage descriptors e_{c,1..S}, which carry a learnable stage-position embedding so that stage
order can align with time. The output projection starts at zero, so an untrained TSA passes
frames through unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from torch import nn

from star_model.nn.config import TSAConfig


@dataclass
class TextBank:
    """The class text of an episode: prompts (N, D) and ordered stage embeddings (N, S, D), L2-normalised."""

    names: list[str]
    prompts: torch.Tensor
    stages: torch.Tensor

    def tokens(self) -> torch.Tensor:
        """(N, 1 + S, D): each class's prompt followed by its stages."""
        return torch.cat([self.prompts.unsqueeze(1), self.stages], dim=1)

    def to(self, device: torch.device | str) -> "TextBank":
        return TextBank(self.names, self.prompts.to(device), self.stages.to(device))

    def select(self, index: torch.Tensor) -> "TextBank":
        """The bank restricted to classes ``index`` (in that order)."""
        idx = index.tolist()
        return TextBank([self.names[i] for i in idx], self.prompts[index], self.stages[index])


@dataclass
class TSAOutput:
    """frames: (B, T, D) enhanced frames; class_map: (B, T, N) per-frame class distribution;
    logits: (B, N) video-text logits."""

    frames: torch.Tensor
    class_map: torch.Tensor
    logits: torch.Tensor


class TemporalSemanticAttention(nn.Module):
    """Frames attend to text tokens; also gives the frame-by-class map M and video-text logits."""

    def __init__(self, dim: int, cfg: TSAConfig, max_frames: int, stages: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.norm_frames = nn.LayerNorm(dim)
        self.norm_text = nn.LayerNorm(dim)
        self.time_pos = nn.Parameter(torch.randn(max_frames, dim) * 0.02)
        self.stage_pos = nn.Parameter(torch.randn(1 + stages, dim) * 0.02)
        self.attn = nn.MultiheadAttention(dim, cfg.heads, dropout=cfg.dropout, batch_first=True)
        nn.init.zeros_(self.attn.out_proj.weight)
        nn.init.zeros_(self.attn.out_proj.bias)
        self.logit_scale = nn.Parameter(torch.tensor(float(cfg.logit_scale)).log())

    def forward(self, x: torch.Tensor, text: TextBank) -> TSAOutput:
        """x: (B, T, D) frame features, text: N classes -> TSAOutput (frames (B, T, D), class_map (B, T, N), logits (B, N))."""
        b, t, _ = x.shape
        tokens = text.tokens()
        n, k = tokens.shape[:2]
        keys = rearrange(self.norm_text(tokens) + self.stage_pos[:k], "n k d -> (n k) d")
        keys = repeat(keys, "m d -> b m d", b=b)
        queries = self.norm_frames(x) + self.time_pos[:t]
        attended, weights = self.attn(queries, keys, keys, need_weights=True, average_attn_weights=True)
        frames = x + attended
        scale = self.logit_scale.exp()
        if self.cfg.map_mode == "attention":
            class_map = rearrange(weights, "b t (n k) -> b t n k", n=n).sum(-1)
            logits = scale * class_map.mean(dim=1)
        else:
            class_map, logits = text_class_map(frames, tokens, self.cfg.pool_temperature, scale)
        return TSAOutput(frames=frames, class_map=class_map, logits=logits)


def text_class_map(
    frames: torch.Tensor, tokens: torch.Tensor, pool_temperature: float, scale: torch.Tensor | float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine of each frame to each class's tokens, soft-max pooled over the class's tokens.

    frames: (B, T, D), tokens: (N, K, D) -> class_map (B, T, N) (softmax over classes of
    scale * pooled cosine) and video-text logits (B, N) = scale * mean over t of the pooled cosine.
    """
    sim = torch.einsum("btd,nkd->btnk", F.normalize(frames, dim=-1), F.normalize(tokens, dim=-1))
    pooled = (sim.div(pool_temperature).softmax(dim=-1) * sim).sum(-1)
    return (scale * pooled).softmax(dim=-1), scale * pooled.mean(dim=1)
