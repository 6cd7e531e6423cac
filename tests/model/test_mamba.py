"""Tests of star_model.nn.mamba.Mamba (uni- and bidirectional)."""

from __future__ import annotations

import math

import pytest
import torch

from star_model.nn.mamba import Mamba
from tests.model.test_ssm import load_mamba_module, mamba_ssm_installed

D_MODEL, D_STATE, D_CONV, EXPAND = 16, 8, 4, 2
D_INNER = EXPAND * D_MODEL
DT_RANK = math.ceil(D_MODEL / 16)

# Names and shapes of mamba_ssm.modules.mamba_simple.Mamba(d_model=16, d_state=8, d_conv=4,
# expand=2) (bias=False, conv_bias=True), in its named_parameters() order, written out from
# its source (mamba_ssm 2.3.x); test_state_dict_loads_into_mamba_ssm checks them against the
# class itself whenever mamba_ssm is installed.
EXPECTED_PARAMS = [
    ("A_log", (D_INNER, D_STATE)),
    ("D", (D_INNER,)),
    ("in_proj.weight", (2 * D_INNER, D_MODEL)),
    ("conv1d.weight", (D_INNER, 1, D_CONV)),
    ("conv1d.bias", (D_INNER,)),
    ("x_proj.weight", (DT_RANK + 2 * D_STATE, D_INNER)),
    ("dt_proj.weight", (D_INNER, DT_RANK)),
    ("dt_proj.bias", (D_INNER,)),
    ("out_proj.weight", (D_MODEL, D_INNER)),
]
# Vision Mamba (hustvl/Vim, bimamba_type="v2") reverse-direction parameters.
EXPECTED_BIDIR_EXTRA = [
    ("A_b_log", (D_INNER, D_STATE)),
    ("D_b", (D_INNER,)),
    ("conv1d_b.weight", (D_INNER, 1, D_CONV)),
    ("conv1d_b.bias", (D_INNER,)),
    ("x_proj_b.weight", (DT_RANK + 2 * D_STATE, D_INNER)),
    ("dt_proj_b.weight", (D_INNER, DT_RANK)),
    ("dt_proj_b.bias", (D_INNER,)),
]


def make(bidirectional: bool = False, seed: int = 0) -> Mamba:
    torch.manual_seed(seed)
    return Mamba(D_MODEL, d_state=D_STATE, d_conv=D_CONV, expand=EXPAND, bidirectional=bidirectional)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("L", [1, 3, 8, 40])
def test_forward_shape_and_dtype(bidirectional, L):
    m = make(bidirectional)
    x = torch.randn(3, L, D_MODEL)
    y = m(x)
    assert y.shape == (3, L, D_MODEL)
    assert y.dtype == x.dtype
    assert torch.isfinite(y).all()


def test_unidirectional_is_causal():
    m = make(False)
    x = torch.randn(2, 12, D_MODEL)
    x2 = x.clone()
    x2[:, 7] += torch.randn(2, D_MODEL)
    y, y2 = m(x), m(x2)
    torch.testing.assert_close(y[:, :7], y2[:, :7], rtol=0, atol=0)
    assert (y[:, 7:] - y2[:, 7:]).abs().max() > 1e-4


def test_bidirectional_is_not_causal():
    m = make(True)
    x = torch.randn(2, 12, D_MODEL)
    x2 = x.clone()
    x2[:, 7] += torch.randn(2, D_MODEL)
    y, y2 = m(x), m(x2)
    assert (y[:, :7] - y2[:, :7]).abs().max() > 1e-4  # earlier outputs see the later change
    assert (y[:, 8:] - y2[:, 8:]).abs().max() > 1e-4


def test_bidirectional_is_average_of_directions():
    """Vim v2 with if_devide_out: out_proj((y_fwd + flip(y_bwd(flip))) / 2)."""
    m = make(True)
    sd = m.state_dict()
    rev = {"A_b_log": "A_log", "D_b": "D", "conv1d_b": "conv1d", "x_proj_b": "x_proj", "dt_proj_b": "dt_proj"}
    fwd, bwd = make(False), make(False)
    fwd.load_state_dict({k: v for k, v in sd.items() if k.split(".")[0] not in rev})
    bwd_sd = {k: v for k, v in sd.items() if k.split(".")[0] in ("in_proj", "out_proj")}
    for k, v in sd.items():
        head, _, tail = k.partition(".")
        if head in rev:
            bwd_sd[rev[head] + ("." + tail if tail else "")] = v
    bwd.load_state_dict(bwd_sd)
    with torch.no_grad():
        for mod in (fwd, bwd):  # out_proj is linear without bias: average before == after
            assert mod.out_proj.bias is None
        x = torch.randn(2, 9, D_MODEL)
        expected = (fwd(x) + bwd(x.flip(1)).flip(1)) / 2
        torch.testing.assert_close(m(x), expected, rtol=1e-5, atol=1e-6)


def test_parameter_names_and_shapes():
    got = [(n, tuple(p.shape)) for n, p in make(False).named_parameters()]
    assert got == EXPECTED_PARAMS


def test_bidirectional_extra_parameters():
    got = {n: tuple(p.shape) for n, p in make(True).named_parameters()}
    assert got == dict(EXPECTED_PARAMS + EXPECTED_BIDIR_EXTRA)


def test_init_matches_mamba_ssm_recipe():
    m = make(True)
    for A_log in (m.A_log, m.A_b_log):
        expected = torch.log(torch.arange(1, D_STATE + 1, dtype=torch.float32)).repeat(D_INNER, 1)
        torch.testing.assert_close(A_log.data, expected)
        assert A_log.dtype == torch.float32 and A_log._no_weight_decay
    for D in (m.D, m.D_b):
        torch.testing.assert_close(D.data, torch.ones(D_INNER))
        assert D._no_weight_decay
    for dt_proj in (m.dt_proj, m.dt_proj_b):
        dt = torch.nn.functional.softplus(dt_proj.bias.data)
        assert dt.min() >= 1e-4 - 1e-7 and dt.max() <= 0.1 + 1e-6
        assert dt_proj.bias._no_reinit
        assert dt_proj.weight.abs().max() <= DT_RANK**-0.5 + 1e-6


@pytest.mark.parametrize("bidirectional", [False, True])
def test_gradient_reaches_every_parameter(bidirectional):
    m = make(bidirectional)
    x = torch.randn(2, 10, D_MODEL, requires_grad=True)
    m(x).pow(2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name, p in m.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_state_dict_loads_into_mamba_ssm():
    # Skip only when mamba_ssm is not installed. Their module is importable on a CPU-only
    # install through the stubbed CUDA extension (see tests/model/test_ssm.py,
    # mamba_ssm_cpu_import); if that breaks, this test fails instead of skipping.
    if not mamba_ssm_installed():
        pytest.skip("mamba_ssm is not installed")
    simple = load_mamba_module("modules.mamba_simple")
    interface = load_mamba_module("ops.selective_scan_interface")
    torch.manual_seed(0)
    theirs = simple.Mamba(D_MODEL, d_state=D_STATE, d_conv=D_CONV, expand=EXPAND, use_fast_path=False)
    assert [(n, tuple(p.shape)) for n, p in theirs.named_parameters()] == EXPECTED_PARAMS
    ours = make(False, seed=0)
    # Same registration order and init recipe: the same seed gives the same weights.
    for (n1, p1), (n2, p2) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert n1 == n2
        torch.testing.assert_close(p1, p2, rtol=0, atol=0, msg=n1)
    torch.manual_seed(1)
    for p in ours.parameters():
        p.data.normal_(0, 0.3)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    # Their CPU path calls the CUDA kernel wrapper; point it at their own pure-PyTorch reference.
    simple.selective_scan_fn = interface.selective_scan_ref
    x = torch.randn(2, 11, D_MODEL)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-5)
