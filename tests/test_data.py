"""Train/validation split and random training windows."""

import pytest
import torch

from gpt import get_batch, split_ids
from gpt.data import step_batches

pytestmark = pytest.mark.usefixtures("one_thread")


def ids_of(n, seed=0, vocab=50):
    return torch.randint(vocab, (n,), generator=torch.Generator().manual_seed(seed)).tolist()


@pytest.mark.parametrize("n", [100, 1000, 1234])
def test_split_is_90_10_in_order(n):
    ids = ids_of(n)
    train, val = split_ids(ids, block_size=8)
    assert train.dtype == val.dtype == torch.long
    assert train.numel() + val.numel() == n
    assert val.numel() == n // 10
    assert torch.equal(torch.cat([train, val]), torch.tensor(ids))  # train first, val the tail


def test_split_accepts_tensors():
    ids = torch.arange(200, dtype=torch.int32)
    train, val = split_ids(ids, 8)
    assert train.dtype == torch.long and torch.equal(torch.cat([train, val]), ids.long())


@pytest.mark.parametrize("n,block_size", [(0, 8), (5, 8), (8, 8), (16, 16), (1, 1)])
def test_too_short_raises_naming_the_needed_length(n, block_size):
    with pytest.raises(ValueError) as info:
        split_ids(list(range(n)), block_size)
    msg = str(info.value)
    assert str(block_size + 1) in msg
    assert str(n) in msg


@pytest.mark.parametrize("n,block_size", [(9, 8), (10, 8), (12, 8), (2, 1)])
def test_barely_long_enough_keeps_a_full_training_window(n, block_size):
    train, val = split_ids(list(range(n)), block_size)
    assert train.numel() >= block_size + 1
    assert train.numel() + val.numel() == n
    assert val.numel() == 0 or val.numel() >= 2


def test_training_part_always_keeps_a_window():
    # 10% of 50 is 5, but block_size 47 needs 48 training tokens: the validation part shrinks.
    train, val = split_ids(list(range(50)), 47)
    assert train.numel() == 48 and val.numel() == 2


def test_get_batch_shapes_and_shifted_targets():
    ids = torch.tensor(ids_of(300, seed=1))
    x, y = get_batch(ids, block_size=8, batch_size=5, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (5, 8)
    assert x.dtype == y.dtype == torch.long
    for xr, yr in zip(x, y):
        starts = [s for s in range(300 - 8) if torch.equal(ids[s : s + 8], xr) and torch.equal(ids[s + 1 : s + 9], yr)]
        assert starts, "each row must be a window of the source ids and its one-step shift"


def test_get_batch_windows_of_distinct_ids():
    ids = torch.arange(100, 200)
    x, y = get_batch(ids, 16, 32, torch.Generator().manual_seed(3))
    start = x[:, 0] - 100
    expected_x = ids[start.unsqueeze(1) + torch.arange(16)]
    assert torch.equal(x, expected_x)
    assert torch.equal(y, expected_x + 1)


def test_get_batch_covers_every_window_start_and_no_more():
    ids = torch.arange(12)  # windows of 8+1 can start at 0, 1, 2, 3
    x, y = get_batch(ids, 8, 400, torch.Generator().manual_seed(0))
    assert set(x[:, 0].tolist()) == {0, 1, 2, 3}
    assert y.max() == 11


def test_get_batch_is_reproducible_with_a_seeded_generator():
    ids = torch.tensor(ids_of(500, seed=2))
    a = get_batch(ids, 8, 6, torch.Generator().manual_seed(42))
    b = get_batch(ids, 8, 6, torch.Generator().manual_seed(42))
    c = get_batch(ids, 8, 6, torch.Generator().manual_seed(43))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_get_batch_on_data_shorter_than_a_block_uses_what_there_is():
    ids = torch.arange(5)
    x, y = get_batch(ids, 8, 3, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (3, 4)
    assert torch.equal(x, torch.arange(4).expand(3, 4)) and torch.equal(y, torch.arange(1, 5).expand(3, 4))


def test_step_batches_alone_draws_as_get_batch_does():
    ids = torch.tensor(ids_of(300, seed=2))
    [(x, y)] = step_batches(ids, 8, 5, torch.Generator().manual_seed(4))
    x2, y2 = get_batch(ids, 8, 5, torch.Generator().manual_seed(4))
    assert torch.equal(x, x2) and torch.equal(y, y2)


def test_the_global_batch_does_not_depend_on_how_it_is_divided():
    """8 windows a step: 1 process x 8, 2 ranks x 4, 1 process x 4 x grad_accum 2, 2 ranks x
    2 x grad_accum 2: the same windows, in the same order."""
    ids = torch.arange(1000)

    def windows(batch_size, grad_accum=1, world_size=1):
        # Each rank has its own generator, seeded as every rank's is.
        shares = [step_batches(ids, 8, batch_size, torch.Generator().manual_seed(9), grad_accum, rank, world_size)
                  for rank in range(world_size)]
        return torch.cat([x for share in shares for x, _ in share])  # (8, T) in rank, micro-batch order

    whole = windows(8)
    assert whole.shape == (8, 8)
    for division in [(4, 1, 2), (4, 2, 1), (2, 2, 2), (1, 8, 1)]:
        assert torch.equal(windows(*division), whole), division
