"""Headless Chromium on the Learn tab ("Aprende"): in English on a laptop and in Spanish on a phone.

Every section is drawn (its heading in the page's language, its equation by KaTeX, its code, its
figures), a new sentence redraws it, a new model redraws it (the sentence replaced by one the model
can read), the language switch redraws the figures in the other language; no JavaScript error, no
request to another host, and nothing wider than a phone. Screenshots go to pytest's tmp dir, and to
screenshots/ with MIRADOR_SCREENSHOTS=1.
"""

from __future__ import annotations

import pytest
from apps import ROOT, Watcher, bundled_or_tiny, open_tab, serving, shoot, tiny_checkpoint, wait_for_load_events

from locales import text
from ui import learn
from ui.learn_tab import HTML_VIEWS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated"),
]

PLOTS = [name for name in learn.VIEWS if name != "note" and name not in HTML_VIEWS]
TABS = ("generate", "attention", "train", "model", "learn")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """An app of this module's own, serving the bundled model (realistic screenshots)."""
    folder = tmp_path_factory.mktemp("learn-app")
    corpus = (ROOT / "assets" / "shakespeare.txt").read_text(encoding="utf-8")
    with serving(folder, corpus, checkpoint=bundled_or_tiny(folder)) as served:
        yield served


def open_page(browser, url, locale, width, height, **device):
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale, **device)
    page = context.new_page()
    watcher = Watcher(page, url)
    page.goto(url)
    page.locator("#generate-button").wait_for(timeout=60_000)
    wait_for_load_events(page)  # its width reported
    return context, page, watcher


def tab_names(page) -> list[str]:
    """Every tab's name, those in the tab bar and those a narrow screen moves to its "More tabs" menu."""
    shown = page.get_by_role("tab").all_inner_texts()
    hidden = page.locator(".overflow-dropdown button").all_text_contents()
    return [name.strip() for name in shown + hidden]


def wait_for_every_figure(page):
    selector = ", ".join(f"#learn-{name.replace('_', '-')} .js-plotly-plot" for name in PLOTS)
    page.wait_for_function(f"() => document.querySelectorAll({selector!r}).length === {len(PLOTS)}", timeout=60_000)


def heading(n: int, lang: str) -> str:
    return text(f"learn.s{n}.title", lang).lstrip("# ")


def check_sections(page, lang: str):
    for n in range(1, 11):
        assert page.locator(f"#learn-s{n}").inner_text().strip() == heading(n, lang)
    assert page.locator(".learn-eq .katex").count() >= 10  # every equation typeset, offline
    assert page.locator(".learn-text .katex").count() >= 5  # and the math inside the texts
    assert "def attend" in page.locator("#learn-code-4").inner_text()
    assert page.locator("#learn-tokens .tok").count() > 20
    assert page.locator("#learn-logit-lens tr").count() == 1 + learn_layers(page) + 1


def learn_layers(page) -> int:
    """The layers of the model on the page, read from the logit lens (a row per layer, and the embeddings')."""
    return page.locator("#learn-logit-lens tr").count() - 2


def full_shot(page, name, folder):
    """The whole page: the window made as tall as the page, so that every code box draws all its lines."""
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": width, "height": page.evaluate("() => document.documentElement.scrollHeight")})
    # The code boxes redraw for the new window: shoot once the page's height holds for two frames.
    page.wait_for_function(
        """() => new Promise(done => { const h = document.documentElement.scrollHeight;
            requestAnimationFrame(() => requestAnimationFrame(() => done(document.documentElement.scrollHeight === h))); })"""
    )
    return shoot(page, name, folder)


def test_learn_in_english_on_a_laptop(browser, server, tmp_path):
    context, page, watcher = open_page(browser, server[1], "en-US", 1400, 900)
    assert tab_names(page) == [text(f"tab.{tab}", "en") for tab in TABS]
    assert page.locator("#learn-sampling .js-plotly-plot").count() == 0  # nothing is drawn before the tab opens
    open_tab(page, "Learn")
    wait_for_every_figure(page)
    check_sections(page, "en")
    assert page.locator("#learn-note").inner_text().strip() == ""  # the example sentence fits
    assert "softmax of the logits" in page.locator("#learn-sampling").inner_text()

    # A sentence of one's own redraws every section.
    page.locator("#learn-text textarea").fill("To be, or not to be")
    page.locator("#learn-button").click()
    page.wait_for_function(
        "() => document.querySelector('#learn-bigram').innerText.includes('What comes after “e”?')", timeout=30_000
    )
    assert page.locator("#learn-tokens .learn-card").first.locator(".tok").count() == len("To be, or not to be")
    # Another token and temperature redraw their sections.
    page.locator("#learn-temperature input[type=number]").fill("0")
    page.locator("#learn-temperature input[type=number]").press("Enter")
    page.wait_for_function(
        "() => document.querySelector('#learn-sampling').innerText.includes('temperature 0: greedy')", timeout=30_000
    )
    full_shot(page, "learn-en-laptop", tmp_path)
    page.set_viewport_size({"width": 1400, "height": 900})

    # A new model (uploaded here) redraws the page; a sentence it cannot read gives way to one it can.
    small = tiny_checkpoint(tmp_path, "ab cd\n" * 20, n_embd=16, n_layer=1, n_head=1)
    open_tab(page, "Model")
    page.locator("#upload-model input[type=file]").set_input_files(str(small))
    page.get_by_text("it is now your session's model").wait_for(timeout=30_000)
    open_tab(page, "Learn")
    page.wait_for_function(
        "() => document.querySelector('#learn-tokens').innerText.includes('× 16 =')", timeout=30_000
    )
    assert learn_layers(page) == 1
    assert set(page.locator("#learn-text textarea").input_value()) <= set("ab cd\n")
    watcher.check()
    context.close()


def test_aprende_in_spanish_on_a_phone(browser, server, tmp_path):
    phone = dict(device_scale_factor=2, is_mobile=True, has_touch=True)
    context, page, watcher = open_page(browser, server[1], "es-ES", 390, 844, **phone)
    assert tab_names(page) == [text(f"tab.{tab}", "es") for tab in TABS]
    open_tab(page, "Aprende")
    wait_for_every_figure(page)
    check_sections(page, "es")
    assert "softmax de los logits" in page.locator("#learn-sampling").inner_text()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390 + 2, f"the page scrolls sideways on a phone ({width}px wide)"
    widest = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[id^=learn-] .main-svg')].map(s => s.getBoundingClientRect().right))"
    )
    assert widest <= 390 + 1, f"a figure runs off the screen ({widest}px)"
    full_shot(page, "learn-es-phone", tmp_path)
    page.set_viewport_size({"width": 390, "height": 844})

    # The language switch: the texts, and the figures, now in English.
    page.locator("#language").get_by_text("English").click()
    page.wait_for_function(
        "() => document.querySelector('#learn-sampling').innerText.includes('softmax of the logits')", timeout=30_000
    )
    assert page.locator("#learn-s4").inner_text().strip() == heading(4, "en")
    watcher.check()
    context.close()
