"""The torch device of `search` and `train`: checked once, with one thread on the CPU."""

from __future__ import annotations

import torch

from codesign.errors import CodesignError

CPU_THREADS = 1   # small per-layer ops: one thread is several times faster on shared, busy cores


def pick_device(name: str | None) -> str:
    """`name` is already of the form cpu | cuda | cuda:N (the CLI checks it); None picks cuda when present."""
    if name is None:
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        torch.set_num_threads(CPU_THREADS)
        return name
    if not torch.cuda.is_available():
        raise CodesignError(f"--device {name}: no CUDA GPU is visible to torch; use --device cpu")
    index = int(name.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise CodesignError(f"--device {name}: torch sees {torch.cuda.device_count()} GPU(s), "
                            f"numbered from 0; pick one of them")
    return name
