"""The joint loop: weight steps and architecture/accelerator steps on two halves of the training
split, temperature annealing, per-epoch derivation, logs and checkpoints, the final design.

Per step: sample one block per slot (hard Gumbel-softmax) and soft bit mixtures (Gumbel-
softmax), take a weight step on the weight half; after the warm-up epochs also an architecture
step on the architecture half: cross-entropy + hw_weight * log(hardware cost) (+ the Lagrange
term of --target-fps). After each epoch: derive the discrete network (argmax), let the engine
update the accelerator for it, evaluate the pair, log it, rebuild the hardware loss on that
accelerator, checkpoint.
"""

from __future__ import annotations

import json
import math
import random
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


def temperature(s, epoch: int) -> float:
    return s.tau_start * (s.tau_end / s.tau_start) ** (epoch / max(1, s.epochs - 1))


class JointSearch:
    def __init__(self, config: SearchConfig, opts: Options, splits: Splits | None = None):
        self.config, self.opts, self.s = config, opts, config.search
        torch.manual_seed(opts.seed)
        self.splits = splits or load_dataset(config.dataset.name, opts.data_root, opts.seed,
                                             input_size=config.dataset.input_size)
        sp = self.splits
        self.dataset = Dataset(name=sp.name, input_shape=sp.input_shape, num_classes=sp.num_classes)
        images, labels = to_tensor(sp.train[0]), torch.from_numpy(sp.train[1])
        half = np.random.default_rng(opts.seed).permutation(len(labels))
        w_idx, a_idx = torch.from_numpy(half[::2].copy()), torch.from_numpy(half[1::2].copy())
        self.weight_data = (images[w_idx], labels[w_idx])
        self.arch_data = (images[a_idx], labels[a_idx])
        self.val_data = (to_tensor(sp.val[0]), torch.from_numpy(sp.val[1]))
        dev = opts.device
        self.net = Supernet(config, sp.input_shape, sp.num_classes).to(dev)
        self.w_opt = torch.optim.Adam(self.net.weight_parameters(), lr=self.s.weight_lr)
        self.a_opt = torch.optim.Adam(self.net.arch_parameters(), lr=self.s.arch_lr)
        self.engine = AcceleratorEngine(config.accelerator, opts.target, len(self.net.slots) + 2, self.s.objective,
                                        self.s.accel_samples, self.s.accel_lr)
        self.lagrange = 0.0
        self.epoch = 0              # epochs completed
        self.candidate: Candidate | None = None
        self.hw_loss: HardwareLoss | None = None

    # ---- sampling -------------------------------------------------------------------------
    def sample(self, tau: float):
        net = self.net
        onehots = [F.gumbel_softmax(a, tau=tau, hard=True) for a in net.alpha]
        w_probs = F.gumbel_softmax(net.beta_w, tau=tau, hard=False)
        a_probs = F.gumbel_softmax(net.beta_a, tau=tau, hard=False)
        return onehots, w_probs, a_probs

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
    def batches(self, data, epoch: int, salt: int):
        images, labels = data
        g = torch.Generator().manual_seed(self.opts.seed * 1000003 + epoch * 2 + salt)
        order = torch.randperm(len(labels), generator=g)
        n = len(labels) // self.s.batch if len(labels) >= self.s.batch else 1
        steps = self.s.steps_per_epoch or n
        for i in range(steps):
            idx = order[(i % n) * self.s.batch:((i % n) + 1) * self.s.batch]
            yield images[idx].to(self.opts.device), labels[idx].to(self.opts.device)

    def weight_step(self, x, y, tau):
        onehots, w_probs, a_probs = self.sample(tau)
        with torch.no_grad():
            w_probs, a_probs = w_probs.detach(), a_probs.detach()
        loss = F.cross_entropy(self.net(x, [o.detach() for o in onehots], w_probs, a_probs), y)
        self.w_opt.zero_grad()
        loss.backward()
        self.w_opt.step()
        return float(loss.detach())

    def arch_step(self, x, y, tau):
        onehots, w_probs, a_probs = self.sample(tau)
        loss = F.cross_entropy(self.net(x, onehots, w_probs, a_probs), y)
        block_probs = [F.softmax(a / tau, 0).cpu() for a in self.net.alpha]   # the cost model runs on the CPU
        hw_cost, slowest = self.hw_loss(block_probs, w_probs.cpu(), a_probs.cpu())
        hw_cost, slowest = hw_cost.to(loss.device), slowest.to(loss.device)
        loss = loss + self.s.hw_weight * hw_cost.float()
        if self.opts.target_fps:
            target_cycles = self.opts.target.clock_mhz * 1e6 / self.opts.target_fps
            gap = slowest.float() / target_cycles - 1
            loss = loss + self.lagrange * gap
            self.lagrange = max(0.0, self.lagrange + self.s.lagrange_lr * float(gap.detach()))
        self.a_opt.zero_grad()
        self.w_opt.zero_grad()
        loss.backward()
        self.a_opt.step()
        return float(hw_cost.detach())

    @torch.no_grad()
    def val_accuracy(self) -> float:
        net = self.net
        net.eval()
        blocks, w_bits, a_bits = self.derived_choice()
        onehots = [F.one_hot(a.argmax(), len(a)).float() for a in net.alpha]
        w_probs = F.one_hot(net.beta_w.argmax(1), len(net.w_bits)).float()
        a_probs = F.one_hot(net.beta_a.argmax(1), len(net.a_bits)).float()
        correct = 0
        images, labels = self.val_data
        for i in range(0, len(labels), 256):
            x, y = images[i:i + 256].to(self.opts.device), labels[i:i + 256].to(self.opts.device)
            correct += int((net(x, onehots, w_probs, a_probs).argmax(1) == y).sum())
        net.train()
        return correct / max(1, len(labels))

    # ---- accelerator ----------------------------------------------------------------------
    def update_accelerator(self, steps: int, tau: float) -> DesignPoint:
        self.engine.set_network(self.derived_design())
        for _ in range(steps):
            self.engine.step(tau)
        self.candidate = self.engine.derive()
        self.hw_loss = HardwareLoss(self.engine, self.candidate, self.config, self.dataset.input_shape)
        return self.engine.to_design(self.candidate)

    # ---- the loop -------------------------------------------------------------------------
    def run(self) -> DesignPoint:
        out = self.opts.out
        if self.hw_loss is None:
            self.update_accelerator(self.s.accel_steps, 1.0)
        epochs = tqdm(total=self.s.epochs, initial=self.epoch, desc="search", unit="epoch",
                      disable=not self.opts.progress)
        while self.epoch < self.s.epochs:
            e = self.epoch
            tau = temperature(self.s, e)
            losses = []
            arch_iter = self.batches(self.arch_data, e, 1) if e >= self.s.warmup_epochs else None
            bar = tqdm(list(self.batches(self.weight_data, e, 0)), desc=f"epoch {e + 1}",
                       disable=not self.opts.progress, leave=False)
            hw = float("nan")
            for x, y in bar:
                losses.append(self.weight_step(x, y, tau))
                if arch_iter is not None:
                    xa, ya = next(arch_iter)
                    hw = self.arch_step(xa, ya, tau)
                bar.set_postfix(loss=f"{losses[-1]:.3f}")
            design = self.update_accelerator(self.s.accel_steps, tau)
            cost = evaluate(design, self.opts.target)
            acc = self.val_accuracy()
            self.epoch = e + 1
            log = dict(epoch=self.epoch, train_loss=float(np.mean(losses)), val_acc=acc, temperature=tau,
                       fps=cost.fps, latency_ms=cost.latency_ms, objective=self.candidate.objective, hw_loss=hw)
            if self.opts.target_fps:
                log["lagrange"] = self.lagrange
            append_jsonl(out / LOG, log)
            append_jsonl(out / VISITED, visited_entry(self.epoch, acc, self.derived_choice(), design, cost))
            self.save_checkpoint()
            epochs.update(1)
            if not self.opts.progress:  # plain lines for logs and pipes, not tqdm's escape codes
                print(f"search epoch {self.epoch}/{self.s.epochs}: loss {log['train_loss']:.3f}, val_acc {acc:.3f}, "
                      f"{cost.fps:.0f} FPS, tau {tau:.2f}", flush=True)
            epochs.set_postfix(loss=f"{log['train_loss']:.3f}", val_acc=f"{acc:.3f}", fps=f"{cost.fps:.0f}",
                               tau=f"{tau:.2f}")
        epochs.close()
        return self.finish()

    def finish(self) -> DesignPoint:
        self.engine.set_network(self.derived_design())
        candidate = self.engine.search(self.s.final_accel_steps, 1.0, 0.2)
        design = self.engine.to_design(candidate).model_copy(update={"name": self.opts.name})
        cost = check_fits(design, self.opts.target)
        design = design.model_copy(update={"predicted": cost.predicted()})
        final = visited_entry(self.epoch, self.val_accuracy(), self.derived_choice(), design, cost)
        append_jsonl(self.opts.out / VISITED, {**final, "final": True})
        save_design(design, self.opts.out / DESIGN)
        return design

    # ---- checkpoints ----------------------------------------------------------------------
    def state(self) -> dict:
        e = self.engine
        return dict(epoch=self.epoch, net=self.net.state_dict(), w_opt=self.w_opt.state_dict(),
                    a_opt=self.a_opt.state_dict(), engine=e.state_dict(), engine_opt=e.optimizer.state_dict(),
                    engine_best=e.best, engine_network=e.design.model_dump(mode="json"), candidate=self.candidate,
                    lagrange=self.lagrange, torch_rng=torch.get_rng_state(), numpy_rng=np.random.get_state(),
                    python_rng=random.getstate(), config=self.config.model_dump(mode="json"))

    def save_checkpoint(self) -> None:
        with atomic_path(self.opts.out / CHECKPOINT) as tmp:
            torch.save({**self.state(), "target": self.opts.target.name}, tmp)

    def load_checkpoint(self, st: dict) -> None:
        """Continue from a checkpoint's state (search/run.py reads it and checks it is of this search)."""
        self.epoch, self.lagrange = st["epoch"], st["lagrange"]
        self.net.load_state_dict(st["net"])
        self.w_opt.load_state_dict(st["w_opt"])
        self.a_opt.load_state_dict(st["a_opt"])
        self.engine.load_state_dict(st["engine"])
        self.engine.optimizer.load_state_dict(st["engine_opt"])
        self.engine.set_network(DesignPoint.model_validate(st["engine_network"]))
        self.engine.best, self.candidate = st["engine_best"], st["candidate"]
        self.hw_loss = HardwareLoss(self.engine, self.candidate, self.config, self.dataset.input_shape)
        torch.set_rng_state(st["torch_rng"])
        np.random.set_state(st["numpy_rng"])
        random.setstate(st["python_rng"])
        for name in (LOG, VISITED):
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
