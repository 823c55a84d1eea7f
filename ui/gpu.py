"""Hugging Face Spaces ZeroGPU support, a no-op everywhere else.

On a ZeroGPU Space the `spaces` package is installed and a function decorated with
spaces.GPU gets a GPU for its duration. Elsewhere (a laptop, a CPU Space, a machine with
its own GPU) the decorator returns the function unchanged.
"""

from __future__ import annotations

try:  # optional: only present on Hugging Face Spaces
    import spaces
except ImportError:
    spaces = None


def on_gpu(duration: int = 60):
    """Decorator: run under spaces.GPU(duration=...) when the spaces package exists."""

    def decorate(fn):
        if spaces is None:
            return fn
        return spaces.GPU(duration=duration)(fn)

    return decorate
