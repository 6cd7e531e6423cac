"""Mamba block (and Vision Mamba's bidirectional variant) in pure PyTorch.

Parameter names, shapes and initialisation are those of ``mamba_ssm.modules.mamba_simple.Mamba``
(mamba_ssm 2.x), so a state dict of one loads strictly into the other::

    A_log (d_inner, d_state), D (d_inner,),
    in_proj.weight (2*d_inner, d_model) [+ in_proj.bias when bias=True],
    conv1d.weight (d_inner, 1, d_conv) [+ conv1d.bias (d_inner,) when conv_bias=True],
    x_proj.weight (dt_rank + 2*d_state, d_inner),
    dt_proj.weight (d_inner, dt_rank), dt_proj.bias (d_inner,),
    out_proj.weight (d_model, d_inner) [+ out_proj.bias when bias=True].

With ``bidirectional=True`` the block adds the reverse-direction parameters of Vision Mamba
(hustvl/Vim, ``mamba-1p1p1/mamba_ssm/modules/mamba_simple.py``, ``bimamba_type="v2"``):
``A_b_log``, ``conv1d_b``, ``x_proj_b``, ``dt_proj_b``, ``D_b``. As in Vim v2, ``in_proj``
(and therefore the gate z) and ``out_proj`` are shared; the reverse branch scans the
time-flipped x and z with its own conv/projections/A/D, its output is flipped back, and the
two directions are combined before ``out_proj``. We use Vim's ``if_devide_out=True``
combination (the form of Vim's released models): the **average** ``(y_fwd + y_bwd) / 2``.

Initialisation of the reverse branch: Vim leaves ``conv1d_b``/``x_proj_b``/``dt_proj_b`` at
PyTorch's default init; here ``dt_proj_b`` gets the same dt initialisation as ``dt_proj``
(inverse-softplus bias with softplus(bias) in [dt_min, dt_max]) so that both directions
start with the same time scales. This changes no parameter name or shape.
"""

from __future__ import annotations

import math
from typing import Optional, Union

import torch
import torch.nn as nn
from einops import rearrange, repeat

from star_model.ops.selective_scan import selective_scan

__all__ = ["Mamba"]


class Mamba(nn.Module):
    """Selective state-space block (Mamba-1), optionally bidirectional (Vim v2).

    Args:
        d_model: model width D (input and output features).
        d_state: SSM state size n.
        d_conv: width of the causal depthwise convolution.
        expand: d_inner = expand * d_model.
        dt_rank: rank of the dt projection; "auto" = ceil(d_model / 16).
        dt_min, dt_max, dt_init, dt_scale, dt_init_floor: dt initialisation as mamba_ssm.
        conv_bias: bias in the depthwise convolution(s).
        bias: bias in in_proj and out_proj.
        bidirectional: add a reverse-time scan with its own parameters (Vim v2, averaged).
        device, dtype: factory arguments for the weights (A_log, D, A_b_log, D_b stay fp32).
    """

    def __init__(
        self,
        d_model: int,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        dt_rank: Union[int, str] = "auto",
        dt_min: float = 0.001,
        dt_max: float = 0.1,
        dt_init: str = "random",
        dt_scale: float = 1.0,
        dt_init_floor: float = 1e-4,
        conv_bias: bool = True,
        bias: bool = False,
        bidirectional: bool = False,
        device: Optional[Union[torch.device, str]] = None,
        dtype: Optional[torch.dtype] = None,
    ) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.d_model = d_model
        self.d_state = d_state
        self.d_conv = d_conv
        self.expand = expand
        self.d_inner = int(expand * d_model)
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else int(dt_rank)
        self.bidirectional = bidirectional
        self._dt_init_args = (dt_min, dt_max, dt_init, dt_scale, dt_init_floor)

        # Registration order (and so the order of random draws) follows mamba_ssm.
        self.in_proj = nn.Linear(d_model, self.d_inner * 2, bias=bias, **factory_kwargs)
        self.conv1d = self._make_conv(conv_bias, factory_kwargs)
        self.activation = "silu"
        self.act = nn.SiLU()
        self.x_proj = nn.Linear(self.d_inner, self.dt_rank + d_state * 2, bias=False, **factory_kwargs)
        self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True, **factory_kwargs)
        self._init_dt_proj(self.dt_proj, factory_kwargs)

        self.A_log = self._make_A_log(device)
        self.D = self._make_D(device)

        if bidirectional:
            # Vim v2 order: A_b_log, conv1d_b, x_proj_b, dt_proj_b, D_b.
            self.A_b_log = self._make_A_log(device)
            self.conv1d_b = self._make_conv(conv_bias, factory_kwargs)
            self.x_proj_b = nn.Linear(
                self.d_inner, self.dt_rank + d_state * 2, bias=False, **factory_kwargs
            )
            self.dt_proj_b = nn.Linear(self.dt_rank, self.d_inner, bias=True, **factory_kwargs)
            self._init_dt_proj(self.dt_proj_b, factory_kwargs)
            self.D_b = self._make_D(device)

        self.out_proj = nn.Linear(self.d_inner, d_model, bias=bias, **factory_kwargs)

    # ------------------------------------------------------------------ construction helpers

    def _make_conv(self, conv_bias: bool, factory_kwargs: dict) -> nn.Conv1d:
        return nn.Conv1d(
            in_channels=self.d_inner,
            out_channels=self.d_inner,
            bias=conv_bias,
            kernel_size=self.d_conv,
            groups=self.d_inner,
            padding=self.d_conv - 1,
            **factory_kwargs,
        )

    def _init_dt_proj(self, dt_proj: nn.Linear, factory_kwargs: dict) -> None:
        """mamba_ssm's dt init: weight uniform/constant at dt_rank**-0.5 * dt_scale; bias = softplus^-1(dt)."""
        dt_min, dt_max, dt_init, dt_scale, dt_init_floor = self._dt_init_args
        dt_init_std = self.dt_rank**-0.5 * dt_scale
        if dt_init == "constant":
            nn.init.constant_(dt_proj.weight, dt_init_std)
        elif dt_init == "random":
            nn.init.uniform_(dt_proj.weight, -dt_init_std, dt_init_std)
        else:
            raise NotImplementedError(f"dt_init must be 'random' or 'constant', got {dt_init!r}")
        # dt log-uniform in [dt_min, dt_max], floored; bias = inverse softplus of dt.
        dt = torch.exp(
            torch.rand(self.d_inner, **factory_kwargs) * (math.log(dt_max) - math.log(dt_min))
            + math.log(dt_min)
        ).clamp(min=dt_init_floor)
        inv_dt = dt + torch.log(-torch.expm1(-dt))
        with torch.no_grad():
            dt_proj.bias.copy_(inv_dt)
        dt_proj.bias._no_reinit = True  # type: ignore[attr-defined]

    def _make_A_log(self, device: Optional[Union[torch.device, str]]) -> nn.Parameter:
        """S4D-real init: A = -(1..n) per channel, stored as log, fp32, (d_inner, d_state)."""
        A = repeat(
            torch.arange(1, self.d_state + 1, dtype=torch.float32, device=device),
            "n -> d n",
            d=self.d_inner,
        ).contiguous()
        param = nn.Parameter(torch.log(A))
        param._no_weight_decay = True  # type: ignore[attr-defined]
        return param

    def _make_D(self, device: Optional[Union[torch.device, str]]) -> nn.Parameter:
        """Skip weight, ones, fp32, (d_inner,)."""
        param = nn.Parameter(torch.ones(self.d_inner, device=device))
        param._no_weight_decay = True  # type: ignore[attr-defined]
        return param

    # ------------------------------------------------------------------ forward

    def _ssm_branch(
        self,
        x: torch.Tensor,
        z: torch.Tensor,
        conv1d: nn.Conv1d,
        x_proj: nn.Linear,
        dt_proj: nn.Linear,
        A_log: torch.Tensor,
        D: torch.Tensor,
    ) -> torch.Tensor:
        """One direction: causal conv -> silu -> x_proj -> (dt, B, C) -> selective scan gated by z.

        Args:
            x, z: (B, d_inner, L).

        Returns:
            y: (B, d_inner, L), already multiplied by silu(z) and including D * x.
        """
        seqlen = x.shape[-1]
        x = self.act(conv1d(x)[..., :seqlen])  # causal: pad d_conv-1 both sides, keep the first L
        x_dbl = x_proj(rearrange(x, "b d l -> (b l) d"))  # (B*L, dt_rank + 2n)
        dt, B, C = torch.split(x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = rearrange(dt_proj.weight @ dt.t(), "d (b l) -> b d l", l=seqlen)
        B = rearrange(B, "(b l) n -> b n l", l=seqlen).contiguous()
        C = rearrange(C, "(b l) n -> b n l", l=seqlen).contiguous()
        A = -torch.exp(A_log.float())  # (d_inner, d_state)
        y = selective_scan(
            x,
            dt,
            A,
            B,
            C,
            D.float(),
            z=z,
            delta_bias=dt_proj.bias.float(),
            delta_softplus=True,
        )
        return y  # type: ignore[return-value]

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """Apply the block.

        Args:
            hidden_states: (B, L, D) with D = d_model.

        Returns:
            (B, L, D). Unidirectional: output at t depends on inputs at <= t only.
            Bidirectional: ``out_proj((y_fwd + flip(y_bwd(flip(x, z)))) / 2)``.
        """
        seqlen = hidden_states.shape[1]
        xz = rearrange(
            self.in_proj.weight @ rearrange(hidden_states, "b l d -> d (b l)"),
            "d (b l) -> b d l",
            l=seqlen,
        )
        if self.in_proj.bias is not None:
            xz = xz + rearrange(self.in_proj.bias.to(dtype=xz.dtype), "d -> d 1")
        x, z = xz.chunk(2, dim=1)  # (B, d_inner, L) each
        y = self._ssm_branch(x, z, self.conv1d, self.x_proj, self.dt_proj, self.A_log, self.D)
        if self.bidirectional:
            y_b = self._ssm_branch(
                x.flip(-1), z.flip(-1), self.conv1d_b, self.x_proj_b, self.dt_proj_b,
                self.A_b_log, self.D_b,
            )
            y = (y + y_b.flip(-1)) / 2
        return self.out_proj(rearrange(y, "b d l -> b l d"))

    def extra_repr(self) -> str:
        return (
            f"d_model={self.d_model}, d_state={self.d_state}, d_conv={self.d_conv}, "
            f"expand={self.expand}, dt_rank={self.dt_rank}, bidirectional={self.bidirectional}"
        )
