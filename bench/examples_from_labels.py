"""Old labels become examples: one video coded by hand labels the others. Synthetic world, bundled model.

--videos long videos (own scenes, people and seeds) of the 8 meta-test actions, --minutes each, are
rendered into --work (reused when there). The first is "coded by hand": its ground truth is exported to
a BORIS project with ``star-app export --format boris``. Then, headless, exactly as a user would:

    star-app label VIDEO_0 ... VIDEO_n --examples-from coded.boris --examples-per-action K --out labels/

picks K confirmed segments per behaviour of video 0 as examples and labels the others. Prints the
examples picked per behaviour, then per video frame accuracy and F1@50 against its ground truth (at the
labeling rate), and the mean.

Run: .venv/bin/python bench/examples_from_labels.py [--videos 6] [--minutes 2] [--k 3] [--work DIR]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def render(work: Path, videos: int, minutes: float) -> list[Path]:
    """The long videos and their ground truth (``<stem>.segments.csv``), rendered once."""
    from star_model.data.label_csv import write_segments_csv
    from star_model.synthetic import compose_long_video, split_actions
    from star_model.video import write_video

    paths = []
    for i in range(videos):
        path = work / f"video_{i}.mp4"
        if not (path.is_file() and path.with_suffix(".segments.csv").is_file()):
            video = compose_long_video(split_actions("test"), (7, i), duration_s=minutes * 60, name=path.stem)
            write_video(path, video.frames(), video.fps)
            write_segments_csv(path.with_suffix(".segments.csv"), path.name, video.segments)
        paths.append(path)
    return paths


def score(videos: list[Path], labels: Path, rate: float) -> list[tuple[str, float, float]]:
    """(video, frame accuracy, F1@50) of each labeled video against its ground truth."""
    import numpy as np

    from star_model.data.label_csv import read_segments_csv
    from star_model.engine.metrics import f1_at, frame_accuracy, frame_labels

    rows = []
    for video in videos:
        truth = read_segments_csv(video.with_suffix(".segments.csv"))
        times = np.arange(0.0, truth[-1].end_s, 1.0 / rate)
        pred = frame_labels(read_segments_csv(labels / f"{video.stem}.segments.csv"), times)
        gt = frame_labels(truth, times)
        rows.append((video.name, frame_accuracy(pred, gt), f1_at(pred, gt, 0.5)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=6, help="long videos; the first is the coded one")
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--k", type=int, default=3, help="examples per behaviour")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "star-examples-from-labels")
    args = parser.parse_args()

    from star_model.cli.main import main as star_app
    from star_model.schema import LabelingParams

    args.work.mkdir(parents=True, exist_ok=True)
    videos = render(args.work, args.videos, args.minutes)
    coded = args.work / "coded.boris"
    assert star_app(["export", str(videos[0].with_suffix(".segments.csv")), "--format", "boris", "--out", str(coded),
                     "--videos", str(videos[0])]) == 0
    labels = args.work / f"labels-k{args.k}"
    start = time.perf_counter()
    assert star_app(["label", *map(str, videos), "--examples-from", str(coded), "--examples-per-action", str(args.k),
                     "--out", str(labels), "--cache-dir", str(args.work / "cache")]) == 0
    took = time.perf_counter() - start
    rows = score(videos[1:], labels, LabelingParams().rate)
    print(f"\n{len(videos) - 1} videos of {args.minutes:g} min labeled from the BORIS coding of {videos[0].name} "
          f"(up to {args.k} examples per behaviour) in {took:.0f} s\n")
    print("| video | frame accuracy | F1@50 |\n| --- | --- | --- |")
    for name, acc, f1 in rows:
        print(f"| {name} | {acc * 100:.1f} | {f1 * 100:.1f} |")
    print(f"| mean | {statistics.mean(r[1] for r in rows) * 100:.1f} | {statistics.mean(r[2] for r in rows) * 100:.1f} |")


if __name__ == "__main__":
    main()
