"""A real headless Chromium drives the app: train a little, generate, look at attention.

Fails on any JavaScript error in the page and on any request to a host other than the app
(the app must work offline). Screenshots go to pytest's tmp dir, and also to screenshots/
when MIRADOR_SCREENSHOTS is set.

    MIRADOR_SCREENSHOTS=1 python -m pytest -m browser tests/test_browser.py
"""

from __future__ import annotations

import pytest
from apps import ROOT, Watcher, bundled_or_tiny, open_tab, serving, shoot
from waiting import eventually

import gpt
from ui import threads

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """An app of this module's own, serving the bundled model (realistic screenshots)."""
    folder = tmp_path_factory.mktemp("browser-app")
    corpus = (ROOT / "assets" / "shakespeare.txt").read_text(encoding="utf-8")
    with serving(folder, corpus, checkpoint=bundled_or_tiny(folder)) as served:
        yield served


@pytest.fixture(scope="module")
def app_url(server):
    return server[1]


def set_number(page, elem_id: str, value):
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


def test_train_generate_and_look_at_attention(browser, server, app_url, tmp_path, monkeypatch):
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    asked = []  # what each training step asked the thread policy: was a browser on this machine drawing it?
    policy = threads.policy()  # the app's (its context holds the process's)
    original = policy.for_training
    monkeypatch.setattr(policy, "for_training", lambda beside_browser=False: (asked.append(beside_browser), original(beside_browser)))
    watcher = Watcher(page, app_url)
    page.goto(app_url)
    page.get_by_text("Mirador: a GPT you can train and look inside").wait_for(timeout=30_000)

    # Generate with the bundled model: the first tab a visitor sees.
    page.locator("#generate-button").click()
    output = page.locator("#generated textarea")
    page.wait_for_function("() => document.querySelector('#generated textarea').value.length > 40", timeout=30_000)
    page.locator("#next-token-plot .js-plotly-plot").wait_for(timeout=30_000)
    assert output.input_value().startswith("ROMEO:")
    shoot(page, "1-generate", tmp_path)

    # Attention: drawn on page load for the default sentence.
    open_tab(page, "Attention")
    page.locator("#attention-grid .js-plotly-plot").wait_for(timeout=30_000)
    page.locator("#attention-head .js-plotly-plot").wait_for(timeout=30_000)
    assert page.locator("#tokens .tok").count() > 10
    page.get_by_text("All layers × all heads").click()
    page.locator("#attention-overview .js-plotly-plot").wait_for(timeout=30_000)
    shoot(page, "2-attention", tmp_path)

    # Train a few seconds with the fast preset.
    open_tab(page, "Train")
    page.get_by_text("Advanced settings").click()
    page.get_by_label("tiny").check()  # presets fill the advanced settings and the estimate
    page.wait_for_function(
        "() => document.querySelector('#max-steps input[type=number]').value === '500'", timeout=30_000
    )
    page.get_by_text("0.11M parameters").wait_for(timeout=30_000)
    page.get_by_label("fast").check()
    page.wait_for_function(
        "() => document.querySelector('#max-steps input[type=number]').value === '700'", timeout=30_000
    )
    set_number(page, "max-steps", 120)
    set_number(page, "time-budget", 10)
    # This browser is on the app's machine: the plan is timed, and the run made, leaving it a core.
    count = policy.for_a_new_training(beside_browser=True)
    page.get_by_text(f"({count} training thread").wait_for(timeout=30_000)
    page.locator("#train-button").click()
    page.locator("#loss-plot .js-plotly-plot").wait_for(timeout=30_000)
    page.wait_for_function(
        "() => /Done at step|Stopped at step|Time budget reached at step/.test(document.querySelector('#train-status').innerText)", timeout=60_000
    )
    page.locator("#probe-plot .js-plotly-plot").wait_for(timeout=30_000)
    assert "— step" in page.locator("#samples textarea").input_value()
    assert asked and all(asked), "a run from a page on this machine must leave its browser a core"
    page.wait_for_function("() => document.querySelector('#header').innerText.includes('trained here')", timeout=30_000)
    shoot(page, "3-train", tmp_path)

    # The trained model is now this session's model: download it, upload it back.
    open_tab(page, "Model")
    page.get_by_text("trained here").first.wait_for(timeout=30_000)
    shoot(page, "4-model", tmp_path)
    with page.expect_download() as download:
        page.locator("#download-model").click()
    saved = tmp_path / "downloaded.safetensors"
    download.value.save_as(saved)
    assert gpt.load(saved)[0].config.n_layer == 2
    page.locator("#upload-model input[type=file]").set_input_files(str(saved))
    page.get_by_text("it is now your session's model").wait_for(timeout=30_000)
    open_tab(page, "Generate")
    page.locator("#generate-button").click()
    page.wait_for_function("() => document.querySelector('#generated textarea').value.length > 40", timeout=30_000)
    watcher.check()

    # Closing the tab ends the session: its model is freed.
    registry = server[0].context.registry
    assert registry.sessions_with_models() == 1
    page.close()
    eventually(lambda: registry.sessions_with_models() == 0, what="the closed tab's session freed its model")


def test_phone_layout(browser, app_url, tmp_path):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    watcher = Watcher(page, app_url)
    page.goto(app_url)
    page.locator("#generate-button").wait_for(timeout=30_000)
    page.locator("#generate-button").click()
    page.locator("#next-token-plot .js-plotly-plot").wait_for(timeout=30_000)
    shoot(page, "5-phone-generate", tmp_path)
    open_tab(page, "Attention")
    page.locator("#attention-grid .js-plotly-plot").wait_for(timeout=30_000)
    shoot(page, "6-phone-attention", tmp_path)
    open_tab(page, "Train")
    page.locator("#train-button").wait_for(timeout=30_000)
    shoot(page, "7-phone-train", tmp_path)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390 + 2, f"the page scrolls sideways on a phone ({width}px wide)"
    watcher.check()
    context.close()
