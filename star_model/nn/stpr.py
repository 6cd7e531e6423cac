"""Semantic Temporal Prototype Refiner (STPR): SGF, ASD and ACU.

ASD and ACU start at zero, and so does SGF with its default closed gate: an untrained refiner is then
exactly the identity.
"""
from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from star_model.nn.config import ACUConfig, ASDConfig, ModelConfig
from star_model.nn.mamba import Mamba


class SemanticGuidedFusion(nn.Module):
    """Gated injection of the class text t_k into every frame of a support clip (gate starts at ``gate_init``)."""

    def __init__(self, dim: int, gate_init: float = 0.0) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, dim)
        self.gate = nn.Parameter(torch.full((dim,), float(gate_init)))

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """x: (B, T, D) support frames, text: (B, D) the class prompt of each clip -> (B, T, D)."""
        return x + torch.tanh(self.gate) * self.proj(text).unsqueeze(1)


class MultiFrequencySampling(nn.Module):
    """ASD: forward Mamba over sub-sequences at strides r (all phases), mixed by softmax weights.

    The mix is added residually through a zero-initialised projection.
    """

    def __init__(self, dim: int, cfg: ASDConfig) -> None:
        super().__init__()
        self.strides = [int(r) for r in cfg.strides]
        self.norm = nn.LayerNorm(dim)
        self.blocks = nn.ModuleList(
            Mamba(dim, d_state=cfg.mamba.d_state, d_conv=cfg.mamba.d_conv, expand=cfg.mamba.expand) for _ in self.strides
        )
        self.mix = nn.Parameter(torch.zeros(len(self.strides)))
        self.proj = nn.Linear(dim, dim)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def _at_stride(self, block: Mamba, x: torch.Tensor, r: int) -> torch.Tensor:
        t = x.shape[1]
        pad = (-t) % r
        if pad:
            x = torch.cat([x, x[:, -1:].expand(-1, pad, -1)], dim=1)
        phases = rearrange(x, "b (l r) d -> (b r) l d", r=r)
        out = rearrange(block(phases), "(b r) l d -> b (l r) d", r=r)
        return out[:, :t]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, D) -> (B, T, D)."""
        h = self.norm(x)
        weights = self.mix.softmax(dim=0)
        mixed = sum(w * self._at_stride(block, h, r) for w, block, r in zip(weights, self.blocks, self.strides))
        return x + self.proj(mixed)


class BidirectionalRefiner(nn.Module):
    """ACU: fuse [x, input] back to D, then pre-norm residual bidirectional Mamba blocks.

    The fusion starts as [I | 0] and every Mamba output projection at zero, so it is the identity.
    """

    def __init__(self, dim: int, cfg: ACUConfig) -> None:
        super().__init__()
        self.fuse = nn.Linear(2 * dim, dim)
        with torch.no_grad():
            self.fuse.weight.zero_()
            self.fuse.weight[:, :dim].copy_(torch.eye(dim))
            self.fuse.bias.zero_()
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(cfg.depth))
        self.blocks = nn.ModuleList(
            Mamba(dim, d_state=cfg.mamba.d_state, d_conv=cfg.mamba.d_conv, expand=cfg.mamba.expand, bidirectional=True)
            for _ in range(cfg.depth)
        )
        for block in self.blocks:
            nn.init.zeros_(block.out_proj.weight)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        """x: (B, T, D) refined so far, source: (B, T, D) the refiner's input -> (B, T, D)."""
        h = self.fuse(torch.cat([x, source], dim=-1))
        for norm, block in zip(self.norms, self.blocks):
            h = h + self.drop(block(norm(h)))
        return h


class PrototypeRefiner(nn.Module):
    """STPR applied to TSA-enhanced frames of support and query clips alike (SGF on support only)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        dim = cfg.embed_dim
        self.sgf = SemanticGuidedFusion(dim, cfg.sgf.gate_init) if cfg.sgf.enabled else None
        self.asd = MultiFrequencySampling(dim, cfg.asd) if cfg.asd.enabled else None
        self.acu = BidirectionalRefiner(dim, cfg.acu) if cfg.acu.enabled else None

    def forward(self, x: torch.Tensor, class_text: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, T, D); class_text: (B, D) for support clips (SGF), None for queries -> (B, T, D)."""
        source = x
        if self.sgf is not None and class_text is not None:
            x = self.sgf(x, class_text)
        if self.asd is not None:
            x = self.asd(x)
        if self.acu is not None:
            x = self.acu(x, source)
        return x
