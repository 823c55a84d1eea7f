"""Resumable runs: what a stopped training run continues from, in `<name>.optim.safetensors`.

A checkpoint (gpt/checkpoint.py) holds what a model is. Continuing its training exactly needs
what the run was in the middle of, and that is this file, written beside the checkpoint:

    weights.<param>               the last weights, float32 (the checkpoint may hold the best ones)
    optimizer.<param>.exp_avg     AdamW's moments of each weight, and its step count
    optimizer.<param>.exp_avg_sq
    optimizer.<param>.step
    best.<param>                  the best-model guard's copy, when it is not the last weights
    rng.batches                   the generator the batches are drawn from (one for all ranks)
    rng.cpu.<rank>                torch's generator of each rank (dropout masks)
    rng.cuda.<rank>               the same on CUDA

and a JSON header: the step reached, the number of ranks, AdamW's parameter groups (their
parameters by name), the guard's numbers (gpt/best_weights.py) and the caller's record of the
run (`run`: its settings and which text). The learning rate needs no state: it is a function of
the step (TrainConfig.lr_at). As with checkpoints, nothing is pickled: tensors and JSON only,
and `load_resume` checks every name, shape and dtype against the model before it reads a
tensor. The file holds everything the run continues from, so it never depends on the
checkpoint beside it: a run killed between writing the two leaves each file whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes

from .checkpoint import write_atomically

FORMAT = "mirador-resume"
FORMAT_VERSION = "1"
SUFFIX = ".optim.safetensors"
MOMENTS = ("exp_avg", "exp_avg_sq", "step")  # AdamW's state per weight
MAX_RNG_BYTES = 1 << 20  # a generator's state is a few KB (the CPU's Mersenne Twister: 5,056 bytes)


def resume_path(checkpoint) -> Path:
    """The resume state beside a checkpoint: model.safetensors -> model.optim.safetensors."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.name.removesuffix(".safetensors") + SUFFIX)


@dataclass(frozen=True)
class ResumeState:
    step: int  # optimizer steps done
    world_size: int  # ranks that trained together (gpt/distributed.py)
    weights: dict[str, torch.Tensor]  # the last weights, float32, by parameter name
    moments: dict[str, dict[str, torch.Tensor]]  # parameter name -> AdamW's exp_avg, exp_avg_sq, step
    param_groups: list[dict]  # AdamW's groups, their "params" as names (a record; the run rebuilds them)
    best: dict  # BestWeights.state()
    best_weights: dict[str, torch.Tensor] | None  # the guard's copy when it differs from weights
    batch_rng: torch.Tensor  # uint8: the batch generator's state
    cpu_rng: list[torch.Tensor]  # uint8, one per rank: torch.get_rng_state()
    cuda_rng: list[torch.Tensor] | None  # uint8, one per rank, on CUDA: torch.cuda.get_rng_state()
    run: dict  # the caller's record: settings, the text's hash, ...


# --- AdamW's state by parameter name --------------------------------------------------------


def _in_optimizer_order(optimizer: torch.optim.Optimizer, names: dict[int, str]) -> list[str]:
    """The parameter names in the order the optimizer's state_dict numbers its parameters."""
    return [names[id(p)] for group in optimizer.param_groups for p in group["params"]]


def optimizer_state(optimizer: torch.optim.Optimizer, names: dict[int, str]) -> tuple[dict, list[dict]]:
    """(a copy of the moments by name, param_groups with names) of an optimizer; names: id(param) -> name."""
    order = _in_optimizer_order(optimizer, names)
    saved = optimizer.state_dict()
    moments = {order[i]: {key: saved["state"][i][key].detach().clone() for key in MOMENTS} for i in saved["state"]}
    groups = [{**group, "params": [order[i] for i in group["params"]]} for group in saved["param_groups"]]
    return moments, groups


def load_optimizer_state(optimizer: torch.optim.Optimizer, names: dict[int, str], moments: dict) -> None:
    """Give a freshly built optimizer the saved moments (its own groups and hyperparameters
    stay: the settings that made them are checked to be the run's own)."""
    order = _in_optimizer_order(optimizer, names)
    fresh = optimizer.state_dict()
    state = {i: {key: moments[name][key].clone() for key in MOMENTS} for i, name in enumerate(order) if name in moments}
    optimizer.load_state_dict({"state": state, "param_groups": fresh["param_groups"]})


# --- the file ----------------------------------------------------------------------------------


def _cpu(tensor: torch.Tensor, dtype=None) -> torch.Tensor:
    return tensor.detach().to("cpu", dtype or tensor.dtype).contiguous()


def save_resume(path, state: ResumeState) -> Path:
    """Write the state to path (a .optim.safetensors file), atomically."""
    tensors = {f"weights.{n}": _cpu(t, torch.float32) for n, t in state.weights.items()}
    for name, moments in state.moments.items():
        tensors.update({f"optimizer.{name}.{key}": _cpu(moments[key], torch.float32) for key in MOMENTS})
    for name, tensor in (state.best_weights or {}).items():
        tensors[f"best.{name}"] = _cpu(tensor, torch.float32)
    tensors["rng.batches"] = _cpu(state.batch_rng)
    tensors.update({f"rng.cpu.{rank}": _cpu(t) for rank, t in enumerate(state.cpu_rng)})
    tensors.update({f"rng.cuda.{rank}": _cpu(t) for rank, t in enumerate(state.cuda_rng or [])})
    record = {
        "step": state.step,
        "world_size": state.world_size,
        "param_groups": state.param_groups,
        "best": state.best,
        "has_best_weights": state.best_weights is not None,
        "has_cuda_rng": state.cuda_rng is not None,
        "run": state.run,
    }
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "state": json.dumps(record)}
    return write_atomically(path, safetensors_bytes(tensors, metadata=header))


def _not_resumable(path: Path, reason: str) -> ValueError:
    return ValueError(f"{path.name} cannot be resumed from ({reason}).")


def read_resume_header(path) -> dict:
    """The JSON record of a resume state (step, world_size, run, ...), without reading a tensor.

    FileNotFoundError when there is no file; ValueError when it is not a Mirador resume state."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No {path.name} beside the checkpoint: it holds the optimizer state a run continues from. "
            "Checkpoints written by a run that saved none (or whose .optim file was deleted) cannot be resumed."
        )
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            header = f.metadata() or {}
    except Exception as exc:  # truncated, random bytes, a pickle: all unreadable as safetensors
        raise _not_resumable(path, f"unreadable as safetensors: {type(exc).__name__}") from None
    if header.get("format") != FORMAT:
        raise _not_resumable(path, "not a Mirador resume state")
    if header.get("format_version") != FORMAT_VERSION:
        raise _not_resumable(path, f"format version {header.get('format_version')!r}, this Mirador reads {FORMAT_VERSION}")
    try:
        record = json.loads(header["state"])
        if not isinstance(record, dict) or not all(key in record for key in ("step", "world_size", "best", "run")):
            raise ValueError("fields missing")
    except (KeyError, TypeError, ValueError) as exc:
        raise _not_resumable(path, f"invalid header: {exc}") from None
    return record


def _expected(model: torch.nn.Module, record: dict) -> dict[str, tuple[tuple[int, ...], str]]:
    """The tensors a resume state of this model must hold: name -> (shape, safetensors dtype)."""
    expected = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        shape = tuple(p.shape)
        expected[f"weights.{name}"] = (shape, "F32")
        expected.update({f"optimizer.{name}.{key}": (shape, "F32") for key in ("exp_avg", "exp_avg_sq")})
        expected[f"optimizer.{name}.step"] = ((), "F32")
        if record.get("has_best_weights"):
            expected[f"best.{name}"] = (shape, "F32")
    return expected


def _rng_names(record: dict) -> list[str]:
    ranks = range(record["world_size"])
    return ["rng.batches", *(f"rng.cpu.{r}" for r in ranks), *(f"rng.cuda.{r}" for r in ranks if record.get("has_cuda_rng"))]


def load_resume(path, model: torch.nn.Module) -> ResumeState:
    """Read a resume state written by save_resume for this model (its shapes are all that is
    used: a model on the meta device will do). Every tensor's name, shape and dtype is checked
    before any is read; ValueError, saying what differs, otherwise."""
    path = Path(path)
    record = read_resume_header(path)
    if not isinstance(record["world_size"], int) or record["world_size"] < 1:
        raise _not_resumable(path, f"invalid world_size {record['world_size']!r}")
    expected = _expected(model, record)
    rng_names = _rng_names(record)
    with safe_open(str(path), framework="pt", device="cpu") as f:
        found = {name: (tuple(f.get_slice(name).get_shape()), f.get_slice(name).get_dtype()) for name in f.keys()}
        wrong = sorted(n for n in expected if found.get(n) != expected[n])
        unexpected = sorted(set(found) - set(expected) - set(rng_names))
        bad_rng = [n for n in rng_names if n not in found or found[n][1] != "U8" or len(found[n][0]) != 1 or found[n][0][0] > MAX_RNG_BYTES]
        if wrong or unexpected or bad_rng:
            detail = f"missing or of another shape {wrong[:3]}" if wrong else f"unexpected {unexpected[:3]}" if unexpected else f"bad generator states {bad_rng[:3]}"
            raise _not_resumable(path, f"its tensors do not match this model: {detail}")
        tensors = {name: f.get_tensor(name) for name in found}
    if not all(torch.isfinite(t).all() for n, t in tensors.items() if not n.startswith("rng.")):
        raise _not_resumable(path, "its weights or moments are not all finite")
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    ranks = range(record["world_size"])
    return ResumeState(
        step=int(record["step"]),
        world_size=record["world_size"],
        weights={n: tensors[f"weights.{n}"] for n in names},
        moments={n: {key: tensors[f"optimizer.{n}.{key}"] for key in MOMENTS} for n in names},
        param_groups=record.get("param_groups", []),
        best=record["best"],
        best_weights={n: tensors[f"best.{n}"] for n in names} if record.get("has_best_weights") else None,
        batch_rng=tensors["rng.batches"],
        cpu_rng=[tensors[f"rng.cpu.{r}"] for r in ranks],
        cuda_rng=[tensors[f"rng.cuda.{r}"] for r in ranks] if record.get("has_cuda_rng") else None,
        run=record["run"],
    )
