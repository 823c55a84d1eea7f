"""Turn tensors / arrays into compact float32 numpy arrays, with checks.

Figures are serialised to the browser on every update, so float32 (half the
bytes of float64, and Plotly encodes numpy arrays as binary) keeps them small.
Torch is handled by duck typing so this package never imports it.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def to_float32(values: Any) -> np.ndarray:
    """Return `values` (torch tensor, numpy array or nested list) as float32.

    Tensors are detached and moved to the CPU first; the `.float()` cast also
    covers dtypes numpy cannot represent (e.g. bfloat16).
    """
    if hasattr(values, "detach"):  # a torch.Tensor, without importing torch
        values = values.detach().to("cpu").float().numpy()
    return np.ascontiguousarray(values, dtype=np.float32)


def attention_array(attn: Any, pieces: Sequence[str], ndim: int, name: str) -> np.ndarray:
    """Validate an attention array whose last two axes are (query T, key T).

    Raises ValueError with the offending shape so a caller passing the wrong
    layer slice or the wrong token list sees immediately what went wrong.
    """
    arr = to_float32(attn)
    if arr.ndim != ndim:
        raise ValueError(
            f"{name}: expected a {ndim}-D array, got shape {tuple(arr.shape)} "
            f"({arr.ndim}-D)"
        )
    t_query, t_key = arr.shape[-2], arr.shape[-1]
    if t_query != t_key:
        raise ValueError(
            f"{name}: the last two axes must both be T (query, key); got "
            f"shape {tuple(arr.shape)}"
        )
    if len(pieces) != t_query:
        raise ValueError(
            f"{name}: got {len(pieces)} token pieces but the attention has "
            f"T={t_query} positions (shape {tuple(arr.shape)})"
        )
    return arr
