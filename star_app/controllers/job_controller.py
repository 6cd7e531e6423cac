"""Engine work started from the GUI: build prototypes, label videos, descriptors, the demo, export.

Each job copies what it needs from the project and the settings before it starts (a
:class:`JobInput`; the worker never reads live GUI state, and nothing is written back from
it) and its result is applied on the GUI thread only when it succeeds, so a cancelled or
failed job leaves the project as it was.
"""
from __future__ import annotations

import copy
import logging
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from PySide6.QtCore import QObject, Signal

from star_app.services.demo import demo_dir, make_demo_project
from star_app.services.descriptors import generate_descriptors
from star_app.services.export import export_video
from star_app.services.jobs import JobRunner
from star_app.settings import SettingsStore, config_dir
from star_app.state.project_state import ProjectState
from star_model.schema import ActionExamples, LabelingParams, LabelResult, ModelChoice

if TYPE_CHECKING:
    from star_app.services.engine import Engine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobInput:
    """What an engine job reads, copied when it starts: the model, the labeling parameters, the
    actions, the prototypes' key, where saved prototypes are (when they match) and where to write them."""

    model: ModelChoice
    params: LabelingParams
    actions: list[ActionExamples]
    signature: str
    saved: Optional[Path]
    out: Optional[Path]


class JobController(QObject):
    """Starts jobs on the JobRunner and applies their results to the ProjectState."""

    labeled = Signal(str)  # video path
    demoReady = Signal()

    def __init__(self, state: ProjectState, runner: JobRunner, engine: Engine, settings: SettingsStore,
                 error: Callable[[str, str], None], status: Callable[[str], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner, self.engine, self.settings = state, runner, engine, settings
        self._error, self._status = error, status
        runner.failed.connect(lambda name, message: self._error(f"{name} failed", message))
        runner.cancelled.connect(lambda name: self._status(f"{name} cancelled"))

    def _start(self, name: str, fn, on_done, on_end=None) -> bool:
        if not self.runner.start(name, fn, on_done, on_end):
            self._status(f"Busy with {self.runner.name}; wait for it or cancel it")
            return False
        return True

    def job_input(self) -> JobInput:
        """The current project's and settings' copy for a build or labeling job."""
        project, settings = self.state.project, self.settings.settings
        model, params = settings.model_choice(), settings.labeling
        signature = project.actions_signature(model, params.trim_rest)
        saved = project.prototypes_path if project.bank_signature == signature else None
        return JobInput(model, params, copy.deepcopy([a.as_examples() for a in project.actions]), signature, saved,
                        project.prototypes_path)

    def _check_actions(self) -> bool:
        if not self.state.project.actions:
            self._error("Nothing to build", "Add at least one action: drop example clips on the Actions panel.")
            return False
        return True

    def build(self) -> bool:
        """Build prototypes from the actions' examples."""
        if not self._check_actions():
            return False
        job = self.job_input()

        def work(progress, cancel):
            return self.engine.build(job.model, job.params, job.actions, job.signature, job.out, progress, cancel)

        def done(names: list[str]) -> None:
            self.state.project.bank_signature = job.signature
            self.state.mark_dirty()
            self._status(f"Prototypes built for {len(names)} action(s)")
        return self._start("Building prototypes", work, done)

    def label(self, videos: list[str]) -> bool:
        """Label ``videos`` (building prototypes first when the actions changed)."""
        if not videos:
            self._error("Nothing to label", "Add a long video first: drop it on the Videos panel.")
            return False
        if not self._check_actions():
            return False
        job = self.job_input()

        def work(progress, cancel) -> list[LabelResult]:
            if not self.engine.has_bank(job.signature, job.saved):
                self.engine.build(job.model, job.params, job.actions, job.signature, job.out, progress, cancel)
            results = []
            for k, video in enumerate(videos):
                def step(done, total, message, k=k):
                    progress(done, total, f"video {k + 1}/{len(videos)}: {message}" if len(videos) > 1 else message)
                results.append(self.engine.label(job.model, job.params, job.signature, video, step, cancel))
            return results

        def done(results: list[LabelResult]) -> None:
            project = self.state.project
            project.bank_signature, project.model, project.labeling = job.signature, job.model, job.params
            for video, result in zip(videos, results):
                self.state.set_results(video, result)
                self.labeled.emit(video)
            n = sum(len(r.segments) for r in results)
            self._status(f"Labeled {len(results)} video(s): {n} segments")
        return self._start("Labeling", work, done)

    def generate_descriptors(self, action: str, apply: Callable[[str, list[str]], None]) -> bool:
        """Stage descriptors for ``action`` from the LLM endpoint (templates when none); ``apply(action, lines)``."""
        settings = self.settings.settings
        url, model, key = settings.llm_url, settings.llm_model, settings.llm_key

        def work(progress, _cancel):
            progress(0, 0, f"asking {url}" if url else "templates")
            return generate_descriptors(action, url, model, key)

        def done(result: tuple[list[str], str, str]) -> None:
            lines, source, problem = result
            apply(action, lines)
            if problem:  # the endpoint in Settings failed: say why, not only that templates were used
                self._error("No descriptors from the LLM endpoint",
                            f"{problem}\n\nThe template descriptors of {action} were used instead.")
            else:
                self._status(f"Descriptors of {action} from {source}")
        return self._start("Generating descriptors", work, done)

    def open_demo(self, out: Optional[Path] = None, label: bool = True) -> bool:
        """Render (or reuse) the demo material, open it as a project and label its video."""
        folder = Path(out) if out else demo_dir()

        def work(progress, _cancel):
            return make_demo_project(folder, progress)

        def done(project) -> None:
            self.state.replace(project)
            self.demoReady.emit()
            if label:
                self.label([v.path for v in project.videos])
        return self._start("Preparing the demo", work, done)

    def retrain(self, decide: Callable[[Path, dict], None], steps: Optional[int] = None) -> bool:
        """Fine-tune on the project's examples and confirmed segments; ``decide(checkpoint, metrics)`` after."""
        if not self._check_actions():
            return False
        model = self.settings.settings.model_choice()
        actions = copy.deepcopy([a.as_examples() for a in self.state.project.actions])
        confirmed = copy.deepcopy(self.state.project.annotations)
        folder = self.state.project.folder
        # a folder of its own per run: a later run never overwrites a checkpoint kept earlier
        out_dir = ((folder if folder else config_dir()) / "training"
                   / f"run-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}")

        def work(progress, cancel):
            return self.engine.fine_tune(model, actions, confirmed, out_dir, progress, cancel, steps)

        def done(result: tuple[Path, dict]) -> None:
            decide(*result)

        def end(outcome: str) -> None:
            if outcome != "ok":  # cancelled or failed: nothing of the run is worth keeping
                shutil.rmtree(out_dir, ignore_errors=True)
        return self._start("Retraining", work, done, end)

    def keep_checkpoint(self, path: Path) -> None:
        """Use a fine-tuned checkpoint from now on (prototypes are rebuilt with it on the next labeling)."""
        self.settings.update(model_source="checkpoint", checkpoint=str(path))
        self._status(f"Using the fine-tuned model {path}")

    def discard_checkpoint(self, path: Path) -> None:
        """Delete a fine-tuned run the user did not keep (its folder, unless the settings use it)."""
        run = Path(path).parent
        if run.name.startswith("run-") and run.parent.name == "training" and \
                Path(self.settings.settings.checkpoint or "").parent != run:
            shutil.rmtree(run, ignore_errors=True)
        self._status("Fine-tuned model discarded")

    def export(self, folder: Path, videos: list[str]) -> list[Path]:
        """Write the segment and per-frame CSVs of ``videos`` into ``folder``."""
        written: list[Path] = []
        try:
            for video in videos:
                written += export_video(video, self.state.segments(video), self.state.results.get(video), folder)
        except (OSError, ValueError) as exc:
            self._error("Export failed", str(exc))
            return written
        self._status(f"Exported {len(written)} file(s) to {folder}")
        return written
