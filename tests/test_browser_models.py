"""Headless Chromium, as a new user: models of every shape, text of one's own, fast hands, a phone.

Each test here failed before the fix it guards (the bugs issue): a 1-layer model that never took
over the page, an error toast after training on Spanish text, stale maps after quick slider moves,
BPE pieces drawn as "�", a checkpoint whose card made the page fetch another host, a refused file
left in the upload box, two toasts for one mistake, a slider's maximum cut off, strips for maps on
a phone.
"""

from __future__ import annotations

import json
import random

import pytest
from apps import Watcher, expect_toast, next_frame, open_tab, queue_is_empty, serving, shoot, wait_for_load_events
from playwright.sync_api import expect
from waiting import eventually
from safetensors.torch import save as safetensors_bytes

import gpt
from gpt import GPT, GPTConfig, make_tokenizer
from gpt.presets import PRESETS
from ui import train_form

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated"),
]

TEXT = "ROMEO:\nBut soft, what light through yonder window breaks? It is the east, and Juliet is the sun.\n" * 30
SPANISH = "¿Qué tal, señor? ¡Buenísimo! Hoy aprendemos cómo funciona un transformador, paso a paso.\n" * 40


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """An app of this module's own: tests here change sessions' models and count them."""
    with serving(tmp_path_factory.mktemp("models-app"), TEXT) as served:
        yield served


def checkpoint(folder, name, text=TEXT, kind="char", meta=None, **shape):
    tokenizer = make_tokenizer(kind, text)
    config = dict(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=2, n_head=2, n_embd=16)
    config.update(shape)
    return gpt.save(folder / name, GPT(GPTConfig(**config)), tokenizer, meta or {"note": "random weights"})


def open_page(browser, url, width=1366, height=900, **context):
    ctx = browser.new_context(viewport={"width": width, "height": height}, **context)
    page = ctx.new_page()
    watcher = Watcher(page, url)
    page.goto(url)
    page.locator("#generate-button").wait_for(timeout=60_000)
    wait_for_load_events(page)  # its width reported, the views of its model answered
    return page, watcher


def upload(page, path):
    open_tab(page, "Model")
    clear = page.locator("#upload-model button[aria-label='Clear']")
    if clear.count():
        clear.first.click()
    page.locator("#upload-model input[type=file]").set_input_files(str(path))


def grid_title(page) -> str:
    return page.locator("#attention-grid .gtitle").first.text_content()


def heatmaps(page, plot: str) -> int:
    return page.locator(f"{plot} .js-plotly-plot .heatmaplayer .hm").count()


@pytest.mark.parametrize("shape", [dict(n_layer=1, n_head=1, n_embd=8), dict(n_layer=1, n_head=4, n_embd=16), dict(n_layer=6, n_head=6, n_embd=24)])
def test_a_model_of_any_shape_takes_over_every_view(browser, site, tmp_path, shape):
    demo, url = site
    name = f"shape-{shape['n_layer']}x{shape['n_head']}.safetensors"
    path = checkpoint(tmp_path, name, **shape)
    page, watcher = open_page(browser, url)
    upload(page, path)
    page.get_by_text("it is now your session's model").wait_for(timeout=30_000)
    page.wait_for_function(f"() => document.querySelector('#header').innerText.includes('{name}')", timeout=30_000)
    card = page.locator("#model-card").inner_text()
    assert f"{shape['n_layer']} × {shape['n_head']} × {shape['n_embd']}" in card
    with page.expect_download() as download:
        page.locator("#download-model").click()
    saved = tmp_path / "downloaded.safetensors"
    download.value.save_as(saved)
    assert gpt.load(saved)[0].config.n_layer == shape["n_layer"]  # not the bundled model
    open_tab(page, "Attention")
    page.wait_for_function(
        f"() => document.querySelectorAll('#attention-grid .heatmaplayer .hm').length === {shape['n_head']}", timeout=30_000
    )
    layer_slider_shown = page.locator("#attention-layer input[type=range]").is_visible()
    assert layer_slider_shown is (shape["n_layer"] > 1)
    page.get_by_text("All layers × all heads").click()
    page.wait_for_function(
        f"() => document.querySelectorAll('#attention-overview .heatmaplayer .hm').length === {shape['n_layer'] * shape['n_head']}",
        timeout=30_000,
    )
    open_tab(page, "Generate")
    page.locator("#generate-button").click()
    page.wait_for_function("() => document.querySelector('#generated textarea').value.length > 10", timeout=30_000)
    shoot(page, f"model-{shape['n_layer']}x{shape['n_head']}", tmp_path)
    assert page.locator(".toast-body").count() == 0
    watcher.check()
    page.context.close()


def test_training_a_one_layer_one_head_model_in_the_form(browser, site, tmp_path):
    demo, url = site
    page, watcher = open_page(browser, url)
    open_tab(page, "Train")
    page.get_by_text("Advanced settings").click()
    wanted = (("n-layer", 1), ("n-head", 1), ("n-embd", 16), ("max-steps", 20))
    # The accordion's fields are mounted, holding the form's defaults, before we type.
    expect(page.locator("#n-layer input[type=number]")).to_have_value(str(train_form.DEFAULTS.n_layer), timeout=30_000)
    for elem_id, value in wanted:
        box = page.locator(f"#{elem_id} input[type=number]")
        box.fill(str(value))
        box.press("Enter")
        expect(box).to_have_value(str(value))
    # What the page sends is what it shows (CI once trained 2 x 1 x 16 here: this says where a value was lost).
    train_call = page.evaluate("() => window.gradio_config.dependencies.find(d => d.api_name === 'train_in_page').id")
    with page.expect_request(lambda r: "queue/join" in r.url and json.loads(r.post_data or "{}").get("fn_index") == train_call) as sent:
        page.locator("#train-button").click()
    arguments = dict(zip(["text", *train_form.API_FIELDS], json.loads(sent.value.post_data)["data"]))
    assert {name: arguments[name] for name in ("n_layer", "n_head", "n_embd", "max_steps")} == dict(
        n_layer=1, n_head=1, n_embd=16, max_steps=20
    ), arguments
    page.wait_for_function("() => /at step 20/.test(document.querySelector('#train-status').innerText)", timeout=90_000)
    page.wait_for_function("() => document.querySelector('#header').innerText.includes('trained here')", timeout=30_000)
    open_tab(page, "Model")
    assert "1 × 1 × 16" in page.locator("#model-card").inner_text()
    assert page.locator(".toast-body").count() == 0
    watcher.check()
    page.context.close()


def test_training_on_ones_own_text_ends_without_an_error_and_the_views_follow(browser, site, tmp_path):
    demo, url = site
    page, watcher = open_page(browser, url)
    open_tab(page, "Train")
    page.get_by_label("Training text").fill(SPANISH)
    page.get_by_label("tiny").check()
    page.get_by_text("Advanced settings").click()
    box = page.locator("#max-steps input[type=number]")
    # The preset fills the form from the server: wait for it, or its answer would overwrite our 30 steps.
    page.wait_for_function(f"() => document.querySelector('#max-steps input[type=number]').value === '{PRESETS['tiny']['max_steps']}'", timeout=30_000)
    box.fill("30")
    box.press("Enter")
    expect(box).to_have_value("30")
    page.locator("#train-button").click()
    page.wait_for_function("() => /at step 30/.test(document.querySelector('#train-status').innerText)", timeout=90_000)
    # The views follow the new model (the events after a training, where the error toast came from).
    page.wait_for_function("() => document.querySelector('#header').innerText.includes('trained here')", timeout=30_000)
    eventually(lambda: queue_is_empty(demo), what="the events after the training ran")
    next_frame(page)
    assert page.locator(".toast-body").count() == 0, page.locator(".toast-body").all_inner_texts()
    open_tab(page, "Attention")
    page.wait_for_function("() => document.querySelector('#attention-text textarea').value.startsWith('¿Qué')", timeout=30_000)
    page.wait_for_function("() => document.querySelector('#tokens').innerText.includes('¿')", timeout=30_000)
    open_tab(page, "Generate")
    prompt = page.locator("#prompt textarea").input_value()
    assert prompt and "R" not in prompt  # the bundled prompt ("ROMEO:") is gone: this model never saw "R"
    page.locator("#generate-button").click()
    page.wait_for_function("() => document.querySelector('#generated textarea').value.length > 30", timeout=30_000)
    assert page.locator(".toast-body").count() == 0
    shoot(page, "spanish-generate", tmp_path)
    watcher.check()
    page.context.close()


def test_the_last_slider_move_wins(browser, site, tmp_path):
    demo, url = site
    page, watcher = open_page(browser, url)
    upload(page, checkpoint(tmp_path, "deep.safetensors", n_layer=6, n_head=4, n_embd=32))
    page.get_by_text("it is now your session's model").wait_for(timeout=30_000)
    open_tab(page, "Attention")
    page.wait_for_function("() => document.querySelectorAll('#attention-grid .heatmaplayer .hm').length === 4", timeout=30_000)
    track = page.locator("#attention-layer input[type=range]").bounding_box()
    rng = random.Random(0)
    for _ in range(25):  # 25 moves in about 2.5 s: fast hands (the pace is what is tested, not a wait)
        page.mouse.click(track["x"] + rng.uniform(0.02, 0.98) * track["width"], track["y"] + track["height"] / 2)
        page.wait_for_timeout(100)
    chosen = page.locator("#attention-layer input[type=number]").input_value()
    page.wait_for_function(
        f"() => document.querySelector('#attention-grid .gtitle').textContent.startsWith('Layer {chosen} ')", timeout=30_000
    )
    eventually(lambda: queue_is_empty(demo), what="every move's answer was sent")  # a stale one included
    next_frame(page)
    assert grid_title(page).startswith(f"Layer {chosen} "), (chosen, grid_title(page))
    watcher.check()
    page.context.close()


def test_bpe_pieces_of_a_character_are_drawn_as_bytes_not_replacement_marks(browser, site, tmp_path):
    demo, url = site
    page, watcher = open_page(browser, url)
    upload(page, checkpoint(tmp_path, "bpe.safetensors", text=SPANISH, kind="bpe", n_layer=1, n_head=2, n_embd=16))
    page.get_by_text("it is now your session's model").wait_for(timeout=30_000)
    open_tab(page, "Attention")
    page.locator("#attention-text textarea").fill("¿Qué tal, señor? ¡Buenísimo! 🌮")
    page.locator("#attention-button").click()
    page.wait_for_function("() => document.querySelector('#tokens').innerText.includes('‹')", timeout=30_000)
    texts, titles = page.eval_on_selector_all("#tokens .tok", "els => [els.map(e => e.innerText), els.map(e => e.title)]")
    assert not any("\ufffd" in t for t in texts) and sum("‹" in t for t in texts) >= 8
    assert any("a piece of “¿”" in t for t in titles) and any("a piece of “🌮”" in t for t in titles)
    # The grid is its own event, which may land after the tokens: wait for this sentence's first label ("¿" in bytes).
    page.wait_for_function(
        "() => [...document.querySelectorAll('#attention-grid .xtick text')].some(e => e.textContent.startsWith('0:‹'))",
        timeout=30_000,
    )
    ticks = page.eval_on_selector_all("#attention-grid .xtick text", "els => els.map(e => e.textContent)")
    assert ticks and not any("\ufffd" in t for t in ticks)
    # Hover the first head's top-left cell: query and key are the first token, the first byte of "¿".
    area = page.locator("#attention-grid .nsewdrag").first.bounding_box()
    page.mouse.move(area["x"] + 2, area["y"] + 2)
    hover = page.locator("#attention-grid .hovertext").first
    hover.wait_for(timeout=10_000)
    assert hover.text_content().count("a piece of “¿”") == 2, hover.text_content()
    open_tab(page, "Generate")
    page.locator("#prompt textarea").fill("¿Qué tal, se")
    page.locator("#generate-button").click()
    page.locator("#next-token-plot .ytick text").first.wait_for(timeout=30_000)
    eventually(lambda: queue_is_empty(demo), what="the generation and its figure were answered")
    next_frame(page)
    bars = page.eval_on_selector_all("#next-token-plot .ytick text", "els => els.map(e => e.textContent)")
    assert bars and not any("\ufffd" in t for t in bars)
    # An untrained model writes invalid bytes here and there (shown as U+FFFD, as the full decode
    # does), but a character the token limit cut in half is dropped: the text ends cleanly.
    assert not page.locator("#generated textarea").input_value().endswith("\ufffd")
    watcher.check()
    page.context.close()


def test_a_crafted_checkpoint_cannot_make_the_page_contact_another_host(browser, site, tmp_path):
    demo, url = site
    meta = {"text": "![p](http://tracker.invalid/track.png) <img src='http://tracker.invalid/x.png'>", "note": "*hi*"}
    path = checkpoint(tmp_path, "crafted.safetensors", meta=meta)
    page, watcher = open_page(browser, url)
    upload(page, path)
    page.get_by_text("it is now your session's model").wait_for(timeout=30_000)
    page.wait_for_function("() => document.querySelector('#model-card').innerText.includes('tracker.invalid')", timeout=30_000)
    assert page.locator("#model-card img").count() == 0
    next_frame(page)  # a request the card's text asked for is sent by now
    watcher.check()  # no request left the machine
    page.context.close()


def test_a_refused_file_does_not_stay_in_the_upload_box(browser, site, tmp_path):
    demo, url = site
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(safetensors_bytes({"w": __import__("torch").zeros(2)}))  # safetensors, not Mirador's
    page, watcher = open_page(browser, url)
    upload(page, bad)
    expect_toast(page, "not a Mirador checkpoint")
    page.wait_for_function("() => !document.querySelector('#upload-model').innerText.includes('broken.safetensors')", timeout=30_000)
    watcher.check()
    page.context.close()


def test_one_mistake_one_toast(browser, site):
    demo, url = site
    page, watcher = open_page(browser, url)
    open_tab(page, "Attention")
    page.locator("#attention-text textarea").fill("")
    page.locator("#attention-button").click()
    expect_toast(page, "The text is empty")
    eventually(lambda: queue_is_empty(demo), what="every event of the click was answered")  # a second toast's too
    next_frame(page)
    assert page.locator(".toast-body").filter(has_text="The text is empty").count() == 1
    page.context.close()


def test_every_sliders_maximum_shows_at_1200_px(browser, site):
    demo, url = site
    page, watcher = open_page(browser, url, width=1200)
    open_tab(page, "Train")
    page.get_by_text("Advanced settings").click()
    expect(page.locator("#advanced .slider_input_container .max_value").last).to_be_visible()
    overflow = page.evaluate(
        """() => [...document.querySelectorAll('#advanced .slider_input_container')].map(c => {
            const box = c.getBoundingClientRect(), max = c.querySelector('.max_value').getBoundingClientRect();
            return max.right - box.right;
        })"""
    )
    assert overflow and max(overflow) <= 1, overflow
    page.context.close()


def test_on_a_phone_the_maps_are_square_two_to_a_row_and_the_toolbar_is_hidden(browser, site, tmp_path):
    demo, url = site
    page, watcher = open_page(browser, url, width=390, height=844, device_scale_factor=2, is_mobile=True, has_touch=True)
    upload(page, checkpoint(tmp_path, "four-heads.safetensors", n_layer=2, n_head=4, n_embd=32))
    page.get_by_text("it is now your session's model").wait_for(timeout=30_000)
    open_tab(page, "Attention")
    page.wait_for_function("() => document.querySelectorAll('#attention-grid .heatmaplayer .hm').length === 4", timeout=30_000)
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('#attention-grid .nsewdrag')].map(d => {
            const b = d.getBoundingClientRect(); return [b.x, b.y, b.width, b.height];
        })"""
    )
    assert len(boxes) == 4
    for x, y, w, h in boxes:
        assert w >= 100 and abs(w - h) <= 0.1 * w, boxes  # square, and not a strip
    rows = {round(y) for _, y, _, _ in boxes}
    assert len(rows) == 2  # two heads to a row
    single = page.evaluate("() => { const b = document.querySelector('#attention-head .nsewdrag').getBoundingClientRect(); return [b.width, b.height]; }")
    assert abs(single[0] - single[1]) <= 0.1 * single[0], single
    assert not page.locator("#attention-grid .modebar-container").first.is_visible()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 392
    shoot(page, "phone-attention-square", tmp_path)
    watcher.check()
    page.context.close()
