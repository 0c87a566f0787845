"""`codesign csim DIR`: g++ C simulation of DIR/hls against the golden model, bit for bit.

Steps: load the project (DIR/design.json, its weights, manifest), write test vectors from the
golden model (the seeded random image, or the first --images of DIR/vectors.npz), compile the
HLS sources and testbench with g++ against the ap_types headers of the installed hls4ml wheel,
run the testbench, and read its per layer and per image lines. The result goes to DIR/csim.json
and is printed (JSON with --json, a short summary otherwise); exit code 1 on any mismatch.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

from codesign.backend.hls import write_vectors
from codesign.backend.hw import load_project, prepare_result, write_result
from codesign.backend.ir import lower
from codesign.backend.vectors import choose_images
from codesign.errors import CodesignError

CXX = "g++"
CXXFLAGS = ["-std=c++14", "-O0", "-Wall", "-Wextra", "-Werror", "-Wno-unknown-pragmas"]


def ap_types_dir() -> Path:
    """The Xilinx ap_int headers shipped in the hls4ml wheel (C simulation only)."""
    try:
        import hls4ml
    except ImportError:
        raise CodesignError("hls4ml is not installed; `pip install hls4ml==1.3.0` for the ap_types headers") from None
    path = Path(hls4ml.__file__).parent / "templates" / "vivado" / "ap_types"
    if not (path / "ap_int.h").is_file():
        raise CodesignError(f"{path}: no ap_int.h in the installed hls4ml; reinstall hls4ml==1.3.0")
    return path


def compile_command(hls_dir: Path, exe: Path) -> list[str]:
    return [CXX, *CXXFLAGS, "-isystem", str(ap_types_dir()), f"-I{hls_dir}", f"-I{hls_dir / 'kernels'}",
            str(hls_dir / "accel.cpp"), str(hls_dir / "tb.cpp"), "-o", str(exe)]


def compile_testbench(hls_dir: Path, build_dir: Path) -> Path:
    if shutil.which(CXX) is None:
        raise CodesignError(f"{CXX} not found on PATH; install g++ (apt-get install g++) to run C simulation")
    build_dir.mkdir(parents=True, exist_ok=True)
    exe = build_dir / "tb"
    proc = subprocess.run(compile_command(hls_dir, exe), capture_output=True, text=True)
    if proc.returncode != 0:
        raise CodesignError(f"g++ failed on {hls_dir} (regenerate it with `codesign hw`): "
                            + " | ".join(proc.stderr.strip().splitlines()[:3]))
    return exe


def parse_output(stdout: str, ir) -> tuple[list[dict], list[dict]]:
    """Per layer results (summed over images) and per image classes from the testbench lines."""
    mismatches = {j.index: 0 for j in ir.layers}
    elements = {j.index: 0 for j in ir.layers}
    images = []
    for line in stdout.splitlines():
        word, *nums = line.split()
        if word == "LAYER":
            _, index, bad, count = map(int, nums)
            mismatches[index] += bad
            elements[index] += count
        elif word == "IMAGE":
            image, cls, golden = map(int, nums)
            images.append({"image": image, "class": cls, "golden_class": golden, "match": cls == golden})
    layers = [{"index": j.index, "name": j.name, "kind": j.kind, "bit_exact": mismatches[j.index] == 0
               and elements[j.index] > 0, "mismatches": mismatches[j.index], "elements": elements[j.index],
               "predicted_cycles": j.predicted_cycles}
              for j in ir.layers]
    return layers, images


def run_csim(hw_dir: Path, images_count: int | None = None) -> dict:
    hw_dir = Path(hw_dir)
    design, params, manifest = load_project(hw_dir)
    hls_dir = hw_dir / "hls"
    if not (hls_dir / "tb.cpp").is_file():
        raise CodesignError(f"{hls_dir}: no HLS project; generate it with `codesign hw --out {hw_dir}`")
    if f"(digest {design.digest()})" not in (hls_dir / "params.h").read_text():
        raise CodesignError(f"{hls_dir} was generated from another design than {hw_dir / 'design.json'}; "
                            f"regenerate it with `codesign hw --out {hw_dir}`")
    ir = lower(design)
    images, source, labels = choose_images(design, hw_dir, images_count)
    build_dir = hls_dir / "csim"
    write_vectors(design, ir, params, images, build_dir / "vectors")
    start = time.monotonic()
    exe = compile_testbench(hls_dir, build_dir)
    compiled = time.monotonic()
    proc = subprocess.run([str(exe), str(build_dir / "vectors")], capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise CodesignError(f"the C testbench stopped with code {proc.returncode}: {proc.stderr.strip()[:300]}")
    layers, per_image = parse_output(proc.stdout, ir)
    for image in per_image:
        if labels is not None:
            image["label"] = int(labels[image["image"]])
    bit_exact = proc.returncode == 0 and all(layer["bit_exact"] for layer in layers) and len(per_image) == len(images)
    return {"design_name": design.name, "design_digest": manifest.get("design_digest", design.digest()),
            "bit_exact": bit_exact, "image_source": source, "images": per_image, "layers": layers,
            "compile_seconds": round(compiled - start, 2), "run_seconds": round(time.monotonic() - compiled, 2)}


def summary(result: dict) -> str:
    lines = [f"csim {result['design_name']} ({result['design_digest']}): "
             f"{'bit-exact' if result['bit_exact'] else 'MISMATCH'} over {len(result['images'])} image(s) "
             f"({result['image_source']})"]
    for layer in result["layers"]:
        lines.append(f"  layer {layer['index']:>3} {layer['name']:<16} {layer['kind']:<8} "
                     f"{'ok' if layer['bit_exact'] else 'MISMATCH'} ({layer['mismatches']}/{layer['elements']} differ)")
    agree = sum(im["match"] for im in result["images"])
    lines.append(f"  classes equal to the golden model's: {agree}/{len(result['images'])}")
    if all("label" in im for im in result["images"]):
        right = sum(im["class"] == im["label"] for im in result["images"])
        lines.append(f"  classes equal to the labels: {right}/{len(result['images'])}")
    return "\n".join(lines)


def main(args) -> int:
    prepare_result(args.dir, "csim.json", args.images, getattr(args, "force", False))
    result = run_csim(Path(args.dir), args.images)
    write_result(args.dir, "csim.json", result)
    print(json.dumps(result, indent=2) if args.json else summary(result))
    return 0 if result["bit_exact"] else 1
