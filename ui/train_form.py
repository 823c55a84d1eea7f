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
MAX_PROBE_CHARS = 1_000  # the probe sentence box: a probe keeps at most 64 tokens anyway

# /train's parameters after the text, in order. API clients may pass them by position, so a parameter
# added after the API was published goes at the end, with a default: the form's fields as first
# published, the layer to watch, then the form's later fields and the probe sentence.
ADDED_FORM_FIELDS = ("keep_best",)
API_FIELDS = (
    *(name for name in FORM_FIELDS if name not in ADDED_FORM_FIELDS),
    "watch_layer",
    *ADDED_FORM_FIELDS,
    "probe",
)
assert set(ADDED_FORM_FIELDS) <= set(FORM_FIELDS)


@dataclass(frozen=True)
class TrainRequest:
    text: str
    settings: TrainingSettings
    watch_layer: int = 0  # the layer whose attention the Train tab shows live
    probe: str = ""  # the sentence whose attention is recorded at each evaluation ("": the text's start)


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
    if spec.kind is bool:
        spec.check(name, value)  # True or False, nothing else (not 0, 1 or "yes")
        return value
    low, high = app_range(name)
    hint = " ".join(h for h in (spec.hint, limits.CAP_HINTS.get(name, "")) if h)
    if spec.kind is int:
        return parse_int(name, value, int(low), int(high), hint=hint)
    return parse_float(name, value, low, high, low_open=spec.low_open, hint=hint)


# Every number on the form has a finite range in the app: a slider needs both ends, and a
# public server needs a ceiling on what one request may ask for.
assert all(None not in app_range(n) for n in FORM_FIELDS if TrainingSettings.spec(n).kind not in (str, bool))


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


def parse_request(text, watch_layer=0, probe="", **values) -> TrainRequest:
    """Check the raw text and form values (one keyword per field of FORM_FIELDS; those added later may
    be left out, as from the API) against the caps; ValueError says what to change. The probe
    sentence is checked against the tokenizer later, once the text is tokenized (ui/training.prepare)."""
    values = {**{name: getattr(DEFAULTS, name) for name in ADDED_FORM_FIELDS}, **values}  # as the API's defaults
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
    if probe is None:
        probe = ""
    if not isinstance(probe, str):
        raise ValueError(f"The probe sentence must be text, got {type(probe).__name__}.")
    if len(probe) > MAX_PROBE_CHARS:
        raise ValueError(
            f"The probe sentence is {len(probe):,} characters; the limit is {MAX_PROBE_CHARS:,}. "
            "Use a shorter probe sentence."
        )
    return TrainRequest(text, settings, parse_int("watch_layer", watch_layer, 0, MAX_N_LAYER - 1), probe)
