"""Shared tiny fixtures for the GPT core tests (gpt/). Keep this file small."""

import pytest
import torch

from gpt import GPT, GPTConfig

# The served app, API clients and headless Chromium, for the tests that need them (tests/apps.py).
pytest_plugins = ["apps"]

ENGLISH = (
    "The quick brown fox jumps over the lazy dog. It was the best of times, it was the "
    "worst of times; to be, or not to be, that is the question. Hello world, hello again!\n"
)


# Variants of the model that every forward written twice must agree on (the KV cache's lean
# forward, the trace): one per switch of GPTConfig away from its default. A switch added to
# GPTConfig without a variant here fails tests/test_kv_cache.py.
MODEL_VARIANTS = {
    "default": {},
    "one layer, one head": dict(n_layer=1, n_head=1),
    "dropout (evaluated)": dict(dropout=0.3),
    # The lecture's earlier stages (gpt/ladder.py): each switch alone, then all three off at once.
    "no residual connections": dict(residual=False),
    "no LayerNorm": dict(layer_norm=False),
    "no MLP": dict(mlp=False),
    "attention alone (the lecture's multi-head stage)": dict(residual=False, layer_norm=False, mlp=False),
}


def tiny_config(**overrides) -> GPTConfig:
    shape = dict(vocab_size=23, block_size=8, n_layer=2, n_head=2, n_embd=16)
    shape.update(overrides)
    return GPTConfig(**shape)


def sharp_model(config: GPTConfig, seed: int = 0) -> GPT:
    """A seeded model whose weights are drawn wider than GPT's init, so its predictions are
    far from uniform and depend on every position (greedy paths are then informative)."""
    torch.manual_seed(seed)
    model = GPT(config)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if p.dim() >= 2:  # embeddings and weight matrices
                p.copy_(0.5 * noise)
            elif name.endswith("weight"):  # LayerNorm gains
                p.copy_(1 + 0.1 * noise)
            else:  # biases
                p.copy_(0.1 * noise)
    return model.eval()


@pytest.fixture(params=list(MODEL_VARIANTS))
def variant(request) -> GPTConfig:
    """A tiny config for each of MODEL_VARIANTS."""
    return tiny_config(**MODEL_VARIANTS[request.param])


@pytest.fixture
def config() -> GPTConfig:
    return tiny_config()


@pytest.fixture
def model(config) -> GPT:
    torch.manual_seed(0)
    return GPT(config).eval()


@pytest.fixture
def sharp(config) -> GPT:
    return sharp_model(config)


@pytest.fixture
def make_config():
    """tiny_config(**overrides) as a fixture, so tests need not import conftest."""
    return tiny_config


@pytest.fixture
def make_sharp():
    return sharp_model


@pytest.fixture
def english() -> str:
    return ENGLISH


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors on a shared 2-core machine: one intra-op thread is far faster than two
    threads fighting other processes. Opt in per module with
    pytestmark = pytest.mark.usefixtures("one_thread"); the previous setting is restored."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
