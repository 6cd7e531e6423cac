"""An optional faster image tower for the CPU, approximate: features within cosine 0.99 of fp32.

The reference twin is :meth:`ClipBackbone.encode_images` in fp32; :class:`FastImageEncoder`
gives the same function of the same weights, computed faster and slightly less exactly:

- ``int8`` (ViT towers): every linear layer of the transformer, the attention projections
  included (:class:`SplitAttention` unpacks ``nn.MultiheadAttention`` into ``nn.Linear``
  layers so that quantisation reaches them), is dynamically quantised to int8
  (``torch.ao.quantization.quantize_dynamic``; VNNI kernels where the CPU has them).
- ``bf16``: bf16 autocast with channels-last convolutions, where the CPU computes bf16 natively.
  About 1.8x on RN50 here, but not picked automatically: on the trained star-tiny ResNet tower
  (the bundled model) one video's frames fell to cosine 0.982 of fp32 (labels 99.2 % the same).

ResNet towers have no fast path. Measured on RN50 here (2 threads, batches of 32): the fp32 tower
already runs channels-last (frames arrive as NHWC), 10.0-10.9 frames/s; ``torch.compile`` with
frozen weights gave the same features (cosine 1.0000) at 12.7-13.4 frames/s, 1.2-1.3x, after a
30-90 s compile per process, and no end-to-end gain (10.9 against 11.1 frames/s: its kernels keep
the thread count they were compiled with, while decoding takes a core); int8 does not reach
convolutions dynamically.

:func:`fast_image_encoder` picks one at call time from the tower and the CPU, or returns None
(the caller keeps fp32): on a GPU, for ResNet towers, or when this torch has no int8 engine. The model is not changed;
the fast tower is a copy (int8 weights are a quarter of the fp32 size).
"""
from __future__ import annotations

import copy
import logging
import warnings
from typing import Any, Callable, Optional

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from star_model.nn.backbone import ClipBackbone

log = logging.getLogger(__name__)


class SplitAttention(nn.Module):
    """Self-attention of an ``nn.MultiheadAttention`` (same weights, same call) with its input and output
    projections as ``nn.Linear`` layers; the reference twin is the module it is built from."""

    def __init__(self, mha: nn.MultiheadAttention) -> None:
        super().__init__()
        if not mha._qkv_same_embed_dim or mha.in_proj_weight is None:
            raise ValueError("SplitAttention needs self-attention with one packed input projection")
        dim = mha.embed_dim
        self.heads = mha.num_heads
        self.batch_first = mha.batch_first
        self.qkv = nn.Linear(dim, 3 * dim, bias=mha.in_proj_bias is not None)
        self.out = nn.Linear(dim, dim, bias=mha.out_proj.bias is not None)
        with torch.no_grad():
            self.qkv.weight.copy_(mha.in_proj_weight)
            self.out.weight.copy_(mha.out_proj.weight)
            if mha.in_proj_bias is not None:
                self.qkv.bias.copy_(mha.in_proj_bias)
            if mha.out_proj.bias is not None:
                self.out.bias.copy_(mha.out_proj.bias)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, need_weights: bool = False,
                attn_mask: Optional[torch.Tensor] = None, **_: Any) -> tuple[torch.Tensor, None]:
        """query = key = value: (B, L, D) batch-first, else (L, B, D) -> ((same shape), None)."""
        x = query if self.batch_first else rearrange(query, "l b d -> b l d")
        if attn_mask is not None and attn_mask.dtype == torch.bool:  # MHA: True = masked; SDPA: True = attend
            attn_mask = torch.zeros(attn_mask.shape, dtype=x.dtype, device=x.device).masked_fill(attn_mask, float("-inf"))
        q, k, v = rearrange(self.qkv(x), "b l (three h d) -> three b h l d", three=3, h=self.heads)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        y = self.out(rearrange(y, "b h l d -> b l (h d)"))
        return (y if self.batch_first else rearrange(y, "b l d -> l b d")), None


def split_attention(visual: nn.Module) -> nn.Module:
    """Replace every self-attention ``nn.MultiheadAttention`` of ``visual`` (in place) by a :class:`SplitAttention`."""
    for name, child in list(visual.named_children()):
        if isinstance(child, nn.MultiheadAttention) and child._qkv_same_embed_dim and child.in_proj_weight is not None:
            setattr(visual, name, SplitAttention(child))
        else:
            split_attention(child)
    return visual


def _quantize_dynamic() -> Optional[Callable[..., nn.Module]]:
    """torch's dynamic quantisation, or None where this torch lacks it or has no int8 CPU engine."""
    try:
        from torch.ao.quantization import quantize_dynamic
    except ImportError:
        return None
    engines = torch.backends.quantized.supported_engines
    return quantize_dynamic if any(e in engines for e in ("x86", "fbgemm", "onednn")) else None


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX), where oneDNN makes it faster than fp32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _is_vit(visual: nn.Module) -> bool:
    return hasattr(visual, "transformer") and hasattr(visual, "conv1")


class FastImageEncoder(nn.Module):
    """``encode_images`` of a :class:`ClipBackbone` with a faster copy of its image tower (``mode``: int8 or bf16)."""

    def __init__(self, backbone: ClipBackbone, mode: str) -> None:
        super().__init__()
        if mode not in ("int8", "bf16"):
            raise ValueError(f"fast mode must be 'int8' or 'bf16', not {mode!r}")
        self.backbone = backbone
        self.mode = mode
        visual = copy.deepcopy(backbone.clip.visual).float().eval()
        if mode == "int8":
            quantize = _quantize_dynamic()
            if quantize is None:
                raise RuntimeError("this torch has no dynamic int8 quantisation for the CPU")
            with warnings.catch_warnings():  # torch.ao.quantization announces its move to torchao
                warnings.simplefilter("ignore")
                visual = quantize(split_attention(visual), {nn.Linear}, dtype=torch.qint8, inplace=True)
        else:
            visual = visual.to(memory_format=torch.channels_last)
        self.visual = visual

    @torch.no_grad()
    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """images: (N, 3, H, W) -> (N, D) L2-normalised float32 image embeddings (approximate)."""
        x = self.backbone.preprocess(images)
        if self.mode == "bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = self.visual(x.contiguous(memory_format=torch.channels_last))
        else:
            out = self.visual(x)
        return F.normalize(out.float(), dim=-1)


def fast_mode(backbone: ClipBackbone, device: torch.device) -> Optional[str]:
    """The fast mode for this tower on ``device`` ("int8", "bf16"), or None (fp32 stays)."""
    if device.type != "cpu":
        return None
    if _is_vit(backbone.clip.visual) and _quantize_dynamic() is not None:
        return "int8"
    return None  # bf16 is not picked: on the trained star-tiny ResNet tower it fell to cosine 0.982


def fast_image_encoder(backbone: ClipBackbone, device: torch.device) -> Optional[FastImageEncoder]:
    """A :class:`FastImageEncoder` for ``backbone`` on ``device``, or None (logged) where none is faster."""
    mode = fast_mode(backbone, device)
    if mode is None:
        log.info("no faster image tower on %s here; features stay fp32", device)
        return None
    log.info("fast image tower: %s on %s (approximate; cosine >= 0.99 to fp32)", mode, device)
    return FastImageEncoder(backbone, mode)
