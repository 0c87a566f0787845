"""Data-parallel search under torchrun: every rank holds the whole supernet and the accelerator
engine, draws the same Gumbel samples (the same seed), takes its own slice of each global batch,
and averages its gradients with the others after every backward, so the ranks stay identical step
for step. Only rank 0 writes (logs, checkpoints, design.json) and prints.

Launch: `torchrun --nproc_per_node N -m codesign.cli search ...` (gloo on the CPU, NCCL on GPUs,
one GPU per rank by LOCAL_RANK). Without torchrun's environment the search runs alone.

BatchNorm statistics are a rank's own slice's; their running buffers are averaged before each
check, so every rank measures (and decides on) the same network. `check_in_sync` compares a
checksum of every parameter and buffer across the ranks at each epoch's end and stops the run
with one line if they have drifted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from codesign.errors import CodesignError


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        return self.size > 1


ALONE = World()


def launched() -> bool:
    """Started by torchrun with more than one rank?"""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def from_env(device: str) -> World:
    """The torchrun world of this process (ALONE outside torchrun); starts its process group."""
    if not launched():
        return ALONE
    world = World(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return world


def rank_device(world: World, device: str) -> str:
    """One GPU per rank (cuda:LOCAL_RANK) when the search runs on CUDA."""
    if world.parallel and device.startswith("cuda"):
        if world.local_rank >= torch.cuda.device_count():
            raise CodesignError(f"torchrun rank {world.rank} wants GPU {world.local_rank}, torch sees "
                                f"{torch.cuda.device_count()}: use --nproc_per_node {torch.cuda.device_count()} or fewer")
        return f"cuda:{world.local_rank}"
    return device


def shard(world: World, x: torch.Tensor, y: torch.Tensor):
    """This rank's slice of a global batch (ranks take every size-th sample from their own index)."""
    if not world.parallel:
        return x, y
    if len(y) < world.size:
        raise CodesignError(f"batch {len(y)} is smaller than the {world.size} torchrun ranks: raise --batch")
    return x[world.rank::world.size], y[world.rank::world.size]


def average_gradients(world: World, params) -> None:
    """The mean of every rank's gradient (a block no rank sampled this step has zeros)."""
    if not world.parallel:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world.size
    offset = 0
    for p, g in zip(params, grads):
        n = g.numel()
        p.grad = flat[offset:offset + n].view_as(p).clone()
        offset += n


def average_buffers(world: World, module: torch.nn.Module) -> None:
    """Average the float buffers (BatchNorm running statistics) over the ranks."""
    if not world.parallel:
        return
    for buf in module.buffers():
        if buf.is_floating_point():
            dist.all_reduce(buf)
            buf /= world.size


def checksum(module: torch.nn.Module) -> torch.Tensor:
    """One float64 sum of each parameter and buffer: equal tensors give equal sums on every rank."""
    tensors = [*module.parameters(), *module.buffers()]
    return torch.stack([t.detach().double().sum() for t in tensors]).cpu()


def check_in_sync(world: World, module: torch.nn.Module, epoch: int) -> None:
    if not world.parallel:
        return
    mine = checksum(module)
    gathered = [torch.empty_like(mine) for _ in range(world.size)]
    dist.all_gather(gathered, mine)
    for rank, other in enumerate(gathered):
        if not torch.equal(other, gathered[0]):
            raise CodesignError(f"torchrun rank {rank} has drifted from rank 0 after epoch {epoch} (its supernet "
                                f"differs); run the ranks on identical software and hardware, or run one process")


def barrier(world: World) -> None:
    if world.parallel:
        dist.barrier()


def finish(world: World) -> None:
    if world.parallel and dist.is_initialized():
        dist.destroy_process_group()
