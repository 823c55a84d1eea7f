"""Head metrics against a plain per-row reference, and tags on hand-made attention maps."""

import math

import pytest
import torch

from gpt.head_metrics import BROAD_ENTROPY, PATTERN_SHARE, head_metrics, tag_heads

T = 10


def one_hot_rows(key_of_row, t=T):
    """(T, T) map where row i puts all its weight on key key_of_row(i) (row 0 on key 0)."""
    a = torch.zeros(t, t)
    for i in range(t):
        a[i, key_of_row(i) if i > 0 else 0] = 1.0
    return a


def previous_token(t=T):
    return one_hot_rows(lambda i: i - 1, t)


def first_token(t=T):
    return one_hot_rows(lambda i: 0, t)


def diagonal(t=T):
    return one_hot_rows(lambda i: i, t)


def uniform(t=T):
    return torch.ones(t, t).tril() / torch.arange(1, t + 1).view(t, 1)


def mix(*weighted):
    return sum(w * m for w, m in weighted)


def reference(a):
    """The documented definitions, one row at a time, for one (T, T) map."""
    entropy, previous, first, itself = [], [], [], []
    for i in range(2, a.shape[0]):
        row = a[i, : i + 1].double()
        entropy.append(-sum(float(p) * math.log(float(p)) for p in row if p > 0) / math.log(i + 1))
        previous.append(float(row[i - 1]))
        first.append(float(row[0]))
        itself.append(float(row[i]))
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    return mean(entropy), mean(previous), mean(first), mean(itself)


def random_causal(*lead, t=T, seed=0):
    gen = torch.Generator().manual_seed(seed)
    scores = 2 * torch.randn(*lead, t, t, generator=gen)
    return scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)


def test_matches_the_per_row_reference_on_random_maps():
    maps = random_causal(3, 4)  # (L, H, T, T)
    m = head_metrics(maps)
    for x in (m.entropy, m.previous, m.first, m.itself):
        assert x.shape == (3, 4) and x.dtype == torch.float32
        assert bool(((x >= 0) & (x <= 1 + 1e-6)).all())
    for layer in range(3):
        for head in range(4):
            want = reference(maps[layer, head])
            got = (m.entropy[layer, head], m.previous[layer, head], m.first[layer, head], m.itself[layer, head])
            assert [float(g) for g in got] == pytest.approx(want, abs=1e-5)


@pytest.mark.parametrize(
    "make,values,tag",
    [
        (previous_token, dict(entropy=0.0, previous=1.0, first=0.0, itself=0.0), "previous-token"),
        (first_token, dict(entropy=0.0, previous=0.0, first=1.0, itself=0.0), "first-token"),
        (diagonal, dict(entropy=0.0, previous=0.0, first=0.0, itself=1.0), "self"),
        (uniform, dict(entropy=1.0), "broad"),
    ],
    ids=["previous_token", "first_token", "diagonal", "uniform"],
)
def test_pure_heads(make, values, tag):
    m = head_metrics(make().view(1, T, T))  # one layer with one head
    for name, value in values.items():
        assert float(getattr(m, name)[0]) == pytest.approx(value, abs=1e-6), name
    assert tag_heads(m) == [tag]


def test_uniform_shares_are_one_over_the_row_length():
    m = head_metrics(uniform().view(1, T, T))
    expected = sum(1 / (i + 1) for i in range(2, T)) / (T - 2)
    for share in (m.previous, m.first, m.itself):
        assert float(share[0]) == pytest.approx(expected, rel=1e-6)


def test_a_mixed_head_gets_no_tag():
    # Half on the previous token, half on the first: neither dominates, and it is far from uniform.
    m = head_metrics(mix((0.5, previous_token()), (0.5, first_token())).view(1, T, T))
    assert float(m.previous[0]) == pytest.approx(0.5) and float(m.first[0]) == pytest.approx(0.5)
    assert float(m.entropy[0]) < BROAD_ENTROPY
    assert tag_heads(m) == [None]


def test_tags_switch_at_the_thresholds():
    just_above = mix((PATTERN_SHARE + 0.01, previous_token()), (1 - PATTERN_SHARE - 0.01, uniform()))
    just_below = mix((PATTERN_SHARE - 0.05, previous_token()), (1 - PATTERN_SHARE + 0.05, diagonal()))
    nearly_uniform = mix((0.97, uniform()), (0.03, diagonal()))
    heads = torch.stack([just_above, just_below, nearly_uniform])  # (3, T, T)
    m = head_metrics(heads)
    assert float(m.previous[0]) >= PATTERN_SHARE > float(m.previous[1])
    assert float(m.itself[1]) < PATTERN_SHARE and float(m.entropy[1]) < BROAD_ENTROPY
    assert float(m.entropy[2]) >= BROAD_ENTROPY
    assert tag_heads(m) == ["previous-token", None, "broad"]


def test_tags_keep_the_leading_shape():
    heads = torch.stack([previous_token(), first_token(), diagonal(), uniform()])  # (4, T, T)
    timeline = torch.stack([heads, heads.flip(0)]).view(2, 1, 4, T, T)  # (S=2, L=1, H=4, T, T)
    m = head_metrics(timeline.half())  # float16, as a timeline stores them
    assert m.previous.shape == (2, 1, 4)
    tags = tag_heads(m)
    assert tags == [
        [["previous-token", "first-token", "self", "broad"]],
        [["broad", "self", "first-token", "previous-token"]],
    ]


def test_row_one_counts_for_neither_previous_nor_first():
    # Rows 0 and 1 are excluded: changing them changes nothing.
    a, b = previous_token(), previous_token()
    b[1] = torch.tensor([0.0, 1.0] + [0.0] * (T - 2))
    ma, mb = head_metrics(a.view(1, T, T)), head_metrics(b.view(1, T, T))
    for name in ("entropy", "previous", "first", "itself"):
        assert torch.equal(getattr(ma, name), getattr(mb, name))


@pytest.mark.parametrize("shape", [(2, 2), (1, 2, 2), (1, 4, 5), (1, 1, 2, 2)])
def test_bad_shapes_are_refused(shape):
    with pytest.raises(ValueError, match="head_metrics"):
        head_metrics(torch.rand(shape))
