"""The Train form's values, as they arrive from the browser or an API client, checked.

The form is gpt.settings.TrainingSettings: its fields give each input's bounds (what the
library can do), ui/limits.py narrows some of them (what a public server allows), and every
refusal names the field, the range and what to change.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpt.checks import one_of, parse_float, parse_int, parse_text
from gpt.config import MAX_N_LAYER
from gpt.presets import DEFAULT_PRESET, preset
from gpt.settings import FORM_FIELDS, TrainingSettings

from . import limits

DEFAULTS = preset(DEFAULT_PRESET)  # the form's values when the page opens, and the API's defaults


@dataclass(frozen=True)
class TrainRequest:
    text: str
    settings: TrainingSettings
    watch_layer: int = 0  # the layer whose attention the Train tab shows live


def app_range(name: str) -> tuple[float | None, float | None]:
    """The range the app accepts for a form field: the library's bounds, narrowed by the caps; where
    neither bounds it, what the form's slider offers."""
    spec = TrainingSettings.spec(name)
    cap_low, cap_high = limits.FORM_CAPS.get(name, (None, None))
    low = spec.low if cap_low is None else cap_low
    high = spec.high if cap_high is None else cap_high
    if isinstance(spec.form, tuple):
        low = spec.form[0] if low is None else low
        high = spec.form[1] if high is None else high
    return low, high


def parse_field(name: str, value):
    spec = TrainingSettings.spec(name)
    if spec.kind is str:
        return one_of(name, value, spec.choices)
    low, high = app_range(name)
    hint = " ".join(h for h in (spec.hint, limits.CAP_HINTS.get(name, "")) if h)
    if spec.kind is int:
        return parse_int(name, value, int(low), int(high), hint=hint)
    return parse_float(name, value, low, high, low_open=spec.low_open, hint=hint)


# Every number on the form has a finite range in the app: a slider needs both ends, and a
# public server needs a ceiling on what one request may ask for.
assert all(None not in app_range(n) for n in FORM_FIELDS if TrainingSettings.spec(n).kind is not str)


def settings_from_form(values: dict) -> TrainingSettings:
    """The form's values (one per field of FORM_FIELDS), checked, as TrainingSettings. Fields that are
    not on the form keep the library's defaults (decided at the start of the run)."""
    return TrainingSettings(**{name: parse_field(name, values[name]) for name in FORM_FIELDS})


def parse_training_text(text) -> str:
    """The Training text box's text, checked against the cap (the ladder trains on it too)."""
    text = parse_text(
        "training text",
        text,
        limits.MAX_TEXT_CHARS,
        "paste some text, upload a .txt file, or use the bundled Shakespeare",
    )
    if not text.strip():
        raise ValueError("The training text is only whitespace: paste some text with words in it.")
    return text


def parse_request(text, watch_layer=0, **values) -> TrainRequest:
    """Check the raw text and form values (one keyword per field of FORM_FIELDS) against the caps;
    ValueError says what to change."""
    missing = [name for name in FORM_FIELDS if name not in values]
    if missing or set(values) - set(FORM_FIELDS):
        raise TypeError(f"parse_request takes the form's fields {FORM_FIELDS}; missing {missing}.")
    text = parse_training_text(text)
    settings = settings_from_form(values)
    tokens = settings.batch_size * settings.block_size
    if tokens > limits.MAX_TOKENS_PER_STEP:
        raise ValueError(
            f"batch_size x block_size is {tokens:,} tokens per step; the limit is {limits.MAX_TOKENS_PER_STEP:,}. "
            "Lower batch_size or block_size."
        )
    return TrainRequest(text, settings, parse_int("watch_layer", watch_layer, 0, MAX_N_LAYER - 1))
