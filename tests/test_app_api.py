"""The app served in-process and driven through gradio_client, as an API user would."""

from __future__ import annotations

import json

import pytest
from apps import app_error, new_client, train_args
from apps import generate as generate_call
from waiting import eventually

pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated")

ABAB = "ab" * 300


@pytest.fixture
def server(app):
    return app


@pytest.fixture
def client(app):
    return new_client(app[1])


def generate(client, prompt="ROMEO:", max_new_tokens=40, **sampling):
    return generate_call(client, prompt, max_new_tokens, **sampling)


def test_generate_same_seed_same_text(client):
    first = generate(client, seed=5)
    assert first.startswith("ROMEO:") and len(first) > len("ROMEO:")
    assert generate(client, seed=5) == first
    assert generate(client, seed=6) != first


def test_generate_defaults_and_filters(client):
    assert client.predict("ROMEO:", api_name="/generate").startswith("ROMEO:")
    greedy = generate(client, temperature=0.0, top_k=3, top_p=0.5)
    assert greedy == generate(client, temperature=0.0, top_k=3, top_p=0.5, seed=99)  # greedy ignores the seed


def test_attention_returns_one_heatmap_per_head(client):
    result = client.predict("But soft", 1, api_name="/attention")
    figure = json.loads(result["plot"])
    heatmaps = [t for t in figure["data"] if t["type"] == "heatmap"]
    assert result["type"] == "plotly" and len(heatmaps) == 2
    assert "query" in heatmaps[0]["hovertemplate"]


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda c: generate(c, temperature=-1), "temperature"),
        (lambda c: generate(c, top_p=0), "top_p"),
        (lambda c: generate(c, prompt=""), "prompt is empty"),
        (lambda c: generate(c, prompt="€"), "never saw"),
        (lambda c: c.predict("But", 7, api_name="/attention"), "layer must be between 0 and 1"),
        (lambda c: c.predict("", 0, api_name="/attention"), "empty"),
        (lambda c: c.predict(ABAB, "char", 1, 1, 16, 8, 99_999, api_name="/train"), "max_steps"),
        (lambda c: c.predict(ABAB, "words", api_name="/train"), "tokenizer"),
        (lambda c: c.predict("", "char", api_name="/train"), "empty"),
        (lambda c: c.predict(ABAB, "char", 12, 8, 768, api_name="/train"), "parameters"),
    ],
)
def test_bad_inputs_say_what_to_change_and_the_app_keeps_serving(client, call, words):
    assert words in app_error(lambda: call(client))
    assert generate(client, max_new_tokens=3).startswith("ROMEO:")


def test_an_api_run_has_no_page_to_draw_and_takes_the_policys_cores(server, monkeypatch):
    from ui import threads

    asked = []
    policy = threads.policy()  # the app's (its context holds the process's)
    original = policy.for_training
    monkeypatch.setattr(policy, "for_training", lambda beside_browser=False: (asked.append(beside_browser), original(beside_browser)))
    outputs = new_client(server[1]).predict(*train_args(text=ABAB, max_steps=10), api_name="/train")
    assert "Done at step 10" in outputs[0]
    assert asked and not any(asked)  # gradio_client on this machine draws nothing: no core is left to it


def test_training_in_one_session_leaves_the_other_alone(server):
    alice, bob = new_client(server[1]), new_client(server[1])
    before = generate(alice, prompt="ab", temperature=0.0)
    outputs = bob.predict(*train_args(text=ABAB, max_steps=40), api_name="/train")
    assert "Done at step 40" in outputs[0]
    assert generate(bob, prompt="ab", max_new_tokens=10, temperature=0.0) == "ab" * 6
    assert generate(alice, prompt="ab", temperature=0.0) == before
    demo = server[0]
    assert demo.context.registry.model(bob.session_hash) is not demo.context.registry.default
    assert demo.context.registry.model(alice.session_hash) is demo.context.registry.default
    assert alice.session_hash not in demo.context.registry  # a session that only samples costs nothing


def test_second_training_from_a_session_is_refused_and_stop_keeps_a_model(server):
    carol = new_client(server[1])
    registry = server[0].context.registry
    first = carol.submit(*train_args(text=ABAB, max_steps=5000, time_budget_s=60), api_name="/train")
    eventually(first.outputs, what="the training's first progress update")
    assert not first.done()
    message = app_error(lambda: carol.predict(ABAB, "char", 1, 1, 16, 8, 20, api_name="/train"))
    assert "already have a training" in message
    assert registry.job(carol.session_hash) is not None
    dave = new_client(server[1])  # sampling and attention do not wait behind the training
    assert generate(dave, max_new_tokens=5).startswith("ROMEO:")
    assert dave.predict("But", 0, api_name="/attention")["type"] == "plotly"
    assert not first.done()
    assert "Stopping" in carol.predict(api_name="/stop_training")
    final = first.result(timeout=60)
    assert "Stopped at step" in final[0]
    assert generate(carol, prompt="ab", max_new_tokens=4).startswith("ab")
    assert registry.job(carol.session_hash) is None


# /train's parameters as first published: a client passing them by position must keep working.
FIRST_PUBLISHED = [
    "text", "tokenizer", "n_layer", "n_head", "n_embd", "block_size", "max_steps", "batch_size", "learning_rate",
    "dropout", "time_budget_s", "warmup_steps", "watch_layer",
]


def test_the_train_api_takes_the_text_then_the_forms_fields_then_the_layer_to_watch(server):
    """/train's signature is written out for API users; it must stay in step with the training form
    (gpt/settings.py), with the default preset's values as its defaults. What was added later (keep_best,
    the probe sentence) comes after the first published parameters, with defaults."""
    import inspect

    from gpt.presets import DEFAULT_PRESET, preset
    from gpt.settings import FORM_FIELDS

    demo, _ = server
    (train,) = [f.fn for f in demo.fns.values() if f.api_name == "train"]
    parameters = inspect.signature(train).parameters
    assert list(parameters) == [*FIRST_PUBLISHED, "keep_best", "probe", "request"]
    assert set(FORM_FIELDS) <= set(parameters)
    defaults = preset(DEFAULT_PRESET)
    assert {n: parameters[n].default for n in FORM_FIELDS} == {n: getattr(defaults, n) for n in FORM_FIELDS}
    assert parameters["keep_best"].default is True and parameters["probe"].default == ""
    info = json.loads(json.dumps(demo.get_api_info()))
    (endpoint,) = [e for name, e in info["named_endpoints"].items() if name == "/train"]
    assert [p["parameter_name"] for p in endpoint["parameters"]] == [*FIRST_PUBLISHED, "keep_best", "probe"]
    assert all(p["parameter_has_default"] for p in endpoint["parameters"][len(FIRST_PUBLISHED):])


def test_a_client_of_the_first_published_api_still_trains_and_a_new_one_chooses_the_weights_and_probe(server):
    registry = server[0].context.registry
    old, new = new_client(server[1]), new_client(server[1])
    status, loss, samples, attention = old.predict(ABAB, "char", 1, 1, 16, 8, 30, 8, 1e-2, 0.0, 30, 2, 0, api_name="/train")
    assert "Done at step 30" in status and attention["type"] == "plotly"  # the four outputs it always had
    assert registry.model(old.session_hash).watch.pieces[:4] == ["a", "b", "a", "b"]  # the text's start
    outputs = new.predict(*train_args(text=ABAB, max_steps=30, keep_best=False, probe="bab"), api_name="/train")
    handle = registry.model(new.session_hash)
    assert handle.meta["kept"] == "last" and handle.meta["train_config"]["keep_best"] is False
    assert handle.watch.pieces == ["b", "a", "b"] and handle.watch.timeline.steps[0] == 0
    assert "Done at step 30" in outputs[0]
