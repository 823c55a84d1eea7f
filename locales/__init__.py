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

Error messages are raised in English everywhere (the library's, and the app's checks, which API
clients read); `translate_error` turns one into Spanish for a Spanish page, sentence by sentence,
with es.py's ERRORS: pairs of an English template and its Spanish template, where {name} stands
for any text. A sentence no template knows stays English.

To add a language: copy es.py to xx.py (and learn_es.py to learn_xx.py, the Learn tab's part), translate every value (keys and {placeholders} stay) and
the Spanish side of its ERRORS, import it below (CATALOGUES, ERROR_TEMPLATES), add "xx" to
LANGUAGES and its name to ui/i18n.py LANGUAGE_NAMES; tests/test_i18n.py checks that the keys and
placeholders match. language_from_header then picks it for browsers that ask for it first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from . import en, es

LANGUAGES = ("en", "es")
DEFAULT = "en"
CATALOGUES = {"en": en.TEXTS, "es": es.TEXTS}
ERROR_TEMPLATES = {"en": [], "es": es.ERRORS}


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


@lru_cache(maxsize=None)
def _compiled(lang: str):
    """Each English error template as a regex matching it at the start of a message ({name}
    twice in a template must be the same text twice)."""
    compiled = []
    for english, translated in ERROR_TEMPLATES[lang]:
        names, parts = [], []
        for piece in re.split(r"(\{\w+\})", english):
            if re.fullmatch(r"\{\w+\}", piece):
                name = piece[1:-1]
                parts.append(f"(?P={name})" if name in names else f"(?P<{name}>.+?)")
                names.append(name)
            elif piece:
                parts.append(re.escape(piece))
        pattern = "".join(parts)
        if english.endswith("."):  # a sentence's last full stop, not a decimal point: "got 0.01."
            pattern = pattern[: -len(re.escape("."))] + r"\.(?=\s|$)"
        compiled.append((re.compile(pattern, re.DOTALL), sorted(set(names)), translated))
    return compiled


def _translated(message: str, lang: str) -> tuple[str, str]:
    """(the message in lang as far as templates know it, the English rest no template knew)."""
    out, rest = [], message
    while rest:
        for pattern, names, translated in _compiled(lang):
            match = pattern.match(rest)
            if match:
                out.append(translated.format(**{n: match.group(n) for n in names}))
                rest = rest[match.end():]
                break
        else:  # no template knows what follows: it stays as it is
            break
        if rest.startswith(" "):
            out.append(" ")
            rest = rest.lstrip(" ")
    return "".join(out), rest


def translate_error(message: str, lang: str) -> str:
    """An English error message in `lang`, sentence by sentence (see the module docstring)."""
    lang = supported(lang)
    if lang == DEFAULT or not message:
        return message
    done, rest = _translated(message, lang)
    return done + rest


def untranslated(message: str, lang: str) -> str:
    """What translate_error leaves in English: "" when every sentence of message has a template."""
    lang = supported(lang)
    if lang == DEFAULT or not message:
        return ""
    return _translated(message, lang)[1]


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
