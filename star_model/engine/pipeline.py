"""Decoding and embedding sharing the CPU: a bounded frame buffer and the thread policy around it.

A background thread decodes into a :class:`FramePipe`; the calling thread takes batches out of it
and embeds them. On a small CPU the two would fight: torch's intra-op threads occupy every core,
the decoder preempts one of them, and every parallel region then waits for the preempted thread.
So decoding runs in bursts (the pipe fills to ``capacity``, then the decoder pauses until the
consumer has drained it to ``low``; a deep buffer makes the bursts long and rare), and
:class:`ThreadShare` gives the embedding all cores while the decoder is paused and one core fewer
while it runs a burst that is not short beside a batch. What is decoded and embedded, in which batches and order, does not depend on it.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Callable, Iterator

import torch

END = object()
"""Put by the producer after its last frame."""


class FramePipe:
    """A bounded FIFO from one producer thread to one consumer, filled in bursts: once full, the producer
    waits until the consumer has drained it to ``low`` items."""

    def __init__(self, capacity: int, low: int) -> None:
        self.capacity = max(1, capacity)
        self.low = min(max(0, low), self.capacity - 1)
        self._items: deque = deque()
        self._cond = threading.Condition()
        self._paused = False
        self._finished = False
        self._closed = False
        self._made = 0
        self._busy_s = 0.0

    @property
    def decoding(self) -> bool:
        """Whether the producer is running now (neither paused on a full pipe nor finished)."""
        with self._cond:
            return not (self._paused or self._finished or self._closed)

    @property
    def burst_s(self) -> float | None:
        """Seconds the producer needs to fill the pipe from now, at its measured rate (None before it has one)."""
        with self._cond:
            if self._made < 4 or self._busy_s <= 0:
                return None
            return (self.capacity - len(self._items)) * self._busy_s / self._made

    def put(self, item: Any, busy_s: float = 0.0) -> bool:
        """Append ``item`` (``busy_s``: the time spent making it); waits while paused. False once closed."""
        with self._cond:
            while self._paused and not self._closed:
                self._cond.wait(0.1)
            if self._closed:
                return False
            self._items.append(item)
            if item is END or isinstance(item, BaseException):
                self._finished = True
            else:
                self._made, self._busy_s = self._made + 1, self._busy_s + busy_s
            if len(self._items) >= self.capacity:
                self._paused = True
            self._cond.notify_all()
            return True

    def take(self, n: int, timeout: float) -> list[Any]:
        """Up to ``n`` items, waiting up to ``timeout`` s for ``n`` (fewer at the end, none on a timeout).
        The list stops after ``END`` or an exception, which are items too."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._items) < n and not (self._finished or self._paused):
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                self._cond.wait(left)
            out = []
            while self._items and len(out) < n:
                out.append(self._items.popleft())
            if self._paused and len(self._items) <= self.low:
                self._paused = False
                self._cond.notify_all()
            return out

    def close(self) -> None:
        """The consumer is gone: wake and stop the producer."""
        with self._cond:
            self._closed = True
            self._items.clear()
            self._cond.notify_all()


def produce(frames: Iterator[Any], pipe: FramePipe) -> None:
    """The producer thread's body: every frame, then ``END``; an exception is handed over as an item."""
    try:
        start = time.perf_counter()
        for frame in frames:
            if not pipe.put(frame, time.perf_counter() - start):
                return
            start = time.perf_counter()
        pipe.put(END)
    except BaseException as exc:  # delivered to the consumer, which re-raises it
        pipe.put(exc)


class ThreadShare:
    """torch's intra-op thread count per batch: all of them, except one fewer while the decoder runs a
    burst that is not short beside the batch (a quarter of its time or more; a short burst costs less
    than a batch on fewer threads). The first batch runs on all threads and measures them. Batches keep their size whatever the count (a different partition
    into batches could change the features in the last bits; on this CPU the thread count does not at
    32 frames). Restores the count it found on ``restore``."""

    def __init__(self) -> None:
        self.threads = torch.get_num_threads()
        self.batch_s: float | None = None  # the last batch's time on all threads

    def threads_for(self, pipe: FramePipe) -> int:
        """Threads for the next batch."""
        if self.threads <= 1 or not pipe.decoding:
            return self.threads
        if self.batch_s is None:  # the first batch runs on all threads, and measures them
            return self.threads
        burst_s = pipe.burst_s
        return self.threads if burst_s is not None and burst_s < 0.25 * self.batch_s else self.threads - 1

    def run(self, threads: int, fn: Callable[[], Any]) -> Any:
        """``fn()`` on ``threads`` intra-op threads."""
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        start = time.perf_counter()
        out = fn()
        if threads == self.threads:
            self.batch_s = time.perf_counter() - start
        return out

    def restore(self) -> None:
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)


def buffer_frames(batch_size: int, image_size: int, budget_mb: float) -> int:
    """Frames the buffer holds: ``budget_mb`` of (16:9) frames of short side ``image_size``, at least
    three batches. A deep buffer makes the decoder's bursts long and rare, so the embedding runs on
    every core most of the time."""
    frame_bytes = image_size * round(image_size * 16 / 9) * 3
    return max(3 * batch_size, int(budget_mb * 2**20 // frame_bytes))
