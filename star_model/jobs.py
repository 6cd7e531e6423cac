"""Progress reporting and cancellation shared by long-running engine work."""
from __future__ import annotations

from typing import Callable, Optional

ProgressFn = Callable[[int, int, str], None]
"""progress(done, total, message); total may be an estimate."""

CancelFn = Callable[[], bool]
"""cancel() returns True once the caller wants the work stopped."""


class Cancelled(Exception):
    """Raised inside engine work when its cancel callback returned True."""


def check_cancel(cancel: Optional[CancelFn]) -> None:
    """Raise :class:`Cancelled` if ``cancel`` says so."""
    if cancel is not None and cancel():
        raise Cancelled("cancelled by the user")


def report(progress: Optional[ProgressFn], done: int, total: int, message: str = "") -> None:
    """Call ``progress`` if there is one."""
    if progress is not None:
        progress(done, total, message)
