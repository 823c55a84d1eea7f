"""The page in Spanish and English, in a real headless Chromium: the browser's locale chooses the
language (es-ES: Spanish, en-US: English), and the switch at the top changes it without a reload.

Static text (tabs, labels) is translated by Gradio's I18n in the page; what the server writes (the
header, statuses, figures, error toasts) follows the request's language. Both are checked here.
"""

from __future__ import annotations

import pytest
from apps import Watcher, expect_toast, open_tab

from locales import text

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated"),
]

TABS = ("tab.generate", "tab.attention", "tab.train", "tab.model")


def open_page(browser, url, locale, width=1366):
    page = browser.new_page(viewport={"width": width, "height": 900}, locale=locale)
    watcher = Watcher(page, url)
    page.goto(url)
    return page, watcher


def header_title(lang: str) -> str:
    return text("header", lang, model="", device="", generation="").splitlines()[0].removeprefix("# ")


def assert_tabs(page, lang: str):
    """The four tabs in lang, and the Learn tab's name when that tab exists."""
    page.get_by_role("tab", name=text("tab.model", lang)).wait_for(timeout=30_000)
    names = [name.strip() for name in page.get_by_role("tab").all_inner_texts()]
    assert names[:4] == [text(key, lang) for key in TABS], names
    assert names[4:] in ([], [text("tab.learn", lang)]), names


def figure_title(page, elem_id: str, title: str, timeout: float = 30_000):
    page.locator(f"#{elem_id} .gtitle").filter(has_text=title).first.wait_for(timeout=timeout)


def test_a_spanish_browser_gets_the_page_in_spanish(browser, app):
    _, url = app
    page, watcher = open_page(browser, url, "es-ES")
    page.get_by_text(header_title("es")).wait_for(timeout=30_000)
    assert_tabs(page, "es")
    page.get_by_label(text("generate.prompt", "es")).wait_for()
    page.locator("#generate-button").click()
    figure_title(page, "next-token-plot", "Qué podría venir después (temperatura 0.8)")

    # A figure the server draws, and an error toast, in Spanish.
    open_tab(page, text("tab.attention", "es"))
    figure_title(page, "attention-grid", text("viz.attention.grid_title", "es", layer=0))
    page.locator("#attention-text textarea").fill("")
    page.locator("#attention-button").click()
    expect_toast(page, "El texto está vacío: escribe una frase que mirar.")

    # A short training: its status line in Spanish.
    open_tab(page, text("tab.train", "es"))
    page.get_by_text("parámetros").first.wait_for(timeout=30_000)  # the plan under the presets, drawn at start-up
    page.get_by_text(text("viz.loss.empty", "es")).first.wait_for(timeout=30_000)  # and the loss figure's placeholder
    page.get_by_label(text("train.text", "es")).fill("ab" * 300)
    page.get_by_label(text("train.preset.tiny", "es")).check()
    page.get_by_text(text("train.advanced", "es")).click()
    page.wait_for_function("() => document.querySelector('#max-steps input[type=number]')?.value === '500'")
    box = page.locator("#max-steps input[type=number]")
    box.fill("20")
    box.press("Enter")
    page.locator("#train-button").click()
    page.locator("#train-status").filter(has_text="Terminado en el paso 20").wait_for(timeout=90_000)
    assert "Ahora es el modelo de tu sesión" in page.locator("#train-status").inner_text()
    watcher.check()
    page.close()


def test_an_english_browser_gets_the_page_in_english(browser, app):
    _, url = app
    page, watcher = open_page(browser, url, "en-US")
    page.get_by_text(header_title("en")).wait_for(timeout=30_000)
    assert_tabs(page, "en")
    open_tab(page, "Attention")
    figure_title(page, "attention-grid", "Layer 0 attention, one map per head")
    page.locator("#attention-text textarea").fill("")
    page.locator("#attention-button").click()
    expect_toast(page, "The text is empty: type a sentence to look at.")
    open_tab(page, "Train")
    page.get_by_text("Press Train to start").first.wait_for(timeout=30_000)  # the loss figure's placeholder
    assert page.get_by_text("parámetros").count() == 0
    watcher.check()
    page.close()


def test_the_switch_changes_the_page_without_a_reload(browser, app):
    _, url = app
    page, watcher = open_page(browser, url, "en-US")
    page.get_by_text(header_title("en")).wait_for(timeout=30_000)
    open_tab(page, "Attention")
    figure_title(page, "attention-grid", "Layer 0 attention, one map per head")
    page.evaluate("() => { window.stillTheSamePage = true; }")

    page.locator("#language").get_by_text("Español").click()
    page.get_by_text(header_title("es")).wait_for(timeout=30_000)
    page.get_by_role("tab", name="Generar").wait_for(timeout=30_000)
    assert_tabs(page, "es")
    page.get_by_label(text("attention.text", "es")).wait_for()
    figure_title(page, "attention-grid", text("viz.attention.grid_title", "es", layer=0))
    open_tab(page, "Entrenar")
    page.get_by_text(text("viz.loss.empty", "es")).first.wait_for(timeout=30_000)  # drawn at start-up in English
    open_tab(page, "Modelo")
    page.locator("#model-card th").get_by_text("Parámetros", exact=True).wait_for(timeout=30_000)
    assert page.evaluate("() => window.stillTheSamePage === true"), "the page reloaded"

    page.locator("#language").get_by_text("English").click()
    page.get_by_role("tab", name="Generate").wait_for(timeout=30_000)
    page.get_by_text(header_title("en")).wait_for(timeout=30_000)
    watcher.check()
    page.close()


def test_the_switch_is_one_line_on_a_phone(browser, app):
    _, url = app
    page, watcher = open_page(browser, url, "es-ES", width=390)
    page.get_by_text(header_title("es")).wait_for(timeout=30_000)
    switch = page.locator("#language").bounding_box()
    title = page.locator("#header h1").bounding_box()
    assert switch["x"] >= 0 and switch["x"] + switch["width"] <= 390
    assert switch["height"] < 40  # one line
    assert switch["y"] + switch["height"] <= title["y"] + 1 or switch["x"] >= title["x"] + title["width"]  # no overlap
    watcher.check()
    page.close()
