"""Bad drops (damaged video, non-video file, a folder on Videos, a folder without clips on Actions) give a clear
message and change nothing."""
from __future__ import annotations

import pytest

from tests.app.conftest import ACTIONS, clips, drop_files


def _damaged(src, dst):
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * 0.6)])  # an MP4 cut before its index (moov atom at the end)
    return dst


def empty_folder(tmp_path):
    """A folder holding neither clips nor action folders."""
    folder = tmp_path / "empty_folder"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("kind", ["damaged", "not_a_video", "folder"])
@pytest.mark.parametrize("panel", ["actions", "videos"])
def test_bad_drop_gives_a_message_and_no_change(make_window, dataset, tmp_path, kind, panel):
    window = make_window()
    window.files.drop_examples([str(p) for p in clips(dataset, ACTIONS[0])])
    before = (repr(window.state.project.actions), repr(window.state.project.videos), window.state.undo_stack.count())
    bad = {
        "damaged": lambda: _damaged(clips(dataset, ACTIONS[1])[0], tmp_path / "broken.mp4"),
        "not_a_video": lambda: (tmp_path / "notes.txt").write_text("shopping list") and tmp_path / "notes.txt",
        "folder": lambda: dataset / ACTIONS[1] if panel == "videos" else empty_folder(tmp_path),
    }[kind]()
    target = window.actions_panel if panel == "actions" else window.videos_panel
    drop_files(target, [bad])
    title, text = window.last_message
    assert title.startswith("Cannot add") and bad.name in text
    expected = {"damaged": "damaged", "not_a_video": "not a video file",
                "folder": "is a folder" if panel == "videos" else "no action sub-folders"}[kind]
    assert expected in text
    assert "not added" in text
    after = (repr(window.state.project.actions), repr(window.state.project.videos), window.state.undo_stack.count())
    assert after == before


@pytest.mark.parametrize("panel", ["actions", "videos"])
def test_mixed_drop_adds_the_good_files_in_one_step_and_lists_the_bad_ones(make_window, dataset, long_video, tmp_path,
                                                                           panel):
    window = make_window()
    broken = _damaged(clips(dataset, ACTIONS[1])[0], tmp_path / "broken.mp4")
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list")
    folder = dataset / ACTIONS[1] if panel == "videos" else empty_folder(tmp_path)
    good = clips(dataset, ACTIONS[0]) if panel == "actions" else [long_video]
    target = window.actions_panel if panel == "actions" else window.videos_panel
    undo_before = window.state.undo_stack.count()
    drop_files(target, [good[0], broken, notes, folder, *good[1:]])

    if panel == "actions":
        assert [(a.name, [c.path for c in a.examples]) for a in window.state.project.actions] == \
            [(ACTIONS[0], [str(p.resolve()) for p in good])]
    else:
        assert [v.path for v in window.state.project.videos] == [str(long_video.resolve())]
    assert window.state.undo_stack.count() == undo_before + 1  # one undoable step
    title, text = window.last_message
    assert title.startswith("Cannot add some")
    lines = [line for line in text.splitlines() if line.startswith("• ")]
    assert len(lines) == 3  # one line per bad file, naming it and saying why
    assert "broken.mp4" in lines[0] and "damaged" in lines[0]
    assert "notes.txt" in lines[1] and "not a video file" in lines[1]
    assert folder.name in lines[2] and ("is a folder" if panel == "videos" else "no action sub-folders") in lines[2]
    assert f"3 of {len(good) + 3} files not added" in text and f"the other {len(good)} were added" in text
    assert not any(good_file.name in text for good_file in good)

    window.menu_actions["undo"].trigger()
    assert window.state.project.actions == [] and window.state.project.videos == []
