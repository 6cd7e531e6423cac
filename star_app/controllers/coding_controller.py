"""Behaviour coding from the keyboard, as in BORIS: each action's key starts or stops it at the cursor.

- The key of action A, with nothing open: A starts at the cursor (the timeline shows it running).
- The same key again: A stops at the cursor; the span becomes a manual segment of A (one undo step), cut
  into the segments under it. Another action's key stops the open one there and starts its own.
- Shift + the key: the segment under the cursor becomes A (a label set at the cursor).
- Esc cancels an open coding.

The entries live in the Coding menu, rebuilt whenever the actions (and their keys) change.
"""
from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from star_app.state import segment_edits as edits
from star_app.state.current_time import CurrentTime
from star_app.state.project_state import ProjectState
from star_app.views.timeline import Timeline


class CodingController(QObject):
    """Fills ``menu`` with one start/stop and one set-label entry per action that has a key."""

    def __init__(self, state: ProjectState, current: CurrentTime, timeline: Timeline, menu: QMenu,
                 status: Callable[[str], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state, self._current, self._timeline, self._menu, self._status = state, current, timeline, menu, status
        self.open: Optional[tuple[str, float]] = None
        self.entries: dict[str, QAction] = {}
        state.actionsChanged.connect(self.rebuild)
        state.projectReplaced.connect(self.rebuild)
        timeline.videoChanged.connect(lambda _video: self.cancel())
        self.rebuild()

    def rebuild(self) -> None:
        """The menu's entries for the actions' keys as they are now."""
        for action in self.entries.values():
            self._menu.removeAction(action)
            action.deleteLater()
        self.entries.clear()
        coded = [a for a in self._state.project.actions if a.key]
        for act in coded:
            self.entries[f"code {act.name}"] = self._entry(f"Start / stop {act.name}", act.key,
                                                            lambda n=act.name: self.toggle(n))
            self.entries[f"label {act.name}"] = self._entry(f"Label segment at cursor as {act.name}",
                                                             f"Shift+{act.key}", lambda n=act.name: self.set_label(n))
        if not coded:
            self.entries["none"] = self._menu.addAction("(give an action a key: right-click it, Coding key…)")
            self.entries["none"].setEnabled(False)
        if self.open is not None and self._state.project.action(self.open[0]) is None:
            self.cancel()

    def _entry(self, text: str, key: str, slot: Callable[[], None]) -> QAction:
        action = self._menu.addAction(text)
        action.setShortcut(QKeySequence(key))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def toggle(self, name: str) -> None:
        """``name``'s key: start it, stop it, or stop the open one and start it."""
        video, t = self._timeline.video, self._current.time
        if video is None:
            self._status("Open a video to code it")
            return
        if self.open is None:
            self._set_open((name, t))
            self._status(f"Coding {name} from {self._timeline.view.format(t)}: its key again ends it, Esc cancels")
            return
        label, start = self.open
        self._set_open(None)
        self._close(video, label, start, t)
        if label != name:
            self._set_open((name, t))

    def _close(self, video: str, label: str, start: float, t: float) -> None:
        fps = self._current.fps
        a, b = sorted((round(start * fps) / fps, round(t * fps) / fps))
        if b - a < 1.0 / fps:
            self._status(f"{label} not coded: it started and ended on the same frame")
            return
        self._state.set_segments(video, f"Code {label}", lambda segs: edits.insert(segs, label, a, b, fps))
        fmt = self._timeline.view.format
        self._status(f"Coded {label} {fmt(a)} – {fmt(b)}")

    def set_label(self, name: str) -> None:
        """The segment under the cursor becomes ``name`` (manual, one undo step)."""
        index = edits.index_at(self._timeline.segments, self._current.time)
        if index < 0:
            self._status("No segment at the cursor: code one with the action's key")
            return
        self._timeline.relabel(index, name)
        self._status(f"Labeled the segment at the cursor as {name}")

    def cancel(self) -> bool:
        """Drop an open coding; True when there was one."""
        if self.open is None:
            return False
        self._set_open(None)
        self._status("Coding cancelled")
        return True

    def _set_open(self, value: Optional[tuple[str, float]]) -> None:
        self.open = value
        self._timeline.set_coding(value)
