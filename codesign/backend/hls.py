"""The Vivado / Vitis HLS C++ backend: renders DIR/hls from the hardware IR.

The accelerator lives in a static, hand-written kernel library (templates/hls/kernels/*.h: the
requantiser, the buffers and AXI transfers, the PE arrays, the GEMM engine of each dataflow, the
vector lanes, and the chunk engine that runs a chunk's layer table). Jinja renders only the
glue: params.h (every IR field as a C++ constant, the engine's parameters per chunk, and each
chunk's const layer table: the RTL layer ROM's rows), the top function (one DATAFLOW process
per chunk, 64-bit m_axi DRAM ports, s_axilite control), the testbench, the tcl scripts, and the
test vectors written from the golden model.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import jinja2
import numpy as np
from pydantic import BaseModel

import codesign
from codesign.backend.golden import run_network
from codesign.backend import verilog
from codesign.backend.verilog import ceil_div
from codesign.backend.ir import HardwareIR, dram_bytes, dram_image
from codesign.backend.vectors import seeded_images
from codesign.design import DesignPoint, chunk_units
from codesign.errors import CodesignError
from codesign.targets import load_target

TEMPLATES = Path(codesign.__file__).resolve().parent.parent / "templates" / "hls"
TOP_NAME = "accel_top"
ENUMS = {"kind": "KIND_", "dataflow": "DF_", "loop_order": "LOOP_"}
SKIPPED_FIELDS = {"name", "design_name", "design_digest", "target", "chunks", "layers"}
SHAPE_SUFFIXES = ("_H", "_W", "_C")


def cpp_constants(model: BaseModel) -> list[tuple[str, str, str]]:
    """(C type, NAME, value) for every scalar, shape and list field of an IR model."""
    out = []
    for field, value in model.model_dump().items():
        name = field.upper()
        if field in SKIPPED_FIELDS:
            continue
        if field in ENUMS:
            out.append(("int", name, ENUMS[field] + str(value).upper()))
        elif isinstance(value, bool):
            out.append(("bool", name, "true" if value else "false"))
        elif isinstance(value, float):
            out.append(("double", name, repr(value)))
        elif isinstance(value, int):
            out.append(("int", name, str(value)) if abs(value) < 2**31 else ("long long", name, f"{value}LL"))
        elif isinstance(value, tuple) and field.endswith("shape"):
            out += [("int", name.removesuffix("_SHAPE") + s, str(v)) for s, v in zip(SHAPE_SUFFIXES, value)]
        elif isinstance(value, (list, tuple)):
            out += [("int", f"{name}{i}", str(v)) for i, v in enumerate(value)]
        else:
            raise CodesignError(f"IR field {field!r} has a type the HLS backend cannot write ({type(value).__name__}); "
                                f"extend codesign.backend.hls.cpp_constants")
    return out


def second_input(ir: HardwareIR, job) -> list[tuple[str, str, str]]:
    """Signedness of an add layer's second input (the IR's in_signed is the first input's)."""
    if job.kind != "add":
        return []
    j = job.inputs[1]
    signed = False if j == -1 else ir.layers[j].out_signed
    return [("bool", "IN2_SIGNED", "true" if signed else "false")]


def desc_fields() -> list[str]:
    """The fields of the kernels' LayerDesc struct (cs_types.h), in order: the table's columns."""
    text = (TEMPLATES / "kernels" / "cs_types.h").read_text()
    body = re.search(r"struct LayerDesc \{(.*?)\};", text, re.S).group(1)
    return re.findall(r"(\w+)\s*[,;]", re.sub(r"//.*", "", body).replace("int ", " "))


def layer_table(ir: HardwareIR, chunk) -> list[dict]:
    """The chunk's layer table: the RTL layer ROM's rows (verilog.chunk_rows: one per layer, or
    per band x weight slice of a layer larger than the buffers), every layer through DRAM (the HLS
    engine does not keep activations on chip between layers)."""
    return [dict(fields, index=job.index, name=job.name, ir_kind=job.kind)
            for job, fields in verilog.chunk_rows(ir, chunk, keep_on_chip=False)]


def chunk_sizes(chunk, table: list[dict]) -> dict[str, int]:
    """The engine's template parameters beyond the IR's: units, memory ports, buffer depths (each
    the largest any layer of the chunk needs, within the design's act/wgt buffers by
    check_layer_fits) and the loop trip-count bounds."""
    gemm = [f for f in table if f["g"]]
    vec = [f for f in table if not f["g"]]
    units = chunk_units(f["ir_kind"] for f in table)
    out_banks = 1 << max(max(chunk.cols, 8) - 1, 1).bit_length()
    out_words = max(ceil_div(f["out_bytes"], 8) for f in table)
    return {
        "N_LAYERS": len(table), "HAS_GEMM": units["gemm"], "HAS_VEC": units["vec"],
        "ACT_PORTS": max(chunk.rows if gemm else 1, chunk.cols if vec else 1),
        "ACT_WORDS": max(f["out_off"] // 8 for f in table),
        "WGT_WORDS": max([f["rec_off"] // 8 for f in table] + [1]),
        "PARAM_WORDS": max(f["param_bytes"] // 8 for f in table),
        "REC_DEPTH": max(f["out_c"] for f in table),
        "OUT_BANKS": out_banks, "OUT_WORDS": out_words, "OUT_DEPTH": ceil_div(8 * out_words, out_banks),
        "ACC_DEPTH": max([f["m"] for f in gemm] + [1]),
        "MAX_G": max([f["g"] for f in gemm] + [1]), "MAX_M": max([f["m"] for f in gemm] + [1]),
        "MAX_K": max([f["k"] for f in gemm] + [1]),
        "MAX_M_TILES": max([f["mfolds"] for f in gemm] + [1]), "MAX_N_TILES": max([ceil_div(f["n"], chunk.cols) for f in gemm] + [1]),   # C a fold, W_DUAL too
        "MAX_K_TILES": max([f["kfolds"] for f in gemm] + [1]),
        "MAX_VEC_STEPS": max([f["vgroups"] * f["red"] for f in vec] + [1]),
    }


def expected_offsets(ir: HardwareIR) -> list[int]:
    """Byte offset of each layer's output within one image's expected.bin record."""
    offsets, at = [], 0
    for job in ir.layers:
        offsets.append(at)
        at += int(np.prod(job.out_shape))
    return offsets + [at]


def template_context(design: DesignPoint, ir: HardwareIR, frames: int = 1) -> dict:
    target = load_target(ir.target)
    if not target.part:
        raise CodesignError(f"target {target.name!r} has no FPGA part; the HLS backend needs an FPGA target")
    offsets = expected_offsets(ir)
    layers = [{"index": j.index, "name": j.name, "expected_offset": offsets[j.index],
               "out_bytes": int(np.prod(j.out_shape))} for j in ir.layers]
    columns = desc_fields()
    chunks, structs = [], []
    for c in ir.chunks:
        table = layer_table(ir, c)
        rows = [{"comment": f"layer {f['index']}: {f['name']} ({f['ir_kind']})",
                 "values": ", ".join(str(f[name]) for name in columns)} for f in table]
        chunks.append(dict(c.model_dump(), table=rows))
        consts = cpp_constants(c) + [("int", k, str(v)) for k, v in chunk_sizes(c, table).items()]
        structs.append({"name": f"chunk{c.index}", "comment": f"chunk {c.index}", "consts": consts})
    structs += [{"name": f"layer{j.index}", "comment": f"layer {j.index}: {j.name} ({j.kind})",
                 "consts": cpp_constants(j) + second_input(ir, j)} for j in ir.layers]
    return {"design_name": ir.design_name, "design_digest": ir.design_digest, "target": ir.target,
            "part": target.part, "period_ns": f"{1000.0 / ir.clock_mhz:g}", "top_name": TOP_NAME,
            "project_name": f"{design.name}_{ir.design_digest}_hls",
            "dram_words": ceil_div(dram_bytes(ir, frames), 8), "columns": ", ".join(columns),
            "top": cpp_constants(ir), "structs": structs, "chunks": chunks, "layers": layers, "last": layers[-1],
            "expected_bytes": offsets[-1]}


def write_vectors(design: DesignPoint, ir: HardwareIR, params: list[dict], images: np.ndarray, vec_dir: Path) -> None:
    """dram_init.bin (parameters, image region zero), images.bin (uint8 HWC, one after another) and
    expected.bin (per image, every layer's golden output, one byte per element, in layer order)."""
    vec_dir.mkdir(parents=True, exist_ok=True)
    zero = np.zeros(design.dataset.input_shape, np.uint8)
    (vec_dir / "dram_init.bin").write_bytes(bytes(dram_image(ir, params, zero)))
    images = np.asarray(images).astype(np.uint8)
    (vec_dir / "images.bin").write_bytes(images.tobytes())
    expected = bytearray()
    for image in images:
        for out in run_network(design, params, image):
            expected += out.astype(np.int64).astype(np.uint8).tobytes()
    (vec_dir / "expected.bin").write_bytes(bytes(expected))


def render(design: DesignPoint, ir: HardwareIR, params: list[dict], out_dir: Path) -> None:
    """Writes the HLS project (sources, kernel library, testbench, vectors, tcl) into out_dir."""
    if not (TEMPLATES / "kernels").is_dir():
        raise CodesignError(f"{TEMPLATES}: HLS templates not found; install codesign from its checkout "
                            f"(pip install -e .) so that templates/ is beside the package")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(TEMPLATES / "kernels", out_dir / "kernels", dirs_exist_ok=True)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    images = seeded_images(design)
    ctx = template_context(design, ir, len(images))
    for name in ("params.h", "accel.h", "accel.cpp", "tb.cpp"):
        (out_dir / name).write_text(env.get_template(f"{name}.j2").render(ctx))
    for script, tool, vitis in (("build.tcl", "vivado_hls", False), ("build_vitis.tcl", "vitis_hls", True)):
        text = env.get_template("build.tcl.j2").render(ctx, tool=tool, vitis=vitis, script_name=script)
        (out_dir / script).write_text(text)
    write_vectors(design, ir, params, images, out_dir / "vectors")
