"""DesignPoint: valid files load, malformed ones fail with one line naming the field."""

import json

import pytest

from codesign.design import DesignPoint, load_design
from codesign.errors import CodesignError
from conftest import EXAMPLES, run_cli


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_examples_load_and_round_trip(path, tmp_path):
    design = load_design(path)
    assert design.layers and design.accelerator.chunks
    copy = tmp_path / "d.json"
    copy.write_text(design.model_dump_json())
    assert load_design(copy) == design
    assert load_design(copy).digest() == design.digest()


def _mutate(example_dict, tmp_path, change):
    raw = example_dict("two_chunk_mixed")
    change(raw)
    path = tmp_path / "design.json"
    path.write_text(json.dumps(raw))
    return path


CASES = [
    (lambda d: d.pop("dataset"), "field 'dataset': Field required"),
    (lambda d: d["accelerator"]["chunks"][0].update(rows=0), "accelerator.chunks.0.rows"),
    (lambda d: d["accelerator"]["chunks"][1].update(dataflow="is"), "accelerator.chunks.1.dataflow"),
    (lambda d: d["layers"][2].update(w_bits=9), "layers.2.w_bits"),
    (lambda d: d["layers"][1].update(in_shape=[8, 8, 9]), "in_shape"),
    (lambda d: d["layers"][0].update(stride=1), "does not follow"),
    (lambda d: d["accelerator"]["chunks"][1].update(last_layer=6), "cover layers 0..6"),
    (lambda d: d["accelerator"]["chunks"][0].update(mult_bits=4), "mult_bits 4 is narrower"),
    (lambda d: d.update(version=7), "design version 7 is not supported"),
    (lambda d: d["layers"][3].update(colour="red"), "layers.3.colour"),
]


@pytest.mark.parametrize("change,message", CASES)
def test_malformed_design_names_the_field(example_dict, tmp_path, change, message):
    path = _mutate(example_dict, tmp_path, change)
    with pytest.raises(CodesignError) as err:
        load_design(path)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_cli_reports_bad_file_on_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    proc = run_cli("cost", "design", bad)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert "not valid JSON (line 1" in proc.stderr
    missing = run_cli("cost", "design", tmp_path / "nope.json")
    assert missing.returncode == 2 and "no such design file" in missing.stderr


def test_chunk_lookup_and_gemm_view(example_path):
    design = load_design(example_path("two_chunk_mixed"))
    assert [design.chunk_of(i) for i in range(len(design.layers))] == [0, 0, 0, 1, 1, 1, 1, 1]
    stem, dw, fc = design.layers[0], design.layers[2], design.layers[7]
    assert stem.gemm() == (64, 8, 9, 1)      # 8x8 outputs, 8 filters, 3x3x1
    assert dw.gemm() == (64, 1, 9, 16)       # one GEMM per channel
    assert fc.gemm() == (1, 10, 8, 1)
    assert isinstance(design, DesignPoint)
