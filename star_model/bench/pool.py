"""Run a benchmark's units of work (a seed of a method) in worker processes, the CPU threads shared among them.

Small heads train faster as several one-thread processes than as one process with every thread, so
``jobs`` processes (spawned, each preparing its own context once) take the units in turn. Results come
back in the units' order, identical to a run in one process on the same number of threads per job.
"""
from __future__ import annotations

import functools
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Sequence

import torch

_STATE: dict[str, Any] = {}


def _init(prepare: Callable[..., Any], args: tuple, threads: int) -> None:
    torch.set_num_threads(threads)
    _STATE["context"] = prepare(*args)


def _call(fn: Callable[[Any, Any], Any], unit: Any) -> Any:
    return fn(_STATE["context"], unit)


def map_units(fn: Callable[[Any, Any], Any], units: Sequence[Any], jobs: int, prepare: Callable[..., Any],
              args: tuple) -> list[Any]:
    """``[fn(context, u) for u in units]`` where ``context = prepare(*args)``, made once per process.

    ``jobs`` <= 1 runs here; otherwise ``jobs`` spawned processes with ``torch.get_num_threads() // jobs``
    threads each (at least 1). ``fn``, ``prepare`` and ``args`` must pickle (module-level functions).
    """
    if jobs <= 1 or len(units) <= 1:
        context = prepare(*args)
        return [fn(context, u) for u in units]
    threads = max(1, torch.get_num_threads() // jobs)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(jobs, len(units)), mp_context=spawn, initializer=_init,
                             initargs=(prepare, args, threads)) as pool:
        return list(pool.map(functools.partial(_call, fn), units))
