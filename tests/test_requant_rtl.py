"""The RTL requantiser lane (templates/verilog/rtl/requant.v) alone under cocotb + Verilator,
against the golden model's `requantize`: exact halves both sides of zero (round half up, so
-2.5 -> -2 and 2.5 -> 3), clamps at every activation range of 2..8 bits signed and unsigned,
shifts 0 and 47 (the largest), multipliers 0 and 2^15 - 1, accumulators at the int32 extremes, and
random vectors. A lane that rounds half down or half away from zero, or clamps one off, fails here."""

import json
import sys
from pathlib import Path

import numpy as np

from codesign.backend.golden import MAX_SHIFT, MULT_BITS, act_range, requantize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sim"))
from runner import build_sources, run_test  # noqa: E402

FORMATS = {act_range(bits, signed): (bits, signed) for bits in range(2, 9) for signed in (False, True)}
RANGES = list(FORMATS)


def edge_vectors(rng):
    vecs = []
    for lo, hi in RANGES:
        for shift in (1, 2, 5, 13):
            for k in range(-6, 7):   # acc * mult = (2k + 1) * 2^(shift-1): an exact half
                vecs.append(((2 * k + 1) << (shift - 1), 1, shift, lo, hi))
                vecs.append(((2 * k + 1), 1 << (shift - 1), shift, lo, hi))
        for acc in (lo - 1, lo, hi, hi + 1, -(1 << 31), (1 << 31) - 1, 0, -1):
            vecs.append((acc, 1, 0, lo, hi))                                   # shift 0: no rounding term
            vecs.append((acc, (1 << MULT_BITS) - 1, MAX_SHIFT, lo, hi))         # the largest shift
            vecs.append((acc, 0, int(rng.integers(0, MAX_SHIFT + 1)), lo, hi))  # mult 0
    for _ in range(1500):
        lo, hi = RANGES[int(rng.integers(len(RANGES)))]
        vecs.append((int(rng.integers(-(1 << 31), 1 << 31)), int(rng.integers(0, 1 << MULT_BITS)),
                     int(rng.integers(0, MAX_SHIFT + 1)), lo, hi))
    return vecs


def golden(vecs):
    out = []
    for acc, mult, shift, lo, hi in vecs:
        bits, signed = FORMATS[(lo, hi)]
        y = int(requantize(np.array([acc]), np.array([mult]), np.array([shift]), bits, signed)[0])
        out.append(y & 0xFF)
    return out


def test_requant_lane_matches_golden(tmp_path):
    vecs = edge_vectors(np.random.default_rng(0))
    build_sources([ROOT / "templates" / "verilog" / "rtl" / "requant.v"], "requant", tmp_path / "build")
    io = tmp_path / "io"
    io.mkdir()
    (io / "vectors.json").write_text(json.dumps(vecs))
    run_test(tmp_path / "build", "requant", "tb_requant", io, env={"CODESIGN_SIM_IO": str(io)})
    got = json.loads((io / "out.json").read_text())
    want = golden(vecs)
    assert len(got) == len(want) == len(vecs)
    bad = [(v, g, w) for v, g, w in zip(vecs, got, want) if g != w]
    assert not bad, f"{len(bad)} mismatches, first (acc, mult, shift, lo, hi), rtl, golden: {bad[:5]}"
    # the edge cases are really there: exact halves rounding up on both sides of zero
    assert golden([(-5, 1, 1, -128, 127)]) == [(-2) & 0xFF] and golden([(5, 1, 1, -128, 127)]) == [3]
