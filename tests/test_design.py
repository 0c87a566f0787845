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


# ------------------------------------------------------------------------------------ property test (issue 13)

import copy  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from codesign import cli  # noqa: E402

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8) | st.sampled_from(["4", "os", "conv", "zc706", "", "weights.npz"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=6)


def _paths(node, prefix=()):
    yield prefix
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield from _paths(child, (*prefix, key))


@st.composite
def mutated_designs(draw) -> bytes:
    """A valid example design with 1-3 random changes: a value replaced (any JSON type), a field
    dropped, an unknown field added, or the file's bytes flipped, cut or spliced."""
    raw = json.loads((EXAMPLES / f"{draw(st.sampled_from(['single_chunk_os_int8', 'two_chunk_mixed']))}.json").read_text())
    raw = copy.deepcopy(raw)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(raw) if p]
        path = draw(st.sampled_from(paths))
        parent = raw
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "drop", "add", "number"]))
        if action == "replace":
            parent[path[-1]] = draw(JSON_VALUES)
        elif action == "number" and isinstance(parent[path[-1]], int) and not isinstance(parent[path[-1]], bool):
            parent[path[-1]] += draw(st.integers(-40, 40))
        elif action == "drop":
            parent.pop(path[-1]) if isinstance(parent, dict) else parent.pop(path[-1])
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=6))] = draw(JSON_VALUES)
    data = bytearray(json.dumps(raw, indent=draw(st.sampled_from([None, 2]))).encode())
    if draw(st.booleans()) and draw(st.booleans()):   # a quarter of the cases also damage the bytes
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(data) - 1))
            how = draw(st.sampled_from(["flip", "cut", "insert"]))
            if how == "flip":
                data[at] = draw(st.integers(0, 255))
            elif how == "cut":
                del data[at:]
                if not data:
                    break
            else:
                data[at:at] = draw(st.binary(min_size=1, max_size=4))
    return bytes(data)


@settings(max_examples=500, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(content=mutated_designs())
def test_mutated_design_files_never_give_a_traceback(tmp_path, capsys, content):
    """500 damaged design.json files through `codesign cost design` (load, validate, cost model,
    fit check): each is accepted or refused with one line and exit 2, never an internal error."""
    path = tmp_path / "design.json"
    path.write_bytes(content)
    code = cli.main(["cost", "design", str(path), "--json"])
    _, err = capsys.readouterr()
    assert code in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err
    assert code == 0 or (err.count("\n") == 1 and err.startswith("codesign cost: error:")), err
