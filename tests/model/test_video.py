"""Tests of star_model.video on real files encoded here with PyAV (no mocks)."""
from __future__ import annotations

import inspect
import logging
import shutil
import tracemalloc
from pathlib import Path

import av
import numpy as np
import pytest

from star_model import video as V
from star_model.video import (ClipOutOfRange, DamagedVideo, EmptyVideo, NotAVideo, NoVideoStream,
                              UnsupportedCodec, VideoError, VideoNotFound, VideoReader)
from tests.model.videos_util import (frame_code, make_audio_only, make_unknown_codec_avi,
                                     make_video, truncate_copy)

HAS = set(av.codecs_available)


def _codes(frames: list[V.Frame]) -> list[int]:
    return [frame_code(f.image) for f in frames]


# --- codecs, containers, sizes -------------------------------------------------------------

CODEC_CASES = [
    ("libx264", "mp4", (64, 48), (64, 48)),
    ("libx264", "mkv", (97, 61), (98, 62)),  # padded to even for yuv420p
    ("mpeg4", "avi", (97, 61), (97, 61)),
    ("mjpeg", "mkv", (97, 61), (97, 61)),
    ("libvpx-vp9", "webm", (64, 48), (64, 48)),
]


@pytest.mark.parametrize("codec,ext,size,stored", CODEC_CASES, ids=[f"{c}-{e}-{s[0]}x{s[1]}"
                                                                    for c, e, s, _ in CODEC_CASES])
def test_codecs_containers_and_sizes(tmp_path, codec, ext, size, stored):
    if codec not in HAS:
        pytest.skip(f"{codec} not in PyAV's FFmpeg")
    path = make_video(tmp_path / f"v.{ext}", 20, 10.0, codec, size=size)
    for exact in (False, True):
        info = V.probe(path, exact=exact)
        assert (info.frame_count, info.width, info.height) == (20, *stored)
        assert info.fps == pytest.approx(10.0)
        assert info.duration_s == pytest.approx(2.0)
        assert info.rotation == 0 and info.damaged_at_s is None and info.backend == "pyav"
        assert info.exact is exact
    frames = list(V.iter_frames(path))
    assert [f.index for f in frames] == list(range(20))
    assert [f.time_s for f in frames] == pytest.approx([i / 10 for i in range(20)])
    assert _codes(frames) == list(range(20))
    assert all(f.image.shape == (stored[1], stored[0], 3) and f.image.dtype == np.uint8
               for f in frames)


def test_write_video_defaults_and_codec_choice(tmp_path):
    assert V.default_codec() == ("libx264" if "libx264" in HAS else "mpeg4")
    path = make_video(tmp_path / "d.mp4", 3, 5.0)
    assert V.probe(path).codec == ("h264" if "libx264" in HAS else "mpeg4")
    with pytest.raises(ValueError, match="no frames"):
        V.write_video(tmp_path / "none.mp4", [], 5.0)


def test_the_same_frames_encode_to_the_same_bytes(tmp_path):
    """Rendered material is reproducible: repeated encodes of one clip are byte-identical
    (libx264's macroblock tree made them alternate between different files)."""
    from star_model.synthetic import render_clip
    frames = render_clip("bend forward then spin around", seed=(0, 1, 0), size=112).frames
    files = [V.write_video(tmp_path / f"r{k}.mp4", frames, 30.0).read_bytes() for k in range(6)]
    assert all(f == files[0] for f in files[1:])


# --- timestamps: variable frame rate ---------------------------------------------------------

VFR_TIMES = [0.0, 0.04, 0.12, 0.13, 0.3, 0.31, 0.32, 0.7, 0.71, 1.0]


@pytest.mark.parametrize("codec,ext", [("libx264", "mp4"), ("mjpeg", "mkv"), ("mpeg4", "avi")])
def test_variable_frame_rate_keeps_real_times(tmp_path, codec, ext):
    path = make_video(tmp_path / f"vfr.{ext}", len(VFR_TIMES), 10.0, codec, times_s=VFR_TIMES)
    frames = list(V.iter_frames(path))
    assert [f.time_s for f in frames] == pytest.approx(VFR_TIMES, abs=1e-6)
    assert [f.index for f in frames] == list(range(10))
    assert _codes(frames) == list(range(10))
    info = V.probe(path)
    assert info.frame_count == 10  # AVI's header claims 1100 frames: what decodes wins
    assert info.fps == pytest.approx(9.0)  # measured mean rate, not the nominal 10
    assert 1.0 < info.duration_s <= 1.12
    # sampling follows the real clock: nearest frame to 0, 0.25, 0.5, 0.75, 1.0
    times = [f.time_s for f in V.iter_frames(path, rate=4)]
    assert times == pytest.approx([0.0, 0.3, 0.32, 0.71, 1.0], abs=1e-6)


# --- rotation ------------------------------------------------------------------------------

@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotation_is_reported_and_applied(tmp_path, rotation):
    path = make_video(tmp_path / "rot.mp4", 4, 10.0, size=(64, 48), rotation=rotation)
    info = V.probe(path)
    assert info.rotation == rotation
    assert (info.width, info.height) == ((64, 48) if rotation == 180 else (48, 64))
    img = next(V.iter_frames(path)).image
    assert img.shape == (info.height, info.width, 3)
    red = (img[..., 0] > 180) & (img[..., 1] < 90)
    ys, xs = np.nonzero(red)
    top, left = ys.mean() < img.shape[0] / 2, xs.mean() < img.shape[1] / 2
    # the marker was top-left; counter-clockwise 90 puts it bottom-left, -90 top-right
    assert (top, left) == {90: (False, True), -90: (True, False), 180: (False, False)}[rotation]
    small = next(V.iter_frames(path, size=(24, 32))).image
    assert small.shape == ((32, 24, 3))
    assert V.sample_clip(path, 2, size=16)[0].shape[1:] == (
        (16, 21, 3) if rotation == 180 else (21, 16, 3))


# --- damaged and bad input -------------------------------------------------------------------

@pytest.mark.parametrize("ext,options", [("mkv", None), ("mp4", {"movflags": "faststart"}),
                                         ("avi", None)])
def test_truncated_file_keeps_prefix_and_warns(tmp_path, caplog, ext, options):
    codec = "mpeg4" if ext == "avi" else None
    noise = (np.random.default_rng(i).integers(0, 256, (48, 64, 3), np.uint8) for i in range(40))
    full = make_video(tmp_path / f"full.{ext}", noise, 10.0, codec, options=options)
    cut = truncate_copy(full, tmp_path / f"cut.{ext}", 0.6)
    caplog.set_level(logging.WARNING, logger="star_model.video")
    reader = VideoReader(cut)
    frames = list(reader.frames())
    assert 8 <= len(frames) < 40
    assert [f.index for f in frames] == list(range(len(frames)))
    assert [f.time_s for f in frames] == pytest.approx([i / 10 for i in range(len(frames))])
    end = frames[-1].time_s + 0.1
    assert reader.damaged_at_s is not None and reader.damaged_at_s <= end + 1e-6
    assert reader.damaged_at_s >= frames[-1].time_s - 0.2
    warning = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning and "cut." + ext in warning[-1]
    assert f"damaged after {reader.damaged_at_s:.1f} s" in warning[-1]
    assert reader.damage == warning[-1]
    for exact in (False, True):
        info = V.probe(cut, exact=exact)
        assert info.damaged_at_s is not None and info.frame_count < 40
        assert info.duration_s < 3.5
    assert V.probe(cut, exact=True).frame_count == len(frames)


def test_unfinished_mp4_without_index_is_damaged(tmp_path, small_mp4):
    cut = truncate_copy(small_mp4, tmp_path / "unfinished.mp4", 0.6)  # moov atom is at the end
    with pytest.raises(DamagedVideo, match="unfinished.mp4.*damaged"):
        V.probe(cut)


def test_faststart_mp4_cut_inside_its_index_is_damaged_not_an_unknown_codec(tmp_path):
    """A "faststart" MP4 keeps its index in front; cut inside it, FFmpeg sees streams of no known codec."""
    rng = np.random.default_rng(0)
    whole = V.write_video(tmp_path / "front.mp4", [rng.integers(0, 255, (48, 64, 3), np.uint8) for _ in range(40)],
                          8.0, options={"movflags": "faststart"})
    assert not V.source.mp4_cut_short(whole) and V.probe(whole).frame_count == 40
    data = whole.read_bytes()
    seen = set()
    for cut in range(64, min(len(data), 3000), 16):
        part = tmp_path / "front_cut.mp4"
        part.write_bytes(data[:cut])
        with pytest.raises(VideoError) as caught:
            V.probe(part, exact=True)
        assert isinstance(caught.value, DamagedVideo), f"cut at {cut} bytes: {caught.value}"
        seen.add(str(caught.value).split("(")[1].split(")")[0])
    assert "its index ends past the end of the file" in seen


def test_bad_inputs_raise_typed_errors_naming_the_file(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("this is a shopping list, not a video\n" * 40)
    cases = [
        (tmp_path / "missing.mp4", VideoNotFound, "missing.mp4"),
        (tmp_path, VideoNotFound, "folder"),
        (empty, EmptyVideo, "empty.mp4 is empty"),
        (text, NotAVideo, "notes.mp4 is not a video"),
        (make_audio_only(tmp_path / "speech.m4a"), NoVideoStream,
         "speech.m4a has no video stream.*audio"),
        (make_unknown_codec_avi(tmp_path / "odd.avi"), UnsupportedCodec, "odd.avi.*ffmpeg -i"),
    ]
    for path, error, pattern in cases:
        for call in (lambda p: V.probe(p), lambda p: list(V.iter_frames(p)),
                     lambda p: V.sample_clip(p, 4)):
            with pytest.raises(error, match=pattern) as caught:
                call(path)
            assert isinstance(caught.value, VideoError) and caught.value.path == path
    with pytest.raises(VideoError, match="notes.mp4"):
        V.probe(text, backend="opencv")


# --- sampling, clips ----------------------------------------------------------------------

def test_sampling_at_4fps(small_mp4, tmp_path):
    frames = list(V.iter_frames(small_mp4, rate=4))  # 32 frames at 8 fps = 4 s
    assert [f.time_s for f in frames] == pytest.approx([k / 4 for k in range(16)])
    assert [f.index for f in frames] == list(range(0, 32, 2))
    assert _codes(frames) == list(range(0, 32, 2))
    ten = make_video(tmp_path / "ten.mp4", 40, 10.0)  # ties go to the earlier frame
    times = [f.time_s for f in V.iter_frames(ten, rate=4)]
    assert times == pytest.approx([0.0, 0.2, 0.5, 0.7, 1.0, 1.2, 1.5, 1.7, 2.0, 2.2, 2.5, 2.7,
                                   3.0, 3.2, 3.5, 3.7])
    assert len(list(V.iter_frames(small_mp4, rate=20))) == 32  # each frame at most once
    assert len(list(V.iter_frames(small_mp4, rate=1))) == 4
    with pytest.raises(ValueError):
        list(V.iter_frames(small_mp4, rate=0))


def test_sizes(small_mp4):
    assert next(V.iter_frames(small_mp4, size=(32, 32))).image.shape == (32, 32, 3)
    assert next(V.iter_frames(small_mp4, size=24)).image.shape == (24, 32, 3)
    img = next(V.iter_frames(small_mp4, rate=4, size=(224, 224))).image
    assert img.shape == (224, 224, 3) and frame_code(img) == 0


def test_clip_in_out_times(small_mp4, make_video, tmp_path):
    frames = list(V.iter_frames(small_mp4, start_s=1.0, end_s=2.5))
    assert [f.time_s for f in frames] == pytest.approx([1 + i / 8 for i in range(12)])
    assert [f.index for f in frames] == list(range(8, 20)) == _codes(frames)
    sampled = list(V.iter_frames(small_mp4, rate=4, start_s=1.1, end_s=2.0))
    assert [f.time_s for f in sampled] == pytest.approx([1.125, 1.375, 1.625, 1.875])
    # a start beyond SEEK_MIN_S seeks; times and indices stay right
    longer = make_video(tmp_path / "long.mp4", 80, 20.0)
    late = list(V.iter_frames(longer, start_s=3.0, end_s=3.5))
    assert [f.time_s for f in late] == pytest.approx([3 + i / 20 for i in range(10)])
    assert [f.index for f in late] == list(range(60, 70)) == _codes(late)
    assert list(V.iter_frames(small_mp4, start_s=10.0)) == []
    with pytest.raises(ValueError):
        list(V.iter_frames(small_mp4, start_s=2.0, end_s=1.0))


def test_sample_clip_uniform_segments(small_mp4):
    frames, times = V.sample_clip(small_mp4, 8)
    assert frames.shape == (8, 48, 64, 3) and frames.dtype == np.uint8
    # segment centres of [0, 4) are 0.25, 0.75, ...: nearest frames (ties -> earlier)
    assert times == pytest.approx([0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75])
    assert [frame_code(f) for f in frames] == [2, 6, 10, 14, 18, 22, 26, 30]
    frames, times = V.sample_clip(small_mp4, 4, start_s=1.0, end_s=3.0, size=16)
    assert frames.shape == (4, 16, 21, 3)
    assert times == pytest.approx([1.25, 1.75, 2.25, 2.75])
    a = V.sample_clip(small_mp4, 8, rng=np.random.default_rng(1))[1]
    b = V.sample_clip(small_mp4, 8, rng=np.random.default_rng(1))[1]
    assert np.array_equal(a, b) and np.all(np.diff(a) > 0)
    segment = np.floor(a / 0.5)
    assert list(segment) == list(range(8))  # one random frame inside each segment
    draws = {tuple(V.sample_clip(small_mp4, 8, rng=np.random.default_rng(s))[1]) for s in range(6)}
    assert len(draws) > 1
    short, t = V.sample_clip(small_mp4, 8, start_s=1.0, end_s=1.5)  # 4 frames for T=8
    assert short.shape[0] == 8 and np.all(np.diff(t) >= 0) and len(set(t)) == 4
    with pytest.raises(ClipOutOfRange, match="small.mp4"):
        V.sample_clip(small_mp4, 8, start_s=9.0, end_s=10.0)
    with pytest.raises(ValueError):
        V.sample_clip(small_mp4, 0)


def test_streaming_memory_is_independent_of_length(tmp_path):
    path = make_video(tmp_path / "long.avi", 150, 25.0, "mpeg4", size=(160, 120))
    frames = V.iter_frames(path)
    assert inspect.isgenerator(frames)
    assert next(frames).index == 0  # lazy: one frame decoded, the rest not yet
    tracemalloc.start()
    try:
        count = 1 + sum(1 for _ in frames)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 150
    assert peak < 2_000_000, f"peak {peak} bytes while streaming {150 * 160 * 120 * 3} bytes"


# --- OpenCV fallback -----------------------------------------------------------------------

def test_opencv_backend_matches_pyav(small_mp4, tmp_path):
    for path in (small_mp4, make_video(tmp_path / "vfr.mkv", len(VFR_TIMES), 10.0, "mjpeg",
                                       times_s=VFR_TIMES)):
        ours = list(V.iter_frames(path))
        cv = list(V.iter_frames(path, backend="opencv"))
        assert [f.time_s for f in cv] == pytest.approx([f.time_s for f in ours], abs=1e-3)
        assert [f.index for f in cv] == [f.index for f in ours]
        assert _codes(cv) == _codes(ours)
        a, b = V.probe(path), V.probe(path, backend="opencv")
        assert b.backend == "opencv" and b.frame_count == a.frame_count
        assert (b.width, b.height) == (a.width, a.height)
        assert b.fps == pytest.approx(a.fps, rel=1e-3)
    assert [f.time_s for f in V.iter_frames(small_mp4, rate=4, backend="opencv")] == \
        pytest.approx([k / 4 for k in range(16)])
    frames, times = V.sample_clip(small_mp4, 8, backend="opencv", size=(32, 24))
    assert frames.shape == (8, 24, 32, 3) and times == pytest.approx(V.sample_clip(small_mp4,
                                                                                   8)[1])
    rotated = make_video(tmp_path / "rot.mp4", 3, 10.0, rotation=90)
    assert np.abs(next(V.iter_frames(rotated, backend="opencv")).image.astype(int)
                  - next(V.iter_frames(rotated)).image).mean() < 8
    assert V.probe(rotated, backend="opencv").rotation == 90


# --- content hash ----------------------------------------------------------------------------

def test_content_hash(small_mp4, tmp_path):
    copy = shutil.copy(small_mp4, tmp_path / "renamed.mp4")
    assert V.content_hash(small_mp4) == V.content_hash(copy)
    assert len(V.content_hash(copy)) == 32
    data = bytearray(Path(copy).read_bytes())
    data[len(data) // 2] ^= 0xFF
    Path(copy).write_bytes(bytes(data))
    assert V.content_hash(small_mp4) != V.content_hash(copy)
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(5 << 20))
    before = V.content_hash(big)
    with big.open("r+b") as fh:
        fh.seek((5 << 20) - 10)
        fh.write(b"x")
    assert V.content_hash(big) != before


# --- the real sample videos -------------------------------------------------------------------

@pytest.mark.parametrize("name,codec,width,height,frames,fps", [
    ("vtest.avi", "msmpeg4", 768, 576, 795, 10.0),
    ("Megamind.avi", "mpeg4", 720, 528, 270, 23.976),
])
def test_real_videos(shared_videos, name, codec, width, height, frames, fps):
    path = shared_videos / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    info = V.probe(path)
    assert (info.codec, info.width, info.height, info.frame_count) == (codec, width, height,
                                                                       frames)
    assert info.fps == pytest.approx(fps, rel=1e-3)
    assert info.duration_s == pytest.approx(frames / fps, abs=2.5 / fps)
    assert info.damaged_at_s is None and info.rotation == 0
    clip = list(V.iter_frames(path, rate=4, start_s=5.0, end_s=6.0, size=112))
    assert [round(f.time_s * 4) / 4 for f in clip] == pytest.approx([5.0, 5.25, 5.5, 5.75])
    assert all(f.image.shape[0] == 112 for f in clip)
