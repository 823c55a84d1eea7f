"""The settings of a training run are declared once (gpt/settings.py) and everything else is made
from them: a field added there reaches the trainer's config or the model's, the command line, the
/train signature, the Train form (within the app's one range) and the README's table, or one of
these tests names what it missed."""

from __future__ import annotations

import inspect
import math
from dataclasses import fields
from pathlib import Path

import pytest

from gpt import GPTConfig, TrainConfig
from gpt.settings import (
    FORM_FIELDS,
    MIN_LR_FRACTION,
    MODEL_FIELDS,
    TRAINER_DEFAULTS,
    TRAINER_FIELDS,
    TrainingSettings,
    markdown_table,
)
from gpt.train import build_parser
from locales import en, es
from ui import limits, train_form

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = [f.name for f in fields(TrainingSettings)]


def spec(name):
    return TrainingSettings.spec(name)


def test_every_field_goes_to_exactly_one_part_of_the_run():
    parts = {name: spec(name).part for name in SCHEMA}
    assert {n for n, part in parts.items() if part == "model"} == set(MODEL_FIELDS)
    assert {n for n, part in parts.items() if part == "trainer"} == set(TRAINER_FIELDS)
    assert set(MODEL_FIELDS) <= {f.name for f in fields(GPTConfig)}  # model_config can pass each one


def test_the_trainer_config_is_made_from_the_schema_with_its_defaults():
    assert [f.name for f in fields(TrainConfig)] == [*TRAINER_FIELDS, "device", "precision"]
    config = TrainConfig()
    decided = TrainingSettings().trainer_values()
    for name in TRAINER_FIELDS:
        expected = decided[name] if name != "min_lr" else decided["learning_rate"] * MIN_LR_FRACTION
        assert getattr(config, name) == expected, name
    assert TrainingSettings().train_config() == config  # the settings' defaults are the trainer's
    # Its checks are the schema's: each bound refused the same way in both.
    for name in TRAINER_FIELDS:
        low = spec(name).low
        if low is None:
            continue
        below = low - 1 if spec(name).kind is int else (low if spec(name).low_open else low - 0.5)
        with pytest.raises(ValueError) as from_config:
            TrainConfig(**{name: below})
        with pytest.raises(ValueError) as from_settings:
            TrainingSettings(**{name: below})
        assert str(from_config.value) == str(from_settings.value), name


def test_the_min_lr_rule_is_the_trainers_alone():
    assert TrainingSettings(learning_rate=4e-3).min_lr is None  # left to the run
    assert TrainingSettings(learning_rate=4e-3).train_config().min_lr == pytest.approx(4e-4)
    for build in (TrainConfig, TrainingSettings):
        with pytest.raises(ValueError, match="must not exceed learning_rate"):
            build(learning_rate=1e-3, min_lr=2e-3)


def test_every_field_has_its_command_line_flag_with_its_help():
    parser = build_parser()
    by_dest = {}
    for action in parser._actions:
        by_dest.setdefault(action.dest, []).append(action)
    for name in SCHEMA:
        actions = by_dest.get(name)
        assert actions, f"{name}: no flag"
        assert TrainingSettings.flag(name) in actions[0].option_strings, name
        assert spec(name).help.split(" (default:")[0] in actions[0].help, name


def test_the_train_api_signature_is_the_forms_fields_with_their_defaults():
    from ui.train_tab import TRAIN_SIGNATURE

    parameters = TRAIN_SIGNATURE.parameters
    assert list(parameters) == ["text", *train_form.API_FIELDS, "request"]
    assert set(FORM_FIELDS) <= set(parameters)
    assert parameters["text"].default is inspect.Parameter.empty
    for name in FORM_FIELDS:
        assert parameters[name].default == getattr(train_form.DEFAULTS, name), name


def _api_accepts(name, value) -> bool:
    try:
        train_form.parse_field(name, value)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("name", FORM_FIELDS)
def test_what_the_form_offers_is_what_the_api_accepts(name):
    """A slider's ends are the app's range (the library's bounds narrowed by ui/limits.py FORM_CAPS):
    /train takes both ends and refuses a step beyond them."""
    field_spec = spec(name)
    if field_spec.form != "slider":
        assert field_spec.form in ("choice", "number", "checkbox"), name
        return
    low, high = train_form.slider_range(name)
    app_low, app_high = train_form.app_range(name)
    assert high == app_high and (low == app_low or (field_spec.low_open and low == app_low + field_spec.step))
    assert _api_accepts(name, low) and _api_accepts(name, high), name
    assert not _api_accepts(name, high + field_spec.step), name
    if not field_spec.low_open:
        assert not _api_accepts(name, low - field_spec.step), name
    ticks = (high - low) / field_spec.step
    assert math.isclose(ticks, round(ticks)), f"{name}: the slider's step does not reach its maximum"


def test_the_app_narrows_only_fields_of_the_schema_and_never_widens_them():
    for name, (low, high) in limits.FORM_CAPS.items():
        assert name in FORM_FIELDS, name
        library = spec(name)
        assert low is None or library.low is None or low >= library.low, name
        assert high is None or library.high is None or high <= library.high, name


def test_the_english_help_is_the_schemas_and_spanish_has_every_form_text():
    for name in FORM_FIELDS:
        for part in ("label", "info"):
            key = f"train.field.{name}.{part}"
            assert key in en.FORM_TEXTS and es.TEXTS.get(key), key
        assert en.TEXTS[f"train.field.{name}.info"] == spec(name).help


def test_the_readme_holds_the_table_of_the_settings_and_the_train_signature():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, "README.md: paste the output of `python -m gpt.train --settings-table`"
    shown = ", ".join(f"{name}={_python(train_form.API_DEFAULTS[name])}" for name in train_form.API_FIELDS)
    assert f"/train(text, {shown})" in " ".join(readme.split()), f"README.md: /train(text, {shown})"


def _python(value) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def test_the_trainer_defaults_are_those_of_the_settings():
    settings = TrainingSettings()
    for name in TRAINER_FIELDS:
        if getattr(settings, name) is not None:
            assert TRAINER_DEFAULTS[name] == getattr(settings, name), name
