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

Three entry points:

- :func:`selective_scan_ref`: the plain loop over time (a pure-PyTorch twin of mamba_ssm's
  reference, used as the ground truth in tests).
- :func:`selective_scan_chunked`: the fast form for the CPU (works on any device): time is
  cut into chunks of about sqrt(L) steps; states inside all chunks advance together and
  are joined with cumulative (log-space) decays, so the Python loop has about 2*sqrt(L)
  steps instead of L.
- :func:`selective_scan`: the dispatcher. On CUDA tensors, when ``mamba_ssm`` imports, it
  calls ``mamba_ssm.ops.selective_scan_interface.selective_scan_fn``; otherwise the fast form.
"""

from __future__ import annotations

import functools
import logging
import math
from typing import Callable, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from einops import rearrange, repeat

logger = logging.getLogger(__name__)

__all__ = [
    "selective_scan",
    "selective_scan_ref",
    "selective_scan_chunked",
    "mamba_ssm_scan_fn",
]

ScanOutput = Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]


# --------------------------------------------------------------------------------------
# shared preparation
# --------------------------------------------------------------------------------------


def _check_inputs(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: Optional[torch.Tensor],
    z: Optional[torch.Tensor],
    delta_bias: Optional[torch.Tensor],
) -> None:
    """Raise a clear error for arguments outside the supported shapes (see module docstring)."""
    if A.is_complex():
        raise NotImplementedError(
            "selective_scan: complex A is not supported by this implementation (real A only)"
        )
    if u.dim() != 3:
        raise ValueError(f"selective_scan: u must be (batch, dim, L), got shape {tuple(u.shape)}")
    batch, dim, seqlen = u.shape
    if delta.shape != u.shape:
        raise ValueError(
            f"selective_scan: delta must have u's shape {tuple(u.shape)}, got {tuple(delta.shape)}"
        )
    if A.dim() != 2 or A.shape[0] != dim:
        raise ValueError(f"selective_scan: A must be (dim={dim}, dstate), got {tuple(A.shape)}")
    dstate = A.shape[1]
    for name, M in (("B", B), ("C", C)):
        if M.dim() == 2:
            ok = tuple(M.shape) == (dim, dstate)
        elif M.dim() == 3:
            ok = tuple(M.shape) == (batch, dstate, seqlen)
        elif M.dim() == 4:
            ok = (
                M.shape[0] == batch
                and M.shape[2] == dstate
                and M.shape[3] == seqlen
                and M.shape[1] > 0
                and dim % M.shape[1] == 0
            )
        else:
            ok = False
        if not ok:
            raise ValueError(
                f"selective_scan: {name} must be (dim, dstate)=({dim}, {dstate}), "
                f"(batch, dstate, L)=({batch}, {dstate}, {seqlen}) or (batch, groups, dstate, L) "
                f"with groups dividing dim; got {tuple(M.shape)}"
            )
    if D is not None and tuple(D.shape) != (dim,):
        raise ValueError(f"selective_scan: D must be (dim={dim},), got {tuple(D.shape)}")
    if z is not None and z.shape != u.shape:
        raise ValueError(f"selective_scan: z must have u's shape {tuple(u.shape)}, got {tuple(z.shape)}")
    if delta_bias is not None and tuple(delta_bias.shape) != (dim,):
        raise ValueError(
            f"selective_scan: delta_bias must be (dim={dim},), got {tuple(delta_bias.shape)}"
        )


def _prepare(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    delta_bias: Optional[torch.Tensor],
    delta_softplus: bool,
    log: bool = False,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Discretise in float32 as mamba_ssm's reference does.

    Returns:
        u: (b, d, L) float32; deltaA: (b, d, L, n) = exp(delta * A) (``log=True``: delta * A);
        deltaB_u: (b, d, L, n) = delta * B * u; C: float32, (d, n), (b, n, L) or (b, d, n, L)
        (groups already repeated over their channels).
    """
    dim = A.shape[0]
    u = u.float()
    delta = delta.float()
    if delta_bias is not None:
        delta = delta + delta_bias[..., None].float()
    if delta_softplus:
        delta = F.softplus(delta)
    B = B.float()
    C = C.float()
    deltaA = torch.einsum("bdl,dn->bdln", delta, A)
    if not log:
        deltaA = torch.exp(deltaA)
    if B.dim() == 2:
        deltaB_u = torch.einsum("bdl,dn,bdl->bdln", delta, B, u)
    elif B.dim() == 3:
        deltaB_u = torch.einsum("bdl,bnl,bdl->bdln", delta, B, u)
    else:
        B = repeat(B, "b g n l -> b (g h) n l", h=dim // B.shape[1])
        deltaB_u = torch.einsum("bdl,bdnl,bdl->bdln", delta, B, u)
    if C.dim() == 4:
        C = repeat(C, "b g n l -> b (g h) n l", h=dim // C.shape[1])
    return u, deltaA, deltaB_u, C


def _finish(
    y: torch.Tensor,
    u: torch.Tensor,
    D: Optional[torch.Tensor],
    z: Optional[torch.Tensor],
    dtype_in: torch.dtype,
) -> torch.Tensor:
    """Skip connection ``D * u``, gating ``* silu(z)`` (z in its own dtype, as mamba_ssm), cast back."""
    out = y if D is None else y + u * rearrange(D, "d -> d 1")
    if z is not None:
        out = out * F.silu(z)
    return out.to(dtype=dtype_in)


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
    _check_inputs(u, delta, A, B, C, D, z, delta_bias)
    dtype_in = u.dtype
    u, deltaA, deltaB_u, C = _prepare(u, delta, A, B, C, delta_bias, delta_softplus)
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
    out = _finish(y, u, D, z, dtype_in)
    return (out, x) if return_last_state else out


# --------------------------------------------------------------------------------------
# fast form
# --------------------------------------------------------------------------------------


def _auto_chunk_size(seqlen: int) -> int:
    """About sqrt(L) steps per chunk (at least 16), so both Python loops stay short."""
    return max(16, math.isqrt(max(seqlen - 1, 0)) + 1)


def _chunk_layout(t: torch.Tensor, seqlen_padded: int, chunk: int) -> torch.Tensor:
    """Bring C into a layout that broadcasts against states (b, d, c, t, n).

    (d, n) -> (1, d, 1, t, n); (b, n, L) -> (b, 1, c, t, n); (b, d, n, L) -> (b, d, c, t, n).
    """
    if t.dim() == 2:  # a broadcast view over time, no copy
        return rearrange(t, "d n -> 1 d 1 1 n").expand(-1, -1, -1, chunk, -1)
    pad = seqlen_padded - t.shape[-1]
    if pad:
        t = F.pad(t, (0, pad))
    if t.dim() == 3:
        return rearrange(t, "b n (c t) -> b 1 c t n", t=chunk)
    return rearrange(t, "b d n (c t) -> b d c t n", t=chunk)


def _chunk_inputs(log_decay: torch.Tensor, deltaB_u: torch.Tensor, C: torch.Tensor, n_chunks: int,
                  chunk: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Log-decays, inputs and C padded to whole chunks (log-decay 0, input 0: the state is kept) and laid
    out as (b, d, c, t, n) views."""
    padded = n_chunks * chunk
    seqlen = log_decay.shape[2]
    if padded != seqlen:
        log_decay = F.pad(log_decay, (0, 0, 0, padded - seqlen), value=0.0)
        deltaB_u = F.pad(deltaB_u, (0, 0, 0, padded - seqlen), value=0.0)
    log_a = rearrange(log_decay, "b d (c t) n -> b d c t n", t=chunk)
    v = rearrange(deltaB_u, "b d (c t) n -> b d c t n", t=chunk)
    return log_a, v, _chunk_layout(C, padded, chunk)


def _local_scan(decay: torch.Tensor, v: torch.Tensor, Cc: torch.Tensor, chunk: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Step 1: every chunk scanned at once from a zero state -> local outputs (b, d, c, t), end states (b, d, c, n)."""
    x = v[:, :, :, 0]
    ys = [(x * Cc[:, :, :, 0]).sum(-1)]
    for t in range(1, chunk):
        x = decay[:, :, :, t] * x + v[:, :, :, t]
        ys.append((x * Cc[:, :, :, t]).sum(-1))
    return torch.stack(ys, dim=3), x


def _carry_states(log_a: torch.Tensor, x: torch.Tensor, y: torch.Tensor, Cc: torch.Tensor,
                  n_chunks: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Steps 2 and 3: the state entering each chunk, and its contribution to every output -> (y, last state)."""
    cum_decay = torch.exp(torch.cumsum(log_a, dim=3))  # (b, d, c, t, n), in [0, 1]
    state = x[:, :, 0]
    incoming = [torch.zeros_like(state), state]
    for c in range(1, n_chunks):
        state = cum_decay[:, :, c, -1] * state + x[:, :, c]
        incoming.append(state)
    last_state = incoming.pop()
    S_prev = torch.stack(incoming, dim=2)  # (b, d, c, n)
    return y + (cum_decay * rearrange(S_prev, "b d c n -> b d c 1 n") * Cc).sum(-1), last_state


def selective_scan_chunked(
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
    chunk_size: Optional[int] = None,
) -> ScanOutput:
    """Selective scan with about 2*sqrt(L) Python steps instead of L (semantics of :func:`selective_scan_ref`).

    Time is cut into ``c`` chunks of ``T`` steps (T = ``chunk_size``, by default about
    sqrt(L) and at least 16; the last chunk is padded with log-decay 0 and input 0, which
    leaves the state unchanged, so the last state is exact). With ``cs`` the cumulative sum
    of the log-decays ``delta * A`` inside a chunk:

    1. all chunks advance together from a zero state, a loop over the T positions of a
       chunk on (b, d, c, n) slabs, giving the local outputs ``<x^local_t, C_t>`` and each
       chunk's local end state;
    2. the state entering each chunk, a loop over the c chunks:
       ``S_c = exp(cs_end(c)) * S_{c-1} + local end state of chunk c``;
    3. the correction ``y_t += <exp(cs_t) * S_{c-1}, C_t>``. The log-decays are <= 0 for
       A <= 0, so ``exp(cs_t)`` is in [0, 1]: no ratio of decays is ever formed and nothing
       can overflow.

    Work is about 1.5-2 times the reference loop's, with T + c Python steps instead of L:
    much faster for long sequences with small (b, d, n) slabs, where per-step overhead
    dominates; for L <= T it is the reference loop itself.

    Args and returns: as :func:`selective_scan_ref` (shapes in the module docstring), plus
        chunk_size: steps per chunk (>= 1), None for the automatic choice.
    """
    _check_inputs(u, delta, A, B, C, D, z, delta_bias)
    dtype_in = u.dtype
    batch, dim, seqlen = u.shape
    if chunk_size is None:
        chunk_size = _auto_chunk_size(seqlen)
    if chunk_size < 1:
        raise ValueError(f"selective_scan_chunked: chunk_size must be >= 1, got {chunk_size}")
    chunk = min(chunk_size, seqlen)
    n_chunks = -(-seqlen // chunk)
    u, log_decay, deltaB_u, C = _prepare(u, delta, A, B, C, delta_bias, delta_softplus, log=True)
    log_a, v, Cc = _chunk_inputs(log_decay, deltaB_u, C, n_chunks, chunk)
    y, x = _local_scan(torch.exp(log_a), v, Cc, chunk)
    if n_chunks == 1:
        last_state = x
    else:
        y, last_state = _carry_states(log_a, x, y, Cc, n_chunks)
    y = rearrange(y, "b d c t -> b d (c t)")[:, :, :seqlen]
    out = _finish(y, u, D, z, dtype_in)
    if return_last_state:
        return out, last_state[:, :, 0] if n_chunks == 1 else last_state
    return out


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
    """Selective scan; mamba_ssm's CUDA kernel for CUDA tensors when it imports, else :func:`selective_scan_chunked`.

    Args and returns: as :func:`selective_scan_ref`: u, delta (b, d, L); A (d, n);
    B, C (d, n) | (b, n, L) | (b, g, n, L); D (d,); z (b, d, L); delta_bias (d,).
    Output (b, d, L) in u's dtype, plus last_state (b, d, n) float32 when requested.
    """
    if u.is_cuda:
        fn = mamba_ssm_scan_fn()
        if fn is not None:
            if A.is_complex():
                _check_inputs(u, delta, A, B, C, D, z, delta_bias)  # raises the clear error
            result = fn(u, delta, A, B, C, D, z, delta_bias, delta_softplus, return_last_state)
            if return_last_state and B.dim() == 2:
                # With a constant (d, n) B the kernel keeps B out of its state (it folds B into the
                # output), so its last state is ours divided by B; bench/gpu_check.py measured it.
                out, state = result
                return out, state * B.float()
            return result
    return selective_scan_chunked(
        u, delta, A, B, C, D=D, z=z, delta_bias=delta_bias,
        delta_softplus=delta_softplus, return_last_state=return_last_state,
    )
