"""``star-app label --cluster``: label many videos on a Ray cluster.

One :class:`LabelWorker` actor per GPU (or per ``cpus_per_worker`` CPUs where the cluster has no GPU)
loads the model and builds the prototype bank once; the driver hands out the videos longest first,
one at a time to whichever worker is free, so the last videos to finish are the short ones. A video
that fails is tried once more (on any worker); a second failure is reported and the run goes on. The
workers send back each :class:`~star_model.schema.LabelResult` and the driver writes the CSVs with the
same atomic writers as a local run, so the files are the ones a local run writes.

Ray is an optional extra (``pip install 'star-labeler[cluster]'``): it is imported only when a
cluster run starts, never by ``import star_model``.
"""
from __future__ import annotations

import dataclasses
import heapq
import itertools
import logging
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Optional, Sequence

import torch

from star_model.engine.bank import build_bank
from star_model.engine.segmentation import label_video
from star_model.engine.session import load_model
from star_model.errors import USER_ERRORS
from star_model.schema import ActionExamples, LabelingParams, LabelResult, ModelChoice

log = logging.getLogger(__name__)

RAY_MISSING = "--cluster needs Ray, which is not installed: pip install 'star-labeler[cluster]'"
ATTEMPTS = 2
"""Tries per video: the first, and one retry."""


class ClusterError(ValueError):
    """A cluster run that cannot start: Ray missing, or a cluster without what the run asks for."""


@dataclass(frozen=True)
class Job:
    """One video to label and its length (seconds), by which the jobs are ordered."""

    video: Path
    length_s: float


@dataclass
class ClusterReport:
    """What a cluster run did: per video the tries it took, and why each failed video failed; the seconds
    until every worker was ready (model loaded, bank built) and those spent labeling after that."""

    workers: int = 0
    attempts: dict[Path, int] = field(default_factory=dict)
    failed: dict[Path, str] = field(default_factory=dict)
    setup_s: float = 0.0
    seconds: float = 0.0

    @property
    def labeled(self) -> list[Path]:
        return [v for v in self.attempts if v not in self.failed]


def _absolute(name: Optional[str]) -> Optional[str]:
    """``name`` made absolute when it is a file here (a config, weights or checkpoint), else as it is
    (a shipped config name, an open_clip tag)."""
    return str(Path(name).resolve()) if name and Path(name).is_file() else name


@dataclass(frozen=True)
class WorkerSetup:
    """What every worker loads: the model choice, the feature cache, the examples and the labeling params;
    every path absolute, so that workers started in other folders (or on other nodes) find the files."""

    choice: ModelChoice
    cache_dir: Optional[Path]
    actions: list[ActionExamples]
    params: LabelingParams

    @classmethod
    def absolute(cls, choice: ModelChoice, cache_dir: Optional[Path], actions: Sequence[ActionExamples],
                 params: LabelingParams) -> WorkerSetup:
        acts = [dataclasses.replace(a, clips=[dataclasses.replace(c, path=str(Path(c.path).resolve())) for c in a.clips])
                for a in actions]
        files = dataclasses.replace(choice, model=_absolute(choice.model), pretrained=_absolute(choice.pretrained),
                                    checkpoint=_absolute(choice.checkpoint))
        return cls(files, cache_dir.resolve() if cache_dir else None, acts, params)


class LabelWorker:
    """A Ray actor's body: one model and one prototype bank, labeling one video per call."""

    def __init__(self) -> None:
        self._labeler: Optional[Callable[[str], LabelResult]] = None

    def setup(self, setup: WorkerSetup, threads: int) -> str:
        """Load the model on this worker's device (``threads`` torch threads on a CPU) and build the
        prototype bank; returns the line saying which model runs where."""
        torch.set_num_threads(max(1, threads))
        model, embedder, what = load_model(setup.choice, setup.cache_dir)
        bank = build_bank(model, embedder, setup.actions, trim_rest=setup.params.trim_rest)
        self._labeler = lambda video: label_video(model, embedder, bank, video, setup.params)
        return what

    def label(self, video: str) -> LabelResult:
        """Label one video (decoded and embedded here, through this worker's feature cache)."""
        if self._labeler is None:
            raise RuntimeError("the worker was not set up")
        return self._labeler(video)


def import_ray() -> ModuleType:
    """The ``ray`` module, or a :class:`ClusterError` that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ClusterError(RAY_MISSING) from exc
    return ray


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast with a :class:`ClusterError` when ``address`` ('HOST:PORT' or 'ray://HOST:PORT') does not
    answer: Ray itself would keep trying to reach it for minutes."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"--cluster {address!r} is not 'auto', HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ClusterError(f"no Ray head answers at {address} ({exc}); start one with 'ray start --head' "
                           f"or use --cluster auto") from None


def connect(ray: ModuleType, address: str) -> bool:
    """Join the cluster at ``address`` ('auto': the one this machine belongs to, from ``RAY_ADDRESS`` or
    ``ray start``, else a new local Ray); True when this call started the connection (and should end it)."""
    if ray.is_initialized():
        return False
    if address != "auto":
        check_reachable(address)
    ray.init(address=None if address == "auto" else address, include_dashboard=False,
             logging_level=logging.WARNING)
    return True


def _largest_node_cpus(ray: ModuleType) -> float:
    cpus = [n.get("Resources", {}).get("CPU", 0.0) for n in ray.nodes() if n.get("Alive")]
    return max(cpus, default=1.0)


def plan_workers(ray: ModuleType, device: str, n_videos: int, cpus_per_worker: int) -> tuple[int, dict[str, float]]:
    """How many workers to start and the resources each asks for: a GPU each where the cluster has GPUs
    (unless ``device`` is 'cpu'), else ``cpus_per_worker`` CPUs (at most one node's worth)."""
    total = ray.cluster_resources()
    gpus = int(total.get("GPU", 0)) if device != "cpu" else 0
    if device == "cuda" and gpus == 0:
        raise ClusterError("--device cuda was asked for but the cluster has no GPU; use --device auto or cpu")
    if gpus:
        return min(gpus, n_videos), {"num_gpus": 1, "num_cpus": 1}
    cpus = max(1, min(cpus_per_worker, int(_largest_node_cpus(ray))))
    return max(1, min(int(total.get("CPU", 1)) // cpus, n_videos)), {"num_cpus": cpus}


def _reason(exc: BaseException) -> str:
    """One line for a failed try: the user error's own text, else the exception's type and text."""
    cause = getattr(exc, "cause", None) or exc
    text = str(cause) if isinstance(cause, USER_ERRORS) else f"{type(cause).__name__}: {cause}"
    return text.strip().splitlines()[0] if text.strip() else type(cause).__name__


def start_workers(ray: ModuleType, setup: WorkerSetup, count: int, resources: dict[str, float]) -> list[Any]:
    """``count`` workers, each set up (model loaded, bank built); a setup error (a bad checkpoint, an
    unreadable example) is raised here as the worker raised it."""
    actor = ray.remote(LabelWorker).options(**resources)
    workers = [actor.remote() for _ in range(count)]
    threads = int(resources.get("num_cpus", 1))
    try:
        lines = ray.get([w.setup.remote(setup, threads) for w in workers])
    except ray.exceptions.RayError as exc:
        for worker in workers:
            ray.kill(worker)
        cause = getattr(exc, "cause", None)
        raise (cause if isinstance(cause, Exception) else exc) from None
    log.info("%d workers: %s", count, lines[0])
    return workers


class Scheduler:
    """Hands the jobs out longest first to free workers, retries each failed job once, and passes every
    result to ``on_result`` as it arrives."""

    def __init__(self, ray: ModuleType, workers: Sequence[Any], on_result: Callable[[Path, LabelResult], None]) -> None:
        self.ray, self.idle, self.on_result = ray, list(workers), on_result
        self.running: dict[Any, tuple[Any, Job]] = {}
        self.queue: list[tuple[float, int, Job]] = []
        self._order = itertools.count()
        self.report = ClusterReport(workers=len(workers))

    def _push(self, job: Job) -> None:
        heapq.heappush(self.queue, (-job.length_s, next(self._order), job))

    def _dispatch(self) -> None:
        while self.idle and self.queue:
            job = heapq.heappop(self.queue)[2]
            worker = self.idle.pop()
            self.report.attempts[job.video] = self.report.attempts.get(job.video, 0) + 1
            log.debug("sending %s (%.1f s, try %d) to a worker", job.video.name, job.length_s,
                      self.report.attempts[job.video])
            self.running[worker.label.remote(str(job.video.resolve()))] = (worker, job)

    def _failed(self, job: Job, reason: str) -> None:
        if self.report.attempts[job.video] < ATTEMPTS:
            log.warning("%s failed (%s); trying it once more", job.video.name, reason)
            self._push(job)
        else:
            self.report.failed[job.video] = reason

    def _collect(self, ref: Any) -> None:
        worker, job = self.running.pop(ref)
        try:
            result = self.ray.get(ref)
        except self.ray.exceptions.RayActorError as exc:  # the worker died (out of memory, node lost): drop it
            log.warning("a worker died while labeling %s: %s", job.video.name, _reason(exc))
            self._failed(job, _reason(exc))
            return
        except self.ray.exceptions.RayError as exc:  # the video failed (RayTaskError) or its result was lost
            self.idle.append(worker)
            self._failed(job, _reason(exc))
            return
        self.idle.append(worker)
        self.on_result(job.video, result)

    def run(self, jobs: Sequence[Job]) -> ClusterReport:
        started = time.perf_counter()
        for job in jobs:
            self._push(job)
        while self.queue or self.running:
            self._dispatch()
            if not self.running:  # jobs left, no worker left
                for _, _, job in self.queue:
                    self.report.failed[job.video] = "no worker left (every worker died)"
                    self.report.attempts.setdefault(job.video, 0)
                break
            ready, _ = self.ray.wait(list(self.running), num_returns=1)
            self._collect(ready[0])
        self.report.seconds = time.perf_counter() - started
        return self.report


def label_on_cluster(address: str, jobs: Sequence[Job], setup: WorkerSetup, on_result: Callable[[Path, LabelResult], None],
                     cpus_per_worker: int = 4) -> ClusterReport:
    """Label ``jobs`` on the Ray cluster at ``address``, ``on_result(video, result)`` for each video done
    (on this process, as they arrive); the failures are in the report, not raised."""
    ray = import_ray()
    started = connect(ray, address)
    try:
        count, resources = plan_workers(ray, setup.choice.device, len(jobs), cpus_per_worker)
        begun = time.perf_counter()
        workers = start_workers(ray, setup, count, resources)
        ready_s = time.perf_counter() - begun
        try:
            report = Scheduler(ray, workers, on_result).run(jobs)
        finally:
            for worker in workers:
                ray.kill(worker)
        report.setup_s = ready_s
        return report
    finally:
        if started:
            ray.shutdown()
