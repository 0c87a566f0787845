"""The generated HLS project as a build: the tcl scripts (through tclsh with stub Vivado/Vitis HLS
commands), a -Wall -Wextra -Werror g++ build, and params.h against the hardware IR."""

import re
import subprocess
from pathlib import Path

import pytest

from codesign.backend import csim, hls
from codesign.backend.hw import retarget
from codesign.backend.ir import design_params, dram_bytes, lower
from codesign.backend.vectors import seeded_images
from codesign.design import load_design
from codesign.errors import CodesignError
from codesign.targets import load_target
from conftest import EXAMPLES
from test_hls_csim import random_design

from designs import random_design as shared_random_design

HLS_COMMANDS = ["open_project", "set_top", "add_files", "open_solution", "set_part", "create_clock",
                "csim_design", "csynth_design", "cosim_design", "export_design"]
SEP = "\x1f"
STUBS = "".join(f'proc {name} {{args}} {{ puts [join [concat {name} $args] "\\x1f"] }}\n' for name in HLS_COMMANDS)
STUBS += 'rename exit _tcl_exit\nproc exit {args} { puts "exit" }\n'


def render_project(design, out: Path) -> Path:
    hls.render(design, lower(design), design_params(design), out)
    return out


def run_tcl(script: Path, cwd: Path) -> list[list[str]]:
    """Each HLS command the script calls, with its arguments, in order (tclsh, stub procs)."""
    driver = cwd / "driver.tcl"
    driver.write_text(STUBS + f"source {{{script}}}\n_tcl_exit 0\n")
    proc = subprocess.run(["tclsh", str(driver)], capture_output=True, text=True, cwd=cwd, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [line.split(SEP) for line in proc.stdout.splitlines()]


def option(cmd: list[str], flag: str) -> str:
    return cmd[cmd.index(flag) + 1]


@pytest.mark.parametrize("target", ["zc706", "pynq-z2"])
@pytest.mark.parametrize("script", ["build.tcl", "build_vitis.tcl"])
def test_build_tcl_commands(tmp_path, target, script):
    design = retarget(load_design(EXAMPLES / "two_chunk_mixed.json"), target)
    out = render_project(design, tmp_path / "hls")
    calls = run_tcl(out / script, tmp_path)
    assert [c[0] for c in calls] == ["open_project", "set_top", "add_files", "add_files", "open_solution", "set_part",
                                     "create_clock", "csim_design", "csynth_design", "cosim_design", "export_design",
                                     "exit"]
    by_name = {c[0]: c for c in calls}
    board = load_target(target)
    assert by_name["set_part"] == ["set_part", board.part]
    if target == "zc706":
        assert board.part == "xc7z045ffg900-2"
    assert float(option(by_name["create_clock"], "-period")) == pytest.approx(1000.0 / board.clock_mhz)
    assert by_name["set_top"][1] == hls.TOP_NAME
    assert f"void {hls.TOP_NAME}(" in (out / "accel.cpp").read_text()
    sources, testbench = [c for c in calls if c[0] == "add_files"]
    assert Path(sources[1]) == out / "accel.cpp" and sources[1] != "-tb"
    assert testbench[1] == "-tb" and Path(testbench[2]) == out / "tb.cpp"
    for cmd in (sources, testbench):
        includes = [f[2:] for f in option(cmd, "-cflags").split() if f.startswith("-I")]
        assert includes and all(Path(i).is_dir() for i in includes)
        assert (Path(includes[1]) / "cs_engine.h").is_file()
    for cmd in ("csim_design", "cosim_design"):
        vectors = Path(option(by_name[cmd], "-argv"))
        assert {p.name for p in vectors.iterdir()} == {"dram_init.bin", "images.bin", "expected.bin"}
    solution = by_name["open_solution"]
    assert solution[-1] == "solution1" and "-reset" in solution
    assert ("-flow_target" in solution) == (script == "build_vitis.tcl")
    if script == "build_vitis.tcl":
        assert option(solution, "-flow_target") == "vivado"
    assert option(by_name["export_design"], "-format") == "ip_catalog"
    assert design.digest() in by_name["open_project"][-1]


@pytest.mark.slow
def test_generated_code_compiles_with_all_warnings_as_errors(tmp_path):
    """g++ and clang++ -Wall -Wextra -Werror (HLS pragmas aside), as C++14 and as C++98 (Vivado HLS
    2020's csim default), on a design with every kind, both dataflows and a 3-bit PE array."""
    out = render_project(random_design(5), tmp_path / "hls")
    cmd = csim.compile_command(out, tmp_path / "tb")
    assert {"-Wall", "-Wextra", "-Werror"} <= set(cmd)
    assert cmd[cmd.index("-isystem") + 1] == str(csim.ap_types_dir())   # only the ap_types headers are exempt
    for compiler in ("g++", "clang++"):
        for std in ("-std=c++14", "-std=c++98"):
            variant = [compiler] + [(std if f.startswith("-std=") else f) for f in cmd[1:]]
            proc = subprocess.run(variant, capture_output=True, text=True)
            assert proc.returncode == 0 and proc.stderr == "", (compiler, std, proc.stderr)
    bad = (out / "accel.cpp").read_text().replace("    chunk_engine<chunk0>(", "    int unused_variable;\n    chunk_engine<chunk0>(")
    (out / "accel.cpp").write_text(bad)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode != 0 and "unused_variable" in proc.stderr


def parse_params_h(text: str) -> dict[str, dict[str, str]]:
    """{struct name or '': {CONSTANT: value}} from the generated params.h."""
    structs: dict[str, dict[str, str]] = {"": {}}
    current = ""
    for line in text.splitlines():
        if m := re.match(r"struct (\w+) \{", line):
            current = m.group(1)
            structs[current] = {}
        elif line.startswith("};"):
            current = ""
        elif m := re.match(r"\s*static const (?:long long|\w+) (\w+) = (.+?)(?:LL)?;", line):
            structs[current][m.group(1)] = m.group(2)
    return structs


def cpp_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.mark.parametrize("source", ["two_chunk_mixed", "random5"])
def test_params_h_holds_every_ir_field(tmp_path, source):
    design = random_design(5) if source == "random5" else load_design(EXAMPLES / f"{source}.json")
    ir = lower(design)
    out = render_project(design, tmp_path / "hls")
    params = parse_params_h((out / "params.h").read_text())
    top = params[""]
    assert top["DRAM_SIZE"] == str(ir.dram_size) and top["INPUT_ADDR"] == str(ir.input_addr)
    assert top["OUTPUT_ADDR"] == str(ir.output_addr) and float(top["CLOCK_MHZ"]) == ir.clock_mhz
    assert (top["INPUT_H"], top["INPUT_W"], top["INPUT_C"]) == tuple(map(str, ir.input_shape))
    for c in ir.chunks:
        p = params[f"chunk{c.index}"]
        assert (p["ROWS"], p["COLS"], p["MULT_BITS"]) == (str(c.rows), str(c.cols), str(c.mult_bits))
        assert (p["FIRST_LAYER"], p["LAST_LAYER"]) == (str(c.first_layer), str(c.last_layer))
        assert p["DATAFLOW"] == f"DF_{c.dataflow.upper()}"
        assert (p["ACT_BUF_BYTES"], p["WGT_BUF_BYTES"]) == (str(c.act_buf_bytes), str(c.wgt_buf_bytes))
    for job in ir.layers:
        p = params[f"layer{job.index}"]
        assert p["KIND"] == f"KIND_{job.kind.upper()}"
        for field in ("chunk", "kernel", "stride", "padding", "relu", "m", "n", "k", "g", "w_bits", "in_bits",
                      "in_signed", "out_bits", "out_signed", "out_addr", "param_addr", "weight_bytes", "record_addr",
                      "predicted_cycles", "predicted_compute"):
            assert p[field.upper()] == cpp_value(getattr(job, field)), (job.index, field)
        assert [p["IN_H"], p["IN_W"], p["IN_C"]] == list(map(str, job.in_shape))
        assert [p["OUT_H"], p["OUT_W"], p["OUT_C"]] == list(map(str, job.out_shape))
        assert [p[f"IN_ADDRS{i}"] for i in range(len(job.in_addrs))] == list(map(str, job.in_addrs))
        assert [p[f"INPUTS{i}"] for i in range(len(job.inputs))] == list(map(str, job.inputs))
    text = (out / "accel.cpp").read_text()
    words = -(-dram_bytes(ir, len(seeded_images(design))) // 8)   # the DRAM of the rendered vectors' frames
    assert text.count("#pragma HLS INTERFACE m_axi") == len(ir.chunks) and text.count(f"depth={words} ") == len(ir.chunks)
    assert "#pragma HLS DATAFLOW" in text and "ap_ctrl_chain port=return" in text
    assert f"void {hls.TOP_NAME}(" + "".join(f"cs::word_t *mem{c.index}, " for c in ir.chunks) + "int frame_base)" in text


def test_render_is_reproducible_and_names_its_design(tmp_path):
    design = load_design(EXAMPLES / "two_chunk_mixed.json")
    first, second = render_project(design, tmp_path / "a"), render_project(design, tmp_path / "b")
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert {str(f) for f in files} >= {"params.h", "accel.h", "accel.cpp", "tb.cpp", "build.tcl", "build_vitis.tcl",
                                       "kernels/cs_types.h", "kernels/cs_memory.h", "kernels/cs_pe.h",
                                       "kernels/cs_gemm.h", "kernels/cs_vector.h", "kernels/cs_engine.h",
                                       "vectors/dram_init.bin", "vectors/images.bin", "vectors/expected.bin"}
    for f in files:
        assert (first / f).read_bytes() == (second / f).read_bytes(), f
    for name in ("params.h", "accel.cpp", "tb.cpp", "build.tcl", "build_vitis.tcl"):
        assert f"design {design.name} (digest {design.digest()})" in (first / name).read_text()


def test_render_tiles_a_layer_larger_than_its_buffers_and_names_one_no_tiling_fits(tmp_path):
    """As the RTL: a layer whose inputs + output exceed act_buf_kib runs in bands of rows (the RTL's
    table rows); a layer no tiling fits is refused by name."""
    design = load_design(EXAMPLES / "two_chunk_mixed.json")
    chunks = list(design.accelerator.chunks)
    chunks[0] = chunks[0].model_copy(update={"act_buf_kib": 1})
    small = design.model_copy(update={"accelerator": design.accelerator.model_copy(update={"chunks": chunks})})
    rows = hls.layer_table(lower(small), lower(small).chunks[0])
    assert [r["name"] for r in rows].count("b1_expand") == 2
    render_project(small, tmp_path / "hls")
    design = shared_random_design(3, 2, shape=(24, 24, 3), act_buf_kib=1, wgt_buf_kib=1)
    with pytest.raises(CodesignError, match=r"layer 0 \('l0_conv'\) does not fit chunk 0's buffers even in tiles"):
        render_project(design, tmp_path / "hls2")
