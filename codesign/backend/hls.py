"""The Vivado / Vitis HLS C++ backend: renders DIR/hls from the hardware IR.

The arithmetic lives in a static, hand-written kernel library (templates/hls/kernels/*.h: the
requantiser, the systolic PE array and GEMM engine for each dataflow, one function per layer
kind). Jinja renders only the glue: params.h (every IR field as a C++ constant, per chunk and
per layer), the top function (one DATAFLOW process per chunk, m_axi DRAM ports, s_axilite
control), the testbench, the tcl scripts, and the test vectors written from the golden model.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import jinja2
import numpy as np
from pydantic import BaseModel

import codesign
from codesign.backend.golden import run_network
from codesign.backend.ir import HardwareIR, dram_image
from codesign.backend.vectors import seeded_images
from codesign.design import DesignPoint
from codesign.errors import CodesignError
from codesign.targets import load_target

TEMPLATES = Path(codesign.__file__).resolve().parent.parent / "templates" / "hls"
TOP_NAME = "accel_top"
LAYER_FUNCTIONS = {"conv": "gemm_layer", "dwconv": "gemm_layer", "fc": "gemm_layer",
                   "avgpool": "avgpool_layer", "maxpool": "maxpool_layer", "add": "add_layer"}
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


def buffer_depths(ir: HardwareIR, chunk) -> list[tuple[str, str, str]]:
    """Sizes of a chunk's buffers beyond the design's activation and weight buffers: the
    weight-stationary accumulators (largest M x N) and the per-channel records (largest C)."""
    jobs = ir.layers[chunk.first_layer:chunk.last_layer + 1]
    depths = {"ACC_DEPTH": max([j.m * j.n for j in jobs] + [1]), "REC_DEPTH": max(j.out_shape[2] for j in jobs)}
    return [("int", name, str(v)) for name, v in depths.items()]


def expected_offsets(ir: HardwareIR) -> list[int]:
    """Byte offset of each layer's output within one image's expected.bin record."""
    offsets, at = [], 0
    for job in ir.layers:
        offsets.append(at)
        at += int(np.prod(job.out_shape))
    return offsets + [at]


def template_context(design: DesignPoint, ir: HardwareIR) -> dict:
    target = load_target(ir.target)
    if not target.part:
        raise CodesignError(f"target {target.name!r} has no FPGA part; the HLS backend needs an FPGA target")
    offsets = expected_offsets(ir)
    layers = [{"index": j.index, "name": j.name, "function": LAYER_FUNCTIONS[j.kind], "expected_offset": offsets[j.index],
               "out_bytes": int(np.prod(j.out_shape))} for j in ir.layers]
    chunks = [dict(c.model_dump(), layers=layers[c.first_layer:c.last_layer + 1]) for c in ir.chunks]
    structs = [{"name": f"chunk{c.index}", "comment": f"chunk {c.index}",
                "consts": cpp_constants(c) + buffer_depths(ir, c)} for c in ir.chunks]
    structs += [{"name": f"layer{j.index}", "comment": f"layer {j.index}: {j.name} ({j.kind})",
                 "consts": cpp_constants(j) + second_input(ir, j)} for j in ir.layers]
    return {"design_name": ir.design_name, "design_digest": ir.design_digest, "target": ir.target,
            "part": target.part, "period_ns": f"{1000.0 / ir.clock_mhz:g}", "top_name": TOP_NAME,
            "project_name": f"{design.name}_{ir.design_digest}_hls", "dram_size": ir.dram_size,
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
    ctx = template_context(design, ir)
    for name in ("params.h", "accel.h", "accel.cpp", "tb.cpp"):
        (out_dir / name).write_text(env.get_template(f"{name}.j2").render(ctx))
    for script, tool, vitis in (("build.tcl", "vivado_hls", False), ("build_vitis.tcl", "vitis_hls", True)):
        text = env.get_template("build.tcl.j2").render(ctx, tool=tool, vitis=vitis, script_name=script)
        (out_dir / script).write_text(text)
    write_vectors(design, ir, params, seeded_images(design), out_dir / "vectors")
