"""`codesign hw`: a DesignPoint -> DIR/rtl (Verilog), DIR/driver (host drivers), DIR/hls (HLS C++) and DIR/manifest.json.

The steps, each a function of its own: load and check the design against the target, lower it
to the IR, render the Verilog project, render the HLS project, write the manifest. A refused
design leaves no folder behind; a folder holding another design's project is replaced only with
--force. Also the checks `sim` and `csim` share: a project folder complete and readable, and a
result file (sim.json, csim.json) of another design or of more images kept as a copy before a
new run replaces it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

from codesign.backend.ir import design_params, lower
from codesign.cost import check_fits
from codesign.design import DesignPoint, load_design
from codesign.errors import CodesignError
from codesign.files import check_writable, read_npz, run_lock, write_text
from codesign.targets import load_target

RESULTS = {"sim.json": "rtl", "csim.json": "hls"}   # result file -> the project part it checks


def retarget(design: DesignPoint, target_name: str | None) -> DesignPoint:
    """The design for the target asked for; the accelerator is kept, its clock taken from the board."""
    if not target_name or target_name == design.accelerator.target:
        return design
    target = load_target(target_name)
    acc = design.accelerator.model_copy(update={"target": target.name, "clock_mhz": target.clock_mhz})
    return design.model_copy(update={"accelerator": acc, "predicted": None})


def load_params(design: DesignPoint, folder: Path) -> list:
    """The design's integer weights (or seeded random ones), a bad file reported on one line."""
    if design.weights:
        read_npz(folder / design.weights, "train the design again (`codesign train --force`)")
    return design_params(design, folder)


def check_replace_project(out: Path, design: DesignPoint, force: bool) -> None:
    path = out / "manifest.json"
    if force or not path.is_file():
        return
    try:
        old = json.loads(path.read_text()).get("design_digest")
    except (ValueError, AttributeError):
        old = None
    if old != design.digest():
        raise CodesignError(f"{out} holds the project of another design ({old}, this one is {design.digest()}); "
                            f"pass another --out, or --force to replace it (its sim.json and csim.json go too)")


def render_project(design: DesignPoint, design_path: Path, out: Path, params, cost) -> dict:
    from codesign.backend import hls, verilog  # imported here: each backend is optional for the others' tests
    from codesign.driver import project as driver_project
    ir = lower(design)
    verilog.render(design, ir, params, out / "rtl")
    driver_project.write(ir, params, out / "driver")
    hls.render(design, ir, params, out / "hls")
    vectors = design_path.parent / "vectors.npz"
    if vectors.is_file():
        read_npz(vectors, "train the design again (`codesign train --force`) to rewrite it")
        shutil.copyfile(vectors, out / "vectors.npz")
    else:
        (out / "vectors.npz").unlink(missing_ok=True)
    if design.weights:  # DIR is self-contained: DIR/design.json and its weights beside it
        shutil.copyfile(design_path.parent / design.weights, out / Path(design.weights).name)
        design = design.model_copy(update={"weights": Path(design.weights).name})
    write_text(out / "design.json", design.model_dump_json(indent=2) + "\n")
    manifest = {"design_name": design.name, "design_digest": design.digest(), "design_path": str(design_path.resolve()),
                "target": design.accelerator.target, "clock_mhz": design.accelerator.clock_mhz,
                "trained_weights": bool(design.weights), "predicted_fps": cost.fps,
                "predicted_latency_ms": cost.latency_ms, "resources": cost.resources, "capacity": cost.capacity}
    write_text(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return manifest


def generate(design_path: str | Path, out_dir: str | Path, target_name: str | None = None, force: bool = False) -> dict:
    design_path = Path(design_path)
    out = Path(out_dir)
    design = retarget(load_design(design_path), target_name)
    cost = check_fits(design)
    params = load_params(design, design_path.parent)
    check_replace_project(out, design, force)
    existed = out.exists()
    try:
        with run_lock(out, "hw"):
            if force:
                for name in RESULTS:
                    (out / name).unlink(missing_ok=True)
            return render_project(design, design_path, out, params, cost)
    except BaseException:
        if not existed:  # a refused or interrupted hw leaves no half-written folder
            shutil.rmtree(out, ignore_errors=True)
        raise


def project_files(hw_dir: Path, part: str) -> list[Path]:
    """The files `sim` (part "rtl") or `csim` (part "hls") reads from a project folder."""
    from codesign.backend.verilog import rtl_sources
    rtl, hls = hw_dir / "rtl", hw_dir / "hls"
    if part == "rtl":
        return [*rtl_sources(rtl), rtl / "accel_params.vh"]
    return [hls / name for name in ("params.h", "accel.h", "accel.cpp", "tb.cpp")]


def load_project(hw_dir: str | Path) -> tuple[DesignPoint, list, dict]:
    """The design, integer params and manifest of a generated project folder (for sim and csim),
    the files they read checked first."""
    hw_dir = Path(hw_dir)
    manifest = load_manifest(hw_dir)
    design = load_design(hw_dir / "design.json")
    if (hw_dir / "vectors.npz").is_file():
        read_npz(hw_dir / "vectors.npz", f"regenerate the project with `codesign hw --out {hw_dir}`")
    return design, load_params(design, hw_dir), manifest


def load_manifest(hw_dir: str | Path) -> dict:
    path = Path(hw_dir) / "manifest.json"
    if not path.is_file():
        raise CodesignError(f"{hw_dir}: no manifest.json; generate the project first with `codesign hw --out {hw_dir}`")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        manifest = None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("design_digest"), str):
        raise CodesignError(f"{path}: not a codesign manifest; regenerate it with `codesign hw --out {hw_dir}`")
    return manifest


def prepare_result(hw_dir: str | Path, name: str, count: int | None, force: bool) -> Path | None:
    """Before `sim`/`csim` run: check the project part they read and that DIR/name can be written;
    keep a copy of a DIR/name of another design or of more images (unless --force), so the new run
    loses nothing; say on stderr what will be simulated when DIR has no test vectors. Returns the
    copy's path, if one was made."""
    from codesign.backend.vectors import choose_images
    hw_dir = Path(hw_dir)
    design, _, manifest = load_project(hw_dir)
    missing = [str(p.relative_to(hw_dir)) for p in project_files(hw_dir, RESULTS[name]) if not p.is_file()]
    if missing:
        raise CodesignError(f"{hw_dir}: the project lacks {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}; "
                            f"regenerate it with `codesign hw --out {hw_dir}`")
    images, source, _ = choose_images(design, hw_dir, count)
    path = hw_dir / name
    check_writable(path)
    if source != "vectors.npz":
        print(f"note: {hw_dir} has no vectors.npz (the design is untrained); simulating {len(images)} seeded random "
              f"image(s){'' if design.weights else ' with seeded random weights'}", file=sys.stderr)
    if force or not path.is_file():
        return None
    try:
        old = json.loads(path.read_text())
        old_digest, old_images = str(old["design_digest"]), len(old["images"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None  # not a result worth keeping
    if old_digest == manifest["design_digest"] and old_images <= len(images):
        return None  # the new run covers it
    keep = path.with_name(f"{path.stem}-{old_digest[:12]}-{old_images}img{path.suffix}")
    shutil.copyfile(path, keep)
    print(f"note: kept the previous {name} ({old_images} image(s) of design {old_digest[:12]}) as {keep.name}; "
          f"--force replaces it without a copy", file=sys.stderr)
    return keep


def sim_build_dir(hw_dir: Path) -> Path:
    """Where `sim` builds DIR/rtl: DIR/sim_build, or, when DIR's path has a space (GNU make, which
    Verilator's build uses, cannot build there), a folder named by DIR's path in the temp folder."""
    hw_dir = Path(hw_dir).resolve()
    if " " not in str(hw_dir):
        return hw_dir / "sim_build"
    key = hashlib.sha256(str(hw_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"codesign-sim_build-{key}"


def write_result(hw_dir: str | Path, name: str, result: dict) -> None:
    write_text(Path(hw_dir) / name, json.dumps(result, indent=2) + "\n")


def main(args) -> int:
    m = generate(args.design, args.out, args.target, getattr(args, "force", False))
    print(f"wrote {args.out}/rtl, {args.out}/driver, {args.out}/hls and manifest.json for {m['design_name']} "
          f"(digest {m['design_digest']}) on {m['target']}")
    if not (Path(args.out) / "vectors.npz").is_file():
        print(f"note: no vectors.npz beside {args.design} (train the design first): sim and csim will run "
              f"seeded random images{'' if m['trained_weights'] else ' with seeded random weights'}")
    return 0
