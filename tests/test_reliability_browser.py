"""Bad input and a closed tab, through a real headless Chromium.

Each bad input must show an error toast whose text says what to change, and the page must
keep working afterwards (a normal generation still runs). The page may make no request to
any host but the app, and may raise no JavaScript error.
"""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import pytest
from apps import Watcher, expect_toast, new_client, open_tab, train_args
from playwright.sync_api import expect
from waiting import eventually

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated"),
]

class Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


# (tab, what to do on the page, fragment the toast must show)
CASES = [
    ("Generate", lambda page, tmp: (page.locator("#prompt textarea").fill(""), page.locator("#generate-button").click()), "The prompt is empty: type a few characters"),
    ("Generate", lambda page, tmp: (page.locator("#prompt textarea").fill("ROMEO €"), page.locator("#generate-button").click()), "never saw the character(s) '€'"),
    ("Attention", lambda page, tmp: (page.locator("#attention-text textarea").fill(""), page.locator("#attention-button").click()), "The text is empty: type a sentence to look at"),
    ("Train", lambda page, tmp: (page.get_by_role("button", name="Clear").click(), wait_empty(page.get_by_label("Training text")), page.locator("#train-button").click()), "The training text is empty"),
    ("Train", lambda page, tmp: (page.get_by_label("Training text").fill("abc"), page.locator("#train-button").click()), "Give more text or choose a smaller block_size"),
    ("Model", lambda page, tmp: upload(page, _file(tmp, "random.safetensors", random.Random(0).randbytes(2048))), "is not a Mirador checkpoint"),
    ("Model", lambda page, tmp: upload(page, _file(tmp, "model.pt", pickle.dumps(Payload(tmp / "PWNED")))), ".safetensors"),
]


def wait_empty(box):
    """Clear answers from the server: Train must not be pressed before the box is empty."""
    expect(box, "Clear did not empty the box").to_have_value("", timeout=10_000)


def upload(page, path: str):
    clear = page.locator("#upload-model button[aria-label='Clear']")
    if clear.count():  # a file from the previous case is still shown
        clear.first.click()
    page.locator("#upload-model input[type=file]").set_input_files(path)


def _file(folder: Path, name: str, data: bytes) -> str:
    path = folder / name
    path.write_bytes(data)
    return str(path)


def test_bad_input_in_the_browser_shows_a_toast_and_the_page_keeps_working(browser, app, tmp_path):
    _, url = app
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watcher = Watcher(page, url)
    page.goto(url)
    page.locator("#generate-button").wait_for(timeout=30_000)
    page.get_by_text("Mirador: a GPT you can train and look inside").wait_for(timeout=30_000)
    for tab, act, fragment in CASES:
        open_tab(page, tab)
        act(page, tmp_path)
        text = expect_toast(page, fragment)
        assert "Error" in text or fragment in text
    assert not (tmp_path / "PWNED").exists(), "the uploaded pickle ran"

    # Nothing was lost: the page still generates, from the bundled model, as before.
    open_tab(page, "Generate")
    page.locator("#prompt textarea").fill("ROMEO:")
    page.locator("#generate-button").click()
    page.wait_for_function("() => document.querySelector('#generated textarea').value.length > 20", timeout=30_000)
    assert page.locator("#generated textarea").input_value().startswith("ROMEO:")
    open_tab(page, "Attention")
    page.locator("#attention-text textarea").fill("But soft")
    page.locator("#attention-button").click()
    page.locator("#attention-grid .js-plotly-plot").wait_for(timeout=30_000)
    watcher.check()
    page.close()


def test_closing_the_tab_mid_training_frees_the_cpu_and_the_next_user_trains(browser, app, monkeypatch):

    monkeypatch.setenv("GRADIO_HEARTBEAT_INTERVAL", "1")  # Gradio reads it when the page opens its heartbeat
    demo, url = app
    ctx = demo.context
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watcher = Watcher(page, url)
    page.goto(url)
    open_tab(page, "Train")
    page.get_by_label("Training text").fill("ab" * 2000)
    page.get_by_text("Advanced settings").click()
    for elem_id, value in (("max-steps", 5000), ("time-budget", 120)):
        box = page.locator(f"#{elem_id} input[type=number]")
        box.fill(str(value))
        box.press("Enter")
    page.locator("#train-button").click()
    page.wait_for_function("() => /Step [0-9,]+ \\//.test(document.querySelector('#train-status').innerText)", timeout=60_000)
    assert len(ctx.queue) == 1
    job = ctx.queue._order[0]
    assert job.trainer is not None and not job.cancelled
    watcher.check()

    page.close()  # the tab goes away mid-training
    eventually(lambda: ctx.registry.job(job.sid) is None and len(ctx.queue) == 0, what="the training ended after its tab closed")
    assert job.cancelled and job.abandoned
    assert ctx.registry.model(job.sid) is ctx.registry.default
    assert job.sid not in ctx.registry

    client = new_client(url)  # the next user trains at once: nothing is ahead of them in the line
    try:
        run = client.submit(*train_args(max_steps=3), api_name="/train")
        assert "Done at step 3" in run.result(timeout=60)[0]
        assert not any("Waiting:" in str(update[0]) for update in run.outputs()), run.outputs()
    finally:
        client.close()
