"""Multi-process training under ``torchrun`` (DDP semantics, gloo on CPU), a no-op in one process.

``torchrun --nproc_per_node 2 -m radcurate.engine.cli train DIR ...`` starts the same entry point in
each process with ``RANK``/``WORLD_SIZE``/``MASTER_ADDR`` set; :func:`from_environment` then joins
the process group (gloo: CPU, and works for GPUs too; NCCL would be the choice on many GPUs).

What DDP does, done here explicitly so that every task works the same: after ``backward`` the
gradients of all trainable parameters are averaged across processes in one flattened
``all_reduce`` (:func:`average_gradients`), and BatchNorm buffers are broadcast from rank 0 once
per epoch. Why not the ``DistributedDataParallel`` wrapper: its reducer is armed by the wrapped
module's ``forward``, and the CLIP task calls its model's encoder methods instead (a wrapper would
silently not sync). Each process sees a disjoint, equally long shard of every epoch's order, so
the processes take the same number of steps and the collectives line up. Rank 0 alone validates,
checkpoints, writes the job row, the registry and the scores; the others wait at barriers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Distributed:
    """This process's place: ``rank`` of ``world`` (``world == 1``: a plain single-process run)."""

    rank: int = 0
    world: int = 1

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


SINGLE = Distributed()


def from_environment() -> Distributed:
    """Join torchrun's process group when ``WORLD_SIZE`` > 1 (gloo); else the single-process value."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return SINGLE
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="gloo")
    return Distributed(dist.get_rank(), dist.get_world_size())


def shard(order: list[int], where: Distributed) -> list[int]:
    """This rank's share of an epoch's order: equally long for every rank (wrapped), disjoint otherwise."""
    if not where.active or not order:
        return order
    per_rank = -(-len(order) // where.world)
    padded = (order * (1 + per_rank * where.world // len(order)))[: per_rank * where.world]
    return padded[where.rank :: where.world]


def average_gradients(parameters: Iterable[torch.nn.Parameter], where: Distributed) -> None:
    """Average ``.grad`` over processes (one flattened all_reduce); a missing grad counts as zero."""
    if not where.active:
        return
    import torch.distributed as dist

    params = [p for p in parameters if p.requires_grad]
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= where.world
    offset = 0
    for p, g in zip(params, grads, strict=True):
        n = g.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


def broadcast_state(module: torch.nn.Module, where: Distributed) -> None:
    """Copy rank 0's parameters and buffers to every process (start of a run, once per epoch)."""
    if not where.active:
        return
    import torch.distributed as dist

    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor.data, src=0)


def agree(flag: bool, where: Distributed) -> bool:
    """Rank 0's ``flag`` on every process (e.g. "cancel was asked": only rank 0 reads the job row)."""
    if not where.active:
        return flag
    import torch.distributed as dist

    value = torch.tensor([1 if flag else 0])
    dist.broadcast(value, src=0)
    return bool(value.item())


def barrier(where: Distributed) -> None:
    if where.active:
        import torch.distributed as dist

        dist.barrier()


def shutdown(where: Distributed) -> None:
    if where.active:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
