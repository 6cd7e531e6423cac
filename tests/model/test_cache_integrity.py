"""Feature cache integrity: a flipped bit in an entry's tensors or metadata is a miss, never used."""
from __future__ import annotations

import json
import struct

import pytest
import torch

from star_model.engine.features import FeatureCache, FrameEmbedder


def _layout(path):
    """(offset of the tensor data, the header JSON) of a safetensors file."""
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    return 8 + n, json.loads(data[8: 8 + n])


def _flip(path, offset: int, bit: int = 3) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 1 << bit
    path.write_bytes(bytes(data))


def _entry(cache: FeatureCache, key: str):
    return cache.root / next(p.name for p in cache.root.glob("*.safetensors") if cache.load(key) is not None)


@pytest.mark.parametrize("where", ["tensor", "metadata"])
def test_a_flipped_bit_is_a_miss(where, tmp_path, caplog):
    cache = FeatureCache(tmp_path / "cache")
    feats = torch.randn(40, 16)
    cache.save("video|k", {"feats": feats, "frames": torch.arange(40)}, {"times": [i / 4 for i in range(40)]})
    path = _entry(cache, "video|k")
    start, header = _layout(path)
    if where == "tensor":
        _flip(path, start + header["feats"]["data_offsets"][0] + 37)
    else:  # a digit of the stored times: still valid JSON, different times
        text = path.read_bytes()
        at = text.index(b"9.75") + 2
        _flip(path, at, bit=0)  # '7' -> '6'
    assert cache.load("video|k") is None
    assert "checksum" in caplog.text and not path.exists()


def test_a_flipped_entry_is_recomputed_and_overwritten(tiny_model, small_mp4, tmp_path, caplog):
    cache = FeatureCache(tmp_path / "cache")
    reference = FrameEmbedder(tiny_model, cache).video(str(small_mp4), rate=4.0)
    (path,) = (tmp_path / "cache").glob("*.safetensors")
    start, header = _layout(path)
    _flip(path, start + header["feats"]["data_offsets"][0] + 2)  # the exponent of the first feature
    again = FrameEmbedder(tiny_model, cache)
    feats = again.video(str(small_mp4), rate=4.0)
    assert again.embedded[str(small_mp4)] == len(reference.times), "the damaged entry was used"
    assert torch.equal(feats.feats, reference.feats) and "checksum" in caplog.text
    third = FrameEmbedder(tiny_model, cache)
    assert torch.equal(third.video(str(small_mp4), rate=4.0).feats, reference.feats)
    assert third.embedded[str(small_mp4)] == 0, "the recomputed entry was not written back"
