"""Fuzz every named endpoint through gradio_client: at least 1,000 generated calls.

Opt-in (slow): python -m pytest -m slow tests/test_fuzz_api.py

Every argument is drawn from anything JSON can carry (None, booleans, huge and tiny numbers,
text of any script, lists, objects) mixed with values near the valid ranges,
so that some calls succeed and the rest explore the edges. Every call must get a result or a
clear error (an AppError with a message), the server must log no exception, and the app must
keep serving a plain /generate afterwards.
"""

from __future__ import annotations

import pytest
from apps import new_client, serving, train_args
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ui.train_form import API_FIELDS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated"),
]

CALLS = {"/generate": 320, "/attention": 320, "/train": 260, "/stop_training": 120}  # 1,020 in all

anything = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)  # gradio_client sends JSON, which has no NaN (tests/test_reliability_api.py sends raw NaN)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)
short_text = st.text(alphabet="ROMEObutsf ,:\n ab", min_size=0, max_size=40) | st.text(max_size=60)


def near(low, high):
    """Numbers in and just around [low, high], as floats and ints."""
    return st.floats(min_value=low - 2, max_value=high + 2) | st.integers(min_value=int(low) - 2, max_value=int(high) + 2)


def value(*choices):
    """Mostly the given (near-valid) choices, sometimes anything at all: most calls then get far
    enough to exercise the handlers, and every argument still meets every kind of value."""
    return st.one_of(*choices * 6, anything)


generate_args = st.tuples(
    value(short_text), value(near(0, 60)), value(near(0, 5)), value(near(0, 50)), value(near(0, 1)), value(near(0, 2**32))
)
attention_args = st.tuples(value(short_text), value(near(-1, 3)))
train_values = st.fixed_dictionaries(
    {
        "text": value(st.just("ab" * 200), short_text),
        "tokenizer": value(st.sampled_from(["char", "bpe", "words"])),
        "n_layer": value(near(0, 2)),
        "n_head": value(near(0, 2)),
        "n_embd": value(st.sampled_from([4, 8, 16, 15])),
        "block_size": value(near(1, 16)),
        "max_steps": value(near(0, 4)),
        "batch_size": value(near(0, 4)),
        "learning_rate": value(st.floats(min_value=-0.1, max_value=0.1)),
        "dropout": value(near(0, 1)),
        "time_budget_s": value(near(0, 3)),
        "warmup_steps": value(near(0, 3)),
        "watch_layer": value(near(-1, 2)),
        "keep_best": value(st.booleans()),
        "probe": value(st.just(""), short_text),
    }
)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("fuzz-app")) as served:
        yield served


class Tally:
    def __init__(self):
        self.results = self.errors = 0

    def call(self, client, *args, api_name):
        from gradio_client.exceptions import AppError

        try:
            if api_name == "/train":
                job = client.submit(*args, api_name=api_name)
                client.predict(api_name="/stop_training")  # a valid training is stopped at once: the fuzz stays fast
                job.result(timeout=120)
            else:
                client.predict(*args, api_name=api_name)
            self.results += 1
        except AppError as exc:
            assert str(exc).strip() and "Traceback" not in str(exc), f"{api_name}{args!r}: an unclear error {exc!r}"
            self.errors += 1


def run_fuzz(client, tally, api_name, strategy, examples, to_args):
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def one(args):
        tally.call(client, *to_args(args), api_name=api_name)

    one()


def test_every_endpoint_answers_anything_with_a_result_or_a_clear_error(fuzzed, capfd):
    demo, url = fuzzed
    client, tally = new_client(url), Tally()
    run_fuzz(client, tally, "/generate", generate_args, CALLS["/generate"], lambda a: a)
    run_fuzz(client, tally, "/attention", attention_args, CALLS["/attention"], lambda a: a)
    run_fuzz(
        client, tally, "/train", train_values, CALLS["/train"],
        lambda v: (v["text"], *(v[name] for name in API_FIELDS)),
    )
    for _ in range(CALLS["/stop_training"]):  # it takes no arguments: every session state is what varies
        tally.call(client, api_name="/stop_training")
    assert tally.results + tally.errors >= 1_000
    assert tally.results > 50 and tally.errors > 300, (tally.results, tally.errors)  # both kinds were explored
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err, (out + err)[-3000:]
    fresh = new_client(url)  # and the app keeps serving
    assert fresh.predict("ROMEO:", 5, 0.8, 0, 1.0, 1, api_name="/generate").startswith("ROMEO:")
    result = fresh.predict(*train_args(max_steps=3), api_name="/train")
    assert "Done at step 3" in result[0]
