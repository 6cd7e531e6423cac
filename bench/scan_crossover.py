"""CPU selective scan: the time-major form against the chunked form, by sequence length.

For each slab (batch, d_inner, d_state) and each L, the best of ``--reps`` interleaved runs of both
forms on the same inputs (B, C as (b, n, L), as Mamba passes them), without autograd (labeling)
and with forward + backward (fine-tuning). The ratio judged is chunked / time-major (> 1: the
time-major form is faster); the dispatcher's ``TIME_MAJOR_MAX_SEQLEN`` (star_model/ops/selective_scan.py)
is the longest L where it stays > 1 without autograd on every slab.

Run: .venv/bin/python bench/scan_crossover.py [--threads 2] [--reps 7] [--lengths 8 16 32 64 128]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from star_model.ops.selective_scan import selective_scan_chunked, selective_scan_time_major  # noqa: E402

SLABS = [(64, 512, 16), (8, 512, 16), (1, 128, 16)]


def _inputs(batch: int, dim: int, dstate: int, seqlen: int, grad: bool) -> dict:
    g = torch.Generator().manual_seed(0)
    args = dict(
        u=torch.randn(batch, dim, seqlen, generator=g),
        delta=torch.randn(batch, dim, seqlen, generator=g) * 0.5 - 1.0,
        A=-torch.rand(dim, dstate, generator=g) * 4,
        B=torch.randn(batch, dstate, seqlen, generator=g),
        C=torch.randn(batch, dstate, seqlen, generator=g),
        D=torch.randn(dim, generator=g),
        z=torch.randn(batch, dim, seqlen, generator=g),
        delta_bias=torch.rand(dim, generator=g),
    )
    if grad:
        for t in args.values():
            t.requires_grad_()
    return args


def _run(fn, args: dict, grad: bool) -> None:
    if grad:
        fn(**args, delta_softplus=True).sum().backward()
    else:
        with torch.no_grad():
            fn(**args, delta_softplus=True)


def best_times(slab: tuple[int, int, int], seqlen: int, grad: bool, reps: int) -> tuple[float, float]:
    """(chunked, time-major) best seconds over ``reps`` interleaved runs."""
    args = _inputs(*slab, seqlen, grad)
    forms = (selective_scan_chunked, selective_scan_time_major)
    best = [float("inf"), float("inf")]
    for fn in forms:  # warm-up
        _run(fn, args, grad)
    for _ in range(reps):
        for i, fn in enumerate(forms):
            start = time.perf_counter()
            _run(fn, args, grad)
            best[i] = min(best[i], time.perf_counter() - start)
    return best[0], best[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--lengths", type=int, nargs="+", default=[8, 16, 32, 64, 128])
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    print(f"torch {torch.__version__}, {opts.threads} threads, best of {opts.reps}")
    print(f"{'batch x d x n':>15} {'mode':>9} {'L':>5} {'chunked ms':>11} {'time-major ms':>14} {'ratio':>6}")
    for slab in SLABS:
        for grad in (False, True):
            for seqlen in opts.lengths:
                chunked, time_major = best_times(slab, seqlen, grad, opts.reps)
                name = "x".join(map(str, slab))
                mode = "fwd+bwd" if grad else "no-grad"
                print(f"{name:>15} {mode:>9} {seqlen:>5} {chunked * 1e3:>11.2f} {time_major * 1e3:>14.2f} "
                      f"{chunked / time_major:>6.2f}", flush=True)


if __name__ == "__main__":
    main()
