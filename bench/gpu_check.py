"""GPU check (not a test): mamba_ssm's CUDA selective scan vs our PyTorch scan, and the Mamba block.

Run on a CUDA machine, from anywhere (the repo root is put on sys.path, no install needed)::

    python bench/gpu_check.py

With mamba_ssm (built with CUDA) importable it compares, for b=2, d=256, n=16, L in {8, 64,
512}, every B/C form and fp32/bf16 inputs:
  - ``mamba_ssm.ops.selective_scan_interface.selective_scan_fn`` on CUDA against our fast
    CPU form (``star_model.ssm.selective_scan_chunked``) on the same inputs copied to the CPU;
  - mamba_ssm's ``Mamba`` on CUDA against our ``star_model.mamba.Mamba`` (its state dict
    loaded into theirs) on the CPU.
Without mamba_ssm it says so and compares our fast form on CUDA against our CPU form (and
our Mamba on CUDA vs CPU). Prints a table of the largest absolute differences and a final
PASS/FAIL line; the exit status is 0 on PASS, 1 on FAIL, 2 without CUDA.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Callable, List, Optional, Tuple

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import torch  # noqa: E402

logger = logging.getLogger("gpu_check")

try:
    import star_model  # noqa: F401
except Exception as _exc:  # noqa: BLE001
    # The package __init__ pulls in the whole model (open_clip, ...), which a bare GPU box
    # may lack; ssm.py and mamba.py need only torch and einops, so load them on their own.
    import types

    logger.warning("star_model package import failed (%s); loading ssm/mamba alone", _exc)
    _pkg = types.ModuleType("star_model")
    _pkg.__path__ = [str(REPO_ROOT / "star_model")]  # type: ignore[attr-defined]
    sys.modules["star_model"] = _pkg

from star_model.mamba import Mamba  # noqa: E402
from star_model.ssm import selective_scan_chunked  # noqa: E402

# mamba_ssm's own tolerances (tests/ops/test_selective_scan.py).
TOL = {torch.float32: (6e-4, 2e-3), torch.bfloat16: (3e-2, 5e-2)}
SHAPES = dict(batch=2, dim=256, dstate=16, lengths=(8, 64, 512))
BC_FORMS = ("dn", "bnl", "bgnl_g1", "bgnl_g2")


def load_mamba_ssm() -> Tuple[Optional[Callable], Optional[type]]:
    """(selective_scan_fn, Mamba) from mamba_ssm, or (None, None) when it does not import."""
    try:
        from mamba_ssm.modules.mamba_simple import Mamba as TheirMamba
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
    except Exception as exc:  # noqa: BLE001 - any failure: compare our own paths only
        logger.warning("mamba_ssm is not importable (%s: %s)", type(exc).__name__, exc)
        return None, None
    return selective_scan_fn, TheirMamba


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


def within(diff: float, ref_max: float, itype: torch.dtype) -> bool:
    rtol, atol = TOL[itype]
    return diff <= atol + rtol * ref_max


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not torch.cuda.is_available():
        logger.error("CUDA is not available: nothing to check")
        return 2
    scan_fn, TheirMamba = load_mamba_ssm()
    gpu_name = "mamba_ssm selective_scan_fn" if scan_fn is not None else "our scan on CUDA"
    logger.info("device: %s | GPU side: %s | CPU side: star_model.ssm.selective_scan_chunked",
                torch.cuda.get_device_name(0), gpu_name)
    rows: List[Tuple[str, str, str, float, float, bool]] = []
    seed = 0
    for L in SHAPES["lengths"]:
        for form in BC_FORMS:
            for itype in (torch.float32, torch.bfloat16):
                seed += 1
                args = make_inputs(form, L, itype, "cuda", seed)
                if scan_fn is not None:
                    out_g, st_g = scan_fn(**args, delta_softplus=True, return_last_state=True)
                else:
                    out_g, st_g = selective_scan_chunked(**args, delta_softplus=True, return_last_state=True)
                cpu_args = {k: v.cpu() for k, v in args.items()}
                out_c, st_c = selective_scan_chunked(**cpu_args, delta_softplus=True, return_last_state=True)
                d_out = (out_g.float().cpu() - out_c.float()).abs().max().item()
                d_st = (st_g.float().cpu() - st_c.float()).abs().max().item()
                ok = within(d_out, out_c.float().abs().max().item(), itype) and within(
                    d_st, st_c.abs().max().item(), torch.float32
                )
                rows.append((f"scan L={L}", form, str(itype).replace("torch.", ""), d_out, d_st, ok))

    # Mamba block: theirs (or ours) on CUDA vs ours on the CPU, same weights.
    for L in SHAPES["lengths"]:
        torch.manual_seed(L)
        ours = Mamba(128, d_state=16)
        with torch.no_grad():
            for p in ours.parameters():
                p.add_(0.02 * torch.randn_like(p))
        if TheirMamba is not None:
            gpu_block = TheirMamba(128, d_state=16).cuda()
            gpu_block.load_state_dict(ours.state_dict(), strict=True)
            label = "mamba_ssm.Mamba"
        else:
            gpu_block = Mamba(128, d_state=16).cuda()
            gpu_block.load_state_dict(ours.state_dict(), strict=True)
            label = "our Mamba"
        x = torch.randn(2, L, 128)
        with torch.no_grad():
            y_c = ours(x)
            for itype in (torch.float32, torch.bfloat16):
                if itype == torch.float32:
                    y_g = gpu_block(x.cuda())
                else:
                    with torch.autocast("cuda", dtype=torch.bfloat16):
                        y_g = gpu_block(x.cuda())
                d_out = (y_g.float().cpu() - y_c).abs().max().item()
                ok = within(d_out, y_c.abs().max().item(), itype)
                rows.append((f"{label} L={L}", "block", str(itype).replace("torch.", ""), d_out, float("nan"), ok))

    logger.info("%-24s %-8s %-9s %12s %12s  %s", "case", "B/C", "inputs", "max|d out|", "max|d state|", "ok")
    for case, form, dt, d_out, d_st, ok in rows:
        logger.info("%-24s %-8s %-9s %12.3e %12.3e  %s", case, form, dt, d_out, d_st, "ok" if ok else "FAIL")
    n_fail = sum(not r[-1] for r in rows)
    rtol32, atol32 = TOL[torch.float32]
    rtol16, atol16 = TOL[torch.bfloat16]
    verdict = "PASS" if n_fail == 0 else "FAIL"
    logger.info("%s: %d/%d within tolerance (fp32 rtol=%g atol=%g; bf16 rtol=%g atol=%g)",
                verdict, len(rows) - n_fail, len(rows), rtol32, atol32, rtol16, atol16)
    return 0 if n_fail == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
