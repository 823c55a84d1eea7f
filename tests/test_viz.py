"""Tests for viz/: figure structure, labels, dtypes and input checks."""

import json

import numpy as np
import pytest
import torch

from viz import (
    head_grid,
    layers_overview,
    loss_curve,
    next_token_bars,
    single_head,
    token_labels,
)


def causal_attn(*lead, t):
    """Random causal attention (..., T, T): rows sum to 1, upper triangle 0."""
    scores = torch.randn(*lead, t, t)
    mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
    return torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)


def heatmaps(fig):
    return [tr for tr in fig.data if tr.type == "heatmap"]


# --- token labels ----------------------------------------------------------

def test_labels_unique_for_repeated_tokens():
    labels = token_labels(["the", " the", "the", "the"])
    assert len(set(labels)) == 4
    assert labels[0] == "0:the" and labels[2] == "2:the"


def test_whitespace_made_visible():
    labels = token_labels([" ", "\n", "\t", "a b"])
    assert labels == ["0:␣", "1:⏎", "2:⇥", "3:a␣b"]
    assert not any(ch in "".join(labels) for ch in " \n\t")


def test_long_piece_truncated():
    (label,) = token_labels(["x" * 40])
    piece = label.split(":", 1)[1]
    assert len(piece) <= 12 and piece.endswith("…")


# --- attention -------------------------------------------------------------

def test_head_grid_one_heatmap_per_head():
    pieces = "the the the cat".split(" ")
    attn = causal_attn(6, t=4)
    fig = head_grid(attn, pieces, layer=1)
    maps = heatmaps(fig)
    assert len(maps) == 6
    for h, tr in enumerate(maps):
        assert tr.z.dtype == np.float32 and tr.z.shape == (4, 4)
        np.testing.assert_allclose(tr.z, attn[h].numpy(), rtol=1e-6)
        assert len(set(tr.x)) == 4 and list(tr.x) == list(tr.y)
        assert tr.coloraxis == "coloraxis"
    assert len({(tr.xaxis, tr.yaxis) for tr in maps}) == 6  # distinct subplots
    assert fig.layout.coloraxis.cmin == 0 and fig.layout.coloraxis.cmax == 1
    assert fig.layout.title.text == "Layer 1 attention, one map per head"
    titles = {a.text for a in fig.layout.annotations}
    assert {f"head {h}" for h in range(6)} <= titles
    assert fig.layout.yaxis.autorange == "reversed"  # query 0 at top


def test_head_grid_at_most_four_columns():
    fig = head_grid(causal_attn(8, t=3), ["a", "b", "c"], layer=0)
    starts = {round(tr_ax.domain[0], 6) for tr_ax in _x_axes(fig)}
    assert len(starts) == 4


def _x_axes(fig):
    return [fig.layout[k] for k in fig.layout.to_plotly_json() if k.startswith("xaxis")]


def test_hovertemplate_names_query_key_weight():
    tr = heatmaps(head_grid(causal_attn(2, t=3), ["a", "b", "c"], layer=0))[0]
    for part in ("query", "%{y}", "key", "%{x}", "weight", "%{z:.3f}"):
        assert part in tr.hovertemplate
    assert tr.texttemplate is None and tr.text is None  # no per-cell text


def test_tick_labels_hidden_for_long_inputs():
    short = head_grid(causal_attn(2, t=5), list("abcde"), layer=0)
    assert short.layout.xaxis.showticklabels is True
    long_ = head_grid(causal_attn(2, t=60), ["w"] * 60, layer=0)
    assert all(ax.showticklabels is False for ax in _x_axes(long_))
    assert len(heatmaps(long_)[0].x) == 60  # hover still has the tokens


def test_single_head_numpy_input():
    attn = causal_attn(t=5).numpy().astype(np.float64)
    fig = single_head(attn, list("hello"), layer=2, head=3)
    (tr,) = heatmaps(fig)
    assert tr.z.dtype == np.float32 and tr.z.shape == (5, 5)
    assert "head 3" in fig.layout.title.text


def test_layers_overview_grid():
    attn = causal_attn(3, 4, t=6)
    fig = layers_overview(attn, list("abcdef"))
    maps = heatmaps(fig)
    assert len(maps) == 12
    assert all(tr.z.dtype == np.float32 and tr.z.shape == (6, 6) for tr in maps)
    np.testing.assert_allclose(maps[4 + 2].z, attn[1, 2].numpy(), rtol=1e-6)
    titles = {a.text for a in fig.layout.annotations}
    assert {"L0", "L1", "L2", "H0", "H3"} <= titles
    assert not any(ax.showticklabels for ax in _x_axes(fig))


@pytest.mark.parametrize(
    "call",
    [
        lambda: head_grid(causal_attn(2, t=4), list("abc"), layer=0),  # 3 pieces, T=4
        lambda: head_grid(causal_attn(t=4), list("abcd"), layer=0),  # 2-D, wants 3-D
        lambda: single_head(causal_attn(2, t=4), list("abcd"), 0, 0),  # 3-D, wants 2-D
        lambda: layers_overview(causal_attn(2, t=4), list("abcd")),  # 3-D, wants 4-D
        lambda: single_head(np.zeros((3, 4), np.float32), list("abc"), 0, 0),  # not square
    ],
)
def test_bad_inputs_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_figures_serialise_to_json():
    pieces = ["the", " ", "the", "\n"]
    figs = [
        head_grid(causal_attn(2, t=4), pieces, 0),
        single_head(causal_attn(t=4), pieces, 0, 1),
        layers_overview(causal_attn(2, 2, t=4), pieces),
        loss_curve([0, 1], [3.0, 2.5], [1], [2.7]),
        next_token_bars(pieces, [0.1, 0.2, 0.3, 0.4]),
    ]
    for fig in figs:
        assert json.loads(fig.to_json())["data"]


# --- loss ------------------------------------------------------------------

def test_loss_curve_holds_data():
    fig = loss_curve([0, 10, 20], [4.2, 3.1, 2.5], [10, 20], [3.3, 2.9])
    train, val = fig.data
    assert (train.name, val.name) == ("train", "val")
    np.testing.assert_array_equal(train.x, [0, 10, 20])
    np.testing.assert_allclose(train.y, [4.2, 3.1, 2.5], rtol=1e-6)
    np.testing.assert_array_equal(val.x, [10, 20])
    np.testing.assert_allclose(val.y, [3.3, 2.9], rtol=1e-6)
    assert "markers" in val.mode and "markers" not in train.mode
    assert fig.layout.xaxis.title.text == "step"
    assert fig.layout.yaxis.title.text == "cross-entropy loss (nats)"
    assert fig.layout.legend.orientation == "h"


def test_loss_curve_empty():
    fig = loss_curve([], [], [], [])
    assert len(fig.data) == 2 and all(len(tr.x) == 0 for tr in fig.data)
    assert any("Train" in a.text for a in fig.layout.annotations)
    fig.to_json()


def test_loss_curve_length_mismatch():
    with pytest.raises(ValueError):
        loss_curve([0, 1], [3.0], [], [])


# --- next-token probabilities ----------------------------------------------

def test_bars_most_likely_first():
    fig = next_token_bars(["a", "b", " c", "d"], torch.tensor([0.1, 0.5, 0.3, 0.1]))
    (bar,) = fig.data
    assert bar.orientation == "h"
    assert list(bar.y)[:2] == ["b", "␣c"]
    assert list(bar.x) == sorted(bar.x, reverse=True)
    assert fig.layout.yaxis.autorange == "reversed"  # first bar drawn at top
    assert "%" in bar.hovertemplate


def test_bars_labels_unique_and_top_k():
    pieces = ["\ufffd", "\ufffd", "x", "\n"] + [f"t{i}" for i in range(30)]
    probs = np.full(len(pieces), 0.01)
    probs[:4] = [0.3, 0.2, 0.1, 0.05]
    fig = next_token_bars(pieces, probs)
    (bar,) = fig.data
    assert len(bar.y) == 20
    assert len(set(bar.y)) == 20
    assert "⏎" in bar.y


def test_bars_mismatch_raises():
    with pytest.raises(ValueError):
        next_token_bars(["a", "b"], [1.0])
