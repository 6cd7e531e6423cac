"""The whole flow through the real widgets: drops, build, label, timeline, plot, edit + undo, export."""
from __future__ import annotations

import logging
import time
from dataclasses import replace

from star_model.data.label_csv import read_segments_csv
from star_model.schema import SOURCE_MANUAL
from star_model.video import probe
from tests.app.conftest import ACTIONS, StallProbe, clips, drop_files, wait_idle

log = logging.getLogger(__name__)


def test_full_flow(make_window, qtbot, dataset, long_video, tmp_path):
    window = make_window()
    window.new_project()
    panel = window.actions_panel
    # a new action per drop on empty space; a drop on an action's row adds examples to it
    drop_files(panel, clips(dataset, ACTIONS[0])[:1])
    assert [a.name for a in window.state.project.actions] == [ACTIONS[0]]
    row = panel.list.visualItemRect(panel.list.item(0)).center()
    drop_files(panel, clips(dataset, ACTIONS[0])[1:], panel.list.viewport().mapTo(panel, row))
    drop_files(panel, clips(dataset, ACTIONS[1]))
    actions = window.state.project.actions
    assert [a.name for a in actions] == ACTIONS and [len(a.examples) for a in actions] == [2, 2]
    assert panel.list.count() == 2
    drop_files(window.videos_panel, [long_video])
    assert window.current_video == str(long_video.resolve())

    window.menu_actions["build"].trigger()
    assert window.job_status.isVisible()
    wait_idle(qtbot, window)
    assert window.state.project.bank_signature == window.jobs.job_input().signature
    assert window.prototypes_status.text().startswith("Prototypes up to date")
    window.menu_actions["label"].trigger()
    wait_idle(qtbot, window)
    assert window.last_message == ("", ""), window.last_message

    video = window.current_video
    segments = window.state.segments(video)
    result = window.state.results[video]
    assert segments and segments[-1].end_s > 20
    assert window.timeline.segments == segments
    assert set(window.plot.curves) == set(ACTIONS)
    for name, curve in window.plot.curves.items():
        x, y = curve.getData()
        assert len(x) == len(result.times) and y.tolist() == result.tsa_map[:, result.names.index(name)].tolist()

    # edit a segment (split at the cursor, relabel) and undo both
    window.current.set_time(segments[0].start_s + 1.0)
    before = [(s.label, s.start_s, s.end_s, s.source) for s in segments]
    window.menu_actions["split"].trigger()
    assert len(window.state.segments(video)) == len(segments) + 1
    window.timeline.select(0)
    window.timeline.relabel(0, "background")
    assert window.state.segments(video)[0].label == "background"
    assert window.state.segments(video)[0].source == SOURCE_MANUAL
    window.menu_actions["undo"].trigger()
    window.menu_actions["undo"].trigger()
    assert [(s.label, s.start_s, s.end_s, s.source) for s in window.state.segments(video)] == before
    window.menu_actions["redo"].trigger()
    assert len(window.state.segments(video)) == len(segments) + 1

    written = window.export(tmp_path / "csv")
    assert [p.name for p in written] == [f"{long_video.stem}.segments.csv", f"{long_video.stem}.frames.csv"]
    back = read_segments_csv(written[0])
    assert [(s.label, round(s.end_s, 3)) for s in back] == [(s.label, round(s.end_s, 3))
                                                           for s in window.state.segments(video)]
    header = written[1].read_text().splitlines()[0]
    assert header == ",".join(["frame", "time_s", *result.names, "background", "label"])

    # the labeled project saves, reopens and shows the same timeline and plot
    assert window.save_as(tmp_path / "flow")
    window.new_project()
    window.open_project(tmp_path / "flow.star")
    assert len(window.timeline.segments) == len(segments) + 1
    assert set(window.plot.curves) == set(ACTIONS)


def test_gui_thread_stays_responsive_while_long_videos_are_labeled(make_window, qtbot, dataset, long_video,
                                                                   long_dataset, capsys):
    """The stall probe covers a labeling job of several seconds: loading the model, building the
    prototypes and labeling 114 s of video (the 24 s and the 90 s video), while the player plays
    the first video as a user watching it would (decoding and painting on the GUI side)."""
    window = make_window()  # a fresh engine: loading the model is part of the job
    for action in ACTIONS:
        window.files.drop_examples([str(p) for p in clips(dataset, action)])
    second = long_dataset / "long" / "long_000.mp4"
    window.files.drop_videos([str(long_video), str(second)])
    labeled = []
    window.jobs.labeled.connect(labeled.append)
    qtbot.wait(300)  # the new window's first layout and paint, and the first video's first frame, are not the job's
    probe = StallProbe()
    probe.start()
    t0 = time.monotonic()
    window.player.play()
    window.menu_actions["label_all"].trigger()
    assert window.runner.busy
    wait_idle(qtbot, window, timeout_s=120)
    job_s = time.monotonic() - t0
    playing = window.player.playing
    window.player.pause()
    probe.stop()
    assert window.last_message == ("", ""), window.last_message
    assert labeled == [str(long_video.resolve()), str(second.resolve())]
    assert all(window.state.segments(v) for v in labeled)
    assert playing  # the player kept playing through the job
    with capsys.disabled():
        print(f"\n[responsiveness] longest GUI-thread stall while loading, building and labeling 114 s of video "
              f"(player playing): {probe.longest_ms} ms ({probe.ticks} probe ticks of 10 ms; the job took "
              f"{job_s:.1f} s)")
    assert probe.ticks >= job_s * 100 * 0.5  # the probe ticked through the job (at least half its 10 ms ticks)
    assert probe.longest_ms < 200


def test_relabel_reuses_cached_features(make_window, qtbot, dataset, long_video):
    window = make_window()  # its own engine and feature cache: what is embedded here is counted exactly
    window.files.drop_examples([str(p) for p in clips(dataset, ACTIONS[0])])
    window.files.drop_examples([str(p) for p in clips(dataset, ACTIONS[1])])
    window.files.drop_videos([str(long_video)])
    window.label_current()
    wait_idle(qtbot, window)
    embedder = window.engine._embedder
    embedded = embedder.embedded[str(window.current_video)]
    # add a confirmed segment as a new example, then label again: features come from the cache
    window.timeline.select(0)
    seg = window.state.segments(window.current_video)[0]
    window.timeline.relabel(0, ACTIONS[1])
    window.add_selection_as_example()
    assert window.state.project.action(ACTIONS[1]).examples[-1].end_s == round(seg.end_s, 3)
    t0 = time.monotonic()
    window.label_current()
    wait_idle(qtbot, window)
    assert window.last_message == ("", ""), window.last_message
    # only the new example's frames were embedded (once each), not the video's sampled frames again
    added = embedder.embedded[str(window.current_video)] - embedded
    assert 0 < added <= round((seg.end_s - seg.start_s) * probe(window.current_video).fps) + 1
    log.info("re-labeling took %.1f s", time.monotonic() - t0)


def test_tight_examples_setting_reaches_the_prototypes(make_window, qtbot, dataset, long_video, shared_engine):
    window = make_window(shared_engine)
    for action in ACTIONS[:2]:
        window.files.drop_examples([str(p) for p in clips(dataset, action)])
    window.files.drop_videos([str(long_video)])
    window.label_current()
    wait_idle(qtbot, window)
    trimmed = shared_engine._bank[1]
    window.apply_settings(project=replace(window.project_settings,
                                          labeling=replace(window.project_settings.labeling, trim_rest=False)))
    window.label_current()
    wait_idle(qtbot, window)
    assert window.last_message == ("", ""), window.last_message
    whole = shared_engine._bank[1]
    # the still ends were cut off the examples' lengths, and are kept when the examples are tight
    assert all(w > t for ws, ts in zip(whole.lengths, trimmed.lengths) for w, t in zip(ws, ts))
