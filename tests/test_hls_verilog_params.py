"""The HLS and Verilog projects of one DesignPoint agree on every parameter they share.

Both backends read the one hardware IR; this reads what each wrote: params.h (HLS) on one side,
accel_params.vh and the per-chunk layer tables of accel_top.v (Verilog) on the other."""

import json
import re

import pytest

from codesign.backend import hls, verilog
from codesign.backend.golden import act_range
from codesign.backend.ir import design_params, lower
from codesign.design import load_design
from conftest import EXAMPLES, run_cli
from test_hls_build import parse_params_h
from test_hls_csim import random_design


def parse_defines(text: str) -> dict[str, str]:
    return dict(re.findall(r"^`define (\w+) (\S+)", text, re.M))


def parse_layer_tables(text: str) -> dict[int, dict]:
    """{chunk: {table row: {field: value}}} from the layer ROMs of accel_top.v."""
    tables: dict[int, dict] = {}
    current = None
    for line in text.splitlines():
        if m := re.match(r"\s*16'd(\d+): begin\s+//", line):
            current = int(m.group(1))
        elif m := re.match(r"\s*desc_c(\d+)\[(\d+) \+: 32\] = 32'h([0-9a-f]{8});", line):
            chunk, offset, value = int(m.group(1)), int(m.group(2)), int(m.group(3), 16)
            tables.setdefault(chunk, {}).setdefault(current, {})[verilog.FIELDS[offset // 32]] = value
    return tables


def parse_hls_tables(text: str) -> dict[int, list[dict]]:
    """{chunk: [{field: value} per layer]} from the const layer tables of params.h."""
    columns = hls.desc_fields()
    tables = {}
    for chunk, body in re.findall(r"LayerDesc CHUNK(\d+)_LAYERS\[\d+\] = \{\n(.*?)\n\};", text, re.S):
        rows = re.findall(r"^\s*\{([^}]*)\},", body, re.M)
        tables[int(chunk)] = [dict(zip(columns, map(int, row.split(",")), strict=True)) for row in rows]
    return tables


def with_roomy_buffers(design):
    """The RTL refuses layers larger than its buffers; give every chunk 64 KiB of each."""
    chunks = [c.model_copy(update={"act_buf_kib": 64, "wgt_buf_kib": 64}) for c in design.accelerator.chunks]
    return design.model_copy(update={"accelerator": design.accelerator.model_copy(update={"chunks": chunks})})


DESIGNS = {"single_chunk_os_int8": lambda: load_design(EXAMPLES / "single_chunk_os_int8.json"),
           "two_chunk_mixed": lambda: load_design(EXAMPLES / "two_chunk_mixed.json"),
           "random1": lambda: with_roomy_buffers(random_design(1)),
           "random4": lambda: with_roomy_buffers(random_design(4))}


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_hls_and_verilog_agree_on_every_parameter(tmp_path, name):
    design = DESIGNS[name]()
    ir, params = lower(design), design_params(design)
    hls.render(design, ir, params, tmp_path / "hls")
    verilog.render(design, ir, params, tmp_path / "rtl")
    h = parse_params_h((tmp_path / "hls" / "params.h").read_text())
    v = parse_defines((tmp_path / "rtl" / "accel_params.vh").read_text())
    tables = parse_layer_tables((tmp_path / "rtl" / f"{verilog.TOP_NAME}.v").read_text())
    # the HLS engines run the RTL's layer ROMs: every column of every table row is the RTL's word,
    # except where the RTL keeps activations on chip (its transfer flags and buffer placement); the
    # HLS rows are verilog.chunk_rows without that (every layer through DRAM)
    hls_tables = parse_hls_tables((tmp_path / "hls" / "params.h").read_text())
    assert sorted(hls_tables) == sorted(tables)
    placement = {"flags", "base0", "in1_off", "out_off", "wr_off", "w_off", "rec_row0", "pf_addr", "pf_bytes",
                 "pf_woff", "pf_rec_off", "pf_rec_row0"}
    for c, rows in hls_tables.items():
        words = [{f: v & 0xFFFFFFFF for f, v in row.items()} for row in rows]
        assert [{f: w[f] for f in w if f not in placement} for w in words] == \
            [{f: tables[c][local][f] for f in row if f not in placement} for local, row in enumerate(rows)]
        through_dram = [{f: v & 0xFFFFFFFF for f, v in row.items() if f in placement}
                        for _, row in verilog.chunk_rows(ir, ir.chunks[c], keep_on_chip=False)]
        assert [{f: w[f] for f in placement} for w in words] == through_dram
    i = lambda s: int(s, 0) if s not in ("true", "false") else int(s == "true")  # noqa: E731

    assert v["AXI_BYTES"] == h[""]["AXI_BYTES"]
    assert sorted(tables) == [int(c["INDEX"]) for k, c in sorted(h.items()) if k.startswith("chunk")]
    for c in range(len(ir.chunks)):
        hc = h[f"chunk{c}"]
        assert (v[f"ROWS_C{c}"], v[f"COLS_C{c}"], v[f"MULT_BITS_C{c}"]) == (hc["ROWS"], hc["COLS"], hc["MULT_BITS"])
        assert (v[f"ACT_BYTES_C{c}"], v[f"WGT_BYTES_C{c}"]) == (hc["ACT_BUF_BYTES"], hc["WGT_BUF_BYTES"])
        assert int(v[f"WS_C{c}"]) == (hc["DATAFLOW"] == "DF_WS")
        first, last = i(hc["FIRST_LAYER"]), i(hc["LAST_LAYER"])
        assert sorted(tables[c]) == list(range(last - first + 1))
        for local, row in tables[c].items():
            hl = h[f"layer{first + local}"]
            assert i(hl["CHUNK"]) == c
            n_in = 2 if hl["KIND"] == "KIND_ADD" else 1
            expect = {
                "m": i(hl["M"]), "n": i(hl["N"]), "k": i(hl["K"]), "g": i(hl["G"]), "out_c": i(hl["OUT_C"]),
                "in0_addr": i(hl["IN_ADDRS0"]), "in1_addr": i(hl[f"IN_ADDRS{n_in - 1}"]),
                "out_addr": i(hl["OUT_ADDR"]), "param_addr": i(hl["PARAM_ADDR"]),
                "rec_off": i(hl["RECORD_ADDR"]) - i(hl["PARAM_ADDR"]), "num_in": n_in,
                "in_signed": i(hl["IN_SIGNED"]),
                "in_bytes": i(hl["IN_H"]) * i(hl["IN_W"]) * i(hl["IN_C"]),
                "out_bytes": i(hl["OUT_H"]) * i(hl["OUT_W"]) * i(hl["OUT_C"]),
            }
            lo, hi = act_range(i(hl["OUT_BITS"]), bool(i(hl["OUT_SIGNED"])))
            expect["out_lo"], expect["out_hi"] = lo & 0xFFFFFFFF, hi
            if hl["KIND"] == "KIND_ADD":
                expect["in1_signed"] = i(hl["IN2_SIGNED"])
            if hl["KIND"] in ("KIND_CONV", "KIND_DWCONV", "KIND_MAXPOOL"):
                expect.update(stride=i(hl["STRIDE"]), pad=i(hl["PADDING"]), win_h=i(hl["KERNEL"]),
                              win_w=i(hl["KERNEL"]), in_h=i(hl["IN_H"]), in_w=i(hl["IN_W"]), in_c=i(hl["IN_C"]))
            assert {f: row[f] for f in expect} == expect, (name, c, local)


@pytest.mark.slow
def test_codesign_hw_then_csim(tmp_path):
    """The user's path: `codesign hw` writes DIR/hls beside DIR/rtl, `codesign csim DIR` passes."""
    out = tmp_path / "hw"
    run_cli("hw", "--design", EXAMPLES / "two_chunk_mixed.json", "--out", out, cwd=tmp_path, check=True)
    proc = run_cli("csim", out, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["bit_exact"] and result["design_digest"] == load_design(EXAMPLES / "two_chunk_mixed.json").digest()
    assert len(result["layers"]) == 8 and all(layer["mismatches"] == 0 for layer in result["layers"])
