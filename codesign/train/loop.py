"""The training loop: float warm-up, then quantisation-aware training; checkpoints every epoch.

The first `float_epochs` train the float network (quantisers off); then every activation scale
is calibrated on a batch and the rest are QAT. One cosine learning-rate schedule spans both.
"""

from __future__ import annotations

import copy
import pickle
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from codesign.data import to_tensor
from codesign.errors import CodesignError
from codesign.files import atomic_path
from codesign.train.model import QuantNet


PROGRESS = sys.stderr.isatty()   # progress bars on a terminal only


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 24
    batch_size: int = 32
    lr: float = 2e-2
    weight_decay: float = 1e-4
    seed: int = 0
    device: str = "cpu"

    @property
    def float_epochs(self) -> int:
        """A quarter of the epochs warm up in float (none when there are fewer than 4)."""
        return self.epochs // 4


def to_float(images: np.ndarray, device: str) -> torch.Tensor:
    """uint8 NHWC -> float NCHW in [0, 1] (the input scale 1/255) on the device."""
    return to_tensor(images).to(device)


@torch.no_grad()
def predict(model: QuantNet, images: np.ndarray, quantize: bool, device: str, exact: bool = False,
            batch: int = 256) -> np.ndarray:
    """Classes in eval mode; `exact` runs a float64 copy that requantises as the integer export does."""
    if exact:
        model = copy.deepcopy(model).double()
    was = (model.training, model.quantize, model.exact)
    model.eval()
    model.quantize, model.exact = quantize, exact
    dtype = next(model.parameters()).dtype
    out = [model(to_float(images[i:i + batch], device).to(dtype)).argmax(1).cpu().numpy()
           for i in range(0, len(images), batch)]
    model.train(was[0])
    model.quantize, model.exact = was[1], was[2]
    return np.concatenate(out)


def accuracy(model: QuantNet, split: tuple[np.ndarray, np.ndarray], quantize: bool, device: str) -> float:
    images, labels = split
    return float((predict(model, images, quantize, device) == labels).mean())


class Trainer:
    """Owns the model, optimiser, schedule and the checkpoint file."""

    def __init__(self, model: QuantNet, settings: TrainSettings, checkpoint: Path):
        self.model, self.settings, self.checkpoint = model.to(settings.device), settings, checkpoint
        self.optim = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
        self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(self.optim, T_max=max(settings.epochs, 1))
        self.epoch = 0  # epochs completed
        self.history: list[dict] = []

    def design_key(self) -> str:
        """The design's digest without its weights file (training writes that field)."""
        return self.model.design.model_copy(update={"weights": None}).digest()

    def save(self) -> None:
        with atomic_path(self.checkpoint) as tmp:  # a kill mid-write keeps the last whole checkpoint
            torch.save({"epoch": self.epoch, "digest": self.design_key(), "model": self.model.state_dict(),
                        "optim": self.optim.state_dict(), "sched": self.sched.state_dict(),
                        "history": self.history}, tmp)

    def resume(self) -> None:
        if not self.checkpoint.is_file():
            raise CodesignError(f"{self.checkpoint}: no checkpoint to resume from; run without --resume")
        try:
            state = torch.load(self.checkpoint, map_location=self.settings.device, weights_only=False)
            digest = state["digest"]
        except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, KeyError,
                TypeError) as e:
            raise CodesignError(f"{self.checkpoint}: unreadable checkpoint ({type(e).__name__}); it was cut short or "
                                f"is not a training checkpoint: delete it and run without --resume") from None
        if digest != self.design_key():
            raise CodesignError(f"{self.checkpoint}: checkpoint is of another design; delete it or run without --resume")
        self.model.load_state_dict(state["model"])
        self.optim.load_state_dict(state["optim"])
        self.sched.load_state_dict(state["sched"])
        self.epoch, self.history = state["epoch"], state["history"]

    def run_epoch(self, train: tuple[np.ndarray, np.ndarray]) -> float:
        s, model = self.settings, self.model
        images, labels = train
        gen = torch.Generator().manual_seed(s.seed * 1000 + self.epoch)
        order = torch.randperm(len(images), generator=gen).numpy()
        model.quantize = self.epoch >= s.float_epochs
        if self.epoch == s.float_epochs:
            model.train()
            model.calibrate(to_float(images[order[:256]], s.device))
        model.train()
        total, count = 0.0, 0
        batches = range(0, len(images), s.batch_size)
        phase = "qat" if model.quantize else "float"
        for start in tqdm(batches, desc=f"epoch {self.epoch + 1}/{s.epochs} {phase}", leave=False, unit="batch",
                          disable=not PROGRESS):
            idx = order[start:start + s.batch_size]
            x = to_float(images[idx], s.device)
            y = torch.from_numpy(labels[idx]).to(s.device)
            loss = F.cross_entropy(model(x), y)
            self.optim.zero_grad(set_to_none=True)
            loss.backward()
            self.optim.step()
            total += loss.item() * len(idx)
            count += len(idx)
        self.sched.step()
        return total / max(count, 1)

    def fit(self, train, val) -> None:
        torch.manual_seed(self.settings.seed)
        bar = tqdm(total=self.settings.epochs, initial=self.epoch, desc="train", unit="epoch", disable=not PROGRESS)
        while self.epoch < self.settings.epochs:
            loss = self.run_epoch(train)
            self.epoch += 1
            val_acc = accuracy(self.model, val, self.model.quantize, self.settings.device)
            self.history.append({"epoch": self.epoch, "train_loss": loss, "val_acc": val_acc,
                                 "quantized": self.model.quantize})
            self.save()
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", val_acc=f"{val_acc:.3f}")
            if not PROGRESS:  # plain lines for logs and pipes, not tqdm's escape codes
                print(f"train epoch {self.epoch}/{self.settings.epochs}: loss {loss:.3f}, val_acc {val_acc:.3f}",
                      flush=True)
        bar.close()
        self.model.quantize = True
