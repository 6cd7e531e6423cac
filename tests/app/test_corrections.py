"""Corrections are sacred: segments a person confirmed or edited survive every re-label (the model labels only
the rest of the timeline around them), a re-label that would change them asks first, and confirmed segments
are evidence (examples of their action) for the next prototypes."""
from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from star_model.schema import BACKGROUND, SOURCE_MANUAL, Segment
from tests.app.conftest import ACTIONS, clips, shortcut, wait_idle


def manual(window, video: str) -> list[Segment]:
    return [copy.deepcopy(s) for s in window.state.segments(video) if s.source == SOURCE_MANUAL]


def assert_covers(segs: list[Segment], duration_s: float) -> None:
    assert segs[0].start_s == 0.0 and segs[-1].end_s == pytest.approx(duration_s, abs=1e-3)
    for a, b in zip(segs, segs[1:]):
        assert a.end_s == pytest.approx(b.start_s, abs=1e-9), (a, b)


@pytest.fixture
def labeled(make_window, qtbot, dataset, long_video, shared_engine):
    window = make_window(shared_engine)
    for action in ACTIONS:
        window.files.drop_examples([str(p) for p in clips(dataset, action)])
    video = window.files.drop_videos([str(long_video)])[0]
    window.menu_actions["label"].trigger()
    wait_idle(qtbot, window)
    assert window.last_message == ("", ""), window.last_message
    return window, video


def correct(window, qtbot, video: str) -> list[Segment]:
    """Three corrections through the widgets: confirm the least-confident segment (N, Enter), relabel the
    first, and an action drawn over 2 s of the timeline's last segment; returns the manual segments."""
    window.timeline.setFocus()
    shortcut(qtbot, window, Qt.Key.Key_N)
    shortcut(qtbot, window, Qt.Key.Key_Return)
    segs = window.state.segments(video)
    first = next(i for i, s in enumerate(segs) if s.source != SOURCE_MANUAL)
    window.timeline.relabel(first, BACKGROUND if segs[first].label != BACKGROUND else ACTIONS[0])
    last = len(window.state.segments(video)) - 1
    window.timeline.select(last)
    seg = window.state.segments(video)[last]
    window.current.set_time(seg.start_s + 0.3 * seg.duration_s)
    window.menu_actions["split"].trigger()
    fixed = manual(window, video)
    assert len(fixed) >= 3
    return fixed


def test_a_relabel_after_a_settings_change_keeps_every_correction(labeled, qtbot, tmp_path):
    window, video = labeled
    fixed = correct(window, qtbot, video)
    window.apply_settings(project=replace(window.project_settings,
                                          labeling=replace(window.project_settings.labeling, rate=2.0)))
    window.menu_actions["label"].trigger()
    wait_idle(qtbot, window)
    assert window.last_message == ("", ""), window.last_message
    segs = window.state.segments(video)
    assert manual(window, video) == fixed  # verbatim: label, times, frames, confidence
    assert_covers(segs, window.state.project.video(video).duration_s)
    model = [s for s in segs if s.source != SOURCE_MANUAL]
    assert model and not any(m.start_s < f.end_s and f.start_s < m.end_s for m in model for f in fixed)
    assert "kept" in window.statusBar().currentMessage()
    assert window.save_as(tmp_path / "kept")
    saved = json.loads((tmp_path / "kept.star" / "project.json").read_text())["annotations"][video]
    assert sum(1 for s in saved if s["source"] == SOURCE_MANUAL) == len(fixed)


def test_labeling_from_scratch_asks_before_it_discards_the_corrections(labeled, qtbot, monkeypatch):
    window, video = labeled
    fixed = correct(window, qtbot, video)
    asked = []

    def answer(choice):
        def question(_parent, title, text, *args, **kwargs):
            asked.append((title, text))
            return choice
        return question

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Cancel))
    window.menu_actions["label_scratch"].trigger()
    assert not window.runner.busy and manual(window, video) == fixed
    assert asked and f"{len(fixed)} segment" in asked[0][1]
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Discard))
    window.menu_actions["label_scratch"].trigger()
    wait_idle(qtbot, window)
    assert manual(window, video) == []
    window.menu_actions["undo"].trigger()  # one undo step brings them back
    assert manual(window, video) == fixed


def test_edits_made_while_labeling_are_not_overwritten_without_asking(labeled, qtbot, monkeypatch):
    window, video = labeled
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *args, **kwargs: asked.append(args[2]) or QMessageBox.StandardButton.No)
    window.menu_actions["label"].trigger()
    assert window.runner.busy
    window.timeline.relabel(0, ACTIONS[1])  # an edit while the job runs
    edited = copy.deepcopy(window.state.segments(video))
    wait_idle(qtbot, window)
    assert asked and "while" in asked[0]
    assert window.state.segments(video) == edited  # kept: the user said No


def test_confirmed_segments_are_examples_of_their_action(labeled, qtbot, shared_engine):
    window, video = labeled
    assert window.project_settings.confirmed_as_examples
    before = [len(ls) for ls in shared_engine._bank[1].lengths]
    segs = window.state.segments(video)
    index = next(i for i, s in enumerate(segs) if s.label == ACTIONS[0])
    window.timeline.select(index)
    window.review.confirm()
    window.menu_actions["label"].trigger()
    wait_idle(qtbot, window)
    after = [len(ls) for ls in shared_engine._bank[1].lengths]
    assert after == [before[0] + 1, before[1]]
    assert "1 confirmed segment" in window.prototypes_status.text()
