"""Head detection: pattern scores on hand-made attention maps, checked against the definition
written out row by row; the model wrapper on a model whose attention is uniform by construction;
repeated tokens and the in-context gain."""

import pytest
import torch
import torch.nn.functional as F

import gpt
from gpt import GPT, GPTConfig
from gpt.head_detection import PATTERNS, detection_patterns, pattern_scores

IDS = [[3, 1, 4, 1, 5, 9, 2, 6, 3, 1, 4, 1, 5, 9, 2, 6], [7, 7, 0, 2, 7, 0, 2, 8, 7, 7, 0, 2, 7, 0, 2, 8]]


def pattern_cells(ids, name):
    """The pattern's keys for each query, straight from the docstring's definitions."""
    T = len(ids)
    cells = []
    for i in range(T):
        if name == "previous_token":
            keys = {i - 1} if i > 0 else set()
        elif name == "duplicate_token":
            keys = {j for j in range(i) if ids[j] == ids[i]}
        else:  # induction: the key after each earlier copy of the query's token
            keys = {j + 1 for j in range(i) if ids[j] == ids[i]}
        cells.append(keys)
    return cells


def exact_head(ids, name):
    """(T, T): each row spreads its weight evenly over its pattern cells (key 0 if it has none)."""
    T = len(ids)
    a = torch.zeros(T, T)
    for i, keys in enumerate(pattern_cells(ids, name)):
        for j in keys or {0}:
            a[i, j] = 1 / len(keys or {0})
    return a


def uniform_share(ids, name):
    """What a uniform causal head scores: over the rows with pattern cells, the mean of
    (cells in the row) / (keys the row sees)."""
    shares = [len(keys) / (i + 1) for i, keys in enumerate(pattern_cells(ids, name)) if keys]
    return sum(shares) / len(shares)


def uniform_maps(B, H, T):
    return (torch.ones(T, T).tril() / torch.arange(1, T + 1)[:, None]).expand(B, H, T, T)


@pytest.mark.parametrize("name", PATTERNS)
def test_a_head_on_exactly_its_pattern_scores_one_and_the_others_less(name):
    idx = torch.tensor(IDS)
    maps = torch.stack([exact_head(ids, name) for ids in IDS])[:, None]  # (B, 1, T, T)
    scores = pattern_scores(maps, idx)
    assert scores[name].item() == pytest.approx(1.0)
    for other in scores:
        if other != name:
            assert scores[other].item() < 0.99, (name, other)


@pytest.mark.parametrize("name", PATTERNS)
def test_a_uniform_head_scores_its_share_of_the_pattern(name):
    idx = torch.tensor(IDS)
    scores = pattern_scores(uniform_maps(2, 3, idx.shape[1]), idx)[name]  # (3,)
    expected = sum(uniform_share(ids, name) for ids in IDS) / len(IDS)  # the mean over the sequences
    assert torch.allclose(scores, torch.full((3,), expected), atol=1e-6)


def test_patterns_follow_token_equality_in_each_row_of_the_batch():
    idx = torch.tensor(IDS)
    patterns = detection_patterns(idx)
    for b, ids in enumerate(IDS):
        for name, pattern in patterns.items():
            got = [set(torch.nonzero(row).flatten().tolist()) for row in pattern[b]]
            assert got == pattern_cells(ids, name), (b, name)
    # The query itself is an induction cell when the token before it equals it ("7 7").
    assert patterns["induction"][1, 1, 1]


def test_scores_per_layer_and_zero_without_any_pattern_cell():
    idx = torch.arange(6)[None]  # no token repeats: no duplicate or induction cell anywhere
    maps = torch.stack([uniform_maps(1, 2, 6), torch.stack([exact_head(idx[0].tolist(), "previous_token")] * 2)[None]])
    scores = pattern_scores(maps, idx)  # maps (2 layers, 1, 2 heads, 6, 6)
    assert scores["induction"].shape == (2, 2) and not scores["induction"].any()
    assert not scores["duplicate_token"].any()
    assert torch.allclose(scores["previous_token"][1], torch.ones(2))
    assert torch.allclose(scores["previous_token"][0], torch.full((2,), uniform_share(list(range(6)), "previous_token")))


def test_bad_maps_and_ids_are_refused():
    idx = torch.tensor(IDS)
    with pytest.raises(ValueError, match="maps must have shape"):
        pattern_scores(torch.ones(2, 16, 16), idx)
    with pytest.raises(ValueError, match="integer tensor"):
        pattern_scores(uniform_maps(2, 1, 16), idx.float())


def uniform_attention_model(vocab_size=10, n_layer=2, n_head=2, block_size=16):
    """Queries and keys all zero: every score is 0, so every head attends uniformly."""
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=n_layer, n_head=n_head, n_embd=16))
    C = model.config.n_embd
    with torch.no_grad():
        for block in model.blocks:
            block.attn.qkv.weight[: 2 * C].zero_()
            block.attn.qkv.bias[: 2 * C].zero_()
    return model


def test_head_detection_reads_the_model_attention():
    model = uniform_attention_model()
    model.train()
    idx = torch.tensor(IDS)
    scores = gpt.head_detection(model, idx)
    assert model.training  # evaluation mode only for the length of the call
    assert set(scores) == {"previous_token", "duplicate_token", "induction"}
    for name, score in scores.items():
        expected = sum(uniform_share(ids, name) for ids in IDS) / len(IDS)
        assert score.shape == (2, 2)
        assert torch.allclose(score, torch.full((2, 2), expected), atol=1e-5), name
        assert ((0 <= score) & (score <= 1)).all()


def test_a_bigram_model_has_no_heads_to_detect():
    model = GPT(GPTConfig(vocab_size=10, block_size=16, bigram=True))
    with pytest.raises(ValueError, match="bigram model has no attention heads.*Train or load a GPT"):
        gpt.head_detection(model, torch.tensor(IDS))


def test_repeated_tokens_are_a_random_sequence_followed_by_itself():
    a = gpt.repeated_tokens(50, 12, 4, torch.Generator().manual_seed(3))
    b = gpt.repeated_tokens(50, 12, 4, torch.Generator().manual_seed(3))
    assert a.shape == (4, 24) and a.dtype == torch.int64
    assert torch.equal(a, b)  # the generator decides
    assert torch.equal(a[:, :12], a[:, 12:])
    assert 0 <= a.min() and a.max() < 50
    assert not torch.equal(a[0], a[1])
    with pytest.raises(ValueError, match="seq_len"):
        gpt.repeated_tokens(50, 0, 4)


def test_in_context_gain_compares_the_same_tokens_with_and_without_the_first_copy():
    torch.manual_seed(1)
    model = GPT(GPTConfig(vocab_size=10, block_size=16, n_layer=2, n_head=2, n_embd=16))
    idx = gpt.repeated_tokens(10, 8, 3, torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits, _ = model.eval()(idx)
    first, second = [], []
    for b in range(3):
        for t in range(15):
            loss = F.cross_entropy(logits[b, t], idx[b, t + 1]).item()
            if t <= 6:  # predicting tokens 1..7 of the first copy
                first.append(loss)
            elif 8 <= t <= 14:  # predicting tokens 1..7 of the second copy
                second.append(loss)
    expected = sum(first) / len(first) - sum(second) / len(second)
    assert gpt.in_context_gain(model, idx) == pytest.approx(expected, abs=1e-5)


def test_in_context_gain_needs_repeated_sequences():
    model = GPT(GPTConfig(vocab_size=10, block_size=16, n_layer=1, n_head=1, n_embd=8))
    with pytest.raises(ValueError, match="halves differ"):
        gpt.in_context_gain(model, torch.tensor([[1, 2, 3, 1, 2, 4]]))
    with pytest.raises(ValueError, match="followed by themselves"):
        gpt.in_context_gain(model, torch.tensor([[1, 2, 1]]))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        gpt.in_context_gain(model, torch.tensor([[1, 12, 1, 12]]))


def test_a_model_that_sees_only_the_current_token_gains_nothing():
    """The bigram table predicts each token of the second copy from the same token as in the
    first copy: with the positions counted as documented, the two halves' losses are equal."""
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=10, block_size=16, bigram=True))
    idx = gpt.repeated_tokens(10, 8, 4, torch.Generator().manual_seed(0))
    assert abs(gpt.in_context_gain(model, idx)) < 1e-6
