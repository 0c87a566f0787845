"""Datasets as uint8 channels-last arrays, split once with a fixed seed.

- ``digits``: scikit-learn's handwritten digits (shipped inside the sklearn wheel, no download),
  8x8 in 0..16, upsampled bilinearly to 16x16x1 uint8 in 0..255; a seeded 60/20/20 split.
- ``cifar10`` / ``cifar100``: the standard python-format folders ``cifar-10-batches-py`` /
  ``cifar-100-python`` under ``data_root`` (or ``data_root`` itself being that folder); the last
  5,000 of a seeded permutation of the training set are the validation split, the test batch
  is the test split.
- ``imagefolder``: ``data_root/train/<class>/*.png|jpg`` and ``data_root/val/<class>/...`` read
  with Pillow and resized to ``input_size``; 10 % of train (seeded) is the validation split, the
  ``val`` folder is the test split.

Float input to networks is ``images / 255`` (``to_tensor``); the integer (golden) input is the
uint8 image itself, i.e. scale 1/255.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from codesign.errors import CodesignError

DATASETS = ("digits", "cifar10", "cifar100", "imagefolder")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


@dataclass
class Splits:
    """images uint8 (N, H, W, C) channels-last, labels int64 (N,)."""
    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    num_classes: int
    input_shape: tuple[int, int, int]   # (H, W, C)
    name: str


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 NHWC -> float32 NCHW in [0, 1] (= images / 255)."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255.0)


def load_dataset(name: str = "digits", data_root: str | None = None, seed: int = 0,
                 input_size: tuple[int, int] | None = None) -> Splits:
    """Load ``name`` (see the module docstring); ``input_size`` (H, W) only for imagefolder."""
    if name == "digits":
        return _digits(seed)
    if name in ("cifar10", "cifar100"):
        return _cifar(name, data_root, seed)
    if name == "imagefolder":
        return _imagefolder(data_root, seed, input_size or (32, 32))
    raise CodesignError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")


def _split(images: np.ndarray, labels: np.ndarray, seed: int, n_val: int, n_test: int, name: str = "dataset"):
    if len(labels) <= n_val + n_test:
        held = f"{n_val}-image validation split" + (f" and {n_test}-image test split" if n_test else "")
        raise CodesignError(f"{name}: {len(labels)} training images leave none to train on after the {held}; "
                            f"give the complete dataset (--data-root)")
    order = np.random.default_rng(seed).permutation(len(labels))
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    return (images[train], labels[train]), (images[val], labels[val]), (images[test], labels[test])


def _digits(seed: int) -> Splits:
    from sklearn.datasets import load_digits
    d = load_digits()
    x = torch.from_numpy(d.images.astype(np.float32) / 16.0)[:, None]          # (N, 1, 8, 8)
    up = torch.nn.functional.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False)
    images = np.clip(np.rint(up.numpy() * 255.0), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
    labels = d.target.astype(np.int64)
    n = len(labels)
    train, val, test = _split(images, labels, seed, n_val=n // 5, n_test=n // 5)
    return Splits(train, val, test, num_classes=10, input_shape=(16, 16, 1), name="digits")


def _cifar_folder(name: str, data_root: str | None) -> Path:
    folder = "cifar-10-batches-py" if name == "cifar10" else "cifar-100-python"
    archive = "cifar-10-python.tar.gz" if name == "cifar10" else "cifar-100-python.tar.gz"
    hint = (f"put the python-format {name} folder {folder}/ (unpacked from {archive}, "
            f"https://www.cs.toronto.edu/~kriz/cifar.html) under --data-root")
    if data_root is None:
        raise CodesignError(f"{name} needs --data-root: {hint}")
    root = Path(data_root)
    for candidate in (root / folder, root):
        if (candidate / ("test_batch" if name == "cifar10" else "test")).is_file():
            return candidate
    raise CodesignError(f"{name} not found at {root / folder}: {hint}")


CIFAR_PIXELS = 3 * 32 * 32
# What a garbage or cut-short pickle raises; the CIFAR format is a pickle, so these are the file's fault.
PICKLE_ERRORS = (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError,
                 IndexError, KeyError, UnicodeDecodeError, OverflowError, MemoryError)


def _unpickle(path: Path, label_key: bytes, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 NHWC, labels int64) of one CIFAR python batch, every field checked."""
    if not path.is_file():
        raise CodesignError(f"missing {path}: unpack the complete CIFAR archive there")
    remedy = "unpack the CIFAR archive again"
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
    except PICKLE_ERRORS as e:
        raise CodesignError(f"{path}: not a CIFAR python batch ({type(e).__name__}: "
                            f"{str(e)[:80]}); the file is cut short or corrupt: {remedy}") from None
    if not isinstance(batch, dict) or b"data" not in batch or label_key not in batch:
        raise CodesignError(f"{path}: a CIFAR batch is a dict with b'data' and {label_key!r}, this one has "
                            f"{sorted(batch)[:4] if isinstance(batch, dict) else type(batch).__name__}; {remedy}")
    try:
        data = np.asarray(batch[b"data"])
        labels = np.asarray(batch[label_key])
    except (ValueError, TypeError) as e:
        raise CodesignError(f"{path}: b'data' or {label_key!r} is not an array ({e}); {remedy}") from None
    if data.ndim != 2 or data.shape[1] != CIFAR_PIXELS or labels.shape != (len(data),):
        raise CodesignError(f"{path}: b'data' has shape {data.shape} and {label_key!r} {labels.shape}; CIFAR "
                            f"needs (N, {CIFAR_PIXELS}) and (N,): {remedy}")
    if not (np.issubdtype(data.dtype, np.integer) and np.issubdtype(labels.dtype, np.integer)):
        raise CodesignError(f"{path}: pixels or labels are not integers ({data.dtype}, {labels.dtype}); {remedy}")
    if len(data) == 0:
        raise CodesignError(f"{path}: holds no images; {remedy}")
    if data.min() < 0 or data.max() > 255:
        raise CodesignError(f"{path}: pixel values outside 0..255; {remedy}")
    if labels.min() < 0 or labels.max() >= classes:
        raise CodesignError(f"{path}: label {int(labels.max() if labels.max() >= classes else labels.min())} "
                            f"is outside 0..{classes - 1}; is this the other CIFAR? {remedy}")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.uint8)
    return np.ascontiguousarray(images), labels.astype(np.int64)


def _cifar_arrays(paths: list[Path], label_key: bytes, classes: int) -> tuple[np.ndarray, np.ndarray]:
    parts = [_unpickle(p, label_key, classes) for p in paths]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _cifar(name: str, data_root: str | None, seed: int) -> Splits:
    folder = _cifar_folder(name, data_root)
    if name == "cifar10":
        train_files, test_files, key, classes = [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], b"labels", 10
    else:
        train_files, test_files, key, classes = ["train"], ["test"], b"fine_labels", 100
    images, labels = _cifar_arrays([folder / f for f in train_files], key, classes)
    test = _cifar_arrays([folder / f for f in test_files], key, classes)
    train, val, _ = _split(images, labels, seed, n_val=5000, n_test=0, name=f"{name} at {folder}")
    return Splits(train, val, test, num_classes=classes, input_shape=(32, 32, 3), name=name)


def _read_image_folder(folder: Path, classes: list[str], size: tuple[int, int]):
    from PIL import Image
    images, labels = [], []
    for index, cls in enumerate(classes):
        for path in sorted((folder / cls).iterdir()) if (folder / cls).is_dir() else []:
            if path.suffix.lower() in IMAGE_SUFFIXES:
                try:
                    with Image.open(path) as im:
                        im = im.convert("RGB").resize((size[1], size[0]), Image.BILINEAR)
                        images.append(np.asarray(im, dtype=np.uint8))
                except (OSError, ValueError, SyntaxError) as e:   # PIL's errors for a damaged file
                    raise CodesignError(f"{path}: not a readable image ({str(e)[:80]}); replace or remove it") from None
                labels.append(index)
    if not images:
        raise CodesignError(f"no images in {folder}/<class>/: put *.png or *.jpg files there")
    return np.stack(images), np.asarray(labels, dtype=np.int64)


def _imagefolder(data_root: str | None, seed: int, size: tuple[int, int]) -> Splits:
    hint = "lay images out as DATA_ROOT/train/<class>/*.png|jpg and DATA_ROOT/val/<class>/*.png|jpg"
    if data_root is None:
        raise CodesignError(f"imagefolder needs --data-root: {hint}")
    root = Path(data_root)
    for part in ("train", "val"):
        if not (root / part).is_dir():
            raise CodesignError(f"missing folder {root / part}: {hint}")
    classes = sorted(p.name for p in (root / "train").iterdir() if p.is_dir())
    if not classes:
        raise CodesignError(f"no class folders in {root / 'train'}: {hint}")
    images, labels = _read_image_folder(root / "train", classes, size)
    test = _read_image_folder(root / "val", classes, size)
    train, val, _ = _split(images, labels, seed, n_val=max(1, len(labels) // 10), n_test=0, name=f"imagefolder {root}")
    return Splits(train, val, test, num_classes=len(classes), input_shape=(size[0], size[1], 3),
                  name="imagefolder")
