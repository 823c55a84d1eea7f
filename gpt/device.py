"""Where the model runs and in which number format.

"auto" picks CUDA, then Apple's MPS, then the CPU. On CUDA we train in bfloat16 autocast
(tensor cores). On a CPU, bfloat16 only pays where the processor multiplies bf16 natively
(AMX or AVX-512 BF16), and only without per-op casts: plain autocast made a 128-wide model
0.76x as fast on a 2-core AVX-512 BF16 EPYC, while bf16 weights with float32 master copies
(gpt/mixed_precision.py) made it ~1.5x as fast and a 384-wide one ~2x. Narrower models, where
fixed per-op costs dominate, and CPUs without native bf16 train in float32.
"""

from __future__ import annotations

import os

import torch

PRECISIONS = ("auto", "fp32", "bf16")
# Narrowest residual stream for which CPU bf16 (master weights, gpt/mixed_precision.py) beat fp32
# in bench/ on a 2-core AVX-512 BF16 EPYC.
CPU_BF16_MIN_WIDTH = 128


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(f"Unknown device {name!r}: use 'auto', 'cpu', 'cuda' or 'mps'.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for but no CUDA GPU is available: use 'auto' or 'cpu'.")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device='mps' was asked for but Apple MPS is not available: use 'auto' or 'cpu'.")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"Unsupported device {name!r}: use 'auto', 'cpu', 'cuda' or 'mps'.")
    return device


def cpu_has_native_bf16() -> bool:
    """True where the CPU multiplies bfloat16 in hardware (Intel AMX, AVX-512 BF16)."""
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def resolve_precision(precision: str, device: torch.device, n_embd: int) -> str:
    """'fp32' or 'bf16' for this device and model width."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu" and cpu_has_native_bf16() and n_embd >= CPU_BF16_MIN_WIDTH:
        return "bf16"
    return "fp32"


def cpu_cores() -> int:
    """The CPU cores this process may run on (its affinity: a container or taskset may allow
    fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def describe(device: torch.device) -> str:
    """A short human name for the device, for the UI and logs."""
    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"
