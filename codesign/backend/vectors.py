"""The test images a generated project is simulated on (`codesign sim` and `codesign csim` alike):
the first N of DIR/vectors.npz, which `codesign train` writes with their labels, or seeded random
images when the design is untrained."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from codesign.design import DesignPoint
from codesign.errors import CodesignError

IMAGE_SEED = 1


def seeded_images(design: DesignPoint, count: int = 1) -> np.ndarray:
    rng = np.random.default_rng(IMAGE_SEED)
    return rng.integers(0, 256, size=(count, *design.dataset.input_shape)).astype(np.uint8)


def choose_images(design: DesignPoint, hw_dir: Path, count: int | None) -> tuple[np.ndarray, str, list | None]:
    """(images, source, labels): the first `count` of DIR/vectors.npz (default all) and their labels
    when it has them, else `count` (default 1) seeded random ones."""
    if count is not None and count < 1:
        raise CodesignError(f"--images {count}: give a positive number of test images")
    path = Path(hw_dir) / "vectors.npz"
    if not path.is_file():
        return seeded_images(design, count or 1), "seeded_random", None
    data = np.load(path)
    if "images" not in data:
        raise CodesignError(f"{path}: no 'images' array; regenerate it with `codesign train`")
    images = data["images"]
    if images.ndim != 4 or tuple(images.shape[1:]) != tuple(design.dataset.input_shape):
        raise CodesignError(f"{path}: 'images' has shape {images.shape}, the design needs (B, "
                            f"{', '.join(map(str, design.dataset.input_shape))}); regenerate it with `codesign train`")
    labels = data["labels"].tolist() if "labels" in data else None
    if count:
        images, labels = images[:count], labels and labels[:count]
    return images, "vectors.npz", labels
