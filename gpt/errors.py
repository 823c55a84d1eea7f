"""Errors a person reads: a catalogue key and its parameters, written in English by str() and in
any language by whoever holds that language's templates.

    raise UserError("config.n_embd_divisible", n_embd=16, n_head=3, suggested=15)
    raise UserError("check.between", name="top_k", low=0, high=5, value=9).then("generate.top_k_hint")

str(exc) is the English message (what the command line prints and API clients read); the app
writes the same error in the visitor's language with exc.render(templates), templates being its
catalogue of key -> template (locales/). A message is a few sentences (`then` adds one): each is a
Phrase, a key and its parameters. A parameter may itself be a Phrase or a keyed error (a reason,
a cause), written in the same language; any other value is formatted as it is (str.format).

The library's English templates are gpt/messages.py ERRORS; an application that raises keys of its
own adds its English templates with add_english (Mirador's app does so in locales/).
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field

from .messages import ERRORS

ENGLISH = ChainMap(ERRORS)  # key -> English template: the library's, then any an application adds


def add_english(templates: Mapping[str, str]) -> None:
    """Make an application's English templates known to str() (once; a key may not be defined twice)."""
    if any(m is templates for m in ENGLISH.maps):
        return
    clash = set(templates) & set(ENGLISH)
    if clash:
        raise ValueError(f"error keys defined twice: {sorted(clash)}")
    ENGLISH.maps.append(templates)


@dataclass(frozen=True)
class Phrase:
    """One sentence (or part of one) of a message: a catalogue key and its parameters."""

    key: str
    params: Mapping = field(default_factory=dict)

    def render(self, templates: Mapping[str, str]) -> str:
        if self.key not in templates and not self.params:  # a plain message, as from TrainingDiverged("...")
            return self.key
        return templates[self.key].format(**{name: _rendered(v, templates) for name, v in self.params.items()})


def _rendered(value, templates):
    return value.render(templates) if isinstance(value, (Phrase, Keyed)) else value


def _phrase(part) -> Phrase | None:
    """A key (str), a Phrase, or nothing (None, ""): what `then` and the hints of gpt/checks.py take."""
    if part is None or part == "":
        return None
    return part if isinstance(part, Phrase) else Phrase(part)


class Keyed(Exception):
    """An exception whose message is a list of phrases (see the module docstring); mixed into
    UserError and the library's other errors a person reads (TrainingDiverged, MissingFile)."""

    def __init__(self, key: str, /, **params):
        super().__init__(key)
        self.phrases: tuple[Phrase, ...] = (Phrase(key, params),)

    @property
    def key(self) -> str:
        return self.phrases[0].key

    @property
    def params(self) -> Mapping:
        return self.phrases[0].params

    def then(self, *parts, **params):
        """This error with more sentences after it: then("key", name=value) adds one, then(a, b, ...)
        adds keys or Phrases (None and "" are skipped). Returns a new error of the same class."""
        if params:
            if len(parts) != 1:
                raise TypeError("then(key, **params) takes one key with its parameters")
            parts = (Phrase(parts[0], params),)
        added = []
        for part in parts:
            if isinstance(part, (tuple, list)):
                added += [p for p in map(_phrase, part) if p is not None]
            elif _phrase(part) is not None:
                added.append(_phrase(part))
        followed = type(self).__new__(type(self))
        followed.args = self.args
        followed.__dict__.update(self.__dict__)
        followed.phrases = self.phrases + tuple(added)
        return followed

    def render(self, templates: Mapping[str, str]) -> str:
        """The message in the language of templates (key -> template), sentence by sentence."""
        return " ".join(phrase.render(templates) for phrase in self.phrases)

    def __str__(self) -> str:
        return self.render(ENGLISH)


class UserError(Keyed, ValueError):
    """A value a person gave cannot be used; the message says what to change. A ValueError, so
    `except ValueError` catches it as it caught the plain messages before."""


class MissingFile(Keyed, FileNotFoundError):
    """A file a person named is not there."""


def out_of_range(name: str, value, low=None, high=None, low_open: bool = False, high_open: bool = False) -> UserError:
    """"{name} must be in [low, high), got {value}." (or >= low, > low, <= high, < high when one end is open)."""
    if low is not None and high is not None:
        bounds = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        return UserError("check.in", name=name, range=bounds, value=value)
    if low is not None:
        return UserError("check.gt" if low_open else "check.ge", name=name, low=f"{low:g}", value=value)
    return UserError("check.lt" if high_open else "check.le", name=name, high=f"{high:g}", value=value)


def either(choices) -> Phrase | str:
    """'a' or 'b' or 'c', with the language's word for "or"."""
    listed = [repr(c) for c in choices]
    joined = listed[0]
    for choice in listed[1:]:
        joined = Phrase("check.or", {"first": joined, "second": choice})
    return joined
