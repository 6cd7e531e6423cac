"""Project files (new, open, save, recent, autosave) and files the user brings in (drops, Add menus)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QObject, QTimer

from star_app.project import Project, ProjectError, ProjectSettings
from star_app.services.media import check_videos
from star_app.settings import SettingsStore
from star_app.state.project_state import ProjectState
from star_model.schema import SOURCE_MANUAL, ClipRef

log = logging.getLogger(__name__)

Notify = Callable[[str, str], None]


def action_name_for(paths: list[str]) -> str:
    """A new action's name: the dropped clips' common folder name, else the first file's stem."""
    parents = {Path(p).parent.name for p in paths}
    if len(parents) == 1 and (name := parents.pop()):
        return name
    return Path(paths[0]).stem


class ProjectController(QObject):
    """Opens and saves projects and validates dropped files; reports problems through ``error``."""

    def __init__(self, state: ProjectState, settings: SettingsStore, error: Notify, status: Callable[[str], None],
                 busy: Callable[[], bool], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.settings = settings
        self._error = error
        self._status = status
        self._busy = busy
        self.autosave = QTimer(self)
        self.autosave.timeout.connect(self.autosave_now)
        self._arm_autosave()
        settings.changed.connect(self._arm_autosave)

    def _arm_autosave(self) -> None:
        """Autosave every ``autosave_s`` seconds of the settings (0: never); a change of it takes effect at once."""
        interval = self.settings.settings.autosave_s * 1000
        if interval <= 0:
            self.autosave.stop()
        elif not self.autosave.isActive() or self.autosave.interval() != interval:
            self.autosave.start(interval)

    # --- project files ---------------------------------------------------------------------
    def new(self) -> None:
        """An empty project with the default settings (and the model the user chose for new projects)."""
        self.state.replace(Project(settings=ProjectSettings(model=self.settings.settings.new_project_model)))
        self._status("New project")

    def open(self, path: Path) -> bool:
        try:
            self.state.open(Path(path))
        except ProjectError as exc:
            self._error("Cannot open project", str(exc))
            return False
        self._remember(self.state.project.folder)
        self._status(f"Opened {self.state.project.folder}")
        return True

    def save(self, folder: Optional[Path] = None) -> bool:
        """Save (to ``folder`` for Save As); False with a message when it fails."""
        try:
            saved = self.state.save(Path(folder) if folder else None)
        except (ProjectError, ValueError) as exc:
            self._error("Cannot save project", str(exc))
            return False
        self._remember(saved)
        self._status(f"Saved {saved}")
        return True

    def autosave_now(self) -> None:
        """Save a project that has a folder and unsaved edits, unless a job is running."""
        if self.state.project.folder is not None and self.state.dirty and not self._busy():
            try:
                self.state.save()
                self._status(f"Autosaved {self.state.project.folder.name}")
            except (ProjectError, ValueError) as exc:
                log.warning("autosave failed: %s", exc)

    def _remember(self, folder: Optional[Path]) -> None:
        if folder is not None:
            self.settings.add_recent(str(folder))

    # --- files brought in ------------------------------------------------------------------
    def _checked(self, paths: list[str], what: str):
        """The usable files among ``paths``; one message lists every rejected file and why.

        A drop that mixes usable and unusable files adds the usable ones (the caller adds them
        as one undoable step); a drop of only unusable files adds nothing.
        """
        good, errors = check_videos(paths)
        if errors:
            listed = "\n".join(f"• {e}" for e in errors)
            if good:
                self._error(f"Cannot add some {what}",
                            f"{listed}\n\n({len(errors)} of {len(paths)} files not added; "
                            f"the other {len(good)} were added)")
            else:
                nothing = "nothing was added" if len(paths) > 1 else "it was not added"
                self._error(f"Cannot add {what}", f"{listed}\n\n({nothing} to the project)")
        return good

    def drop_examples(self, paths: list[str], action: str = "") -> Optional[str]:
        """Dropped clips: examples of ``action``, or a new action; returns the action's name."""
        good = self._checked(paths, "example clips")
        if not good:
            return None
        clips = [ClipRef(v.path) for v in good]
        if action and self.state.project.action(action) is not None:
            self.state.add_examples(action, clips)
            self._status(f"Added {len(clips)} example(s) to {action}")
            return action
        name = self.state.add_action(action_name_for([v.path for v in good]), clips)
        self._status(f"New action {name} with {len(clips)} example(s)")
        return name

    def drop_videos(self, paths: list[str]) -> list[str]:
        """Dropped long videos; returns the added paths."""
        good = self._checked(paths, "videos")
        if not good:
            return []
        self.state.add_videos(good)
        self._status(f"Added {len(good)} video(s)")
        return [v.path for v in good]

    def add_selection_as_example(self, video: str, index: int) -> bool:
        """Segment ``index`` of ``video`` becomes an example clip (file + in/out) of its action."""
        segs = self.state.segments(video)
        if not 0 <= index < len(segs):
            self._status("Select a segment first")
            return False
        seg = segs[index]
        if seg.source != SOURCE_MANUAL:
            self._error("Add as example", f"The {seg.label} segment at {seg.start_s:.2f}–{seg.end_s:.2f} s is the "
                                          "model's and nobody has checked it; confirm it first (Enter), then add it.")
            return False
        if self.state.project.action(seg.label) is None:
            self._error("Add as example", f"The segment is labeled {seg.label!r}, which is not an action; "
                                          "label it as an action first.")
            return False
        self.state.add_examples(seg.label, [ClipRef(video, round(seg.start_s, 3), round(seg.end_s, 3))])
        self._status(f"Added {seg.start_s:.2f}–{seg.end_s:.2f} s of {Path(video).name} as an example of {seg.label}")
        return True

