"""Bad input through the served app, as an API user sends it (gradio_client, and the raw
queue protocol the browser uses for the events that have no public API name).

Every bad call must be answered by a message that says what to change, and leave the
caller's session exactly as it was: after each one, the same client's /generate with a
fixed seed returns the same text as before, from the same model object.

The served app, clients and RawSession come from tests/apps.py.
"""

from __future__ import annotations

import json
import os
import sys
import threading

import httpx
import pytest
from apps import (
    CORPUS,
    ROOT,
    RawSession,
    app_error,
    generate,
    new_client,
    serving,
    train_args,
)
from waiting import eventually

pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated")

LOOPBACK = {"127.0.0.1", "::1", "localhost", "::ffff:127.0.0.1"}


# --- the catalogue -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def alice(app):
    """A session with a model of its own (trained here), used by every catalogue case."""
    demo, url = app
    client = new_client(url)
    result = client.predict(*train_args(text=CORPUS, n_layer=2, n_head=2, n_embd=16, block_size=16, max_steps=5), api_name="/train")
    assert "Done at step 5" in result[0]
    handle = demo.context.registry.model(client.session_hash)
    assert handle.origin == "trained" and handle.config.n_layer == 2
    raw = RawSession(url, client.session_hash)  # the same session, through the browser's protocol
    yield client, raw, handle, generate(client)
    raw.close()
    client.close()


def assert_session_intact(app, alice):
    demo, _ = app
    client, _, handle, baseline = alice
    assert demo.context.registry.model(client.session_hash) is handle, "the session lost its model"
    assert generate(client) == baseline, "the same seed no longer gives the same text"


HUGE_PASTE = "x" * 50_000_000  # 50 MB, sent whole through gradio_client to /train

# (endpoint, args, fragment of the expected message). The /train args are given as
# overrides of train_args(); everything else positionally.
API_CATALOGUE = [
    # --- /generate: prompt, max_new_tokens, temperature, top_k, top_p, seed
    ("/generate", ("", 8, 0.8, 0, 1.0, 1), "The prompt is empty: type a few characters"),
    ("/generate", (None, 8, 0.8, 0, 1.0, 1), "The prompt is empty"),
    ("/generate", (123, 8, 0.8, 0, 1.0, 1), "prompt must be text"),
    ("/generate", ("ROMEO€✓", 8, 0.8, 0, 1.0, 1), "never saw the character(s) '€', '✓'"),
    ("/generate", ("R" * 20_001, 8, 0.8, 0, 1.0, 1), "the limit is 20,000. Use a shorter prompt"),
    ("/generate", ("ROMEO:", 8, -1, 0, 1.0, 1), "temperature must be in [0, 5], got -1"),
    ("/generate", ("ROMEO:", 8, 1e9, 0, 1.0, 1), "temperature must be in [0, 5]"),
    ("/generate", ("ROMEO:", 8, "nan", 0, 1.0, 1), "temperature must be a finite number"),
    ("/generate", ("ROMEO:", 8, "inf", 0, 1.0, 1), "temperature must be a finite number"),
    ("/generate", ("ROMEO:", 8, "hot", 0, 1.0, 1), "temperature must be a number"),
    ("/generate", ("ROMEO:", 8, 0.8, -1, 1.0, 1), "top_k must be between 0 and 1000000, got -1. Use 0 to turn top-k off"),
    ("/generate", ("ROMEO:", 8, 0.8, 10**7, 1.0, 1), "top_k must be between 0 and 1000000"),
    ("/generate", ("ROMEO:", 8, 0.8, 2.5, 1.0, 1), "top_k must be a whole number"),
    ("/generate", ("ROMEO:", 8, 0.8, 0, 0, 1), "top_p must be in (0, 1], got 0. Use 1.0 to turn top-p off"),
    ("/generate", ("ROMEO:", 8, 0.8, 0, 1.5, 1), "top_p must be in (0, 1], got 1.5"),
    ("/generate", ("ROMEO:", 8, 0.8, 0, -0.1, 1), "top_p must be in (0, 1]"),
    ("/generate", ("ROMEO:", 8, 0.8, 0, "nan", 1), "top_p must be a finite number"),
    ("/generate", ("ROMEO:", 1001, 0.8, 0, 1.0, 1), "max_new_tokens must be between 0 and 1000"),
    ("/generate", ("ROMEO:", -5, 0.8, 0, 1.0, 1), "max_new_tokens must be between 0 and 1000"),
    ("/generate", ("ROMEO:", 8, 0.8, 0, 1.0, -1), "seed must be between 0 and"),
    # --- /attention: text, layer (alice's model has 2 layers)
    ("/attention", ("", 0), "The text is empty: type a sentence to look at"),
    ("/attention", ("But", 2), "layer must be between 0 and 1, got 2. This model has 2 layer(s)"),
    ("/attention", ("But", -1), "layer must be between 0 and 1, got -1"),
    ("/attention", ("But", 0.5), "layer must be a whole number"),
    ("/attention", ("But €", 0), "never saw the character(s) '€'"),
    ("/attention", ("a" * 20_001, 0), "the limit is 20,000"),
    # --- /train (overrides of train_args)
    ("/train", dict(text=""), "The training text is empty: paste some text, upload a .txt file"),
    ("/train", dict(text=None), "The training text is empty"),
    ("/train", dict(text="a"), "at least block_size + 1 = 9 tokens"),
    ("/train", dict(text="abcdefg"), "Give more text or choose a smaller block_size"),
    ("/train", dict(text=HUGE_PASTE), "The training text is 50,000,000 characters; the limit is 5,000,000"),
    ("/train", dict(tokenizer="words"), "tokenizer must be 'char' or 'bpe', got 'words'"),
    ("/train", dict(n_layer=0), "n_layer must be between 1 and 24, got 0"),
    ("/train", dict(n_layer=25), "n_layer must be between 1 and 24, got 25"),
    ("/train", dict(n_head=3), "n_embd (16) must be divisible by n_head (3)"),
    ("/train", dict(n_embd=4), "n_embd must be between 8 and 1536"),
    ("/train", dict(block_size=1), "block_size must be between 2 and 256"),
    ("/train", dict(block_size=257), "block_size must be between 2 and 256, got 257"),
    ("/train", dict(batch_size=0), "batch_size must be between 1 and 128"),
    ("/train", dict(batch_size=128, block_size=256), "16,384. Lower batch_size or block_size"),
    ("/train", dict(n_layer=12, n_head=12, n_embd=768), "parameters; the limit is 12,000,000. Lower n_layer or n_embd"),
    ("/train", dict(tokenizer="bpe", n_layer=1, n_head=8, n_embd=1536), "Lower n_layer or n_embd or use the char tokenizer"),
    ("/train", dict(max_steps=0), "max_steps must be between 1 and 5000"),
    ("/train", dict(max_steps=5001), "That is the per-run limit: choose fewer steps"),
    ("/train", dict(learning_rate=0), "learning_rate must be in (0, 0.01], got 0. Typical values are 1e-4 to 5e-3"),
    ("/train", dict(learning_rate=-1e-3), "learning_rate must be in (0, 0.01]"),
    ("/train", dict(learning_rate=1.0), "learning_rate must be in (0, 0.01], got 1. Typical values are 1e-4 to 5e-3, the larger for smaller models; much larger ones make the loss blow up"),
    ("/train", dict(learning_rate="nan"), "learning_rate must be a finite number"),
    ("/train", dict(dropout=0.95), "dropout must be in [0, 0.9]"),
    ("/train", dict(time_budget_s=0), "time_budget_s must be in (0, 300]"),
    ("/train", dict(time_budget_s=301), "Runs are limited to 300 s"),
]


def case_id(case) -> str:
    endpoint, args, _ = case
    if isinstance(args, dict):
        shown = ",".join(f"{k}={(v[:8] + '…' if isinstance(v, str) and len(v) > 8 else v)!r}" for k, v in args.items())
    else:
        shown = ",".join(repr(a)[:10] for a in args)
    return f"{endpoint}({shown})"


@pytest.mark.parametrize("endpoint, args, fragment", API_CATALOGUE, ids=[case_id(c) for c in API_CATALOGUE])
def test_bad_input_gets_a_clear_message_and_the_session_is_intact(app, alice, endpoint, args, fragment):
    client = alice[0]
    values = train_args(**args) if isinstance(args, dict) else args
    message = app_error(lambda: client.predict(*values, api_name=endpoint))
    assert fragment in message
    assert_session_intact(app, alice)


# (private event called as the browser calls it, args, fragment): events without a public API name.
RAW_CATALOGUE = [
    ("one_head", ("But", 0, 2), "head must be between 0 and 1, got 2. This model has 2 head(s) per layer"),
    ("one_head", ("But", 0, -1), "head must be between 0 and 1, got -1"),
    ("one_head", ("But", 5, 0), "layer must be between 0 and 1, got 5"),
    ("generate", ("ROMEO:", 8, float("nan"), 0, 1.0, 1), "temperature must be a finite number, got nan"),  # a raw JSON NaN
    ("generate", ("ROMEO:", 8, float("inf"), 0, 1.0, 1), "temperature must be a finite number, got inf"),
    ("generate", ("ROMEO:", 8, 0.8, 0, float("nan"), 1), "top_p must be a finite number, got nan"),
]


@pytest.mark.parametrize("event, args, fragment", RAW_CATALOGUE, ids=[f"{e}{a[1:]}" for e, a, _ in RAW_CATALOGUE])
def test_bad_input_to_events_without_an_api_name(app, alice, event, args, fragment):
    raw = alice[1]
    assert fragment in raw.error(event, *args)
    assert_session_intact(app, alice)


# (endpoint, args, check on the output): at the bounds, a value is accepted and means what the UI says.
AT_THE_BOUNDS = [
    ("temperature 0 is greedy", ("ROMEO:", 12, 0.0, 0, 1.0, 1), lambda out, c: out == generate(c, max_new_tokens=12, temperature=0.0, seed=999)),
    ("temperature 5 is allowed", ("ROMEO:", 12, 5.0, 0, 1.0, 1), lambda out, c: out.startswith("ROMEO:")),
    ("top_k 1 is greedy", ("ROMEO:", 12, 1.5, 1, 1.0, 3), lambda out, c: out == generate(c, max_new_tokens=12, temperature=0.0)),
    ("top_k above the vocabulary keeps every token", ("ROMEO:", 12, 0.8, 500, 1.0, 1), lambda out, c: out == generate(c, max_new_tokens=12, top_k=0)),
    ("a tiny top_p is greedy", ("ROMEO:", 12, 1.0, 0, 1e-9, 4), lambda out, c: out == generate(c, max_new_tokens=12, temperature=0.0)),
    ("max_new_tokens 0 gives the prompt back", ("ROMEO:", 0, 0.8, 0, 1.0, 1), lambda out, c: out == "ROMEO:"),
    ("a one-character prompt", ("R", 5, 0.8, 0, 1.0, 1), lambda out, c: out.startswith("R") and len(out) > 1),
    ("a whitespace-only prompt is a prompt", ("\n ", 5, 0.8, 0, 1.0, 1), lambda out, c: out.startswith("\n ") and len(out) > 2),
    ("a prompt longer than the context is cropped", ("ROMEO: " * 40, 5, 0.8, 0, 1.0, 1), lambda out, c: out.startswith("ROMEO: " * 40) and len(out) > 280),
]


@pytest.mark.parametrize("name, args, check", AT_THE_BOUNDS, ids=[n for n, _, _ in AT_THE_BOUNDS])
def test_sampling_controls_at_their_bounds(app, alice, name, args, check):
    client = alice[0]
    out = client.predict(*args, api_name="/generate")
    assert check(out, client), out
    assert_session_intact(app, alice)


def test_attention_text_longer_than_the_context_is_cut_not_refused(app, alice):
    result = alice[0].predict("But soft " * 50, 1, api_name="/attention")
    figure = json.loads(result["plot"])
    heatmap = next(t for t in figure["data"] if t["type"] == "heatmap")
    z = heatmap["z"]
    rows = int(z["shape"].split(",")[0]) if isinstance(z, dict) else len(z)  # plotly may send binary arrays
    assert rows == alice[2].config.block_size  # the model's context, 16 tokens
    assert_session_intact(app, alice)


def test_whitespace_only_training_text_is_refused(app):
    client = new_client(app[1])
    try:
        message = app_error(lambda: client.predict(*train_args(text="  \n " * 100, max_steps=5), api_name="/train"))
        assert "The training text is only whitespace: paste some text with words in it" in message
        assert generate(client).startswith("ROMEO:")  # the session still has the bundled model
    finally:
        client.close()


def test_a_second_train_is_refused_and_stop_twice_is_harmless(app):
    demo, url = app
    bob = new_client(url)
    try:
        registry = demo.context.registry
        first = bob.submit(*train_args(max_steps=5000, time_budget_s=60), api_name="/train")
        eventually(first.outputs, timeout=60, what="the training reported progress")
        assert "You already have a training running or waiting in this session: press Stop first" in app_error(
            lambda: bob.predict(*train_args(), api_name="/train")
        )
        assert "Stopping after the current step" in bob.predict(api_name="/stop_training")
        second = bob.predict(api_name="/stop_training")  # Stop pressed twice: no error, a sensible answer
        # The first Stop may already have ended the run: then the second finds it saving, or done.
        assert any(answer in second for answer in ("Stopping", "already finished: its model is being saved", "Nothing to stop"))
        final = first.result(timeout=60)
        assert "Stopped at step" in final[0]
        assert "Nothing to stop" in bob.predict(api_name="/stop_training")  # and a third time, after the end
        assert registry.job(bob.session_hash) is None
        assert generate(bob, prompt="ab", max_new_tokens=6).startswith("ab")
    finally:
        bob.close()


def test_the_app_still_serves_a_newcomer_after_the_catalogue(app):
    carol = new_client(app[1])
    try:
        assert generate(carol).startswith("ROMEO:")
        assert carol.predict("But", 1, api_name="/attention")["type"] == "plotly"
    finally:
        carol.close()


# --- nothing leaves the machine ----------------------------------------------------------------

_connections: list = []
_recording = threading.Event()


def _audit(event, args):
    if _recording.is_set() and event in ("socket.connect", "socket.getaddrinfo"):
        _connections.append((event, args))


sys.addaudithook(_audit)  # audit hooks cannot be removed; it records only while _recording is set


def _outside(event, args) -> str | None:
    if event == "socket.getaddrinfo":
        host = args[0]
        if host in (None, "", b"") or str(host) in LOOPBACK:
            return None
        return f"DNS lookup of {host!r}"
    address = args[1]
    if isinstance(address, (str, bytes)):  # a unix socket
        return None
    if isinstance(address, tuple) and str(address[0]) in LOOPBACK:
        return None
    return f"connection to {address!r}"


def test_no_share_link_no_analytics_and_no_outside_connection(tmp_path):
    """Every socket the server opens or resolves while it starts and serves generate,
    attention and a training is on this machine. The requests are sent with plain httpx
    (RawSession), not gradio_client, whose own Hugging Face Hub lookups would blur the
    picture: only the app's traffic is recorded."""
    import gradio

    _connections.clear()
    _recording.set()
    try:
        with serving(tmp_path) as (demo, url):
            raw = RawSession(url)
            try:
                assert raw.call("generate", "ROMEO:", 8, 0.8, 0, 1.0, 1)["success"]
                assert raw.call("attention", "But", 0)["success"]
                assert raw.call("train", *train_args(max_steps=5))["success"]
                raw.http.get(url).raise_for_status()
            finally:
                raw.close()
            assert demo.share is False and demo.share_url is None
            assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
            assert gradio.analytics.analytics_enabled() is False
            assert demo.local_url.startswith("http://127.0.0.1:")
    finally:
        _recording.clear()
    assert any(event == "socket.connect" for event, _ in _connections), "the audit hook saw nothing: the test is blind"
    outside = [o for o in (_outside(e, a) for e, a in _connections) if o]
    assert not outside, f"the app reached outside this machine: {outside}"


def test_importing_the_app_switches_telemetry_off_before_gradio_reads_it():
    """ui/__init__ sets GRADIO_ANALYTICS_ENABLED, HF_HUB_OFFLINE and HF_HUB_DISABLE_TELEMETRY;
    huggingface_hub reads the last two once, when it is first imported (by gradio), so the
    app must set them before gradio is imported. A fresh interpreter shows what the app does."""
    import subprocess

    code = (
        "import os\n"
        "for k in ('GRADIO_ANALYTICS_ENABLED', 'HF_HUB_OFFLINE', 'HF_HUB_DISABLE_TELEMETRY'): os.environ.pop(k, None)\n"
        "import app\n"
        "from huggingface_hub import constants\n"
        "import gradio.analytics\n"
        "print(constants.HF_HUB_OFFLINE, constants.HF_HUB_DISABLE_TELEMETRY, gradio.analytics.analytics_enabled())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-3:] == ["True", "True", "False"]


def test_the_file_route_does_not_fetch_urls_on_our_behalf(app):
    """/gradio_api/file=<url> makes Gradio fetch the URL; it must refuse loopback and private
    addresses (so the route cannot be used to reach this machine's or its network's services)."""
    hits = []

    import http.server

    class Trap(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"SECRET-ON-LOOPBACK")

        def log_message(self, *args):
            pass

    trap = http.server.HTTPServer(("127.0.0.1", 0), Trap)
    thread = threading.Thread(target=trap.serve_forever, daemon=True)
    thread.start()
    try:
        target = f"http://127.0.0.1:{trap.server_port}/secret"
        for route in ("gradio_api/file=", "gradio_api/file/"):
            response = httpx.get(app[1] + route + target, trust_env=False, timeout=30)
            assert response.status_code >= 400
            assert b"SECRET-ON-LOOPBACK" not in response.content
        assert hits == []
        # Public hosts too: the app refuses before any request could leave the machine.
        for target in ("https://example.com/x.png", "http%3A%2F%2Fexample.com%2Fx", "http%253A%252F%252Fexample.com"):
            response = httpx.get(app[1] + "gradio_api/file=" + target, trust_env=False, timeout=30)
            assert response.status_code == 403
            assert b"does not fetch URLs" in response.content
    finally:
        trap.shutdown()
        trap.server_close()


# --- many users at once (bench/load.py, briefly) ---------------------------------------------


@pytest.mark.slow
def test_load_bench_briefly_serves_everyone_without_errors_and_keeps_sessions_apart(request):
    """bench/load.py with 4 sessions for 15 s: zero errors, every session trained and only ever
    saw its own model, memory back near idle. Run with `-m slow` (about a minute)."""
    import subprocess

    if "slow" not in (request.config.getoption("-m") or ""):
        pytest.skip("the load test runs with -m slow")
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load.py"), "--sessions", "4", "--seconds", "15", "--no-results"],
        cwd=ROOT, capture_output=True, text=True, timeout=400, check=False,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    assert lines, out.stdout[-2000:] + out.stderr[-2000:]
    result = json.loads(lines[-1])
    assert result["errors"] == 0, result["error_samples"]
    assert result["isolation"]["sessions_trained"] == 4
    assert result["isolation"]["violations"] == 0, result["isolation"]["violation_samples"]
    assert result["isolation"]["generations_checked"] > 0 and result["isolation"]["attention_views_checked"] > 0
    assert result["sessions_holding_models_after_close"] == 0
    assert result["memory_back_within_10pct"], result["memory_mb"]
    assert out.returncode == 0
