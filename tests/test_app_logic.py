"""The app's logic (ui/), called directly: validation, caps, sessions, the training queue,
uploads. Tiny models only; no server."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest
import torch

import gpt
from gpt import GPT, GPTConfig, make_tokenizer
from gpt.presets import PRESETS
from gpt.presets import preset as preset_settings
from gpt.settings import FORM_FIELDS, TrainingSettings
from ui import attention, checkpoints, generation, limits, plan, threads, train_form, training, training_queue
from gpt.device import cpu_cores
from ui.calibration import StepTimer
from ui.clients import on_this_machine
from ui.errors import user_errors
from ui.sessions import ModelHandle, SessionRegistry, session_id
from ui.threads import RunPolicy

ROOT = Path(__file__).resolve().parent.parent
TEXT = "ROMEO:\nBut soft, what light through yonder window breaks? It is the east, and <b>Juliet</b> is the sun.\n" * 4
ABAB = "ab" * 200


pytestmark = pytest.mark.usefixtures("one_thread")  # the shared fixture in conftest.py


def tiny_handle(text: str = TEXT, seed: int = 0, **shape) -> ModelHandle:
    tokenizer = make_tokenizer("char", text)
    torch.manual_seed(seed)
    config = dict(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=2, n_head=2, n_embd=16)
    config.update(shape)
    return ModelHandle.serving(GPT(GPTConfig(**config)), tokenizer, {}, "bundled", "tiny test model")


@pytest.fixture(scope="module")
def handle() -> ModelHandle:
    return tiny_handle()


@pytest.fixture
def registry(handle, tmp_path) -> SessionRegistry:
    return SessionRegistry(default=handle, workdir=tmp_path / "sessions")


@pytest.fixture(scope="module")
def timer() -> plan.StepTimer:
    return plan.StepTimer("cpu")


def settings(text=ABAB, **overrides) -> train_form.TrainRequest:
    values = dict(
        text=text,
        tokenizer="char",
        n_layer=1,
        n_head=1,
        n_embd=16,
        block_size=8,
        max_steps=20,
        batch_size=4,
        learning_rate=1e-2,
        dropout=0.0,
        time_budget_s=30,
        warmup_steps=2,
        watch_layer=0,
    )
    values.update(overrides)
    return train_form.parse_request(**values)


def sampling(prompt="ROMEO:", **overrides) -> generation.SamplingSettings:
    values = dict(max_new_tokens=30, temperature=0.8, top_k=0, top_p=1.0, seed=1)
    values.update(overrides)
    return generation.parse_sampling(prompt, **values)


# --- generation ------------------------------------------------------------------------------


def test_same_seed_same_text_and_prompt_comes_first(handle):
    first = generation.generate_text(handle, sampling(seed=3))
    assert first.startswith("ROMEO:") and len(first) > len("ROMEO:")
    assert generation.generate_text(handle, sampling(seed=3)) == first
    assert generation.generate_text(handle, sampling(seed=4)) != first


def test_the_app_generates_in_the_fast_precision_where_it_pays(monkeypatch):
    """The app asks for `bf16`; the header and the model card say which precision a model really gets."""
    from gpt import fast_weights

    small = tiny_handle()
    big = tiny_handle(n_layer=1, n_embd=64)  # made "big" below by lowering the size rule's threshold
    assert "float32 (exact)" in generation.precision_text(small.model, short=True)
    monkeypatch.setattr(fast_weights, "bf16_supported", lambda device: True)
    assert "fit the CPU&#x27;s cache" in checkpoints.model_card(small)
    assert "entrenar" not in generation.precision_text(small.model, "es") and "caché" in generation.precision_text(small.model, "es")
    monkeypatch.setattr(fast_weights, "CPU_FAST_MIN_WEIGHT_MB", 0.0)
    assert generation.precision_text(big.model, short=True) == "bfloat16 (approximate)"
    monkeypatch.setattr(fast_weights, "bf16_supported", lambda device: False)
    assert "no native bfloat16" in checkpoints.model_card(big)
    bigram = tiny_handle(bigram=True)
    assert "nothing to copy" in checkpoints.model_card(bigram)


def test_app_generation_reads_the_bf16_copies_when_fast_pays(monkeypatch):
    from gpt import fast_weights

    if not fast_weights.bf16_supported(torch.device("cpu")):
        pytest.skip("this CPU has no native bf16: fast is exact here, as the model card says")
    big = tiny_handle(n_layer=1, n_embd=64)
    monkeypatch.setattr(fast_weights, "CPU_FAST_MIN_WEIGHT_MB", 0.0)
    assert not fast_weights.has_fast_weights(big.model)
    generation.generate_text(big, sampling(prompt="ab", max_new_tokens=5))
    assert fast_weights.has_fast_weights(big.model)


def test_stream_grows_token_by_token(handle):
    texts = list(generation.stream_text(handle, sampling(max_new_tokens=5)))
    assert texts[0] == "ROMEO:" and len(texts) == 6
    assert all(b.startswith(a) for a, b in zip(texts, texts[1:]))


def test_prompt_longer_than_the_context_is_fine(handle):
    long_prompt = "But soft, " * 20  # 200 characters, context 64
    assert generation.generate_text(handle, sampling(long_prompt, max_new_tokens=5)).startswith(long_prompt)


@pytest.mark.parametrize(
    "overrides, words",
    [
        (dict(temperature=-1), "temperature"),
        (dict(temperature=float("nan")), "temperature"),
        (dict(top_k=-2), "top_k"),
        (dict(top_p=0.0), "top_p"),
        (dict(top_p=1.5), "top_p"),
        (dict(max_new_tokens=limits.MAX_NEW_TOKENS + 1), "max_new_tokens"),
        (dict(max_new_tokens=2.5), "max_new_tokens"),
        (dict(seed=-1), "seed"),
        (dict(seed="abc"), "seed"),
    ],
)
def test_bad_sampling_settings_say_what_to_change(overrides, words):
    with pytest.raises(ValueError, match=words):
        sampling(**overrides)


def test_empty_prompt_and_unseen_characters_are_refused(handle):
    with pytest.raises(ValueError, match="prompt is empty"):
        sampling("")
    with pytest.raises(ValueError, match="never saw"):
        generation.generate_text(handle, sampling("€uro"))


def test_off_values_mean_no_filter():
    s = sampling(top_k=0, top_p=1.0)
    assert s.top_k is None and s.top_p is None


def test_generation_does_not_mutate_the_shared_model(handle):
    before = {k: v.clone() for k, v in handle.model.state_dict().items()}
    generation.generate_text(handle, sampling(max_new_tokens=20))
    generation.next_token_figure(handle, "ROMEO:", sampling())
    assert not handle.model.training
    assert not any(p.requires_grad for p in handle.model.parameters())
    for name, tensor in handle.model.state_dict().items():
        assert torch.equal(tensor, before[name]), name


def test_next_token_figure_has_probabilities(handle):
    fig = generation.next_token_figure(handle, "ROMEO:", sampling(top_k=5))
    bars = fig.data[0]
    assert len(bars.y) == 5  # top-k 5: the other tokens have probability 0 and are not drawn
    assert abs(sum(bars.x) - 1.0) < 1e-4


# --- attention -------------------------------------------------------------------------------


def test_attention_grid_has_one_heatmap_per_head(handle):
    fig = attention.grid_figure(handle, "But soft", 1)
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == handle.config.n_head
    assert heatmaps[0].z.shape == (8, 8)
    assert "query" in heatmaps[0].hovertemplate and "key" in heatmaps[0].hovertemplate


def test_attention_rows_are_causal_distributions(handle):
    maps = attention.attention_maps(handle.model, handle.tokenizer.encode("But soft"))
    assert maps.shape == (2, 2, 8, 8)
    assert torch.allclose(maps.sum(-1), torch.ones(2, 2, 8))
    assert torch.all(maps.triu(diagonal=1) == 0)


def test_attention_views(handle):
    assert len(attention.head_figure(handle, "But", 0, 1).data) == 1
    assert len(attention.overview_figure(handle, "But").data) == 4  # 2 layers x 2 heads
    html = attention.tokens_html(handle, "But <b>")
    assert "&lt;" in html and "<b>" not in html and "7 tokens" in html


@pytest.mark.parametrize(
    "text, layer, words",
    [
        ("But", 2, "layer"),
        ("But", -1, "layer"),
        ("But", 0.5, "layer"),
        ("", 0, "empty"),
        ("But €", 0, "never saw"),
    ],
)
def test_bad_attention_arguments_say_what_to_change(handle, text, layer, words):
    with pytest.raises(ValueError, match=words):
        attention.grid_figure(handle, text, layer)


def test_long_text_is_cut_to_the_context(handle):
    fig = attention.grid_figure(handle, "a" * 100, 0)
    assert fig.data[0].z.shape == (64, 64)
    assert "the first 64 of 100" in attention.tokens_html(handle, "a" * 100)


def test_bad_head_is_refused(handle):
    with pytest.raises(ValueError, match="head"):
        attention.head_figure(handle, "But", 0, 5)


# --- caps and settings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, words",
    [
        (dict(max_steps=limits.MAX_STEPS + 1), "max_steps"),
        (dict(time_budget_s=limits.MAX_TRAIN_SECONDS + 1), "time_budget_s"),
        (dict(time_budget_s=0), "time_budget_s"),
        (dict(block_size=limits.MAX_SERVED_BLOCK_SIZE + 1), "block_size"),
        (dict(batch_size=limits.MAX_BATCH_SIZE, block_size=limits.MAX_SERVED_BLOCK_SIZE), "batch_size x block_size"),
        (dict(learning_rate=float("nan")), "learning_rate"),
        (dict(learning_rate=-1e-3), "learning_rate"),
        (dict(learning_rate=0.5), "learning_rate"),
        (dict(tokenizer="words"), "tokenizer"),
        (dict(n_layer=0), "n_layer"),
        (dict(text=""), "empty"),
        (dict(text=None), "empty"),
        (dict(text="  \n " * 100), "only whitespace"),
    ],
)
def test_training_caps_and_bad_settings(overrides, words):
    with pytest.raises(ValueError, match=words):
        settings(**overrides)


def test_text_over_the_cap_is_refused(monkeypatch):
    monkeypatch.setattr(limits, "MAX_TEXT_CHARS", 100)
    with pytest.raises(ValueError, match="limit is 100"):
        settings(text="a" * 101)


def test_model_size_cap(timer):
    with pytest.raises(ValueError, match="parameters; the limit is"):
        training.prepare(settings(n_layer=12, n_head=8, n_embd=512), timer)


def test_shape_errors_from_the_library_pass_through(timer):
    with pytest.raises(ValueError, match="divisible by n_head"):
        training.prepare(settings(n_head=3, n_embd=16), timer)
    with pytest.raises(ValueError, match="block_size"):
        training.prepare(settings(text="abc", block_size=8), timer)


def test_plan_summary_shows_parameters_and_time(timer):
    info = plan.text_info(TEXT)
    shape = dict(n_layer=2, n_head=2, n_embd=64, block_size=32, batch_size=16, max_steps=300, time_budget_s=30.0)
    summary = plan.plan_summary(timer, info, TrainingSettings(tokenizer="char", **shape))
    assert "parameters" in summary and "per step" in summary and "evaluations" in summary  # ui/run_estimate.py
    big = dict(n_layer=6, n_head=6, n_embd=384, block_size=256, batch_size=32, max_steps=5000, time_budget_s=300.0)
    over = plan.plan_summary(timer, plan.TextInfo(10**6, 80, 12_000), TrainingSettings(tokenizer="bpe", **big))
    assert "over the" in over and "char tokenizer" in over
    form = {**{n: getattr(train_form.DEFAULTS, n) for n in FORM_FIELDS}, **shape, "n_head": 3}
    assert "divisible" in plan.form_summary(timer, info, form)


def test_presets_fit_the_caps_with_the_char_tokenizer(timer):
    info = plan.text_info(TEXT)
    for name in PRESETS:
        preset = preset_settings(name)
        config = GPTConfig(
            vocab_size=info.char_vocab,
            block_size=preset.block_size,
            n_layer=preset.n_layer,
            n_head=preset.n_head,
            n_embd=preset.n_embd,
        )
        assert config.num_parameters <= limits.MAX_SERVED_PARAMETERS, name
        assert preset.max_steps <= limits.MAX_STEPS and preset.time_budget_s <= limits.MAX_TRAIN_SECONDS
        assert preset.batch_size * preset.block_size <= limits.MAX_TOKENS_PER_STEP
    assert 0 < timer.seconds(GPTConfig(vocab_size=65, block_size=32, n_layer=2, n_head=2, n_embd=64), 16) < 5


# --- sessions --------------------------------------------------------------------------------


def test_sessions_share_the_default_until_they_get_their_own(registry, handle):
    assert registry.model("a") is handle and registry.model("b") is handle
    own = tiny_handle(seed=1)
    registry.set_model("a", own)
    assert registry.model("a") is own
    assert registry.model("b") is handle  # untouched
    registry.reset("a")
    assert registry.model("a") is handle


def test_ending_a_session_frees_its_model_and_files(registry):
    folder = registry.directory("a")
    (folder / "model.safetensors").write_bytes(b"x")
    registry.set_model("a", tiny_handle(seed=1))
    registry.end("a")
    assert "a" not in registry and not folder.exists()
    assert registry.model("a") is registry.default


def test_sessions_expire_and_are_capped(handle, tmp_path):
    now = [0.0]
    registry = SessionRegistry(default=handle, workdir=tmp_path, ttl_s=100, max_models=2, clock=lambda: now[0])
    for i, sid in enumerate("abc"):
        now[0] = i
        registry.set_model(sid, tiny_handle(seed=1))
    assert registry.sessions_with_models() == 2 and "a" not in registry  # least recently used freed
    now[0] = 500
    registry.sweep()
    assert registry.sessions_with_models() == 0


def test_session_id_is_safe_for_paths():
    assert session_id(SimpleNamespace(session_hash="../../etc")) == "______etc"
    assert session_id(None) == "local"


# --- training and its queue ------------------------------------------------------------------


def test_training_hands_the_model_to_that_session_only(registry, timer, handle):
    updates = list(training.train(registry, training_queue.TrainingQueue(slots=1), timer, "a", settings()))
    final = updates[-1]
    assert final.finished and final.handle is registry.model("a")
    assert "Done at step 20" in final.status
    assert registry.model("b") is handle
    assert final.handle.path.is_file() and gpt.load(final.handle.path)[0].config.n_layer == 1
    out = generation.generate_text(final.handle, sampling("ab", max_new_tokens=10, temperature=0))
    assert out == "ab" * 6  # it learned the pattern
    assert any(u.samples for u in updates) and any(u.attention is not None for u in updates)


def test_second_training_from_the_same_session_is_refused(registry, timer):
    queue = training_queue.TrainingQueue(slots=1)
    first = training.train(registry, queue, timer, "a", settings(max_steps=200))
    next(first)  # registered and running
    with pytest.raises(ValueError, match="already have a training"):
        next(training.train(registry, queue, timer, "a", settings()))
    first.close()
    assert registry.job("a") is None and len(queue) == 0  # closing the generator released everything


def test_a_page_that_goes_away_mid_run_ends_the_training_thread(registry, timer):
    import threading

    queue = training_queue.TrainingQueue(slots=1)
    run = training.train(registry, queue, timer, "a", settings(max_steps=5000, time_budget_s=120))
    next(run)  # starting
    next(run)  # the steps are running in their own thread
    assert any(t.name == "mirador-training" for t in threading.enumerate())
    run.close()  # what Gradio does when the page is closed
    assert not any(t.name == "mirador-training" for t in threading.enumerate())
    assert registry.model("a") is registry.default and len(queue) == 0


def test_others_wait_their_turn_and_can_leave_the_queue(registry, timer):
    queue = training_queue.TrainingQueue(slots=1)
    running = training.train(registry, queue, timer, "a", settings(max_steps=200))
    next(running)
    waiting = training.train(registry, queue, timer, "b", settings())
    assert "1 training is ahead of yours" in next(waiting).status
    assert "Cancelled" in training.stop_training(registry, queue, "b")
    rest = list(waiting)
    assert "Cancelled before it started" in rest[-1].status
    assert registry.model("b") is registry.default
    running.close()


def test_stop_keeps_a_usable_model(registry, timer):
    queue = training_queue.TrainingQueue(slots=1)
    run = training.train(registry, queue, timer, "a", settings(max_steps=5000, time_budget_s=60))
    next(run), next(run)  # "training…", then at least one step
    assert "Stopping" in training.stop_training(registry, queue, "a")
    final = list(run)[-1]
    assert "Stopped at step" in final.status and final.handle is registry.model("a")
    assert generation.generate_text(final.handle, sampling("ab", max_new_tokens=3)).startswith("ab")
    assert "Nothing to stop" in training.stop_training(registry, queue, "a")


def test_queue_refuses_when_full():
    queue = training_queue.TrainingQueue(slots=1, max_waiting=1)
    queue.join(training_queue.TrainingJob("a"))
    queue.join(training_queue.TrainingJob("b"))
    with pytest.raises(ValueError, match="already waiting"):
        queue.join(training_queue.TrainingJob("c"))


def test_a_stale_holder_loses_its_place():
    queue = training_queue.TrainingQueue(slots=1, stale_after_s=0.0)
    holder, waiter = training_queue.TrainingJob("a"), training_queue.TrainingJob("b")
    queue.join(holder), queue.join(waiter)
    holder.last_beat -= 1
    assert list(queue.wait_turn(waiter)) == []  # its turn at once
    assert holder.abandoned and holder.cancelled


# --- uploads ---------------------------------------------------------------------------------


@pytest.fixture
def checkpoint(tmp_path, handle) -> Path:
    return gpt.save(tmp_path / "tiny.safetensors", handle.model, handle.tokenizer, {"steps": 3})


def test_valid_upload_loads(checkpoint):
    loaded = checkpoints.load_upload(checkpoint)
    assert loaded.origin == "uploaded" and not loaded.model.training
    assert "tiny.safetensors" in checkpoints.model_card(loaded)


# Hostile uploads (other formats, random bytes, pickles, contexts over the cap...): one table in
# tests/test_hostile_files.py, tried against the loader, this upload logic and the served app.


def test_upload_size_is_capped(checkpoint, monkeypatch):
    monkeypatch.setattr(limits, "MAX_UPLOAD_BYTES", 100)
    with pytest.raises(ValueError, match="upload limit"):
        checkpoints.load_upload(checkpoint)


def test_upload_over_the_parameter_cap_is_refused_before_it_is_built(checkpoint, monkeypatch):
    monkeypatch.setattr(limits, "MAX_SERVED_PARAMETERS", 100)
    monkeypatch.setattr(gpt, "load", lambda *a, **k: pytest.fail("loaded a model over the cap"))
    with pytest.raises(ValueError, match="serves at most 100"):
        checkpoints.load_upload(checkpoint)


def test_text_upload(tmp_path):
    good = tmp_path / "a.txt"
    good.write_text("hello", encoding="utf-8")
    assert checkpoints.read_text_upload(good) == "hello"
    bad = tmp_path / "b.txt"
    bad.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ValueError, match="not UTF-8"):
        checkpoints.read_text_upload(bad)


def test_missing_bundled_model_gives_an_untrained_one(tmp_path):
    fallback = checkpoints.load_bundled(tmp_path / "nope.safetensors", TEXT)
    assert fallback.origin == "untrained" and "not found" in checkpoints.model_card(fallback)


# --- plumbing --------------------------------------------------------------------------------


def test_user_errors_become_gr_error_for_functions_and_generators():
    @user_errors
    def plain(x):
        raise ValueError(f"change {x}")

    @user_errors
    def stream(x):
        yield 1
        raise ValueError(f"change {x}")

    with pytest.raises(gr.Error, match="change y"):
        plain("y")
    with pytest.raises(gr.Error, match="change z"):
        list(stream("z"))

    @user_errors
    def bug():
        raise KeyError("a bug stays a bug")

    with pytest.raises(KeyError):
        bug()


def test_thread_policy_training_takes_every_core_until_a_request_runs():
    policy = RunPolicy(cores=2, train_alone=2, train_busy=1)
    before = torch.get_num_threads()
    try:
        policy.for_training()
        assert torch.get_num_threads() == 2 and not policy.requests_running()
        with policy.inference():
            assert torch.get_num_threads() == policy.infer_threads
            assert policy.requests_running() and policy.training_threads() == 1
        # Just after a request (a streamed generation between two tokens) training still shares.
        assert policy.training_threads() == 1
        policy.request_tail_s = 0.0
        assert policy.training_threads() == 2
    finally:
        torch.set_num_threads(before)


def quiet_trims(scenario: str) -> dict:
    """Run a scenario of requests and trim asks in a fresh process and return what it measured.

    A fresh process, so no other test's leftovers (a streamed generation's generator closed by
    the garbage collector, an app's session ending) ask for a trim meanwhile. In the scenario:
    policy (a RunPolicy whose quiet trim waits 0.1 s, with no request tail), trimmed (times of its trims)."""
    setup = (
        "import json, time\n"
        "from ui.threads import RunPolicy\n"
        "policy, trimmed = RunPolicy(cores=2, train_alone=2, train_busy=1, request_tail_s=0.0), []\n"
        "policy.memory.after_s, policy.memory.release = 0.1, lambda: trimmed.append(time.monotonic())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", setup + textwrap.dedent(scenario)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_memory_is_given_back_once_the_app_is_quiet_never_during_a_request():
    seen = quiet_trims("""
        with policy.inference():
            policy.memory.trim_when_quiet()  # a session ended while a request runs
            time.sleep(0.5)
            during = list(trimmed)
        ended = policy.last_request_end()  # the request's end asks for a trim too
        time.sleep(0.6)
        print(json.dumps(dict(during=during, after=[t - ended for t in trimmed])))
    """)
    assert seen["during"] == []
    assert len(seen["after"]) == 1 and seen["after"][0] >= 0.1  # once, after the quiet time


def test_the_quiet_time_counts_from_the_last_request_end_not_from_the_last_ask():
    # A trim asked for during a request falls due just after it ended, before the request's own
    # ask arrives (a race CI once hit): it must wait out the quiet time from that end.
    seen = quiet_trims("""
        with policy.beside_training("request"):
            policy.memory.trim_when_quiet()
            time.sleep(0.08)
        ended = policy.last_request_end()
        time.sleep(0.6)
        print(json.dumps(dict(after=[t - ended for t in trimmed])))
    """)
    assert len(seen["after"]) == 1 and seen["after"][0] >= 0.1


def test_a_request_that_fails_still_ends():
    policy = RunPolicy(cores=2, train_alone=2, train_busy=1, request_tail_s=0.0)
    with pytest.raises(RuntimeError):
        with policy.inference():
            raise RuntimeError("boom")
    assert not policy.requests_running()


def test_a_run_drawn_by_a_browser_on_this_machine_leaves_it_a_core():
    policy = RunPolicy(cores=2, train_alone=2, train_busy=1)
    assert not policy.requests_running()
    assert policy.training_threads() == 2 and policy.training_threads(beside_browser=True) == 1
    assert policy.for_a_new_training() == 2 and policy.for_a_new_training(beside_browser=True) == 1
    # What the estimate is timed with follows the same rule.
    timer = StepTimer("cpu", policy)
    assert timer.threads() == 2 and timer.threads(beside_browser=True) == 1


def test_a_request_from_this_machine_is_told_apart_from_a_remote_one():
    def request(host):
        return SimpleNamespace(client=SimpleNamespace(host=host))

    assert on_this_machine(request("127.0.0.1")) and on_this_machine(request("::1"))
    assert not on_this_machine(request("203.0.113.7"))
    assert not on_this_machine(None) and not on_this_machine(SimpleNamespace(client=None))


def test_fixed_training_threads_do_not_adapt():
    policy = RunPolicy.from_environment({"MIRADOR_TRAIN_THREADS": "1"}, cores=2, cuda=False)
    assert policy.fixed and policy.train_alone == policy.train_busy == 1
    with policy.inference():
        assert policy.training_threads() == 1
    assert "1 thread(s)" in policy.describe()


def test_default_policy_leaves_a_core_for_requests():
    policy = threads.policy()  # the process's, from the environment
    fixed = __import__("os").environ.get("MIRADOR_TRAIN_THREADS")
    if fixed:  # the variable pins the training's count, alone or not
        assert policy.train_alone == policy.train_busy == max(1, int(fixed))
    else:
        assert policy.train_alone == cpu_cores()
        assert policy.train_busy == max(1, cpu_cores() - 1)




def test_the_warm_up_chosen_on_the_form_is_the_one_that_trains(timer):
    """warmup_steps is on the form (one field in gpt/settings.py): the API's default is the fast
    preset's, the value sent reaches the trainer, and the app's range is the form's."""
    assert train_form.DEFAULTS.warmup_steps == PRESETS["fast"]["warmup_steps"]
    prepared = training.prepare(settings(warmup_steps=7), timer)
    assert prepared.train_config.warmup_steps == 7
    assert prepared.train_config.lr_at(0) == pytest.approx(prepared.train_config.learning_rate / 7)
    low, high = train_form.app_range("warmup_steps")
    with pytest.raises(ValueError, match=f"warmup_steps must be between {low} and {high}"):
        settings(warmup_steps=high + 1)
