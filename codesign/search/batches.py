"""Streaming batches of one half of the training split: images stay uint8 on the host, a DataLoader
moves one batch at a time to the device (pinned memory on CUDA), where it is scaled to [0, 1] and,
when asked, augmented the standard CIFAR way (zero-pad 4, random 32x32 crop, horizontal flip).

The order and the augmentation are pure functions of (seed, epoch, salt), so a resumed search
sees the same batches as an uninterrupted one.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

PAD = 4


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random crop of the zero-padded batch and random horizontal flip, one draw per image."""
    n, c, h, w = x.shape
    dy, dx = (torch.randint(0, 2 * PAD + 1, (n, 1), generator=gen) for _ in range(2))
    flip = torch.rand(n, 1, generator=gen) < 0.5
    rows = dy + torch.arange(h)
    cols = dx + torch.arange(w)
    cols = torch.where(flip, cols.flip(1), cols)
    dev = x.device
    xp = F.pad(x, (PAD, PAD, PAD, PAD))
    return xp[torch.arange(n, device=dev)[:, None, None, None], torch.arange(c, device=dev)[None, :, None, None],
              rows.to(dev)[:, None, :, None], cols.to(dev)[:, None, None, :]]


class Batches:
    def __init__(self, images: np.ndarray, labels: np.ndarray, batch: int, device: str, seed: int, salt: int,
                 augment: bool = False, workers: int = 0):
        data = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))   # uint8 NCHW
        self.dataset = TensorDataset(data, torch.from_numpy(labels).long())
        self.batch, self.device, self.seed, self.salt = batch, device, seed, salt
        self.augment, self.workers = augment, workers

    def __len__(self) -> int:
        return len(self.dataset)

    def epoch(self, epoch: int, steps: int = 0):
        """`steps` batches (0: one pass) of a seeded permutation, cycling when it runs out."""
        g = torch.Generator().manual_seed(self.seed * 1000003 + epoch * 2 + self.salt)
        order = torch.randperm(len(self), generator=g)
        per_pass = max(1, len(self) // self.batch)
        steps = steps or per_pass
        batches = [order[(i % per_pass) * self.batch:((i % per_pass) + 1) * self.batch].tolist() for i in range(steps)]
        loader = DataLoader(self.dataset, batch_sampler=batches, num_workers=self.workers,
                            pin_memory=self.device.startswith("cuda"))
        for x, y in loader:
            x = x.to(self.device, non_blocking=True).float() / 255.0
            if self.augment:
                x = augment(x, g)
            yield x, y.to(self.device, non_blocking=True)
