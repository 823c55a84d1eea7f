"""Where the app's bundled files are: a leaf module, so any module may ask without importing the app's context."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / "assets" / "shakespeare-char.safetensors"
CORPUS = ROOT / "assets" / "shakespeare.txt"
