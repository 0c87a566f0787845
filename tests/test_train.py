"""`codesign train` through the CLI on digits: accuracy, rung 1 (fake quant vs golden), export, resume."""

import json
import shutil

import numpy as np
import pytest
from conftest import run_cli

from codesign.backend import golden
from codesign.backend.ir import design_params
from codesign.data import load_dataset
from codesign.design import load_design


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """two_chunk_mixed (mixed 4/6/8 bits, residual add, both pools) trained for 12 epochs."""
    from conftest import EXAMPLES
    run = tmp_path_factory.mktemp("run")
    shutil.copy(EXAMPLES / "two_chunk_mixed.json", run / "design.json")
    proc = run_cli("train", run / "design.json", "--epochs", "12", check=True)
    return run, proc


@pytest.mark.slow
def test_train_exports_weights_and_accuracy(trained):
    run, proc = trained
    design = load_design(run / "design.json")
    assert design.weights == "weights.npz"
    assert set(design.accuracy) == {"float", "fake_quant", "integer"}
    # measured (12 epochs, seed 0): float 0.939, fake-quant 0.916, integer 0.911 on 359 test images
    assert design.accuracy["integer"] >= 0.85
    # rung 1: the integer model is within a point of the fake-quant one, and agrees with it on >= 99 %
    assert abs(design.accuracy["integer"] - design.accuracy["fake_quant"]) <= 0.01
    log = json.loads((run / "train_log.json").read_text())
    assert log["golden_agreement"]["fake_quant"] >= 0.99
    assert log["golden_agreement"]["exact"] == 1.0
    assert [h["epoch"] for h in log["history"]] == list(range(1, 13))
    assert [h["quantized"] for h in log["history"]] == [False] * 3 + [True] * 9
    assert "integer (golden)" in proc.stdout


@pytest.mark.slow
def test_exported_weights_reproduce_the_integer_accuracy(trained):
    run, _ = trained
    design = load_design(run / "design.json")
    params = design_params(design, run)  # what the backends load
    images, labels = load_dataset("digits").test
    accuracy = float((golden.predict(design, params, images) == labels).mean())
    assert accuracy == design.accuracy["integer"]
    vectors = np.load(run / "vectors.npz")
    assert vectors["images"].shape == (16, 16, 16, 1) and vectors["images"].dtype == np.uint8
    np.testing.assert_array_equal(vectors["images"], images[:16])
    np.testing.assert_array_equal(vectors["labels"], labels[:16])
    np.testing.assert_array_equal(vectors["golden_classes"], golden.predict(design, params, vectors["images"]))


@pytest.mark.slow
def test_resume_continues_from_the_checkpoint(trained, tmp_path):
    run, _ = trained
    for name in ("design.json", "train_checkpoint.pt"):
        shutil.copy(run / name, tmp_path / name)
    run_cli("train", tmp_path / "design.json", "--epochs", "14", "--resume", check=True)
    history = json.loads((tmp_path / "train_log.json").read_text())["history"]
    assert [h["epoch"] for h in history] == list(range(1, 15))
    assert history[:12] == json.loads((run / "train_log.json").read_text())["history"]


def test_resume_without_a_checkpoint_is_a_one_line_error(tmp_path, example_path):
    shutil.copy(example_path("two_chunk_mixed"), tmp_path / "design.json")
    proc = run_cli("train", tmp_path / "design.json", "--resume")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "no checkpoint to resume from" in proc.stderr


def test_zero_epochs_is_refused(tmp_path, example_path):
    shutil.copy(example_path("two_chunk_mixed"), tmp_path / "design.json")
    proc = run_cli("train", tmp_path / "design.json", "--epochs", "0")
    assert proc.returncode == 2 and "argument --epochs: 0 is too small: give a positive number" in proc.stderr


def test_a_design_for_another_dataset_shape_is_refused(tmp_path, example_dict):
    d = example_dict("two_chunk_mixed")
    d["dataset"]["num_classes"] = 12
    d["layers"][-1]["out_shape"] = [1, 1, 12]
    (tmp_path / "design.json").write_text(json.dumps(d))
    proc = run_cli("train", tmp_path / "design.json", "--epochs", "1")
    assert proc.returncode == 2 and "12" in proc.stderr and proc.stderr.count("\n") == 1
