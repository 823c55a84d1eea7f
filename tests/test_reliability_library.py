"""Bad input, straight into the library (gpt/) and the app's logic (ui/), no server.

Each case must raise ValueError (or FileNotFoundError / TrainingDiverged) with a message
that says what to change, and leave the model it was given exactly as it was. Property
tests (hypothesis) throw arbitrary values at the argument checkers: the only exception
that may come out is ValueError.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gpt
from gpt import GPT, GPTConfig, TrainConfig, Trainer, TrainingDiverged, make_tokenizer
from gpt.generation import check_prompt
from gpt.sampling import check_sampling, sample_next
from gpt.settings import FORM_FIELDS
from ui import attention, checkpoints, generation, limits, plan, train_form, training, training_queue
from ui.sessions import ModelHandle

TEXT = "ROMEO:\nBut soft, what light through yonder window breaks?\n" * 8


pytestmark = pytest.mark.usefixtures("one_thread")  # the shared fixture in conftest.py


@pytest.fixture(scope="module")
def handle() -> ModelHandle:
    tokenizer = make_tokenizer("char", TEXT)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=2, n_head=2, n_embd=16))
    return ModelHandle.serving(model, tokenizer, {}, "bundled", "tiny")


@pytest.fixture(scope="module")
def timer() -> plan.StepTimer:
    return plan.StepTimer("cpu")


def weights(model) -> dict:
    return {k: v.clone() for k, v in model.state_dict().items()}


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def sampling_args(**overrides) -> dict:
    values = dict(prompt="ROMEO:", max_new_tokens=8, temperature=0.8, top_k=0, top_p=1.0, seed=1)
    values.update(overrides)
    return values


def train_args(**overrides) -> dict:
    values = dict(text="ab" * 300, tokenizer="char", n_layer=1, n_head=1, n_embd=16, block_size=8, max_steps=20,
                  batch_size=8, learning_rate=1e-2, dropout=0.0, time_budget_s=30, warmup_steps=2, watch_layer=0)
    values.update(overrides)
    return values


def sparse_file(path: Path, size: int) -> Path:
    """A file of `size` bytes that takes no disk space: size checks see it, nothing is written."""
    with open(path, "wb") as f:
        f.truncate(size)
    return path


# (what, call(handle, tmp_path, timer), expected exception, fragment of the message)
CATALOGUE = [
    # --- the model's shape (gpt.GPTConfig): refused before a tensor is allocated
    ("n_embd not divisible by n_head", lambda h, t, tm: GPTConfig(n_embd=16, n_head=3), ValueError, "must be divisible by n_head (3) so every head gets the same width: try n_embd=15"),
    ("no layers", lambda h, t, tm: GPTConfig(n_layer=0), ValueError, "n_layer must be at least 1"),
    ("too many layers", lambda h, t, tm: GPTConfig(n_layer=25), ValueError, "n_layer must be at most 24, got 25: choose a smaller n_layer"),
    ("empty context", lambda h, t, tm: GPTConfig(block_size=0), ValueError, "block_size must be at least 1"),
    ("context over the library's cap", lambda h, t, tm: GPTConfig(block_size=4096), ValueError, "block_size must be at most 2048"),
    ("fractional width", lambda h, t, tm: GPTConfig(n_embd=16.5), ValueError, "n_embd must be a whole number"),
    ("dropout of 1", lambda h, t, tm: GPTConfig(dropout=1.0), ValueError, "dropout must be in [0, 1)"),
    ("dropout NaN", lambda h, t, tm: GPTConfig(dropout=float("nan")), ValueError, "dropout must be in [0, 1)"),
    ("a shape over 200M parameters", lambda h, t, tm: GPTConfig(vocab_size=65_536, n_layer=24, n_head=16, n_embd=1536), ValueError, "over the limit of 200,000,000: lower n_layer, n_embd or vocab_size"),
    ("unknown config field", lambda h, t, tm: GPTConfig.from_dict({"n_layer": 2, "n_inner": 4}), ValueError, "Unknown model config fields: ['n_inner']"),
    # --- tokenizers
    ("empty training text", lambda h, t, tm: make_tokenizer("char", ""), ValueError, "The training text is empty: paste or upload some text first"),
    ("unknown tokenizer", lambda h, t, tm: make_tokenizer("words", "abc"), ValueError, "Tokenizer must be 'char' or 'bpe', got 'words'"),
    ("characters the tokenizer never saw", lambda h, t, tm: h.tokenizer.encode("ROMEO €"), ValueError, "never saw the character(s) '€' in its training text: remove them"),
    ("ids outside the vocabulary", lambda h, t, tm: h.tokenizer.decode([999]), ValueError, "Token ids must be between 0 and"),
    # --- the model and generation
    ("a sequence longer than the context", lambda h, t, tm: h.model(torch.zeros(1, 17, dtype=torch.long)), ValueError, "Sequence of 17 tokens is longer than the context of 16: crop it"),
    ("an empty prompt tensor", lambda h, t, tm: check_prompt(torch.zeros(1, 0, dtype=torch.long), 10, 5), ValueError, "The prompt is empty: give at least one token"),
    ("a token id outside the vocabulary", lambda h, t, tm: check_prompt(torch.tensor([[3, 99]]), 10, 5), ValueError, "Token id 99 is outside the vocabulary (0 to 9)"),
    ("negative max_new_tokens", lambda h, t, tm: check_prompt(torch.tensor([[1]]), 10, -1), ValueError, "max_new_tokens must be a whole number >= 0"),
    ("temperature negative", lambda h, t, tm: check_sampling(-0.5, None, None), ValueError, "temperature must be a finite number >= 0 (0 means greedy)"),
    ("temperature NaN", lambda h, t, tm: check_sampling(float("nan"), None, None), ValueError, "temperature must be a finite number >= 0"),
    ("temperature infinite", lambda h, t, tm: check_sampling(float("inf"), None, None), ValueError, "temperature must be a finite number >= 0"),
    ("temperature as text", lambda h, t, tm: check_sampling("hot", None, None), ValueError, "temperature must be a number"),
    ("top_k 0 in the library", lambda h, t, tm: check_sampling(1.0, 0, None), ValueError, "top_k must be at least 1 (or None for no limit)"),
    ("top_k negative", lambda h, t, tm: check_sampling(1.0, -3, None), ValueError, "top_k must be at least 1"),
    ("top_k fractional", lambda h, t, tm: check_sampling(1.0, 2.5, None), ValueError, "top_k must be a whole number or None"),
    ("top_p 0", lambda h, t, tm: check_sampling(1.0, None, 0.0), ValueError, "top_p must be in (0, 1] (1 keeps every token)"),
    ("top_p above 1", lambda h, t, tm: check_sampling(1.0, None, 1.01), ValueError, "top_p must be in (0, 1]"),
    ("top_p NaN", lambda h, t, tm: check_sampling(1.0, None, float("nan")), ValueError, "top_p must be in (0, 1]"),
    ("generate with a negative temperature", lambda h, t, tm: h.model.generate(torch.tensor([[1]]), 3, temperature=-1), ValueError, "temperature must be a finite number >= 0"),
    # --- the app's checks on what a browser or API client sends (ui/)
    ("empty prompt", lambda h, t, tm: generation.parse_sampling(**sampling_args(prompt="")), ValueError, "The prompt is empty: type a few characters"),
    ("prompt over the cap", lambda h, t, tm: generation.parse_sampling(**sampling_args(prompt="a" * (limits.MAX_PROMPT_CHARS + 1))), ValueError, "the limit is 20,000. Use a shorter prompt"),
    ("UI temperature above 5", lambda h, t, tm: generation.parse_sampling(**sampling_args(temperature=5.01)), ValueError, "temperature must be in [0, 5]"),
    ("UI top_k negative", lambda h, t, tm: generation.parse_sampling(**sampling_args(top_k=-1)), ValueError, "Use 0 to turn top-k off"),
    ("UI top_p 0", lambda h, t, tm: generation.parse_sampling(**sampling_args(top_p=0)), ValueError, "Use 1.0 to turn top-p off"),
    ("UI seed as a bool", lambda h, t, tm: generation.parse_sampling(**sampling_args(seed=True)), ValueError, "seed must be a whole number"),
    ("unseen characters in a prompt", lambda h, t, tm: generation.generate_text(h, generation.parse_sampling(**sampling_args(prompt="€uro"))), ValueError, "never saw the character(s) '€'"),
    ("a layer that does not exist", lambda h, t, tm: attention.grid_figure(h, "But", 2), ValueError, "layer must be between 0 and 1, got 2. This model has 2 layer(s), numbered 0 to 1"),
    ("a head that does not exist", lambda h, t, tm: attention.head_figure(h, "But", 0, 2), ValueError, "head must be between 0 and 1, got 2. This model has 2 head(s) per layer"),
    ("a negative head", lambda h, t, tm: attention.head_figure(h, "But", 0, -1), ValueError, "head must be between 0 and 1, got -1"),
    ("empty attention text", lambda h, t, tm: attention.overview_figure(h, ""), ValueError, "The text is empty: type a sentence to look at"),
    ("training text of one character", lambda h, t, tm: training.prepare(train_form.parse_request(**train_args(text="a")), tm), ValueError, "at least block_size + 1 = 9 tokens"),
    ("training text shorter than a block", lambda h, t, tm: training.prepare(train_form.parse_request(**train_args(text="abcdefgh")), tm), ValueError, "Give more text or choose a smaller block_size"),
    ("training text over the cap", lambda h, t, tm: train_form.parse_request(**train_args(text="a" * (limits.MAX_TEXT_CHARS + 1))), ValueError, "the limit is 5,000,000"),
    ("a model over the parameter cap", lambda h, t, tm: training.prepare(train_form.parse_request(**train_args(n_layer=12, n_head=12, n_embd=768)), tm), ValueError, "the limit is 12,000,000. Lower n_layer or n_embd"),
    ("tokens per step over the cap", lambda h, t, tm: train_form.parse_request(**train_args(batch_size=128, block_size=256)), ValueError, "Lower batch_size or block_size"),
    ("learning rate above the cap", lambda h, t, tm: train_form.parse_request(**train_args(learning_rate=0.05)), ValueError, "Typical values are 1e-4 to 5e-3, the larger for smaller models; much larger ones make the loss blow up"),
    ("learning rate 0 in the library", lambda h, t, tm: TrainConfig(learning_rate=0), ValueError, "learning_rate must be > 0"),
    ("learning rate NaN in the library", lambda h, t, tm: TrainConfig(learning_rate=float("nan")), ValueError, "learning_rate must be a finite number"),
    ("min_lr above the peak", lambda h, t, tm: TrainConfig(learning_rate=1e-3, min_lr=1e-2), ValueError, "must not exceed learning_rate"),
    ("zero steps", lambda h, t, tm: TrainConfig(max_steps=0), ValueError, "max_steps must be a whole number >= 1"),
    ("Trainer on text shorter than a block", lambda h, t, tm: Trainer(h.model, torch.zeros(10, dtype=torch.long), None, TrainConfig()), ValueError, "it must be at least block_size + 1 = 17 tokens. Give more text or a smaller block_size"),
    # --- files
    ("no checkpoint file", lambda h, t, tm: gpt.load(t / "missing.safetensors"), FileNotFoundError, "No checkpoint at"),
    ("upload of nothing", lambda h, t, tm: checkpoints.load_upload(None), ValueError, "No file received: choose a .safetensors checkpoint"),
    ("upload of a .pt file", lambda h, t, tm: checkpoints.load_upload(sparse_file(t / "model.pt", 10)), ValueError, "is not a .safetensors file"),
    ("upload over 64 MB (50 MB cap check on a 70 MB sparse file)", lambda h, t, tm: checkpoints.load_upload(sparse_file(t / "big.safetensors", 70 * 2**20)), ValueError, "the upload limit is 64 MB. Upload a smaller model"),
    ("50 MB text upload", lambda h, t, tm: checkpoints.read_text_upload(sparse_file(t / "big.txt", 50 * 2**20)), ValueError, "text uploads are limited to 6 MB. Use a shorter text"),
    ("text upload that is not UTF-8", lambda h, t, tm: checkpoints.read_text_upload(_write(t / "latin1.txt", "café naïve".encode("latin-1"))), ValueError, "is not UTF-8 text: save it as UTF-8"),
    ("binary text upload", lambda h, t, tm: checkpoints.read_text_upload(_write(t / "image.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)))), ValueError, "is not UTF-8 text"),
    ("empty text upload", lambda h, t, tm: checkpoints.read_text_upload(_write(t / "empty.txt", b"")), ValueError, "is empty: upload a file with some text in it"),
    ("text upload with another extension", lambda h, t, tm: checkpoints.read_text_upload(_write(t / "notes.pdf", b"%PDF-1.4")), ValueError, "is not a text file: upload a .txt file"),
]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("what, call, error, fragment", CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_library_and_logic_refuse_bad_input_clearly(handle, tmp_path, timer, what, call, error, fragment):
    before = weights(handle.model)
    with pytest.raises(error) as info:
        call(handle, tmp_path, timer)
    assert fragment in str(info.value)
    assert same_weights(before, weights(handle.model)), "a refused call changed the model"
    assert not handle.model.training  # still serving in eval mode


def test_bounds_that_are_accepted_mean_what_they_say(handle):
    logits = torch.tensor([[0.1, 2.0, 0.5, -1.0]])
    assert sample_next(logits, temperature=0).item() == 1  # greedy
    gen = torch.Generator().manual_seed(0)
    assert sample_next(logits, temperature=1.0, top_k=100, generator=gen).shape == (1, 1)  # k above the vocabulary: no filter
    assert sample_next(logits, temperature=1e-30, generator=gen).item() == 1  # a tiny temperature acts greedy, no NaN
    assert sample_next(logits, temperature=1.0, top_p=1e-12, generator=gen).item() == 1
    # A prompt longer than the context is cropped to the last block_size tokens, not refused.
    settings = generation.parse_sampling(**sampling_args(prompt=TEXT[:200], max_new_tokens=5))
    assert generation.generate_text(handle, settings).startswith(TEXT[:200])


def test_a_diverging_learning_rate_stops_with_a_message_and_keeps_the_last_finite_weights():
    tokenizer = make_tokenizer("char", TEXT)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16))
    ids = torch.tensor(tokenizer.encode(TEXT))
    trainer = Trainer(model, ids, None, TrainConfig(max_steps=200, batch_size=4, learning_rate=1e30, min_lr=0.0, warmup_steps=0, eval_interval=1000, device="cpu", precision="fp32"))
    steps = []
    with pytest.raises(TrainingDiverged) as info:
        for event in trainer.run():
            steps.append(event.step)
    message = str(info.value)
    assert "Training diverged at step" in message and "Lower the learning rate (now 1e+30; try 1e+29)" in message
    assert all(torch.isfinite(p).all() for p in model.parameters()), "the model kept non-finite weights"
    x = torch.tensor([ids[:16].tolist()])
    _, loss = model(x, x)
    assert math.isfinite(loss.item()), "the kept weights do not give a finite loss"
    assert len(steps) < 200


def test_a_learning_rate_that_would_blow_the_loss_up_is_refused_and_the_cap_is_safe(timer):
    """lr=1.0 (the old cap) took a 2x4x128 char model from a loss of 4.2 to ~365 in 40 steps with every
    loss finite, so no divergence check fired. Now it is refused, and the cap itself trains sanely."""
    text = (Path(__file__).resolve().parent.parent / "assets" / "shakespeare.txt").read_text(encoding="utf-8")[:20_000]
    shape = dict(text=text, n_layer=2, n_head=4, n_embd=128, block_size=32, max_steps=20, batch_size=8, time_budget_s=60)
    with pytest.raises(ValueError) as info:
        train_form.parse_request(**train_args(learning_rate=1.0, **shape))
    assert f"learning_rate must be in (0, {limits.MAX_LEARNING_RATE:g}]" in str(info.value) and "blow up" in str(info.value)
    prepared = training.prepare(train_form.parse_request(**train_args(learning_rate=limits.MAX_LEARNING_RATE, **shape)), timer)
    updates = list(training.run_on_device(training_queue.TrainingJob("x"), prepared))
    final = updates[-1].event
    start = math.log(prepared.config.vocab_size)  # the loss of an untrained model
    assert final.eval_train_loss < start, f"at the cap the loss went from about {start:.2f} to {final.eval_train_loss:.2f}"


def test_text_around_one_block_either_trains_or_says_why(timer):
    """Lengths around block_size + 1, where the train/validation split could leave too few tokens."""
    for n in range(7, 14):
        settings_ = train_form.parse_request(**train_args(text=("abc" * 10)[:n], max_steps=2))
        try:
            prepared = training.prepare(settings_, timer)
            Trainer(GPT(prepared.config), prepared.train_ids, prepared.val_ids, prepared.train_config)
        except ValueError as exc:
            assert "block_size" in str(exc), str(exc)


# --- property tests: anything at all goes in, only ValueError comes out ------------------------

ANY = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.lists(st.integers(), max_size=2), st.sampled_from(["1e3", " 2 ", "nan", "-inf", "0x10", "1_000"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prompt=ANY, max_new_tokens=ANY, temperature=ANY, top_k=ANY, top_p=ANY, seed=ANY)
def test_sampling_settings_accept_or_explain_anything(prompt, max_new_tokens, temperature, top_k, top_p, seed):
    try:
        s = generation.parse_sampling(prompt, max_new_tokens, temperature, top_k, top_p, seed)
    except ValueError as exc:
        assert str(exc).strip()
        return
    assert isinstance(s.prompt, str) and s.prompt
    assert 0 <= s.max_new_tokens <= limits.MAX_NEW_TOKENS
    assert math.isfinite(s.temperature) and 0 <= s.temperature <= 5
    assert s.top_k is None or s.top_k >= 1
    assert s.top_p is None or 0 < s.top_p < 1
    check_sampling(s.temperature, s.top_k, s.top_p)  # what the UI accepts, the library accepts


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.fixed_dictionaries({k: ANY for k in (*FORM_FIELDS, "watch_layer")}))
def test_training_settings_accept_or_explain_anything(values):
    try:
        s = train_form.parse_request(text="ab" * 50, **values).settings
    except ValueError as exc:
        assert str(exc).strip()
        return
    assert s.batch_size * s.block_size <= limits.MAX_TOKENS_PER_STEP
    assert 0 < s.learning_rate <= limits.MAX_LEARNING_RATE and 0 < s.time_budget_s <= limits.MAX_TRAIN_SECONDS


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=0, max_size=60), layer=ANY, head=ANY)
def test_attention_accepts_or_explains_any_text_and_indices(handle, text, layer, head):
    try:
        attention.head_figure(handle, text, layer, head)
    except ValueError as exc:
        assert str(exc).strip()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=0, max_size=40), block_size=st.integers(2, 24))
def test_any_short_text_trains_or_says_why(timer, text, block_size):
    try:
        settings_ = train_form.parse_request(**train_args(text=text, block_size=block_size, max_steps=1))
        prepared = training.prepare(settings_, timer)
        Trainer(GPT(prepared.config), prepared.train_ids, prepared.val_ids, prepared.train_config)
    except ValueError as exc:
        assert str(exc).strip()


def test_no_module_unpickles_or_loads_pickles():
    """Grep-style, on the syntax tree: no module of the library or the app imports pickle (or
    a pickle-based loader) or calls torch.load, pickle.load(s), numpy.load(allow_pickle=True) or
    one of torch.distributed's collectives of Python objects."""
    import ast

    root = Path(__file__).resolve().parent.parent
    files = [root / "app.py", *sorted((root / "gpt").rglob("*.py")), *sorted((root / "viz").rglob("*.py")), *sorted((root / "ui").rglob("*.py"))]
    assert len(files) > 20
    banned_modules = {"pickle", "_pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve", "marshal", "pickletools", "copyreg"}
    banned_calls = {("torch", "load"), ("pickle", "load"), ("pickle", "loads"), ("pickle", "Unpickler"), ("torch.serialization", "load"), ("joblib", "load")}
    # torch.distributed's *_object collectives pickle what they send (and unpickle what they receive).
    pickling_collectives = {"all_gather_object", "gather_object", "broadcast_object_list", "scatter_object_list",
                            "send_object_list", "recv_object_list"}
    found = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [f"{path.name}: import {a.name}" for a in node.names if a.name.split(".")[0] in banned_modules]
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in banned_modules:
                found.append(f"{path.name}: from {node.module} import ...")
            elif isinstance(node, ast.ImportFrom) and node.module == "torch" and any(a.name == "load" for a in node.names):
                found.append(f"{path.name}: from torch import load")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = ast.unparse(node.func.value)
                if (owner, node.func.attr) in banned_calls or node.func.attr in pickling_collectives:
                    found.append(f"{path.name}:{node.lineno}: {owner}.{node.func.attr}(...)")
                pickles = [k for k in node.keywords if k.arg == "allow_pickle" and not (isinstance(k.value, ast.Constant) and k.value.value is False)]
                if node.func.attr == "load" and owner in ("np", "numpy") and pickles:
                    found.append(f"{path.name}:{node.lineno}: {owner}.load(allow_pickle=...)")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("eval", "exec", "__import__"):
                found.append(f"{path.name}:{node.lineno}: {node.func.id}(...)")
    assert not found, found
