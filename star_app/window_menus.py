"""The main window's menus and keyboard shortcuts.

The menus call the window through :class:`MenuHost`, what they need of it, so that this module does not
import the window (which builds the menus with :func:`build_menus`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Protocol

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QComboBox, QFileDialog, QLineEdit, QMenu, QMessageBox,
                               QWidget)

from star_app.editor_menus import add as _add
from star_app.editor_menus import speed_entries, time_format_entry
from star_app.views.guide_dialog import GuideDialog


class MenuHost(Protocol):
    """What the menus use of the main window: its commands and the parts the menus drive."""

    settings: Any
    state: Any
    jobs: Any
    runner: Any
    timeline: Any
    player: Any
    review: Any
    coding_menu: Any
    interchange: Any
    files: Any

    def menuBar(self) -> Any: ...  # noqa: N802 (Qt API)
    def installEventFilter(self, watcher: QObject) -> None: ...  # noqa: N802 (Qt API)
    def new_project(self) -> None: ...
    def open_project(self, path: Path | None = None) -> None: ...
    def save(self) -> bool: ...
    def save_as(self) -> bool: ...
    def add_action_dialog(self) -> None: ...
    def add_text_action_dialog(self) -> None: ...
    def add_videos_dialog(self) -> None: ...
    def export(self, folder: Path | None = None, all_videos: bool = False) -> list[Path]: ...
    def open_settings(self) -> None: ...
    def close(self) -> bool: ...
    def add_selection_as_example(self) -> None: ...
    def label_current(self) -> None: ...
    def label_all(self) -> None: ...
    def label_from_scratch(self) -> None: ...
    def show_status(self, text: str) -> None: ...
    def escape(self) -> None: ...

SHORTCUTS_HELP = """<table>
<tr><td>Space</td><td>play / pause</td></tr>
<tr><td>Left / Right</td><td>previous / next frame</td></tr>
<tr><td>Shift+Left / Shift+Right</td><td>1 s back / forward</td></tr>
<tr><td>Home / End</td><td>first / last frame</td></tr>
<tr><td>Ctrl+Z / Ctrl+Shift+Z</td><td>undo / redo</td></tr>
<tr><td>Ctrl+K, Ctrl+M, Delete, Ctrl+Shift+E</td><td>split at cursor, mark manual, delete segment, add a confirmed segment as example</td></tr>
<tr><td>an action's key (Coding menu)</td><td>start / stop that action at the cursor; Shift+key: label the segment at the cursor</td></tr>
<tr><td>[ / ]</td><td>slower / faster playback</td></tr>
<tr><td>N / Shift+N</td><td>next / previous segment to review (least confident first; wraps round)</td></tr>
<tr><td>Enter</td><td>confirm the selected segment (it becomes manual)</td></tr>
<tr><td>Ctrl+wheel, +/-</td><td>zoom the timeline</td></tr>
<tr><td>Ctrl+B, Ctrl+L</td><td>build prototypes, label video</td></tr>
<tr><td>Esc</td><td>cancel the running job or an open coding; the keys go back to the player</td></tr>
<tr><td>F1</td><td>the guide (Help ▸ Guide)</td></tr>
</table>"""


ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


def _types_text(widget: QWidget | None) -> bool:
    return isinstance(widget, (QLineEdit, QAbstractSpinBox)) or (isinstance(widget, QComboBox) and widget.isEditable())


class EnterStaysInTextFields(QObject):
    """Installed on the window: a one-line text field with the focus keeps Enter from the window's shortcuts.

    Qt asks the focus widget first (a ShortcutOverride event, passed up to the window when the widget
    does not take it); text editors and every field take the printable keys (N, S, M, ...), but a
    QLineEdit or spin box lets Enter go, and it would confirm a segment instead of finishing the edit.
    """

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if (event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent)
                and event.key() in ENTER_KEYS and _types_text(QApplication.focusWidget())):
            event.accept()
        return False


def _recent_menu(window: MenuHost, menu: QMenu) -> None:
    menu.clear()
    for path in window.settings.recent:
        _add(menu, path, lambda p=path: window.open_project(Path(p)))
    if not window.settings.recent:
        menu.addAction("(none)").setEnabled(False)


def _add_folder(window: MenuHost) -> None:
    """An action folder (its clips and descriptors.txt) or a folder of them, chosen in a folder dialog."""
    folder = QFileDialog.getExistingDirectory(window, "Add actions from a folder (one folder of clips per action)")
    if folder:
        window.files.drop_examples([folder])


def _split(window: MenuHost) -> None:
    problem = window.timeline.split_at_cursor()
    if problem:
        window.show_status(problem)


def _segment(window: MenuHost, edit: Callable[[int], None]) -> None:
    if window.timeline.selected >= 0:
        edit(window.timeline.selected)
    else:
        window.show_status("Select a segment on the timeline first")


def build_menus(window: MenuHost) -> dict[str, QAction]:
    """Create the menus; returns the actions by a short key (tests and the toolbar use them)."""
    bar = window.menuBar()
    acts: dict[str, QAction] = {}
    _project_menu(window, bar.addMenu("&Project"), acts)
    _edit_menu(window, bar.addMenu("&Edit"), acts)
    label = bar.addMenu("&Labeling")
    acts["build"] = _add(label, "&Build prototypes", window.jobs.build, "Ctrl+B")
    acts["label"] = _add(label, "&Label current video", window.label_current, "Ctrl+L")
    acts["label_all"] = _add(label, "Label &all videos", window.label_all, "Ctrl+Shift+L")
    acts["label_scratch"] = _add(label, "Label current video from &scratch…", window.label_from_scratch)
    acts["examples_from_labels"] = _add(label, "Make &examples from labels…", window.interchange.examples_dialog)
    acts["label_unlabeled"] = _add(label, "Label videos &without labels", window.interchange.label_unlabeled)
    acts["cancel"] = _add(label, "&Cancel the running job", window.escape, "Esc")
    _review_menu(window, bar.addMenu("&Review"), acts)
    _playback_menu(window, bar.addMenu("P&layback"), acts)
    bar.addMenu(window.coding_menu)
    help_menu = bar.addMenu("&Help")
    acts["guide"] = _add(help_menu, "&Guide", lambda: GuideDialog(window).open_beside(), "F1")
    acts["shortcuts"] = _add(help_menu, "&Keyboard shortcuts",
                             lambda: QMessageBox.information(window, "Keyboard shortcuts", SHORTCUTS_HELP))
    return acts


def _project_menu(window: MenuHost, project: QMenu, acts: dict[str, QAction]) -> None:
    acts["new"] = _add(project, "&New", window.new_project, QKeySequence.StandardKey.New)
    acts["open"] = _add(project, "&Open…", window.open_project, QKeySequence.StandardKey.Open)
    recent = project.addMenu("Open &recent")
    recent.aboutToShow.connect(lambda: _recent_menu(window, recent))
    acts["demo"] = _add(project, "Open the &demo project", lambda: window.jobs.open_demo())
    acts["save"] = _add(project, "&Save", window.save, QKeySequence.StandardKey.Save)
    acts["save_as"] = _add(project, "Save &as…", window.save_as, QKeySequence.StandardKey.SaveAs)
    project.addSeparator()
    acts["add_action"] = _add(project, "Add &action from clips…", window.add_action_dialog)
    acts["add_folder"] = _add(project, "Add actions from a &folder…", lambda: _add_folder(window))
    acts["add_text_action"] = _add(project, "Add action by &name (text only)…", window.add_text_action_dialog)
    acts["add_videos"] = _add(project, "Add &videos…", window.add_videos_dialog, "Ctrl+I")
    export = project.addMenu("&Export CSV")
    acts["export"] = _add(export, "Current video…", window.export, "Ctrl+E")
    acts["export_all"] = _add(export, "All videos…", lambda: window.export(all_videos=True))
    _labels_menus(window, project, acts)
    project.addSeparator()
    acts["settings"] = _add(project, "Se&ttings…", window.open_settings, QKeySequence.StandardKey.Preferences)
    acts["quit"] = _add(project, "&Quit", window.close, QKeySequence.StandardKey.Quit)


LABEL_EXPORTS = (("boris", "&BORIS project (.boris)…"), ("boris-table", "BORIS events &table (.tsv)…"),
                 ("elan", "&ELAN files (.eaf)…"), ("deepethogram", "&DeepEthogram per-frame CSVs…"))


def _labels_menus(window: MenuHost, project: QMenu, acts: dict[str, QAction]) -> None:
    """Import labels… and Export labels for other tools (every video with segments)."""
    acts["import_labels"] = _add(project, "&Import labels (BORIS, ELAN, DeepEthogram, CSV)…",
                                 window.interchange.import_dialog)
    export = project.addMenu("Export &labels for other tools")
    for fmt, text in LABEL_EXPORTS:
        acts[f"export_{fmt}"] = _add(export, text, lambda f=fmt: window.interchange.export_dialog(f))


def _edit_menu(window: MenuHost, edit: QMenu, acts: dict[str, QAction]) -> None:
    undo = window.state.undo_stack.createUndoAction(window, "&Undo")
    undo.setShortcut(QKeySequence("Ctrl+Z"))
    redo = window.state.undo_stack.createRedoAction(window, "&Redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    edit.addAction(undo)
    edit.addAction(redo)
    acts["undo"], acts["redo"] = undo, redo
    edit.addSeparator()
    tl = window.timeline
    acts["split"] = _add(edit, "&Split segment at cursor", lambda: _split(window), "Ctrl+K")
    tl.splitRequested.connect(lambda: _split(window))
    acts["manual"] = _add(edit, "&Mark segment manual", lambda: _segment(window, tl.mark_manual), "Ctrl+M")
    acts["delete"] = _add(edit, "&Delete segment", lambda: _segment(window, tl.delete), QKeySequence.StandardKey.Delete)
    acts["add_example"] = _add(edit, "Add selection as &example", window.add_selection_as_example, "Ctrl+Shift+E")


def _review_menu(window: MenuHost, review: QMenu, acts: dict[str, QAction]) -> None:
    acts["review_next"] = _add(review, "&Next segment to review", window.review.next, "N")
    acts["review_prev"] = _add(review, "&Previous segment to review", window.review.previous, "Shift+N")
    acts["review_confirm"] = _add(review, "&Confirm selected segment", window.review.confirm)
    acts["review_confirm"].setShortcuts([QKeySequence("Return"), QKeySequence("Enter")])
    acts["review_confirm"].setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    window.installEventFilter(EnterStaysInTextFields(window))


def _playback_menu(window: MenuHost, play: QMenu, acts: dict[str, QAction]) -> None:
    p, tl = window.player, window.timeline
    acts["play"] = _add(play, "&Play / pause", p.toggle_play, "Space")
    acts["next"] = _add(play, "Next frame", lambda: p.step_frames(1), "Right")
    acts["prev"] = _add(play, "Previous frame", lambda: p.step_frames(-1), "Left")
    acts["fwd"] = _add(play, "Forward 1 s", lambda: p.step_seconds(1.0), "Shift+Right")
    acts["back"] = _add(play, "Back 1 s", lambda: p.step_seconds(-1.0), "Shift+Left")
    acts["home"] = _add(play, "First frame", p.go_home, "Home")
    acts["end"] = _add(play, "Last frame", p.go_end, "End")
    play.addSeparator()
    acts["zoom_in"] = _add(play, "Zoom timeline in", lambda: tl.zoom(1.5), "+")
    acts["zoom_out"] = _add(play, "Zoom timeline out", lambda: tl.zoom(1 / 1.5), "-")
    acts["time_frames"] = time_format_entry(window, play)
    speed_entries(window, play, acts)
