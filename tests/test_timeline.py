"""The attention timeline: float16 snapshots, even thinning under a cap, its tensors and their
checks, and the difference of two snapshots."""

import pytest
import torch

from gpt import AttentionTimeline, GPTConfig, snapshot_diff
from gpt.timeline import MAPS, MAX_PROBE_TOKENS, MAX_SNAPSHOTS, MAX_TIMELINE_BYTES, PROBE, STEPS, snapshot_cap

CONFIG = GPTConfig(vocab_size=11, block_size=16, n_layer=2, n_head=3, n_embd=12)
PROBE_IDS = [1, 4, 2, 9, 0]


def causal_maps(*lead, t=len(PROBE_IDS), seed=0):
    """Random causal attention (..., T, T): rows sum to 1, zero above the diagonal."""
    gen = torch.Generator().manual_seed(seed)
    scores = torch.randn(*lead, t, t, generator=gen)
    future = torch.ones(t, t, dtype=torch.bool).triu(1)
    return scores.masked_fill(future, float("-inf")).softmax(-1)


def timeline_with(steps, cap=None):
    timeline = AttentionTimeline(PROBE_IDS, CONFIG, max_snapshots=cap)
    for k, step in enumerate(steps):
        timeline.add(step, causal_maps(2, 3, seed=k))
    return timeline


def test_add_keeps_a_float16_copy_on_the_cpu():
    timeline = AttentionTimeline(torch.tensor(PROBE_IDS), CONFIG)
    maps = causal_maps(2, 3)
    timeline.add(100, maps)
    maps.zero_()  # the caller's tensor is not the stored one
    (snapshot,) = timeline.snapshots
    assert snapshot.step == 100 and timeline.steps == [100] and len(timeline) == 1
    assert snapshot.maps.dtype == torch.float16 and snapshot.maps.device.type == "cpu"
    assert torch.allclose(snapshot.maps.float(), causal_maps(2, 3), atol=5e-4)  # float16 is good to ~5e-4


@pytest.mark.parametrize("shape", [(2, 3, 4, 4), (1, 3, 5, 5), (2, 2, 5, 5), (3, 5, 5)])
def test_add_refuses_maps_of_another_shape(shape):
    timeline = AttentionTimeline(PROBE_IDS, CONFIG)
    with pytest.raises(ValueError, match=r"\(2, 3, 5, 5\)"):
        timeline.add(1, torch.rand(shape))


@pytest.mark.parametrize("second", [50, -1, 1.5, True])
def test_steps_must_increase(second):
    timeline = timeline_with([100])
    with pytest.raises(ValueError, match="increase"):
        timeline.add(second, causal_maps(2, 3))
    assert timeline.steps == [100]


def test_the_latest_step_again_replaces_its_snapshot():
    timeline = timeline_with([100, 200], cap=2)
    timeline.add(200, causal_maps(2, 3, seed=9))
    assert timeline.steps == [100, 200]
    assert torch.allclose(timeline.snapshots[-1].maps.float(), causal_maps(2, 3, seed=9), atol=5e-4)
    # The repeat is not another evaluation: the spacing stays even.
    timeline = timeline_with([1, 2, 3], cap=3)
    timeline.add(3, causal_maps(2, 3))
    timeline.add(4, causal_maps(2, 3))
    timeline.add(5, causal_maps(2, 3))
    assert timeline.steps == [1, 3, 5]


@pytest.mark.parametrize("cap", [2, 3, 7, MAX_SNAPSHOTS])
def test_thinning_keeps_first_and_latest_evenly_spaced_and_bounded(cap):
    timeline = AttentionTimeline(PROBE_IDS, CONFIG, max_snapshots=cap)
    maps = causal_maps(2, 3)
    interval = 25  # evaluations every 25 steps
    for n in range(1, 8 * cap + 40):
        timeline.add(n * interval, maps)
        steps = timeline.steps
        assert min(n, cap // 2 + 1) <= len(steps) <= cap
        assert steps[0] == interval and steps[-1] == n * interval  # the first and the latest
        gaps = [b - a for a, b in zip(steps, steps[1:])]
        if len(gaps) >= 2:
            grid = gaps[:-1]
            assert len(set(grid)) == 1, steps  # evenly spaced ...
            assert 0 < gaps[-1] <= grid[0], steps  # ... the latest at most one spacing after
    assert len(timeline) < 8 * cap  # it did thin


def test_thinning_with_an_irregular_last_step():
    # A run stopped early evaluates once more, off the eval_interval grid.
    timeline = timeline_with([10 * k for k in range(1, 30)] + [293], cap=6)
    steps = timeline.steps
    assert len(steps) <= 6 and steps[0] == 10 and steps[-1] == 293
    grid = [b - a for a, b in zip(steps[:-1], steps[1:-1])]
    assert len(set(grid)) == 1


def test_cap_shrinks_for_models_with_many_heads():
    small = snapshot_cap(2, 4, 48)
    assert small == MAX_SNAPSHOTS
    big = snapshot_cap(4, 32, MAX_PROBE_TOKENS)
    snapshot_bytes = 4 * 32 * MAX_PROBE_TOKENS**2 * 2  # float16
    assert 2 < big < MAX_SNAPSHOTS
    assert big * snapshot_bytes <= MAX_TIMELINE_BYTES < (big + 1) * snapshot_bytes  # as many as fit
    assert snapshot_cap(10_000, 32, 64) == 2  # always room for the first and the latest


@pytest.mark.parametrize("cap", [1, 0, MAX_SNAPSHOTS + 1, 2.5])
def test_max_snapshots_is_checked(cap):
    with pytest.raises(ValueError, match="max_snapshots"):
        AttentionTimeline(PROBE_IDS, CONFIG, max_snapshots=cap)


@pytest.mark.parametrize(
    "probe,match",
    [([], "1 to 16"), (list(range(11)) + [0] * 6, "1 to 16"), ([0, 11], "vocabulary"), ([0, -1], "vocabulary"), ([0.5], "vocabulary")],
    ids=["empty", "longer_than_context", "id_too_big", "negative_id", "not_whole"],
)
def test_probe_is_checked(probe, match):
    with pytest.raises(ValueError, match=match):
        AttentionTimeline(probe, CONFIG)


def test_probe_is_at_most_64_tokens_even_with_a_longer_context():
    config = GPTConfig(vocab_size=11, block_size=128, n_layer=1, n_head=1, n_embd=4)
    AttentionTimeline([0] * MAX_PROBE_TOKENS, config)
    with pytest.raises(ValueError, match=f"1 to {MAX_PROBE_TOKENS}"):
        AttentionTimeline([0] * (MAX_PROBE_TOKENS + 1), config)


def test_tensors_round_trip():
    timeline = timeline_with([5, 10, 15, 20], cap=3)
    tensors = timeline.to_tensors()
    assert tensors[PROBE].dtype == torch.int64 and tensors[PROBE].tolist() == PROBE_IDS
    assert tensors[STEPS].dtype == torch.int64 and tensors[STEPS].tolist() == timeline.steps
    assert tensors[MAPS].dtype == torch.float16 and tensors[MAPS].shape == (len(timeline), 2, 3, 5, 5)
    back = AttentionTimeline.from_tensors(tensors, CONFIG)
    assert back.probe_ids == PROBE_IDS and back.steps == timeline.steps
    for a, b in zip(back.snapshots, timeline.snapshots):
        assert torch.equal(a.maps, b.maps)
    back.add(25, causal_maps(2, 3))  # a loaded timeline goes on
    assert back.steps == timeline.steps + [25] and back.max_snapshots == snapshot_cap(2, 3, 5)


def test_an_empty_timeline_has_no_tensors():
    with pytest.raises(ValueError, match="no snapshots"):
        AttentionTimeline(PROBE_IDS, CONFIG).to_tensors()


def test_maps_stacks_the_snapshots():
    timeline = timeline_with([1, 2, 3])
    assert timeline.maps.shape == (3, 2, 3, 5, 5) and timeline.maps.dtype == torch.float16
    for k, snapshot in enumerate(timeline.snapshots):
        assert torch.equal(timeline.maps[k], snapshot.maps)


def test_snapshot_diff():
    a, b = causal_maps(2, 3, seed=1).half(), causal_maps(2, 3, seed=2).half()
    diff = snapshot_diff(a, b)
    assert diff.dtype == torch.float32 and diff.shape == a.shape
    assert torch.equal(a.float() + diff, b.float())
    assert torch.equal(snapshot_diff(a, a), torch.zeros(a.shape))
    assert torch.allclose(diff.sum(-1), torch.zeros(2, 3, 5), atol=1e-2)  # rows of both sum to 1
    with pytest.raises(ValueError, match="same shape"):
        snapshot_diff(a, b[:, :2])
    with pytest.raises(ValueError):
        snapshot_diff(a, b.tolist())
