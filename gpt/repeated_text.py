"""A training text where looking back pays: random strings, each written twice.

The first copy of a random string cannot be predicted (every letter is a fresh draw), the
second can, letter by letter, by a model that finds the earlier copy of the current letter and
reads what came after it: an induction head (gpt/head_detection.py). Nothing else in the text
lowers the loss, so a small model learns that circuit within a minute or two on a CPU, and the
moment it does shows as a sudden drop of the loss (Olsson et al., 2022, "phase change").

The strings' lengths vary, so where the last copy started is not a fixed distance back: the
model has to match content, not count positions.
"""

from __future__ import annotations

import random
import string

from .checks import whole_at_least

ALPHABET = string.ascii_lowercase  # 26 letters: one character token each


def repeated_random_text(
    chars: int = 200_000,
    min_len: int = 4,
    max_len: int = 20,
    alphabet: str = ALPHABET,
    copies: int = 3,
    seed: int = 0,
) -> str:
    """About `chars` characters (at least one line): random strings of min_len..max_len
    letters drawn uniformly from `alphabet`, each written `copies` times in a row, then a
    newline (so the text reads as lines, "qzkdqzkdqzkd").

    The defaults are the "induction" preset's text (gpt/presets.py): three copies, so two
    thirds of the letters can be predicted by looking back, and strings of 4 to 20 letters, so
    three copies fit in its 64-token context and the distance back varies fivefold. In
    exploration runs of that preset's model, two copies of 4 to 32 letters formed no induction
    head within 100 s, and three copies of 5 to 12 letters (32-token context) taught it to look
    a few fixed distances back instead, which fails on longer repeats."""
    whole_at_least("chars", chars, 1)
    whole_at_least("min_len", min_len, 1)
    whole_at_least("max_len", max_len, min_len)
    whole_at_least("copies", copies, 2)
    if not isinstance(alphabet, str) or len(set(alphabet)) < 2 or "\n" in alphabet:
        raise ValueError("alphabet must be a string of at least 2 distinct characters, without a newline.")
    rng = random.Random(seed)
    letters = sorted(set(alphabet))
    lines, total = [], 0
    while total < chars:
        piece = "".join(rng.choices(letters, k=rng.randint(min_len, max_len)))
        lines.append(piece * copies + "\n")
        total += copies * len(piece) + 1
    return "".join(lines)
