"""The KV cache's hand-written forward gives the module forward's logits (to float rounding:
one query against cached keys sums in another order than the full triangle)."""

import pytest
import torch

from gpt.kv_cache import KVCache

pytestmark = pytest.mark.usefixtures("one_thread")


@torch.inference_mode()
def module_last_logits(model, idx):
    return model(idx)[0][:, -1]  # (B, V)


def close(logits, reference) -> bool:
    """Equal to float rounding, which grows with the largest logit: the lecture's stages without
    LayerNorm (tests/conftest.py MODEL_VARIANTS) leave the sharp model's logits at 80 to 3,500.
    Up to 10 (every variant with LayerNorm: about 6.5) the bound is a flat 1e-5."""
    scale = max(1.0, reference.abs().max().item() / 10)
    return torch.allclose(logits, reference, rtol=1e-5, atol=1e-5 * scale)


@pytest.mark.parametrize("B,T", [(1, 1), (1, 5), (3, 4), (2, 8)])
def test_prompt_then_one_token_at_a_time_equals_the_module_forward(variant, make_sharp, B, T):
    config = variant
    sharp = make_sharp(config)
    seq = torch.randint(config.vocab_size, (B, config.block_size), generator=torch.Generator().manual_seed(T))
    cache = KVCache(sharp, B)
    with torch.inference_mode():
        logits = cache.forward(seq[:, :T])
    assert cache.length == T
    assert close(logits, module_last_logits(sharp, seq[:, :T]))
    for end in range(T + 1, config.block_size + 1):
        with torch.inference_mode():
            logits = cache.forward(seq[:, end - 1 : end])
        assert cache.length == end
        assert close(logits, module_last_logits(sharp, seq[:, :end])), f"position {end - 1}"


def test_every_switch_of_the_model_has_a_variant_here():
    """The cache re-writes the model's forward: each GPTConfig field must be varied in MODEL_VARIANTS
    (tests/conftest.py), so that a new switch of the model is held equal here too."""
    from dataclasses import fields

    from conftest import MODEL_VARIANTS

    from gpt import GPTConfig

    varied = {name for variant in MODEL_VARIANTS.values() for name in variant}
    shape_only = {"vocab_size", "block_size", "n_embd"}  # sizes: varied by the other tests' configs
    # Not a variant of the blocks but a model without any: the cache refuses it (below) and
    # generation reads its table directly (tests/test_ladder.py).
    no_blocks = {"bigram"}
    assert {f.name for f in fields(GPTConfig)} - shape_only - no_blocks <= varied


def test_a_bigram_model_has_nothing_to_cache(make_config):
    from gpt import GPT

    with pytest.raises(ValueError, match="bigram model has no keys or values"):
        KVCache(GPT(make_config(bigram=True)), 1)


def test_keys_of_earlier_positions_are_kept_not_recomputed(sharp, config):
    sharp.eval()
    cache = KVCache(sharp, 1)
    with torch.inference_mode():
        cache.forward(torch.tensor([[1, 2, 3]]))
        before = cache.keys[0][:, :, :3].clone()
        cache.forward(torch.tensor([[4]]))
    assert torch.equal(cache.keys[0][:, :, :3], before)
    assert cache.keys[0].shape == (1, config.n_head, config.block_size, config.head_size)


def test_bf16_model_runs_in_bf16(sharp):
    sharp.eval().to(torch.bfloat16)
    cache = KVCache(sharp, 1)
    with torch.inference_mode():
        logits = cache.forward(torch.tensor([[1, 2]]))
    assert logits.dtype == torch.bfloat16 and cache.keys[0].dtype == torch.bfloat16
    reference = module_last_logits(sharp, torch.tensor([[1, 2]])).float()
    assert (logits.float() - reference).abs().max() <= 0.02 * reference.abs().max()


def test_refuses_more_positions_than_the_context(sharp, config):
    cache = KVCache(sharp.eval(), 1)
    with torch.inference_mode():
        cache.forward(torch.zeros(1, config.block_size, dtype=torch.long))
        with pytest.raises(ValueError, match="holds"):
            cache.forward(torch.zeros(1, 1, dtype=torch.long))


def test_refuses_several_tokens_after_the_prompt(sharp):
    cache = KVCache(sharp.eval(), 1)
    with torch.inference_mode():
        cache.forward(torch.tensor([[1, 2]]))
        with pytest.raises(ValueError, match="prompt"):
            cache.forward(torch.tensor([[3, 4]]))


def test_decode_threads_runs_on_one_thread_and_gives_the_count_back():
    from gpt.kv_cache import DECODE_THREADS, decode_threads

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with decode_threads(torch.device("cpu")):
            assert torch.get_num_threads() == DECODE_THREADS
        assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError):
            with decode_threads(torch.device("cpu")):
                raise RuntimeError("a failing step")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_generation_leaves_the_callers_thread_count_alone(sharp, config):
    from gpt.generation import stream

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        tokens = stream(sharp.eval(), torch.tensor([[1, 2]]), 5)
        for _ in tokens:
            assert torch.get_num_threads() == 2  # between tokens the caller's setting holds
    finally:
        torch.set_num_threads(before)
