"""Frame embedding with decoding overlapped with compute, and the on-disk feature cache.

A background thread decodes (PyAV, resized at decode time) into a bounded buffer while
the calling thread embeds batches with the CLIP image tower, so the slower of the two
sets the pace; the two share the CPU as :mod:`star_model.engine.pipeline` describes. Features are cached on disk (platformdirs' cache dir, or
``$STAR_CACHE_DIR``) keyed by the file's content, the backbone's identity and the
sampling (rate, or clip span and T); every entry carries a checksum of its metadata and tensors, and a
damaged entry (unreadable, or failing its checksum) is recomputed and overwritten, never trusted.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import platformdirs
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from star_model.errors import check_cancel
from star_model.engine.pipeline import END, FramePipe, ThreadShare, buffer_frames, produce
from star_model.nn.fast import fast_image_encoder
from star_model.nn.model import STAR
from star_model.schema import CancelFn, LabelingParams, ProgressFn, atomic_write, report
from star_model.video import VideoReader, content_hash

log = logging.getLogger(__name__)

def default_cache_dir() -> Path:
    """``$STAR_CACHE_DIR`` or the platform's user cache dir, ``.../star-labeler/features``."""
    env = os.environ.get("STAR_CACHE_DIR")
    return Path(env) if env else Path(platformdirs.user_cache_dir("star-labeler")) / "features"


@dataclass
class VideoFeatures:
    """Frame features of a video sampled at ``rate``: frames (F,) source indices, times (F,) s, feats (F, D)."""

    path: str
    rate: float
    frames: np.ndarray
    times: np.ndarray
    feats: torch.Tensor
    fps: float
    duration_s: float
    frame_count: int


class FeatureCache:
    """Safetensors files named by a hash of their key; the key is also stored and checked on read, and a
    checksum of the metadata and every tensor's bytes (:func:`entry_digest`) is verified on every load: a
    mismatch (flipped bits, a torn copy) is a miss, removed and recomputed, never used."""

    def __init__(self, root: Optional[Path] = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()

    def _path(self, key: str) -> Path:
        return self.root / f"{hashlib.blake2b(key.encode(), digest_size=16).hexdigest()}.safetensors"

    def load(self, key: str) -> Optional[tuple[dict[str, torch.Tensor], dict]]:
        """The tensors and metadata stored under ``key``, or None (a damaged entry is removed)."""
        path = self._path(key)
        if not path.exists():
            return None
        try:
            with safe_open(str(path), framework="pt") as fh:
                header = fh.metadata() or {}
                tensors = {name: fh.get_tensor(name) for name in fh.keys()}
            text = header.get("meta", "{}")
            if "digest" not in header:
                log.info("feature cache entry %s has no checksum (an older version wrote it); recomputing", path.name)
                path.unlink(missing_ok=True)
                return None
            if header["digest"] != entry_digest(text, tensors):
                raise ValueError("checksum mismatch")
            meta = json.loads(text)
            if meta.get("key") != key:
                raise ValueError("key mismatch")
            return tensors, meta
        except Exception as exc:  # any unreadable entry is recomputed
            log.warning("feature cache entry %s is damaged (%s); recomputing", path.name, exc)
            path.unlink(missing_ok=True)
            return None

    def save(self, key: str, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        """Store atomically (temp file, then rename), with the checksum of the metadata and tensors."""
        tensors = {k: v.contiguous().cpu() for k, v in tensors.items()}
        text = json.dumps({**meta, "key": key})
        metadata = {"meta": text, "digest": entry_digest(text, tensors)}
        atomic_write(self._path(key), lambda tmp: save_file(tensors, str(tmp), metadata=metadata), prefix=".feat")


def entry_digest(meta: str, tensors: dict[str, torch.Tensor]) -> str:
    """blake2b-128 of a cache entry's metadata text and of each tensor's name, dtype, shape and bytes."""
    h = hashlib.blake2b(meta.encode(), digest_size=16)
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        h.update(f"|{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().data)
    return h.hexdigest()


def backbone_fingerprint(model: STAR) -> str:
    """A short identity of the CLIP image tower's weights (config name + sampled weight bytes)."""
    h = hashlib.blake2b(digest_size=8)
    h.update(json.dumps(model.cfg.backbone.__dict__, sort_keys=True, default=str).encode())
    for name, tensor in model.backbone.clip.visual.state_dict().items():
        flat = tensor.detach().flatten()
        step = max(1, flat.numel() // 256)
        h.update(name.encode())
        h.update(flat[::step].float().cpu().numpy().tobytes())
    return f"{model.cfg.name}-{h.hexdigest()}"


class FrameEmbedder:
    """Embeds sampled frames of videos and clips with a model's image tower, with caching.

    ``decoded`` and ``embedded`` count frames per path, so callers (and tests) can see
    what was really decoded or embedded rather than read from the cache. ``fast`` embeds with
    :func:`star_model.nn.fast.fast_image_encoder` where one exists (approximate features, cached
    apart from the fp32 ones; ``self.fast`` is None where there is none and fp32 runs).
    """

    def __init__(
        self,
        model: STAR,
        cache: Optional[FeatureCache] = None,
        batch_size: int = 32,
        buffer_mb: float = 32.0,
        fast: bool = False,
    ) -> None:
        self.model = model
        self.cache = cache if cache is not None else FeatureCache()
        self.batch_size = batch_size
        self.queue_frames = buffer_frames(batch_size, model.backbone.image_size, buffer_mb)
        self.fast = fast_image_encoder(model.backbone, self.device) if fast else None
        self.backbone_id = backbone_fingerprint(model) + (f"+{self.fast.mode}" if self.fast is not None else "")
        self.decoded: Counter[str] = Counter()
        self.embedded: Counter[str] = Counter()
        self._memory: dict[str, torch.Tensor] = {}

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.no_grad()
    def embed_images(self, images: np.ndarray) -> torch.Tensor:
        """images: (N, H, W, 3) uint8 RGB -> (N, D) float32 features on the CPU."""
        x = torch.from_numpy(np.ascontiguousarray(images)).to(self.device).permute(0, 3, 1, 2)
        encoder = self.fast if self.fast is not None else self.model.backbone
        return encoder.encode_images(x).float().cpu()

    def _stream(self, reader: VideoReader, rate: Optional[float], start_s, end_s, total: int,
                progress: Optional[ProgressFn], cancel: Optional[CancelFn], label: str):
        """Decode in a background thread and embed batches here -> (indices (F,), times (F,), feats (F, D)).

        The two share the CPU as :mod:`star_model.engine.pipeline` describes; the features do not depend on it."""
        size = self.model.backbone.image_size
        frames = reader.frames(rate=rate, start_s=start_s, end_s=end_s, size=size)
        pipe = FramePipe(self.queue_frames, low=self.batch_size)
        worker = threading.Thread(target=produce, args=(frames, pipe), daemon=True, name="star-decode")
        share = ThreadShare()
        indices: list[int] = []
        times: list[float] = []
        chunks: list[torch.Tensor] = []
        key = str(reader.path)
        worker.start()
        try:
            done = False
            while not done:
                check_cancel(cancel)
                items = pipe.take(self.batch_size, timeout=0.1)
                batch: list[np.ndarray] = []
                for item in items:
                    if isinstance(item, BaseException):
                        raise item
                    if item is END:
                        done = True
                        break
                    indices.append(item.index)
                    times.append(item.time_s)
                    batch.append(item.image)
                if batch:
                    self.decoded[key] += len(batch)
                    images = np.stack(batch)
                    chunks.append(share.run(share.threads_for(pipe), lambda: self.embed_images(images)))
                    self.embedded[key] += len(batch)
                    report(progress, len(indices), max(total, len(indices)), label)
        finally:
            share.restore()
            pipe.close()
            worker.join(timeout=5)
        dim = self.model.cfg.embed_dim
        feats = torch.cat(chunks) if chunks else torch.zeros(0, dim)
        return np.asarray(indices, dtype=np.int64), np.asarray(times, dtype=np.float64), feats

    def video(
        self,
        path: str | Path,
        rate: float = LabelingParams.rate,
        progress: Optional[ProgressFn] = None,
        cancel: Optional[CancelFn] = None,
    ) -> VideoFeatures:
        """Features of ``path`` sampled at ``rate`` fps (from the cache when it has them)."""
        reader = VideoReader(path)
        info = reader.info
        key = f"video|{content_hash(path)}|{self.backbone_id}|rate={rate:g}"
        hit = self.cache.load(key)
        if hit is not None:
            tensors, meta = hit
            report(progress, len(meta["times"]), len(meta["times"]), f"{Path(path).name} (cached)")
            return VideoFeatures(str(path), rate, tensors["frames"].numpy(), np.asarray(meta["times"]),
                                 tensors["feats"].float(), meta["fps"], meta["duration_s"], meta["frame_count"])
        total = max(1, int(info.duration_s * rate) + 1)
        indices, times, feats = self._stream(reader, rate, None, None, total, progress, cancel, Path(path).name)
        if len(indices) == 0:
            raise ValueError(f"no frame of {Path(path).name} could be sampled")
        if reader.damaged_at_s is not None:
            log.warning("%s is damaged after %.1f s; labeling what decoded before that", Path(path).name, reader.damaged_at_s)
        duration = float(reader.damaged_at_s) if reader.damaged_at_s is not None else info.duration_s
        frame_count = int(round(duration * info.fps)) if reader.damaged_at_s is not None else info.frame_count
        meta = {"times": times.tolist(), "fps": info.fps, "duration_s": duration, "frame_count": frame_count}
        if reader.damaged_at_s is None:
            self.cache.save(key, {"frames": torch.from_numpy(indices), "feats": feats}, meta)
        return VideoFeatures(str(path), rate, indices, times, feats, info.fps, duration, frame_count)

    def clip(self, path: str | Path, T: int, start_s: Optional[float] = None, end_s: Optional[float] = None) -> torch.Tensor:
        """(T, D) features of the centre frames of T uniform segments of a clip (a support example)."""
        key = f"clip|{content_hash(path)}|{self.backbone_id}|T={T}|{start_s}|{end_s}"
        if key in self._memory:
            return self._memory[key]
        hit = self.cache.load(key)
        if hit is not None:
            feats = hit[0]["feats"].float()
        else:
            reader = VideoReader(path)
            images, _ = reader.sample_clip(T, start_s=start_s, end_s=end_s, size=self.model.backbone.image_size)
            self.decoded[str(path)] += len(images)
            feats = self.embed_images(images)
            self.embedded[str(path)] += len(images)
            self.cache.save(key, {"feats": feats}, {"T": T})
        self._memory[key] = feats
        return feats

    def clip_frames(
        self, path: str | Path, start_s: Optional[float] = None, end_s: Optional[float] = None,
        cancel: Optional[CancelFn] = None,
    ) -> VideoFeatures:
        """Features of every frame of a clip (or span), cached: the training sampler picks T of them."""
        key = f"frames|{content_hash(path)}|{self.backbone_id}|{start_s}|{end_s}"
        hit = self.cache.load(key)
        reader = VideoReader(path)
        info = reader.info
        if hit is not None:
            tensors, meta = hit
            return VideoFeatures(str(path), 0.0, tensors["frames"].numpy(), np.asarray(meta["times"]),
                                 tensors["feats"].float(), info.fps, info.duration_s, info.frame_count)
        indices, times, feats = self._stream(reader, None, start_s, end_s, info.frame_count, None, cancel, Path(path).name)
        if len(indices) == 0:
            raise ValueError(f"no frame of {Path(path).name} decoded")
        self.cache.save(key, {"frames": torch.from_numpy(indices), "feats": feats}, {"times": times.tolist()})
        return VideoFeatures(str(path), 0.0, indices, times, feats, info.fps, info.duration_s, info.frame_count)
