"""Bad drops (damaged video, non-video file, folder) give a clear message and change nothing."""
from __future__ import annotations

import pytest

from tests.app.conftest import ACTIONS, clips, drop_files


def _damaged(src, dst):
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * 0.6)])  # an MP4 cut before its index (moov atom at the end)
    return dst


@pytest.mark.parametrize("kind", ["damaged", "not_a_video", "folder"])
@pytest.mark.parametrize("panel", ["actions", "videos"])
def test_bad_drop_gives_a_message_and_no_change(make_window, dataset, tmp_path, kind, panel):
    window = make_window()
    window.files.drop_examples([str(p) for p in clips(dataset, ACTIONS[0])])
    before = (repr(window.state.project.actions), repr(window.state.project.videos), window.state.undo_stack.count())
    bad = {
        "damaged": lambda: _damaged(clips(dataset, ACTIONS[1])[0], tmp_path / "broken.mp4"),
        "not_a_video": lambda: (tmp_path / "notes.txt").write_text("shopping list") and tmp_path / "notes.txt",
        "folder": lambda: dataset / ACTIONS[1],
    }[kind]()
    target = window.actions_panel if panel == "actions" else window.videos_panel
    drop_files(target, [bad])
    title, text = window.last_message
    assert title.startswith("Cannot add") and bad.name in text
    expected = {"damaged": "damaged", "not_a_video": "not a video file", "folder": "is a folder"}[kind]
    assert expected in text
    assert "not added" in text
    after = (repr(window.state.project.actions), repr(window.state.project.videos), window.state.undo_stack.count())
    assert after == before
