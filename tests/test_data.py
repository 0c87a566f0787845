"""Datasets: the built-in digits, CIFAR python format and ImageFolder from disk, clear errors."""

import pickle

import numpy as np
import pytest
import torch

from codesign.data import load_dataset, to_tensor
from codesign.errors import CodesignError


def test_digits_shapes_split_and_determinism():
    s = load_dataset("digits", seed=0)
    assert s.input_shape == (16, 16, 1) and s.num_classes == 10 and s.name == "digits"
    sizes = [len(part[1]) for part in (s.train, s.val, s.test)]
    assert sizes == [1079, 359, 359]
    for images, labels in (s.train, s.val, s.test):
        assert images.dtype == np.uint8 and images.shape[1:] == (16, 16, 1)
        assert labels.dtype == np.int64 and set(np.unique(labels)) <= set(range(10))
    assert s.train[0].max() == 255 and s.train[0].min() == 0
    again = load_dataset("digits", seed=0)
    assert np.array_equal(again.test[0], s.test[0]) and np.array_equal(again.test[1], s.test[1])
    other = load_dataset("digits", seed=1)
    assert not np.array_equal(other.test[1], s.test[1])


def test_to_tensor_is_images_over_255():
    images = np.arange(2 * 3 * 4 * 2, dtype=np.uint8).reshape(2, 3, 4, 2)
    t = to_tensor(images)
    assert t.shape == (2, 2, 3, 4) and t.dtype == torch.float32
    assert torch.equal(t, torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255)


def _write_cifar10(folder, per_batch=6):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 b"labels": list(rng.integers(0, 10, per_batch))}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)


def test_cifar10_python_format(tmp_path, monkeypatch):
    import codesign.data as data
    _write_cifar10(tmp_path / "cifar-10-batches-py")
    monkeypatch.setattr(data, "_split", lambda x, y, seed, n_val, n_test, name="": ((x[:20], y[:20]), (x[20:], y[20:]), None))
    s = load_dataset("cifar10", str(tmp_path))
    assert s.input_shape == (32, 32, 3) and s.num_classes == 10
    assert s.train[0].shape == (20, 32, 32, 3) and s.val[0].shape == (10, 32, 32, 3)
    assert s.test[0].shape == (6, 32, 32, 3)
    with open(tmp_path / "cifar-10-batches-py" / "data_batch_1", "rb") as f:
        first = pickle.load(f)[b"data"][0]
    assert np.array_equal(s.train[0][0][..., 0].ravel(), first[:1024])   # red plane first


def test_imagefolder(tmp_path):
    from PIL import Image
    for part, n in (("train", 10), ("val", 3)):
        for cls in ("cat", "dog"):
            (tmp_path / part / cls).mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", (40, 30), (i * 20, 0, 255 if cls == "dog" else 0)).save(tmp_path / part / cls / f"{i}.png")
    s = load_dataset("imagefolder", str(tmp_path), input_size=(24, 20))
    assert s.input_shape == (24, 20, 3) and s.num_classes == 2
    assert len(s.train[1]) == 18 and len(s.val[1]) == 2 and len(s.test[1]) == 6
    assert s.test[0].shape == (6, 24, 20, 3)
    assert sorted(s.test[1].tolist()) == [0, 0, 0, 1, 1, 1]


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "imagefolder"])
def test_missing_dataset_names_the_folder(tmp_path, name):
    with pytest.raises(CodesignError) as e:
        load_dataset(name, str(tmp_path))
    message = str(e.value)
    assert "\n" not in message and str(tmp_path) in message
    with pytest.raises(CodesignError, match="unknown dataset"):
        load_dataset("mnist")
