"""Tests of star_model.ops.selective_scan: the fast selective scans (chunked, time-major) against the reference loop
and mamba_ssm's reference, and the dispatcher's choice between them."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from typing import Iterator, Optional

import pytest
import torch

from star_model.ops.selective_scan import (
    TIME_MAJOR_MAX_SEQLEN,
    mamba_ssm_scan_fn,
    selective_scan,
    selective_scan_chunked,
    selective_scan_ref,
    selective_scan_time_major,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

# mamba_ssm's own tolerances (tests/ops/test_selective_scan.py): fp32 inputs (6e-4, 2e-3);
# fp16 (3e-3, 5e-3); bf16 (3e-2, 5e-2). Those compare its CUDA kernel with its reference.
MAMBA_TOL = {
    torch.float32: dict(rtol=6e-4, atol=2e-3),
    torch.float16: dict(rtol=3e-3, atol=5e-3),
    torch.bfloat16: dict(rtol=3e-2, atol=5e-2),
}
FP32_TOL = dict(rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------------------------
# Reaching mamba_ssm's pure-PyTorch reference on a CPU-only machine.
# --------------------------------------------------------------------------------------------


def mamba_ssm_installed() -> bool:
    """True when a ``mamba_ssm`` distribution is on the path (found, not imported)."""
    return importlib.util.find_spec("mamba_ssm") is not None


@contextlib.contextmanager
def mamba_ssm_cpu_import() -> Iterator[None]:
    """Import mamba_ssm submodules on a machine without its CUDA extension.

    ``mamba_ssm/__init__.py`` imports everything (Mamba2, Mamba3, triton kernels, ...) and
    ``mamba_ssm.ops.selective_scan_interface`` does ``import selective_scan_cuda``, the compiled
    extension that a CPU-only install (MAMBA_SKIP_CUDA_BUILD=TRUE) does not have. For the duration
    of this context only:

    - ``mamba_ssm`` and its subpackages ``ops``, ``ops.triton``, ``utils``, ``modules`` are
      registered as bare package objects pointing at the installed folders, so their
      ``__init__`` files are not run;
    - ``selective_scan_cuda`` is a stub module whose functions raise (the pure-PyTorch
      ``selective_scan_ref`` never calls it);
    - if triton cannot be imported, ``mamba_ssm.ops.triton.layer_norm`` is a stub (the
      interface imports one name from it at module level; the reference does not use it).

    Every mamba_ssm module and the stub are removed from ``sys.modules`` afterwards, so later imports of the
    real ``mamba_ssm`` (e.g. by star_model.ops.selective_scan's dispatcher) are not affected.
    """
    spec = importlib.util.find_spec("mamba_ssm")
    assert spec is not None and spec.submodule_search_locations, "mamba_ssm is not installed"
    root = Path(list(spec.submodule_search_locations)[0])
    before = set(sys.modules)
    saved = {k: v for k, v in sys.modules.items() if k == "mamba_ssm" or k.startswith("mamba_ssm.")}
    for k in saved:
        del sys.modules[k]
    saved_ext = sys.modules.get("selective_scan_cuda")

    def stub_package(name: str, path: Path) -> None:
        mod = types.ModuleType(name)
        mod.__path__ = [str(path)]  # type: ignore[attr-defined]
        mod.__package__ = name
        sys.modules[name] = mod

    def _no_cuda(*args: object, **kwargs: object) -> None:
        raise RuntimeError("selective_scan_cuda stub: no CUDA extension in this test")

    try:
        stub_package("mamba_ssm", root)
        for sub in ("ops", "ops.triton", "utils", "modules"):
            stub_package(f"mamba_ssm.{sub}", root.joinpath(*sub.split(".")))
        ext = types.ModuleType("selective_scan_cuda")
        ext.fwd = _no_cuda  # type: ignore[attr-defined]
        ext.bwd = _no_cuda  # type: ignore[attr-defined]
        sys.modules["selective_scan_cuda"] = ext
        try:
            importlib.import_module("triton")
        except Exception:  # noqa: BLE001 - no (working) triton: stub the one module the interface needs
            ln = types.ModuleType("mamba_ssm.ops.triton.layer_norm")
            ln._layer_norm_fwd = None  # type: ignore[attr-defined]
            ln.RMSNorm = ln.layer_norm_fn = ln.rms_norm_fn = None  # type: ignore[attr-defined]
            sys.modules["mamba_ssm.ops.triton.layer_norm"] = ln
        yield
    finally:
        for k in set(sys.modules) - before:
            if k == "selective_scan_cuda" or k == "mamba_ssm" or k.startswith("mamba_ssm."):
                del sys.modules[k]
        for k, v in saved.items():
            sys.modules[k] = v
        if saved_ext is not None:
            sys.modules["selective_scan_cuda"] = saved_ext


def load_mamba_module(name: str) -> types.ModuleType:
    """Import ``mamba_ssm.<name>`` through :func:`mamba_ssm_cpu_import` and return it."""
    with mamba_ssm_cpu_import():
        return importlib.import_module(f"mamba_ssm.{name}")


# --------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------

BC_FORMS = ["dn", "bnl", "bgnl_g1", "bgnl_g2"]


def make_inputs(
    bc_form: str,
    L: int,
    *,
    batch: int = 2,
    dim: int = 4,
    dstate: int = 8,
    itype: torch.dtype = torch.float32,
    has_D: bool = True,
    has_z: bool = True,
    has_delta_bias: bool = True,
    seed: int = 0,
    requires_grad: bool = False,
) -> dict:
    """Random scan inputs in mamba_ssm's test style (A = -0.5 * rand, delta = 0.5 * rand)."""
    g = torch.Generator().manual_seed(seed)

    def bc() -> torch.Tensor:
        if bc_form == "dn":
            return torch.randn(dim, dstate, generator=g)
        if bc_form == "bnl":
            return torch.randn(batch, dstate, L, generator=g).to(itype)
        groups = 1 if bc_form == "bgnl_g1" else 2
        return torch.randn(batch, groups, dstate, L, generator=g).to(itype)

    args = dict(
        u=torch.randn(batch, dim, L, generator=g).to(itype),
        delta=(0.5 * torch.rand(batch, dim, L, generator=g)).to(itype),
        A=-0.5 * torch.rand(dim, dstate, generator=g),
        B=bc(),
        C=bc(),
        D=torch.randn(dim, generator=g) if has_D else None,
        z=torch.randn(batch, dim, L, generator=g).to(itype) if has_z else None,
        delta_bias=0.5 * torch.rand(dim, generator=g) if has_delta_bias else None,
    )
    if requires_grad:
        args = {k: (v.requires_grad_() if v is not None else None) for k, v in args.items()}
    return args


def clone_inputs(args: dict) -> dict:
    return {
        k: (v.detach().clone().requires_grad_(v.requires_grad) if v is not None else None)
        for k, v in args.items()
    }


# --------------------------------------------------------------------------------------------
# fast form == reference loop
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bc_form", BC_FORMS)
@pytest.mark.parametrize("L", [1, 7, 16, 45, 1000])
@pytest.mark.parametrize(
    "has_D,has_z,has_delta_bias,delta_softplus,return_last_state",
    [
        (True, True, True, True, True),
        (False, False, False, False, False),
        (True, False, True, False, True),
        (False, True, False, True, False),
    ],
)
def test_chunked_matches_reference_fp32(
    bc_form, L, has_D, has_z, has_delta_bias, delta_softplus, return_last_state
):
    args = make_inputs(bc_form, L, has_D=has_D, has_z=has_z, has_delta_bias=has_delta_bias)
    kw = dict(delta_softplus=delta_softplus, return_last_state=return_last_state)
    ref = selective_scan_ref(**args, **kw)
    fast = selective_scan_chunked(**args, **kw)
    if return_last_state:
        (out_ref, state_ref), (out, state) = ref, fast
        assert state.shape == state_ref.shape == (2, 4, 8)
        assert state.dtype == torch.float32
        torch.testing.assert_close(state, state_ref, **FP32_TOL)
    else:
        assert isinstance(fast, torch.Tensor)
        out_ref, out = ref, fast
    assert out.shape == out_ref.shape == (2, 4, L)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, out_ref, **FP32_TOL)


@pytest.mark.parametrize("chunk_size", [1, 3, 8, 64])
def test_chunked_explicit_chunk_sizes(chunk_size):
    """Chunk sizes that do and do not divide L, and one larger than L."""
    args = make_inputs("bnl", 50, dstate=4)
    out_ref, state_ref = selective_scan_ref(**args, delta_softplus=True, return_last_state=True)
    out, state = selective_scan_chunked(
        **args, delta_softplus=True, return_last_state=True, chunk_size=chunk_size
    )
    torch.testing.assert_close(out, out_ref, **FP32_TOL)
    torch.testing.assert_close(state, state_ref, **FP32_TOL)


def test_chunked_strong_decay_is_finite():
    """Large dt * |A| (decays underflow to 0 inside a chunk): no inf/nan, still equal to the loop."""
    args = make_inputs("bnl", 300, dstate=16)
    args["A"] = -torch.arange(1, 17, dtype=torch.float32).repeat(4, 1) * 50.0
    args["delta"] = args["delta"] * 20
    out_ref, st_ref = selective_scan_ref(**args, delta_softplus=True, return_last_state=True)
    out, st = selective_scan_chunked(**args, delta_softplus=True, return_last_state=True)
    assert torch.isfinite(out).all() and torch.isfinite(st).all()
    torch.testing.assert_close(out, out_ref, **FP32_TOL)
    torch.testing.assert_close(st, st_ref, **FP32_TOL)


@pytest.mark.parametrize("itype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("bc_form", BC_FORMS)
def test_low_precision_inputs(itype, bc_form):
    """Low-precision inputs: both compute in fp32 and return itype; compared at mamba's tolerances."""
    args = make_inputs(bc_form, 100, itype=itype)
    out_ref, st_ref = selective_scan_ref(**args, delta_softplus=True, return_last_state=True)
    out, st = selective_scan_chunked(**args, delta_softplus=True, return_last_state=True)
    assert out.dtype == itype and out_ref.dtype == itype
    assert st.dtype == torch.float32
    torch.testing.assert_close(out, out_ref, **MAMBA_TOL[itype])
    torch.testing.assert_close(st, st_ref, **MAMBA_TOL[torch.float32])


@pytest.mark.parametrize("bc_form", BC_FORMS)
@pytest.mark.parametrize("L", [5, 70])
def test_chunked_gradients_match_reference(bc_form, L):
    args = make_inputs(bc_form, L, requires_grad=True, seed=1)
    args_ref = clone_inputs(args)
    out = selective_scan_chunked(**args, delta_softplus=True, chunk_size=16)
    out_ref = selective_scan_ref(**args_ref, delta_softplus=True)
    grad = torch.randn_like(out)
    out.backward(grad)
    out_ref.backward(grad)
    for name, t in args.items():
        if t is None:
            continue
        assert t.grad is not None, name
        torch.testing.assert_close(t.grad, args_ref[name].grad, rtol=1e-4, atol=1e-4, msg=name)


@pytest.mark.parametrize(
    "L,form", [(1, "time-major"), (8, "time-major"), (TIME_MAJOR_MAX_SEQLEN, "time-major"),
               (TIME_MAJOR_MAX_SEQLEN + 1, "chunked"), (300, "chunked")]
)
def test_dispatcher_on_cpu_picks_the_form_by_length(L, form):
    """Off CUDA: the time-major form up to TIME_MAJOR_MAX_SEQLEN steps, the chunked form beyond (bit for bit)."""
    args = make_inputs("bnl", L)
    out = selective_scan(**args, delta_softplus=True)
    fast = selective_scan_time_major if form == "time-major" else selective_scan_chunked
    torch.testing.assert_close(out, fast(**args, delta_softplus=True), rtol=0, atol=0)


def test_complex_A_and_bad_shapes_raise():
    args = make_inputs("bnl", 10)
    with pytest.raises(NotImplementedError, match="complex"):
        selective_scan_chunked(**{**args, "A": args["A"].to(torch.complex64)})
    with pytest.raises(NotImplementedError, match="complex"):
        selective_scan_ref(**{**args, "A": args["A"].to(torch.complex64)})
    with pytest.raises(ValueError, match="B must be"):
        selective_scan(**{**args, "B": torch.randn(2, 3, 8, 10)})  # 3 groups do not divide dim=4
    with pytest.raises(ValueError, match="delta"):
        selective_scan(**{**args, "delta": args["delta"][..., :5]})


# --------------------------------------------------------------------------------------------
# time-major form == reference loop
# --------------------------------------------------------------------------------------------

TIME_MAJOR_FORMS = ["bnl", "bgnl_g1", "bgnl_g2", "bgnl_g4"]  # what it scans itself ((d, n): chunked)
FLAG_SETS = [
    (True, True, True, True, True),
    (False, False, False, False, False),
    (True, False, True, False, True),
    (False, True, False, True, False),
    (False, False, True, True, True),
]


def time_major_inputs(bc_form: str, L: int, **kw) -> dict:
    """make_inputs, plus "bgnl_g4" (4 groups of 2 channels) and "mixed" (B in 2 groups, C in 4)."""
    if bc_form in ("bgnl_g4", "mixed"):
        args = make_inputs("bgnl_g2", L, dim=8, **kw)
        g = torch.Generator().manual_seed(kw.get("seed", 0) + 100)
        itype = kw.get("itype", torch.float32)
        groups_b = 2 if bc_form == "mixed" else 4
        for name, groups in (("B", groups_b), ("C", 4)):
            args[name] = torch.randn(2, groups, 8, L, generator=g).to(itype)
            if kw.get("requires_grad"):
                args[name].requires_grad_()
        return args
    return make_inputs(bc_form, L, **kw)


def _assert_matches_reference(args: dict, kw: dict, L: int, dim: int, out_tol: dict, state_tol: dict) -> None:
    ref = selective_scan_ref(**args, **kw)
    ours = selective_scan_time_major(**args, **kw)
    if kw.get("return_last_state"):
        (out_ref, state_ref), (out, state) = ref, ours
        assert state.shape == state_ref.shape == (2, dim, 8)
        assert state.dtype == torch.float32
        torch.testing.assert_close(state, state_ref, **state_tol)
    else:
        assert isinstance(ours, torch.Tensor)
        out_ref, out = ref, ours
    assert out.shape == out_ref.shape == (2, dim, L)
    assert out.dtype == out_ref.dtype == args["u"].dtype
    if args["B"].dim() > 2:  # its own output (a (d, n) B goes to the chunked form)
        assert out.is_contiguous()
    torch.testing.assert_close(out, out_ref, **out_tol)


@pytest.mark.parametrize("bc_form", TIME_MAJOR_FORMS + ["mixed", "dn"])
@pytest.mark.parametrize("L", [1, 2, 8, 33, 130])
@pytest.mark.parametrize("has_D,has_z,has_delta_bias,delta_softplus,return_last_state", FLAG_SETS)
def test_time_major_matches_reference_fp32(bc_form, L, has_D, has_z, has_delta_bias, delta_softplus,
                                           return_last_state):
    """No input needs a gradient: the in-place steps."""
    args = time_major_inputs(bc_form, L, has_D=has_D, has_z=has_z, has_delta_bias=has_delta_bias)
    kw = dict(delta_softplus=delta_softplus, return_last_state=return_last_state)
    _assert_matches_reference(args, kw, L, args["u"].shape[1], FP32_TOL, FP32_TOL)


@pytest.mark.parametrize("bc_form", TIME_MAJOR_FORMS + ["mixed"])
@pytest.mark.parametrize("has_D,has_z,has_delta_bias,delta_softplus,return_last_state", FLAG_SETS)
def test_time_major_autograd_steps_match_reference_fp32(bc_form, has_D, has_z, has_delta_bias, delta_softplus,
                                                        return_last_state):
    """Inputs that need a gradient: the out-of-place steps give the same forward results."""
    args = time_major_inputs(bc_form, 9, has_D=has_D, has_z=has_z, has_delta_bias=has_delta_bias,
                             requires_grad=True)
    kw = dict(delta_softplus=delta_softplus, return_last_state=return_last_state)
    with torch.no_grad():  # the in-place steps, for the record: they agree with the out-of-place ones
        in_place = selective_scan_time_major(**args, **kw)
    _assert_matches_reference(args, kw, 9, args["u"].shape[1], FP32_TOL, FP32_TOL)
    tracked = selective_scan_time_major(**args, **kw)
    first = tracked[0] if return_last_state else tracked
    assert first.requires_grad
    torch.testing.assert_close(first, in_place[0] if return_last_state else in_place, **FP32_TOL)


@pytest.mark.parametrize("itype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("bc_form", TIME_MAJOR_FORMS)
@pytest.mark.parametrize("L", [8, 50])
def test_time_major_low_precision_inputs(itype, bc_form, L):
    """Low-precision u, delta, B, C, z: computed in fp32 as the reference does and returned in itype.

    Both see the same rounded inputs and compute in fp32, so the outputs differ at most where an
    fp32 difference crosses an itype rounding boundary (mamba's tolerance), the fp32 states within FP32_TOL.
    """
    args = time_major_inputs(bc_form, L, itype=itype)
    _assert_matches_reference(args, dict(delta_softplus=True, return_last_state=True), L, args["u"].shape[1],
                              MAMBA_TOL[itype], FP32_TOL)


@pytest.mark.parametrize("bc_form", TIME_MAJOR_FORMS + ["mixed"])
@pytest.mark.parametrize("L", [1, 8, 20])
@pytest.mark.parametrize("delta_softplus,return_last_state", [(True, False), (False, True), (True, True)])
def test_time_major_gradients_match_reference(bc_form, L, delta_softplus, return_last_state):
    """Backward through the time-major form gives the reference's gradients for every input (and through
    the last state when it is returned)."""
    args = time_major_inputs(bc_form, L, requires_grad=True, seed=1)
    args_ref = clone_inputs(args)
    kw = dict(delta_softplus=delta_softplus, return_last_state=return_last_state)
    ours = selective_scan_time_major(**args, **kw)
    ref = selective_scan_ref(**args_ref, **kw)
    ours, ref = (ours, ref) if return_last_state else ((ours,), (ref,))
    g = torch.Generator().manual_seed(7)
    weights = [torch.randn(t.shape, generator=g) for t in ours]
    sum(torch.sum(t * w) for t, w in zip(ours, weights)).backward()
    sum(torch.sum(t * w) for t, w in zip(ref, weights)).backward()
    for name, t in args.items():
        if t is None:
            continue
        if L == 1 and name == "A":  # x_1 = delta*B*u: A is not used (the reference's grad is zeros)
            assert t.grad is None or not t.grad.any()
            assert not args_ref[name].grad.any()
            continue
        assert t.grad is not None and t.grad.abs().sum() > 0, name
        torch.testing.assert_close(t.grad, args_ref[name].grad, rtol=1e-4, atol=1e-4, msg=name)


def test_time_major_uses_the_in_place_steps_only_without_autograd(monkeypatch):
    """Grad mode on and an input needing a gradient: out of place (backward works); otherwise in place."""
    import star_model.ops.scan_time_major as tm

    used = []
    for name in ("_steps_in_place", "_steps_autograd"):
        real = getattr(tm, name)
        monkeypatch.setattr(tm, name, lambda *a, _real=real, _name=name: used.append(_name) or _real(*a))
    plain = make_inputs("bnl", 8)
    tracked = make_inputs("bnl", 8, requires_grad=True)
    selective_scan_time_major(**plain)
    with torch.no_grad():
        selective_scan_time_major(**tracked)
    with torch.inference_mode():
        selective_scan_time_major(**tracked)
    only_A = {**plain, "A": plain["A"].clone().requires_grad_()}
    selective_scan_time_major(**only_A).sum().backward()
    assert only_A["A"].grad is not None
    selective_scan_time_major(**tracked).sum().backward()
    assert used == ["_steps_in_place"] * 3 + ["_steps_autograd"] * 2


def test_time_major_strong_decay_is_finite():
    """Large dt * |A| (decays underflow to 0): no inf/nan, equal to the loop."""
    args = make_inputs("bnl", 40, dstate=16)
    args["A"] = -torch.arange(1, 17, dtype=torch.float32).repeat(4, 1) * 50.0
    args["delta"] = args["delta"] * 20
    out_ref, st_ref = selective_scan_ref(**args, delta_softplus=True, return_last_state=True)
    out, st = selective_scan_time_major(**args, delta_softplus=True, return_last_state=True)
    assert torch.isfinite(out).all() and torch.isfinite(st).all()
    torch.testing.assert_close(out, out_ref, **FP32_TOL)
    torch.testing.assert_close(st, st_ref, **FP32_TOL)


def test_time_major_does_not_modify_its_inputs():
    args = make_inputs("bgnl_g2", 8)
    before = clone_inputs(args)
    selective_scan_time_major(**args, delta_softplus=True, return_last_state=True)
    for name, t in args.items():
        if t is not None:
            torch.testing.assert_close(t, before[name], rtol=0, atol=0, msg=name)


def test_time_major_bad_shapes_raise():
    args = make_inputs("bnl", 10)
    with pytest.raises(NotImplementedError, match="complex"):
        selective_scan_time_major(**{**args, "A": args["A"].to(torch.complex64)})
    with pytest.raises(ValueError, match="C must be"):
        selective_scan_time_major(**{**args, "C": torch.randn(2, 3, 8, 10)})


# --------------------------------------------------------------------------------------------
# against mamba_ssm's own reference
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bc_form", BC_FORMS)
@pytest.mark.parametrize("itype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("L", [1, 33, 300])
def test_against_mamba_ssm_selective_scan_ref(bc_form, itype, L):
    # Skip only when mamba_ssm is not installed at all. If it is installed but our way of
    # reaching its reference (stubbed CUDA extension, see mamba_ssm_cpu_import) breaks, fail.
    if not mamba_ssm_installed():
        pytest.skip("mamba_ssm is not installed")
    interface = load_mamba_module("ops.selective_scan_interface")
    mamba_ref = interface.selective_scan_ref
    args = make_inputs(bc_form, L, itype=itype, seed=3)
    theirs = mamba_ref(**args, delta_softplus=True, return_last_state=True)
    ours_ref = selective_scan_ref(**args, delta_softplus=True, return_last_state=True)
    # Our loop does their arithmetic in the same order: identical results.
    torch.testing.assert_close(ours_ref[0], theirs[0], rtol=0, atol=0)
    torch.testing.assert_close(ours_ref[1], theirs[1], rtol=0, atol=0)
    # The fast forms: fp32 within 1e-5; a bf16 output may differ by its own rounding (mamba's tolerance).
    out_tol = FP32_TOL if itype == torch.float32 else MAMBA_TOL[itype]
    for fast in (selective_scan_chunked, selective_scan_time_major):
        ours_fast = fast(**args, delta_softplus=True, return_last_state=True)
        assert ours_fast[0].dtype == theirs[0].dtype == itype
        torch.testing.assert_close(ours_fast[0], theirs[0], **out_tol)
        torch.testing.assert_close(ours_fast[1], theirs[1], **FP32_TOL)


# --------------------------------------------------------------------------------------------
# importing star_model.ops.selective_scan / star_model.nn.mamba without a working mamba_ssm
# --------------------------------------------------------------------------------------------

_IMPORT_CHECK = textwrap.dedent(
    """
    import importlib.util, sys
    {prelude}
    # Load our two modules directly (not through star_model/__init__.py, which other parts
    # of the package own) so that this checks exactly ssm.py and mamba.py.
    import types
    root = {root!r}
    pkg = types.ModuleType("star_model"); pkg.__path__ = [root + "/star_model"]
    sys.modules["star_model"] = pkg
    import star_model.ops.selective_scan as ssm
    import star_model.nn.mamba as mamba
    import torch
    assert ssm.mamba_ssm_scan_fn() is None
    m = mamba.Mamba(8, d_state=4)
    y = m(torch.randn(1, 5, 8))
    assert y.shape == (1, 5, 8)
    print("OK")
    """
)


def _run_import_check(prelude: str, extra_path: Optional[Path] = None) -> None:
    env = dict(os.environ)
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), env.get("PYTHONPATH", "")])
    code = _IMPORT_CHECK.format(prelude=prelude, root=str(REPO_ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), proc.stderr


def test_import_when_mamba_ssm_import_is_blocked():
    # sys.modules["mamba_ssm"] = None makes every `import mamba_ssm...` raise ImportError.
    _run_import_check('sys.modules["mamba_ssm"] = None')


def test_import_when_mamba_ssm_raises_runtime_error(tmp_path):
    fake = tmp_path / "mamba_ssm"
    fake.mkdir()
    (fake / "__init__.py").write_text('raise RuntimeError("broken mamba_ssm build")\n')
    _run_import_check("", extra_path=tmp_path)


def test_dispatcher_cache_reports_availability():
    fn = mamba_ssm_scan_fn()
    try:
        importlib.import_module("mamba_ssm.ops.selective_scan_interface")
        importable = True
    except Exception:  # noqa: BLE001
        importable = False
    assert (fn is not None) == importable
