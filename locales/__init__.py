"""Every string a person sees, in English and Spanish: one catalogue per language.

    from locales import text
    text("tab.generate", "es")                       # "Generar"
    text("train.status.step", "en", step=3, ...)     # a template, filled in (format specs allowed)
    Message.of("model.label.trained", ...).text("es")  # a text kept now, written later in any language

Keys are grouped by where the text shows ("generate.intro", "train.status.done", "viz.loss.title").
ui/ marks static text with ui.i18n.static(key) (Gradio's I18n translates it in the browser) and
writes what the server computes with text(key, lang) in the request's language; viz/ functions
take lang. `en.py` and `es.py` hold the same keys (a test fails when one has a key the other lacks).
Spanish follows the article's words where it names a concept (see GLOSSARY-es.md beside the
project), and uses tú.

Errors a person reads are raised with a key and its parameters (gpt/errors.py UserError, e.g.
UserError("train.text_empty")): str() of one is its English (what API clients and the command line
read), error_text(exc, lang) writes it in lang. ERRORS holds one error catalogue per language, key ->
template: English is the library's templates (gpt/messages.py) and the app's (en.py ERRORS), each
defined once; es.py ERRORS has every key of both. Any other exception (a bug, a third party's
message) is shown as it is.

To add a language: copy es.py to xx.py (and learn_es.py to learn_xx.py, the Learn tab's part),
translate every value of TEXTS and ERRORS (keys and {placeholders} stay), import it below
(CATALOGUES, ERRORS), add "xx" to LANGUAGES and its name to ui/i18n.py LANGUAGE_NAMES;
tests/test_i18n.py checks that the keys and placeholders match. language_from_header then picks it
for browsers that ask for it first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gpt import messages
from gpt.errors import Keyed, Phrase, add_english

from . import en, es

LANGUAGES = ("en", "es")
DEFAULT = "en"
CATALOGUES = {"en": en.TEXTS, "es": es.TEXTS}
ERRORS = {"en": {**messages.ERRORS, **en.ERRORS}, "es": es.ERRORS}  # key -> template, per language
add_english(en.ERRORS)  # str() of an app error is its English too


def supported(lang) -> str:
    """lang if it is one of LANGUAGES, else the default (English)."""
    return lang if lang in CATALOGUES else DEFAULT


def text(key: str, lang: str = DEFAULT, **params) -> str:
    """The string `key` in `lang` (English if the language is unknown), with params filled in."""
    template = CATALOGUES[supported(lang)][key]
    return template.format(**params) if params else template


def language_from_header(header) -> str:
    """The page's language from an Accept-Language header: Spanish when the browser's first choice
    is Spanish (es, es-ES, es-419...), English otherwise (and without a header, as from API clients)."""
    if not isinstance(header, str) or not header.strip():
        return DEFAULT
    choices = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        match = re.search(r"q\s*=\s*([0-9.]+)", params)
        if match:
            try:
                q = float(match.group(1))
            except ValueError:
                q = 0.0
        if tag and q > 0:
            choices.append((-q, i, tag.strip().lower()))
    if not choices:
        return DEFAULT
    first = min(choices)[2].split("-")[0]
    return first if first in CATALOGUES else DEFAULT


def error_text(error, lang: str = DEFAULT) -> str:
    """An error as the reader of lang reads it: a keyed error or a Phrase (gpt/errors.py) from lang's
    catalogue, anything else (an exception or a text) as str() writes it."""
    if isinstance(error, (Keyed, Phrase)):
        return error.render(ERRORS[supported(lang)])
    return str(error)


translate_error = error_text  # the old name, still called by ui/plan.py: remove once it calls error_text


@dataclass(frozen=True)
class Message:
    """A text to write later, in the reader's language: a catalogue key and its parameters.

    For what is built once and shown to many (a model's name, kept with the model) or shown again
    after the reader switches language."""

    key: str
    params: tuple = ()  # (name, value) pairs

    @classmethod
    def of(cls, key: str, **params) -> "Message":
        return cls(key, tuple(params.items()))

    def text(self, lang: str = DEFAULT) -> str:
        return text(self.key, lang, **dict(self.params))
