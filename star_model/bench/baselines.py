"""The methods the benchmark compares, behind one interface.

Every method maps clip features (B, T, D) to sequences (B, T', D) -- support clips knowing
their class, queries not -- averages support sequences per class into prototypes and scores a
query by a distance to each prototype. Evaluation runs these pieces on many episodes at once
(``star_model.bench.evaluate``); training uses each module's ``episode`` (the API of ``STAR.episode``)
through ``star_model.train.loop.train``.

- ``protonet``: mean frame feature, cosine distance (no training);
- ``otam``: CLIP-FSAR-style baseline: the class-text token is prepended to support frames (a
  learned token to queries), one temporal transformer layer, OTAM; plus the video-text loss;
- ``star`` and its ablations: the STAR head with a part switched off by its config.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from einops import einsum
from torch import nn

from star_model.nn.config import ModelConfig, config_from_dict, merged
from star_model.nn.descriptors import class_prompt
from star_model.nn.model import STAR, EpisodeOutput
from star_model.nn.tsa import TextBank
from star_model.ops.matching import bi_mhm_distance, otam_two_way
from star_model.train.recipes import config_overrides

METHODS: dict[str, Optional[dict]] = {
    "protonet": None,
    "otam": None,
    "shipped": None,
    "star": {},
    "star_no_tsa": {"tsa": {"enabled": False}},
    "star_no_sgf": {"sgf": {"enabled": False}},
    "star_no_asd": {"asd": {"enabled": False}},
    "star_no_acu": {"acu": {"enabled": False}},
    "star_no_stages": {"text": {"use_stages": False}},
    "star_bi_mhm": {"matching": {"method": "bi_mhm"}},
}
LABELS = {
    "protonet": "ProtoNet (mean frame feature, cosine)",
    "otam": "OTAM baseline (CLIP-FSAR style: text token + 1 temporal layer + OTAM)",
    "shipped": "STAR as shipped (the bundled head, not retrained)",
    "star": "STAR (retrained here)",
    "star_no_tsa": "STAR without TSA",
    "star_no_sgf": "STAR without SGF",
    "star_no_asd": "STAR without ASD",
    "star_no_acu": "STAR without ACU",
    "star_no_stages": "STAR without stage descriptors (class prompt only)",
    "star_bi_mhm": "STAR with Bi-MHM instead of OTAM",
}
TRAINED = [name for name in METHODS if name not in ("protonet", "shipped")]


def batched_distances(query: torch.Tensor, protos: torch.Tensor, method: str, lam: float = 0.5) -> torch.Tensor:
    """query: (..., Q, T, D), protos: (..., N, T, D) -> (..., Q, N) distances.

    ``cosine``: 1 - cos of the time-averaged sequences; ``otam`` / ``bi_mhm``: over 1 - cos frame distances.
    """
    if method == "cosine":
        q = F.normalize(query.mean(-2), dim=-1)
        p = F.normalize(protos.mean(-2), dim=-1)
        return 1.0 - einsum(q, p, "... q d, ... n d -> ... q n")
    dist = 1.0 - einsum(F.normalize(query, dim=-1), F.normalize(protos, dim=-1), "... q t d, ... n s d -> ... q n t s")
    return otam_two_way(dist, lam) if method == "otam" else bi_mhm_distance(dist)


class StarMethod:
    """STAR (or an ablation) behind the benchmark interface."""

    def __init__(self, model: STAR) -> None:
        self.model = model
        self.match = model.cfg.matching.method
        self.lam = model.cfg.matching.lam

    def encode_text(self, names: Sequence[str], descriptors: Sequence[Optional[Sequence[str]]]) -> TextBank:
        return self.model.encode_text(names, descriptors)

    def _enhanced(self, feats: torch.Tensor, text: TextBank) -> torch.Tensor:
        return self.model.tsa(feats, text).frames if self.model.tsa is not None else feats

    def support_sequences(self, feats: torch.Tensor, labels: torch.Tensor, text: TextBank) -> torch.Tensor:
        """feats: (B, T, D), labels: (B,) in [0, N) -> (B, T, D) refined support clips (TSA, SGF, ASD, ACU)."""
        return self.model.refiner(self._enhanced(feats, text), text.prompts[labels])

    def query_sequences(self, feats: torch.Tensor, text: TextBank) -> torch.Tensor:
        """feats: (B, T, D) -> (B, T, D) refined query clips."""
        return self.model.refiner(self._enhanced(feats, text))

    def order_distances(self, feats: torch.Tensor, text: TextBank) -> Optional[torch.Tensor]:
        """feats: (B, T, D) queries -> (B, N) the stage-order term STAR adds to its distances (None when off)."""
        return self.model.stage_order(feats, text)


class OtamBaseline(nn.Module):
    """CLIP-FSAR-style head over frozen CLIP features (trainable with ``star_model.train.loop.train``).

    Support clip: [class prompt embedding, frames] + positions -> one pre-norm transformer layer ->
    the frame outputs; a query takes a learned token in place of the text. Prototypes are class
    means; OTAM (two-way, soft-min) gives distances. Loss = CE(-distance) + alpha * CE of the
    video-text logits (cosine of the mean query frame to each class prompt), as STAR's.
    """

    def __init__(self, cfg: ModelConfig, backbone: nn.Module) -> None:
        super().__init__()
        self.cfg = cfg
        self.backbone = backbone
        dim, t = cfg.embed_dim, cfg.num_frames
        self.pos = nn.Parameter(torch.randn(t + 1, dim) * 0.02)
        self.query_token = nn.Parameter(torch.randn(dim) * 0.02)
        self.layer = nn.TransformerEncoderLayer(dim, cfg.tsa.heads, 2 * dim, dropout=0.0, batch_first=True,
                                                norm_first=True)
        self.logit_scale = nn.Parameter(torch.tensor(float(cfg.tsa.logit_scale)).log())
        self.match = "otam"
        self.lam = cfg.matching.lam

    @torch.no_grad()
    def encode_text(self, names: Sequence[str], descriptors: Optional[Sequence] = None) -> TextBank:
        """Class prompts only: TextBank with prompts (N, D) and no stages."""
        prompts = self.backbone.encode_texts([class_prompt(n, self.cfg.text.prompt) for n in names])
        return TextBank(list(names), prompts, prompts.new_zeros(len(names), 0, prompts.shape[-1]))

    def _run(self, feats: torch.Tensor, token: torch.Tensor) -> torch.Tensor:
        x = torch.cat([token[:, None], feats], dim=1) + self.pos[: feats.shape[1] + 1]
        return self.layer(x)[:, 1:]

    def support_sequences(self, feats: torch.Tensor, labels: torch.Tensor, text: TextBank) -> torch.Tensor:
        """feats: (B, T, D), labels: (B,) -> (B, T, D)."""
        return self._run(feats, text.prompts[labels])

    def query_sequences(self, feats: torch.Tensor, text: Optional[TextBank] = None) -> torch.Tensor:
        """feats: (B, T, D) -> (B, T, D)."""
        return self._run(feats, self.query_token.expand(len(feats), -1))

    def order_distances(self, feats: torch.Tensor, text: TextBank) -> None:
        """No stage-order term (the baseline has no stage descriptors)."""
        return None

    def episode(self, support_feats: torch.Tensor, support_labels: torch.Tensor, query_feats: torch.Tensor,
                text: TextBank, query_labels: Optional[torch.Tensor] = None) -> EpisodeOutput:
        """The ``STAR.episode`` contract: logits (Q, N), video_text_logits (Q, N), loss with labels."""
        n = len(text.names)
        sup = self.support_sequences(support_feats, support_labels, text)
        onehot = F.one_hot(support_labels, n).to(sup.dtype)
        protos = einsum(onehot, sup, "k n, k t d -> n t d") / onehot.sum(0).clamp(min=1)[:, None, None]
        distances = batched_distances(self.query_sequences(query_feats), protos, "otam", self.lam)
        vt = self.logit_scale.exp() * F.normalize(query_feats.mean(1), dim=-1) @ F.normalize(text.prompts, dim=-1).T
        out = EpisodeOutput(logits=-distances, video_text_logits=vt,
                            tsa_map=vt.softmax(-1)[:, None].expand(-1, query_feats.shape[1], -1), distances=distances)
        if query_labels is not None:
            out.loss = F.cross_entropy(out.logits, query_labels) + self.cfg.alpha * F.cross_entropy(vt, query_labels)
        return out


class ProtoNet:
    """Mean frame feature per clip, class mean as prototype, cosine distance; nothing to train."""

    match = "cosine"
    lam = 0.0

    def __init__(self, backbone: nn.Module, prompt: str) -> None:
        self.backbone = backbone
        self.prompt = prompt

    def encode_text(self, names: Sequence[str], descriptors: Optional[Sequence] = None) -> TextBank:
        prompts = self.backbone.encode_texts([class_prompt(n, self.prompt) for n in names])
        return TextBank(list(names), prompts, prompts.new_zeros(len(names), 0, prompts.shape[-1]))

    def support_sequences(self, feats: torch.Tensor, labels: torch.Tensor, text: TextBank) -> torch.Tensor:
        return feats

    def query_sequences(self, feats: torch.Tensor, text: TextBank) -> torch.Tensor:
        return feats

    def order_distances(self, feats: torch.Tensor, text: TextBank) -> None:
        return None


def build_method(name: str, towers: STAR, recipe: Optional[dict] = None) -> tuple[object, Optional[nn.Module]]:
    """(benchmark method, module to meta-train or None) for ``name`` on ``towers``' CLIP towers.

    ``shipped`` is ``towers`` itself (already trained); ``star``, its ablations and ``otam`` are fresh heads
    sharing its frozen towers, built from ``towers``' config with ``recipe`` (config overrides, e.g. a gate
    start; its ``"train"`` section is for :func:`~star_model.bench.evaluate.train_head`) applied and then the
    ablated part switched off.
    """
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    if name == "protonet":
        return ProtoNet(towers.backbone, towers.cfg.text.prompt), None
    if name == "otam":
        head = OtamBaseline(towers.cfg, towers.backbone).to(towers.backbone.mean.device)
        return head, head
    if name == "shipped":
        return StarMethod(towers), None
    data = merged(merged(towers.cfg.to_dict(), config_overrides(recipe)), METHODS[name])
    model = STAR(config_from_dict(data), warn_random=False).to(towers.backbone.mean.device)
    model.backbone.load_state_dict(towers.backbone.state_dict())
    model.backbone.set_trainable(True)
    return StarMethod(model), model
