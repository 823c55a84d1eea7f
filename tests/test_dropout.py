"""The cheaper CPU dropout mask behaves like dropout: right rate, unbiased, gradients follow the mask."""

import pytest
import torch
import torch.nn as nn

from gpt import GPT, GPTConfig, TrainConfig, Trainer
from gpt.dropout import FastDropout, dropout, fast_dropout, random_keep_mask

N = 1 << 20  # a million elements: the drop rate's standard error is ~0.0004


@pytest.mark.parametrize("p", [0.05, 0.2, 0.5, 0.9])
def test_drop_rate_matches_p(p):
    torch.manual_seed(0)
    keep, p_used = random_keep_mask((N,), p)
    assert abs(p_used - p) <= 1 / 65536
    dropped = 1.0 - keep.float().mean().item()
    assert abs(dropped - p) < 0.003


def test_each_16_bit_lane_of_a_word_is_uniform():
    # Four mask elements come from one 64-bit word; a lane with a fixed bit (for example the
    # sign bit of a non-negative random int64) would drop at the wrong rate.
    torch.manual_seed(1)
    keep, _ = random_keep_mask((N,), 0.5)
    lanes = keep.view(-1, 4).float().mean(dim=0)
    assert torch.all((lanes - 0.5).abs() < 0.005), lanes


@pytest.mark.parametrize("shape", [(7,), (3, 5, 7), (2, 3, 1, 9)])
def test_any_shape_even_when_not_a_multiple_of_four(shape):
    keep, _ = random_keep_mask(shape, 0.3)
    assert keep.shape == torch.Size(shape) and keep.dtype == torch.bool


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_survivors_scaled_rest_zero_and_mean_preserved(dtype):
    torch.manual_seed(2)
    p = 0.2
    x = torch.full((N,), 3.0, dtype=dtype)
    out = dropout(x, p)
    assert out.dtype == dtype and out.shape == x.shape
    kept = out != 0
    expected = torch.tensor(3.0 / (1.0 - round(p * 65536) / 65536), dtype=dtype)
    assert torch.all(out[kept] == expected)
    assert abs(out.float().mean().item() - 3.0) < 0.02  # E[dropout(x)] = x


def test_gradient_flows_only_through_kept_elements():
    torch.manual_seed(3)
    x = torch.randn(64, 33, requires_grad=True)
    out = dropout(x, 0.25)
    out.sum().backward()
    kept = out.detach() != 0
    assert torch.all(x.grad[~kept] == 0)
    assert torch.allclose(x.grad[kept], torch.full_like(x.grad[kept], 1 / (1 - 0.25)), atol=1e-4)


def test_eval_and_zero_p_return_the_input_unchanged():
    x = torch.randn(10, 10)
    assert dropout(x, 0.5, training=False) is x
    assert dropout(x, 0.0) is x
    module = FastDropout(0.5).eval()
    assert torch.equal(module(x), x)


def test_p_one_drops_everything():
    assert torch.equal(dropout(torch.ones(100), 1.0), torch.zeros(100))


def test_seeded_masks_repeat_and_consecutive_masks_differ():
    torch.manual_seed(4)
    a = dropout(torch.ones(1000), 0.5)
    b = dropout(torch.ones(1000), 0.5)
    torch.manual_seed(4)
    a_again = dropout(torch.ones(1000), 0.5)
    assert torch.equal(a, a_again)
    assert not torch.equal(a, b)


def test_the_model_uses_torchs_dropout_and_training_on_the_cpu_swaps_in_the_cheaper_mask():
    assert isinstance(FastDropout(0.1), nn.Dropout)
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=16, dropout=0.3))
    modules = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert modules and all(type(m) is nn.Dropout for m in modules)
    with fast_dropout(model):
        assert all(type(m) is FastDropout for m in modules)
    assert all(type(m) is nn.Dropout for m in modules)  # given back
    seen = []
    trainer = Trainer(model, torch.randint(11, (200,)), None, TrainConfig(max_steps=2, batch_size=2, eval_interval=10))
    for _ in trainer.run():
        seen.append({type(m) for m in modules})
    assert seen == [{FastDropout}, {FastDropout}] and all(type(m) is nn.Dropout for m in modules)


def test_no_swap_where_it_would_not_pay():
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=16, dropout=0.0))
    with fast_dropout(model):
        assert all(type(m) is nn.Dropout for m in model.modules() if isinstance(m, nn.Dropout))


def test_training_model_output_is_random_and_eval_is_deterministic():
    torch.manual_seed(5)
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16, dropout=0.3))
    idx = torch.randint(11, (2, 8))
    model.train()
    assert not torch.equal(model(idx)[0], model(idx)[0])
    model.eval()
    assert torch.equal(model(idx)[0], model(idx)[0])
