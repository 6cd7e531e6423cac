"""Selective scan (the S6 recurrence of Mamba) in pure PyTorch, with mamba_ssm's CUDA kernel when present.

The recurrence, per batch element b, channel d and state index n, over time t::

    delta_t = softplus(delta_t + delta_bias)          (each optional)
    x_t     = exp(delta_t * A) * x_{t-1} + delta_t * B_t * u_t
    y_t     = <x_t, C_t> (+ D * u_t) (* silu(z_t))

Semantics, argument shapes and dtype handling follow ``selective_scan_ref`` of mamba_ssm
(``mamba_ssm/ops/selective_scan_interface.py``):

- ``u``, ``delta``: (b, d, L); ``A``: (d, n) real; ``B``, ``C``: (d, n) (time-invariant),
  (b, n, L) (shared by all channels) or (b, g, n, L) (g groups, each repeated over d // g
  channels); ``D``: (d,); ``z``: (b, d, L); ``delta_bias``: (d,).
- All arithmetic is in float32; the output is cast back to ``u.dtype``; the optional last
  state is (b, d, n) float32.

Four entry points (the shared checks and discretisation are in :mod:`star_model.ops.scan_core`):

- :func:`selective_scan_ref`: the plain loop over time (a pure-PyTorch twin of mamba_ssm's
  reference, used as the ground truth in tests).
- :func:`selective_scan_time_major` (:mod:`star_model.ops.scan_time_major`): the fast form for
  short sequences: the same L steps on contiguous time-major operands, in place when nothing
  needs a gradient.
- :func:`selective_scan_chunked` (:mod:`star_model.ops.scan_chunked`): the fast form for long
  sequences: time is cut into chunks of about sqrt(L) steps; states inside all chunks advance
  together and are joined with cumulative (log-space) decays, so the Python loop has about
  2*sqrt(L) steps instead of L.
- :func:`selective_scan`: the dispatcher. On CUDA tensors, when ``mamba_ssm`` imports, it
  calls ``mamba_ssm.ops.selective_scan_interface.selective_scan_fn``; elsewhere the time-major
  form up to ``TIME_MAJOR_MAX_SEQLEN`` steps (off CUDA), the chunked form beyond.
"""

from __future__ import annotations

import functools
import logging
from typing import Callable, Optional

import torch

from star_model.ops.scan_chunked import selective_scan_chunked
from star_model.ops.scan_core import ScanOutput, check_inputs, finish, prepare
from star_model.ops.scan_time_major import selective_scan_time_major

logger = logging.getLogger(__name__)

__all__ = [
    "selective_scan",
    "selective_scan_ref",
    "selective_scan_chunked",
    "selective_scan_time_major",
    "mamba_ssm_scan_fn",
    "TIME_MAJOR_MAX_SEQLEN",
]

# Off CUDA, sequences up to this length take the time-major form, longer ones the chunked form.
# bench/scan_crossover.py (2 threads, no autograd): on STAR-sized slabs (batch 8-64 x d_inner 512 x
# d_state 16) the time-major form is 2-16x faster at every L from 8 to 128; on a tiny slab
# (1 x 128 x 16), where Python steps dominate, it is 1.1-1.4x faster up to L=64 and slower at 128.
TIME_MAJOR_MAX_SEQLEN = 64


# --------------------------------------------------------------------------------------
# reference loop
# --------------------------------------------------------------------------------------


def selective_scan_ref(
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
    """Selective scan as a plain loop over time (mamba_ssm's ``selective_scan_ref`` convention).

    Args:
        u: (b, d, L) input.
        delta: (b, d, L) step sizes (before ``delta_bias`` and softplus).
        A: (d, n) real state matrix (diagonal per channel; negative for a stable scan).
        B: (d, n), (b, n, L) or (b, g, n, L) input matrix.
        C: (d, n), (b, n, L) or (b, g, n, L) output matrix.
        D: optional (d,) skip weight.
        z: optional (b, d, L) gate; the output is multiplied by ``silu(z)``.
        delta_bias: optional (d,) added to delta.
        delta_softplus: apply softplus to delta (after the bias).
        return_last_state: also return the final state.

    Returns:
        out (b, d, L) in ``u.dtype``; with ``return_last_state`` the tuple (out, last_state)
        where last_state is (b, d, n) float32.
    """
    check_inputs(u, delta, A, B, C, D, z, delta_bias)
    dtype_in = u.dtype
    u, deltaA, deltaB_u, C = prepare(u, delta, A, B, C, delta_bias, delta_softplus)
    batch, dim, seqlen = u.shape
    x = A.new_zeros((batch, dim, A.shape[1]), dtype=torch.float32)
    ys = []
    for i in range(seqlen):
        x = deltaA[:, :, i] * x + deltaB_u[:, :, i]
        if C.dim() == 2:
            ys.append(torch.einsum("bdn,dn->bd", x, C))
        elif C.dim() == 3:
            ys.append(torch.einsum("bdn,bn->bd", x, C[:, :, i]))
        else:
            ys.append(torch.einsum("bdn,bdn->bd", x, C[:, :, :, i]))
    y = torch.stack(ys, dim=2)  # (b, d, L)
    out = finish(y, u, D, z, dtype_in)
    return (out, x) if return_last_state else out


# --------------------------------------------------------------------------------------
# dispatcher
# --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def mamba_ssm_scan_fn() -> Optional[Callable[..., ScanOutput]]:
    """mamba_ssm's CUDA ``selective_scan_fn``, or None when mamba_ssm does not import.

    The import is attempted once, at the first call, and cached. Any exception (not only
    ImportError: a broken build can raise anything) means "not available" and is logged at
    debug level.
    """
    try:
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
    except Exception as exc:  # noqa: BLE001 - any failure means "use the PyTorch path"
        logger.debug("mamba_ssm selective_scan_fn unavailable (%s: %s); using PyTorch scan",
                     type(exc).__name__, exc)
        return None
    return selective_scan_fn


def selective_scan(
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
    """Selective scan: mamba_ssm's CUDA kernel for CUDA tensors when it imports; else the time-major form
    (:func:`selective_scan_time_major`) off CUDA for L <= ``TIME_MAJOR_MAX_SEQLEN``, the chunked form
    (:func:`selective_scan_chunked`) otherwise.

    Args and returns: as :func:`selective_scan_ref`: u, delta (b, d, L); A (d, n);
    B, C (d, n) | (b, n, L) | (b, g, n, L); D (d,); z (b, d, L); delta_bias (d,).
    Output (b, d, L) in u's dtype, plus last_state (b, d, n) float32 when requested.
    """
    if u.is_cuda:
        fn = mamba_ssm_scan_fn()
        if fn is not None:
            if A.is_complex():
                check_inputs(u, delta, A, B, C, D, z, delta_bias)  # raises the clear error
            result = fn(u, delta, A, B, C, D, z, delta_bias, delta_softplus, return_last_state)
            if return_last_state and B.dim() == 2:
                # With a constant (d, n) B the kernel keeps B out of its state (it folds B into the
                # output), so its last state is ours divided by B; bench/gpu_check.py measured it.
                out, state = result
                return out, state * B.float()
            return result
    elif u.shape[-1] <= TIME_MAJOR_MAX_SEQLEN:
        return selective_scan_time_major(
            u, delta, A, B, C, D=D, z=z, delta_bias=delta_bias,
            delta_softplus=delta_softplus, return_last_state=return_last_state,
        )
    return selective_scan_chunked(
        u, delta, A, B, C, D=D, z=z, delta_bias=delta_bias,
        delta_softplus=delta_softplus, return_last_state=return_last_state,
    )
