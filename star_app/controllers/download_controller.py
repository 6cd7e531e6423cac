"""Pretrained weights before the settings take a tag: download them (with a progress dialog) if not cached."""
from __future__ import annotations

import logging
from typing import Callable, Optional

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from star_app.services.download import DownloadError, cached_weights, download_weights, resolve_pretrained
from star_app.services.jobs import JobRunner
from star_app.views.download_dialog import DownloadDialog

log = logging.getLogger(__name__)


class DownloadController(QObject):
    """Runs weight downloads on its own JobRunner, so a download may run beside a labeling job.

    ``endpoint`` and ``cache_dir`` default to huggingface_hub's (``HF_ENDPOINT``, the hub cache
    open_clip reads); tests point ``endpoint`` at a local server.
    """

    def __init__(self, window: QWidget, error: Callable[[str, str], None], status: Callable[[str], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._window, self._error, self._status = window, error, status
        self.runner = JobRunner(self)
        self.endpoint: Optional[str] = None
        self.cache_dir: Optional[str] = None
        self.dialog: Optional[DownloadDialog] = None
        self.runner.failed.connect(lambda _name, message: self._error("Cannot download the pretrained weights",
                                                                      message))
        self.runner.cancelled.connect(lambda _name: self._status("Download cancelled; the pretrained tag was not "
                                                                 "applied"))

    def ensure(self, model: str, tag: str, ready: Callable[[], None]) -> bool:
        """Call ``ready()`` once the weights of ``tag`` for ``model`` are cached: now, or after a download.

        False (and ``ready`` never called) when the tag cannot be used or a download is already running.
        """
        try:
            ref = resolve_pretrained(model, tag)
        except DownloadError as exc:
            self._error("Cannot use the pretrained tag", str(exc))
            return False
        if ref is None or cached_weights(ref, self.cache_dir):
            ready()
            return True
        if self.runner.busy:
            self._status("A download is already running; wait for it or cancel it")
            return False
        endpoint, cache_dir = self.endpoint, self.cache_dir

        def work(progress, cancel) -> str:
            return download_weights(ref, progress, cancel, endpoint=endpoint, cache_dir=cache_dir)

        def done(path: str) -> None:
            log.info("weights of %s/%s at %s", ref.arch, ref.tag, path)
            ready()

        self.dialog = DownloadDialog(self.runner, f"Downloading {ref.arch} weights ({ref.tag})", self._window)
        self.runner.start(f"Downloading {ref.tag} weights", work, done)
        self.dialog.open()
        return True

    def shutdown(self) -> None:
        self.runner.shutdown(timeout_s=3.0)
