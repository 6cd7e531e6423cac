"""STAR: CLIP frame features -> TSA -> STPR -> prototypes -> OTAM / Bi-MHM matching; losses."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from star_model.nn.backbone import ClipBackbone
from star_model.nn.config import ModelConfig
from star_model.nn.descriptors import class_prompt, fit_stages, template_stages
from star_model.nn.stpr import PrototypeRefiner
from star_model.nn.tsa import TemporalSemanticAttention, TextBank, text_class_map
from star_model.ops.matching import bi_mhm_distance, frame_distances, otam_two_way, stage_order_distance


@dataclass
class EpisodeOutput:
    """logits (Q, N) = -distance; video_text_logits (Q, N); tsa_map (Q, T, N); distances (Q, N);
    loss (scalar) when query labels were given."""

    logits: torch.Tensor
    video_text_logits: torch.Tensor
    tsa_map: torch.Tensor
    distances: torch.Tensor
    loss: Optional[torch.Tensor] = None


class STAR(nn.Module):
    """The STAR few-shot action recogniser."""

    def __init__(self, cfg: ModelConfig, pretrained: Optional[str] = None, warn_random: bool = True) -> None:
        super().__init__()
        self.cfg = cfg
        self.backbone = ClipBackbone(cfg.backbone, pretrained, warn_random=warn_random)
        stages = cfg.text.stages if cfg.text.use_stages else 0
        self.tsa = TemporalSemanticAttention(cfg.embed_dim, cfg.tsa, cfg.num_frames, stages) if cfg.tsa.enabled else None
        self.refiner = PrototypeRefiner(cfg)

    def head_parameters(self) -> list[nn.Parameter]:
        """The trainable parameters of the STAR head (TSA and STPR), without the CLIP towers."""
        return [p for name, p in self.named_parameters() if not name.startswith("backbone.")]

    def lr_scales(self) -> dict[str, float]:
        """Head parameters trained at a scaled learning rate (name -> factor): ASD's stride-mix weights."""
        if self.refiner.asd is None or self.cfg.asd.mix_lr_scale == 1.0:
            return {}
        return {"refiner.asd.mix": float(self.cfg.asd.mix_lr_scale)}

    def encode_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """frames: (B, T, 3, H, W) uint8 or float in [0, 1] -> (B, T, D) L2-normalised frame features."""
        return self.backbone.encode_frames(frames)

    @torch.no_grad()
    def encode_text(self, names: Sequence[str], descriptors: Optional[Sequence[Optional[Sequence[str]]]] = None) -> TextBank:
        """Class text bank: prompt + S ordered stage descriptors per class (templates where none are given).

        names: N action names; descriptors: per class, its stage sentences or None -> TextBank
        (prompts (N, D), stages (N, S, D); S = 0 when the config turns stages off).
        """
        count = self.cfg.text.stages
        descriptors = descriptors or [None] * len(names)
        prompts = self.backbone.encode_texts([class_prompt(n, self.cfg.text.prompt) for n in names])
        if not self.cfg.text.use_stages:
            return TextBank(list(names), prompts, prompts.new_zeros(len(names), 0, prompts.shape[-1]))
        sentences = [
            fit_stages(d, n, count) if d else template_stages(n, count) for n, d in zip(names, descriptors)
        ]
        flat = self.backbone.encode_texts([s for stages in sentences for s in stages])
        return TextBank(list(names), prompts, flat.view(len(names), count, -1))

    def _enhance(self, feats: torch.Tensor, text: TextBank) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.tsa is not None:
            out = self.tsa(feats, text)
            return out.frames, out.class_map, out.logits
        class_map, logits = text_class_map(feats, text.tokens(), self.cfg.tsa.pool_temperature, self.cfg.tsa.logit_scale)
        return feats, class_map, logits

    def text_map(self, feats: torch.Tensor, text: TextBank) -> torch.Tensor:
        """feats: (B, T, D) frames of consecutive stretches -> (B, T, N) the TSA class map M[t, c]."""
        return self._enhance(feats, text)[1]

    def video_text_logits(self, feats: torch.Tensor, text: TextBank) -> torch.Tensor:
        """feats: (B, T, D) clips -> (B, N) TSA video-text logits (all that text-only classes can be scored by)."""
        return self._enhance(feats, text)[2]

    def build_prototypes(self, support_feats: torch.Tensor, support_labels: torch.Tensor, text: TextBank,
                         allow_missing: bool = False) -> torch.Tensor:
        """support_feats: (N*K, T, D), support_labels: (N*K,) in [0, N) -> prototypes (N, T, D).

        Refined support sequences (TSA, then STPR with SGF) averaged per class. A class without a support
        clip is an error, unless ``allow_missing`` (a text-only class): its prototype is then zeros.
        """
        n = len(text.names)
        enhanced, _, _ = self._enhance(support_feats, text)
        refined = self.refiner(enhanced, text.prompts[support_labels])
        onehot = F.one_hot(support_labels, n).to(refined.dtype)
        counts = onehot.sum(0)
        if bool((counts == 0).any()) and not allow_missing:
            missing = [text.names[i] for i in torch.nonzero(counts == 0).flatten().tolist()]
            raise ValueError(f"no support clip for class(es) {missing}; every class needs at least one example")
        return torch.einsum("kn,ktd->ntd", onehot, refined) / counts.clamp(min=1).view(n, 1, 1)

    def classify(self, query_feats: torch.Tensor, prototypes: torch.Tensor, text: TextBank) -> EpisodeOutput:
        """query_feats: (Q, T, D), prototypes: (N, T, D) -> EpisodeOutput without loss."""
        enhanced, class_map, vt_logits = self._enhance(query_feats, text)
        refined = self.refiner(enhanced)
        dist = frame_distances(refined, prototypes)
        if self.cfg.matching.method == "otam":
            distances = otam_two_way(dist, self.cfg.matching.lam)
        else:
            distances = bi_mhm_distance(dist)
        order = self.stage_order(query_feats, text, enhanced)
        distances = distances if order is None else distances + order
        return EpisodeOutput(logits=-distances, video_text_logits=vt_logits, tsa_map=class_map, distances=distances)

    def stage_order(self, query_feats: torch.Tensor, text: TextBank,
                    enhanced: Optional[torch.Tensor] = None) -> Optional[torch.Tensor]:
        """query_feats: (Q, T, D) frame features -> (Q, N) ``matching.stage_weight`` times their stage-order
        distance to each class's stage descriptors; None when the weight is 0 or the text has no stages.

        With ``matching.stage_features`` "tsa" the distance is read off the TSA-enhanced frames: ``enhanced``
        (Q, T, D) when the caller has them, else computed here.
        """
        weight = self.cfg.matching.stage_weight
        if weight == 0 or text.stages.shape[1] == 0:
            return None
        frames = query_feats
        if self.cfg.matching.stage_features == "tsa" and self.tsa is not None:
            frames = enhanced if enhanced is not None else self.tsa(query_feats, text).frames
        return weight * stage_order_distance(frames, text.stages)

    def episode(
        self,
        support_feats: torch.Tensor,
        support_labels: torch.Tensor,
        query_feats: torch.Tensor,
        text: TextBank,
        query_labels: Optional[torch.Tensor] = None,
    ) -> EpisodeOutput:
        """One N-way K-shot episode on frame features.

        support_feats: (N*K, T, D), support_labels: (N*K,) in [0, N), query_feats: (Q, T, D),
        text: the N classes' TextBank, query_labels: (Q,) -> logits (Q, N), video_text_logits (Q, N),
        tsa_map (Q, T, N), and loss = L_few-shot + alpha * L_video-text when query_labels is given.
        """
        prototypes = self.build_prototypes(support_feats, support_labels, text)
        out = self.classify(query_feats, prototypes, text)
        if query_labels is not None:
            loss = F.cross_entropy(out.logits, query_labels)
            if self.tsa is not None and self.cfg.alpha > 0:
                loss = loss + self.cfg.alpha * F.cross_entropy(out.video_text_logits, query_labels)
            out.loss = loss
        return out
