"""The labeling bound's machinery: the burst-filled frame pipe, the thread share, and that neither changes
what is decoded or embedded (each fast path against its reference)."""
from __future__ import annotations

import threading
import time

import av
import numpy as np
import pytest
import torch

from star_model.engine.features import FeatureCache, FrameEmbedder
from star_model.engine.pipeline import END, FramePipe, ThreadShare, buffer_frames, produce
from star_model.video import VideoReader


def test_pipe_fills_in_bursts_and_hands_everything_over() -> None:
    pipe = FramePipe(capacity=6, low=2)
    worker = threading.Thread(target=produce, args=(iter(range(20)), pipe), daemon=True)
    worker.start()
    deadline = time.monotonic() + 5
    while pipe.decoding and time.monotonic() < deadline:  # fills to capacity, then pauses
        time.sleep(0.01)
    assert not pipe.decoding
    got = pipe.take(3, timeout=1)
    assert got == [0, 1, 2]
    assert not pipe.decoding  # 3 left > low: still paused
    got += pipe.take(3, timeout=1)  # 0 left <= low: resumes
    while True:
        items = pipe.take(4, timeout=1)
        got += items
        if items and items[-1] is END:
            break
    assert got[:-1] == list(range(20))
    worker.join(timeout=5)
    assert not pipe.decoding


def test_pipe_hands_over_an_error_and_close_stops_the_producer() -> None:
    def broken():
        yield 1
        raise ValueError("bad frame")

    pipe = FramePipe(capacity=4, low=1)
    produce(broken(), pipe)
    items = pipe.take(4, timeout=1)
    assert items[0] == 1 and isinstance(items[1], ValueError)

    pipe = FramePipe(capacity=2, low=0)
    worker = threading.Thread(target=produce, args=(iter(range(100)), pipe), daemon=True)
    worker.start()
    time.sleep(0.05)
    pipe.close()
    worker.join(timeout=2)
    assert not worker.is_alive()


def test_thread_share_gives_a_core_to_the_decoder_and_restores() -> None:
    before = torch.get_num_threads()
    share = ThreadShare()
    pipe = FramePipe(capacity=40, low=1)
    assert share.threads_for(pipe) == before  # the first batch measures all threads
    share.run(before, lambda: time.sleep(0.01))
    for _ in range(4):
        pipe.put(0, busy_s=0.1)  # a slow decoder: a long burst ahead
    assert share.threads_for(pipe) == (before - 1 if before > 1 else before)
    share.batch_s = 100.0  # a long batch: the burst is short beside it
    assert share.threads_for(pipe) == before
    pipe.put(END)
    assert share.threads_for(pipe) == before  # finished
    assert share.run(1, torch.get_num_threads) == 1
    share.restore()
    assert torch.get_num_threads() == before
    assert buffer_frames(32, 224, 0.0) == 96 and buffer_frames(8, 112, 32.0) > 96


def test_streamed_features_equal_plain_batches(tiny_model, make_video, tmp_path) -> None:
    """Deep or shallow buffer, bursts or not: the features are those of the frames embedded in fixed batches
    (to the last bits where a batch ran on fewer threads: oneDNN may pick other kernels for small batches)."""
    video = make_video(tmp_path / "v.mp4", 100, 25.0)
    threads = torch.get_num_threads()
    frames = np.stack([f.image for f in VideoReader(video).frames(size=tiny_model.backbone.image_size)])
    for buffer_mb in (0.0, 32.0):  # 3 batches (the decoder pauses and resumes), or the whole video
        embedder = FrameEmbedder(tiny_model, FeatureCache(tmp_path / f"c{buffer_mb}"), batch_size=16, buffer_mb=buffer_mb)
        got = embedder.video(video, rate=100.0)  # every frame
        ref = torch.cat([embedder.embed_images(frames[i: i + 16]) for i in range(0, len(frames), 16)])
        np.testing.assert_array_equal(got.frames, np.arange(len(frames)))
        torch.testing.assert_close(got.feats, ref, atol=1e-6, rtol=0)
        assert embedder.decoded[str(video)] == len(frames)
    assert torch.get_num_threads() == threads


@pytest.mark.parametrize("size", [None, 24])
def test_rgb_on_one_thread_is_bit_identical(small_mp4, size) -> None:
    """swscale on one thread (ours) against PyAV's default call."""
    ours = [f.image for f in VideoReader(small_mp4, backend="pyav").frames(size=size)]
    container = av.open(str(small_mp4))
    try:
        ref = []
        for frame in container.decode(video=0):
            if size is None:
                ref.append(frame.to_ndarray(format="rgb24"))
            else:
                w = round(frame.width * size / frame.height) if frame.width > frame.height else size
                h = size if frame.width > frame.height else round(frame.height * size / frame.width)
                ref.append(frame.to_ndarray(format="rgb24", width=w, height=h, interpolation="AREA"))
    finally:
        container.close()
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        np.testing.assert_array_equal(a, b)
