"""Sampling on crafted logits: greedy, temperature, top-k and top-p against references."""

import math

import pytest
import torch

from gpt.sampling import check_sampling, filter_logits, sample_next

pytestmark = pytest.mark.usefixtures("one_thread")

# A known ranking: token 3 best, then 0, 5, 1, 4, 2 (six tokens).
LOGITS = torch.tensor([2.0, 0.5, -1.0, 3.0, -0.2, 1.1])
RANKING = [3, 0, 5, 1, 4, 2]


def rows(logits: torch.Tensor, n: int) -> torch.Tensor:
    return logits.unsqueeze(0).expand(n, -1).contiguous()


def frequencies(tokens: torch.Tensor, vocab: int) -> torch.Tensor:
    return torch.bincount(tokens.flatten(), minlength=vocab).double() / tokens.numel()


def reference_nucleus(probs: list[float], top_p: float) -> set[int]:
    """Smallest set of most likely tokens whose probabilities add up to at least top_p."""
    order = sorted(range(len(probs)), key=lambda i: -probs[i])
    kept, total = set(), 0.0
    for i in order:
        kept.add(i)
        total += probs[i]
        if total >= top_p:
            break
    return kept


def test_temperature_zero_is_argmax_per_row():
    logits = torch.randn(7, 11, generator=torch.Generator().manual_seed(0))
    out = sample_next(logits, temperature=0)
    assert out.shape == (7, 1) and out.dtype == torch.long
    assert torch.equal(out[:, 0], logits.argmax(-1))


def test_shape_and_dtype():
    out = sample_next(torch.randn(4, 9), generator=torch.Generator().manual_seed(0))
    assert out.shape == (4, 1) and out.dtype == torch.long
    assert ((out >= 0) & (out < 9)).all()


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
def test_empirical_distribution_matches_softmax_over_temperature(temperature):
    n = 40_000
    tokens = sample_next(rows(LOGITS, n), temperature=temperature, generator=torch.Generator().manual_seed(1))
    expected = torch.softmax(LOGITS.double() / temperature, dim=-1)
    assert (frequencies(tokens, 6) - expected).abs().max() < 0.01


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_top_k_only_picks_among_the_k_most_likely(k):
    n = 20_000
    tokens = sample_next(rows(LOGITS, n), temperature=1.5, top_k=k, generator=torch.Generator().manual_seed(k))
    freq = frequencies(tokens, 6)
    allowed = RANKING[:k]
    assert set(tokens.flatten().tolist()) == set(allowed)  # only these, and each of them
    expected = torch.zeros(6, dtype=torch.double)
    expected[allowed] = torch.softmax(LOGITS[allowed].double() / 1.5, dim=-1)  # renormalised
    assert (freq - expected).abs().max() < 0.015


@pytest.mark.parametrize("k", [6, 7, 100])
def test_top_k_at_least_vocab_changes_nothing(k):
    assert torch.equal(filter_logits(rows(LOGITS, 2), top_k=k), rows(LOGITS, 2))


def test_top_k_per_row():
    logits = torch.randn(50, 30, generator=torch.Generator().manual_seed(3))
    filtered = filter_logits(logits, top_k=4)
    for row, frow in zip(logits, filtered):
        kept = set(torch.isfinite(frow).nonzero().flatten().tolist())
        assert kept == set(torch.topk(row, 4).indices.tolist())
        assert torch.equal(frow[list(kept)], row[list(kept)])


@pytest.mark.parametrize(
    "top_p,nucleus",
    [(0.05, {0}), (0.4, {0}), (0.6, {0, 1}), (0.75, {0, 1}), (0.85, {0, 1, 2}), (0.97, {0, 1, 2, 3}), (1.0, {0, 1, 2, 3})],
)
def test_top_p_keeps_the_nucleus_of_crafted_probabilities(top_p, nucleus):
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    logits = probs.log()[[2, 0, 3, 1]]  # shuffled: tokens 1, 3, 0, 2 hold 0.5, 0.3, 0.15, 0.05
    position = {0: 1, 1: 3, 2: 0, 3: 2}  # rank -> token id
    expected = {position[r] for r in nucleus}
    n = 20_000
    tokens = sample_next(rows(logits, n), top_p=top_p, generator=torch.Generator().manual_seed(2))
    assert set(tokens.flatten().tolist()) == expected
    kept = torch.zeros(4, dtype=torch.double)
    kept[list(expected)] = probs.double()[[2, 0, 3, 1]][list(expected)]
    assert (frequencies(tokens, 4) - kept / kept.sum()).abs().max() < 0.015


def test_top_p_matches_reference_on_random_logits():
    g = torch.Generator().manual_seed(4)
    checked = 0
    for _ in range(300):
        logits = torch.randn(1, 12, generator=g) * 2
        top_p = float(torch.rand(1, generator=g)) * 0.98 + 0.01
        probs = torch.softmax(logits[0].double(), dim=-1).tolist()
        cumulative = sorted(probs, reverse=True)
        running = 0.0
        near_edge = False
        for p in cumulative:
            running += p
            near_edge |= abs(running - top_p) < 1e-4
        if near_edge:
            continue  # float rounding decides; not what this test is about
        kept = set(torch.isfinite(filter_logits(logits, top_p=top_p)[0]).nonzero().flatten().tolist())
        assert kept == reference_nucleus(probs, top_p)
        checked += 1
    assert checked > 250


def test_top_k_and_top_p_together():
    # top_k=3 keeps tokens 3, 0, 5; top_p then keeps their nucleus (renormalised among the three).
    filtered = filter_logits(rows(LOGITS, 1), top_k=3, top_p=0.6)[0]
    probs3 = torch.softmax(LOGITS[[3, 0, 5]], dim=-1).tolist()
    expected = {[3, 0, 5][i] for i in reference_nucleus(probs3, 0.6)}
    assert set(torch.isfinite(filtered).nonzero().flatten().tolist()) == expected


def test_tiny_top_p_keeps_only_the_best():
    logits = torch.randn(20, 9, generator=torch.Generator().manual_seed(5))
    out = sample_next(logits, top_p=1e-9, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out[:, 0], logits.argmax(-1))


def test_same_generator_seed_same_samples():
    logits = torch.randn(16, 10, generator=torch.Generator().manual_seed(6))
    a = sample_next(logits, generator=torch.Generator().manual_seed(3))
    b = sample_next(logits, generator=torch.Generator().manual_seed(3))
    c = sample_next(logits, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize(
    "temperature,top_k,top_p,name",
    [
        (-1.0, None, None, "temperature"),
        (float("nan"), None, None, "temperature"),
        (float("inf"), None, None, "temperature"),
        (None, None, None, "temperature"),
        (True, None, None, "temperature"),
        (1.0, 0, None, "top_k"),
        (1.0, -2, None, "top_k"),
        (1.0, 1.0, None, "top_k"),
        (1.0, True, None, "top_k"),
        (1.0, None, 0.0, "top_p"),
        (1.0, None, 1.0001, "top_p"),
        (1.0, None, float("nan"), "top_p"),
        (1.0, None, float("inf"), "top_p"),
        (1.0, None, "0.9", "top_p"),
    ],
)
def test_check_sampling_rejects(temperature, top_k, top_p, name):
    with pytest.raises(ValueError) as info:
        check_sampling(temperature, top_k, top_p)
    assert name in str(info.value)


@pytest.mark.parametrize("temperature,top_k,top_p", [(0, None, None), (0.0, 1, 1.0), (2, 50, 0.5), (1e-3, None, 1e-6)])
def test_check_sampling_accepts(temperature, top_k, top_p):
    check_sampling(temperature, top_k, top_p)  # raises on failure


def test_very_low_temperature_is_nearly_greedy():
    logits = torch.randn(30, 8, generator=torch.Generator().manual_seed(7))
    out = sample_next(logits, temperature=1e-4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out[:, 0], logits.argmax(-1))


def test_tiny_positive_temperature_behaves_like_greedy():
    check_sampling(1e-40, None, None)  # accepted
    logits = torch.tensor([[1.0, 2.0, 0.5], [0.3, -1.0, 0.2]])
    out = sample_next(logits, temperature=1e-40, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out[:, 0], logits.argmax(-1))
    assert math.isfinite(float(out.sum()))
