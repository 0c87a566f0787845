"""C simulation of the generated HLS project (g++ + ap_types) against the golden model, bit for bit.

Each g++ build runs a whole network, so one compile covers many layers: the two examples and
seeded random designs that together hold every layer kind, weight and activation bits 2..8,
signed and unsigned inputs, both dataflows, odd array shapes and several chunks; and random
designs whose layers run in tiles (sim/designs.py:random_tiled_design).
"""

import json

import numpy as np
import pytest

from codesign.backend import hls
from codesign.backend.csim import main as csim_main
from codesign.backend.csim import run_csim
from codesign.backend.golden import predict
from codesign.backend.ir import design_params, lower
from codesign.design import DesignPoint, load_design, save_design
from conftest import EXAMPLES, run_cli

from designs import random_design as shared_random_design
from designs import random_tiled_design, run_seed, tile_counts

# (seed, chunks) of sim/designs.py's generator: four from this run's fresh seed (CODESIGN_SEED replays
# it), and seeds 1 and 137 with four chunks, which together cover every kind on both dataflows, every
# bit width and a 3-bit (LUT multiplier) chunk whatever the fresh seed draws (a fresh draw alone may not)
RANDOM = [(run_seed() + 1000 + i, 2 + i % 3) for i in range(4)] + [(1, 4), (137, 4)]


def make_project(design: DesignPoint, out, images=None):
    """DIR as `codesign hw` leaves it for the HLS side: design.json, manifest.json, hls/."""
    out.mkdir(parents=True, exist_ok=True)
    save_design(design, out / "design.json")
    (out / "manifest.json").write_text(json.dumps({"design_name": design.name, "design_digest": design.digest(),
                                                   "target": design.accelerator.target}))
    if images is not None:
        labels = np.arange(len(images)) % design.dataset.num_classes
        np.savez(out / "vectors.npz", images=images, labels=labels)
    hls.render(design, lower(design), design_params(design, out), out / "hls")
    return out


def random_design(index: int) -> DesignPoint:
    """The index-th of the random designs: the RTL tests' generator, every chunk its own array."""
    return shared_random_design(*RANDOM[index])


def assert_bit_exact(result, design):
    assert [layer["index"] for layer in result["layers"]] == list(range(len(design.layers)))
    for layer in result["layers"]:
        assert layer["elements"] > 0 and layer["mismatches"] == 0, layer
    assert result["bit_exact"] is True
    assert all(im["match"] for im in result["images"])


def test_random_designs_cover_every_kind_bits_and_dataflow():
    designs = [random_design(i) for i in range(len(RANDOM))]
    seen = {(layer.kind, c.dataflow) for d in designs for c in d.accelerator.chunks
            for layer in d.layers[c.first_layer:c.last_layer + 1]}
    kinds = ("conv", "dwconv", "fc", "avgpool", "maxpool", "add")
    assert {(k, df) for k in kinds for df in ("os", "ws")} <= seen
    assert {layer.w_bits for d in designs for layer in d.layers if layer.w_bits} == set(range(2, 9))
    assert {layer.a_bits for d in designs for layer in d.layers} == set(range(2, 9))
    in_signed = {(layer.kind, d.layers[layer.inputs[0]].relu) for d in designs for layer in d.layers
                 if layer.inputs[0] >= 0}
    assert {(k, r) for k in kinds for r in (False, True)} <= in_signed
    assert {len(d.accelerator.chunks) for d in designs} == {2, 3, 4}
    chunks = [c for d in designs for c in d.accelerator.chunks]
    assert {3, 8} <= {c.mult_bits for c in chunks}   # a 3-bit PE array (4-bit activations) among them
    assert len({(c.rows, c.cols) for c in chunks}) >= 8


@pytest.mark.parametrize("index", range(len(RANDOM)))
def test_csim_random_design_bit_exact(tmp_path, index):
    """Three images as three frames, each at its own frame base in one DRAM."""
    design = random_design(index)
    images = np.random.default_rng(100 + index).integers(0, 256, size=(3, *design.dataset.input_shape),
                                                         dtype=np.uint8)
    result = run_csim(make_project(design, tmp_path, images))
    assert result["image_source"] == "vectors.npz" and len(result["images"]) == 3
    assert_bit_exact(result, design)
    golden = predict(design, design_params(design, tmp_path), images)
    assert [im["class"] for im in result["images"]] == golden.tolist()


@pytest.mark.parametrize("combo", [0, 1])
def test_csim_tiled_design_bit_exact(tmp_path, combo):
    """Layers larger than their buffers run from the RTL's table rows (bands, slices, both loop
    orders, OS and WS), two frames."""
    design = random_tiled_design(run_seed() + 2000 + combo, combo)
    assert any(s > 1 and b > 1 for s, b in tile_counts(design))
    images = np.random.default_rng(combo).integers(0, 256, size=(2, *design.dataset.input_shape), dtype=np.uint8)
    result = run_csim(make_project(design, tmp_path, images))
    assert_bit_exact(result, design)
    assert [im["class"] for im in result["images"]] == predict(design, design_params(design, tmp_path), images).tolist()


@pytest.mark.parametrize("name", ["single_chunk_os_int8", "two_chunk_mixed"])
def test_csim_examples_bit_exact(tmp_path, name):
    design = load_design(EXAMPLES / f"{name}.json")
    result = run_csim(make_project(design, tmp_path))
    assert result["image_source"] == "seeded_random" and len(result["images"]) == 1
    assert_bit_exact(result, design)


def test_csim_reports_a_mismatch(tmp_path, monkeypatch):
    """Golden vectors from other weights must fail, layer by layer, with a non-zero exit."""
    design = load_design(EXAMPLES / "two_chunk_mixed.json")
    out = make_project(design, tmp_path)
    other = design_params(design, seed=7)
    real_write = hls.write_vectors

    def write_wrong(design_, ir, params, images, vec_dir):
        real_write(design_, ir, other, images, vec_dir)
        (vec_dir / "dram_init.bin").write_bytes(bytes(hls.dram_image(ir, params, np.zeros(design_.dataset.input_shape))))

    monkeypatch.setattr("codesign.backend.csim.write_vectors", write_wrong)
    result = run_csim(out)
    assert result["bit_exact"] is False
    assert result["layers"][0]["mismatches"] > 0


@pytest.mark.slow
def test_csim_cli_json_and_images(tmp_path):
    design = load_design(EXAMPLES / "single_chunk_os_int8.json")
    images = np.random.default_rng(5).integers(0, 256, size=(4, 16, 16, 1), dtype=np.uint8)
    out = make_project(design, tmp_path / "hw", images)
    proc = run_cli("csim", out, "--json", "--images", 2, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    assert printed == json.loads((out / "csim.json").read_text())
    assert printed["bit_exact"] and len(printed["images"]) == 2
    golden = predict(design, design_params(design, out), images[:2]).tolist()
    assert [im["golden_class"] for im in printed["images"]] == golden
    assert [im["label"] for im in printed["images"]] == [0, 1]
    human = run_cli("csim", out, cwd=tmp_path)
    assert human.returncode == 0 and "bit-exact over 4 image(s)" in human.stdout


def test_csim_without_project_says_what_to_do(tmp_path):
    proc = run_cli("csim", tmp_path)
    assert proc.returncode == 2 and "codesign hw" in proc.stderr


def test_csim_refuses_a_bad_image_count(tmp_path):
    out = make_project(load_design(EXAMPLES / "single_chunk_os_int8.json"), tmp_path)
    proc = run_cli("csim", out, "--images", 0)
    assert proc.returncode == 2 and "positive number" in proc.stderr


class _Args:
    def __init__(self, d):
        self.dir, self.json, self.images = str(d), True, None


def test_csim_main_exit_code_on_mismatch(tmp_path, capsys):
    design = load_design(EXAMPLES / "single_chunk_os_int8.json")
    out = make_project(design, tmp_path)
    text = (out / "hls" / "kernels" / "cs_types.h").read_text()
    (out / "hls" / "kernels" / "cs_types.h").write_text(text.replace("rounding = wide_t(1) << (shift - 1);",
                                                                     "rounding = 0;"))
    assert csim_main(_Args(out)) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["bit_exact"] is False and json.loads((out / "csim.json").read_text()) == result


def test_csim_refuses_a_project_of_another_design(tmp_path):
    out = make_project(load_design(EXAMPLES / "single_chunk_os_int8.json"), tmp_path)
    save_design(load_design(EXAMPLES / "two_chunk_mixed.json"), out / "design.json")
    proc = run_cli("csim", out)
    assert proc.returncode == 2 and "generated from another design" in proc.stderr


def test_csim_trained_weights_file(tmp_path):
    """A design naming a weights .npz (as `codesign train` leaves it) runs with those weights."""
    from codesign.backend.golden import save_params
    design = load_design(EXAMPLES / "two_chunk_mixed.json").model_copy(update={"weights": "weights.npz"})
    trained = design_params(design.model_copy(update={"weights": None}), seed=3)
    save_params(trained, tmp_path / "weights.npz")
    result = run_csim(make_project(design, tmp_path))
    assert_bit_exact(result, design)
    ir = lower(design)
    used = (tmp_path / "hls" / "csim" / "vectors" / "dram_init.bin").read_bytes()
    assert used == bytes(hls.dram_image(ir, trained, np.zeros(design.dataset.input_shape)))
    assert used != bytes(hls.dram_image(ir, design_params(design.model_copy(update={"weights": None})),
                                        np.zeros(design.dataset.input_shape)))
