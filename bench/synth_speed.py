"""Rendering speed of the synthetic action world (frames per second, one process).

Run: python bench/synth_speed.py [--seconds 2]
Prints a table: size, what was timed, frames, fps. Target: >= 500 fps at 112x112 on one core
(the "render" row: drawing only; "clip" includes planning the scene per clip; "long+encode"
includes H.264 encoding of a streamed long video).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402

from star_model.synthetic.actions import ACTIONS  # noqa: E402
from star_model.synthetic.clip import prepare_clip, render_clip  # noqa: E402
from star_model.synthetic.longvideo import compose_long_video  # noqa: E402

TARGET_FPS_112 = 500.0


def bench_render(size: int, seconds: float) -> tuple[int, float]:
    n, t_draw, i = 0, 0.0, 0
    while t_draw < seconds:
        plan = prepare_clip(ACTIONS[i % len(ACTIONS)], seed=i, size=size)
        t = time.perf_counter()
        plan.renderer.render_all()
        t_draw += time.perf_counter() - t
        n += plan.n_frames
        i += 1
    return n, n / t_draw


def bench_clips(size: int, seconds: float) -> tuple[int, float]:
    n, i, t0 = 0, 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        n += len(render_clip(ACTIONS[i % len(ACTIONS)], seed=1000 + i, size=size).frames)
        i += 1
    return n, n / (time.perf_counter() - t0)


def bench_long(size: int, seconds: float, encode: bool) -> tuple[int, float]:
    lv = compose_long_video(ACTIONS[-8:], seed=0, duration_s=max(10.0, seconds * 40), size=size, fps=25)
    t0 = time.perf_counter()
    if encode:
        from star_model.video import write_video

        with tempfile.TemporaryDirectory() as d:
            write_video(os.path.join(d, "x.mp4"), lv.frames(), lv.fps)
    else:
        for _ in lv.frames():
            pass
    return lv.n_frames, lv.n_frames / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="time budget per row")
    ap.add_argument("--sizes", default="112,224")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    print(f"{'size':>5}  {'timed':<12} {'frames':>7} {'fps':>9}")
    rows = {}
    for size in [int(s) for s in args.sizes.split(",")]:
        for what, fn in (("render", lambda: bench_render(size, args.seconds)),
                         ("clip", lambda: bench_clips(size, args.seconds)),
                         ("long", lambda: bench_long(size, args.seconds, False)),
                         ("long+encode", lambda: bench_long(size, args.seconds, True))):
            n, fps = fn()
            rows[(size, what)] = fps
            print(f"{size:>5}  {what:<12} {n:>7} {fps:>9.0f}", flush=True)
    if (112, "render") in rows:
        r = rows[(112, "render")] / TARGET_FPS_112
        print(f"ratio render fps at 112 / target {TARGET_FPS_112:.0f}: {r:.2f} ({'ok' if r >= 1 else 'BELOW TARGET'})")


if __name__ == "__main__":
    main()
