"""The `bf16` inference precision: bfloat16 copies of a model's weights for generation.

A cached decode step runs one position through every layer, so it reads every weight once per
token: with one sequence, memory traffic, not arithmetic, sets its speed. bf16 copies halve the
bytes. Only the weight matrices are copied; the residual stream, LayerNorm, attention, the
cached keys and values and the logits stay float32 (bf16 there cost quality and, on the CPU,
time: bf16 attention for one query ran 3-6x slower than float32's).

Where it pays (measured, 2-core AVX-512 BF16 EPYC, 32 MB of L3, bench/README.md):
- On a CPU, bf16 products pay only in oneDNN's packed layout (torch.ops.mkldnn, what
  torch.compile uses for bf16 linears): there the 24 products of a 6x384 step took 0.73 ms
  against 2.7 ms for float32 F.linear; plain bf16 F.linear took 1.6-1.9 ms. Each packed
  product also costs ~10 us of fixed overhead, against ~2-5 us for a small float32 one, so a
  model whose float32 weights sit in the cache anyway decodes faster in float32 (4x192: 0.29 ms
  against 0.42 ms a step). `bf16` therefore uses bf16 only from CPU_FAST_MIN_WEIGHT_MB of
  float32 block weights up, and is `exact` below.
- On CUDA, bf16 wherever the GPU supports it.
- Elsewhere (MPS, CPUs without native bf16), `bf16` is `exact`.

The copies belong to the model without being part of it: they live in a table keyed weakly by
the model, so they are never in state_dict or a checkpoint, and they go when the model goes.
They are rebuilt when the weights change. The key holds every parameter's data pointer, dtype
and version counter: the version counter catches in-place writes that autograd sees
(load_state_dict, copy_ under no_grad), the data pointer catches .to(), .float() and new
tensors. Two kinds of update bump neither, measured on torch 2.13: the fused AdamW step the
Trainer uses, and writes through `param.data` (its bf16 master weights). So the Trainer also
calls weights_changed(model) after every update, which drops the copies.

Threads: the app serves several requests at once from one shared model. Copies are built under
a lock, and a built set is never written again, only replaced: a generation takes one set at
its start and keeps it to its end, whatever another thread rebuilds meanwhile. (The token
table is the exception: it is the model's own tensor, see _build.)
"""

from __future__ import annotations

import threading
import weakref

import torch
import torch.nn.functional as F

from .device import cpu_has_native_bf16
from .kv_cache import DecodeWeights, layer_norm_weights, model_weights

INFERENCE_PRECISIONS = ("exact", "bf16")
# Float32 block weights (MB, copied_mb) from which `bf16` uses bf16 on a CPU. Measured on the
# 2-core EPYC (32 MB of L3), one thread, bf16 step speed over float32's: 4x128 (3 MB) 0.55x,
# 4x192 (7 MB) 0.6-0.9x, 4x256 (13 MB) 0.9x quiet but 2x while other processes thrashed the
# cache, 6x256 (19 MB) 1.5-1.6x, 6x384 (42 MB) 2.5-2.7x. Below it float32's weights stay in the
# cache and bf16's fixed cost per product decides; from it up bf16 won in every measurement.
CPU_FAST_MIN_WEIGHT_MB = 16.0

_lock = threading.Lock()
_copies: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> (key, DecodeWeights)


def check_precision(precision) -> None:
    if precision not in INFERENCE_PRECISIONS:
        raise ValueError(
            f"precision must be 'exact' (float32, the same tokens as the plain loop) or 'bf16' "
            f"(bfloat16 weights where the hardware multiplies them natively), got {precision!r}."
        )


def _onednn_bf16() -> bool:
    """oneDNN's bf16 linear with packed weights (torch.ops.mkldnn) is available here."""
    if not torch.backends.mkldnn.is_available():
        return False
    probe = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return bool(probe is not None and probe())


def bf16_supported(device: torch.device) -> bool:
    """True where `bf16` can multiply by bf16 weights natively on this device."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_native_bf16() and _onednn_bf16()


def decode_precision(model, precision: str = "bf16") -> str:
    """What a generation asked for in `precision` runs within the window: 'bf16' or 'exact'."""
    check_precision(precision)
    if precision == "exact" or why_exact(model) is not None:
        return "exact"
    return "bf16"


def why_exact(model) -> str | None:
    """Why `bf16` runs `exact` for this model: "no_bf16" (the hardware has no native bf16),
    "small" (a CPU model whose float32 weights decode faster), "bigram" (a bigram table has no
    blocks to copy), or None when `bf16` is bf16."""
    if model.config.bigram:
        return "bigram"
    device = model.device
    if not bf16_supported(device):
        return "no_bf16"
    if device.type == "cpu" and copied_mb(model) < CPU_FAST_MIN_WEIGHT_MB:
        return "small"
    return None


def copied_mb(model) -> float:
    """Float32 megabytes of the weights `bf16` reads as bf16 copies: the blocks' matrices."""
    return 4 * sum(p.numel() for p in model.blocks.parameters() if p.dim() == 2) / 1e6


# The products: x (N, in), float32 or bf16, times a bf16 weight copy -> (N, out) in bf16. The
# caller adds the result to its float32 stream (which promotes it) or feeds it to the next product.


def _packed_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return torch.ops.mkldnn._linear_pointwise(x.to(torch.bfloat16), weight, bias, "none", [], "")


def _packed_linear_gelu(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    # oneDNN applies the exact (erf) GELU to the product before writing it out: one op, not two.
    return torch.ops.mkldnn._linear_pointwise(x.to(torch.bfloat16), weight, bias, "gelu", [], "none")


def _plain_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return F.linear(x.to(torch.bfloat16), weight, bias)


def _plain_linear_gelu(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return F.gelu(F.linear(x.to(torch.bfloat16), weight, bias))


def _build(model) -> DecodeWeights:
    """The copies for model's device. Plain bf16 tensors where oneDNN's packed layout is not
    available (CUDA; and a CPU without it, where decode_precision never picks `bf16` but
    gpt/precision_check.py may still measure bf16's quality). A part the model lacks (an earlier
    stage of the lecture, gpt/ladder.py) stays None."""
    device = model.device
    if device.type == "cpu" and _onednn_bf16():
        # oneDNN's blocked layout for a matrix-vector product (batch size hint 1); an opaque
        # tensor, usable only by its own linear.
        def matrix(w):
            return torch.ops.mkldnn._reorder_linear_weight(w.detach().to(torch.bfloat16), 1)

        linear, linear_gelu = _packed_linear, _packed_linear_gelu
    else:
        def matrix(w):
            return w.detach().to(torch.bfloat16, copy=True).contiguous()

        linear, linear_gelu = _plain_linear, _plain_linear_gelu

    def bias(b):
        return b.detach().to(torch.bfloat16, copy=True)

    def vector(v):  # LayerNorm gains and biases stay float32 (copied: a set is a snapshot)
        return v.detach().to(torch.float32, copy=True)

    # Which copy each of a block's tensors gets, in DecodeWeights' order (gpt/kv_cache.py).
    kinds = (vector, vector, matrix, bias, matrix, bias, vector, vector, matrix, bias, matrix, bias)
    layers = tuple(
        tuple(None if t is None else copy(t) for copy, t in zip(kinds, own))
        for own in model_weights(model).layers
    )
    # The token table (tied: it also makes the logits) stays the model's own float32 tensor
    # (float() copies it only if the model is in bf16, mid-training). Logits from a bf16 product
    # are rounded to bf16, and on the bundled model that rounding was 2/3 of fast's error: mean
    # |delta log p| 0.0051 with a bf16 head, 0.0019 with this one (top-1 agreement 99.55% -> 99.9%).
    table = model.tok_emb.weight.detach().float()
    ln_f = tuple(None if t is None else vector(t) for t in layer_norm_weights(model.ln_f))
    final = (table, vector(model.pos_emb.weight), *ln_f, table)
    return DecodeWeights(layers, final, linear, linear_gelu, torch.float32)


def _key(model) -> tuple | None:
    """What identifies the weights' current values; None when it cannot be told: a model made
    under torch.inference_mode has no version counters, so its copies are rebuilt every time."""
    params = list(model.parameters())
    if any(p.is_inference() for p in params):
        return None
    return tuple((p.data_ptr(), p._version, p.dtype, p.device) for p in params)


def fast_weights(model) -> DecodeWeights:
    """The model's bf16 decode weights, built on first use and after its weights change."""
    with _lock:
        key = _key(model)
        entry = _copies.get(model)
        if entry is None or key is None or entry[0] != key:
            with torch.no_grad():
                entry = (key, _build(model))
            _copies[model] = entry
        return entry[1]


def weights_changed(model) -> None:
    """Drop model's bf16 copies: its weights changed in a way torch does not count (a fused
    optimizer step, a write through param.data). Cheap; the next fast generation rebuilds."""
    with _lock:
        _copies.pop(model, None)


def has_fast_weights(model) -> bool:
    """Whether bf16 copies of model's weights are held now (for tests and memory accounting)."""
    with _lock:
        return model in _copies
