"""GPT forward pass: shapes, loss, attention maps, causality, weight tying, parameter count.

The model is compared with a reference forward pass written out here with plain tensor
operations (embeddings, pre-LN blocks, softmax attention, GELU MLP, tied head).
"""

import math

import pytest
import torch
import torch.nn.functional as F

from gpt import GPT, GPTConfig

pytestmark = pytest.mark.usefixtures("one_thread")


def reference_forward(model: GPT, idx: torch.Tensor):
    """Logits (B, T, V) and attention weights (n_layer, B, nh, T, T), computed from scratch."""
    cfg = model.config
    B, T = idx.shape
    nh, hs, C = cfg.n_head, cfg.n_embd // cfg.n_head, cfg.n_embd
    x = model.tok_emb.weight[idx] + model.pos_emb.weight[:T]
    maps = []
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for block in model.blocks:
        h = F.layer_norm(x, (C,), block.ln_1.weight, block.ln_1.bias)
        qkv = h @ block.attn.qkv.weight.T + block.attn.qkv.bias
        q, k, v = (t.reshape(B, T, nh, hs).permute(0, 2, 1, 3) for t in qkv.split(C, dim=-1))
        scores = q @ k.transpose(-1, -2) / math.sqrt(hs)
        scores = scores.masked_fill(~mask, float("-inf"))
        att = torch.softmax(scores, dim=-1)
        maps.append(att)
        y = (att @ v).permute(0, 2, 1, 3).reshape(B, T, C)
        x = x + y @ block.attn.proj.weight.T + block.attn.proj.bias
        h = F.layer_norm(x, (C,), block.ln_2.weight, block.ln_2.bias)
        h = F.gelu(h @ block.mlp.fc.weight.T + block.mlp.fc.bias)
        x = x + h @ block.mlp.proj.weight.T + block.mlp.proj.bias
    x = F.layer_norm(x, (C,), model.ln_f.weight, model.ln_f.bias)
    return x @ model.tok_emb.weight.T, torch.stack(maps)


def random_ids(vocab, B, T, seed=0):
    return torch.randint(vocab, (B, T), generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def test_logits_for_every_position_and_no_loss(model, config):
    idx = random_ids(config.vocab_size, 3, config.block_size)
    logits, loss = model(idx)
    assert logits.shape == (3, config.block_size, config.vocab_size)
    assert loss is None
    assert torch.isfinite(logits).all()
    # shorter sequences too
    logits, _ = model(idx[:, :3])
    assert logits.shape == (3, 3, config.vocab_size)


@torch.no_grad()
def test_matches_reference_forward(sharp, config):
    idx = random_ids(config.vocab_size, 2, config.block_size, seed=1)
    logits, loss = sharp(idx)
    ref_logits, _ = reference_forward(sharp, idx)
    torch.testing.assert_close(logits, ref_logits, atol=1e-4, rtol=1e-4)


@torch.no_grad()
def test_loss_is_cross_entropy_of_the_logits(sharp, config):
    idx = random_ids(config.vocab_size, 2, config.block_size, seed=2)
    targets = random_ids(config.vocab_size, 2, config.block_size, seed=3)
    logits, loss = sharp(idx, targets)
    ref_logits, _ = reference_forward(sharp, idx)
    log_probs = torch.log_softmax(ref_logits, dim=-1)
    expected = -log_probs.gather(-1, targets.unsqueeze(-1)).mean()
    assert loss.dim() == 0
    assert loss.item() == pytest.approx(expected.item(), rel=1e-4)


@torch.no_grad()
def test_initial_loss_with_random_targets_is_about_ln_vocab(make_config):
    config = make_config(vocab_size=65, block_size=16, n_layer=2, n_head=2, n_embd=32)
    for seed in range(3):
        torch.manual_seed(seed)
        model = GPT(config).eval()
        idx = random_ids(65, 8, 16, seed=10 + seed)
        targets = random_ids(65, 8, 16, seed=20 + seed)
        _, loss = model(idx, targets)
        assert abs(loss.item() - math.log(65)) < 0.15


@torch.no_grad()
def test_attention_maps_shape_causal_rows_sum_to_one(sharp, config):
    idx = random_ids(config.vocab_size, 3, config.block_size, seed=4)
    logits, loss, attn = sharp(idx, return_attention=True)
    T = config.block_size
    assert loss is None
    assert attn.shape == (config.n_layer, 3, config.n_head, T, T)
    upper = torch.ones(T, T, dtype=torch.bool).triu(diagonal=1)
    assert (attn[..., upper] == 0).all()  # exactly zero above the diagonal
    torch.testing.assert_close(attn.sum(-1), torch.ones(config.n_layer, 3, config.n_head, T))
    assert (attn >= 0).all()
    # the first query can only look at itself
    assert torch.equal(attn[..., 0, 0], torch.ones_like(attn[..., 0, 0]))
    fast_logits, _ = sharp(idx)
    torch.testing.assert_close(logits, fast_logits, atol=1e-5, rtol=1e-5)
    ref_logits, ref_attn = reference_forward(sharp, idx)
    torch.testing.assert_close(attn, ref_attn, atol=1e-5, rtol=1e-4)


@torch.no_grad()
def test_attention_path_gives_same_loss(sharp, config):
    idx = random_ids(config.vocab_size, 2, 5, seed=5)
    targets = random_ids(config.vocab_size, 2, 5, seed=6)
    _, loss_fast = sharp(idx, targets)
    _, loss_attn, attn = sharp(idx, targets, return_attention=True)
    assert attn.shape[-1] == 5
    assert loss_attn.item() == pytest.approx(loss_fast.item(), rel=1e-5)


@pytest.mark.parametrize("return_attention", [False, True])
@torch.no_grad()
def test_changing_later_tokens_never_changes_earlier_logits(sharp, config, return_attention):
    T = config.block_size
    idx = random_ids(config.vocab_size, 2, T, seed=7)
    base = sharp(idx, return_attention=return_attention)[0]
    for t in range(T - 1):
        changed = idx.clone()
        changed[:, t + 1 :] = (changed[:, t + 1 :] + 1 + torch.arange(T - t - 1)) % config.vocab_size
        out = sharp(changed, return_attention=return_attention)[0]
        torch.testing.assert_close(out[:, : t + 1], base[:, : t + 1], atol=1e-5, rtol=1e-5)
        assert not torch.allclose(out[:, t + 1 :], base[:, t + 1 :])  # later positions do change


def test_weight_tying(model):
    assert model.lm_head.weight is model.tok_emb.weight
    # still tied after an optimizer step
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    idx = random_ids(model.config.vocab_size, 2, 4)
    _, loss = model(idx, idx)
    loss.backward()
    opt.step()
    assert model.lm_head.weight.data_ptr() == model.tok_emb.weight.data_ptr()
    names = [n for n, _ in model.named_parameters()]
    assert "lm_head.weight" not in names  # counted once


@pytest.mark.parametrize(
    "shape",
    [
        dict(vocab_size=20, block_size=8, n_layer=1, n_head=2, n_embd=16),
        dict(vocab_size=65, block_size=16, n_layer=2, n_head=4, n_embd=32),
        dict(vocab_size=1, block_size=1, n_layer=1, n_head=1, n_embd=1),
        dict(vocab_size=37, block_size=5, n_layer=3, n_head=3, n_embd=24),
    ],
)
def test_parameter_count_matches_config(shape):
    config = GPTConfig(**shape)
    model = GPT(config)
    actual = sum(p.numel() for p in model.parameters())
    assert actual == config.num_parameters == model.num_parameters()


def test_every_parameter_gets_a_gradient(model, config):
    idx = random_ids(config.vocab_size, 2, config.block_size)
    _, loss = model(idx, random_ids(config.vocab_size, 2, config.block_size, seed=1))
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_too_long_sequence_is_refused(model, config):
    with pytest.raises(ValueError) as info:
        model(torch.zeros(1, config.block_size + 1, dtype=torch.long))
    assert str(config.block_size) in str(info.value)


@pytest.mark.parametrize("shape", [(5,), (1, 2, 3)])
def test_idx_must_be_2d(model, shape):
    with pytest.raises(ValueError):
        model(torch.zeros(shape, dtype=torch.long))


def test_gpt_needs_a_config():
    with pytest.raises(TypeError):
        GPT({"vocab_size": 20})


def test_dropout_is_active_in_train_mode_only(make_config):
    torch.manual_seed(0)
    model = GPT(make_config(dropout=0.5))
    idx = random_ids(model.config.vocab_size, 2, 8)
    model.train()
    a, b = model(idx)[0], model(idx)[0]
    assert not torch.allclose(a, b)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(idx)[0], model(idx)[0])


def test_looking_inside_leaves_no_listener_behind(sharp, config):
    """Hook points (gpt/hooks.py) are listened to only inside a with-block, even when it raises."""
    from gpt.hooks import capture_attention, hook_points

    idx = torch.randint(config.vocab_size, (1, 5), generator=torch.Generator().manual_seed(0))
    sharp(idx, return_attention=True)
    with pytest.raises(RuntimeError):
        with capture_attention(sharp) as maps:
            sharp(idx)
            assert len(maps) == config.n_layer
            raise RuntimeError("a view failed half-way")
    points = hook_points(sharp)
    assert points and all(not p.listeners for p in points.values())
    assert "blocks.0.attn.hook_weights" in points


def test_blocks_map_the_stream_to_the_stream(sharp, config):
    x = torch.randn(2, 5, config.n_embd)
    assert sharp.blocks[0](x).shape == x.shape  # no tuples through the layers
