"""The model in gpt/model.py is the lecture's model, written more compactly.

The lecture builds attention from separate heads: a ModuleList of Head modules, each with its own
key, query and value Linear, their outputs concatenated and projected. gpt/model.py computes the
queries, keys and values of every head with one fused matrix. Here the lecture's form is written
out (with the other departures the lecture map in gpt/model.py names: biases, GELU, a tied head),
loaded with the same weights, and must give the same outputs.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from gpt import GPT, GPTConfig

pytestmark = pytest.mark.usefixtures("one_thread")


class Head(nn.Module):
    """One head of self-attention, as the lecture writes it."""

    def __init__(self, n_embd: int, head_size: int, block_size: int):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size)
        self.query = nn.Linear(n_embd, head_size)
        self.value = nn.Linear(n_embd, head_size)
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))

    def forward(self, x):
        T = x.shape[1]
        k, q = self.key(x), self.query(x)  # (B, T, hs)
        wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5  # (B, T, T)
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
        wei = F.softmax(wei, dim=-1)
        return wei @ self.value(x)  # (B, T, hs)


class MultiHeadAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.heads = nn.ModuleList(
            Head(config.n_embd, config.head_size, config.block_size) for _ in range(config.n_head)
        )
        self.proj = nn.Linear(config.n_embd, config.n_embd)

    def forward(self, x):
        return self.proj(torch.cat([h(x) for h in self.heads], dim=-1))


class FeedForward(nn.Module):
    def __init__(self, n_embd: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd))

    def forward(self, x):
        return self.net(x)


class LectureBlock(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.sa = MultiHeadAttention(config)
        self.ffwd = FeedForward(config.n_embd)
        self.ln1 = nn.LayerNorm(config.n_embd)
        self.ln2 = nn.LayerNorm(config.n_embd)

    def forward(self, x):
        x = x + self.sa(self.ln1(x))
        return x + self.ffwd(self.ln2(x))


class LectureGPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.token_embedding_table = nn.Embedding(config.vocab_size, config.n_embd)
        self.position_embedding_table = nn.Embedding(config.block_size, config.n_embd)
        self.blocks = nn.Sequential(*[LectureBlock(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd)

    def forward(self, idx):
        T = idx.shape[1]
        x = self.token_embedding_table(idx) + self.position_embedding_table(torch.arange(T))
        x = self.ln_f(self.blocks(x))
        return x @ self.token_embedding_table.weight.T  # the head, tied to the embedding

    @torch.no_grad()
    def load_from(self, ours: GPT) -> "LectureGPT":
        """Copy our weights in: each head's key, query and value are a slice of the fused qkv."""
        hs, C = ours.config.head_size, ours.config.n_embd
        self.token_embedding_table.weight.copy_(ours.tok_emb.weight)
        self.position_embedding_table.weight.copy_(ours.pos_emb.weight)
        self.ln_f.load_state_dict(ours.ln_f.state_dict())
        for lecture, block in zip(self.blocks, ours.blocks):
            lecture.ln1.load_state_dict(block.ln_1.state_dict())
            lecture.ln2.load_state_dict(block.ln_2.state_dict())
            w, b = block.attn.qkv.weight, block.attn.qkv.bias  # (3C, C), (3C,): q | k | v
            for h, head in enumerate(lecture.sa.heads):
                rows = slice(h * hs, (h + 1) * hs)
                for part, linear in enumerate((head.query, head.key, head.value)):
                    linear.weight.copy_(w[part * C :][rows])
                    linear.bias.copy_(b[part * C :][rows])
            lecture.sa.proj.load_state_dict(block.attn.proj.state_dict())
            lecture.ffwd.net[0].load_state_dict(block.mlp.fc.state_dict())
            lecture.ffwd.net[2].load_state_dict(block.mlp.proj.state_dict())
        return self


@pytest.mark.parametrize("shape", [dict(n_layer=2, n_head=4, n_embd=32), dict(n_layer=1, n_head=1, n_embd=8), dict(n_layer=3, n_head=6, n_embd=48)])
def test_the_fused_model_computes_what_the_lectures_separate_heads_compute(make_sharp, shape):
    config = GPTConfig(vocab_size=29, block_size=16, dropout=0.1, **shape)
    ours = make_sharp(config, seed=3)  # eval mode: dropout off in both
    lecture = LectureGPT(config).load_from(ours).eval()
    idx = torch.randint(29, (3, 16), generator=torch.Generator().manual_seed(0))
    expected = lecture(idx)
    logits, _ = ours(idx)
    assert torch.allclose(logits, expected, atol=1e-4, rtol=1e-4)
    logits_explicit, _, _ = ours(idx, return_attention=True)  # the explicit path too
    assert torch.allclose(logits_explicit, expected, atol=1e-4, rtol=1e-4)


def test_a_wrong_slice_is_caught(make_sharp):
    """The comparison can fail: swapping two heads' queries changes the outputs."""
    config = GPTConfig(vocab_size=29, block_size=16, n_layer=1, n_head=2, n_embd=16)
    ours = make_sharp(config, seed=3)
    lecture = LectureGPT(config).load_from(ours).eval()
    heads = lecture.blocks[0].sa.heads
    with torch.no_grad():
        q0 = heads[0].query.weight.clone()
        heads[0].query.weight.copy_(heads[1].query.weight)
        heads[1].query.weight.copy_(q0)
    idx = torch.randint(29, (2, 16), generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(ours(idx)[0], lecture(idx), atol=1e-3)
