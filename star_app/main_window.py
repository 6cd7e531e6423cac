"""The main window: actions and videos on the left; player, attention plot and timeline on the right."""
from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMainWindow, QMenu, QMessageBox, QSplitter

from star_app.controllers.availability import Availability
from star_app.controllers.coding_controller import CodingController
from star_app.controllers.download_controller import DownloadController
from star_app.controllers.interchange_controller import InterchangeController
from star_app.controllers.job_controller import JobController
from star_app.controllers.project_controller import ProjectController
from star_app.controllers.review_controller import ReviewController
from star_app.controllers.settings_controller import SettingsController
from star_app.services.decoder import FrameServer
from star_app.services.jobs import JobRunner
from star_app.services.media import VIDEO_FILTER, MediaError, check_video
from star_app.project import ProjectSettings
from star_app.project_check import bounded_name
from star_app.settings import AppSettings, SettingsStore
from star_app.state.current_time import CurrentTime
from star_app.state.project_state import ProjectState
from star_app.state.time_view import TimeView
from star_app.views.action_editor import ActionEditor
from star_app.views.actions_panel import ActionsPanel
from star_app.views.attention_plot import AttentionPlot
from star_app.views.checklist import Checklist
from star_app.views.job_status import JobStatus
from star_app.views.last_result import LastResult
from star_app.views.player import Player
from star_app.views.prototypes_status import PrototypesStatus
from star_app.views.quit_question import quit_during_job
from star_app.views.review_counter import ReviewCounter
from star_app.views.segment_inspector import SegmentInspector
from star_app.views.stack import stack
from star_app.views.timeline import Timeline
from star_app.views.video_notices import VideoNotices
from star_app.views.videos_panel import VideosPanel
from star_app.window_menus import build_menus

if TYPE_CHECKING:  # the engine (and torch) is made by the entry point and handed in
    from star_app.services.engine import Engine

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """Composes state, services and views; menus live in ``window_menus``. ``engine`` is the one
    :class:`~star_app.services.engine.Engine`, made by the caller (``star_app.app.run_gui``)."""

    def __init__(self, engine: Engine, settings: Optional[AppSettings] = None) -> None:
        super().__init__()
        self.store = SettingsStore(settings, self)
        self.state = ProjectState(self)
        self.current = CurrentTime(self)
        self.time_view = TimeView(self.current, self)
        self.time_view.set_frames(self.settings.time_as_frames)
        self.runner = JobRunner(self)
        self.frames = FrameServer(parent=self)
        self.engine = engine
        self.last_message: tuple[str, str] = ("", "")
        self.preview: Optional[tuple[str, int]] = None
        self.files = ProjectController(self.state, self.store, self.show_error, self.show_status,
                                       lambda: self.runner.busy, self)
        self.jobs = JobController(self.state, self.runner, self.engine, self.store, self.show_error,
                                  self.show_status, self, ask=self.ask)
        self.downloads = DownloadController(self, self.show_error, self.show_status, self)
        self.settings_ctl = SettingsController(self, self.store, self.state, self.jobs, self.downloads,
                                               self.show_status, self.remember)

        self.actions_panel = ActionsPanel(self.state)
        self.action_editor = ActionEditor(self.state, self.current)
        self.videos_panel = VideosPanel(self.state)
        self.player = Player(self.current, self.frames, self.time_view)
        self.plot = AttentionPlot(self.current, self.time_view)
        self.timeline = Timeline(self.state, self.current, self.time_view)
        self.job_status = JobStatus(self.runner)
        self.last_result = LastResult()
        self.review = ReviewController(self.state, self.current, self.timeline, self.show_status, self)
        self.review_counter = ReviewCounter(self.review)
        self.prototypes_status = PrototypesStatus(self.state, self.store)
        self.notices = VideoNotices(self.state)
        self.checklist = Checklist(self.state)
        self.inspector = SegmentInspector(self.state, self.timeline, self.current, self.time_view)
        self.coding_menu = QMenu("&Coding", self)
        self.coding = CodingController(self.state, self.current, self.timeline, self.coding_menu, self.show_status,
                                       self)

        self._arrange()
        self._connect()
        self.menu_actions: dict[str, QAction] = build_menus(self)
        self.availability = Availability(self)
        self._update_title()
        self.settings_ctl.restore_layout()

    def _arrange(self) -> None:
        """The panes: actions, examples and videos on the left; notices, player, plot and timeline on the right."""
        left = QSplitter(Qt.Orientation.Vertical, objectName="left")
        for w in (self.actions_panel, self.action_editor, self.videos_panel):
            left.addWidget(w)
        for k, stretch in enumerate((3, 2, 1)):  # a shorter window takes from the videos list first
            left.setStretchFactor(k, stretch)
        left.setSizes([240, 330, 130])
        right = QSplitter(Qt.Orientation.Vertical, objectName="right")
        for w in (stack(self.checklist, self.notices, self.player), self.plot, stack(self.timeline, self.inspector)):
            right.addWidget(w)
        for k, stretch in enumerate((3, 2, 0)):  # a taller window grows the video and the plot, not the timeline
            right.setStretchFactor(k, stretch)
        right.setSizes([460, 170, 110])
        main = QSplitter(Qt.Orientation.Horizontal, objectName="main")
        main.addWidget(left)
        main.addWidget(right)
        main.setSizes([340, 900])
        main.setContentsMargins(0, 0, 4, 0)
        self.setCentralWidget(main)
        self.statusBar().addPermanentWidget(self.job_status)
        self.statusBar().addPermanentWidget(self.last_result)
        self.statusBar().addPermanentWidget(self.review_counter)
        self.statusBar().addPermanentWidget(self.prototypes_status)
        self.resize(1280, 800)

    def _connect(self) -> None:
        """What the views ask of the window, and what the window follows of the state."""
        self.actions_panel.filesDropped.connect(self._examples_dropped)
        self.actions_panel.addRequested.connect(self.add_action_dialog)
        self.actions_panel.addExamplesRequested.connect(self.add_action_dialog)
        self.actions_panel.currentActionChanged.connect(self.action_editor.show_action)
        self.action_editor.exampleActivated.connect(self.show_example)
        self.action_editor.generateRequested.connect(self.generate_descriptors)
        self.action_editor.addExamplesRequested.connect(self.add_action_dialog)
        self.action_editor.problem.connect(self.show_error)
        self.videos_panel.filesDropped.connect(self.files.drop_videos)
        self.videos_panel.addRequested.connect(self.add_videos_dialog)
        self.videos_panel.currentVideoChanged.connect(self.show_video)
        self.timeline.addExampleRequested.connect(self.add_selection_as_example)
        self.timeline.videoChanged.connect(self.notices.set_video)
        self.plot.axisMoved.connect(self.timeline.set_margins)
        self.notices.relabelRequested.connect(self.label_current)
        self.checklist.actionsRequested.connect(self.add_action_dialog)
        self.checklist.videosRequested.connect(self.add_videos_dialog)
        self.checklist.labelRequested.connect(self.label_current)
        self.jobs.reported.connect(self.last_result.show_result)
        self.state.resultsChanged.connect(self._results_changed)
        self.state.actionsChanged.connect(self._refresh_plot)
        self.state.actionsChanged.connect(self._refresh_marks)
        self.state.projectReplaced.connect(self._project_replaced)
        self.state.dirtyChanged.connect(lambda _d: self._update_title())
        self.state.locationChanged.connect(self._update_title)
        self.state.videosChanged.connect(self._videos_changed)
        self.frames.failed.connect(lambda message: self.show_error("Cannot decode the video", message))

    @cached_property
    def interchange(self) -> InterchangeController:
        """Labels in and out (BORIS, ELAN, DeepEthogram) and examples from labels; made when the menus are."""
        return InterchangeController(self)

    @property
    def settings(self) -> AppSettings:
        """The user's settings (changed only through ``self.store``)."""
        return self.store.settings

    @property
    def project_settings(self) -> ProjectSettings:
        """The open project's settings (changed through ``self.state``, undoably)."""
        return self.state.project.settings

    # --- messages --------------------------------------------------------------------------
    def show_error(self, title: str, text: str) -> None:
        """A non-blocking error box (the text is also logged and kept in ``last_message``)."""
        log.warning("%s: %s", title, text)
        self.remember(title, text)
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def show_status(self, text: str) -> None:
        """A status-bar message; it stays until the next one."""
        self.statusBar().showMessage(text)

    def remember(self, title: str, text: str) -> None:
        """The last message shown in a box (tests and the log read it)."""
        self.last_message = (title, text)

    def ask(self, title: str, text: str, destructive: bool) -> bool:
        """A question; True when the user agrees (Discard when ``destructive``, else Yes)."""
        buttons = (QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel if destructive else
                   QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        answer = QMessageBox.question(self, title, text, buttons)
        return answer == (QMessageBox.StandardButton.Discard if destructive else QMessageBox.StandardButton.Yes)

    def _update_title(self) -> None:
        p = self.state.project
        where = str(p.folder) if p.folder else "not saved"
        self.setWindowTitle(f"{p.name}{' *' if self.state.dirty else ''} — {where} — STAR Labeler")

    # --- what is shown ---------------------------------------------------------------------
    @property
    def current_video(self) -> str:
        return self.timeline.video or ""

    def show_video(self, path: str) -> None:
        video = self.state.project.video(path) if path else None
        self.preview = None
        self.action_editor.set_preview(None)
        if video is None:
            self.player.load(None, "", 0.0, 25.0)
            self.timeline.set_video(None)
        else:
            self.player.load(video.path, video.name, video.duration_s, video.fps)
            self.timeline.set_video(video.path)
        self._refresh_plot()

    def show_example(self, action: str, index: int) -> None:
        """Show an example clip in the player, for trimming with Set in / Set out."""
        act = self.state.project.action(action)
        if act is None or not 0 <= index < len(act.examples):
            return
        try:
            video = check_video(act.examples[index].path)
        except MediaError as exc:
            self.show_error("Cannot show the example", str(exc))
            return
        self.timeline.set_video(None)
        self.plot.show_data(None, [])
        self.player.load(act.examples[index].path, f"{action}: example {index + 1}", video.duration_s, video.fps)
        start = act.examples[index].start_s
        if start:
            self.current.set_time(start)
        self.preview = (action, index)
        self.action_editor.set_preview(self.preview)
        self._refresh_marks()

    def _refresh_marks(self) -> None:
        """The in/out marks of the example being previewed on the player's scrub bar."""
        act = self.state.project.action(self.preview[0]) if self.preview else None
        if act is not None and self.preview is not None and self.preview[1] < len(act.examples):
            self.player.scrub.set_marks(act.examples[self.preview[1]].start_s, act.examples[self.preview[1]].end_s)

    def _refresh_plot(self) -> None:
        video = self.current_video
        self.plot.show_data(self.state.results.get(video) if video else None, self.state.project.actions)

    def _results_changed(self, video: str) -> None:
        if video == self.current_video:
            self._refresh_plot()

    def _project_replaced(self) -> None:
        self._update_title()
        videos = self.state.project.videos
        self.videos_panel.select(videos[0].path) if videos else self.show_video("")

    def _videos_changed(self) -> None:
        if not self.current_video and self.state.project.videos and self.preview is None:
            self.videos_panel.select(self.state.project.videos[0].path)
        elif self.current_video and self.state.project.video(self.current_video) is None:
            self.show_video("")

    # --- commands --------------------------------------------------------------------------
    def _examples_dropped(self, paths: list[str], action: str) -> None:
        name = self.files.drop_examples(paths, action)
        if name:
            self.actions_panel.select(name)

    def add_action_dialog(self, action: str = "") -> None:
        """Example clips from a file dialog: for a new action, or more for ``action``."""
        title = f"More example clips of {action}" if action else "Example clips of a new action"
        paths, _ = QFileDialog.getOpenFileNames(self, title, "", VIDEO_FILTER)
        if paths:
            self._examples_dropped(paths, action)

    def add_text_action_dialog(self) -> None:
        """A new action from its name alone (text only): labeled zero-shot until it gets examples."""
        name, ok = QInputDialog.getText(self, "New action from its name",
                                        "Name of the action (it is labeled from its name and stage descriptors "
                                        "until you add example clips):")
        if ok and name.strip():
            name, note = bounded_name(name.strip())
            if note:
                self.show_error("Action name shortened", note)
            self.actions_panel.select(self.state.add_action(name, []))

    def add_videos_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add long videos", "", VIDEO_FILTER)
        if paths:
            self.files.drop_videos(paths)

    def generate_descriptors(self, action: str) -> None:
        def apply(name: str, lines: list[str]) -> None:  # into the editor: the project takes them on Apply
            if self.state.project.action(name) is not None:
                self.actions_panel.select(name)
                self.action_editor.set_descriptors(lines)
        self.jobs.generate_descriptors(action, apply)

    def add_selection_as_example(self, index: Optional[int] = None) -> None:
        self.files.add_selection_as_example(self.current_video, self.timeline.selected if index is None else index)

    def label_current(self) -> None:
        self.jobs.label([self.current_video] if self.current_video else [])

    def escape(self) -> None:
        """Esc: cancel the running job, else an open coding; the keys go back to the player."""
        if self.runner.busy:
            self.runner.cancel()
        else:
            self.coding.cancel()
        self.player.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def label_from_scratch(self) -> None:
        """Label the current video whole, after asking when that discards corrections."""
        self.jobs.label_from_scratch([self.current_video] if self.current_video else [])

    def label_all(self) -> None:
        self.jobs.label([v.path for v in self.state.project.videos])

    def export(self, folder: Optional[Path] = None, all_videos: bool = False) -> list[Path]:
        videos = [v.path for v in self.state.project.videos] if all_videos else \
            ([self.current_video] if self.current_video else [])
        if not videos:
            self.show_error("Nothing to export", "Open a labeled video first.")
            return []
        if folder is None:
            chosen = QFileDialog.getExistingDirectory(self, "Export CSV files to")
            if not chosen:
                return []
            folder = Path(chosen)
        return self.jobs.export(folder, videos)

    def open_settings(self) -> None:
        self.settings_ctl.open()

    def apply_settings(self, app: Optional[AppSettings] = None, project: Optional[ProjectSettings] = None) -> None:
        """Take edited settings: the user's (``app``) and the project's (see ``SettingsController.apply``)."""
        self.settings_ctl.apply(app, project)

    # --- project files -----------------------------------------------------------------------
    def confirm_discard(self) -> bool:
        """True when there are no unsaved edits or the user agrees to lose them."""
        if not self.state.dirty:
            return True
        answer = QMessageBox.question(self, "Unsaved changes", "Save the changes to this project first?",
                                      QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                                      | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new_project(self) -> None:
        if self.confirm_discard():
            self.files.new()

    def open_project(self, path: Optional[Path] = None) -> None:
        if not self.confirm_discard():
            return
        if path is None:
            chosen = QFileDialog.getExistingDirectory(self, "Open a project folder (NAME.star)")
            if not chosen:
                return
            path = Path(chosen)
        self.files.open(path)

    def save(self) -> bool:
        return self.files.save() if self.state.project.folder else self.save_as()

    def save_as(self, folder: Optional[Path] = None) -> bool:
        if folder is None:
            chosen, _ = QFileDialog.getSaveFileName(self, "Save project as", f"{self.state.project.name}.star")
            if not chosen:
                return False
            folder = Path(chosen)
        return self.files.save(folder)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        """Asks first when a job runs (quitting cancels it) and when there are unsaved edits."""
        if (self.runner.busy and not quit_during_job(self, self.runner.name)) or not self.confirm_discard():
            event.ignore()
            return
        self.player.pause()
        self.settings_ctl.save_layout()
        self.files.autosave.stop()
        self.runner.shutdown(timeout_s=10.0)
        self.downloads.shutdown()
        self.frames.close()
        self.store.save()
        event.accept()
