"""Pretraining of the CLIP towers on the synthetic action world.

Clips of the meta-train actions are rendered in memory (a rolling pool, refreshed every
step). A batch is ``clips`` clips x ``frames`` frames (one random frame per uniform
segment, as the episodic sampler does), so it holds ``clips`` different scenes.

- The image tower learns from the renderer's ground truth for each frame: which primitive
  (or idle) it shows (cross-entropy) and its 3D pose relative to the pelvis (standardised
  regression), through two linear probes on the image embedding that are discarded afterwards.
- The text tower learns contrastively against those image embeddings, held fixed (as in LiT,
  "locked-image text tuning"), with two symmetric multi-positive InfoNCE losses:
  frame level, each frame against the batch's distinct frame texts (its caption "a person
  squatting" and its stage descriptor "a person bends the knees ..."; every text true of a frame
  is a positive); video level, each clip's mean frame embedding against the class prompts
  ("a video of {name}") of the batch's actions.

Why not contrastive all the way: a small tower trained from scratch on captions alone stayed
at chance (loss flat, image embeddings with cosine ~0.99 to each other, also after 3000 GPU
steps), and letting the contrastive gradient into the image tower kept the probes at chance
too; the per-frame ground truth makes the embedding separate the primitives within a few
hundred steps.

A share of the clips is degraded (JPEG re-encoding, blur) so the towers tolerate the
compression of decoded video files. Only the actions given (the 32 meta-train ones) are used.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass
from typing import Callable, Optional, Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange

from star_model.nn.backbone import ClipBackbone
from star_model.nn.descriptors import class_prompt
from star_model.synthetic import Action, SyntheticClip, render_clip
from star_model.synthetic.motion import IDLE
from star_model.synthetic.primitives import IDLE_CAPTION, PRIMITIVES
from star_model.synthetic.skeleton import J

log = logging.getLogger(__name__)

StepFn = Callable[[int, int, float], None]


@dataclass
class PretrainConfig:
    """Budget, batches and optimiser of the tower pretraining."""

    steps: int = 1800
    clips: int = 32
    frames: int = 2
    pool: int = 256
    refresh: int = 8
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup: int = 50
    degrade_p: float = 0.35
    video_weight: float = 0.5
    logit_scale: float = 50.0
    token_std: float = 1.0
    sup_weight: float = 1.0
    probe_clips: int = 48
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def multi_positive_nce(logits: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """Symmetric multi-positive InfoNCE.

    logits: (A, B) scaled similarities, positive: (A, B) bool with >= 1 positive per row
    and per column -> scalar: mean over both directions of -log(sum of softmax over positives).
    """
    masked = logits.masked_fill(~positive, float("-inf"))
    rows = torch.logsumexp(logits, 1) - torch.logsumexp(masked, 1)
    cols = torch.logsumexp(logits, 0) - torch.logsumexp(masked, 0)
    return 0.5 * (rows.mean() + cols.mean())


def frame_texts(clip: SyntheticClip, index: int) -> tuple[str, ...]:
    """The texts true of frame ``index`` of ``clip``: its caption, plus its stage descriptor (not for idle)."""
    for stage in clip.stages:
        if stage.start <= index < stage.end:
            if stage.caption == IDLE_CAPTION:
                return (IDLE_CAPTION,)
            return stage.caption, PRIMITIVES[stage.key].descriptor
    return (clip.captions[index],)


STAGE_KEYS = (IDLE, *PRIMITIVES)


def frame_stage_keys(clip: SyntheticClip) -> np.ndarray:
    """(N,) index into ``STAGE_KEYS`` of the stage each frame of ``clip`` belongs to."""
    keys = np.zeros(len(clip.frames), np.int64)
    for stage in clip.stages:
        keys[stage.start : stage.end] = STAGE_KEYS.index(stage.key)
    return keys


def relative_pose(joints: np.ndarray) -> np.ndarray:
    """joints: (N, n_joints, 3) in body heights -> (N, n_joints * 3): x and z relative to the pelvis, y kept."""
    rel = joints.astype(np.float32).copy()
    rel[..., [0, 2]] -= rel[:, J["pelvis"] : J["pelvis"] + 1, [0, 2]]
    return rel.reshape(len(rel), -1)


class FrameProbes(torch.nn.Module):
    """Linear probes on the image embedding used only while pretraining: stage key and pose."""

    def __init__(self, dim: int, pose_dim: int) -> None:
        super().__init__()
        self.stage = torch.nn.Linear(dim, len(STAGE_KEYS))
        self.pose = torch.nn.Linear(dim, pose_dim)
        self.register_buffer("pose_mean", torch.zeros(pose_dim))
        self.register_buffer("pose_std", torch.ones(pose_dim))

    def loss(self, feats: torch.Tensor, keys: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        """feats: (N, D) raw image embeddings, keys: (N,) stage indices, pose: (N, P) -> scalar."""
        target = (pose - self.pose_mean) / self.pose_std
        return F.cross_entropy(self.stage(feats), keys) + F.mse_loss(self.pose(feats), target)


def segment_picks(n_frames: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """One random frame in each of ``count`` uniform segments of ``n_frames`` frames -> (count,) indices."""
    edges = np.linspace(0, n_frames, count + 1)
    lo, hi = edges[:-1], np.maximum(edges[1:], edges[:-1] + 1)
    return np.minimum((lo + rng.random(count) * (hi - lo)).astype(int), n_frames - 1)


def degrade(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """frames: (N, H, W, 3) uint8 -> the same, JPEG re-encoded at a random quality and maybe blurred."""
    quality = int(rng.integers(25, 75))
    sigma = float(rng.uniform(0.4, 1.1)) if rng.random() < 0.5 else 0.0
    out = np.empty_like(frames)
    for i, frame in enumerate(frames):
        if sigma > 0:
            frame = cv2.GaussianBlur(frame, (0, 0), sigma)
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        out[i] = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if ok else frame
    return out


class ClipPool:
    """A rolling pool of rendered clips of ``actions``; seeded, so a run is reproducible."""

    def __init__(self, actions: Sequence[Action], size: int, image_size: int, seed: int) -> None:
        self.actions = list(actions)
        self.image_size = image_size
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.count = 0
        self.clips = [self._render() for _ in range(size)]

    def _render(self) -> SyntheticClip:
        action = self.actions[int(self.rng.integers(len(self.actions)))]
        self.count += 1
        return render_clip(action, (self.seed, 77, self.count), size=self.image_size)

    def refresh(self, n: int) -> None:
        """Replace ``n`` random clips of the pool with newly rendered ones."""
        for i in self.rng.choice(len(self.clips), size=min(n, len(self.clips)), replace=False):
            self.clips[int(i)] = self._render()


@dataclass
class Batch:
    images: np.ndarray  # (clips*frames, H, W, 3) uint8
    texts: list[tuple[str, ...]]  # per frame, the texts true of it
    names: list[str]  # per clip, its action's name
    keys: np.ndarray  # (clips*frames,) stage indices
    pose: np.ndarray  # (clips*frames, P) relative pose


def _batch(pool: ClipPool, cfg: PretrainConfig) -> Batch:
    rng = pool.rng
    chosen = rng.choice(len(pool.clips), size=cfg.clips, replace=False)
    images, texts, names, keys, pose = [], [], [], [], []
    for i in chosen:
        clip = pool.clips[int(i)]
        picks = segment_picks(len(clip.frames), cfg.frames, rng)
        frames = clip.frames[picks]
        images.append(degrade(frames, rng) if rng.random() < cfg.degrade_p else frames)
        texts.extend(frame_texts(clip, int(p)) for p in picks)
        names.append(clip.action.name)
        keys.append(frame_stage_keys(clip)[picks])
        pose.append(relative_pose(clip.joints[picks]))
    return Batch(np.concatenate(images), texts, names, np.concatenate(keys), np.concatenate(pose))


def contrastive_loss(backbone: ClipBackbone, feats: torch.Tensor, texts: list[tuple[str, ...]], names: list[str],
                     frames: int, prompt: str, video_weight: float) -> torch.Tensor:
    """Frame-text plus video-prompt multi-positive InfoNCE for one batch.

    feats: (C*frames, D) raw image embeddings; texts: per frame the texts true of it; names: C action names.
    """
    device = feats.device
    img = F.normalize(feats, dim=-1)
    vocab = sorted({t for ts in texts for t in ts})
    prompts = sorted(set(names))
    tokens = backbone.tokenize(vocab + [class_prompt(n, prompt) for n in prompts]).to(device)
    txt = F.normalize(backbone.clip.encode_text(tokens), dim=-1)
    scale = backbone.clip.logit_scale.exp().clamp(max=100.0)
    where = {t: j for j, t in enumerate(vocab)}
    pos = torch.zeros(len(texts), len(vocab), dtype=torch.bool, device=device)
    for i, ts in enumerate(texts):
        pos[i, [where[t] for t in ts]] = True
    loss = multi_positive_nce(scale * img @ txt[: len(vocab)].T, pos)
    video = F.normalize(rearrange(img, "(c f) d -> c f d", f=frames).mean(1), dim=-1)
    which = torch.tensor([prompts.index(n) for n in names], device=device)
    vpos = which[:, None] == torch.arange(len(prompts), device=device)[None]
    return loss + video_weight * multi_positive_nce(scale * video @ txt[len(vocab):].T, vpos)


def _encode(backbone: ClipBackbone, images: np.ndarray) -> torch.Tensor:
    """images: (N, H, W, 3) uint8 -> (N, D) raw image embeddings."""
    x = torch.from_numpy(images).to(backbone.mean.device).permute(0, 3, 1, 2)
    return backbone.clip.encode_image(backbone.preprocess(x))


def pretrain_loss(backbone: ClipBackbone, probes: FrameProbes, batch: Batch, cfg: PretrainConfig,
                  prompt: str) -> torch.Tensor:
    """The loss of one batch: probes on the image embeddings, plus contrastive on them held fixed."""
    device = backbone.mean.device
    feats = _encode(backbone, batch.images)
    keys, pose = torch.from_numpy(batch.keys).to(device), torch.from_numpy(batch.pose).to(device)
    loss = contrastive_loss(backbone, feats.detach(), batch.texts, batch.names, cfg.frames, prompt, cfg.video_weight)
    return loss + cfg.sup_weight * probes.loss(feats, keys, pose)


@torch.no_grad()
def probe_accuracy(backbone: ClipBackbone, probes: FrameProbes, actions: Sequence[Action], seed: int,
                   clips: int = 48, every: int = 4) -> tuple[float, float]:
    """Stage-probe accuracy on every ``every``-th frame of ``clips`` freshly rendered clips, and the majority share."""
    pool = ClipPool(actions, clips, backbone.image_size, seed)
    frames = np.concatenate([c.frames[::every] for c in pool.clips])
    keys = np.concatenate([frame_stage_keys(c)[::every] for c in pool.clips])
    pred = torch.cat([probes.stage(_encode(backbone, frames[i : i + 256]))
                      for i in range(0, len(frames), 256)]).argmax(1).cpu().numpy()
    return float((pred == keys).mean()), float(np.bincount(keys).max() / len(keys))


def pretrain_towers(backbone: ClipBackbone, actions: Sequence[Action], cfg: PretrainConfig,
                    prompt: str = "a video of {name}", on_step: Optional[StepFn] = None) -> dict:
    """Train both CLIP towers of ``backbone`` in place; returns a summary (losses, wall time).

    on_step(step, steps, loss) is called after every step. The towers are frozen again at the end.
    """
    torch.manual_seed(cfg.seed)
    pool = ClipPool(actions, cfg.pool, backbone.image_size, cfg.seed)
    device = backbone.mean.device
    poses = np.concatenate([relative_pose(c.joints) for c in pool.clips])
    probes = FrameProbes(backbone.clip.visual.output_dim, poses.shape[1]).to(device)
    probes.pose_mean.copy_(torch.from_numpy(poses.mean(0)))
    probes.pose_std.copy_(torch.from_numpy(poses.std(0)).clamp(min=1e-3))
    backbone.set_trainable(False)
    backbone.train()
    with torch.no_grad():  # the towers' outputs start nearly identical: start sharp, with words apart
        backbone.clip.logit_scale.fill_(math.log(cfg.logit_scale))
        backbone.clip.token_embedding.weight.normal_(0.0, cfg.token_std)
    params = list(backbone.clip.parameters()) + list(probes.parameters())
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.98), eps=1e-6)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / cfg.warmup) * 0.5 * (1 + math.cos(math.pi * min(s / cfg.steps, 1.0))))
    losses: list[float] = []
    start = time.perf_counter()
    for step in range(cfg.steps):
        loss = pretrain_loss(backbone, probes, _batch(pool, cfg), cfg, prompt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        pool.refresh(cfg.refresh)
        losses.append(loss.item())
        if on_step is not None:
            on_step(step + 1, cfg.steps, losses[-1])
        if (step + 1) % 25 == 0:
            log.info("pretrain step %d/%d loss %.3f", step + 1, cfg.steps, float(np.mean(losses[-25:])))
    backbone.eval()
    backbone.set_trainable(True)
    accuracy, majority = probe_accuracy(backbone, probes, actions, cfg.seed + 1, cfg.probe_clips)
    log.info("pretrain: stage probe accuracy %.3f on held-out clips (majority %.3f)", accuracy, majority)
    return {"steps": cfg.steps, "clips_rendered": pool.count, "wall_s": time.perf_counter() - start,
            "loss_first25": float(np.mean(losses[:25])), "loss_last25": float(np.mean(losses[-25:])),
            "heldout_stage_probe_accuracy": accuracy, "heldout_stage_majority": majority}
