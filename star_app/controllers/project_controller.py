"""Project files (new, open, save, recent, autosave) and files the user brings in (drops, Add menus)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QObject, QTimer

from star_app.project import Project, ProjectError, ProjectSettings
from star_app.services.media import MediaError, check_videos, read_action_folders
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
        if self.state.project.repairs:
            self._error("Project repaired on opening", "\n".join(self.state.project.repairs) +
                        "\n\nSave the project to keep the repaired values.")
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
        """The usable files among ``paths``; one message lists every rejected file and why."""
        good, errors = check_videos(paths)
        self._rejected(errors, len(paths), bool(good), what)
        return good

    def _rejected(self, errors: list[str], dropped: int, added: bool, what: str) -> None:
        """One message for the rejected files of a drop: a drop that mixes usable and unusable files adds the
        usable ones (the caller adds them as one undoable step); a drop of only unusable ones adds nothing."""
        if not errors:
            return
        listed = "\n".join(f"• {e}" for e in errors)
        if added:
            self._error(f"Cannot add some {what}", f"{listed}\n\n({len(errors)} of {dropped} files not added; "
                                                   f"the other {dropped - len(errors)} were added)")
        else:
            nothing = "nothing was added" if dropped > 1 else "it was not added"
            self._error(f"Cannot add {what}", f"{listed}\n\n({nothing} to the project)")

    def drop_examples(self, paths: list[str], action: str = "") -> Optional[str]:
        """Dropped clips: examples of ``action``, or a new action; dropped folders: actions (an action folder,
        its clips and the stage descriptors of its ``descriptors.txt``, or a folder of them). One undo step;
        returns the (last) action's name."""
        folders = [p for p in paths if Path(p).is_dir()]
        found, folder_errors = read_folders(folders)
        good, errors = check_videos([p for p in paths if not Path(p).is_dir()])
        self._rejected(errors + folder_errors, len(paths), bool(found or good), "example clips")
        if not found and not good:
            return None
        self.state.undo_stack.beginMacro("Add example clips")
        names = [self.state.add_action(name, clips, descriptors) for name, clips, descriptors in found]
        message = f"Added {len(found)} action(s) from folders: {', '.join(names)}"
        if good:
            name, message = self._add_clips([ClipRef(v.path) for v in good], action)
            names.append(name)
        self.state.undo_stack.endMacro()
        self._status(message)
        return names[-1]

    def _add_clips(self, clips: list[ClipRef], action: str) -> tuple[str, str]:
        """Clips as examples of ``action``, or of a new action; (its name, what was done)."""
        if action and self.state.project.action(action) is not None:
            self.state.add_examples(action, clips)
            return action, f"Added {len(clips)} example(s) to {action}"
        name = self.state.add_action(action_name_for([c.path for c in clips]), clips)
        return name, f"New action {name} with {len(clips)} example(s)"

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


def read_folders(folders: list[str]) -> tuple[list[tuple[str, list[ClipRef], list[str]]], list[str]]:
    """The actions of dropped folders as (name, usable clips, descriptors), and one message per problem."""
    found: list[tuple[str, list[ClipRef], list[str]]] = []
    errors: list[str] = []
    for folder in folders:
        try:
            actions = read_action_folders(folder)
        except MediaError as exc:
            errors.append(str(exc))
            continue
        for act in actions:
            good, bad = check_videos([c.path for c in act.clips])
            errors += bad
            if good:
                found.append((act.name, [ClipRef(v.path) for v in good], act.descriptors or []))
    return found, errors
