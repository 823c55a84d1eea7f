"""Checking arguments, in one place: every message names the argument, the allowed range
and, where it helps, what to change.

Two families, for two kinds of callers:
- strict checks for the library (configs, the trainer, sampling): a value must already be
  of the right type, as in ordinary Python code;
- lenient parsers for values that arrive from a browser or an API client, where a slider may
  send 4.0 for 4 and a form may send "0.5": `parse_int` and `parse_float` accept those, then
  check the range.
A bool is never a number here (True would otherwise pass as 1). Refusals are UserErrors
(gpt/errors.py), a key and its values; their English is in gpt/messages.py.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

from .errors import UserError, either, out_of_range


def is_whole(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def is_number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


# --- strict: the library ---------------------------------------------------------------------


def whole_in(name: str, value, low: int, high: int) -> int:
    """A whole number in [low, high] (a model's shape)."""
    if not is_whole(value):
        raise UserError("check.whole", name=name, value=value)
    if value < low:
        raise UserError("check.at_least", name=name, low=low, value=value)
    if value > high:
        raise UserError("check.at_most", name=name, high=high, value=value)
    return int(value)


def whole_at_least(name: str, value, low: int) -> int:
    """A whole number >= low (steps, counts, seeds)."""
    if not is_whole(value) or value < low:
        raise UserError("check.whole_at_least", name=name, low=low, value=value)
    return int(value)


def finite(name: str, value, allow_zero: bool = False) -> float:
    """A finite number > 0 (or >= 0 with allow_zero)."""
    if not is_number(value) or not math.isfinite(value):
        raise UserError("check.finite", name=name, value=value)
    if value < 0 or (value == 0 and not allow_zero):
        raise out_of_range(name, value, low=0, low_open=not allow_zero)
    return float(value)


def one_of(name: str, value, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise UserError("check.one_of", name=name, choices=either(choices), value=value)
    return value


# --- lenient: values from a form or an API client --------------------------------------------


def _from_text(value):
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return value
    return value


def parse_int(name: str, value, low: int, high: int, hint=()) -> int:
    """A whole number in [low, high]; 4.0 (from a slider) and "4" are accepted. hint: the sentences
    (keys or Phrases, see gpt/errors.py) that follow an out-of-range message: what to choose instead."""
    number = _from_text(value)
    if not is_number(number) or not math.isfinite(number) or number != int(number):
        raise UserError("check.whole_between", name=name, low=low, high=high, value=number)
    number = int(number)
    if not low <= number <= high:
        raise UserError("check.between", name=name, low=low, high=high, value=number).then(hint)
    return number


def parse_float(name: str, value, low: float, high: float, low_open: bool = False, hint=()) -> float:
    """A finite number in [low, high] (or (low, high] with low_open); "0.5" is accepted."""
    if value is None or isinstance(value, bool):
        raise UserError("check.number", name=name, value=value)
    number = _from_text(value)
    if isinstance(number, str):
        raise UserError("check.number", name=name, value=value)
    if not is_number(number) or not math.isfinite(number):
        raise UserError("check.finite", name=name, value=number)
    number = float(number)
    below = number <= low if low_open else number < low
    if below or number > high:
        raise out_of_range(name, f"{number:g}", low, high, low_open=low_open).then(hint)
    return number


def parse_text(name: str, value, max_chars: int, empty: str, too_long: str) -> str:
    """Non-empty text no longer than max_chars. empty, too_long: the keys of the caller's messages for
    those two (too_long takes count and limit), which say what this text is and what to do."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise UserError("check.not_text", name=name, kind=type(value).__name__)
    if value == "":
        raise UserError(empty)
    if len(value) > max_chars:
        raise UserError(too_long, count=len(value), limit=max_chars)
    return value
