"""Engine work started from the GUI: build prototypes, label videos, descriptors, the demo, export.

Each job copies what it needs from the project and the settings before it starts (a
:class:`JobInput`; the worker never reads live GUI state, and nothing is written back from
it) and its result is applied on the GUI thread only when it succeeds, so a cancelled or
failed job leaves the project as it was.

Labeling keeps a person's corrections: the manual segments of a video go to the engine as fixed
segments (the model labels only the rest), and a result that would change what the user touched
asks first (labeling from scratch; a video edited while it was being labeled).
"""
from __future__ import annotations

import copy
import logging
import shutil
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from PySide6.QtCore import QObject, Signal

from star_app.services.demo import demo_dir, make_demo_project
from star_app.services.descriptors import generate_descriptors
from star_app.services.export import export_video
from star_app.provenance import bank_actions, prototype_key, stamp
from star_app.services.jobs import JobRunner
from star_app.services.settings_info import bundled_present
from star_app.settings import SettingsStore, config_dir
from star_app.state.project_state import ProjectState
from star_model.schema import SOURCE_MANUAL, ActionExamples, LabelingParams, LabelResult, ModelChoice, Segment

if TYPE_CHECKING:
    from star_app.services.engine import Engine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobInput:
    """What an engine job reads, copied when it starts: the model, the labeling parameters, the
    actions, the prototypes' key, where saved prototypes are (when they match), where to write them,
    and the stamp of what labels made now are made with."""

    model: ModelChoice
    params: LabelingParams
    actions: list[ActionExamples]
    signature: str
    saved: Optional[Path]
    out: Optional[Path]
    stamp: dict[str, str]


Ask = Callable[[str, str, bool], bool]
"""ask(title, question, destructive): True when the user agrees (Discard/Cancel when destructive, else Yes/No)."""


def manual_segments(segments: list[Segment]) -> list[Segment]:
    """The segments a person confirmed or edited (copies)."""
    return [copy.deepcopy(s) for s in segments if s.source == SOURCE_MANUAL]


class JobController(QObject):
    """Starts jobs on the JobRunner and applies their results to the ProjectState."""

    labeled = Signal(str)  # video path
    demoReady = Signal()
    reported = Signal(str)  # how the last job ended, in words (the status bar keeps it)

    def __init__(self, state: ProjectState, runner: JobRunner, engine: Engine, settings: SettingsStore,
                 error: Callable[[str, str], None], status: Callable[[str], None],
                 parent: QObject | None = None, ask: Optional[Ask] = None) -> None:
        super().__init__(parent)
        self.state, self.runner, self.engine, self.settings = state, runner, engine, settings
        self._error, self._status = error, status
        self._ask: Ask = ask or (lambda _title, _text, _destructive: False)
        runner.failed.connect(self._failed)
        runner.cancelled.connect(lambda name: self._report(f"{name} cancelled"))

    def _report(self, text: str) -> None:
        """A job's result: in the status bar now, and kept (``reported``) after later messages replace it."""
        self._status(text)
        self.reported.emit(text)

    def _failed(self, name: str, message: str) -> None:
        self.reported.emit(f"{name} failed")
        self._error(f"{name} failed", message)

    def _start(self, name: str, fn, on_done, on_end=None) -> bool:
        if not self.runner.start(name, fn, on_done, on_end):
            self._status(f"Busy with {self.runner.name}; wait for it or cancel it")
            return False
        return True

    def job_input(self) -> JobInput:
        """The current project's copy for a build or labeling job (its settings; the device is the user's)."""
        project, app = self.state.project, self.settings.settings
        model, params = project.settings.model.choice(app.device, app.fast_cpu), project.settings.labeling
        signature = prototype_key(project, app.compute)
        saved = project.prototypes_path if project.bank_signature == signature else None
        return JobInput(model, params, bank_actions(project), signature, saved, project.prototypes_path, stamp(project))

    def _usable_model(self) -> bool:
        """False (with a message saying how to fix it) when the project's model has no real weights."""
        problem = self.state.project.settings.model.problem(bundled_present())
        if problem:
            self._error("The model cannot label", f"The project's model cannot be used: {problem}.")
        return not problem

    def _check_actions(self) -> bool:
        if not self.state.project.actions:
            self._error("Nothing to build", "Add at least one action: drop example clips on the Actions panel, or "
                                            "add one by name (Project → Add action by name) to label it from its text.")
            return False
        return True

    def build(self) -> bool:
        """Build prototypes from the actions' examples."""
        if not self._check_actions() or not self._usable_model():
            return False
        job = self.job_input()

        def work(progress, cancel):
            return self.engine.build(job.model, job.params, job.actions, job.signature, job.out, progress, cancel)

        def done(names: list[str]) -> None:
            self.state.set_bank_signature(job.signature)
            self._report(f"Prototypes built for {len(names)} action(s)")
        return self._start("Building prototypes", work, done)

    def label(self, videos: list[str], keep_corrections: bool = True) -> bool:
        """Label ``videos`` (building prototypes first when the actions changed) around their manual segments;
        without ``keep_corrections`` the model labels them whole (see :meth:`label_from_scratch`)."""
        if not videos:
            self._error("Nothing to label", "Add a long video first: drop it on the Videos panel.")
            return False
        if not self._check_actions() or not self._usable_model():
            return False
        job = self.job_input()
        fixed = {v: manual_segments(self.state.segments(v)) for v in videos}

        def work(progress, cancel) -> list[LabelResult]:
            if not self.engine.has_bank(job.signature, job.saved):
                self.engine.build(job.model, job.params, job.actions, job.signature, job.out, progress, cancel)
            results = []
            for k, video in enumerate(videos):
                def step(done, total, message, k=k):
                    progress(done, total, f"video {k + 1}/{len(videos)}: {message}" if len(videos) > 1 else message)
                kept = fixed[video] if keep_corrections else []
                results.append(self.engine.label(job.model, job.params, job.signature, video, step, cancel, kept))
            return results

        def done(results: list[LabelResult]) -> None:
            self.state.set_bank_signature(job.signature)
            applied = [(v, r) for v, r in zip(videos, results) if self._may_apply(v, fixed[v])]
            for video, result in applied:
                self.state.set_results(video, result, job.stamp)
                self.labeled.emit(video)
            n = sum(len(r.segments) for _, r in applied)
            kept = sum(len(fixed[v]) for v, _ in applied) if keep_corrections else 0
            self._report(f"Labeled {len(applied)} video(s): {n} segments" + (f" ({kept} of yours kept)" if kept else ""))
        return self._start("Labeling", work, done)

    def _may_apply(self, video: str, fixed: list[Segment]) -> bool:
        """Whether new labels may replace ``video``'s segments: yes unless the user changed its corrections
        while it was being labeled and does not want them replaced."""
        if self.state.project.video(video) is None:
            return False
        if manual_segments(self.state.segments(video)) == fixed:
            return True
        return self._ask("Labeling finished", f"You changed segments of {Path(video).name} while it was being "
                         "labeled. Replace them with the new labels? (No keeps your edits; Ctrl+Z undoes either.)",
                         False)

    def label_from_scratch(self, videos: list[str]) -> bool:
        """Label ``videos`` whole, discarding their manual segments, after the user agrees to lose them."""
        touched = sum(len(manual_segments(self.state.segments(v))) for v in videos)
        names = ", ".join(Path(v).name for v in videos[:3]) + (" …" if len(videos) > 3 else "")
        if touched and not self._ask("Label from scratch", f"Labeling {names} from scratch discards {touched} "
                                     "segment(s) you confirmed or edited (one Ctrl+Z brings them back).", True):
            return False
        return self.label(videos, keep_corrections=False)

    def generate_descriptors(self, action: str, apply: Callable[[str, list[str]], None]) -> bool:
        """Stage descriptors for ``action`` from the LLM endpoint (templates when none); ``apply(action, lines)``."""
        settings = self.settings.settings
        url, model, key = settings.llm_url, settings.llm_model, settings.llm_key

        def work(progress, cancel):
            progress(0, 0, f"asking {url}" if url else "templates")
            return generate_descriptors(action, url, model, key, cancel=cancel)

        def done(result: tuple[list[str], str, str]) -> None:
            lines, source, problem = result
            apply(action, lines)
            if problem:  # the endpoint in Settings failed: say why, not only that templates were used
                self._error("No descriptors from the LLM endpoint",
                            f"{problem}\n\nThe template descriptors of {action} were used instead.")
            else:
                self._report(f"Descriptors of {action} from {source}")
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
        if not self._check_actions() or not self._usable_model():
            return False
        model = self.state.project.settings.model.choice(self.settings.settings.device)
        actions = copy.deepcopy([a.as_examples() for a in self.state.project.actions])
        confirmed = copy.deepcopy(self.state.project.annotations)
        folder = self.state.project.folder
        # a folder of its own per run: a later run never overwrites a checkpoint kept earlier
        out_dir = ((folder if folder else config_dir()) / "training"
                   / f"run-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}")

        def work(progress, cancel):
            return self.engine.fine_tune(model, actions, confirmed, out_dir, progress, cancel, steps)

        def done(result: tuple[Path, dict]) -> None:
            self.reported.emit(f"Retrained {result[1].get('steps', 0)} steps; keep or discard the fine-tuned model")
            decide(*result)

        def end(outcome: str) -> None:
            if outcome != "ok":  # cancelled or failed: nothing of the run is worth keeping
                shutil.rmtree(out_dir, ignore_errors=True)
        return self._start("Retraining", work, done, end)

    def keep_checkpoint(self, path: Path) -> None:
        """The project uses a fine-tuned checkpoint from now on (one undo step; prototypes are rebuilt with it
        on the next labeling)."""
        settings = self.state.project.settings
        model = replace(settings.model, source="checkpoint", checkpoint=str(path))
        self.state.set_settings(replace(settings, model=model), "Use the fine-tuned model")
        self._status(f"Using the fine-tuned model {path}")

    def discard_checkpoint(self, path: Path) -> None:
        """Delete a fine-tuned run the user did not keep (its folder, unless the project uses it)."""
        run = Path(path).parent
        if run.name.startswith("run-") and run.parent.name == "training" and \
                Path(self.state.project.settings.model.checkpoint or "").parent != run:
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
