"""Yosys synth_xilinx of the generated RTL's arithmetic (one chunk's systolic array and its
requantiser lanes) against the resource model: DSP48E1 counts equal `fpga_resources`."""

import pytest

from codesign.backend import verilog
from codesign.backend.ir import design_params, lower
from codesign.backend.yosys import chunk_datapath_counts, parse_stat
from codesign.cost.resources import fpga_resources
from codesign.design import load_design
from conftest import EXAMPLES


@pytest.mark.slow
@pytest.mark.parametrize("rows, cols, mult_bits, dataflow", [(2, 3, 8, "os"), (3, 2, 6, "ws"), (2, 2, 4, "os"),
                                                             (3, 2, 3, "ws")])
def test_dsp_count_equals_the_model(tmp_path, rows, cols, mult_bits, dataflow):
    design = load_design(EXAMPLES / "single_chunk_os_int8.json")
    verilog.render(design, lower(design), design_params(design), tmp_path / "rtl")
    counts = chunk_datapath_counts(tmp_path / "rtl", rows, cols, mult_bits, dataflow == "ws")
    model = fpga_resources(rows, cols, mult_bits, 1, 1)
    assert counts["dsp"] == int(model["dsp"])
    assert counts["lut"] > 0 and counts["ff"] > rows * cols * 32   # every PE keeps a 32-bit sum
    print(f"{rows}x{cols} {dataflow} {mult_bits}-bit: yosys {counts} model {model}")


def test_parse_stat_reads_the_flattened_design_counts():
    text = '{"modules": {}, "design": {"num_cells": 3, "num_cells_by_type": {"DSP48E1": 2, "LUT6": 1}}}'
    assert parse_stat(text) == {"DSP48E1": 2, "LUT6": 1}
