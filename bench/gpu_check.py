"""GPU check (not a test): mamba_ssm's CUDA selective scan vs our PyTorch scan, and the Mamba block.

Run on a CUDA machine, from anywhere (the repo root is put on sys.path, no install needed)::

    python bench/gpu_check.py [--require-mamba]

bench/gpu_check.sh builds mamba_ssm's ``selective_scan_cuda`` for sm_90 from the sdist and runs
this with mamba_ssm on PYTHONPATH. With mamba_ssm (built with CUDA) importable it compares,
for b=2, d=256, n=16, L in {8, 64, 512}, every B/C form ((d, n) constant, (b, n, L),
(b, g, n, L) with g=1 and g=2) and fp32/bf16 inputs, with D, z, delta_bias, softplus and the
last state:

  (a) ``mamba_ssm.ops.selective_scan_interface.selective_scan_fn`` on CUDA against our fast
      CPU form (``star_model.ops.selective_scan.selective_scan_chunked``) on the same inputs copied to the CPU
      (with constant (d, n) B the kernel's last state lacks the B[d, n] factor, which it folds
      into the output; those rows compare last_state * B, and notes give the raw difference);
  (b) mamba_ssm's ``Mamba`` on CUDA (our state dict loaded, strict) against our
      ``star_model.nn.mamba.Mamba`` on the CPU (fp32; bf16 = CUDA autocast), and our Mamba on
      CUDA against theirs on CUDA (both on the kernel, so about equal);
  (c) our dispatcher ``star_model.ops.selective_scan.selective_scan`` on CUDA tensors: it must pick
      mamba_ssm's ``selective_scan_fn`` (same function object, the extension's ``fwd`` is
      called, output bit-identical to calling the kernel directly).

Without mamba_ssm it says so and compares our fast form on CUDA against our CPU form (and
our Mamba on CUDA vs CPU); ``--require-mamba`` makes that a FAIL.

Tolerances are mamba_ssm's own (tests/ops/test_selective_scan.py), elementwise as its
``torch.allclose``: fp32 rtol 6e-4 atol 2e-3; bf16 rtol 3e-2 atol 5e-2. The table prints the
largest absolute difference, the relative one (max|diff| / max|reference|) and "tol use", the
largest |diff| / (atol + rtol*|reference|) over outputs and states (<= 1 passes). The exit
status is 0 on PASS, 1 on FAIL, 2 without CUDA.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import re
import sys
import types
from pathlib import Path
from typing import Callable, List, NamedTuple, Optional

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import torch  # noqa: E402

logger = logging.getLogger("gpu_check")

import star_model.ops.selective_scan as our_ssm  # noqa: E402
from star_model.nn.mamba import Mamba  # noqa: E402
from star_model.ops.selective_scan import selective_scan_chunked  # noqa: E402

# mamba_ssm's own tolerances (tests/ops/test_selective_scan.py).
TOL = {torch.float32: (6e-4, 2e-3), torch.bfloat16: (3e-2, 5e-2)}
SHAPES = dict(batch=2, dim=256, dstate=16, lengths=(8, 64, 512))
BC_FORMS = ("dn", "bnl", "bgnl_g1", "bgnl_g2")


class MambaSSM(NamedTuple):
    scan_fn: Callable
    Mamba: type
    ext: types.ModuleType  # the compiled selective_scan_cuda module
    how: str  # "package" or "bare package"
    fast_path: bool  # causal_conv1d present: mamba_ssm.Mamba uses the fused mamba_inner_fn


def load_mamba_ssm() -> Optional[MambaSSM]:
    """mamba_ssm's kernel interface and Mamba, or None when they do not import.

    ``import mamba_ssm`` runs its ``__init__``, which also imports Mamba2/Mamba3 and their
    triton/tilelang kernels; if that fails, ``mamba_ssm`` is registered as a bare package
    (its subpackages' ``__init__`` files are empty) so that the two modules needed here, and
    star_model.ops.selective_scan's dispatcher import of ``mamba_ssm.ops.selective_scan_interface``, work.
    """
    how = "package"
    try:
        importlib.import_module("mamba_ssm")
    except Exception as exc:  # noqa: BLE001
        for k in [k for k in sys.modules if k == "mamba_ssm" or k.startswith("mamba_ssm.")]:
            del sys.modules[k]
        spec = importlib.util.find_spec("mamba_ssm")
        if spec is None or not spec.submodule_search_locations:
            logger.warning("mamba_ssm is not importable (%s: %s)", type(exc).__name__, exc)
            return None
        logger.warning("mamba_ssm/__init__ failed (%s: %s); using it as a bare package",
                       type(exc).__name__, exc)
        pkg = types.ModuleType("mamba_ssm")
        pkg.__path__ = list(spec.submodule_search_locations)  # type: ignore[attr-defined]
        pkg.__package__ = "mamba_ssm"
        sys.modules["mamba_ssm"] = pkg
        how = "bare package"
    try:
        interface = importlib.import_module("mamba_ssm.ops.selective_scan_interface")
        simple = importlib.import_module("mamba_ssm.modules.mamba_simple")
    except Exception as exc:  # noqa: BLE001 - any failure: compare our own paths only
        logger.warning("mamba_ssm is not importable (%s: %s)", type(exc).__name__, exc)
        return None
    ext = sys.modules["selective_scan_cuda"]
    root = Path(list(sys.modules["mamba_ssm"].__path__)[0])
    version = getattr(sys.modules["mamba_ssm"], "__version__", None)
    if version is None:  # bare package: read it from the __init__ that was not run
        found = re.search(r"^__version__\s*=\s*[\"']([^\"']+)", (root / "__init__.py").read_text(), re.M)
        version = found.group(1) if found else "?"
    logger.info("mamba_ssm %s from %s (%s); selective_scan_cuda from %s",
                version, root, how, getattr(ext, "__file__", "?"))
    fast = getattr(simple, "causal_conv1d_fn", None) is not None
    return MambaSSM(interface.selective_scan_fn, simple.Mamba, ext, how, fast)


class CallCounter:
    """Counts calls of ``selective_scan_cuda.fwd`` (the module attribute the interface calls)."""

    def __init__(self, ext: types.ModuleType) -> None:
        self.ext, self.orig, self.n = ext, ext.fwd, 0

        def fwd(*args, **kwargs):  # type: ignore[no-untyped-def]
            self.n += 1
            return self.orig(*args, **kwargs)

        ext.fwd = fwd  # type: ignore[attr-defined]

    def restore(self) -> None:
        self.ext.fwd = self.orig  # type: ignore[attr-defined]


def make_inputs(form: str, L: int, itype: torch.dtype, device: str, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    b, d, n = SHAPES["batch"], SHAPES["dim"], SHAPES["dstate"]

    def bc() -> torch.Tensor:
        if form == "dn":
            return torch.randn(d, n, generator=g)  # weights stay fp32 (kernel requirement)
        if form == "bnl":
            return torch.randn(b, n, L, generator=g).to(itype)
        return torch.randn(b, 1 if form == "bgnl_g1" else 2, n, L, generator=g).to(itype)

    args = dict(
        u=torch.randn(b, d, L, generator=g).to(itype),
        delta=(0.5 * torch.rand(b, d, L, generator=g)).to(itype),
        A=-0.5 * torch.rand(d, n, generator=g),
        B=bc(),
        C=bc(),
        D=torch.randn(d, generator=g),
        z=torch.randn(b, d, L, generator=g).to(itype),
        delta_bias=0.5 * torch.rand(d, generator=g),
    )
    return {k: v.to(device) for k, v in args.items()}


class Row(NamedTuple):
    case: str
    form: str
    dtype: str
    d_out: float
    r_out: float
    d_st: float
    r_st: float
    use: float  # max |diff| / (atol + rtol |ref|), over outputs and states; <= 1 passes

    @property
    def ok(self) -> bool:
        return self.use <= 1.0


def compare(got: torch.Tensor, ref: torch.Tensor, itype: torch.dtype):
    """(max |diff|, max |diff| / max |ref|, tol use) of got vs ref, in float32 on the CPU."""
    got, ref = got.detach().float().cpu(), ref.detach().float().cpu()
    if not torch.isfinite(got).all():
        return float("inf"), float("inf"), float("inf")
    rtol, atol = TOL[itype]
    diff = (got - ref).abs()
    use = (diff / (atol + rtol * ref.abs())).max().item()
    d = diff.max().item()
    return d, d / max(ref.abs().max().item(), 1e-30), use


def dtname(t: torch.dtype) -> str:
    return str(t).replace("torch.", "")


def check_scans(m: Optional[MambaSSM], rows: List[Row], notes: List[str]) -> None:
    """(a). For constant (d, n) B ("dn") the kernel's last state is compared times B (see notes)."""
    seed = 0
    for L in SHAPES["lengths"]:
        for form in BC_FORMS:
            for itype in (torch.float32, torch.bfloat16):
                seed += 1
                args = make_inputs(form, L, itype, "cuda", seed)
                fn = m.scan_fn if m is not None else selective_scan_chunked
                out_g, st_g = fn(**args, delta_softplus=True, return_last_state=True)
                torch.cuda.synchronize()
                cpu_args = {k: v.cpu() for k, v in args.items()}
                out_c, st_c = selective_scan_chunked(**cpu_args, delta_softplus=True, return_last_state=True)
                assert out_g.dtype == out_c.dtype == itype and st_g.shape == st_c.shape, (out_g.dtype, st_g.shape)
                d_o, r_o, u_o = compare(out_g, out_c, itype)
                if m is not None and args["B"].dim() == 2:
                    # Constant B: the kernel scans delta*u and multiplies B (with C) into the
                    # output only, so its last state lacks the B[d, n] factor of the reference's.
                    raw = compare(st_g, st_c, itype)
                    st_g = st_g * args["B"]
                    d_s, r_s, u_s = compare(st_g, st_c, itype)
                    notes.append(f"scan L={L} {form} {dtname(itype)}: kernel last_state as returned: max|d|={raw[0]:.3e}"
                                 f" (rel {raw[1]:.3e}); kernel last_state * B: max|d|={d_s:.3e} (rel {r_s:.3e})")
                else:
                    d_s, r_s, u_s = compare(st_g, st_c, itype)
                rows.append(Row(f"scan L={L}", form, dtname(itype), d_o, r_o, d_s, r_s, max(u_o, u_s)))


def check_dispatcher(m: MambaSSM, rows: List[Row]) -> List[str]:
    """(c): our selective_scan on CUDA must be mamba_ssm's kernel. Returns failure messages."""
    fails = []
    our_ssm.mamba_ssm_scan_fn.cache_clear()
    picked = our_ssm.mamba_ssm_scan_fn()
    same = picked is m.scan_fn
    logger.info("dispatcher: star_model.ops.selective_scan.mamba_ssm_scan_fn() -> %s.%s (is mamba_ssm's selective_scan_fn: %s)",
                getattr(picked, "__module__", None), getattr(picked, "__name__", None), same)
    if not same:
        fails.append("star_model.ops.selective_scan.mamba_ssm_scan_fn() is not mamba_ssm's selective_scan_fn")
    for form in BC_FORMS:
        for itype in (torch.float32, torch.bfloat16):
            args = make_inputs(form, 64, itype, "cuda", 1000)
            ref, ref_st = m.scan_fn(**args, delta_softplus=True, return_last_state=True)
            if args["B"].dim() == 2:
                ref_st = ref_st * args["B"].float()  # the dispatcher restores the B factor the kernel leaves out
            counter = CallCounter(m.ext)
            try:
                out, st = our_ssm.selective_scan(**args, delta_softplus=True, return_last_state=True)
            finally:
                counter.restore()
            identical = torch.equal(out, ref) and torch.equal(st, ref_st)
            d_o, r_o, _ = compare(out, ref, itype)
            d_s, r_s, _ = compare(st, ref_st, itype)
            ok = counter.n == 1 and identical
            rows.append(Row("dispatch L=64", form, dtname(itype), d_o, r_o, d_s, r_s, 0.0 if ok else float("inf")))
            if not ok:
                fails.append(f"dispatch {form} {dtname(itype)}: kernel fwd calls={counter.n}, bit-identical={identical}")
    return fails


def make_blocks(L: int, d_model: int = 128):
    torch.manual_seed(L)
    ours = Mamba(d_model, d_state=16)
    with torch.no_grad():
        for p in ours.parameters():
            p.add_(0.02 * torch.randn_like(p))
    x = torch.randn(2, L, d_model)
    return ours, x


def run_block(block: torch.nn.Module, x: torch.Tensor, itype: torch.dtype) -> torch.Tensor:
    with torch.no_grad():
        if itype == torch.float32:
            return block(x)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            return block(x)


def check_blocks(m: Optional[MambaSSM], rows: List[Row]) -> List[str]:
    fails = []
    for L in SHAPES["lengths"]:
        ours, x = make_blocks(L)
        our_gpu = Mamba(128, d_state=16).cuda()
        our_gpu.load_state_dict(ours.state_dict(), strict=True)
        with torch.no_grad():
            y_c = ours(x)
        if m is not None:
            theirs = m.Mamba(128, d_state=16, use_fast_path=m.fast_path).cuda()
            theirs.load_state_dict(ours.state_dict(), strict=True)
        for itype in (torch.float32, torch.bfloat16):
            nan = float("nan")
            if m is None:
                y_o = run_block(our_gpu, x.cuda(), itype)
                d, r, u = compare(y_o, y_c, itype)
                rows.append(Row(f"our Mamba cuda L={L}", "vs cpu", dtname(itype), d, r, nan, nan, u))
                continue
            counter = CallCounter(m.ext)
            try:
                y_t = run_block(theirs, x.cuda(), itype)
                n_theirs = counter.n
                y_o = run_block(our_gpu, x.cuda(), itype)
                n_ours = counter.n - n_theirs
            finally:
                counter.restore()
            d, r, u = compare(y_t, y_c, itype)
            rows.append(Row(f"mamba_ssm.Mamba L={L}", "vs cpu", dtname(itype), d, r, nan, nan, u))
            d, r, u = compare(y_o, y_t, itype)
            rows.append(Row(f"our Mamba cuda L={L}", "vs theirs", dtname(itype), d, r, nan, nan, u))
            if not m.fast_path and n_theirs != 1:
                fails.append(f"mamba_ssm.Mamba L={L} {dtname(itype)}: kernel fwd calls={n_theirs}")
            if n_ours != 1:
                fails.append(f"our Mamba on CUDA L={L} {dtname(itype)}: kernel fwd calls={n_ours} (dispatcher)")
    return fails


def main() -> int:
    parser = argparse.ArgumentParser(description="mamba_ssm CUDA kernel vs our PyTorch scan")
    parser.add_argument("--require-mamba", action="store_true",
                        help="FAIL when mamba_ssm's CUDA kernel does not import")
    opts = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not torch.cuda.is_available():
        logger.error("CUDA is not available: nothing to check")
        return 2
    m = load_mamba_ssm()
    gpu_name = "mamba_ssm selective_scan_fn (selective_scan_cuda)" if m is not None else "our scan on CUDA"
    logger.info("torch %s | device: %s | GPU side: %s | CPU side: star_model.ops.selective_scan.selective_scan_chunked",
                torch.__version__, torch.cuda.get_device_name(0), gpu_name)
    if m is not None:
        logger.info("mamba_ssm.Mamba path: %s", "fused mamba_inner_fn (causal_conv1d present)" if m.fast_path
                    else "use_fast_path=False (no causal_conv1d): nn.Conv1d + selective_scan_fn")
    rows: List[Row] = []
    fails: List[str] = []
    if m is None and opts.require_mamba:
        fails.append("mamba_ssm's CUDA kernel is not importable (--require-mamba)")
    notes: List[str] = []
    check_scans(m, rows, notes)
    if m is not None:
        fails += check_dispatcher(m, rows)
    fails += check_blocks(m, rows)

    hdr = ("case", "B/C", "inputs", "max|d out|", "rel out", "max|d state|", "rel state", "tol use", "ok")
    logger.info("%-24s %-9s %-8s %11s %10s %12s %10s %8s  %s", *hdr)
    for r in rows:
        logger.info("%-24s %-9s %-8s %11.3e %10.3e %12.3e %10.3e %8.3f  %s", r.case, r.form, r.dtype,
                    r.d_out, r.r_out, r.d_st, r.r_st, r.use, "ok" if r.ok else "FAIL")
    n_bad = sum(not r.ok for r in rows)
    if notes:
        logger.info("note: with constant (d, n) B, mamba_ssm's selective_scan_fn returns a last_state without"
                    " the B factor (its kernel folds B into the output); rows 'dn' compare last_state * B."
                    " star_model.ops.selective_scan.selective_scan on CUDA multiplies it back in, so its state matches the CPU path.")
        for n in notes:
            logger.info("note: %s", n)
    for f in fails:
        logger.info("FAIL: %s", f)
    rtol32, atol32 = TOL[torch.float32]
    rtol16, atol16 = TOL[torch.bfloat16]
    verdict = "PASS" if n_bad == 0 and not fails else "FAIL"
    logger.info("%s: %d/%d rows within tolerance, %d other failures (fp32 rtol=%g atol=%g; bf16 rtol=%g atol=%g;"
                " elementwise; GPU side: %s)", verdict, len(rows) - n_bad, len(rows), len(fails),
                rtol32, atol32, rtol16, atol16, gpu_name)
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
