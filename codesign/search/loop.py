"""The joint loop: weight steps and architecture/accelerator steps on two halves of the training
split, temperature annealing, derived-network checks, logs and checkpoints, the final design.

Per step: a weight step on the weight half (one hard Gumbel sample per slot, hard bit samples);
after the warm-up epochs also an architecture step on the architecture half (the top-2 hard
Gumbel paths per slot, hard bit samples): cross-entropy + hw_weight * log(hardware cost), or with
--target-fps the Lagrange term. `checks_per_epoch` times an epoch: derive the discrete network
(argmax), let the engine fit the accelerator to it, measure it exactly, move the multiplier by
the measured gap, log it, rebuild the hardware loss on that accelerator. A checkpoint per epoch.
"""

from __future__ import annotations

import json
import math
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from codesign.cost import check_fits, evaluate
from codesign.data import Splits, load_dataset, to_tensor
from codesign.design import Dataset, DesignPoint, save_design
from codesign.files import atomic_path, write_text
from codesign.errors import CodesignError
from codesign.search import distributed
from codesign.search.batches import Batches
from codesign.search.engine import AcceleratorEngine, Candidate, probe_design
from codesign.search.hwloss import HardwareLoss
from codesign.space.config import SearchConfig
from codesign.space.network import Supernet, expand_layers
from codesign.targets import Target

CHECKPOINT, LOG, VISITED, DESIGN = "checkpoint.pt", "search_log.jsonl", "visited.jsonl", "design.json"


@dataclass
class Options:
    out: Path
    target: Target
    target_fps: float | None = None
    device: str = "cpu"
    seed: int = 0
    resume: bool = False
    data_root: str | None = None
    progress: bool = True
    name: str = "search"
    world: distributed.World = distributed.ALONE   # torchrun's ranks (search/distributed.py)


def temperature(s, epoch: int) -> float:
    return s.tau_start * (s.tau_end / s.tau_start) ** (epoch / max(1, s.epochs - 1))


TOLERANCE = 0.10    # a --target-fps is met when the design's FPS is within 10 % of it


def met(fps: float, target: float) -> bool:
    return abs(fps / target - 1) <= TOLERANCE


def next_lagrange(lagrange: float, fps: float, goal: float, lr: float) -> float:
    """The multiplier after a check that measured `fps`. Signed, as for an equality (TuNAS pulls to
    its target from both sides): a network faster than the target is pushed back to larger blocks,
    so the FPS budget buys accuracy. Zero inside the band (accuracy alone decides there); it
    integrates the log gap outside, restarting from zero when the gap changes side (no wind-up)."""
    gap = math.log(goal / fps)
    if met(fps, goal):
        return 0.0
    if lagrange * gap < 0:
        return lr * gap
    return lagrange + lr * gap


def lr_factor(s, step: int, total: int) -> float:
    """The weight learning rate's factor at global weight step `step` of `total`."""
    return 0.5 * (1 + math.cos(math.pi * step / max(1, total))) if s.lr_schedule == "cosine" else 1.0


class JointSearch:
    def __init__(self, config: SearchConfig, opts: Options, splits: Splits | None = None):
        self.config, self.opts, self.s = config, opts, config.search
        s, dev = self.s, opts.device
        torch.manual_seed(opts.seed)
        self.splits = splits or load_dataset(config.dataset.name, opts.data_root, opts.seed,
                                             input_size=config.dataset.input_size)
        sp = self.splits
        self.dataset = Dataset(name=sp.name, input_shape=sp.input_shape, num_classes=sp.num_classes)
        images, labels = sp.train
        half = np.random.default_rng(opts.seed).permutation(len(labels))
        w_idx, a_idx = half[::2], half[1::2]
        self.weight_data = Batches(images[w_idx], labels[w_idx], s.batch, dev, opts.seed, 0, s.augment, s.workers)
        self.arch_data = Batches(images[a_idx], labels[a_idx], s.batch, dev, opts.seed, 1, s.augment, s.workers)
        self.val_data = (to_tensor(sp.val[0]), torch.from_numpy(sp.val[1]))
        self.net = Supernet(config, sp.input_shape, sp.num_classes).to(dev)
        if s.compile:
            self.net.compile_blocks()
        if s.weight_optimizer == "sgd":
            self.w_opt = torch.optim.SGD(self.net.weight_parameters(), lr=s.weight_lr, momentum=s.momentum,
                                         nesterov=s.momentum > 0, weight_decay=s.weight_decay)
        else:
            self.w_opt = torch.optim.AdamW(self.net.weight_parameters(), lr=s.weight_lr, weight_decay=s.weight_decay)
        self.a_opt = torch.optim.Adam(self.net.arch_parameters(), lr=s.arch_lr)
        self.engine = AcceleratorEngine(config.accelerator, opts.target, len(self.net.slots) + 2, s.objective,
                                        s.accel_samples, s.accel_lr)
        self.lagrange = 0.0
        self.epoch = 0              # epochs completed
        self.checks: list[dict] = []   # every derived network checked after the warm-up
        self.candidate: Candidate | None = None
        self.hw_loss: HardwareLoss | None = None

    # ---- sampling -------------------------------------------------------------------------
    def sample_bits(self, tau: float):
        """Hard Gumbel one-hots of each slot's weight and activation width (straight-through)."""
        net = self.net
        return F.gumbel_softmax(net.beta_w, tau=tau, hard=True), F.gumbel_softmax(net.beta_a, tau=tau, hard=True)

    def derived_choice(self):
        net = self.net
        blocks = [slot.candidates[int(a.argmax())] for slot, a in zip(net.slots, net.alpha)]
        w_bits = [net.w_bits[int(i)] for i in net.beta_w.argmax(1)]
        a_bits = [net.a_bits[int(i)] for i in net.beta_a.argmax(1)]
        return blocks, w_bits, a_bits

    def derived_design(self) -> DesignPoint:
        layers = expand_layers(self.config, self.dataset.input_shape, self.dataset.num_classes, *self.derived_choice())
        return probe_design(layers, self.dataset, self.opts.target)

    # ---- steps ----------------------------------------------------------------------------
    def steps_per_epoch(self) -> int:
        return self.s.steps_per_epoch or max(1, len(self.weight_data) // self.s.batch)

    def weight_step(self, x, y, tau):
        x, y = distributed.shard(self.opts.world, x, y)
        paths = self.net.sample_paths(tau, 1, gated=False)
        w_bits, a_bits = (p.detach() for p in self.sample_bits(tau))
        loss = F.cross_entropy(self.net(x, paths, w_bits, a_bits), y)
        self.w_opt.zero_grad()
        loss.backward()
        distributed.average_gradients(self.opts.world, self.net.weight_parameters())
        if self.s.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.net.weight_parameters(), self.s.grad_clip)
        self.w_opt.step()
        return loss.detach()

    def arch_step(self, x, y, tau):
        """CE of top-`paths` hard samples (blocks) and hard bit samples, plus the hardware term on
        the expected cost: hw_weight x log cost, or with --target-fps the Lagrange term
        lambda x log(slowest chunk cycles / target cycles)."""
        net = self.net
        x, y = distributed.shard(self.opts.world, x, y)
        paths = net.sample_paths(tau, self.s.paths, gated=True)
        loss = F.cross_entropy(net(x, paths, *self.sample_bits(tau)), y)
        block_probs = [F.softmax(a / tau, 0) for a in net.alpha]
        hw_cost, slowest = self.hw_loss(block_probs, F.softmax(net.beta_w / tau, 1), F.softmax(net.beta_a / tau, 1))
        if self.opts.target_fps:
            target_cycles = self.opts.target.clock_mhz * 1e6 / self.opts.target_fps
            loss = loss + self.lagrange * torch.log(slowest / target_cycles).float()
        else:
            loss = loss + self.s.hw_weight * hw_cost.float()
        self.a_opt.zero_grad()
        self.w_opt.zero_grad()
        loss.backward()
        distributed.average_gradients(self.opts.world, net.arch_parameters())
        self.a_opt.step()
        return hw_cost.detach()

    @torch.no_grad()
    def val_accuracy(self) -> float:
        net = self.net
        net.eval()
        paths = net.argmax_paths()
        w_probs = F.one_hot(net.beta_w.argmax(1), len(net.w_bits)).float()
        a_probs = F.one_hot(net.beta_a.argmax(1), len(net.a_bits)).float()
        correct = 0
        images, labels = self.val_data
        for i in range(0, len(labels), 256):
            x, y = images[i:i + 256].to(self.opts.device), labels[i:i + 256].to(self.opts.device)
            correct += int((net(x, paths, w_probs, a_probs).argmax(1) == y).sum())
        net.train()
        return correct / max(1, len(labels))

    # ---- accelerator and checks -----------------------------------------------------------
    def update_accelerator(self, steps: int, tau: float) -> DesignPoint:
        self.engine.set_network(self.derived_design())
        for _ in range(steps):
            self.engine.step(tau)
        self.candidate = self.engine.derive()
        self.hw_loss = HardwareLoss(self.engine, self.candidate, self.config, self.dataset.input_shape)
        self.hw_loss.to(self.opts.device)
        return self.engine.to_design(self.candidate)

    def check(self, epoch: int, tau: float, searching: bool) -> dict:
        """Derive the argmax network, fit the accelerator to it, measure it; with --target-fps the
        multiplier moves by the log gap between the target and this network's exact FPS."""
        distributed.average_buffers(self.opts.world, self.net)   # every rank measures the same network
        design = self.update_accelerator(self.s.accel_steps, tau)
        cost = evaluate(design, self.opts.target)
        entry = visited_entry(epoch, self.val_accuracy(), self.derived_choice(), design, cost)
        if searching and self.opts.target_fps:
            self.lagrange = next_lagrange(self.lagrange, cost.fps, self.opts.target_fps, self.s.lagrange_lr)
            entry["lagrange"] = self.lagrange
        self.append(VISITED, entry)
        entry = {**entry, "design": design.model_dump(mode="json")}
        if searching:
            self.checks.append(entry)
        return entry

    # ---- the loop -------------------------------------------------------------------------
    def run(self, stop_after: int | None = None) -> DesignPoint | None:
        """Search to the configured epochs (or only to `stop_after` epochs, returning None)."""
        s = self.s
        last = s.epochs if stop_after is None else min(stop_after, s.epochs)
        if self.hw_loss is None:
            self.update_accelerator(s.accel_steps, 1.0)
        n = self.steps_per_epoch()
        show = self.opts.progress and self.opts.world.main
        epochs = tqdm(total=s.epochs, initial=self.epoch, desc="search", unit="epoch", disable=not show)
        while self.epoch < last:
            e = self.epoch
            tau = temperature(s, e)
            searching = e >= s.warmup_epochs
            checks = s.checks_per_epoch if searching else 1
            check_at = {(k + 1) * n // checks - 1 for k in range(checks)}
            arch_iter = self.arch_data.epoch(e, n) if searching else None
            losses, hw = [], None
            for i, (x, y) in enumerate(tqdm(self.weight_data.epoch(e, n), total=n, desc=f"epoch {e + 1}",
                                            disable=not show, leave=False)):
                for group in self.w_opt.param_groups:
                    group["lr"] = s.weight_lr * lr_factor(s, e * n + i, s.epochs * n)
                losses.append(self.weight_step(x, y, tau))
                if arch_iter is not None:
                    hw = self.arch_step(*next(arch_iter), tau)
                if i in check_at:
                    entry = self.check(e + 1, tau, searching)
            self.epoch = e + 1
            log = dict(epoch=self.epoch, train_loss=float(torch.stack(losses).mean()), val_acc=entry["val_acc"],
                       temperature=tau, fps=entry["fps"], latency_ms=entry["latency_ms"],
                       objective=self.candidate.objective, hw_loss=float("nan") if hw is None else float(hw))
            if self.opts.target_fps:
                log["lagrange"] = self.lagrange
            distributed.check_in_sync(self.opts.world, self.net, self.epoch)
            self.append(LOG, log)
            self.save_checkpoint()
            epochs.update(1)
            if not self.opts.progress and self.opts.world.main:  # plain lines for logs and pipes, not tqdm's escape codes
                print(f"search epoch {self.epoch}/{self.s.epochs}: loss {log['train_loss']:.3f}, val_acc {log['val_acc']:.3f}, "
                      f"{log['fps']:.0f} FPS, tau {tau:.2f}", flush=True)
            epochs.set_postfix(loss=f"{log['train_loss']:.3f}", val_acc=f"{log['val_acc']:.3f}", fps=f"{log['fps']:.0f}",
                               tau=f"{tau:.2f}")
        epochs.close()
        return self.finish() if self.epoch >= s.epochs else None

    def polish(self, network: DesignPoint) -> DesignPoint:
        """The engine's longer final search of the accelerator for one network."""
        self.engine.set_network(network)
        candidate = self.engine.search(self.s.final_accel_steps, 1.0, 0.2)
        return self.engine.to_design(candidate)

    def pick_for_target(self) -> tuple[dict, DesignPoint]:
        """Among the checked networks: the most accurate within 10 % of the target; else the most
        accurate faster than it; else the fastest. Its accelerator is polished when that keeps (or
        brings) it within the target."""
        goal = self.opts.target_fps
        checks = self.checks or [self.check(self.epoch, 1.0, True)]
        miss = lambda fps: abs(math.log(fps / goal))  # noqa: E731
        most_accurate = lambda cs: max(cs, key=lambda c: (c["val_acc"], c["epoch"]))  # noqa: E731
        inside = [c for c in checks if met(c["fps"], goal)]
        faster = [c for c in checks if c["fps"] >= goal]
        best = most_accurate(inside or faster) if inside or faster else max(checks, key=lambda c: c["fps"])
        checked = DesignPoint.model_validate(best["design"])
        polished = self.polish(checked)
        fps = evaluate(polished, self.opts.target).fps
        keep = met(fps, goal) or (not met(best["fps"], goal) and miss(fps) < miss(best["fps"]))
        return best, polished if keep else checked

    def finish(self) -> DesignPoint:
        goal = self.opts.target_fps
        if goal:
            best, design = self.pick_for_target()
            choice, acc = (best["blocks"], best["w_bits"], best["a_bits"]), best["val_acc"]
        else:
            design, choice, acc = self.polish(self.derived_design()), self.derived_choice(), self.val_accuracy()
        design = design.model_copy(update={"name": self.opts.name, "split_seed": self.opts.seed})
        cost = check_fits(design, self.opts.target)
        design = design.model_copy(update={"predicted": cost.predicted()})
        final = visited_entry(self.epoch, acc, choice, design, cost)
        self.append(VISITED, {**final, "final": True})
        if self.opts.world.main:
            save_design(design, self.opts.out / DESIGN)
        if goal and not met(cost.fps, goal) and self.opts.world.main:
            closest = min(self.checks, key=lambda c: abs(math.log(c["fps"] / goal)), default=final)
            print(f"warning: --target-fps {goal:g} is not met within {TOLERANCE:.0%}: the design found runs "
                  f"{cost.fps:.0f} FPS ({self.opts.out / DESIGN}); the closest checked network ran "
                  f"{closest['fps']:.0f} FPS (epoch {closest['epoch']})", file=sys.stderr)
        return design

    # ---- checkpoints ----------------------------------------------------------------------
    def state(self) -> dict:
        e = self.engine
        return dict(epoch=self.epoch, net=self.net.state_dict(), w_opt=self.w_opt.state_dict(),
                    a_opt=self.a_opt.state_dict(), engine=e.state_dict(), engine_opt=e.optimizer.state_dict(),
                    engine_best=e.best, engine_network=e.design.model_dump(mode="json"), candidate=self.candidate,
                    lagrange=self.lagrange, checks=self.checks, torch_rng=torch.get_rng_state(), numpy_rng=np.random.get_state(),
                    python_rng=random.getstate(), config=self.config.model_dump(mode="json"))

    def append(self, name: str, entry: dict) -> None:
        """One line of a run log (rank 0 writes; the other ranks hold the same state)."""
        if self.opts.world.main:
            append_jsonl(self.opts.out / name, entry)

    def save_checkpoint(self) -> None:
        if not self.opts.world.main:
            return
        with atomic_path(self.opts.out / CHECKPOINT) as tmp:
            torch.save({**self.state(), "target": self.opts.target.name}, tmp)

    def load_checkpoint(self, st: dict) -> None:
        """Continue from a checkpoint's state (search/run.py reads it and checks it is of this search)."""
        self.epoch, self.lagrange, self.checks = st["epoch"], st["lagrange"], st.get("checks", [])
        self.net.load_state_dict(st["net"])
        self.w_opt.load_state_dict(st["w_opt"])
        self.a_opt.load_state_dict(st["a_opt"])
        self.engine.load_state_dict(st["engine"])
        self.engine.optimizer.load_state_dict(st["engine_opt"])
        self.engine.set_network(DesignPoint.model_validate(st["engine_network"]))
        self.engine.best, self.candidate = st["engine_best"], st["candidate"]
        self.hw_loss = HardwareLoss(self.engine, self.candidate, self.config, self.dataset.input_shape)
        self.hw_loss.to(self.opts.device)
        torch.set_rng_state(st["torch_rng"])
        np.random.set_state(st["numpy_rng"])
        random.setstate(st["python_rng"])
        for name in (LOG, VISITED):
            if self.opts.world.main:
                truncate_jsonl(self.opts.out / name, self.epoch)


def visited_entry(epoch: int, acc: float, choice, design: DesignPoint, cost) -> dict:
    """One evaluated candidate: per searchable layer its block ("skip" included) and bits."""
    blocks, w_bits, a_bits = choice
    return dict(epoch=epoch, val_acc=acc, fps=cost.fps, latency_ms=cost.latency_ms, resources=cost.resources,
                blocks=list(blocks), w_bits=list(w_bits), a_bits=list(a_bits),
                chunks=len(design.accelerator.chunks))


def append_jsonl(path: Path, entry: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in entry.items()}) + "\n")


def truncate_jsonl(path: Path, last_epoch: int) -> None:
    """Drop lines logged after the checkpoint (a run killed between its log and its checkpoint)."""
    if path.is_file():
        keep = [line for line in path.read_text().splitlines() if line and json.loads(line)["epoch"] <= last_epoch]
        write_text(path, "".join(line + "\n" for line in keep))
