"""The time-major selective scan: the fast form for short sequences (STAR's T=8 frames) on the CPU.

It steps the recurrence once per time step, as the reference loop does, but laid out for the CPU:

- the state is (b, G, n, h): G channel groups (1 when B and C are (b, n, L)) of h channels, the
  channels innermost, so ``y_t = <x_t, C_t>`` is one batched (1, n) @ (n, h) product (``bmm``)
  over long contiguous rows, not a (d, n) @ (n, 1) matrix-vector product per batch element;
- the operands are time-major and contiguous (step sizes and ``delta * u`` (L, b, G, 1, h),
  B (L, b, G, n, 1), C (L, b*G, 1, n)): step t reads one contiguous slab of each, where the
  reference reads strided ``[:, :, t]`` slices of (b, d, L, n) tensors;
- the (b, d, L, n) tensors ``exp(delta * A)`` and ``delta * B * u`` are never built: each step
  makes its own state-sized slab;
- without autograd (grad mode off, or no input of the recurrence needs a gradient, as when
  labeling) the steps run in place on preallocated buffers, so no step allocates; with autograd
  they run out of place, so that backward works.

The arithmetic is the reference's, step for step, in float32 (sums may be taken in another order:
equal within float32 rounding). It handles B and C as (b, n, L) (what Mamba passes) and
(b, g, n, L); a time-invariant (d, n) B or C goes to
:func:`star_model.ops.scan_chunked.selective_scan_chunked`. With L Python steps it is the fast
form for short sequences; the dispatcher (:func:`star_model.ops.selective_scan.selective_scan`)
uses it off CUDA up to ``TIME_MAJOR_MAX_SEQLEN`` steps.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import torch

from star_model.ops.scan_chunked import selective_scan_chunked
from star_model.ops.scan_core import ScanOutput, check_inputs, discretise_delta, finish

__all__ = ["selective_scan_time_major"]

Operands = Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def _time_major_operands(u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
                         C: torch.Tensor) -> Operands:
    """u, delta float32 (b, d, L); A (d, n); B, C (b, n, L) or (b, g, n, L) -> the operands of the steps.

    The state is laid out (b, G, n, h): G = lcm(gB, gC) channel groups (1 for (b, n, L) matrices)
    of h = d / G channels, channels innermost; B and C are repeated over G groups (they are small).

    Returns:
        dl: (L, b, G, 1, h) step sizes; dul: (L, b, G, 1, h) ``delta * u``; At: (G, n, h) A;
        Bt: (L, b, G, n, 1) float32; Ct: (L, b*G, 1, n) float32.
    """
    batch, dim, seqlen = u.shape
    dstate = A.shape[1]
    Bg = B.float().reshape(batch, -1, dstate, seqlen)  # (b, gB, n, L)
    Cg = C.float().reshape(batch, -1, dstate, seqlen)  # (b, gC, n, L)
    groups = math.lcm(Bg.shape[1], Cg.shape[1])
    Bg = Bg.repeat_interleave(groups // Bg.shape[1], dim=1)
    Cg = Cg.repeat_interleave(groups // Cg.shape[1], dim=1)
    per_step = (seqlen, batch, groups, 1, dim // groups)
    dl = delta.permute(2, 0, 1).contiguous().view(per_step)
    dul = (delta * u).permute(2, 0, 1).contiguous().view(per_step)
    At = A.reshape(groups, dim // groups, dstate).transpose(1, 2).contiguous()
    Bt = Bg.permute(3, 0, 1, 2).unsqueeze(4).contiguous()
    Ct = Cg.permute(3, 0, 1, 2).contiguous().view(seqlen, batch * groups, 1, dstate)
    return dl, dul, At, Bt, Ct


def _steps_in_place(dl: torch.Tensor, dul: torch.Tensor, At: torch.Tensor, Bt: torch.Tensor,
                    Ct: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """The recurrence on preallocated buffers (no autograd) -> y (L, b*G, 1, h), last state (b, G, n, h).

    The state starts at zero, so the first step is its input alone (no zero-filled state is decayed).
    """
    seqlen, batch, groups, _, width = dl.shape
    x = torch.mul(dul[0], Bt[0])  # (b, G, n, h)
    decay = torch.empty_like(x)
    ys = dl.new_empty(seqlen, batch * groups, 1, width)
    x_c = x.view(batch * groups, -1, width)
    torch.bmm(Ct[0], x_c, out=ys[0])
    for t in range(1, seqlen):
        torch.mul(dl[t], At, out=decay)
        x.mul_(decay.exp_()).addcmul_(dul[t], Bt[t])
        torch.bmm(Ct[t], x_c, out=ys[t])
    return ys, x


def _steps_autograd(dl: torch.Tensor, dul: torch.Tensor, At: torch.Tensor, Bt: torch.Tensor,
                    Ct: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """The same recurrence out of place, for autograd -> y (L, b*G, 1, h), last state (b, G, n, h)."""
    seqlen, batch, groups, _, width = dl.shape
    x = dul[0] * Bt[0]
    ys = [torch.bmm(Ct[0], x.view(batch * groups, -1, width))]
    for t in range(1, seqlen):
        x = torch.addcmul(dul[t] * Bt[t], torch.exp(dl[t] * At), x)
        ys.append(torch.bmm(Ct[t], x.view(batch * groups, -1, width)))
    return torch.stack(ys), x


def selective_scan_time_major(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: Optional[torch.Tensor] = None,
    z: Optional[torch.Tensor] = None,
    delta_bias: Optional[torch.Tensor] = None,
    delta_softplus: bool = False,
    return_last_state: bool = False,
) -> ScanOutput:
    """Selective scan stepped over time on time-major operands (semantics of ``selective_scan_ref``).

    Args and returns: as :func:`star_model.ops.selective_scan.selective_scan_ref` (u, delta (b, d, L);
    A (d, n); B, C (b, n, L) or (b, g, n, L), a (d, n) B or C going to the chunked form; D (d,);
    z (b, d, L); delta_bias (d,)). All arithmetic in float32; out (b, d, L) in u's dtype, plus the
    last state (b, d, n) float32 with ``return_last_state``.
    """
    check_inputs(u, delta, A, B, C, D, z, delta_bias)
    if B.dim() == 2 or C.dim() == 2:
        return selective_scan_chunked(
            u, delta, A, B, C, D=D, z=z, delta_bias=delta_bias,
            delta_softplus=delta_softplus, return_last_state=return_last_state,
        )
    dtype_in = u.dtype
    batch, dim, seqlen = u.shape
    u, delta = discretise_delta(u, delta, delta_bias, delta_softplus)
    operands = _time_major_operands(u, delta, A, B, C)
    tracked = torch.is_grad_enabled() and any(t.requires_grad for t in operands)
    y, x = (_steps_autograd if tracked else _steps_in_place)(*operands)
    out = finish(y.view(seqlen, batch, dim).permute(1, 2, 0).contiguous(), u, D, z, dtype_in)
    if not return_last_state:
        return out
    return out, x.transpose(2, 3).reshape(batch, dim, A.shape[1])  # (b, G, n, h) -> (b, d, n)
