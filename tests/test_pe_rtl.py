"""The PE (templates/verilog/rtl/pe.v) alone under cocotb + Verilator: two MACs per PE (DUAL),
a x (w1 2^13 + w0) in one DSP48 multiply split into a w0 and a w1, for every activation byte
(-128 .. 255 as the engine feeds it) and every pair of 4-bit weights; the same with the two
shift-and-add multipliers of a chunk of <= 4-bit multipliers; and the single MAC of 8-bit weights
on the same PE. A split that rounds the low product the wrong way, or drops its borrow, fails."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sim"))
from runner import build_sources, run_test  # noqa: E402

ACTIVATIONS = range(-128, 256)


def nibble(v: int) -> int:
    return v - 16 if v >= 8 else v


def run_pe(tmp_path, mult_bits: int, vectors: list) -> list:
    build = build_sources([ROOT / "templates" / "verilog" / "rtl" / "pe.v"], "pe", tmp_path / "build",
                          extra_args=("-GDUAL=1", "-GWW=8", f"-GMB={mult_bits}", "-GWS=0"))
    io = tmp_path / "io"
    io.mkdir()
    (io / "vectors.json").write_text(json.dumps(vectors))
    run_test(build, "pe", "tb_pe", io, env={"CODESIGN_SIM_IO": str(io)})
    return json.loads((io / "out.json").read_text())


@pytest.mark.parametrize("mult_bits", [8, 4])
def test_two_macs_per_pe_are_exact(tmp_path, mult_bits):
    rng = np.random.default_rng(0)
    dual = [(a, b, 1) for a in ACTIVATIONS for b in range(256)]
    if mult_bits == 4:     # shift-and-add: a sample of the pairs
        dual = [dual[i] for i in rng.choice(len(dual), 6000, replace=False)]
    single = [(int(rng.integers(-128, 256)), int(rng.integers(0, 256)) if mult_bits == 8 else int(rng.integers(0, 16)), 0)
              for _ in range(3000)]
    vectors = dual + single
    got = run_pe(tmp_path, mult_bits, vectors)
    assert len(got) == len(vectors)
    bad = []
    for (a, b, is_dual), (lo, hi) in zip(vectors, got):
        if is_dual:
            want = [a * nibble(b & 15), a * nibble(b >> 4)]
        else:      # one MAC: the weight as the engine sign-extends it into the 8-bit operand
            want = [a * (b - 256 if b >= 128 else b) if mult_bits == 8 else a * nibble(b)]
        if [lo, hi][:len(want)] != want:
            bad.append(((a, b, is_dual), (lo, hi), want))
    assert not bad, f"{len(bad)} wrong products, e.g. {bad[:5]}"
