"""Which commands can work now: the menu entries (and the checklist's Label button) are enabled only when they
can, and a disabled one's tooltip says what to do first (add an action, add a video, open one, wait for a job)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMenu

NO_ACTIONS = "Add an action first: drop example clips on Actions, or Project ▸ Add action by name"
NO_VIDEOS = "Add a long video first: drop it on Videos, or Project ▸ Add videos…"
NO_VIDEO_SHOWN = "Open a video first: click it in the Videos list"
NO_MEDIA = "Open a video or preview an example first"
NO_SEGMENTS = "Label the video first (Ctrl+L)"
PLAYBACK = ("play", "next", "prev", "fwd", "back", "home", "end", "slower", "faster")


class Availability(QObject):
    """Follows the window's project, video, media and job; call :meth:`refresh` to re-check."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self._window = window
        self._tips: dict[str, str] = {key: action.toolTip() for key, action in window.menu_actions.items()}
        for menu in window.menuBar().findChildren(QMenu):
            menu.setToolTipsVisible(True)
        state = window.state
        for signal in (state.actionsChanged, state.videosChanged, state.projectReplaced):
            signal.connect(self.refresh)
        state.segmentsChanged.connect(lambda _video: self.refresh())
        window.runner.busyChanged.connect(lambda _busy: self.refresh())
        window.current.mediaChanged.connect(lambda _d, _f: self.refresh())
        window.timeline.videoChanged.connect(lambda _video: self.refresh())
        self.refresh()

    def why_not(self) -> dict[str, str]:
        """For each guarded command, why it cannot work now ("" when it can)."""
        w = self._window
        project = w.state.project
        busy = f"Wait for {w.runner.name} to finish (or cancel it: Esc)" if w.runner.busy else ""
        actions = busy or ("" if project.actions else NO_ACTIONS)
        label_all = actions or ("" if project.videos else NO_VIDEOS)
        label = label_all or ("" if w.current_video else NO_VIDEO_SHOWN)
        segments = "" if w.current_video and w.state.segments(w.current_video) else \
            (NO_VIDEO_SHOWN if not w.current_video else NO_SEGMENTS)
        why = {"build": actions, "label": label, "label_scratch": label, "label_all": label_all,
               "label_unlabeled": label_all, "export": segments, "demo": busy, "new": busy, "open": busy}
        why.update({key: "" if w.current.duration > 0 else NO_MEDIA for key in PLAYBACK})
        return why

    def refresh(self) -> None:
        for key, why in self.why_not().items():
            action = self._window.menu_actions.get(key)
            if action is not None:
                action.setEnabled(not why)
                action.setToolTip(why or self._tips.get(key, action.text().replace("&", "")))
        label = self.why_not()["label"]
        self._window.checklist.set_label_enabled(not label, label)
