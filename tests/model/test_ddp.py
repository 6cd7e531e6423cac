"""Two CPU processes (gloo on 127.0.0.1) train with DDP: different episodes, identical weights."""
from __future__ import annotations

import hashlib
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, port: int, out: str) -> None:
    from pathlib import Path

    from star_model.train.loop import TrainConfig, train
    from tests.model.test_train import CFG, micro_model, toy_sources

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        model = micro_model(seed=rank)  # different inits: DDP must broadcast rank 0's weights
        train_set, val_set = toy_sources(micro_model(seed=0), n_classes=6, clips=3)
        losses = []
        train(model, train_set, val_set, TrainConfig(steps=4, val_every=2, **CFG),
              progress=lambda s, t, m: losses.append(m["loss"]), out_dir=Path(out) / "run")
        h = hashlib.sha256()
        for name, tensor in model.state_dict().items():
            h.update(name.encode())
            h.update(tensor.contiguous().numpy().tobytes())
        (Path(out) / f"rank{rank}.txt").write_text(f"{h.hexdigest()} {losses[0]!r}")
    finally:
        dist.destroy_process_group()


def test_two_ranks_end_with_identical_weights(tmp_path):
    mp.spawn(_worker, args=(_free_port(), str(tmp_path)), nprocs=2, join=True)
    (h0, loss0), (h1, loss1) = [(tmp_path / f"rank{r}.txt").read_text().split() for r in (0, 1)]
    assert h0 == h1
    assert loss0 != loss1  # each rank drew its own episode
    assert (tmp_path / "run" / "last.safetensors").is_file() and (tmp_path / "run" / "last.optim.safetensors").is_file()
