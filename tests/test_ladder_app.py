"""The lecture's ladder in the app (ui/ladder.py, ui/ladder_panel.py, viz/ladder.py): it runs as one of
the session's trainings (the queue, Stop, one training at a time), leaves the session's model alone,
and shows every stage's curve and a 7-row table; the views that a stage of the ladder lacks
(attention for a bigram model, the Learn page for any earlier stage) say so, in both languages.
The page itself, in Chromium, is the last test."""

from __future__ import annotations

import re
import threading

import pytest
import torch
from apps import Watcher, open_tab, serving, shoot, wait_for_load_events

import gpt
from gpt import GPT, GPTConfig, make_tokenizer
from gpt.errors import UserError
from gpt.ladder import stages_for
from locales import error_text, text
from ui import attention, ladder, learn, training, training_queue
from ui.clients import Client
from ui.sessions import ModelHandle, SessionRegistry
from viz.ladder import Curve, Row, ladder_curves, ladder_table

pytestmark = [
    pytest.mark.usefixtures("one_thread"),
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated"),
]

TEXT = "ROMEO:\nBut soft, what light through yonder window breaks? It is the east, and Juliet is the sun.\n" * 12
STAGE_COUNT = len(stages_for(torch.device("cpu")))


@pytest.fixture
def registry(tmp_path) -> SessionRegistry:
    tokenizer = make_tokenizer("char", TEXT)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=1, n_head=1, n_embd=16))
    return SessionRegistry(default=ModelHandle.serving(model, tokenizer, {}, "bundled", "tiny"), workdir=tmp_path / "s")


def table_rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr[^>]*>.*?</tr>", body)


# --- the run, as the panel consumes it ------------------------------------------------------------


def test_the_ladder_runs_every_stage_and_leaves_the_sessions_model_alone(registry):
    queue = training_queue.TrainingQueue(slots=1, max_waiting=1)
    before = registry.model("s1")
    updates = list(ladder.run_ladder(registry, queue, "s1", TEXT, "char", "es", device="cpu", seconds=0.2))
    last = updates[-1]
    assert last.finished and "La escalera ha terminado" in last.status and "no ha cambiado" in last.status
    rows = table_rows(last.table)
    assert len(rows) == STAGE_COUNT and all("—" not in row for row in rows)  # every stage measured
    assert "1. bigramas" in rows[0] and "pérdida de la clase" in last.table
    assert [trace.name for trace in last.figure.data] == [re.search(r"\d\. [^<]+", r).group(0) for r in rows]
    assert all(len(trace.x) >= 1 for trace in last.figure.data)
    assert registry.model("s1") is before and registry.job("s1") is None and len(queue) == 0


def test_stop_ends_the_ladder_and_a_second_training_waits_for_it(registry):
    queue = training_queue.TrainingQueue(slots=1, max_waiting=1)
    updates, started = [], threading.Event()

    def run():
        for update in ladder.run_ladder(registry, queue, "s1", TEXT, "char", "en", device="cpu", seconds=20):
            updates.append(update)
            if "Stage 1 of" in update.status:
                started.set()

    worker = threading.Thread(target=run)
    worker.start()
    assert started.wait(60)
    with pytest.raises(ValueError, match="already have a training running"):  # one training per session
        next(ladder.run_ladder(registry, queue, "s1", TEXT, "char", "en", device="cpu", seconds=1))
    assert training.stop_training(registry, queue, "s1") == text("train.stop.stopping")
    worker.join(60)
    assert not worker.is_alive()
    last = updates[-1]
    assert last.finished and last.status.startswith("**Stopped.** 0 of") and "(stopped)" in last.table
    rows = table_rows(last.table)
    assert "(stopped)" in rows[0] and all("—" in row for row in rows[1:])  # nothing after the stopped stage
    assert registry.job("s1") is None and len(queue) == 0


def test_a_ladder_waits_its_turn_and_can_leave_the_line(registry):
    queue = training_queue.TrainingQueue(slots=1, max_waiting=1)
    holder = training_queue.TrainingJob("someone")
    queue.join(holder)  # the only slot is taken
    run = ladder.run_ladder(registry, queue, "s1", TEXT, "char", "en", device="cpu", seconds=1)
    assert "1 training is ahead of yours" in next(run).status
    training.stop_training(registry, queue, "s1")
    assert [u.status for u in run] == [text("ladder.status.cancelled")]
    assert registry.job("s1") is None and list(queue._order) == [holder]


@pytest.mark.parametrize("training_text, tokenizer, words", [
    ("   ", "char", "only whitespace"),
    ("Too short.", "char", "the ladder's longest context"),
    (TEXT, "words", "tokenizer must be 'char' or 'bpe'"),
], ids=["blank", "short", "tokenizer"])
def test_bad_requests_are_refused_and_leave_nothing_behind(registry, training_text, tokenizer, words):
    queue = training_queue.TrainingQueue(slots=1, max_waiting=1)
    with pytest.raises(ValueError, match=words):
        list(ladder.run_ladder(registry, queue, "s1", training_text, tokenizer, device="cpu", seconds=1))
    assert registry.job("s1") is None and len(queue) == 0


def test_the_per_stage_seconds_come_from_the_environment():
    assert ladder.seconds_per_stage({}) == 15.0
    assert ladder.seconds_per_stage({ladder.SECONDS_VARIABLE: "0.5"}) == 0.5
    for bad in ("0", "-1", "61", "soon", "nan"):
        with pytest.raises(ValueError, match="MIRADOR_LADDER_SECONDS must be a number of seconds above 0"):
            ladder.seconds_per_stage({ladder.SECONDS_VARIABLE: bad})


# --- the figure and the table ---------------------------------------------------------------------


def test_the_curves_share_the_time_axis_and_keep_their_colours():
    curves = [Curve("1. bigram", [1.0, 2.0], [2.6, 2.5], [100, 200]), Curve("2. one head", [1.5], [2.4], [90])]
    fig = ladder_curves(curves, total_stages=7)
    assert [t.name for t in fig.data] == ["1. bigram", "2. one head"]
    assert list(fig.data[0].x) == [1.0, 2.0] and list(fig.data[0].customdata) == [100, 200]
    assert fig.layout.xaxis.title.text == text("viz.ladder.x_axis")
    full = ladder_curves(curves + [Curve(f"{i}.", [1.0], [2.0], [1]) for i in range(3, 8)], total_stages=7)
    assert fig.data[1].line.color == full.data[1].line.color  # a stage's colour does not move as others arrive
    assert len({t.line.color for t in full.data}) == 7
    empty = ladder_curves([], 7, "es")
    assert empty.layout.annotations[0].text == text("viz.ladder.empty", "es")
    with pytest.raises(ValueError, match="2 times, 1 losses"):
        ladder_curves([Curve("x", [1.0, 2.0], [2.0], [1, 2])], 7)


def test_the_table_escapes_what_it_shows():
    rows = [Row("1. <b>", "a & b", 4225, 10, 1.5, 2.5, "≈2.49"), Row("2. x", "y", 10, None, None, None, "2.28")]
    html = ladder_table(rows, "note <i>", "en")
    assert "<b>" not in html and "&lt;b&gt;" in html and "a &amp; b" in html and "note &lt;i&gt;" in html
    first, second = table_rows(html)
    assert "4,225" in first and "2.500" in first and "≈2.49" in first
    assert "class='running'" in second and second.count("—") == 3


# --- what an earlier stage of the lecture lacks ---------------------------------------------------


def handle_of(**switches) -> ModelHandle:
    tokenizer = make_tokenizer("char", TEXT)
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16, **switches)
    return ModelHandle.serving(GPT(config), tokenizer, {}, "uploaded", "a stage")


def test_a_bigram_model_has_no_attention_to_show():
    handle = handle_of(bigram=True)
    with pytest.raises(ValueError, match="A bigram model has no attention") as refused:
        attention.grid_figure(handle, "But soft", 0)
    assert "no tiene atención" in attention.note_html(refused.value, "es")
    assert handle.model.generate(torch.tensor([[1]]), 5).shape == (1, 6)  # it still writes


def test_an_earlier_stage_still_shows_its_attention():
    handle = handle_of(residual=False, layer_norm=False, mlp=False)
    figure = attention.grid_figure(handle, "But soft", 0)
    assert len([t for t in figure.data if t.type == "heatmap"]) == 2  # its two heads


@pytest.mark.parametrize("switches", [dict(bigram=True), dict(layer_norm=False), dict(mlp=False, residual=False)])
def test_the_learn_page_says_it_follows_the_full_gpt(switches):
    handle = handle_of(**switches)
    with pytest.raises(ValueError, match="The Learn page follows the full GPT"):
        learn.views(handle, learn.references(TEXT), "But soft", learn.Controls(), "en", Client(width_px=1400))


@pytest.mark.parametrize("error, message", [
    (UserError("model.bigram_attention"),
     "A bigram model has no attention: each token predicts the next from itself alone. Load or train a GPT to see attention."),
    (UserError("learn.earlier_stage"),
     "The Learn page follows the full GPT, and this model is one of the lecture's earlier stages. "
     "Load or train a full model to follow it."),
    (UserError("ladder.text_too_short", count=11, context=32, needed=33),
     "The text is 11 tokens long; the ladder's longest context is 32 tokens, so it needs at least 33. Give a longer text."),
    (UserError("ladder.too_many_parameters", stage="bigram", count=25_000_000, tokens=5_000, limit=12_000_000),
     "The bigram stage would have 25,000,000 parameters for this text's 5,000 tokens; the limit is 12,000,000. "
     "Use the char tokenizer."),
])
def test_what_a_user_can_meet_here_is_spanish_too(error, message):
    assert str(error) == error_text(error, "en") == message
    assert error_text(error, "es") != message


# --- the page ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """An app of this module's own, whose ladder trains 0.3 s per stage (the variable is read at
    each run: a short ladder, the same code)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ladder.SECONDS_VARIABLE, "0.3")
        with serving(tmp_path_factory.mktemp("ladder-app"), TEXT) as served:
            yield served


def open_page(browser, url, width, height, lang):
    context = browser.new_context(viewport={"width": width, "height": height}, locale=lang,
                                  extra_http_headers={"Accept-Language": lang})
    page = context.new_page()
    watcher = Watcher(page, url)
    page.goto(url)
    page.locator("#generate-button").wait_for(timeout=60_000)
    wait_for_load_events(page)  # its width reported, the views of its model answered
    return page, watcher


@pytest.mark.browser
@pytest.mark.parametrize("width, height, lang", [(1366, 900, "en"), (390, 844, "es")])
def test_the_button_runs_the_ladder_and_shows_the_curves_and_the_table(browser, site, tmp_path, width, height, lang):
    demo, url = site
    page, watcher = open_page(browser, url, width, height, lang)
    open_tab(page, text("tab.train", lang))
    # The Training text box holds the corpus (filled in on page load): the ladder trains on it.
    page.wait_for_function("() => [...document.querySelectorAll('textarea')].some(t => t.value.startsWith('ROMEO'))")
    button = page.locator("#ladder-button")
    button.scroll_into_view_if_needed()
    assert button.inner_text() == text("ladder.run", lang)
    button.click()
    done = text("ladder.status.done", lang, count=STAGE_COUNT, elapsed=0).split("**")[1]
    page.locator("#ladder-status").get_by_text(done).wait_for(timeout=90_000)
    rows = page.locator("#ladder-table table.ladder tbody tr")
    assert rows.count() == STAGE_COUNT
    assert "—" not in rows.nth(STAGE_COUNT - 1).inner_text()  # the last stage measured too
    traces = page.locator("#ladder-plot .js-plotly-plot .scatterlayer .trace")
    traces.first.wait_for(timeout=10_000)
    assert traces.count() == STAGE_COUNT
    legend = page.locator("#ladder-plot .legendtext").all_text_contents()
    assert legend[0] == f"1. {text('ladder.stage.bigram', lang)}" and len(legend) == STAGE_COUNT
    assert page.locator("#header").inner_text().count("tiny.safetensors") == 1  # still the bundled model
    page.locator("#ladder-plot").scroll_into_view_if_needed()
    shoot(page, f"ladder-{lang}-{width}", tmp_path, full_page=False)
    assert page.locator(".toast-body").count() == 0
    watcher.check()
    page.context.close()


@pytest.mark.browser
def test_an_uploaded_bigram_model_writes_and_says_it_has_no_attention(browser, site, tmp_path):
    demo, url = site
    tokenizer = make_tokenizer("char", TEXT)
    torch.manual_seed(0)
    path = gpt.save(tmp_path / "bigram.safetensors", GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16,
                                                                   bigram=True)), tokenizer, {})
    page, watcher = open_page(browser, url, 1366, 900, "es")
    open_tab(page, "Modelo")
    page.locator("#upload-model input[type=file]").set_input_files(str(path))
    page.wait_for_function("() => document.querySelector('#header').innerText.includes('bigram.safetensors')",
                           timeout=30_000)
    open_tab(page, "Atención")
    page.locator("#tokens").get_by_text("Un modelo de bigramas no tiene atención").wait_for(timeout=30_000)
    open_tab(page, "Generar")
    page.locator("#generate-button").click()
    page.wait_for_function("() => document.querySelector('#generated textarea').value.length > 10", timeout=30_000)
    open_tab(page, "Aprende")
    page.locator("#learn-note").get_by_text("La página Aprende recorre el GPT completo").wait_for(timeout=30_000)
    watcher.check()
    page.context.close()
