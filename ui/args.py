"""Arguments as they arrive from the browser or an API client, checked and converted.

Handlers take raw values (events use preprocess=False) so that an out-of-range or
malformed value gets a message naming the parameter and what to change, rather than
Gradio's generic "value is out of bounds".
"""

from __future__ import annotations

import math
from numbers import Real


def as_int(name: str, value, low: int, high: int, hint: str = "") -> int:
    """A whole number in [low, high]; floats such as 4.0 (from sliders) are accepted."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name} must be a whole number between {low} and {high}, got {value!r}.")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError(f"{name} must be a whole number between {low} and {high}, got {value!r}.") from None
    if not isinstance(value, Real) or not math.isfinite(value) or value != int(value):
        raise ValueError(f"{name} must be a whole number between {low} and {high}, got {value!r}.")
    value = int(value)
    if not low <= value <= high:
        extra = f" {hint}" if hint else ""
        raise ValueError(f"{name} must be between {low} and {high}, got {value}.{extra}")
    return value


def as_float(name: str, value, low: float, high: float, low_open: bool = False, hint: str = "") -> float:
    """A finite number in [low, high] (or (low, high] with low_open)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name} must be a number, got {value!r}.")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError(f"{name} must be a number, got {value!r}.") from None
    if not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    value = float(value)
    below = value <= low if low_open else value < low
    if below or value > high:
        bracket = "(" if low_open else "["
        extra = f" {hint}" if hint else ""
        raise ValueError(f"{name} must be in {bracket}{low:g}, {high:g}], got {value:g}.{extra}")
    return value


def as_choice(name: str, value, choices: tuple[str, ...]) -> str:
    if value not in choices:
        listed = " or ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be {listed}, got {value!r}.")
    return value


def as_text(name: str, value, max_chars: int, what_to_do: str) -> str:
    """Non-empty text no longer than max_chars."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, got {type(value).__name__}.")
    if value == "":
        raise ValueError(f"The {name} is empty: {what_to_do}.")
    if len(value) > max_chars:
        raise ValueError(f"The {name} is {len(value):,} characters; the limit is {max_chars:,}. Use a shorter {name}.")
    return value
