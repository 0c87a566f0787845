"""Seconds per joint iteration (one architecture step + one weight step) of the CIFAR-100 preset
(22 searchable layers, batch 64) on synthetic CIFAR-shaped data, and seconds per accelerator
update (one batched Gumbel step over `accel_samples` candidates, and a full re-derivation of the
hardware loss). Runs on --device (default: cuda when present, else cpu).
The arch step runs the top-`--paths` hard Gumbel paths per slot (2: proxy_hard, the default;
1: the single-path step of the earlier code).
Usage: python bench/search_speed.py [--iters 5] [--device cpu] [--batch 64] [--paths 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from codesign.data import Splits
from codesign.search.loop import JointSearch, Options
from codesign.search.run import pick_device
from codesign.space.config import load_config
from codesign.targets import load_target


def synthetic_cifar100(n: int = 512) -> Splits:
    rng = np.random.default_rng(0)
    part = lambda k: (rng.integers(0, 256, (k, 32, 32, 3), dtype=np.uint8), rng.integers(0, 100, k))  # noqa: E731
    return Splits(part(n), part(128), part(128), num_classes=100, input_shape=(32, 32, 3), name="cifar100")


def timed(fn, sync):
    sync()
    t = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--device", default=None)
    p.add_argument("--paths", type=int, default=2)
    args = p.parse_args()
    device = pick_device(args.device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    config = load_config(dataset="cifar100")
    config.search.batch = args.batch
    config.search.paths = args.paths
    config.search.workers = 0
    with tempfile.TemporaryDirectory() as tmp:
        search = JointSearch(config, Options(out=Path(tmp), target=load_target("zc706"), device=device,
                                             progress=False), splits=synthetic_cifar100())
        t_update = timed(lambda: search.update_accelerator(1, 1.0), sync)
        engine_steps = [timed(lambda: search.engine.step(1.0), sync) for _ in range(5)]
        batches = search.weight_data.epoch(0, 1)
        arch = search.arch_data.epoch(0, 1)
        x, y = next(batches)
        xa, ya = next(arch)
        search.arch_step(xa, ya, 1.0)           # warm-up
        search.weight_step(x, y, 1.0)
        iters = [timed(lambda: (search.arch_step(xa, ya, 1.0), search.weight_step(x, y, 1.0)), sync)
                 for _ in range(args.iters)]
    n_layers = search.engine.tables.n_layers
    print(f"CIFAR-100 preset: {len(search.net.slots)} searchable layers, batch {args.batch}, device {device}, "
          f"torch threads {torch.get_num_threads()}")
    print(f"joint iteration (arch step with {args.paths} paths + weight step): median {np.median(iters):.3f} s over {len(iters)} "
          f"(min {min(iters):.3f} s)")
    print(f"accelerator step: {config.search.accel_samples} candidates x {config.accelerator.max_chunks} chunks x "
          f"{len(search.engine.grid)} configurations over {n_layers} layers at once: median "
          f"{np.median(engine_steps):.3f} s")
    print(f"accelerator update for a new network (cost tables + 1 step + derive + hardware loss): {t_update:.3f} s")


if __name__ == "__main__":
    main()
