"""open_clip pretrained weights from the model hub: what a tag needs, whether it is cached, the download.

open_clip resolves a pretrained tag to a Hugging Face hub file (``hf_hub`` in its pretrained
config) and fetches it with ``hf_hub_download`` into the hub cache, trying the safetensors
variant first. :func:`download_weights` does the same, in the same order and into the same
cache, so that ``create_model(arch, pretrained=tag)`` later finds the file without the network.
It runs in a worker (``fn(progress, cancel)`` of :mod:`star_app.services.jobs`): progress is
reported in KiB (Qt signals carry 32-bit ints; weights files can exceed 2 GiB) with the MB
figures in the message, and cancel is honoured within one poll interval even while the
connection stalls. open_clip (which loads torch) is imported on first use, not with this module.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from huggingface_hub import constants as hf_constants
from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url, try_to_load_from_cache
from huggingface_hub.errors import EntryNotFoundError

from star_model.errors import Cancelled
from star_model.nn.config import load_config
from star_model.schema import CancelFn, ProgressFn

log = logging.getLogger(__name__)


POLL_S = 0.05
# huggingface_hub hands the progress bar (and the file) 10 MiB at a time; 1 MiB steps give a
# progress dialog that moves on a slow line and a cancel that stops the transfer sooner.
CHUNK_BYTES = 1 << 20
UNREACHABLE_HINT = "check the network, or choose a local checkpoint file in Settings"


class DownloadError(OSError):
    """A pretrained tag cannot be used or its weights cannot be downloaded; the text says why."""


@dataclass(frozen=True)
class HubWeights:
    """The hub file(s) an open_clip pretrained tag loads, in the order open_clip tries them."""

    arch: str
    tag: str
    repo_id: str
    filenames: tuple[str, ...]


def _safe_alternatives(filename: str) -> list[str]:
    """As open_clip's ``_get_safe_alternatives``: a safetensors file it tries before ``filename``."""
    from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

    if filename == HF_WEIGHTS_NAME:
        return [HF_SAFE_WEIGHTS_NAME]
    if filename.endswith((".bin", ".pth")):
        return [filename[:-4] + ".safetensors"]
    return []


def resolve_pretrained(model: str, tag: str) -> Optional[HubWeights]:
    """The hub weights of ``tag`` for the STAR config ``model``; None when nothing needs downloading.

    Nothing needs downloading for a local file given as the tag. Raises DownloadError when the
    config has no open_clip architecture or open_clip does not know the tag for it.
    """
    from open_clip.constants import HF_WEIGHTS_NAME
    from open_clip.pretrained import get_pretrained_cfg, list_pretrained_tags_by_model

    tag = tag.strip()
    if not tag or Path(tag).expanduser().is_file():
        return None
    try:
        arch = load_config(model).backbone.arch
    except Exception as exc:  # an unknown or broken config: say so rather than crash the settings
        raise DownloadError(f"cannot read the model config {model!r}: {exc}") from exc
    if arch is None:
        raise DownloadError(f"the model {model} has its own small CLIP backbone, which has no open_clip pretrained "
                            "tags; choose a ViT or ResNet model (e.g. star-vitb16) or a local checkpoint file")
    cfg = get_pretrained_cfg(arch, tag)
    if not cfg:
        known = ", ".join(list_pretrained_tags_by_model(arch)) or "none"
        raise DownloadError(f"open_clip has no pretrained tag {tag!r} for {arch} (known tags: {known})")
    if "file" in cfg:
        return None
    hub = cfg.get("hf_hub", "")
    if not hub:
        raise DownloadError(f"the tag {tag!r} of {arch} is not on the model hub; choose a local checkpoint file")
    repo_id, filename = os.path.split(hub)  # open_clip's convention: 'org/name/' or 'org/name/file'
    filename = filename or HF_WEIGHTS_NAME
    return HubWeights(arch, tag, repo_id, tuple(_safe_alternatives(filename)) + (filename,))


def cached_weights(ref: HubWeights, cache_dir: Optional[str] = None) -> Optional[str]:
    """The cached weights file of ``ref`` (first in open_clip's order), or None; never uses the network."""
    for filename in ref.filenames:
        found = try_to_load_from_cache(ref.repo_id, filename, cache_dir=cache_dir)
        if isinstance(found, str) and os.path.isfile(found):
            return found
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def unreachable(endpoint: str, exc: BaseException) -> DownloadError:
    """The message for a hub that cannot be reached or refuses the request."""
    return DownloadError(f"cannot reach the model hub ({endpoint}: {_first_line(exc)}); {UNREACHABLE_HINT}")


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class _Transfer:
    """What the download thread tells the poller; ``stop`` makes its progress hook end the transfer."""

    def __init__(self) -> None:
        self.filename = ""
        self.total = 0
        self.done = 0
        self.stop = False
        self.path: Optional[str] = None
        self.error: Optional[BaseException] = None


class _Stopped(Exception):
    """Raised in the download thread to end a cancelled transfer (huggingface_hub deletes its partial file)."""


def _hook_class(transfer: _Transfer) -> type:
    """A tqdm stand-in for ``hf_hub_download(tqdm_class=...)`` that counts bytes and obeys ``transfer.stop``."""

    class _Hook:
        def __init__(self, *_args: Any, initial: int = 0, **_kwargs: Any) -> None:
            transfer.done = int(initial or 0)

        def __enter__(self) -> "_Hook":
            return self

        def __exit__(self, *_exc: Any) -> None:
            return None

        def update(self, n: int = 1) -> None:
            if transfer.stop:
                raise _Stopped("cancelled by the user")
            transfer.done += int(n or 0)

        def close(self) -> None:
            return None

    return _Hook


def _find_file(ref: HubWeights, endpoint: Optional[str], where: str, timeout_s: float) -> tuple[str, int]:
    """The first of ``ref.filenames`` the hub has (open_clip's order) and its size (0 when not given)."""
    for filename in ref.filenames:
        url = hf_hub_url(ref.repo_id, filename, endpoint=endpoint)
        try:
            meta = get_hf_file_metadata(url, timeout=timeout_s, endpoint=endpoint)
        except EntryNotFoundError:
            continue  # e.g. no safetensors variant: try the next file, as open_clip does
        except Exception as exc:  # the hub client's transport errors differ between its versions
            raise unreachable(where, exc) from exc
        return filename, int(meta.size or 0)
    raise DownloadError(f"the model hub has none of {', '.join(ref.filenames)} in {ref.repo_id}")


def download_weights(ref: HubWeights, progress: ProgressFn, cancel: CancelFn, endpoint: Optional[str] = None,
                     cache_dir: Optional[str] = None, etag_timeout_s: float = 10.0) -> str:
    """Download ``ref`` into the hub cache (open_clip's); returns the cached file.

    The network work runs on a daemon thread that this function polls, so that ``cancel()``
    is answered within POLL_S even while a request hangs: it raises Cancelled, and the thread
    stops at its next chunk (huggingface_hub then removes its partial file). Failures raise
    DownloadError with a readable message.
    """
    where = (endpoint or hf_constants.ENDPOINT).rstrip("/")
    transfer = _Transfer()
    hook = _hook_class(transfer)
    hf_constants.DOWNLOAD_CHUNK_SIZE = min(hf_constants.DOWNLOAD_CHUNK_SIZE, CHUNK_BYTES)

    def fetch() -> None:
        try:
            transfer.filename, transfer.total = _find_file(ref, endpoint, where, etag_timeout_s)
            if transfer.stop:
                return
            transfer.path = hf_hub_download(ref.repo_id, transfer.filename, cache_dir=cache_dir, endpoint=endpoint,
                                            etag_timeout=etag_timeout_s, tqdm_class=hook,
                                            library_name="open_clip")
        except BaseException as exc:  # handed to the poller, which turns it into a message
            transfer.error = exc

    thread = threading.Thread(target=fetch, name=f"download {ref.repo_id}", daemon=True)
    thread.start()
    while thread.is_alive():
        if cancel():
            transfer.stop = True  # the thread ends at its next chunk; nobody waits for a stalled one
            raise Cancelled("cancelled by the user")
        done, total = transfer.done, transfer.total
        if not transfer.filename:
            progress(0, 0, f"asking {where} for {ref.repo_id}")
        else:
            name = f"{transfer.filename} ({ref.repo_id})"
            text = f"{name}: {mb(done)} of {mb(total)}" if total else f"{name}: {mb(done)}"
            progress(done // 1024, total // 1024, text)
        thread.join(POLL_S)
    if transfer.error is not None:
        exc = transfer.error
        if isinstance(exc, _Stopped):
            raise Cancelled("cancelled by the user")
        if isinstance(exc, DownloadError):
            raise exc
        raise unreachable(where, exc) from exc
    name = f"{transfer.filename} ({ref.repo_id})"
    if transfer.path is None:
        raise DownloadError(f"the download of {name} ended without a file")
    size = os.path.getsize(transfer.path)
    progress(size // 1024, max(transfer.total, size) // 1024, f"{name}: {mb(size)} downloaded")
    log.info("downloaded %s to %s", name, transfer.path)
    return transfer.path
