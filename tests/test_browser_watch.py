"""Headless Chromium: watching a model learn. A short run is replayed step by step after it ends,
two steps are compared, the surprise strips show the model's guesses on hover (and on a tap, on a
phone), a probe the text cannot encode is refused at Train, and a model's download carries its
recording, which an upload brings back.
"""

from __future__ import annotations

import random
import re
import shutil

import pytest
from apps import Watcher, expect_toast, new_client, next_frame, open_tab, queue_is_empty, serving, shoot, train_args, wait_for_load_events
from playwright.sync_api import expect
from waiting import eventually

from gpt.checkpoint import load_checkpoint
from gpt.presets import PRESETS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated"),
]

TEXT = "ROMEO:\nBut soft, what light through yonder window breaks? It is the east, and Juliet is the sun.\n" * 30
STEPS = 30  # evaluated every 3 steps (about ten evaluations a run): snapshots at 0, 3, 6, ..., 30
HEADS = 2 * 2  # the tiny preset's layers x heads


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("watch-app"), TEXT) as served:
        yield served


@pytest.fixture(scope="module")
def recorded(site, tmp_path_factory):
    """A checkpoint with its recording: a run of STEPS steps of a tiny model through the API."""
    demo, url = site
    client = new_client(url)
    shape = dict(n_layer=2, n_head=2, n_embd=32, block_size=32, batch_size=8)
    status = client.predict(*train_args(text=TEXT, max_steps=STEPS, **shape), api_name="/train")[0]
    assert f"Done at step {STEPS}" in status
    path = tmp_path_factory.mktemp("recorded") / "recorded.safetensors"
    shutil.copy(demo.context.registry.model(client.session_hash).path, path)
    client.close()
    return path


def open_page(browser, url, width=1366, height=900, **context):
    ctx = browser.new_context(viewport={"width": width, "height": height}, **context)
    page = ctx.new_page()
    watcher = Watcher(page, url)
    page.goto(url)
    page.locator("#generate-button").wait_for(timeout=60_000)
    wait_for_load_events(page)  # its width reported, the views of its model answered
    return page, watcher


def set_number(page, elem_id: str, value) -> None:
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")
    expect(box).to_have_value(str(value))


def train_briefly(page, probe: str = "") -> None:
    """A run of STEPS steps of the tiny preset (2 layers x 2 heads), to its end."""
    open_tab(page, "Train")
    page.get_by_label("tiny").check()
    page.get_by_text("Advanced settings").click()
    # The preset fills the form from the server: wait for it, or its answer would overwrite our steps.
    page.wait_for_function(
        f"() => document.querySelector('#max-steps input[type=number]').value === '{PRESETS['tiny']['max_steps']}'",
        timeout=30_000,
    )
    set_number(page, "max-steps", STEPS)
    if probe:
        page.locator("#probe-sentence textarea").fill(probe)
        expect(page.locator("#probe-sentence textarea")).to_have_value(probe)
    page.locator("#train-button").click()
    page.wait_for_function(
        f"() => /Done at step {STEPS}/.test(document.querySelector('#train-status').innerText)", timeout=120_000
    )


def replay_title(page) -> str:
    return page.locator("#replay-plot .gtitle").first.text_content()


def wait_for_replay_at(page, step: int) -> None:
    page.wait_for_function(
        f"() => (document.querySelector('#replay-plot .gtitle') || {{}}).textContent?.endsWith('at step {step}')",
        timeout=30_000,
    )


def test_a_finished_run_replays_its_timeline_compares_two_steps_and_explains_its_surprise(browser, site, tmp_path):
    demo, url = site
    page, watcher = open_page(browser, url)
    train_briefly(page, probe="But soft, what light")
    # The replay follows the run to its last snapshot: every layer x head on the probe.
    wait_for_replay_at(page, STEPS)
    assert page.locator("#replay-step input[type=number]").input_value() == str(STEPS)
    assert page.locator("#replay-plot .heatmaplayer .hm").count() == HEADS
    # Back to an early step: the nearest snapshot is drawn (7 -> 6).
    set_number(page, "replay-step", 7)
    wait_for_replay_at(page, 6)
    # Quick moves on the slider's track: the last one wins.
    track = page.locator("#replay-step input[type=range]").bounding_box()
    rng = random.Random(1)
    for _ in range(12):
        page.mouse.click(track["x"] + rng.uniform(0.02, 0.98) * track["width"], track["y"] + track["height"] / 2)
        page.wait_for_timeout(80)  # fast hands: the pace is what is tested, not a wait
    chosen = int(page.locator("#replay-step input[type=number]").input_value())
    nearest = min(range(0, STEPS + 1, 3), key=lambda s: (abs(s - chosen), s))
    wait_for_replay_at(page, nearest)
    eventually(lambda: queue_is_empty(demo), what="every move's answer was sent")  # a stale one included
    next_frame(page)
    assert replay_title(page).endswith(f"at step {nearest}")
    # Compare: the change from step 0 to the chosen step, on a scale centred on 0.
    set_number(page, "replay-step", STEPS)
    wait_for_replay_at(page, STEPS)
    assert not page.locator("#diff-plot").is_visible()
    page.locator("#compare input[type=checkbox]").check()
    page.wait_for_function(
        f"() => (document.querySelector('#diff-plot .gtitle') || {{}}).textContent === "
        f"'Layer 0: change in attention from step 0 to step {STEPS}'",
        timeout=30_000,
    )
    assert page.locator("#diff-plot .heatmaplayer .hm").count() == 2  # the heads of layer 0
    colorbar = page.eval_on_selector_all("#diff-plot .colorbar text", "els => els.map(e => e.textContent)")
    assert "change" in colorbar and "0" in colorbar
    set_number(page, "compare-step", 12)
    page.wait_for_function(
        f"() => document.querySelector('#diff-plot .gtitle').textContent.includes('from step 12 to step {STEPS}')",
        timeout=30_000,
    )
    # Head metrics over the snapshots, and a tag for every head.
    page.locator("#metrics-plot .js-plotly-plot").wait_for(timeout=30_000)
    assert page.locator("#metrics-plot .scatterlayer .trace").count() == 4 * HEADS
    assert page.locator("#head-tags .head-tag").count() == HEADS
    assert f"at step {STEPS}" in page.locator("#head-tags").inner_text()
    # The surprise strip of the validation text: hovering a token shows the model's 5 best guesses.
    strip = page.locator("#train-surprise .tok")
    assert strip.count() > 50 and f"at step {STEPS}" in page.locator("#train-surprise").inner_text()
    strip.nth(5).hover()
    tip = page.locator(".surprise-tip")
    tip.wait_for(timeout=10_000)
    lines = tip.inner_text().split("\n")
    assert lines[0].startswith("surprise ") and lines[1] == "the model expected:"
    assert len(lines) == 7 and all(re.search(r"\d+\.\d%$", line) for line in lines[2:])
    shoot(page, "watch-after-run", tmp_path)
    page.mouse.move(0, 0)
    assert not tip.is_visible()
    # The card: the best and the last weights; the download carries the recording.
    open_tab(page, "Model")
    card = page.locator("#model-card").inner_text()
    assert "best weights" in card and "last weights" in card and "✓ kept" in card
    with page.expect_download() as download:
        page.locator("#download-model").click()
    saved = tmp_path / "trained.safetensors"
    download.value.save_as(saved)
    assert load_checkpoint(saved).timeline.steps == list(range(0, STEPS + 1, 3))
    # The prompt's strip in Generate, after a generation.
    open_tab(page, "Generate")
    page.locator("#prompt textarea").fill("ROMEO: But")
    page.locator("#generate-button").click()
    page.wait_for_function("() => document.querySelectorAll('#prompt-surprise .tok').length === 10", timeout=30_000)
    page.locator("#prompt-surprise .tok").nth(3).hover()
    assert "the model expected:" in page.locator(".surprise-tip").inner_text()
    # The switch to Spanish redraws what the server wrote.
    page.get_by_text("Español").click()
    page.wait_for_function(
        f"() => document.querySelector('#replay-plot .gtitle').textContent.endsWith('en el paso {STEPS}')", timeout=30_000
    )
    page.wait_for_function("() => document.querySelector('#prompt-surprise').innerText.includes('tu texto inicial')", timeout=30_000)
    assert "el modelo esperaba" in page.locator("#prompt-surprise .tok").nth(3).get_attribute("title")
    assert page.locator(".toast-body").count() == 0
    watcher.check()
    page.context.close()


def upload(page, path) -> None:
    open_tab(page, "Model")
    page.locator("#upload-model input[type=file]").set_input_files(str(path))
    page.get_by_text("it is now your session's model").wait_for(timeout=30_000)


def test_an_uploaded_model_brings_its_recording_back(browser, site, recorded):
    demo, url = site
    page, watcher = open_page(browser, url)
    open_tab(page, "Train")
    page.get_by_text("No recording yet").wait_for(timeout=30_000)  # the bundled model has none
    upload(page, recorded)
    open_tab(page, "Train")
    wait_for_replay_at(page, STEPS)
    assert page.locator("#replay-plot .heatmaplayer .hm").count() == HEADS
    assert page.locator("#head-tags .head-tag").count() == HEADS
    set_number(page, "replay-step", 3)
    wait_for_replay_at(page, 3)
    assert page.locator("#train-surprise .tok").count() == 0  # the validation text is not in the file
    watcher.check()
    page.context.close()


def test_a_probe_the_text_cannot_encode_is_refused_at_train_naming_its_characters(browser, site):
    demo, url = site
    page, watcher = open_page(browser, url)
    open_tab(page, "Train")
    page.locator("#probe-sentence textarea").fill("Señor, ¿qué?")
    page.locator("#train-button").click()
    message = expect_toast(page, "The probe sentence has character(s)")
    assert "'ñ'" in message and "'¿'" in message and "'e'" not in message
    assert "Done" not in page.locator("#train-status").inner_text()
    page.context.close()


def test_on_a_phone_a_tap_shows_the_guesses_and_the_metrics_stack(browser, site, recorded, tmp_path):
    demo, url = site
    page, watcher = open_page(browser, url, width=390, height=844, device_scale_factor=2, is_mobile=True, has_touch=True)
    upload(page, recorded)
    open_tab(page, "Train")
    wait_for_replay_at(page, STEPS)
    page.locator("#metrics-plot .js-plotly-plot").wait_for(timeout=30_000)
    centres = page.eval_on_selector_all(
        "#metrics-plot .annotation-text", "els => els.map(e => { const b = e.getBoundingClientRect(); return b.left + b.width / 2; })"
    )
    assert len(centres) == 4 and max(centres) - min(centres) < 4  # the panels' titles, one under another
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 392
    shoot(page, "phone-watch-uploaded", tmp_path)
    open_tab(page, "Generate")
    page.locator("#prompt textarea").fill("ROMEO: But")
    page.locator("#generate-button").click()
    page.wait_for_function("() => document.querySelectorAll('#prompt-surprise .tok').length === 10", timeout=30_000)
    token = page.locator("#prompt-surprise .tok").nth(4)
    token.scroll_into_view_if_needed()
    # Scrolling hides a tooltip: tap once the page is still (its scroll position the same two frames running).
    page.wait_for_function(
        "() => new Promise(done => { const y = scrollY; requestAnimationFrame(() => requestAnimationFrame(() => done(scrollY === y))); })"
    )
    token.tap()
    page.locator(".surprise-tip").wait_for(timeout=10_000)
    assert "the model expected:" in page.locator(".surprise-tip").inner_text()
    page.locator("#prompt textarea").tap()  # a tap elsewhere hides it
    page.locator(".surprise-tip").wait_for(state="detached", timeout=10_000)
    watcher.check()
    page.context.close()
