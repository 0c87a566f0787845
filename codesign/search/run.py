"""`codesign search`: the joint search of network, bitwidths and accelerator -> runs/<name>/design.json.

The run folder is locked for the whole search (a second search into it stops at once); `--resume`
first reads the checkpoint and refuses one of another config, dataset or target."""

from __future__ import annotations

import contextlib
import pickle
import sys
import zipfile
from pathlib import Path

import torch

from codesign.device import pick_device  # bench/ imports it from here too
from codesign.errors import CodesignError
from codesign.files import check_writable, run_lock
from codesign.search import distributed
from codesign.search.loop import CHECKPOINT, DESIGN, JointSearch, Options
from codesign.search.pareto import FRONT, run_pareto
from codesign.space.config import load_config
from codesign.targets import Target, load_target

# Settings a resumed search may change: more epochs continue it; everything else must match.
RESUMABLE = {("search", "epochs"), ("search", "compile")}


def apply_overrides(config, args):
    s = config.search
    for field in ("epochs", "steps_per_epoch", "batch", "objective", "compile"):
        value = getattr(args, field, None)
        if value is not None:
            setattr(s, field, value)
    return config


def check_buildable(target: Target) -> None:
    """Refuse before searching a board whose design `codesign hw` would refuse afterwards."""
    from codesign.backend.verilog import AXI_WIDTHS
    if target.kind == "fpga" and target.axi_data_bits not in AXI_WIDTHS:
        raise CodesignError(f"target {target.name}: its AXI port is {target.axi_data_bits} bits, the generated RTL "
                            f"drives {' or '.join(map(str, AXI_WIDTHS))}-bit ports only, so `codesign hw` could not "
                            f"build the result; choose a target with one of those")


def read_checkpoint(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except (PermissionError, FileNotFoundError):
        raise
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, KeyError) as e:
        raise CodesignError(f"{path}: unreadable checkpoint ({str(e).splitlines()[0] if str(e) else type(e).__name__}); "
                            f"it was cut short or is not a codesign checkpoint: delete it and start again "
                            f"without --resume") from None


def differences(old: dict, new: dict, where: tuple = ()) -> list[str]:
    """Dotted names of the config fields that differ (those in RESUMABLE aside)."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if (*where, key) in RESUMABLE:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, (*where, key))
        elif a != b:
            out.append(".".join((*where, key)) + f" {a!r} -> {b!r}")
    return out


def check_resumable(state: dict, config, target: Target, path: Path) -> None:
    if not isinstance(state, dict) or "config" not in state or "epoch" not in state:
        raise CodesignError(f"{path}: not a search checkpoint; delete it and start again without --resume")
    old_target = state.get("target", target.name)
    if old_target != target.name:
        raise CodesignError(f"{path}: the search was for --target {old_target}, not {target.name}; resume it with "
                            f"--target {old_target} or start a new search with another --out")
    changed = differences(state["config"], config.model_dump(mode="json"))
    if changed:
        raise CodesignError(f"{path}: the checkpoint's search differs from this command's in {', '.join(changed[:3])}"
                            f"{' ...' if len(changed) > 3 else ''}; resume with the same --config/--dataset "
                            f"options (only --epochs may grow) or start a new search with another --out")


def check_folder(out: Path, resume: bool) -> None:
    if (out / DESIGN).is_file() and not resume:
        raise CodesignError(f"{out} already holds a finished search ({out / DESIGN}); pass another --out "
                            f"(make: RUN=...), or --resume with more --epochs to continue it")
    if resume and not (out / CHECKPOINT).is_file():
        raise CodesignError(f"{out / CHECKPOINT}: no checkpoint to resume from; run without --resume to start")
    if not resume and (out / CHECKPOINT).is_file():
        raise CodesignError(f"{out} holds an unfinished search; pass --resume to continue it or another --out")


def pareto_main(config, target, out: Path, args) -> int:
    if args.target_fps or args.resume:
        raise CodesignError("--pareto sweeps its own FPS targets and starts afresh: drop --target-fps / --resume")
    opts = Options(out=out, target=target, device=pick_device(args.device), seed=args.seed,
                   data_root=args.data_root, progress=sys.stderr.isatty())
    with run_lock(out, "search"):
        points = run_pareto(config, opts, args.pareto)
    print(f"wrote {out / FRONT}: {len(points)} designs")
    print(f"{'point':>5} {'target FPS':>10} {'FPS':>8} {'val acc':>7} front  blocks")
    for p in points:
        goal = f"{p['target_fps']:.0f}" if p["target_fps"] else "-"
        print(f"{p['point']:>5} {goal:>10} {p['fps']:>8.0f} {p['val_acc']:>7.3f} {'*' if p['on_front'] else ' ':^5}  "
              + " ".join(p["blocks"]))
    return 0


def main(args) -> int:
    config = apply_overrides(load_config(args.config, args.dataset), args)
    target = load_target(args.target)
    check_buildable(target)
    out = Path(args.out or f"runs/{config.dataset.name}-{target.name}")
    if args.pareto is not None:
        if distributed.launched():
            raise CodesignError("--pareto runs its searches one after another in one process: launch it without torchrun")
        return pareto_main(config, target, out, args)
    check_folder(out, args.resume)
    device = pick_device(args.device)
    world = distributed.from_env(device)
    device = distributed.rank_device(world, device)
    try:
        return search_main(config, target, out, device, world, args)
    finally:
        distributed.finish(world)


def search_main(config, target, out: Path, device: str, world: distributed.World, args) -> int:
    # rank 0 holds the folder's lock; under torchrun the other ranks only read it, before rank 0 writes
    with run_lock(out, "search") if world.main else contextlib.nullcontext():
        check_folder(out, args.resume)   # again, now that no other search can change it
        for name in (CHECKPOINT, DESIGN) if world.main else ():
            check_writable(out / name)
        state = read_checkpoint(out / CHECKPOINT) if args.resume else None
        if state is not None:
            check_resumable(state, config, target, out / CHECKPOINT)
        distributed.barrier(world)
        opts = Options(out=out, target=target, target_fps=args.target_fps, device=device, seed=args.seed,
                       resume=args.resume, data_root=args.data_root, name=out.name, progress=sys.stderr.isatty(),
                       world=world)
        search = JointSearch(config, opts)
        if state is not None:
            search.load_checkpoint(state)
            if search.epoch >= config.search.epochs and (out / DESIGN).is_file():
                print(f"{out}: search already done ({search.epoch} epochs); design in {out / DESIGN}")
                return 0
        design = search.run()
    if not world.main:
        return 0
    p = design.predicted
    print(f"wrote {out / DESIGN}: {len(design.layers)} layers, {len(design.accelerator.chunks)} chunks, "
          f"{p.fps:.0f} FPS, {p.latency_ms:.3f} ms, " + ", ".join(f"{k} {v:g}" for k, v in p.resources.items()))
    return 0
