import pickle

import pytest
import torch
from safetensors.torch import save_file

from star_model import create_model
from star_model.errors import CheckpointError
from star_model.nn.checkpoint import read_checkpoint, save_checkpoint


def test_round_trip_rebuilds_the_same_model(tmp_path):
    torch.manual_seed(0)
    model = create_model("star-tiny")
    with torch.no_grad():
        model.tsa.attn.out_proj.weight.normal_()
    path = save_checkpoint(tmp_path / "m.safetensors", model, model.cfg, {"step": 7})
    cfg, _, meta = read_checkpoint(path)
    assert cfg == model.cfg and meta == {"step": 7}
    loaded = create_model("star-tiny", checkpoint=path)
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name


def test_mismatched_tensors_are_refused_by_name(tmp_path):
    model = create_model("star-tiny")
    path = save_checkpoint(tmp_path / "m.safetensors", model, model.cfg)
    cfg, state, _ = read_checkpoint(path)
    state["tsa.time_pos"] = torch.zeros(3, 3)
    save_file(state, str(tmp_path / "bad.safetensors"), metadata={"star_config": __import__("json").dumps(cfg.to_dict())})
    with pytest.raises(CheckpointError, match=r"tsa\.time_pos has shape \(3, 3\)"):
        create_model("star-tiny", checkpoint=tmp_path / "bad.safetensors")
    del state["tsa.time_pos"]
    save_file(state, str(tmp_path / "short.safetensors"), metadata={"star_config": __import__("json").dumps(cfg.to_dict())})
    with pytest.raises(CheckpointError, match=r"missing 1 tensor\(s\), e.g. tsa\.time_pos"):
        create_model("star-tiny", checkpoint=tmp_path / "short.safetensors")


class _Trap:
    def __reduce__(self):
        return (open, ("/tmp/star-pickle-was-run", "w"))


def test_pickle_checkpoint_is_refused_not_unpickled(tmp_path):
    import os

    marker = "/tmp/star-pickle-was-run"
    if os.path.exists(marker):
        os.unlink(marker)
    for name, writer in [("a.pt", lambda p: torch.save({"x": _Trap()}, p)), ("b.pkl", lambda p: p.write_bytes(pickle.dumps(_Trap())))]:
        path = tmp_path / name
        writer(path)
        with pytest.raises(CheckpointError, match="pickle"):
            create_model("star-tiny", checkpoint=path)
    assert not os.path.exists(marker)


def test_foreign_or_missing_files_are_refused(tmp_path):
    (tmp_path / "x.safetensors").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        read_checkpoint(tmp_path / "x.safetensors")
    save_file({"w": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(CheckpointError, match="no STAR model config"):
        read_checkpoint(tmp_path / "plain.safetensors")
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint(tmp_path / "nope.safetensors")
