"""Checking arguments, in one place: every message names the argument, the allowed range
and, where it helps, what to change.

Two families, for two kinds of callers:
- strict checks for the library (configs, the trainer, sampling): a value must already be
  of the right type, as in ordinary Python code;
- lenient parsers for values that arrive from a browser or an API client, where a slider may
  send 4.0 for 4 and a form may send "0.5": `parse_int` and `parse_float` accept those, then
  check the range.
A bool is never a number here (True would otherwise pass as 1).
"""

from __future__ import annotations

import math
from numbers import Integral, Real


def is_whole(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def is_number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _suffix(hint: str) -> str:
    return f" {hint}" if hint else ""


# --- strict: the library ---------------------------------------------------------------------


def whole_in(name: str, value, low: int, high: int) -> int:
    """A whole number in [low, high] (a model's shape)."""
    if not is_whole(value):
        raise ValueError(f"{name} must be a whole number, got {value!r}.")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}.")
    if value > high:
        raise ValueError(f"{name} must be at most {high}, got {value}: choose a smaller {name}.")
    return int(value)


def whole_at_least(name: str, value, low: int) -> int:
    """A whole number >= low (steps, counts, seeds)."""
    if not is_whole(value) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}.")
    return int(value)


def finite(name: str, value, allow_zero: bool = False) -> float:
    """A finite number > 0 (or >= 0 with allow_zero)."""
    if not is_number(value) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}.")
    return float(value)


def one_of(name: str, value, choices: tuple[str, ...]) -> str:
    if value not in choices:
        listed = " or ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be {listed}, got {value!r}.")
    return value


# --- lenient: values from a form or an API client --------------------------------------------


def _from_text(value):
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return value
    return value


def parse_int(name: str, value, low: int, high: int, hint: str = "") -> int:
    """A whole number in [low, high]; 4.0 (from a slider) and "4" are accepted."""
    number = _from_text(value)
    if not is_number(number) or not math.isfinite(number) or number != int(number):
        raise ValueError(f"{name} must be a whole number between {low} and {high}, got {number!r}.")
    number = int(number)
    if not low <= number <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {number}.{_suffix(hint)}")
    return number


def parse_float(name: str, value, low: float, high: float, low_open: bool = False, hint: str = "") -> float:
    """A finite number in [low, high] (or (low, high] with low_open); "0.5" is accepted."""
    if value is None or isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}.")
    number = _from_text(value)
    if isinstance(number, str):
        raise ValueError(f"{name} must be a number, got {value!r}.")
    if not is_number(number) or not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {number!r}.")
    number = float(number)
    below = number <= low if low_open else number < low
    if below or number > high:
        bracket = "(" if low_open else "["
        raise ValueError(f"{name} must be in {bracket}{low:g}, {high:g}], got {number:g}.{_suffix(hint)}")
    return number


def parse_text(name: str, value, max_chars: int, what_to_do: str) -> str:
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
