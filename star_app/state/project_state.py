"""The open project as a Qt object: every edit goes through its QUndoStack and emits a signal."""
from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from star_app.project import (Action, Project, ProjectSettings, Video, load_project, load_results, save_project,
                               save_results)
from star_app.project_check import bounded_name
from star_model.schema import LabelResult, Segment

log = logging.getLogger(__name__)


def _relabel(segments: list[Segment], old: str, new: str) -> None:
    for seg in segments:
        if seg.label == old:
            seg.label = new


class _Snapshot(QUndoCommand):
    """Undo by restoring a copy of the part of the project an edit changed."""

    def __init__(self, state: "ProjectState", text: str, scope: tuple, before: Any, after: Any) -> None:
        super().__init__(text)
        self._state, self._scope, self._before, self._after = state, scope, before, after

    def redo(self) -> None:
        self._state._restore(self._scope, copy.deepcopy(self._after))

    def undo(self) -> None:
        self._state._restore(self._scope, copy.deepcopy(self._before))


class ProjectState(QObject):
    """Holds the Project, its labeling results and the undo stack."""

    actionsChanged = Signal()
    videosChanged = Signal()
    segmentsChanged = Signal(str)  # video path
    resultsChanged = Signal(str)  # video path
    settingsChanged = Signal()
    bankChanged = Signal()  # prototypes were built (bank_signature changed)
    projectReplaced = Signal()
    dirtyChanged = Signal(bool)
    locationChanged = Signal()  # saved to another folder (Save As)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = Project()
        self.results: dict[str, LabelResult] = {}
        self.undo_stack = QUndoStack(self)
        self._dirty = False
        self.undo_stack.indexChanged.connect(self._edited)

    # --- whole project -----------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self._dirty

    def _edited(self, _index: int) -> None:
        self._set_dirty(True)

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirtyChanged.emit(dirty)

    def replace(self, project: Project) -> None:
        """Show another project (new or opened); its saved results are loaded, the undo history cleared."""
        self.project = project
        self.results = {}
        for video in project.videos:
            path = project.results_path(video.path)
            result = load_results(path, video.path) if path else None
            if result is not None:
                self.results[video.path] = result
        self.undo_stack.clear()
        self._set_dirty(False)
        self.projectReplaced.emit()

    def open(self, path: Path) -> None:
        self.replace(load_project(path))

    def save(self, folder: Optional[Path] = None) -> Path:
        """Save to ``folder`` (Save As) or where it was; results are written beside the JSON."""
        target = folder or self.project.folder
        if target is None:
            raise ValueError("the project has no folder yet; use Save As")
        moved = self.project.folder != target
        saved = save_project(self.project, target)
        if moved:
            for video_path, result in self.results.items():
                out = self.project.results_path(video_path)
                if out is not None:
                    save_results(out, result)
        self._set_dirty(False)
        if moved:
            self.locationChanged.emit()
        return saved

    def mark_dirty(self) -> None:
        self._set_dirty(True)

    def set_bank_signature(self, signature: str) -> None:
        """Prototypes with this key were built (and saved beside the project when it has a folder, the key in
        the file itself: not an edit of the project)."""
        if signature != self.project.bank_signature:
            self.project.bank_signature = signature
            self.bankChanged.emit()

    # --- undoable edits ----------------------------------------------------------------
    def _restore(self, scope: tuple, value: Any) -> None:
        if scope[0] == "actions":
            self.project.actions = value
            self.actionsChanged.emit()
        elif scope[0] == "videos":
            self.project.videos, self.project.annotations = value
            self.videosChanged.emit()
        elif scope[0] == "settings":
            self.project.settings = value
            self.settingsChanged.emit()
        else:
            self.project.annotations[scope[1]] = value
            self.segmentsChanged.emit(scope[1])

    def _current(self, scope: tuple) -> Any:
        if scope[0] == "actions":
            return self.project.actions
        if scope[0] == "videos":
            return (self.project.videos, self.project.annotations)
        if scope[0] == "settings":
            return self.project.settings
        return self.project.annotations.get(scope[1], [])

    def _edit(self, text: str, scope: tuple, change: Callable[[Any], Any]) -> None:
        """Apply ``change`` (in place) to a copy of the scope's value; push before/after as one undo step."""
        before = copy.deepcopy(self._current(scope))
        after = copy.deepcopy(before)
        change(after)
        self.undo_stack.push(_Snapshot(self, text, scope, before, after))

    def edit_actions(self, text: str, change: Callable[[list[Action]], Any]) -> None:
        """Apply ``change`` (in place) to a copy of the action list, as one undoable step."""
        self._edit(text, ("actions",), change)

    def add_action(self, name: str, examples: list, descriptors: Optional[list[str]] = None) -> str:
        """A new action (its name made unique) with ``examples`` and ``descriptors``; returns its name."""
        name, note = bounded_name(name)
        if note:
            log.warning("%s", note)
        name = self.project.unique_action_name(name)
        color = self.project.next_color()
        self.edit_actions(f"Add action {name}",
                          lambda acts: acts.append(Action(name, color, list(descriptors or []), list(examples))))
        return name

    def add_examples(self, name: str, examples: list) -> None:
        def change(acts: list[Action]) -> None:
            next(a for a in acts if a.name == name).examples.extend(examples)
        self.edit_actions(f"Add examples to {name}", change)

    def update_action(self, name: str, text: str, /, **values: Any) -> None:
        """Set fields of action ``name`` (``name=`` among ``values`` renames it), as one undoable step."""
        def change(acts: list[Action]) -> None:
            action = next(a for a in acts if a.name == name)
            for key, value in values.items():
                setattr(action, key, value)
        self.edit_actions(text, change)

    def rename_action(self, old: str, new: str) -> None:
        """Rename an action and relabel its segments, as one undoable step."""
        self.undo_stack.beginMacro(f"Rename {old} to {new}")
        self.update_action(old, "Rename action", name=new)
        for video, segs in list(self.project.annotations.items()):
            if any(s.label == old for s in segs):
                self.set_segments(video, "Relabel", lambda ss: _relabel(ss, old, new))
        self.undo_stack.endMacro()

    def delete_action(self, name: str) -> None:
        def change(acts: list[Action]) -> None:
            acts[:] = [a for a in acts if a.name != name]
        self.edit_actions(f"Delete action {name}", change)

    def set_example_span(self, name: str, index: int, start_s: Optional[float], end_s: Optional[float]) -> None:
        def change(acts: list[Action]) -> None:
            clip = next(a for a in acts if a.name == name).examples[index]
            clip.start_s, clip.end_s = start_s, end_s
        self.edit_actions(f"Trim example of {name}", change)

    def remove_example(self, name: str, index: int) -> None:
        def change(acts: list[Action]) -> None:
            del next(a for a in acts if a.name == name).examples[index]
        self.edit_actions(f"Remove example of {name}", change)

    def add_videos(self, videos: list[Video]) -> None:
        def change(value: tuple) -> None:
            known = {v.path for v in value[0]}
            value[0].extend(v for v in videos if v.path not in known)
        self._edit("Add videos", ("videos",), change)

    def remove_video(self, path: str) -> None:
        def change(value: tuple) -> None:
            value[0][:] = [v for v in value[0] if v.path != path]
            value[1].pop(path, None)
        self._edit("Remove video", ("videos",), change)

    def set_settings(self, settings: ProjectSettings, text: str = "Change project settings") -> bool:
        """The project's settings become ``settings``, as one undoable step; False when nothing changes."""
        if settings == self.project.settings:
            return False
        before = self.project.settings
        self.undo_stack.push(_Snapshot(self, text, ("settings",), before, settings))
        return True

    def segments(self, video: str) -> list[Segment]:
        return self.project.annotations.get(video, [])

    def set_segments(self, video: str, text: str, change: Callable[[list[Segment]], Any]) -> None:
        """Apply ``change`` (in place) to a copy of a video's segment list, as one undoable step."""
        self._edit(text, ("segments", video), change)

    def set_results(self, video: str, result: LabelResult, made_with: Optional[dict[str, str]] = None) -> None:
        """New labeling results of a video: per-frame data (saved), its segments (undoable) and ``made_with``,
        the stamp of what they were made with (:func:`star_app.provenance.stamp`)."""
        self.results[video] = result
        if made_with is not None:
            self.project.labeled_with[video] = dict(made_with)
        out = self.project.results_path(video)
        if out is not None:
            save_results(out, result)
        self.resultsChanged.emit(video)
        segments = list(result.segments)
        self.set_segments(video, f"Label {Path(video).name}", lambda old: old.__setitem__(slice(None), segments))
