"""FFmpeg's own log lines never reach the terminal raw: ours are the only lines on stderr.

PyAV's FFmpeg logs through PyAV's callback into Python logging (loggers ``libav.*``) when asked
(``verbose``: warnings and worse, shown with ``--verbose``); otherwise PyAV drops them, its default.
Enabling the callback always would cost a Python call per FFmpeg message from the decoding thread,
which PyAV warns can misbehave with threads, and our own errors already say what is wrong.
OpenCV's bundled FFmpeg and OpenCV's own logger have no hook into Python: they are kept silent (our
errors say what failed) unless the user set ``OPENCV_FFMPEG_LOGLEVEL`` /
``OPENCV_LOG_LEVEL`` themselves. OpenCV reads these when its FFmpeg backend first opens a file, so
:func:`quiet_ffmpeg` runs before the first ``cv2.VideoCapture``.
"""
from __future__ import annotations

import os
import sys


_AV_QUIET = "-8"
"""FFmpeg's AV_LOG_QUIET."""


def quiet_ffmpeg() -> None:
    """Keep OpenCV's FFmpeg and OpenCV's logger off stderr (unless the user chose their levels)."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", _AV_QUIET)
    if "OPENCV_LOG_LEVEL" not in os.environ:
        os.environ["OPENCV_LOG_LEVEL"] = "SILENT"
        cv2 = sys.modules.get("cv2")
        if cv2 is not None:  # imported already: its logger read the variable at import
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


def route_ffmpeg_logs(verbose: bool) -> None:
    """Call once at start-up: PyAV's FFmpeg messages go to Python logging when ``verbose`` (else are
    dropped), and OpenCV's are kept quiet (:func:`quiet_ffmpeg`)."""
    quiet_ffmpeg()
    try:
        import av.logging
    except ImportError:  # pragma: no cover - OpenCV alone decodes without PyAV
        return
    av.logging.set_level(av.logging.WARNING if verbose else None)
