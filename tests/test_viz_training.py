"""viz for watching training: head metrics over steps, the difference of two snapshots, and
the surprise strip (structure, values, translatable text, escaping)."""

import html
import json
import math
import re

import numpy as np
import pytest
import torch

from locales import text
from viz import head_grid, head_grid_diff, head_metrics_figure, surprise_strip
from viz.attention import DIFF_MIN_RANGE


def metrics(s=3, layers=2, heads=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {name: torch.rand(s, layers, heads, generator=gen) for name in ("entropy", "previous", "first", "itself")}


# --- head metrics over training ---------------------------------------------------------------


def test_one_panel_per_metric_and_one_line_per_head_in_each():
    m = metrics()
    fig = head_metrics_figure([100, 200, 300], m)
    assert len(fig.data) == 4 * 2 * 3
    panels = {(tr.xaxis, tr.yaxis) for tr in fig.data}
    assert len(panels) == 4
    for k, (name, values) in enumerate(m.items()):
        lines = fig.data[k * 6 : (k + 1) * 6]
        assert {(tr.xaxis, tr.yaxis) for tr in lines} == {("x" if k == 0 else f"x{k + 1}", "y" if k == 0 else f"y{k + 1}")}
        for tr, (layer, head) in zip(lines, [(la, h) for la in range(2) for h in range(3)]):
            assert tr.name == f"L{layer} H{head}"
            np.testing.assert_array_equal(tr.x, [100, 200, 300])
            np.testing.assert_allclose(tr.y, values[:, layer, head].numpy(), rtol=1e-6)
            assert "%{y:.3f}" in tr.hovertemplate and f"L{layer} H{head}" in tr.hovertemplate
    # A head has one colour and one legend entry across the panels.
    for head in range(6):
        same = fig.data[head::6]
        assert len({tr.line.color for tr in same}) == 1 and [tr.showlegend for tr in same] == [True, False, False, False]
        assert len({tr.legendgroup for tr in same}) == 1
    assert len({tr.line.color for tr in fig.data[:6]}) == 6
    assert all(list(fig.layout[f"yaxis{'' if k == 0 else k + 1}"].range) == [-0.03, 1.03] for k in range(4))


def test_on_a_phone_the_panels_stack_one_under_another():
    def x_domains(fig):
        return sorted({tuple(fig.layout[f"xaxis{'' if k == 0 else k + 1}"].domain) for k in range(4)})

    assert len(x_domains(head_metrics_figure([1, 2, 3], metrics(), width_px=1200))) == 2  # two columns
    narrow = head_metrics_figure([1, 2, 3], metrics(), width_px=390)
    assert x_domains(narrow) == [(0.0, 1.0)]  # one column, the full width
    assert narrow.layout.height > head_metrics_figure([1, 2, 3], metrics()).layout.height


def test_every_visible_string_is_in_the_language_asked_for():
    fig = head_metrics_figure([1, 2, 3], metrics(), lang="es")
    titles = {text(f"viz.metrics.{name}", "es") for name in ("entropy", "previous", "first", "itself")}
    assert fig.layout.title.text == text("viz.metrics.title", "es")
    assert titles <= {a.text for a in fig.layout.annotations}
    assert fig.layout.xaxis3.title.text == "paso" and fig.layout.xaxis4.title.text == "paso"  # the bottom row
    assert not fig.layout.xaxis.title.text  # above, the same steps are not named again
    assert fig.data[0].name == text("viz.metrics.head", "es", layer=0, head=0) and "paso" in fig.data[0].hovertemplate
    assert text("viz.metrics.entropy", "es") in fig.data[0].hovertemplate
    english = json.dumps(fig.to_plotly_json(), default=str)
    for word in ("step", "share", "entropy (", "What each head"):
        assert word not in english


def test_metrics_figure_checks_shapes_and_handles_no_snapshots():
    with pytest.raises(ValueError, match="snapshots"):
        head_metrics_figure([1, 2], metrics(s=3))
    with pytest.raises(ValueError):
        head_metrics_figure([1, 2, 3], {"entropy": torch.rand(3, 2, 3), "previous": torch.rand(3, 2, 2)})
    empty = head_metrics_figure([], metrics(s=0), lang="es")
    assert text("viz.metrics.empty", "es") in {a.text for a in empty.layout.annotations}
    assert "No snapshots yet" in {a.text for a in head_metrics_figure([], metrics(s=0)).layout.annotations}
    empty.to_json()


# --- the difference of two snapshots ----------------------------------------------------------


def causal(*lead, t, seed):
    gen = torch.Generator().manual_seed(seed)
    scores = torch.randn(*lead, t, t, generator=gen)
    return scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)


def test_diff_grid_is_diverging_symmetric_and_laid_out_like_head_grid():
    pieces = ["the", " ", "cat", "the"]
    diff = causal(5, t=4, seed=2) - causal(5, t=4, seed=1)
    fig = head_grid_diff(diff, pieces, layer=1)
    plain = head_grid(causal(5, t=4, seed=2), pieces, layer=1)
    maps = [tr for tr in fig.data if tr.type == "heatmap"]
    assert len(maps) == 5
    for h, tr in enumerate(maps):
        np.testing.assert_allclose(tr.z, diff[h].numpy(), rtol=1e-6)
        assert (tr.xaxis, tr.yaxis) == (plain.data[h].xaxis, plain.data[h].yaxis)
        assert list(tr.x) == list(plain.data[h].x)
        assert "%{z:+.3f}" in tr.hovertemplate
    axis = fig.layout.coloraxis
    limit = float(diff.abs().max())
    assert axis.cmid == 0 and axis.cmax == pytest.approx(limit) and axis.cmin == pytest.approx(-limit)
    colors = [c[1] for c in axis.colorscale]
    assert colors[0] != colors[-1] and "RdBu" not in str(plain.layout.coloraxis.colorscale)
    assert fig.layout.title.text == "Layer 1: change in attention"
    assert {a.text for a in fig.layout.annotations} == {a.text for a in plain.layout.annotations}


def test_diff_grid_never_stretches_rounding_to_full_colour():
    tiny = torch.zeros(2, 3, 3)
    tiny[0, 1, 0] = 1e-3
    fig = head_grid_diff(tiny, list("abc"), layer=0)
    assert fig.layout.coloraxis.cmax == DIFF_MIN_RANGE and fig.layout.coloraxis.cmin == -DIFF_MIN_RANGE


def test_diff_grid_text_is_in_the_language_asked_for_and_input_checked():
    diff = torch.zeros(2, 3, 3)
    fig = head_grid_diff(diff, list("abc"), 0, lang="es")
    assert fig.layout.title.text == "Capa 0: cambio en la atención" and fig.layout.coloraxis.colorbar.title.text == "cambio"
    assert {a.text for a in fig.layout.annotations} == {"cabeza 0", "cabeza 1"}
    assert fig.data[0].hovertemplate.startswith(text("viz.attention.diff_hover", "es"))
    assert head_grid_diff(diff, list("abc"), 0).layout.title.text == "Layer 0: change in attention"
    with pytest.raises(ValueError):
        head_grid_diff(torch.zeros(2, 3, 3), list("ab"), 0)
    bad = torch.zeros(2, 3, 3)
    bad[1, 2, 2] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        head_grid_diff(bad, list("abc"), 0)


# --- the surprise strip -----------------------------------------------------------------------

CHIP = re.compile(r'<span class="tok"(?: style="background: (rgb\([^)]*\)); color: ([^"]*)" data-surprise="([^"]*)")? '
                  r'title="([^"]*)">([^<]*)</span>')


def chips(strip):
    return CHIP.findall(strip)


def test_strip_one_chip_per_token_coloured_by_surprise():
    pieces = ["T", "o", " ", "b", "e"]
    losses = torch.tensor([0.1, 2.0, 0.5, 4.0])
    guesses = [[("o", 0.9), ("h", 0.05)], [("e", 0.5)], [("b", 0.6), ("d", 0.3)], [("e", 0.01)]]
    strip = surprise_strip(pieces, losses, guesses)
    assert strip.startswith('<div class="tokens surprise-strip">') and strip.endswith("</div>")
    found = chips(strip)
    assert [html.unescape(c[4]) for c in found] == ["T", "o", "␣", "b", "e"]  # whitespace made visible
    assert found[0][0] == ""  # the first token: nothing predicted it, no colour
    assert [float(c[2]) for c in found[1:]] == pytest.approx(losses.tolist())
    # Sequential: the more surprising, the darker the chip.
    darkness = [-sum(float(v) for v in c[0][4:-1].split(",")) for c in found[1:]]
    order = np.argsort(losses.numpy())
    assert all(darkness[a] < darkness[b] for a, b in zip(order, order[1:]))
    assert found[4][1] == "#fff" and found[1][1] == "#111"  # text readable on dark and light
    title = html.unescape(found[2][3])
    assert title.splitlines() == [
        f"surprise 2.00 nats (p = {math.exp(-2.0):.1%})", "the model expected:", "e  50.0%",
    ]


def test_strip_scale_can_be_fixed():
    pieces, losses = ["a", "b", "c"], [1.0, 2.0]
    own = chips(surprise_strip(pieces, losses))
    fixed = chips(surprise_strip(pieces, losses, max_surprise=4.0))
    assert own[2][0] != fixed[2][0]  # 2.0 is the darkest of its own scale, halfway on a scale to 4
    assert chips(surprise_strip(pieces, losses, max_surprise=2.0))[2][0] == own[2][0]
    assert chips(surprise_strip(pieces, [1.0, float("inf")]))[2][0] == chips(surprise_strip(pieces, [1.0, 50.0]))[2][0]


def test_strip_escapes_everything_and_speaks_the_language_asked_for():
    pieces = ['<script>alert("x")</script>', "&amp;", "'"]
    guesses = [[('"><img src=x onerror=alert(1)>', 0.7)], [("<b>", 0.2)]]
    strip = surprise_strip(pieces, [0.3, 1.2], guesses, lang="es")
    assert "<script>" not in strip and "<img" not in strip and "<b>" not in strip
    assert strip.count("<span") == 3 and strip.count('title="') == 3
    found = chips(strip)
    assert html.unescape(found[0][3]) == text("viz.surprise.first", "es")
    assert html.unescape(found[1][3]).splitlines() == [
        "sorpresa 0.30 nats (p = 74.1%)", "el modelo esperaba:", '"><img␣src=x␣onerror=al…  70.0%'
    ]
    assert html.unescape(found[1][4]) == "&amp;"
    titles = " ".join(html.unescape(c[3]) for c in found)
    for word in ("surprise", "expected", "first token"):
        assert word not in titles


@pytest.mark.parametrize(
    "pieces,losses,guesses",
    [
        (["a", "b"], [1.0, 2.0], None),  # one surprise too many
        (["a", "b", "c"], [1.0], None),
        ([], [], None),
        (["a", "b"], [1.0], [[("x", 0.5)], [("y", 0.5)]]),  # guesses for two tokens, one surprise
        (["a", "b"], [float("nan")], None),
        (["a", "b"], [-1.0], None),
    ],
)
def test_strip_checks_its_input(pieces, losses, guesses):
    with pytest.raises(ValueError, match="surprise_strip"):
        surprise_strip(pieces, losses, guesses)


def test_a_single_token_is_one_plain_chip():
    found = chips(surprise_strip(["a"], []))
    assert len(found) == 1 and found[0][0] == ""
