"""Background jobs: one worker thread at a time, with progress, cancel and readable errors.

A job is a plain function ``fn(progress, cancel) -> result`` run on a QThread. It must
never touch widgets; it reports ``progress(done, total, message)`` (throttled here) and
polls ``cancel()``. Outcomes reach the GUI thread as signals and the job's callbacks.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, QThread, Signal

from star_app.project import ProjectError
from star_model.errors import USER_ERRORS, Cancelled
from star_model.schema import CancelFn, ProgressFn

log = logging.getLogger(__name__)

JobFn = Callable[[ProgressFn, CancelFn], Any]
_PROGRESS_INTERVAL_S = 0.05
# A worker running Python (loading a model, the tokenizer, the optimizer) hands the GIL back only when the
# interpreter's switch interval (5 ms) has passed each time the GUI thread asks for it, and one painted frame
# asks many times (pyqtgraph's items are Python): a frame cost 90-140 ms during a retrain. 1 ms while a job runs.
_JOB_SWITCH_INTERVAL_S = 0.001


def readable_error(exc: BaseException) -> str:
    """A message for the user: an input error's own text, anything else prefixed by its kind."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    return text if isinstance(exc, USER_ERRORS + (ProjectError,)) else f"{type(exc).__name__}: {text}"


class _Worker(QThread):
    progressed = Signal(int, int, str)

    def __init__(self, fn: JobFn, cancel_event: threading.Event) -> None:
        super().__init__()
        self._fn = fn
        self._cancel = cancel_event
        self._last = 0.0
        self.outcome = "ok"
        self.result: Any = None
        self.error = ""

    def _progress(self, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        if now - self._last >= _PROGRESS_INTERVAL_S or done >= total:
            self._last = now
            self.progressed.emit(int(done), int(total), str(message))

    def run(self) -> None:
        try:
            self.result = self._fn(self._progress, self._cancel.is_set)
        except Cancelled:
            self.outcome = "cancelled"
        except Exception as exc:  # every failure becomes a message; the app carries on
            if self._cancel.is_set():
                self.outcome = "cancelled"
                return
            log.exception("job failed")
            self.outcome, self.error = "failed", readable_error(exc)


class JobRunner(QObject):
    """Runs one job at a time and tells the GUI how it goes."""

    started = Signal(str)
    progress = Signal(int, int, str)
    finished = Signal(str)
    failed = Signal(str, str)  # job name, message
    cancelled = Signal(str)
    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker: Optional[_Worker] = None
        self._cancel = threading.Event()
        self._name = ""
        self._on_done: Optional[Callable[[Any], None]] = None
        self._on_end: Optional[Callable[[str], None]] = None
        self._switch_interval = sys.getswitchinterval()

    @property
    def busy(self) -> bool:
        return self._worker is not None

    @property
    def name(self) -> str:
        return self._name

    def start(self, name: str, fn: JobFn, on_done: Optional[Callable[[Any], None]] = None,
              on_end: Optional[Callable[[str], None]] = None) -> bool:
        """Start ``fn``; False (and nothing started) while another job runs.

        ``on_done(result)`` runs in the GUI thread on success; ``on_end(outcome)`` after any outcome.
        """
        if self._worker is not None:
            return False
        self._name, self._on_done, self._on_end = name, on_done, on_end
        self._cancel = threading.Event()
        worker = _Worker(fn, self._cancel)
        worker.progressed.connect(self.progress)
        worker.finished.connect(self._finished)
        self._worker = worker
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, _JOB_SWITCH_INTERVAL_S))
        self.started.emit(name)
        self.busyChanged.emit(True)
        worker.start(QThread.Priority.LowPriority)
        return True

    def cancel(self) -> None:
        if self._worker is not None:
            self._cancel.set()

    def _finished(self) -> None:
        worker, self._worker = self._worker, None
        if worker is None:
            return
        sys.setswitchinterval(self._switch_interval)
        name, on_done, on_end = self._name, self._on_done, self._on_end
        self._on_done = self._on_end = None
        worker.deleteLater()
        self.busyChanged.emit(False)
        if worker.outcome == "ok":
            if on_done is not None:
                try:
                    on_done(worker.result)
                except Exception as exc:  # a failing result handler is a failed job, not a crash
                    log.exception("handling the result of %s failed", name)
                    worker.outcome, worker.error = "failed", readable_error(exc)
        if on_end is not None:
            on_end(worker.outcome)
        if worker.outcome == "ok":
            self.finished.emit(name)
        elif worker.outcome == "cancelled":
            self.cancelled.emit(name)
        else:
            self.failed.emit(name, worker.error)

    def wait(self, timeout_s: float) -> bool:
        """Block until the running job ends (True) or ``timeout_s`` passes (False)."""
        worker = self._worker
        return worker is None or worker.wait(int(timeout_s * 1000))

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Cancel the running job and wait for its thread (used when the window closes)."""
        worker = self._worker
        if worker is None:
            return
        self._cancel.set()
        if not worker.wait(int(timeout_s * 1000)):
            log.error("job %s did not stop within %.0f s", self._name, timeout_s)
            return
        self._finished()
