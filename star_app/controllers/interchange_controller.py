"""Labels in and out of the project (BORIS, ELAN, DeepEthogram, segment CSV) and examples from labels.

- Import labels: the file's labels (one ELAN tier or BORIS subject, chosen when there are several)
  become confirmed segments of the videos they code, replacing theirs; coded videos found on disk but
  not in the project are added. One undoable step; a file that cannot be read, or whose media match
  nothing, changes nothing and says why.
- Export labels: every video with segments, in one of the formats of ``FORMATS``.
- Make examples from labels: k confirmed segments per behaviour, reviewed in a dialog, become example
  clips of their actions (new actions where needed), one undoable step; then, if asked, the videos
  without labels are labeled (which builds the prototypes first).
"""
from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any, Optional, Protocol

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QInputDialog

from star_app.controllers.job_controller import JobController
from star_app.services.interchange import (FORMATS, ImportPlan, LabelFile, export_labels, picks_by_label, plan_import,
                                           read_label_file, unlabeled)
from star_app.services.jobs import JobRunner
from star_app.state.project_state import ProjectState
from star_app.views.examples_dialog import ExamplesDialog
from star_model.errors import LabelFileError
from star_model.schema import ClipRef, Segment

log = logging.getLogger(__name__)

IMPORT_FILTER = ("Label files (*.boris *.boris.gz *.tsv *.csv *.txt *.eaf);;BORIS project (*.boris *.boris.gz);;"
                 "BORIS events table (*.tsv *.csv);;ELAN (*.eaf);;DeepEthogram labels (*_labels.csv);;"
                 "Segment CSV (*.csv);;All files (*)")


def _listed(items: list[str]) -> str:
    return "\n".join(f"• {x}" for x in items)


class InterchangeHost(Protocol):
    """What the controller uses of the main window (a QWidget: the parent of its dialogs)."""

    state: ProjectState
    jobs: JobController
    runner: JobRunner
    videos_panel: Any
    current: Any

    def show_error(self, title: str, text: str) -> None: ...
    def show_status(self, text: str) -> None: ...


class InterchangeController(QObject):
    """Import, export and examples from labels for the main window ``window``."""

    def __init__(self, window: InterchangeHost) -> None:
        super().__init__(window)
        self._window = window
        self.state, self.jobs, self.runner = window.state, window.jobs, window.runner
        self._error, self._status = window.show_error, window.show_status

    def _show_at(self, video: str, t: float) -> None:
        """Show ``video`` at ``t`` (the examples dialog's preview)."""
        self._window.videos_panel.select(video)
        self._window.current.set_time(t)

    def _idle(self) -> bool:
        if self.runner.busy:
            self._status(f"Busy with {self.runner.name}; wait for it or cancel it")
        return not self.runner.busy

    # --- import --------------------------------------------------------------------------------
    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._window, "Import labels", "", IMPORT_FILTER)
        if path:
            self.import_file(Path(path))

    def _choose_group(self, labels: LabelFile) -> Optional[str]:
        kind = labels.group_kind or "group"
        item, ok = QInputDialog.getItem(self._window, f"Choose a {kind}",
                                        f"{labels.path.name} has several {kind}s. Import the labels of:",
                                        labels.groups, 0, False)
        return item if ok else None

    def import_file(self, path: Path, group: Optional[str] = None) -> bool:
        """Import the labels of ``path`` (of ``group``; asked for when the file has several and none is
        given); False, with the project unchanged, when nothing can be imported."""
        if not self._idle():
            return False
        try:
            labels = read_label_file(path)
            if group is None and len(labels.groups) > 1:
                group = self._choose_group(labels)
                if group is None:
                    return False
            plan = plan_import(labels, group, self.state.project.videos)
        except (LabelFileError, OSError, ValueError) as exc:
            self._error("Cannot import labels", f"{exc}\n\nNothing was imported.")
            return False
        if not plan.segments:
            self._error("Cannot import labels",
                        f"No media file named in {Path(path).name} matches a video of the project or a file on "
                        f"disk:\n{_listed(plan.unmatched)}\n\nAdd the videos (Project → Add videos…) and import "
                        "again. Nothing was imported.")
            return False
        self._apply(Path(path), plan)
        return True

    def _apply(self, path: Path, plan: ImportPlan) -> None:
        stack = self.state.undo_stack
        stack.beginMacro(f"Import labels from {path.name}")
        if plan.new_videos:
            self.state.add_videos(plan.new_videos)
        for video, segments in plan.segments.items():
            self.state.set_segments(video, "Import labels",
                                    lambda old, new=segments: old.__setitem__(slice(None), copy.deepcopy(new)))
        stack.endMacro()
        n = sum(len(s) for s in plan.segments.values())
        added = f"; {len(plan.new_videos)} video(s) added" if plan.new_videos else ""
        self._status(f"Imported {n} segment(s) on {len(plan.segments)} video(s) from {path.name}{added}")
        if plan.unmatched:
            self._error("Some labels were not imported",
                        f"No video matches:\n{_listed(plan.unmatched)}\n\nThe labels of the other "
                        f"{len(plan.segments)} video(s) were imported." + self._notes(plan))
        elif plan.notes:
            self._error("Labels imported with notes", self._notes(plan).strip())

    @staticmethod
    def _notes(plan: ImportPlan) -> str:
        return f"\n\n{_listed(plan.notes)}" if plan.notes else ""

    # --- export --------------------------------------------------------------------------------
    def export_dialog(self, fmt: str) -> list[Path]:
        spec = FORMATS[fmt]
        if spec.per_video:
            chosen = QFileDialog.getExistingDirectory(self._window, f"Export {spec.title} files to")
        else:
            chosen, _ = QFileDialog.getSaveFileName(self._window, f"Export as {spec.title}",
                                                    f"{self.state.project.name}{spec.suffix}",
                                                    f"{spec.title} (*{spec.suffix})")
        return self.export(fmt, Path(chosen)) if chosen else []

    def export(self, fmt: str, out: Path) -> list[Path]:
        """Write every video that has segments in format ``fmt`` to ``out`` (a file or a folder)."""
        project = self.state.project
        videos = [v for v in project.videos if project.annotations.get(v.path)]
        if not videos:
            self._error("Nothing to export", "No video has segments yet: label or import labels first.")
            return []
        try:
            written = export_labels(fmt, videos, project.annotations, [a.name for a in project.actions], out)
        except (OSError, ValueError) as exc:
            self._error("Export failed", str(exc))
            return []
        self._status(f"Exported {len(videos)} video(s) as {FORMATS[fmt].title}: {', '.join(p.name for p in written)}")
        return written

    # --- examples from labels ------------------------------------------------------------------
    def _unlabeled(self) -> list[str]:
        return unlabeled([v.path for v in self.state.project.videos], self.state.project.annotations)

    def examples_dialog(self, k: int = 3) -> None:
        """Propose k confirmed segments per behaviour in :class:`ExamplesDialog`; apply what is accepted."""
        annotations = self.state.project.annotations
        if not picks_by_label(annotations, 1):
            self._error("No labels to make examples from",
                        "Only confirmed segments of 1 s or more become examples: import labels (Project → Import "
                        "labels…) or confirm segments (Enter) first.")
            return
        dialog = ExamplesDialog(lambda n: picks_by_label(annotations, n), len(self._unlabeled()), k, self._window)
        dialog.previewRequested.connect(self._show_at)
        if dialog.exec():
            self.make_examples(dialog.chosen(), label_after=dialog.label_after())

    def make_examples(self, chosen: list[tuple[str, str, Segment]], label_after: bool = False) -> int:
        """``chosen`` (behaviour, video, segment) become example clips of their actions (created when missing),
        as one undoable step; returns how many were added. ``label_after``: then label the videos without labels."""
        if not self._idle():
            return 0
        clips: dict[str, list[ClipRef]] = {}
        for label, video, seg in chosen:
            clip = ClipRef(video, round(seg.start_s, 3), round(seg.end_s, 3), tight=True)
            action = self.state.project.action(label)
            if (action is None or clip not in action.examples) and clip not in clips.get(label, []):
                clips.setdefault(label, []).append(clip)
        if clips:
            self.state.undo_stack.beginMacro("Make examples from labels")
            for label, new in clips.items():
                if self.state.project.action(label) is None:
                    self.state.add_action(label, new)
                else:
                    self.state.add_examples(label, new)
            self.state.undo_stack.endMacro()
        n = sum(len(c) for c in clips.values())
        self._status(f"Added {n} example(s) to {len(clips)} action(s)")
        if label_after:
            self.label_unlabeled()
        return n

    def label_unlabeled(self) -> bool:
        """Label the videos that no person has labelled (building the prototypes first when needed)."""
        todo = self._unlabeled()
        if not todo:
            self._status("Every video has confirmed labels")
            return False
        return self.jobs.label(todo)
