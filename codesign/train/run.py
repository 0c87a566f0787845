"""`codesign train DESIGN.json`: QAT of the design, integer export and accuracy, beside the design.

Writes, in the design's folder: train_checkpoint.pt (every epoch; `--resume` continues from it),
weights.npz (golden.py's format), vectors.npz (the first test images, their labels and the golden
model's classes), train_log.json (per-epoch loss and validation accuracy, the test accuracies and
the fake-quant / golden agreement), and design.json updated with `weights` and `accuracy`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from codesign.backend import golden
from codesign.data import load_dataset
from codesign.design import DesignPoint, load_design, save_design
from codesign.device import pick_device
from codesign.errors import CodesignError
from codesign.files import atomic_path, check_writable, run_lock, write_text
from codesign.train.export import export_params
from codesign.train.loop import Trainer, TrainSettings, predict
from codesign.train.model import QuantNet

DEFAULT_EPOCHS = TrainSettings.epochs
VECTOR_IMAGES = 16


def check_dataset(design: DesignPoint, splits) -> None:
    if tuple(splits.input_shape) != tuple(design.dataset.input_shape) or splits.num_classes != design.dataset.num_classes:
        raise CodesignError(f"dataset {splits.name!r} has input {tuple(splits.input_shape)} and {splits.num_classes} "
                            f"classes, the design expects {tuple(design.dataset.input_shape)} and "
                            f"{design.dataset.num_classes}; pass the design's dataset (--data-root)")


def evaluate(model: QuantNet, params: list[dict], test, device: str) -> tuple[dict, dict, np.ndarray]:
    """Test accuracies (float, fake_quant, integer); agreement of the fake-quant model with the golden
    model, plain and in exact mode; the golden classes."""
    images, labels = test
    float_pred = predict(model, images, quantize=False, device=device)
    fq_pred = predict(model, images, quantize=True, device=device)
    exact_pred = predict(model, images, quantize=True, device=device, exact=True)
    int_pred = golden.predict(model.design, params, images)
    acc = {"float": float((float_pred == labels).mean()), "fake_quant": float((fq_pred == labels).mean()),
           "integer": float((int_pred == labels).mean())}
    agreement = {"fake_quant": float((fq_pred == int_pred).mean()), "exact": float((exact_pred == int_pred).mean())}
    return acc, agreement, int_pred


def train_design(design_path: Path, splits, settings: TrainSettings, resume: bool = False) -> DesignPoint:
    """The whole of `codesign train` after argument parsing; returns the updated design. Every file is
    written atomically, so a kill at any point leaves the previous one whole."""
    design = load_design(design_path)
    check_dataset(design, splits)
    folder = design_path.parent
    torch.manual_seed(settings.seed)
    model = QuantNet(design)
    trainer = Trainer(model, settings, folder / "train_checkpoint.pt")
    if resume:
        trainer.resume()
    start = time.time()
    trainer.fit(splits.train, splits.val)
    params = export_params(model)
    with atomic_path(folder / "weights.npz") as tmp:
        golden.save_params(params, tmp)
        params = golden.load_params(design, tmp)  # validates ranges and shapes before it replaces the old file
    accuracy, agreement, int_pred = evaluate(model, params, splits.test, settings.device)
    images, labels = splits.test
    with atomic_path(folder / "vectors.npz") as tmp:
        np.savez_compressed(tmp, images=images[:VECTOR_IMAGES], labels=labels[:VECTOR_IMAGES],
                            golden_classes=int_pred[:VECTOR_IMAGES])
    design = design.model_copy(update={"weights": "weights.npz", "accuracy": accuracy})
    save_design(design, design_path)
    log = {"settings": settings.__dict__, "history": trainer.history, "accuracy": accuracy,
           "golden_agreement": agreement, "test_images": int(len(labels)),
           "seconds": round(time.time() - start, 1)}
    write_text(folder / "train_log.json", json.dumps(log, indent=2) + "\n")
    print(f"test accuracy on {len(labels)} images: float {accuracy['float']:.4f}, fake-quant "
          f"{accuracy['fake_quant']:.4f}, integer (golden) {accuracy['integer']:.4f}; the golden model's classes "
          f"agree with fake-quant on {agreement['fake_quant']:.2%}, with its exact mode on {agreement['exact']:.2%}")
    print(f"wrote {folder / 'weights.npz'}, {folder / 'vectors.npz'}, {design_path}")
    return design


def check_not_trained(design: DesignPoint, design_path: Path, args) -> None:
    """Trained weights are a result: replace them only when asked."""
    if design.weights and (design_path.parent / design.weights).is_file() and not (args.force or args.resume):
        raise CodesignError(f"{design_path} is already trained ({design_path.parent / design.weights}); pass "
                            f"--force to train it again and replace its weights, or --resume to continue")


def main(args) -> int:
    design_path = Path(args.design)
    design = load_design(design_path)
    check_not_trained(design, design_path, args)
    epochs = DEFAULT_EPOCHS if args.epochs is None else args.epochs   # the CLI checked it is >= 1
    device = pick_device(args.device)
    with run_lock(design_path.parent, "train"):
        for name in ("train_checkpoint.pt", "weights.npz", "vectors.npz", "train_log.json", design_path.name):
            check_writable(design_path.parent / name)
        splits = load_dataset(design.dataset.name, data_root=args.data_root, seed=design.split_seed or 0,
                              input_size=design.dataset.input_shape[:2])   # the search's split: no test leak
        train_design(design_path, splits, TrainSettings(epochs=epochs, seed=args.seed, device=device), args.resume)
    return 0
