"""Switching heads off: against models built to compute the same thing without ablation, in the
forward and in generation (cached and not), and the model as before once the block ends."""

import copy

import pytest
import torch

import gpt
from gpt import GPT, GPTConfig
from gpt.generation import generate
from gpt.hooks import hook_points


def sharp(n_layer=2, n_head=2, seed=0):
    """A seeded model with wide weights, so every head changes the logits visibly."""
    torch.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size=23, block_size=16, n_layer=n_layer, n_head=n_head, n_embd=16))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            p.copy_(0.5 * noise if p.dim() >= 2 else 1 + 0.1 * noise if name.endswith("weight") else 0.1 * noise)
    return model.eval()


def ids(batch=3, T=12, seed=1):
    return torch.randint(23, (batch, T), generator=torch.Generator().manual_seed(seed))


def logits_of(model, idx):
    with torch.no_grad():
        return model(idx)[0]


def test_zero_ablating_a_whole_layer_leaves_only_the_projection_bias():
    model, idx = sharp(), ids()
    # The same model with layer 0's values zeroed: every head's output is 0, so its attention
    # adds proj(0) = the projection's bias, with no ablation anywhere.
    reference = copy.deepcopy(model)
    C = reference.config.n_embd
    with torch.no_grad():
        reference.blocks[0].attn.qkv.weight[2 * C :].zero_()
        reference.blocks[0].attn.qkv.bias[2 * C :].zero_()
    with gpt.ablate(model, [(0, 0), (0, 1)], mode="zero"):
        ablated = logits_of(model, idx)
    assert torch.allclose(ablated, logits_of(reference, idx), atol=1e-5)
    assert not torch.allclose(ablated, logits_of(model, idx), atol=1e-3)  # it did change something


def test_zero_ablating_one_head_is_the_model_without_that_head_s_projection_columns():
    model, idx = sharp(), ids()
    reference = copy.deepcopy(model)
    hs = model.config.head_size
    with torch.no_grad():
        reference.blocks[1].attn.proj.weight[:, hs : 2 * hs].zero_()  # head 1's share of the mix
    with gpt.ablate(model, [(1, 1)]):
        assert torch.allclose(logits_of(model, idx), logits_of(reference, idx), atol=1e-5)


def test_mean_ablation_of_identical_rows_changes_nothing_and_of_different_rows_does():
    model = sharp()
    same = ids(batch=1).expand(4, -1).contiguous()
    before = logits_of(model, same)
    with gpt.ablate(model, [(0, 1), (1, 0)], mode="mean"):
        assert torch.allclose(logits_of(model, same), before, atol=1e-5)
        different = ids(batch=4)
        mean_ablated = logits_of(model, different)
    assert not torch.allclose(mean_ablated, logits_of(model, different), atol=1e-3)


def test_mean_ablation_replaces_the_head_output_by_its_batch_mean_per_position():
    model, idx = sharp(), ids(batch=3)
    outputs = []
    point = model.blocks[0].attn.hook_heads_out
    point.listeners.append(lambda y: outputs.append(y.clone()))
    try:
        logits_of(model, idx)
        with gpt.ablate(model, [(0, 0)], mode="mean"):
            logits_of(model, idx)
    finally:
        point.listeners.clear()
    plain, ablated = outputs  # each (B, nh, T, hs); listeners see what flows on
    assert torch.allclose(ablated[:, 0], plain[:, 0].mean(0, keepdim=True).expand_as(plain[:, 0]), atol=1e-6)
    assert torch.equal(ablated[:, 1], plain[:, 1])  # the other head untouched


def test_the_model_is_restored_after_the_block_even_after_an_error():
    model, idx = sharp(), ids()
    before = logits_of(model, idx)
    with pytest.raises(RuntimeError, match="inside"):
        with gpt.ablate(model, [(0, 0), (1, 1)]):
            raise RuntimeError("inside")
    with gpt.ablate(model, [(1, 0)], mode="mean"):
        pass
    assert torch.equal(logits_of(model, idx), before)
    assert all(not p.editors and not p.listeners for p in hook_points(model).values())


def test_ablation_keeps_the_fused_attention_path():
    model = sharp()
    with gpt.ablate(model, [(0, 0)]):
        assert not any(block.attn.inspected() for block in model.blocks)


def test_generation_runs_with_the_heads_off_cached_or_not():
    model = sharp()
    prompt = ids(batch=2, T=4)
    plain = generate(model, prompt, 10, top_k=1)
    for mode in ("zero", "mean"):
        with gpt.ablate(model, [(0, 0), (1, 1)], mode=mode):
            cached = generate(model, prompt, 10, top_k=1)
            uncached = generate(model, prompt, 10, top_k=1, use_cache=False)
        assert torch.equal(cached, uncached), mode
    with gpt.ablate(model, [(0, 0), (1, 1)]):
        zeroed = generate(model, prompt, 10, top_k=1)
    assert not torch.equal(zeroed, plain)
    assert torch.equal(generate(model, prompt, 10, top_k=1), plain)


def test_the_cache_applies_the_ablation_at_every_position():
    """Greedy paths can agree by luck: compare the cached step's logits with the full forward's."""
    from gpt.kv_cache import KVCache

    model, idx = sharp(), ids(batch=2, T=10)
    with gpt.ablate(model, [(0, 1)], mode="mean"):
        full = logits_of(model, idx)  # (B, T, V)
        cache = KVCache(model, 2)
        with torch.no_grad():
            first = cache.forward(idx[:, :6])
            steps = [cache.forward(idx[:, t : t + 1]) for t in range(6, 10)]
    assert torch.allclose(first, full[:, 5], atol=1e-5)
    for t, logits in zip(range(6, 10), steps):
        assert torch.allclose(logits, full[:, t], atol=1e-5), t


def test_ablation_effects_show_the_one_head_that_matters():
    model, idx = sharp(), ids(batch=4)
    hs = model.config.head_size
    with torch.no_grad():  # only head (1, 0) writes into the stream: every other head's mix columns are 0
        for layer, block in enumerate(model.blocks):
            for head in range(model.config.n_head):
                if (layer, head) != (1, 0):
                    block.attn.proj.weight[:, head * hs : (head + 1) * hs].zero_()
    targets = ids(batch=4, seed=2)
    model.train()
    effects = gpt.ablation_effects(model, idx, targets)
    assert model.training
    assert effects.shape == (2, 2)
    mask = torch.ones(2, 2, dtype=torch.bool)
    mask[1, 0] = False
    assert torch.allclose(effects[mask], torch.zeros(3), atol=1e-6)
    with torch.no_grad():
        _, base = model.eval()(idx, targets)
        with gpt.ablate(model, [(1, 0)]):
            _, without = model(idx, targets)
    assert effects[1, 0].item() == pytest.approx((without - base).item(), abs=1e-6)
    assert abs(effects[1, 0].item()) > 1e-3


@pytest.mark.parametrize(
    "heads, message",
    [
        ([], "No heads to switch off.*layers 0 to 1, heads 0 to 1"),
        ([(2, 0)], r"Head \(2, 0\) is not in this model: it has layers 0 to 1, heads 0 to 1"),
        ([(0, -1)], r"Head \(0, -1\) is not in this model"),
        ([(0,)], "Each head is a \\(layer, head\\) pair"),
        ([(0, 1.5)], "Each head is a \\(layer, head\\) pair"),
        ([(True, 0)], "Each head is a \\(layer, head\\) pair"),
        ("0,1", "heads must be a list of \\(layer, head\\) pairs"),
        (3, "heads must be a list"),
    ],
)
def test_bad_heads_are_refused_with_the_valid_range(heads, message):
    model = sharp()
    with pytest.raises(ValueError, match=message):
        with gpt.ablate(model, heads):
            pass
    assert all(not p.editors for p in hook_points(model).values())


def test_bad_modes_and_models_are_refused():
    model = sharp()
    with pytest.raises(ValueError, match="mode must be 'zero' or 'mean'"):
        with gpt.ablate(model, [(0, 0)], mode="resample"):
            pass
    with pytest.raises(ValueError, match="targets must have the shape"):
        gpt.ablation_effects(model, ids(), ids(T=5))
    bigram = GPT(GPTConfig(vocab_size=23, block_size=16, bigram=True))
    with pytest.raises(ValueError, match="bigram model has no attention heads"):
        with gpt.ablate(bigram, [(0, 0)]):
            pass
    with pytest.raises(ValueError, match="bigram model has no attention heads"):
        gpt.ablation_effects(bigram, ids(), ids())
