"""The page in the visitor's language.

Two kinds of text, two mechanisms:
- Static text (tab names, labels, help, Markdown) is marked with `static("key")`: Gradio's own
  I18n translates it in the browser, by the browser's language, and again when the page's
  language switch (or Gradio's Settings panel) changes it.
- What the server computes (status lines, errors, figures, the model card) is written in the
  request's language: the visitor's choice on the switch if they made one, else the browser's
  Accept-Language. A request without one (gradio_client, curl) gets English, so API clients
  keep the English messages.
The strings themselves live in locales/ (one catalogue per language).
"""

from __future__ import annotations

import re

import gradio as gr

from locales import CATALOGUES, LANGUAGES, language_from_header, supported, text

from .clients import CLIENTS
from .sessions import session_id

# Names of the languages, each in itself, for the switch.
LANGUAGE_NAMES = {"en": "English", "es": "Español"}
assert set(LANGUAGE_NAMES) == set(LANGUAGES)

# What the browser translates: every text without {placeholders} (the others are the server's
# templates), and the static texts filled in by static(key, **params).
I18N = gr.I18n(**{lang: {k: v for k, v in CATALOGUES[lang].items() if "{" not in v} for lang in LANGUAGES})

# Runs in the page when the switch changes: Gradio's own locale store, which re-translates
# every static string. The store lives in Gradio's core module; the page has already loaded it,
# so importing the same URL again returns that same module.
SWITCH_JS = """
async (lang) => {
  const url = performance.getEntriesByType("resource").map((e) => e.name)
    .find((name) => /\\/assets\\/core-[^/]*\\.js$/.test(name));
  if (url) { (await import(url)).changeLocale(lang); }
  document.documentElement.lang = lang;
  return lang;
}
"""


_MATH = re.compile(r"\$\$.*?\$\$|\$[^$]*\$", re.DOTALL)  # an equation's braces ($\\sqrt{d}$) are LaTeX, not placeholders
_PLACEHOLDER = re.compile(r"\{\w+(?:[:!][^{}]*)?\}")


def static(key: str, **params):
    """A static string, translated in the browser (labels, info, Markdown values, choices' labels).
    With params, the key's template is filled in once, in every language, for the browser."""
    if params:  # filled in under a key of its own: the same key may be filled with other values elsewhere
        filled_key = key + "|" + "|".join(f"{k}={v}" for k, v in sorted(params.items()))
        for lang in LANGUAGES:
            I18N.translations[lang][filled_key] = text(key, lang, **params)
        return I18N(filled_key)
    if any(_PLACEHOLDER.search(_MATH.sub("", CATALOGUES[lang][key])) for lang in LANGUAGES):
        raise ValueError(f"{key!r} has placeholders: give static() their values")
    return I18N(key)


def language(request) -> str:
    """The language to write this request's answer in."""
    chosen = CLIENTS.get(session_id(request)).language
    if chosen:
        return chosen
    headers = getattr(request, "headers", None)
    return language_from_header(headers.get("accept-language") if headers is not None else None)


def choose(request, lang) -> str:
    """The visitor picked a language on the switch: remember it for this tab."""
    lang = supported(lang)
    CLIENTS.update(session_id(request), language=lang)
    return lang


def tr(request, key: str, **params) -> str:
    """text(key) in this request's language."""
    return text(key, language(request), **params)
