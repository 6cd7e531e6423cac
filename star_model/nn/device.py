"""Device selection: the one place that decides between CUDA and the CPU."""
from __future__ import annotations

import torch


def select_device(choice: str = "auto") -> torch.device:
    """``auto`` picks CUDA when available, else the CPU; ``cuda`` without a GPU is an error."""
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA GPU is available; use 'auto' or 'cpu'")
    if choice not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {choice!r}; use auto, cpu or cuda")
    return torch.device(choice)
