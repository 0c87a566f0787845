"""`codesign hw`: a DesignPoint -> DIR/rtl (Verilog), DIR/hls (HLS C++) and DIR/manifest.json.

The steps, each a function of its own: load and check the design against the target, lower it
to the IR, render the Verilog project, render the HLS project, write the manifest.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from codesign.backend.ir import design_params, lower
from codesign.cost import check_fits
from codesign.design import DesignPoint, load_design
from codesign.errors import CodesignError
from codesign.targets import load_target


def retarget(design: DesignPoint, target_name: str | None) -> DesignPoint:
    """The design for the target asked for; the accelerator is kept, its clock taken from the board."""
    if not target_name or target_name == design.accelerator.target:
        return design
    target = load_target(target_name)
    acc = design.accelerator.model_copy(update={"target": target.name, "clock_mhz": target.clock_mhz})
    return design.model_copy(update={"accelerator": acc, "predicted": None})


def generate(design_path: str | Path, out_dir: str | Path, target_name: str | None = None) -> dict:
    design_path = Path(design_path)
    out = Path(out_dir)
    design = retarget(load_design(design_path), target_name)
    cost = check_fits(design)
    params = design_params(design, design_path.parent)
    ir = lower(design)
    out.mkdir(parents=True, exist_ok=True)
    from codesign.backend import hls, verilog  # imported here: each backend is optional for the others' tests
    verilog.render(design, ir, params, out / "rtl")
    hls.render(design, ir, params, out / "hls")
    vectors = design_path.parent / "vectors.npz"
    if vectors.is_file():
        shutil.copyfile(vectors, out / "vectors.npz")
    if design.weights:  # DIR is self-contained: DIR/design.json and its weights beside it
        shutil.copyfile(design_path.parent / design.weights, out / Path(design.weights).name)
        design = design.model_copy(update={"weights": Path(design.weights).name})
    (out / "design.json").write_text(design.model_dump_json(indent=2) + "\n")
    manifest = {"design_name": design.name, "design_digest": design.digest(), "design_path": str(design_path.resolve()),
                "target": design.accelerator.target, "clock_mhz": design.accelerator.clock_mhz,
                "trained_weights": bool(design.weights), "predicted_fps": cost.fps,
                "predicted_latency_ms": cost.latency_ms, "resources": cost.resources, "capacity": cost.capacity}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def load_project(hw_dir: str | Path) -> tuple[DesignPoint, list, dict]:
    """The design, integer params and manifest of a generated project folder (for sim and csim)."""
    manifest = load_manifest(hw_dir)
    design = load_design(Path(hw_dir) / "design.json")
    return design, design_params(design, hw_dir), manifest


def load_manifest(hw_dir: str | Path) -> dict:
    path = Path(hw_dir) / "manifest.json"
    if not path.is_file():
        raise CodesignError(f"{hw_dir}: no manifest.json; generate the project first with `codesign hw --out {hw_dir}`")
    return json.loads(path.read_text())


def main(args) -> int:
    m = generate(args.design, args.out, args.target)
    print(f"wrote {args.out}/rtl, {args.out}/hls and manifest.json for {m['design_name']} "
          f"(digest {m['design_digest']}) on {m['target']}")
    return 0
