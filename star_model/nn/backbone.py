"""CLIP image and text towers from open_clip.

Weights come from an open_clip pretrained tag (downloaded from the hub and cached by
open_clip, for real users), a local CLIP checkpoint file, or nowhere: then the towers
are randomly initialised and a warning says so.
"""
from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

import open_clip
import torch
import torch.nn.functional as F
from einops import rearrange
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from torch import nn

from star_model.errors import CheckpointError
from star_model.nn.config import BackboneConfig

log = logging.getLogger(__name__)


@contextmanager
def _weights_file_errors(pretrained: Optional[str], arch: Optional[str]) -> Iterator[None]:
    """Turn a failure to load a local CLIP weights file into one CheckpointError naming the file (and refuse a
    ``pretrained`` that is neither a file nor a tag of ``arch``).

    torch.load runs with ``weights_only`` (open_clip's default under torch >= 2.6), so a pickle that holds
    more than tensors is refused before any of it runs; this only makes the refusal one readable line."""
    if pretrained is None:
        yield
        return
    if not Path(pretrained).is_file():
        tags = open_clip.list_pretrained_tags_by_model(arch) if arch is not None else []
        if pretrained not in tags:
            raise CheckpointError(f"the pretrained weights {pretrained!r} are neither a file nor an open_clip tag of "
                                  f"{arch or 'the custom backbone'} ({', '.join(tags) or 'it has none'}); "
                                  "check the path or choose a tag")
        yield
        return
    name, what = Path(pretrained).name, f"CLIP weights for {arch or 'the custom backbone'}"
    try:
        yield
    except Exception as exc:  # whatever torch.load or open_clip raise for a file they cannot take
        if any(c.__name__ == "UnpicklingError" for c in type(exc).__mro__):  # weights_only refused a pickle
            raise CheckpointError(f"{name} is a pickle that holds more than tensors (pickles can run code, so it is "
                                  f"refused); pretrained weights are an open_clip tag or {what} as safetensors or a "
                                  f"plain state dict: convert it with safetensors.torch.save_file") from None
        first = f"{type(exc).__name__}: " + (str(exc).strip().splitlines() or [""])[0]
        raise CheckpointError(f"{name} cannot be loaded as {what} ({first}); pretrained weights are an open_clip "
                              f"tag or a CLIP weights file (safetensors or a plain state dict)") from None


def _plain_bpe(arch: Optional[str]) -> bool:
    """Whether open_clip tokenizes ``arch`` (None: our own towers) with its plain CLIP BPE tokenizer."""
    if arch is None:
        return True
    model_cfg = open_clip.get_model_config(arch) or {}
    text_cfg = model_cfg.get("text_cfg", {})
    return "hf_tokenizer_name" not in text_cfg and "tokenizer_kwargs" not in text_cfg and "siglip" not in arch.lower()


def shared_tokenizer(arch: Optional[str] = None) -> Any:
    """open_clip's text tokenizer for ``arch`` (None, and every plain-BPE architecture: one CLIP BPE tokenizer,
    whatever the context length), one per process.

    Building one parses 49k BPE merges: 80 ms, a 25 ms stretch of it in one call that holds the GIL (it froze
    the GUI thread during a job); deep-copying one took 160 ms. Models, and the copies a fine-tune trains,
    share it; the app builds it before its window shows (``star_app.services.engine.Engine``).
    """
    return _tokenizer(None if _plain_bpe(arch) else arch)


@functools.lru_cache(maxsize=None)
def _tokenizer(arch: Optional[str]) -> Any:
    return open_clip.SimpleTokenizer() if arch is None else open_clip.get_tokenizer(arch)


class ClipBackbone(nn.Module):
    """open_clip CLIP towers with our image preprocessing and tokenizer."""

    def __init__(self, cfg: BackboneConfig, pretrained: Optional[str] = None, warn_random: bool = True) -> None:
        super().__init__()
        self.cfg = cfg
        with _weights_file_errors(pretrained, cfg.arch):
            if cfg.arch is not None:
                self.clip = open_clip.create_model(cfg.arch, pretrained=pretrained)
            else:
                self.clip = open_clip.CLIP(**cfg.clip)
                if pretrained is not None:
                    open_clip.load_checkpoint(self.clip, pretrained)
        self._arch = cfg.arch
        self.context_length = int(self.clip.context_length)
        if pretrained is None and warn_random:
            log.warning(
                "CLIP towers of %s are randomly initialised (no pretrained tag or checkpoint given); "
                "features are meaningless until weights are loaded",
                cfg.arch or "the custom backbone",
            )
        size = self.clip.visual.image_size
        self.image_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        self.register_buffer("mean", torch.tensor(OPENAI_DATASET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(OPENAI_DATASET_STD).view(1, 3, 1, 1), persistent=False)
        self.set_trainable(cfg.freeze, cfg.unfreeze_last)

    def tokenize(self, texts: list[str]) -> torch.Tensor:
        """texts: M strings -> (M, context_length) token ids (open_clip's tokenizer, shared: see
        :func:`shared_tokenizer`)."""
        return shared_tokenizer(self._arch)(texts, context_length=self.context_length)

    def set_trainable(self, freeze: bool, unfreeze_last: int = 0) -> None:
        """Freeze both towers; with ``unfreeze_last`` > 0 the last visual blocks train."""
        for p in self.clip.parameters():
            p.requires_grad_(not freeze)
        if freeze and unfreeze_last > 0:
            for block in self._visual_blocks()[-unfreeze_last:]:
                for p in block.parameters():
                    p.requires_grad_(True)

    def _visual_blocks(self) -> list[nn.Module]:
        visual = self.clip.visual
        if hasattr(visual, "transformer"):
            return list(visual.transformer.resblocks) + [m for m in (getattr(visual, "ln_post", None),) if m is not None]
        return [visual.layer1, visual.layer2, visual.layer3, visual.layer4, visual.attnpool]

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """images: (N, 3, H, W) uint8 or float in [0, 1] -> (N, 3, S, S) normalised.

        The short side is resized to the tower's input size S, then centre-cropped (as CLIP's own transform).
        """
        x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
        h, w = x.shape[-2:]
        s = self.image_size
        if (h, w) != (s, s):
            scale = s / min(h, w)
            nh, nw = max(s, round(h * scale)), max(s, round(w * scale))
            x = F.interpolate(x, size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)
            top, left = (nh - s) // 2, (nw - s) // 2
            x = x[..., top : top + s, left : left + s]
        return (x - self.mean) / self.std

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """images: (N, 3, H, W) -> (N, D) L2-normalised image embeddings."""
        return F.normalize(self.clip.encode_image(self.preprocess(images)), dim=-1)

    def encode_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """frames: (B, T, 3, H, W) -> (B, T, D)."""
        b = frames.shape[0]
        flat = self.encode_images(rearrange(frames, "b t c h w -> (b t) c h w"))
        return rearrange(flat, "(b t) d -> b t d", b=b)

    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        """texts: M strings -> (M, D) L2-normalised text embeddings."""
        device = self.mean.device
        tokens = self.tokenize(texts).to(device)
        return F.normalize(self.clip.encode_text(tokens), dim=-1)
