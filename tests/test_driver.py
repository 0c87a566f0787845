"""The register map and the host drivers (docs/driver.md).

* One description, four renderings: the checked-in Python module, the C header (compiled and run),
  the Verilog slave's decode and the docs table all equal what regmap.toml says.
* The C driver compiles with gcc -Wall -Wextra -Werror against the generated headers.
* The Python driver runs both examples (the two-chunk one on a 64-bit AXI port, the single-chunk
  one on a 128-bit port) on the RTL under cocotb (sim/tb_driver.py: PYNQ-shaped
  MMIO and allocate over cocotbext-axi), one simulation, cases in order: bit-exact at base
  addresses that are not 64-byte aligned and whose regions cross 4 KB boundaries (the AxiRam
  asserts that no burst crosses one; the monitor counts the split bursts), the interrupt; bit-exact
  and cycle-exact (cost model) at aligned bases, polling, with the busy-time register refusals;
  an injected read SLVERR and write DECERR and a misaligned base each end in the error status with
  the failing address and the interrupt, never in done; the register file's responses and WSTRB;
  random backpressure in the first case; and a clean run after the errors.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from codesign.backend import verilog
from codesign.backend.golden import run_network
from codesign.backend.ir import design_params, lower
from codesign.cost import evaluate, pipeline_periods
from codesign.cost.model import MemoryTiming
from codesign.design import load_design
from codesign.driver import accel_regs, project, regmap
from codesign.errors import CodesignError
from codesign.backend.hw import retarget
from conftest import EXAMPLES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from designs import run_seed  # noqa: E402
from runner import build, run_test  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SLVERR, DECERR = 2, 3


def expected_constants(rm) -> dict:
    want = {}
    for r in rm.reg:
        want[f"REG_{r.name.upper()}"] = r.offset
        for f in r.fields:
            want[f"{r.name.upper()}_{f.name.upper()}_SHIFT"] = f.lsb
            want[f"{r.name.upper()}_{f.name.upper()}_MASK"] = f.mask
    return want


def test_register_map_renderings_agree(tmp_path):
    rm = regmap.load()
    want = expected_constants(rm)
    # the Python module in the package is the rendering of the description, and says the same
    assert (ROOT / "codesign" / "driver" / "accel_regs.py").read_text() == regmap.render(rm, "accel_regs.py.j2")
    assert {k: getattr(accel_regs, k) for k in want} == want
    # the C header, compiled and run
    (tmp_path / "accel_regs.h").write_text(regmap.render(rm, "accel_regs.h.j2"))
    body = "".join(f'    printf("{k} %u\\n", (unsigned)ACCEL_{k});\n' for k in want if not k == "REG_LAYER_CYCLES")
    (tmp_path / "dump.c").write_text('#include <stdio.h>\n#include "accel_regs.h"\nint main(void) {\n' + body
                                     + '    printf("REG_LAYER_CYCLES %u\\n", ACCEL_REG_LAYER_CYCLES(0));\n'
                                     + '    printf("LAYER_CYCLES_3 %u\\n", ACCEL_REG_LAYER_CYCLES(3));\n    return 0;\n}\n')
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-o", str(tmp_path / "dump"),
                    str(tmp_path / "dump.c")], check=True, capture_output=True)
    out = subprocess.run([str(tmp_path / "dump")], check=True, capture_output=True, text=True).stdout
    got = {k: int(v) for k, v in (line.split() for line in out.splitlines())}
    assert got.pop("LAYER_CYCLES_3") == want["REG_LAYER_CYCLES"] + 12
    assert got == want
    # the Verilog slave decodes each register at its word
    v = regmap.render(rm, "accel_regs.v.j2")
    words = {m[0]: int(m[1]) for m in re.findall(r"localparam \[9:0\] W_(\w+) = 10'd(\d+);", v)}
    assert words == {r.name.upper(): r.offset // 4 for r in rm.reg}
    # docs/driver.md carries the table
    assert regmap.markdown(rm) in (ROOT / "docs" / "driver.md").read_text()


def test_register_map_rejects_a_bad_description(tmp_path):
    text = regmap.REGMAP.read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("offset = 0x14", "offset = 0x10"))
    with pytest.raises(CodesignError, match=r"offset or name is used twice.*fix the register map"):
        regmap.load(bad)
    bad.write_text(text.replace('{ name = "busy", lsb = 1,', '{ name = "busy", lsb = 0,'))
    with pytest.raises(CodesignError, match="field busy is outside 32 bits or overlaps another"):
        regmap.load(bad)


def test_c_driver_compiles_with_the_generated_headers(tmp_path):
    design = load_design(EXAMPLES / "two_chunk_mixed.json")
    ir = lower(design)
    project.write(ir, design_params(design), tmp_path / "driver")
    (tmp_path / "driver" / "main.c").write_text(
        '#include "accel_driver.h"\n#include "accel_layout.h"\n'
        "static uint8_t params[ACCEL_PARAM_BYTES], images[2 * ACCEL_INPUT_BYTES];\n"
        "static uint8_t dram_p[ACCEL_PARAM_BYTES], dram_a[2 * ACCEL_FRAME_BYTES];\n"
        "int main(void) {\n    accel_t acc;\n    accel_error_t err;\n    accel_init(&acc, 0x43C00000u);\n"
        "    if (accel_check_design(&acc) != ACCEL_OK) return 1;\n"
        "    accel_load(dram_p, params, dram_a, images, 2);\n"
        "    if (accel_start(&acc, (uintptr_t)dram_p, (uintptr_t)dram_a, 2, 0) != ACCEL_OK) return 2;\n"
        "    if (accel_wait(&acc, 1000000u, &err) != ACCEL_OK) return 3;\n"
        "    return accel_output(dram_a, 1)[0] + (int)accel_irq_ack(&acc);\n}\n")
    d = tmp_path / "driver"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c", "accel_driver.c", "main.c"],
                   cwd=d, check=True, capture_output=True)
    layout = json.loads((d / "layout.json").read_text())
    assert (d / "params.bin").stat().st_size == layout["param_bytes"] == ir.act_addr
    assert f"#define ACCEL_FRAME_BYTES {ir.frame_bytes}u" in (d / "accel_layout.h").read_text()


def run_driver_cases(tmp_path, design, cases, images):
    ir, params = lower(design), design_params(design)
    verilog.render(design, ir, params, tmp_path / "rtl")
    project.write(ir, params, tmp_path / "driver")
    build(tmp_path / "rtl", tmp_path / "build")
    io = tmp_path / "io"
    io.mkdir()
    np.save(io / "images.npy", images)
    (io / "job.json").write_text(json.dumps({
        "driver": str(tmp_path / "driver"), "n_chunks": len(ir.chunks), "axi_bytes": ir.axi_bytes,
        "burst_beats": verilog.burst_beats(ir.axi_bytes), "ram_size": 1 << 20, "timeout_cycles": 2_000_000, "cases": cases}))
    try:
        run_test(tmp_path / "build", verilog.TOP_NAME, "tb_driver", io, env={"CODESIGN_SIM_IO": str(io)})
    except SystemExit:   # the cocotb test failed (an AxiRam protocol assertion, an exception in the driver)
        log = [line for line in (io / "sim.log").read_text().splitlines() if "Burst" not in line and "burst" not in line]
        pytest.fail("the cocotb driver test failed:\n" + "\n".join(log[-40:]))
    return ir, params, json.loads((io / "result.json").read_text()), np.load(io / "outputs.npz")


def assert_bit_exact(design, params, ir, outputs, case, images):
    for f, image in enumerate(images):
        for i, want in enumerate(run_network(design, params, image)):
            if ir.layers[i].keep_out:     # kept on chip: not in DRAM
                assert f"{case}/{f}/{i}" not in outputs
                continue
            np.testing.assert_array_equal(outputs[f"{case}/{f}/{i}"], want, err_msg=f"{case} frame {f} layer {i}")


def assert_error(res, kind, resp, address):
    assert res["error"] is not None, res
    assert (res["error"]["kind"], res["error"]["resp"], res["error"]["address"]) == (kind, resp, address), res
    assert res["irq"] == [True]                        # the interrupt fired
    assert res["status"] == 4                          # ERROR, not DONE, not BUSY
    assert res["status_after_clear"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("target,example", [("zc706", "two_chunk_mixed"),            # a 64-bit AXI port
                                            ("ultra96", "single_chunk_os_int8")])    # a 128-bit one
def test_python_driver_on_the_rtl(tmp_path, target, example):
    design = retarget(load_design(EXAMPLES / f"{example}.json"), target)
    ir = lower(design)
    lay = project.layout(ir)
    l1 = ir.layers[1]
    images = np.random.default_rng(7).integers(0, 256, size=(2, *design.dataset.input_shape))
    skew_p, skew_a = 0x20FF0, 0x40FF0            # 16-byte aligned, not 64; both regions cross a 4 KB boundary
    pbase, abase = 0x1000, 0x80000
    read_fault = pbase + l1.param_addr + 64 + 32     # a beat inside layer 1's second parameter burst
    write_fault = abase + lay["layers"][0]["offset"] + 16   # beat-aligned for 64 and 128 bits
    cases = [
        {"name": "skewed_irq", "frames": 2, "param_base": skew_p, "act_base": skew_a, "irq": True,
         "backpressure_seed": run_seed()},
        {"name": "aligned_poll", "frames": 2, "param_base": pbase, "act_base": abase, "irq": False, "busy_checks": True},
        {"name": "read_slverr", "frames": 1, "param_base": pbase, "act_base": abase, "irq": True,
         "fault_read": {"lo": read_fault, "hi": read_fault + 8, "resp": SLVERR}},
        {"name": "write_decerr", "frames": 1, "param_base": pbase, "act_base": abase, "irq": True,
         "fault_write": {"lo": write_fault, "hi": write_fault + 8, "resp": DECERR}},
        {"name": "misaligned", "frames": 1, "param_base": pbase, "act_base": abase + 4, "irq": True},
        {"name": "registers", "registers": True},
        {"name": "again", "frames": 2, "param_base": pbase, "act_base": abase, "irq": True},
    ]
    ir, params, res, outputs = run_driver_cases(tmp_path, design, cases, images)

    assert_bit_exact(design, params, ir, outputs, "skewed_irq", images)
    assert res["skewed_irq"]["error"] is None and res["skewed_irq"]["irq"] == [True]
    assert res["skewed_irq"]["split_bursts"] > 0         # bursts were cut at 4 KB boundaries
    assert res["skewed_irq"]["status"] == 1              # DONE

    assert_bit_exact(design, params, ir, outputs, "aligned_poll", images)
    cost = evaluate(design, memory=MemoryTiming(read_latency=2, write_latency=2))   # AxiRam's timing
    assert ir.axi_bytes * 8 == {"zc706": 64, "ultra96": 128}[target]
    counters = res["aligned_poll"]["counters"]
    assert counters["layer_cycles"] == cost.layer_cycles.tolist()
    assert counters["run_cycles"] == pipeline_periods(cost.chunk_cycles, 2).sum()
    busy = res["aligned_poll"]
    assert busy["busy_status"] & 2 and busy["irq"] == []
    assert (busy["busy_frames_write"], busy["busy_base_write"], busy["busy_start_write"]) == (SLVERR,) * 3
    assert busy["busy_frames_after"] == 2 and busy["busy_irq_enable_write"] == 0

    assert_error(res["read_slverr"], 1, SLVERR, read_fault // 64 * 64)
    assert f"read response SLVERR at DRAM address {read_fault // 64 * 64:#010x}" in res["read_slverr"]["error"]["message"]
    assert res["read_slverr"]["error"]["chunk"] == ir.layers[1].chunk
    assert_error(res["write_decerr"], 2, DECERR, write_fault // 64 * 64)
    assert_error(res["misaligned"], 3, 0, abase + 4 + lay["input"]["offset"])
    assert "misaligned DRAM address 0x00080004 (chunk 0)" in res["misaligned"]["error"]["message"]

    regs = res["registers"]
    assert (regs["unmapped_read"], regs["unmapped_write"], regs["past_layers_read"]) == (DECERR, DECERR, DECERR)
    assert (regs["ro_write"], regs["layer_cycles_write"]) == (SLVERR, SLVERR)
    assert regs["byte1_write"] == 0 and regs["frames_after_byte1"] == 0x01025504
    assert regs["high_half_write"] == 0 and regs["frames_after_half"] == 0xBBAA5504
    assert regs["status_after_unstrobed_start"] == 0
    assert regs["design_id"] == lay["design_id"]

    assert_bit_exact(design, params, ir, outputs, "again", images)
    assert res["again"]["counters"]["layer_cycles"] == cost.layer_cycles.tolist()
