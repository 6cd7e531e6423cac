"""Actions known by name alone: added from the Project menu, labeled zero-shot, marked "text only"."""
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QInputDialog

from star_model.schema import BACKGROUND, SOURCE_TEXT
from star_app.state.review_queue import remaining

from .conftest import ACTIONS, wait_idle


def _answer_name_dialog(name: str) -> None:
    def fill() -> None:
        dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QInputDialog) and w.isVisible())
        dialog.setTextValue(name)
        dialog.accept()
    QTimer.singleShot(50, fill)


def test_actions_added_by_name_label_a_video_from_their_text(make_window, qtbot, long_video, shared_engine):
    window = make_window(shared_engine)
    for name in ACTIONS:
        _answer_name_dialog(name)
        window.menu_actions["add_text_action"].trigger()
    assert [a.name for a in window.state.project.actions] == ACTIONS
    assert all(not a.examples for a in window.state.project.actions)
    assert window.actions_panel.current == ACTIONS[-1]
    window.files.drop_videos([str(long_video)])
    window.label_current()
    wait_idle(qtbot, window)
    assert window.last_message == ("", ""), window.last_message
    segs = window.state.segments(window.current_video)
    assert segs and segs[0].start_s == 0.0 and all(a.end_s == b.start_s for a, b in zip(segs, segs[1:]))
    actions = [s for s in segs if s.label != BACKGROUND]
    assert actions and all(s.source == SOURCE_TEXT for s in actions)
    assert remaining(segs) == len(segs)  # text-only claims are reviewed like the model's own
    window.state.undo_stack.undo()  # the labeling is one undoable step
    assert window.state.segments(window.current_video) == []


def test_an_empty_name_adds_nothing(make_window, qtbot):
    window = make_window()
    _answer_name_dialog("   ")
    window.menu_actions["add_text_action"].trigger()
    assert window.state.project.actions == []
