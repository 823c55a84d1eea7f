"""The text every view of a model starts from, chosen so that the model can read it.

The Attention tab, the Generate tab's prompt and the Train tab's probe open on a line of
Shakespeare. A model trained on other text (Spanish, code, a list of names) may never have
seen some of its characters, and a char model cannot encode a character it never saw. So each
model gets an example sentence: the fixed one when it encodes, else a piece of the model's own
training text (kept in its checkpoint's meta as "example"), else its own characters.
"""

from __future__ import annotations

from gpt.data import text_snippet

DEFAULT_SENTENCE = "ROMEO:\nBut soft, what light through yonder window breaks?"
DEFAULT_PROMPT = "ROMEO:\n"
EXAMPLE_CHARS = 80  # a vocabulary's example: its first printable characters


def encodes(tokenizer, text: str) -> bool:
    try:
        return bool(text) and bool(tokenizer.encode(text))
    except ValueError:
        return False


def example_sentence(tokenizer, meta: dict) -> str:
    """The fixed sentence if this model can encode it; else its training text's snippet; else its characters."""
    for candidate in (DEFAULT_SENTENCE, meta.get("example")):
        if isinstance(candidate, str) and encodes(tokenizer, candidate):
            return candidate
    if tokenizer.kind == "char":
        printable = [c for c in tokenizer.chars if c.isprintable() or c == "\n"]
        return "".join(printable[:EXAMPLE_CHARS]) or tokenizer.chars[:EXAMPLE_CHARS]
    return DEFAULT_SENTENCE  # a BPE model encodes any text


def example_prompt(tokenizer, meta: dict) -> str:
    """A prompt to continue: the fixed one if it encodes, else the example sentence's first words."""
    if encodes(tokenizer, DEFAULT_PROMPT):
        return DEFAULT_PROMPT
    sentence = example_sentence(tokenizer, meta)
    first_line = sentence.split("\n", 1)[0] or sentence
    return text_snippet(first_line, 24)
