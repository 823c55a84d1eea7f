"""gpt.trace reads the model's own arithmetic: every identity the Learn tab relies on."""

from __future__ import annotations

import pytest
import torch

from gpt import GPT, GPTConfig, make_tokenizer, trace
from gpt.hooks import hook_points

pytestmark = pytest.mark.usefixtures("one_thread")


def idx_for(config, T, seed=0):
    return torch.randint(config.vocab_size, (1, T), generator=torch.Generator().manual_seed(seed))


def test_trace_shapes_and_identities(variant, make_sharp):
    config = variant
    model = make_sharp(config)
    T, H, C, hs = config.block_size, config.n_head, config.n_embd, config.head_size
    idx = idx_for(config, T)
    t = trace(model, idx)
    logits, _, maps = model(idx, return_attention=True)
    assert t.token_emb.shape == t.pos_emb.shape == (T, C)
    assert torch.allclose(t.logits, logits[0], atol=1e-5)
    assert t.logit_lens.shape == (config.n_layer + 1, T, config.vocab_size)
    assert torch.allclose(t.logit_lens[-1], t.logits, atol=1e-4)  # the last lens is the model's own prediction
    assert torch.allclose(t.layers[0].resid_in, t.token_emb + t.pos_emb, atol=1e-6)
    future = torch.ones(T, T, dtype=torch.bool).triu(1)
    for i, layer in enumerate(t.layers):
        assert layer.q.shape == layer.k.shape == layer.v.shape == layer.heads_out.shape == (H, T, hs)
        assert layer.scores.shape == layer.weights.shape == (H, T, T)
        if config.mlp:
            assert layer.mlp_hidden.shape == (T, 4 * C) and layer.ln2_out.shape == (T, C)
        else:  # the lecture's stages before the feed-forward network
            assert layer.mlp_hidden is None and layer.ln2_out is None
            assert torch.equal(layer.resid_out, layer.resid_mid)
        if not config.layer_norm:  # no LayerNorm: attention reads the stream as it is
            assert torch.equal(layer.ln1_out, layer.resid_in)
        assert torch.allclose(layer.weights, maps[i, 0], atol=1e-6)  # what return_attention gives
        assert torch.allclose(layer.scores, layer.q @ layer.k.transpose(-2, -1) / hs**0.5, atol=1e-4)
        assert torch.allclose(layer.scores.masked_fill(future, float("-inf")).softmax(-1), layer.weights, atol=1e-6)
        assert torch.allclose(layer.heads_out, layer.weights @ layer.v, atol=1e-5)
        assert torch.isfinite(layer.scores).all()  # taken before the mask: the future is not -inf here
        if i + 1 < len(t.layers):
            assert torch.equal(t.layers[i + 1].resid_in, layer.resid_out)
    assert all(not p.listeners for p in hook_points(model).values())  # nothing left listening


def test_a_bigram_model_has_no_layers_to_trace(make_config):
    model = GPT(make_config(bigram=True))
    with pytest.raises(ValueError, match="bigram model has no layers"):
        trace(model, torch.zeros(1, 3, dtype=torch.long))


def test_trace_works_for_char_and_bpe_models():
    text = "¿Qué tal, señor? To be, or not to be. " * 5
    for kind in ("char", "bpe"):
        tok = make_tokenizer(kind, text)
        torch.manual_seed(0)
        model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=32, n_layer=2, n_head=2, n_embd=16))
        ids = torch.tensor([tok.encode(text)[:32]])
        t = trace(model, ids)
        assert torch.allclose(t.logits, model(ids)[0][0], atol=1e-5)


def test_trace_of_a_bf16_model_on_the_cpu(make_sharp, config):
    model = make_sharp(config).to(torch.bfloat16)
    idx = idx_for(config, config.block_size)
    t = trace(model, idx)
    logits = model(idx)[0][0].float()
    assert t.logits.dtype == torch.float32 and torch.allclose(t.logits, logits)
    assert (t.logit_lens[-1] - logits).abs().max() <= 0.05 * logits.abs().max()
    _, _, maps = model(idx, return_attention=True)
    assert torch.allclose(t.layers[0].weights, maps[0, 0].float(), atol=1e-6)


def test_trace_leaves_a_training_model_in_training_mode(make_sharp, config):
    model = make_sharp(config).train()
    trace(model, idx_for(config, 4))
    assert model.training


@pytest.mark.parametrize("bad", [torch.zeros(2, 3, dtype=torch.long), torch.zeros(1, 0, dtype=torch.long), torch.zeros(3, dtype=torch.long)])
def test_trace_refuses_what_is_not_one_sequence_within_the_context(model, bad):
    with pytest.raises(ValueError, match="trace"):
        trace(model, bad)
