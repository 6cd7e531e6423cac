"""A small progress bar on stderr for the command line."""
from __future__ import annotations

import sys
import time
from typing import Optional, TextIO


class ProgressBar:
    """``bar(done, total, message)``; on a terminal it redraws at most every 0.1 s (``close()``, or the end
    of a ``with`` block, ends the line), elsewhere (logs, CI) it prints a line at each quarter."""

    def __init__(self, title: str, stream: Optional[TextIO] = None, width: int = 28) -> None:
        self.title = title
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self._last = 0.0
        self._drawn = False
        self._quarter = 0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        frac = min(1.0, done / total) if total else 1.0
        if not self.stream.isatty():
            quarter = int(frac * 4)
            if quarter > self._quarter:
                self._quarter = quarter
                self.stream.write(f"{self.title}: {frac * 100:.0f}% ({done}/{total})\n")
                self.stream.flush()
            return
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        fill = int(frac * self.width)
        line = f"\r{self.title} [{'#' * fill}{'.' * (self.width - fill)}] {frac * 100:5.1f}% {done}/{total} {message[:40]}"
        self.stream.write(line.ljust(100))
        self.stream.flush()
        self._drawn = True

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
