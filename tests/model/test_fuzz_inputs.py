"""Fuzzed and hostile inputs: damaged or odd videos, binary descriptor files, pickled weights.

Each input gets exit 0 or 2, one ``error:`` line naming the file when refused, our own warnings only
(no raw FFmpeg or OpenCV log line on stderr), and never a traceback or a pickle run.
"""
from __future__ import annotations

import io
import pickle
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from star_model.cli.main import main
from star_model.data.actions_dir import load_action
from star_model.errors import ActionsFolderError
from tests.model.videos_util import make_video, truncate_copy

ROOT = Path(__file__).resolve().parents[2]

_INFO_EACH = """
import sys
from star_model.cli.main import main
for path in sys.argv[1:]:
    print("RC", path.rsplit("/", 1)[-1], main(["info", path]), flush=True)
"""


def _flipped(src: Path, dst: Path, seed: int, count: int = 12) -> Path:
    data = bytearray(src.read_bytes())
    rng = random.Random(seed)
    for _ in range(count):
        i = rng.randrange(len(data) // 4, len(data))
        data[i] ^= 1 << rng.randrange(8)
    dst.write_bytes(bytes(data))
    return dst


def _image_bytes(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((np.random.default_rng(0).random((48, 64, 3)) * 255).astype(np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


def _video_corpus(folder: Path) -> dict[str, Path]:
    """Odd and damaged videos, each named for what it is."""
    good = make_video(folder / "good.mp4", 48, 8.0, size=(96, 64))
    ts = make_video(folder / "good.ts", 64, 8.0, size=(160, 120))
    corpus = {"good.mp4": good, "good.ts": ts}
    for frac in (0.02, 0.3, 0.7):
        name = f"cut{int(frac * 100)}.mp4"
        corpus[name] = truncate_copy(good, folder / name, frac)
    corpus["cut60.ts"] = truncate_copy(ts, folder / "cut60.ts", 0.6)
    for seed in range(3):
        corpus[f"flip{seed}.mp4"] = _flipped(good, folder / f"flip{seed}.mp4", seed)
    for name, fmt in (("png.mp4", "PNG"), ("jpeg.mp4", "JPEG"), ("gif.mkv", "GIF")):
        (folder / name).write_bytes(_image_bytes(fmt))
        corpus[name] = folder / name
    (folder / "noise.mp4").write_bytes(random.Random(1).randbytes(5000))
    (folder / "text.avi").write_text("not a video\n" * 50)
    corpus["noise.mp4"], corpus["text.avi"] = folder / "noise.mp4", folder / "text.avi"
    return corpus


def test_fuzzed_videos_get_clear_errors_or_warnings_and_no_raw_ffmpeg_lines(tmp_path):
    corpus = _video_corpus(tmp_path)
    res = subprocess.run([sys.executable, "-c", _INFO_EACH, *map(str, corpus.values())], cwd=ROOT,
                         capture_output=True, text=True, timeout=240)
    codes = {line.split()[1]: int(line.split()[2]) for line in res.stdout.splitlines() if line.startswith("RC ")}
    assert set(codes) == set(corpus), res.stderr[-2000:]
    raw = [line for line in res.stderr.splitlines() if line.strip() and not line.startswith(("error:", "WARNING:"))]
    assert raw == [], "lines on stderr that are not ours"
    assert all(code in (0, 2) for code in codes.values()), codes
    assert codes["good.mp4"] == codes["good.ts"] == 0
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == sum(code == 2 for code in codes.values())
    for still in ("png.mp4", "jpeg.mp4", "gif.mkv"):
        assert codes[still] == 2, f"{still} was taken for a video"
        assert any(still in e and "still image" in e for e in errors), errors
    assert codes["cut60.ts"] == 0
    assert any(line.startswith("WARNING:") and "cut60.ts" in line and "truncated" in line
               for line in res.stderr.splitlines()), "a truncated .ts got no damage warning"


@pytest.mark.parametrize("content", [
    b"\xff\xfe\x00\x81\x00binary",
    "start\nmiddle\nend\n".encode("utf-16"),
    b"start\x00\x00\x00\nend\n",
    "d\xe9but\nfin\n".encode("latin-1"),
    random.Random(3).randbytes(300),
], ids=["binary", "utf-16", "nul", "latin-1", "random"])
def test_an_unreadable_descriptors_file_is_named(content, tmp_path, small_mp4):
    folder = tmp_path / "wave"
    folder.mkdir()
    (folder / "clip.mp4").write_bytes(small_mp4.read_bytes())
    (folder / "descriptors.txt").write_bytes(content)
    with pytest.raises(ActionsFolderError) as err:
        load_action(folder)
    assert str(folder / "descriptors.txt") in str(err.value) and "UTF-8" in str(err.value)


def test_readable_descriptor_files_load(tmp_path, small_mp4):
    folder = tmp_path / "wave"
    folder.mkdir()
    (folder / "clip.mp4").write_bytes(small_mp4.read_bytes())
    (folder / "descriptors.txt").write_bytes("\ufeffle d\u00e9but\n\n  la fin  \n".encode("utf-8"))
    assert load_action(folder).descriptors == ["le d\u00e9but", "la fin"]


def test_binary_descriptors_on_the_command_line(tmp_path, small_mp4, capsys):
    folder = tmp_path / "actions" / "wave"
    folder.mkdir(parents=True)
    (folder / "clip.mp4").write_bytes(small_mp4.read_bytes())
    (folder / "descriptors.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff")
    code = main(["label", str(small_mp4), "--actions", str(tmp_path / "actions"), "--out", str(tmp_path / "o")])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "descriptors.txt" in errors[0]


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("kind", ["torch.save", "pickle"])
def test_pretrained_pickle_is_one_error_line_and_never_runs(kind, tmp_path, small_mp4, capsys):
    import torch

    marker = tmp_path / "pickle-ran"
    weights = tmp_path / "weights.pt"
    if kind == "torch.save":
        torch.save({"x": _Payload(marker)}, weights)
    else:
        weights.write_bytes(pickle.dumps({"x": _Payload(marker)}, protocol=2))
    folder = tmp_path / "actions" / "wave"
    folder.mkdir(parents=True)
    (folder / "clip.mp4").write_bytes(small_mp4.read_bytes())
    code = main(["label", str(small_mp4), "--actions", str(tmp_path / "actions"), "--out", str(tmp_path / "o"),
                 "--model", "star-tiny", "--pretrained", str(weights), "--device", "cpu",
                 "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "weights.pt" in errors[0], err
    assert "Traceback" not in err and not marker.exists()
