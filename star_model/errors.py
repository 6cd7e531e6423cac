"""The user-error family: what the command line prints as one ``error:`` line and the app shows as is.

Each message names the file or setting, says what is wrong and, where it can, how to fix it.
Torch-free: the app's job runner imports this module outside ``star_app/services/``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from star_model.schema import CancelFn


class VideoError(Exception):
    """Bad video input; the specific kinds are in :mod:`star_model.video.errors`. ``path`` is the file."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


class ConfigError(ValueError):
    """A model config that cannot be loaded; the message names the bad key or value."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and the problem."""


class ActionsFolderError(ValueError):
    """The actions folder cannot be used; the message says which folder and why."""


class DatasetError(ValueError):
    """A data set that cannot be read; the message names the file, the line and the problem."""


class LabelFileError(ValueError):
    """A label file (BORIS, ELAN, DeepEthogram, segment CSV) that cannot be imported; the message names
    the file, what is wrong and what the reader expects."""


class DescriptorError(RuntimeError):
    """The chat endpoint could not give descriptors; the message says why and what to check."""


USER_ERRORS = (VideoError, ActionsFolderError, ConfigError, CheckpointError, DescriptorError, ValueError, OSError)
"""Errors caused by the input: shown as their own text, never as a traceback."""


class Cancelled(Exception):
    """Raised inside engine work when its cancel callback returned True."""


def check_cancel(cancel: Optional[CancelFn]) -> None:
    """Raise :class:`Cancelled` if ``cancel`` says so."""
    if cancel is not None and cancel():
        raise Cancelled("cancelled by the user")
