"""Peak activation memory of one search step (forward + backward of the supernet) as the number
of bitwidth candidates goes 2 -> 7 and of blocks per layer 3 -> 9: heterogeneous sampling (one
sampled block, bit widths mixed before one convolution) beside a DARTS-style soft supernet that
runs every block and one convolution per bit width, in the same run.

Measured as the bytes of the tensors autograd saves for the backward pass (summed through
torch.autograd.graph.saved_tensors_hooks, de-duplicated by storage): on the CPU, where torch has
no allocator statistics, this is the part of a step's memory that grows with the space.
Usage: python bench/search_memory.py [--batch 64]
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from codesign.space.config import load_config
from codesign.space.network import MBConv, Supernet

BIT_SETS = {2: [4, 8], 3: [4, 6, 8], 4: [2, 4, 6, 8], 5: [2, 4, 5, 6, 8], 6: [2, 3, 4, 5, 6, 8], 7: [2, 3, 4, 5, 6, 7, 8]}
KERNEL_SETS = {3: [3], 6: [3, 5], 9: [3, 5, 7]}


def saved_bytes(step) -> int:
    seen, total = set(), 0

    def pack(t):
        nonlocal total
        key = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        if key not in seen:
            seen.add(key)
            total += key[1]
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = step()
    loss.backward()
    return total


def soft_block(block, x, w_bits, a_bits, one, fixed):
    """DARTS-style: every width runs its own convolutions, outputs mixed after them."""
    if not isinstance(block, MBConv):
        return x
    outs = []
    for i, _ in enumerate(w_bits):
        pw = F.one_hot(torch.tensor(i), len(w_bits)).float()
        pa = F.one_hot(torch.tensor(min(i, len(a_bits) - 1)), len(a_bits)).float()
        outs.append(block(x, pw, w_bits, pa, a_bits, one, fixed) / len(w_bits))
    return sum(outs)


def soft_forward(net: Supernet, x):
    one, fixed = net.fixed_probs, net.fixed_bits
    x = net.stem(x, one, fixed, one, fixed)
    for cands, alpha in zip(net.blocks, net.alpha):
        p = F.softmax(alpha, 0)
        x = sum(p[j] * soft_block(b, x, net.w_bits, net.a_bits, one, fixed) for j, b in enumerate(cands))
    if net.head is not None:
        x = net.head(x, one, fixed, one, fixed)
    return net.fc(x.mean(dim=(2, 3)))


def measure(n_bits: int, n_blocks: int, batch: int) -> tuple[int, int]:
    config = load_config(dataset="digits")
    config.bits.weights = config.bits.activations = BIT_SETS[n_bits]
    config.network.kernels = KERNEL_SETS[n_blocks]
    config.network.skip = False
    torch.manual_seed(0)
    net = Supernet(config, (16, 16, 1), 10)
    x, y = torch.rand(batch, 1, 16, 16), torch.randint(0, 10, (batch,))
    # the same sampled path for every size: the largest block (last kernel, expansion 6)
    paths = [[(len(a) - 1, None)] for a in net.alpha]
    w = F.softmax(net.beta_w, 1)
    a = F.softmax(net.beta_a, 1)
    ours = saved_bytes(lambda: F.cross_entropy(net(x, paths, w, a), y))
    darts = saved_bytes(lambda: F.cross_entropy(soft_forward(net, x), y))
    return ours, darts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batch", type=int, default=64)
    args = p.parse_args()
    torch.set_num_threads(1)
    print(f"digits preset (6 searchable layers), batch {args.batch}; MiB saved for backward")
    print("| bit candidates | blocks per layer | sampled (ours) | DARTS-style soft |")
    print("|---|---|---|---|")
    rows = [(b, 6) for b in range(2, 8)] + [(3, k) for k in (3, 9)]
    for n_bits, n_blocks in rows:
        ours, darts = measure(n_bits, n_blocks, args.batch)
        print(f"| {n_bits} | {n_blocks} | {ours / 2**20:.2f} | {darts / 2**20:.2f} |", flush=True)


if __name__ == "__main__":
    main()
