"""`codesign search`: the joint search of network, bitwidths and accelerator -> runs/<name>/design.json."""

from __future__ import annotations

from pathlib import Path

import torch

from codesign.errors import CodesignError
from codesign.search.loop import CHECKPOINT, DESIGN, JointSearch, Options
from codesign.search.pareto import FRONT, run_pareto
from codesign.space.config import load_config
from codesign.targets import load_target


CPU_THREADS = 1   # small per-layer ops: one thread is several times faster on shared, busy cores


def pick_device(name: str | None) -> str:
    if name is None:
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        torch.set_num_threads(CPU_THREADS)
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise CodesignError(f"--device {name}: no CUDA GPU is visible to torch; use --device cpu")
    return name


def apply_overrides(config, args):
    s = config.search
    for field in ("epochs", "steps_per_epoch", "batch", "objective"):
        value = getattr(args, field, None)
        if value is not None:
            setattr(s, field, value)
    return config


def pareto_main(config, target, out: Path, args) -> int:
    if args.target_fps or args.resume:
        raise CodesignError("--pareto sweeps its own FPS targets and starts afresh: drop --target-fps / --resume")
    opts = Options(out=out, target=target, device=pick_device(args.device), seed=args.seed,
                   data_root=args.data_root)
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
    out = Path(args.out or f"runs/{config.dataset.name}-{target.name}")
    if args.pareto is not None:
        return pareto_main(config, target, out, args)
    if (out / DESIGN).is_file() and not args.resume:
        raise CodesignError(f"{out} already holds a finished search ({out / DESIGN}); pass another --out, "
                            f"or --resume with more --epochs to continue it")
    if args.resume and not (out / CHECKPOINT).is_file():
        raise CodesignError(f"{out / CHECKPOINT}: no checkpoint to resume from; run without --resume to start")
    if not args.resume and (out / CHECKPOINT).is_file():
        raise CodesignError(f"{out} holds an unfinished search; pass --resume to continue it or another --out")
    out.mkdir(parents=True, exist_ok=True)
    opts = Options(out=out, target=target, target_fps=args.target_fps, device=pick_device(args.device),
                   seed=args.seed, resume=args.resume, data_root=args.data_root, name=out.name)
    search = JointSearch(config, opts)
    if args.resume:
        search.load_checkpoint()
        if search.epoch >= config.search.epochs and (out / DESIGN).is_file():
            print(f"{out}: search already done ({search.epoch} epochs); design in {out / DESIGN}")
            return 0
    design = search.run()
    p = design.predicted
    print(f"wrote {out / DESIGN}: {len(design.layers)} layers, {len(design.accelerator.chunks)} chunks, "
          f"{p.fps:.0f} FPS, {p.latency_ms:.3f} ms, " + ", ".join(f"{k} {v:g}" for k, v in p.resources.items()))
    return 0
