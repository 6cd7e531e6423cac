"""What every form of the selective scan shares: argument checks, float32 discretisation, the output step.

Shapes and semantics: see :mod:`star_model.ops.selective_scan` (mamba_ssm's ``selective_scan_ref``).
"""

from __future__ import annotations

from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from einops import rearrange, repeat

__all__ = ["ScanOutput", "check_inputs", "discretise_delta", "prepare", "finish"]

ScanOutput = Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]


def _check_bc(name: str, M: torch.Tensor, batch: int, dim: int, dstate: int, seqlen: int) -> None:
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


def check_inputs(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: Optional[torch.Tensor],
    z: Optional[torch.Tensor],
    delta_bias: Optional[torch.Tensor],
) -> None:
    """Raise a clear error for arguments outside the supported shapes (see the module docstring)."""
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
    for name, M in (("B", B), ("C", C)):
        _check_bc(name, M, batch, dim, A.shape[1], seqlen)
    if D is not None and tuple(D.shape) != (dim,):
        raise ValueError(f"selective_scan: D must be (dim={dim},), got {tuple(D.shape)}")
    if z is not None and z.shape != u.shape:
        raise ValueError(f"selective_scan: z must have u's shape {tuple(u.shape)}, got {tuple(z.shape)}")
    if delta_bias is not None and tuple(delta_bias.shape) != (dim,):
        raise ValueError(
            f"selective_scan: delta_bias must be (dim={dim},), got {tuple(delta_bias.shape)}"
        )


def discretise_delta(
    u: torch.Tensor,
    delta: torch.Tensor,
    delta_bias: Optional[torch.Tensor],
    delta_softplus: bool,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """u and the step sizes in float32, with ``delta_bias`` added and softplus applied when asked: both (b, d, L)."""
    u = u.float()
    delta = delta.float()
    if delta_bias is not None:
        delta = delta + delta_bias[..., None].float()
    if delta_softplus:
        delta = F.softplus(delta)
    return u, delta


def prepare(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    delta_bias: Optional[torch.Tensor],
    delta_softplus: bool,
    log: bool = False,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Discretise in float32 as mamba_ssm's reference does, on (b, d, L, n) tensors.

    Returns:
        u: (b, d, L) float32; deltaA: (b, d, L, n) = exp(delta * A) (``log=True``: delta * A);
        deltaB_u: (b, d, L, n) = delta * B * u; C: float32, (d, n), (b, n, L) or (b, d, n, L)
        (groups already repeated over their channels).
    """
    dim = A.shape[0]
    u, delta = discretise_delta(u, delta, delta_bias, delta_softplus)
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


def finish(
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
