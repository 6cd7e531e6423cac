"""An optional faster image tower for the CPU, approximate: features within cosine 0.99 of fp32.

The reference twin is :meth:`ClipBackbone.encode_images` in fp32; :class:`FastImageEncoder`
gives the same function of the same weights, computed faster and slightly less exactly:

- ``int8`` (ViT towers): every linear layer of the transformer, the attention projections
  included (:class:`SplitAttention` unpacks ``nn.MultiheadAttention`` into ``nn.Linear``
  layers so that quantisation reaches them), is dynamically quantised to int8
  (``torch.ao.quantization.quantize_dynamic``; VNNI kernels where the CPU has them).
- ``compiled`` (ResNet towers): ``torch.compile`` (inductor) with freezing: batch norms folded into
  the convolutions, weights pre-packed for oneDNN, the rest fused; the same fp32 function
  (cosine 1.000000 to fp32 on RN50 here), 1.5-1.6x the frames/s of RN50 on this CPU. Compiled once
  per tower for one batch shape (:data:`COMPILED_BATCH`; shorter batches are padded); the first
  batch waits for the compiler (a C++ compiler is needed: where compiling fails, the tower runs
  uncompiled, logged).
- ``bf16``: bf16 autocast with channels-last convolutions, where the CPU computes bf16 natively.
  About 1.8x on RN50 here, but not picked automatically: on the trained star-tiny ResNet tower
  (the bundled model) one video's frames fell to cosine 0.982 of fp32 (labels 99.2 % the same).

:func:`fast_image_encoder` picks one at call time from the tower and the CPU, or returns None
(the caller keeps fp32): on a GPU, or where this torch has neither. The model is not changed;
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


COMPILED_BATCH = 32  # the frame embedder's batch: the compiled tower always sees this many images
COMPILE_MIN_PARAMS = 20_000_000  # RN50's image tower has 38 M, star-tiny's 5.4 M
MODES = ("int8", "compiled", "bf16")


def _can_compile() -> bool:
    """Whether ``torch.compile`` runs on this Python and platform (a C++ compiler is found only when it runs)."""
    try:
        import torch._dynamo as dynamo
    except ImportError:
        return False
    return bool(dynamo.is_dynamo_supported())


class FastImageEncoder(nn.Module):
    """``encode_images`` of a :class:`ClipBackbone` with a faster copy of its image tower (``mode``: one of
    :data:`MODES`)."""

    def __init__(self, backbone: ClipBackbone, mode: str) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"fast mode must be one of {', '.join(MODES)}, not {mode!r}")
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
        elif mode == "bf16":
            visual = visual.to(memory_format=torch.channels_last)
        self.visual = visual
        self._compiled: Optional[Callable[[torch.Tensor], torch.Tensor]] = (
            torch.compile(visual, dynamic=False, options={"freezing": True}) if mode == "compiled" else None)

    def _run_compiled(self, x: torch.Tensor) -> torch.Tensor:
        """The compiled tower on batches of exactly COMPILED_BATCH images (the last one padded)."""
        outs = []
        for b in range(0, len(x), COMPILED_BATCH):
            chunk = x[b:b + COMPILED_BATCH]
            pad = COMPILED_BATCH - len(chunk)
            full = torch.cat([chunk, chunk.new_zeros((pad, *chunk.shape[1:]))]) if pad else chunk
            try:
                outs.append(self._compiled(full)[:len(chunk)])
            except Exception as exc:  # no C++ compiler, an unsupported platform: the tower as it is
                log.warning("compiling the image tower failed (%s: %s); it runs uncompiled", type(exc).__name__,
                            str(exc).strip().splitlines()[0] if str(exc).strip() else "")
                self._compiled = None
                return torch.cat([*outs, self.visual(x[b:])])
        return torch.cat(outs)

    @torch.no_grad()
    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """images: (N, 3, H, W) -> (N, D) L2-normalised float32 image embeddings (approximate)."""
        x = self.backbone.preprocess(images)
        if self.mode == "bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = self.visual(x.contiguous(memory_format=torch.channels_last))
        elif self._compiled is not None:
            out = self._run_compiled(x)
        else:
            out = self.visual(x)
        return F.normalize(out.float(), dim=-1)


def fast_mode(backbone: ClipBackbone, device: torch.device) -> Optional[str]:
    """The fast mode for this tower on ``device`` ("int8" for ViT towers, "compiled" for other towers of at
    least COMPILE_MIN_PARAMS parameters), or None (fp32 stays)."""
    if device.type != "cpu":
        return None
    visual = backbone.clip.visual
    if _is_vit(visual):
        return "int8" if _quantize_dynamic() is not None else None
    if sum(p.numel() for p in visual.parameters()) < COMPILE_MIN_PARAMS:
        return None  # compiling (30 s here) costs more than it saves on a small tower
    return "compiled" if _can_compile() else None  # not bf16: on the trained star-tiny tower it fell to cosine 0.982


def fast_image_encoder(backbone: ClipBackbone, device: torch.device) -> Optional[FastImageEncoder]:
    """A :class:`FastImageEncoder` for ``backbone`` on ``device``, or None (logged) where none is faster."""
    mode = fast_mode(backbone, device)
    if mode is None:
        log.info("no faster image tower on %s here; features stay fp32", device)
        return None
    log.info("fast image tower: %s on %s (cosine >= 0.99 to fp32)", mode, device)
    return FastImageEncoder(backbone, mode)
