"""The engine facade: the STAR model, prototypes and labeling, called from worker threads only.

Importing this module loads torch: the entry point (``star_app.app.run_gui``) makes the one
Engine before the window shows, so torch loads on the GUI thread at start-up, never in a worker
mid-job. The model is loaded once per :class:`~star_model.schema.ModelChoice` and kept; frame
features go through the on-disk feature cache, so re-labeling after an action edit only re-runs
the cheap steps.
"""
from __future__ import annotations

import copy
import gc
import logging
import os
import threading
from pathlib import Path
from typing import Optional, Sequence

import torch

from safetensors import SafetensorError

from star_model.engine.bank import PrototypeBank, build_bank, saved_signature
from star_model.engine.features import FrameEmbedder
from star_model.engine.segmentation import label_video
from star_model.engine.session import load_model
from star_model.errors import check_cancel
from star_model.nn.backbone import shared_tokenizer
from star_model.nn.model import STAR
from star_model.schema import (SOURCE_MANUAL, ActionExamples, CancelFn, ClipRef, LabelingParams, LabelResult,
                               ModelChoice, ProgressFn, Segment)
from star_model.train.finetune import fine_tune
from star_model.train.recipes import fine_tune_config

log = logging.getLogger(__name__)


def limit_threads() -> None:
    """Leave one core to the GUI thread: torch uses the others."""
    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))


class Engine:
    """Loads the model lazily and runs prototype building and labeling (thread-safe, one at a time)."""

    def __init__(self, cache_dir: Optional[Path] = None) -> None:
        self._cache_dir = cache_dir
        self._lock = threading.Lock()
        self._choice: Optional[ModelChoice] = None
        self._model: Optional[STAR] = None
        self._embedder: Optional[FrameEmbedder] = None
        self._bank: Optional[tuple[str, PrototypeBank]] = None
        # Made on the GUI thread before the window shows: the text tokenizer is built here (80 ms, once per
        # process), not in the first job, where its 25 ms GIL-holding stretch froze the playing video.
        shared_tokenizer()

    def _load(self, choice: ModelChoice, progress: ProgressFn) -> tuple[STAR, FrameEmbedder]:
        if self._choice != choice or self._model is None or self._embedder is None:
            what = (f"the checkpoint {Path(choice.checkpoint).name}" if choice.checkpoint else
                    f"{choice.model} with the {Path(choice.pretrained).name} weights" if choice.pretrained else
                    "the bundled model")
            progress(0, 0, f"loading {what}")
            limit_threads()
            self._model, self._embedder, _ = load_model(choice, self._cache_dir)
            # The model's, the tokenizer's and the libraries' objects join the permanent generation: a full
            # pass of the collector holds the GIL, and so the GUI thread, for 0.3 s over all of them.
            gc.freeze()
            self._choice = choice  # a bank of another model has another signature: it is never used with this one
        return self._model, self._embedder

    def build(self, choice: ModelChoice, params: LabelingParams, actions: list[ActionExamples], signature: str,
              out: Optional[Path], progress: ProgressFn, cancel: CancelFn) -> list[str]:
        """Build the prototype bank of ``actions`` (kept in memory and written to ``out`` with its ``signature``,
        which names the model, the device and what the bank is built from); returns the names."""
        with self._lock:
            model, embedder = self._load(choice, progress)
            bank = build_bank(model, embedder, actions, progress=progress, cancel=cancel, trim_rest=params.trim_rest)
            check_cancel(cancel)
            if out is not None:
                bank.save(out, signature)
            self._bank = (signature, bank)
            return list(bank.names)

    def has_bank(self, signature: str, saved: Optional[Path]) -> bool:
        """Whether prototypes for ``signature`` are in memory (or loadable from ``saved``, when that file was
        built for ``signature``: its own metadata says so; prototypes of other actions are never used)."""
        if self._bank is not None and self._bank[0] == signature:
            return True
        if saved is not None and saved.is_file():
            try:
                if saved_signature(saved) != signature:
                    log.info("%s was built from other actions, examples or model; rebuilding prototypes", saved)
                    return False
                self._bank = (signature, PrototypeBank.load(saved))
                return True
            except (OSError, KeyError, TypeError, ValueError, SafetensorError) as exc:
                log.warning("cannot read %s (%s); rebuilding prototypes", saved, exc)
        return False

    def label(self, choice: ModelChoice, params: LabelingParams, signature: str, video: str, progress: ProgressFn,
              cancel: CancelFn, fixed: Sequence[Segment] = ()) -> LabelResult:
        """Label one video with the current prototypes (build them first with :meth:`build`) around its
        ``fixed`` segments (a person's corrections, kept verbatim)."""
        with self._lock:
            model, embedder = self._load(choice, progress)
            if self._bank is None or self._bank[0] != signature:
                raise ValueError("the prototypes are out of date; build them again")
            return label_video(model, embedder, self._bank[1], video, params, progress=progress, cancel=cancel,
                               fixed=fixed)

    def fine_tune(self, choice: ModelChoice, actions: list[ActionExamples], confirmed: dict[str, list[Segment]],
                  out_dir: Path, progress: ProgressFn, cancel: CancelFn, steps: Optional[int] = None) -> tuple[Path, dict]:
        """Fine-tune a copy of the model on the examples plus confirmed segments (``{video: segments}``),
        with the fine-tune recipe (``steps`` of it, when given).

        The loaded model is untouched: keeping the result means choosing the returned checkpoint.
        """
        with self._lock:
            model, embedder = self._load(choice, progress)
            actions = [a for a in actions if a.clips]  # text-only actions have nothing to train on
            names = {a.name for a in actions}
            extra = [ActionExamples(s.label, [ClipRef(video, s.start_s, s.end_s)]) for video, segs in confirmed.items()
                     for s in segs if s.source == SOURCE_MANUAL and s.label in names]
            cfg = fine_tune_config(steps) if steps is not None else None
            trainee = copy.deepcopy(model)
            return fine_tune(trainee, actions, extra, out_dir=out_dir, cfg=cfg, embedder=embedder,
                             progress=progress, cancel=cancel)
