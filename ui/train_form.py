"""The Train form's values, as they arrive from the browser or an API client, checked.

The form is gpt.settings.TrainingSettings: its fields give each input's bounds (what the
library can do), ui/limits.py FORM_CAPS narrows some of them (what a public server allows), and
every refusal names the field, the range and what to change. The same range is what a slider
offers (slider_range) and what /train accepts (parse_field): the page and the API cannot differ.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpt.checks import one_of, parse_float, parse_int, parse_text
from gpt.errors import UserError
from gpt.config import MAX_N_LAYER
from gpt.presets import DEFAULT_PRESET, preset
from gpt.settings import FORM_FIELDS, TrainingSettings

from . import limits

DEFAULTS = preset(DEFAULT_PRESET)  # the form's values when the page opens, and the API's defaults
MAX_PROBE_CHARS = 1_000  # the probe sentence box: a probe keeps at most 64 tokens anyway

# /train's parameters after the text, as they were published. API clients may pass them by position,
# so this order is kept for ever: the form's fields as first published, the layer to watch, then what
# came later (keep_best, the probe sentence). A field added to the form since (gpt/settings.py) comes
# after all of them, by itself, with its default.
PUBLISHED_API = (
    "tokenizer", "n_layer", "n_head", "n_embd", "block_size", "max_steps", "batch_size", "learning_rate",
    "dropout", "time_budget_s", "warmup_steps", "watch_layer", "keep_best", "probe",
)
API_FIELDS = (*PUBLISHED_API, *(name for name in FORM_FIELDS if name not in PUBLISHED_API))
# The form's fields after the first publication: an API call may leave them out (parse_request).
ADDED_FORM_FIELDS = tuple(name for name in API_FIELDS[API_FIELDS.index("watch_layer") + 1 :] if name in FORM_FIELDS)
assert set(PUBLISHED_API) - {"watch_layer", "probe"} <= set(FORM_FIELDS)
# /train's defaults, after the text (which has none): the default preset's values for the form's fields.
API_DEFAULTS = {**{name: getattr(DEFAULTS, name) for name in FORM_FIELDS}, "watch_layer": 0, "probe": ""}


@dataclass(frozen=True)
class TrainRequest:
    text: str
    settings: TrainingSettings
    watch_layer: int = 0  # the layer whose attention the Train tab shows live
    probe: str = ""  # the sentence whose attention is recorded at each evaluation ("": the text's start)


def app_range(name: str) -> tuple[float | None, float | None]:
    """The range the app accepts for a form field: the library's bounds, narrowed by the caps
    (ui/limits.py FORM_CAPS). Whether the low end itself is allowed is the library's (low_open)."""
    spec = TrainingSettings.spec(name)
    cap_low, cap_high = limits.FORM_CAPS.get(name, (None, None))
    low = spec.low if cap_low is None else cap_low
    high = spec.high if cap_high is None else cap_high
    return low, high


def slider_range(name: str) -> tuple[float, float]:
    """A slider's ends: the app's range, less its low end when that end is excluded (a time budget of
    0 s is refused: the slider starts one step above it)."""
    spec = TrainingSettings.spec(name)
    low, high = app_range(name)
    return (low + spec.step if spec.low_open and low == spec.low else low), high


def parse_field(name: str, value):
    spec = TrainingSettings.spec(name)
    if spec.kind is str:
        return one_of(name, value, spec.choices)
    if spec.kind is bool:
        spec.check(name, value)  # True or False, nothing else (not 0, 1 or "yes")
        return value
    low, high = app_range(name)
    hint = (spec.hint, limits.CAP_HINTS.get(name))  # the library's, then the app's cap's (either may be absent)
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
    text = parse_text("training text", text, limits.MAX_TEXT_CHARS, "train.text_empty", "train.text_too_long")
    if not text.strip():
        raise UserError("train.text_whitespace")
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
        raise UserError("train.tokens_per_step", tokens=tokens, limit=limits.MAX_TOKENS_PER_STEP)
    if probe is None:
        probe = ""
    if not isinstance(probe, str):
        raise UserError("probe.not_text", kind=type(probe).__name__)
    if len(probe) > MAX_PROBE_CHARS:
        raise UserError("train.probe_too_long", count=len(probe), limit=MAX_PROBE_CHARS)
    return TrainRequest(text, settings, parse_int("watch_layer", watch_layer, 0, MAX_N_LAYER - 1), probe)
