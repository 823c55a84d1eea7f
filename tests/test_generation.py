"""Generation: the KV-cached path equals a plain recompute of the cropped window, sampling
is reproducible with a seeded generator, arguments are checked on the call."""

import pytest
import torch

from gpt import GPT
from gpt.generation import generate as lib_generate
from gpt.generation import stream as lib_stream

pytestmark = pytest.mark.usefixtures("one_thread")


@torch.no_grad()
def reference_greedy(model: GPT, idx: torch.Tensor, max_new_tokens: int) -> torch.Tensor:
    """The plain loop: crop to the last block_size tokens, take the argmax of the last logits."""
    for _ in range(max_new_tokens):
        cond = idx[:, -model.config.block_size :]
        nxt = model(cond)[0][:, -1].argmax(dim=-1, keepdim=True)
        idx = torch.cat([idx, nxt], dim=1)
    return idx


def prompt(vocab, B, T, seed=0):
    return torch.randint(vocab, (B, T), generator=torch.Generator().manual_seed(seed))


def gen(seed):
    return torch.Generator().manual_seed(seed)


# (batch, prompt length, new tokens) with block_size 8: inside the window, filling it exactly,
# continuing past it, and prompts already longer than the window.
CASES = [(1, 1, 5), (1, 3, 4), (2, 3, 5), (1, 8, 4), (3, 2, 14), (2, 5, 20), (1, 12, 6), (2, 20, 9), (1, 7, 1)]


@pytest.mark.parametrize("B,T,n", CASES)
def test_cached_greedy_equals_recompute_and_reference(sharp, config, B, T, n):
    idx = prompt(config.vocab_size, B, T, seed=B * 100 + T)
    cached = sharp.generate(idx, n, temperature=0)
    uncached = lib_generate(sharp, idx, n, temperature=0, use_cache=False)
    reference = reference_greedy(sharp, idx, n)
    assert cached.shape == (B, T + n)
    assert torch.equal(cached[:, :T], idx)
    assert torch.equal(uncached, reference)
    assert torch.equal(cached, reference)


def test_greedy_paths_are_not_trivial(sharp, config):
    # The comparisons above mean something only if the model's greedy choice varies.
    out = reference_greedy(sharp, prompt(config.vocab_size, 3, 2, seed=1), 14)
    assert len(set(out[:, 2:].flatten().tolist())) > 2


@pytest.mark.parametrize("B,T,n", [(1, 3, 4), (2, 3, 12), (2, 10, 6)])
@pytest.mark.parametrize(
    "kwargs",
    [dict(temperature=1.0), dict(temperature=0.7, top_k=5), dict(temperature=1.3, top_p=0.9), dict(top_k=4, top_p=0.8)],
)
def test_cached_sampling_equals_uncached_with_the_same_seed(sharp, config, B, T, n, kwargs):
    idx = prompt(config.vocab_size, B, T, seed=T)
    cached = sharp.generate(idx, n, generator=gen(5), **kwargs)
    uncached = lib_generate(sharp, idx, n, generator=gen(5), use_cache=False, **kwargs)
    assert torch.equal(cached, uncached)


def test_same_seed_same_sample_different_seed_different(sharp, config):
    idx = prompt(config.vocab_size, 2, 3)
    a = sharp.generate(idx, 30, generator=gen(1))
    b = sharp.generate(idx, 30, generator=gen(1))
    c = sharp.generate(idx, 30, generator=gen(2))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_sampling_actually_samples(sharp, config):
    idx = prompt(config.vocab_size, 1, 3)
    greedy = sharp.generate(idx, 30, temperature=0)
    samples = {tuple(sharp.generate(idx, 30, temperature=1.5, generator=gen(s))[0].tolist()) for s in range(4)}
    assert len(samples) > 1
    assert tuple(greedy[0].tolist()) not in samples or len(samples) > 1


@pytest.mark.parametrize("B,T,n", [(1, 2, 10), (2, 9, 5)])
def test_top_k_1_equals_greedy(sharp, config, B, T, n):
    idx = prompt(config.vocab_size, B, T, seed=3)
    assert torch.equal(sharp.generate(idx, n, top_k=1, generator=gen(0)), reference_greedy(sharp, idx, n))
    assert torch.equal(sharp.generate(idx, n, temperature=3.0, top_k=1, generator=gen(9)), reference_greedy(sharp, idx, n))


def test_tiny_top_p_equals_greedy(sharp, config):
    idx = prompt(config.vocab_size, 2, 4, seed=3)
    assert torch.equal(sharp.generate(idx, 10, top_p=1e-6, generator=gen(0)), reference_greedy(sharp, idx, 10))


@torch.no_grad()
def test_top_k_tokens_are_among_the_k_most_likely(sharp, config):
    idx = prompt(config.vocab_size, 1, 4, seed=8)
    logits = sharp(idx)[0][0, -1]
    allowed = set(torch.topk(logits, 3).indices.tolist())
    seen = set()
    for s in range(60):
        token = sharp.generate(idx, 1, temperature=2.0, top_k=3, generator=gen(s))[0, -1].item()
        assert token in allowed
        seen.add(token)
    assert len(seen) >= 2


def test_stream_yields_b_by_1_tokens_equal_to_generate(sharp, config):
    idx = prompt(config.vocab_size, 2, 3)
    tokens = list(sharp.generate_stream(idx, 12, temperature=0.9, top_k=6, generator=gen(4)))
    assert len(tokens) == 12
    assert all(t.shape == (2, 1) and t.dtype == torch.long for t in tokens)
    full = sharp.generate(idx, 12, temperature=0.9, top_k=6, generator=gen(4))
    assert torch.equal(torch.cat([idx, *tokens], dim=1), full)


def test_generated_ids_are_in_vocabulary(sharp, config):
    out = sharp.generate(prompt(config.vocab_size, 3, 2), 20, temperature=2.0, generator=gen(0))
    assert out.dtype == torch.long
    assert out.min() >= 0 and out.max() < config.vocab_size


def test_int32_prompt_is_accepted(sharp, config):
    idx = prompt(config.vocab_size, 1, 3)
    assert torch.equal(sharp.generate(idx.int(), 5, temperature=0), reference_greedy(sharp, idx, 5))


def test_max_new_tokens_zero_returns_the_prompt(sharp, config):
    idx = prompt(config.vocab_size, 2, 5)
    assert torch.equal(sharp.generate(idx, 0), idx)
    assert list(sharp.generate_stream(idx, 0)) == []


BAD_SAMPLING = [
    dict(temperature=-0.5),
    dict(temperature=float("nan")),
    dict(temperature=float("inf")),
    dict(temperature="hot"),
    dict(top_k=0),
    dict(top_k=-3),
    dict(top_k=2.5),
    dict(top_p=0.0),
    dict(top_p=1.5),
    dict(top_p=-0.1),
    dict(top_p=float("nan")),
]


@pytest.mark.parametrize("kwargs", BAD_SAMPLING, ids=repr)
@pytest.mark.parametrize("form", ["generate", "generate_stream"])
def test_bad_sampling_settings_raise_on_the_call(model, config, kwargs, form):
    idx = torch.zeros(1, 2, dtype=torch.long)
    with pytest.raises(ValueError) as info:
        getattr(model, form)(idx, 3, **kwargs)  # no next(): the stream form checks on the call
    assert next(iter(kwargs)) in str(info.value)


@pytest.mark.parametrize(
    "idx,n",
    [
        (torch.tensor([[0, -1]]), 3),
        (torch.tensor([[0, 23]]), 3),  # vocab_size is 23
        (torch.tensor([[1000]]), 3),
        (torch.zeros(1, 0, dtype=torch.long), 3),
        (torch.zeros(0, 3, dtype=torch.long), 3),
        (torch.zeros(3, dtype=torch.long), 3),
        (torch.zeros(1, 2), 3),  # float ids
        (torch.zeros(1, 2, dtype=torch.long), -1),
        (torch.zeros(1, 2, dtype=torch.long), 2.5),
        ([[0, 1]], 3),
    ],
    ids=["negative", "eq_vocab", "huge", "empty", "no_batch", "1d", "float", "neg_new", "float_new", "list"],
)
@pytest.mark.parametrize("form", ["generate", "generate_stream"])
def test_bad_prompts_raise_on_the_call(model, config, idx, n, form):
    assert config.vocab_size == 23
    with pytest.raises(ValueError):
        getattr(model, form)(idx, n)


@pytest.mark.parametrize("bad", [-1, 23])
def test_out_of_vocabulary_message_names_the_id(model, bad):
    with pytest.raises(ValueError) as info:
        model.generate(torch.tensor([[0, bad]]), 2)
    assert str(bad) in str(info.value)


def test_empty_prompt_message(model):
    with pytest.raises(ValueError) as info:
        model.generate_stream(torch.zeros(1, 0, dtype=torch.long), 2)
    assert "empty" in str(info.value)


@pytest.mark.parametrize("training", [True, False])
def test_generation_leaves_the_training_flag_as_it_was(model, config, training):
    model.train(training)
    model.generate(prompt(config.vocab_size, 1, 3), 10, temperature=0)
    assert model.training is training
    assert all(m.training is training for m in model.modules())
    list(model.generate_stream(prompt(config.vocab_size, 1, 3), 10, generator=gen(0)))
    assert model.training is training
    lib_generate(model, prompt(config.vocab_size, 1, 3), 12, use_cache=False)
    assert model.training is training


def test_training_flag_restored_after_a_failing_generation(model):
    model.train()
    with pytest.raises(ValueError):
        model.generate(torch.tensor([[99]]), 2)
    assert model.training


def test_dropout_model_in_train_mode_generates_deterministically(make_config, make_sharp):
    model = make_sharp(make_config(dropout=0.5), seed=3)
    idx = prompt(model.config.vocab_size, 2, 3)
    model.eval()
    expected = model.generate(idx, 15, generator=gen(7))
    expected_greedy = reference_greedy(model, idx, 15)
    model.train()
    assert torch.equal(model.generate(idx, 15, generator=gen(7)), expected)
    assert torch.equal(model.generate(idx, 15, generator=gen(7)), expected)
    assert torch.equal(model.generate(idx, 15, temperature=0), expected_greedy)
    assert model.training


def test_generation_builds_no_graph(model, config):
    out = model.generate(prompt(config.vocab_size, 1, 3), 4)
    assert not out.requires_grad


def test_stream_form_of_the_library_checks_on_the_call(model):
    with pytest.raises(ValueError):
        lib_stream(model, torch.zeros(1, 2, dtype=torch.long), 3, temperature=-1)


def test_stream_does_not_leak_inference_mode_to_the_caller(model, config):
    tokens = model.generate_stream(prompt(config.vocab_size, 1, 3), 5, generator=gen(0))
    try:
        first = next(tokens)
        assert first.shape == (1, 1)
        # The caller stops reading early (e.g. a UI "stop" button) and goes on to train.
        assert not torch.is_inference_mode_enabled()
        assert torch.is_grad_enabled()
        idx = prompt(config.vocab_size, 2, 4)
        _, loss = model(idx, idx)
        loss.backward()  # fails under inference mode
    finally:
        tokens.close()  # otherwise the leak outlives this test (pytest keeps the failing frame)
    assert not torch.is_inference_mode_enabled()


def test_a_model_in_training_mode_samples_without_dropout(make_config):
    # The cache's forward is evaluation-only and the cache-less path switches to eval: with
    # dropout 0.5 in train mode, both must give what the model in eval mode gives.
    torch.manual_seed(3)
    model = GPT(make_config(dropout=0.5))
    idx = prompt(model.config.vocab_size, 2, 3)
    model.eval()
    expected = lib_generate(model, idx, 12, generator=gen(9))
    model.train()
    assert torch.equal(lib_generate(model, idx, 12, generator=gen(9)), expected)
    assert torch.equal(lib_generate(model, idx, 12, generator=gen(9), use_cache=False), expected)
    assert model.training
