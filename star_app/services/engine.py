"""The engine facade: the STAR model, prototypes and labeling, called from worker threads only.

Converts between the project's plain types and star_model's. The model is loaded once
per (device, model, weights) choice and kept; frame features go through the on-disk
feature cache, so re-labeling after an action edit only re-runs the cheap steps.
"""
from __future__ import annotations

import copy
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import torch

from star_app.project import Action, Annotation, ProjectSettings
from star_app.state.label_data import LabelData
from star_model.bundled import default_model_source
from star_model.device import select_device
from star_model.factory import create_model, list_models
from star_model.features import FeatureCache, FrameEmbedder
from star_model.jobs import check_cancel
from star_model.labeling import ActionExamples, ClipRef, LabelingParams, PrototypeBank, build_bank, label_video
from star_model.model import STAR
from star_model.train import TrainConfig, fine_tune

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
Cancel = Callable[[], bool]


def model_names() -> list[str]:
    """The shipped model configs."""
    return list_models()


def limit_threads() -> None:
    """Leave one core to the GUI thread: torch uses the others."""
    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))


def _examples(actions: list[Action]) -> list[ActionExamples]:
    return [ActionExamples(a.name, [ClipRef(c.path, c.start_s, c.end_s) for c in a.examples], list(a.descriptors) or None)
            for a in actions]


@dataclass(frozen=True)
class ModelChoice:
    device: str = "auto"
    model: str = "star-tiny"
    pretrained: Optional[str] = None
    checkpoint: Optional[str] = None

    @classmethod
    def of(cls, s: ProjectSettings) -> "ModelChoice":
        return cls(s.device, s.model, s.pretrained or None, s.checkpoint or None)


@dataclass
class LabelOutcome:
    """What labeling one video gives the GUI: per-frame data and segments."""

    video: str
    data: LabelData
    segments: list[Annotation]


class Engine:
    """Loads the model lazily and runs prototype building and labeling (thread-safe, one at a time)."""

    def __init__(self, cache_dir: Optional[Path] = None) -> None:
        self._cache_dir = cache_dir
        self._lock = threading.Lock()
        self._choice: Optional[ModelChoice] = None
        self._model: Optional[STAR] = None
        self._embedder: Optional[FrameEmbedder] = None
        self._bank: Optional[tuple[str, PrototypeBank]] = None

    def _load(self, choice: ModelChoice, progress: Progress) -> tuple[STAR, FrameEmbedder]:
        if self._choice != choice or self._model is None or self._embedder is None:
            what = choice.pretrained or (Path(choice.checkpoint).name if choice.checkpoint else choice.model)
            progress(0, 0, f"loading model {what} (pretrained weights may download)")
            limit_threads()
            device = select_device(choice.device)
            pretrained = choice.pretrained
            if pretrained is None and choice.checkpoint is None and choice.model == "star-tiny":
                pretrained = default_model_source()
            self._model = create_model(choice.model, device=device, pretrained=pretrained, checkpoint=choice.checkpoint)
            self._embedder = FrameEmbedder(self._model, FeatureCache(self._cache_dir))
            self._choice, self._bank = choice, None
            log.info("model %s on %s", self._model.cfg.name, device)
        return self._model, self._embedder

    def build(self, settings: ProjectSettings, actions: list[Action], signature: str, out: Optional[Path],
              progress: Progress, cancel: Cancel) -> list[str]:
        """Build the prototype bank of ``actions`` (kept in memory and written to ``out``); returns the names."""
        with self._lock:
            model, embedder = self._load(ModelChoice.of(settings), progress)
            bank = build_bank(model, embedder, _examples(actions), progress=progress, cancel=cancel,
                              trim_rest=settings.trim_rest)
            check_cancel(cancel)
            if out is not None:
                bank.save(out)
            self._bank = (signature, bank)
            return list(bank.names)

    def has_bank(self, signature: str, saved: Optional[Path]) -> bool:
        """Whether prototypes for ``signature`` are in memory (or loadable from ``saved``)."""
        if self._bank is not None and self._bank[0] == signature:
            return True
        if saved is not None and saved.is_file():
            try:
                self._bank = (signature, PrototypeBank.load(saved))
                return True
            except (OSError, KeyError, ValueError) as exc:
                log.warning("cannot read %s (%s); rebuilding prototypes", saved, exc)
        return False

    def label(self, settings: ProjectSettings, signature: str, video: str, progress: Progress,
              cancel: Cancel) -> LabelOutcome:
        """Label one video with the current prototypes (build them first with :meth:`build`)."""
        with self._lock:
            model, embedder = self._load(ModelChoice.of(settings), progress)
            if self._bank is None or self._bank[0] != signature:
                raise ValueError("the prototypes are out of date; build them again")
            params = LabelingParams(rate=settings.rate, window_s=settings.window_s, threshold=settings.threshold)
            r = label_video(model, embedder, self._bank[1], video, params, progress=progress, cancel=cancel)
        data = LabelData(list(r.names), r.frames, r.times, r.scores, list(r.labels), r.tsa_map)
        segments = [Annotation(s.label, s.start_s, s.end_s, s.start_frame, s.end_frame, s.confidence, s.source)
                    for s in r.segments]
        return LabelOutcome(video, data, segments)

    def fine_tune(self, settings: ProjectSettings, actions: list[Action], confirmed: dict[str, list[Annotation]],
                  out_dir: Path, progress: Progress, cancel: Cancel, steps: Optional[int] = None) -> tuple[Path, dict]:
        """Fine-tune a copy of the model on the examples plus confirmed segments (``{video: segments}``).

        The loaded model is untouched: keeping the result means choosing the returned checkpoint.
        """
        with self._lock:
            model, embedder = self._load(ModelChoice.of(settings), progress)
            names = {a.name for a in actions}
            extra = [ActionExamples(s.label, [ClipRef(video, s.start_s, s.end_s)]) for video, segs in confirmed.items()
                     for s in segs if s.source == "manual" and s.label in names]
            cfg = None
            if steps is not None:
                cfg = TrainConfig(steps=steps, way=min(5, len(actions)), shot=1, query=1, lr=5e-4,
                                  warmup_steps=max(1, steps // 10), val_every=max(1, steps // 4), patience=5)
            trainee = copy.deepcopy(model)
            return fine_tune(trainee, _examples(actions), extra, out_dir=out_dir, cfg=cfg, embedder=embedder,
                             progress=progress, cancel=cancel)
