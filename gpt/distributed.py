"""Training on several processes at once: torchrun and DistributedDataParallel (DDP).

    torchrun --standalone --nproc_per_node=2 -m gpt.train --text input.txt --out model.safetensors

torchrun starts N copies of the program and tells each one, in its environment, who it is
(RANK, LOCAL_RANK, WORLD_SIZE) and where the others are (MASTER_ADDR, MASTER_PORT). Each copy,
a "rank", holds the whole model and runs the forward and backward pass on its own share of the
global batch (gpt/data.py `step_batches`); during the backward pass DDP averages the gradients
of all ranks, so every rank takes the same optimizer step and the models stay identical. N
ranks learn from N times the windows per step, in about the time of one.

`World` is all the trainer knows of this: its rank, how many ranks there are, and the few
collective operations it needs (wrap the model, average a number, agree on a yes/no, wait,
gather). `World()` is one process alone: every operation is then free and changes nothing,
so the trainer has a single code path, and `python -m gpt.train` without torchrun runs exactly
as it always has. `joined(device)` joins the ranks torchrun started (nccl on CUDA, one GPU per
rank; gloo on the CPU) and leaves the process group when the block ends.
"""

from __future__ import annotations

import os
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

TORCHRUN_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class World:
    rank: int = 0  # this process, 0 .. size - 1; rank 0 evaluates, logs and writes
    size: int = 1  # how many processes train together
    local_rank: int = 0  # this process on its machine: its GPU
    device: str = "cpu"  # where the tensors of collective operations live (nccl: the GPU)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module to run forward and backward through: model itself alone, DDP around it
        with several ranks (its construction copies rank 0's weights to every rank)."""
        if not self.distributed:
            return model
        device = next(model.parameters()).device
        return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    def accumulating(self, wrapped: torch.nn.Module, last: bool):
        """Around one micro-step's forward and backward. Gradients add up over the micro-steps
        of an optimizer step, so the ranks need to average them once, in the last one: before
        it, DDP's no_sync skips the exchange."""
        return wrapped.no_sync() if self.distributed and not last else nullcontext()

    def mean(self, value: float) -> float:
        """The mean of value over the ranks (each rank's own loss: the global batch's loss)."""
        if not self.distributed:
            return value
        total = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(total)
        return total.item() / self.size

    def any(self, flag: bool) -> bool:
        """True on every rank when it is True on at least one (stop requests, time budgets)."""
        if not self.distributed:
            return flag
        found = torch.tensor([int(flag)], device=self.device)
        dist.all_reduce(found, op=dist.ReduceOp.MAX)
        return bool(found.item())

    def barrier(self) -> None:
        """Wait until every rank arrives here (the others, while rank 0 evaluates or writes)."""
        if self.distributed:
            dist.barrier()

    def gather(self, tensor: torch.Tensor) -> list[torch.Tensor]:
        """Every rank's tensor (same shape and dtype on each), in rank order, on the CPU."""
        if not self.distributed:
            return [tensor.cpu()]
        local = tensor.to(self.device)
        parts = [torch.empty_like(local) for _ in range(self.size)]
        dist.all_gather(parts, local)
        return [part.cpu() for part in parts]


def launch_rank() -> int:
    """This process's rank as torchrun set it (0 without torchrun), before any group is joined."""
    return int(os.environ.get("RANK", "0"))


def torchrun_environment() -> dict[str, str] | None:
    """torchrun's variables when this process was started by it, else None."""
    if "WORLD_SIZE" not in os.environ:
        return None
    missing = [name for name in TORCHRUN_VARIABLES if name not in os.environ]
    if missing:
        raise ValueError(f"WORLD_SIZE is set but {', '.join(missing)} are not: start the processes with torchrun.")
    return {name: os.environ[name] for name in TORCHRUN_VARIABLES}


@contextmanager
def joined(device: torch.device):
    """`with joined(device) as world:` the World of the ranks torchrun started, the process
    group set up (nccl on CUDA with this rank's GPU, gloo on the CPU) and torn down when the
    block ends. Without torchrun, or with one process, World(): nothing is set up."""
    env = torchrun_environment()
    if env is None or int(env["WORLD_SIZE"]) == 1:
        yield World()
        return
    rank, size, local_rank = int(env["RANK"]), int(env["WORLD_SIZE"]), int(env["LOCAL_RANK"])
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise ValueError(
                f"Rank {rank} would use GPU {local_rank}, but only {torch.cuda.device_count()} are visible: "
                "give torchrun --nproc_per_node no larger than the number of GPUs."
            )
        torch.cuda.set_device(local_rank)
        backend, collective_device = "nccl", f"cuda:{local_rank}"
        dist.init_process_group(backend, rank=rank, world_size=size, device_id=torch.device(collective_device))
    elif device.type == "cpu":
        backend, collective_device = "gloo", "cpu"
        dist.init_process_group(backend, rank=rank, world_size=size)
    else:
        raise ValueError(f"Training on several processes runs on CUDA or the CPU, not {device.type}: use --device cpu.")
    try:
        yield World(rank=rank, size=size, local_rank=local_rank, device=collective_device)
    finally:
        dist.destroy_process_group()
