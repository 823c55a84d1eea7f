"""Our tokenizers in the files Hugging Face `transformers` loads, and back.

Written as plain JSON, so exporting needs neither `transformers` nor `tokenizers`:

- bpe: GPT-2's own tokenizer, rebuilt offline from the bundled rank file (assets/gpt2.tiktoken).
  A tiktoken rank file lists each token's bytes and rank; GPT-2's vocab.json/merges.txt
  spell the same tokens through a byte-to-unicode table (every byte gets a printable
  character, so a space becomes "Ġ") and list the merges in rank order. A token's merge is
  recovered by replaying BPE on its bytes with only the lower-ranked merges: the two pieces
  left are the pair whose merge made it. The ids are GPT-2's (50,257), not our compact ones.
- char: a word-level model whose words are single characters, a pre-tokenizer that splits
  text into characters, and a decoder that joins them. A character the model never saw is
  an error when encoding (there is no unknown token to fall back on), as it is in Mirador.

Reading a folder back (`read_hf_tokenizer`) recognises exactly these two: GPT-2's BPE
(as tokenizer.json, or vocab.json + merges.txt) or the character JSON written here.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from .tokenizer import (
    END_OF_TEXT,
    GPT2_END_OF_TEXT_ID,
    BPETokenizer,
    CharTokenizer,
    gpt2_encoding,
)

GPT2_VOCAB_SIZE = GPT2_END_OF_TEXT_ID + 1
CHAR_SPLIT = {"type": "Split", "pattern": {"Regex": r"[\s\S]"}, "behavior": "Isolated", "invert": False}
# Never a single character, so never in a character vocabulary: encoding an unseen character fails.
UNSEEN = "<not in this model's characters>"


@lru_cache(maxsize=1)
def byte_to_unicode() -> dict[int, str]:
    """GPT-2's table: printable Latin-1 bytes stand for themselves, the other 68 bytes
    (control characters, space, ...) take the characters from U+0100 on, in byte order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in printable}
    extra = (b for b in range(256) if b not in table)
    table.update({b: chr(256 + n) for n, b in enumerate(extra)})
    return table


def _spell(token: bytes) -> str:
    table = byte_to_unicode()
    return "".join(table[b] for b in token)


def _merge_that_made(token: bytes, rank: int, ranks: dict[bytes, int]) -> tuple[bytes, bytes]:
    parts = [bytes([b]) for b in token]
    while len(parts) > 2:
        pairs = [(ranks.get(parts[i] + parts[i + 1], rank), i) for i in range(len(parts) - 1)]
        best_rank, i = min(pairs)
        if best_rank >= rank:
            break
        parts[i : i + 2] = [parts[i] + parts[i + 1]]
    if len(parts) != 2:
        raise ValueError(f"GPT-2 token {token!r} has no merge: the rank file is not GPT-2's.")
    return parts[0], parts[1]


@lru_cache(maxsize=1)
def gpt2_vocab_and_merges() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """GPT-2's vocab.json (spelled token -> id) and merges (in rank order), from the ranks."""
    ranks = gpt2_encoding()._mergeable_ranks  # bytes -> rank; the rank is the GPT-2 id
    vocab = {_spell(token): rank for token, rank in ranks.items()}
    vocab[END_OF_TEXT] = GPT2_END_OF_TEXT_ID
    by_rank = sorted((rank, token) for token, rank in ranks.items() if len(token) > 1)
    merges = [tuple(map(_spell, _merge_that_made(token, rank, ranks))) for rank, token in by_rank]
    return vocab, merges


def _gpt2_tokenizer_json() -> dict:
    vocab, merges = gpt2_vocab_and_merges()
    byte_level = {"add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": GPT2_END_OF_TEXT_ID, "content": END_OF_TEXT, "single_word": False, "lstrip": False,
             "rstrip": False, "normalized": True, "special": True}
        ],
        "normalizer": None,
        # ByteLevel with use_regex splits with GPT-2's pattern (the one in gpt/tokenizer.py), then
        # spells each piece's bytes through byte_to_unicode().
        "pre_tokenizer": {"type": "ByteLevel", **byte_level},
        "post_processor": {"type": "ByteLevel", **byte_level, "trim_offsets": False},
        "decoder": {"type": "ByteLevel", **byte_level},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
            "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": vocab, "merges": [list(pair) for pair in merges],
        },
    }


def _char_tokenizer_json(tokenizer: CharTokenizer) -> dict:
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [],
        "normalizer": None,
        "pre_tokenizer": CHAR_SPLIT,
        "post_processor": None,
        "decoder": {"type": "Fuse"},  # join the characters back with nothing between them
        "model": {"type": "WordLevel", "vocab": {c: i for i, c in enumerate(tokenizer.chars)}, "unk_token": UNSEEN},
    }


def hf_tokenizer_files(tokenizer, context: int) -> dict[str, dict]:
    """{file name: JSON} for the tokenizer files of an exported folder. context is the
    model's block_size: transformers warns when a text encodes to more tokens."""
    common = {"model_max_length": context, "clean_up_tokenization_spaces": False}
    if isinstance(tokenizer, BPETokenizer):
        special = {"bos_token": END_OF_TEXT, "eos_token": END_OF_TEXT, "unk_token": END_OF_TEXT}
        config = {"tokenizer_class": "GPT2Tokenizer", "add_prefix_space": False, **special, **common}
        return {"tokenizer.json": _gpt2_tokenizer_json(), "tokenizer_config.json": config}
    if isinstance(tokenizer, CharTokenizer):
        config = {"tokenizer_class": "PreTrainedTokenizerFast", **common}
        return {"tokenizer.json": _char_tokenizer_json(tokenizer), "tokenizer_config.json": config}
    raise ValueError(f"Cannot export a {type(tokenizer).__name__}: only char and bpe tokenizers.")


# Reading a folder back.

UNREADABLE = (
    "{name} has no tokenizer Mirador can read. Mirador reads GPT-2's BPE (tokenizer.json, or vocab.json "
    "and merges.txt, with GPT-2's 50,257 tokens and merges) or the character-level tokenizer.json that "
    "`python -m gpt.export` writes; {why}."
)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _merge_pairs(merges) -> list[tuple[str, str]] | None:
    """Merges as pairs, from either spelling tokenizers uses: ["a", "b"] or "a b"."""
    if not isinstance(merges, list):
        return None
    pairs = []
    for merge in merges:
        if isinstance(merge, str) and merge.count(" ") == 1:
            merge = merge.split(" ")
        if not (isinstance(merge, list) and len(merge) == 2 and all(isinstance(m, str) for m in merge)):
            return None
        pairs.append(tuple(merge))
    return pairs


def _is_gpt2(vocab, merges) -> bool:
    gpt2_vocab, gpt2_merges = gpt2_vocab_and_merges()
    return vocab == gpt2_vocab and _merge_pairs(merges) == gpt2_merges


def _splits_like_gpt2(data: dict) -> bool:
    """GPT-2's pre-tokenization: no normalizer, ByteLevel with GPT-2's pattern and no added space."""
    pre = data.get("pre_tokenizer") or {}
    byte_level = pre.get("type") == "ByteLevel" and pre.get("add_prefix_space") is False
    return data.get("normalizer") is None and byte_level and pre.get("use_regex", True) is True


def _char_tokenizer(data: dict) -> CharTokenizer | None:
    model = data.get("model") or {}
    vocab = model.get("vocab")
    if model.get("type") != "WordLevel" or not isinstance(vocab, dict) or data.get("normalizer") is not None:
        return None
    if data.get("pre_tokenizer") != CHAR_SPLIT or data.get("added_tokens"):
        return None
    if sorted(vocab.values()) != list(range(len(vocab))) or not all(len(ch) == 1 for ch in vocab):
        return None
    return CharTokenizer("".join(sorted(vocab, key=vocab.get)))


def read_hf_tokenizer(folder) -> str | CharTokenizer:
    """"gpt2" when the folder holds GPT-2's BPE, a CharTokenizer when it holds our character
    JSON; ValueError saying what Mirador reads otherwise."""
    folder = Path(folder)

    def refuse(why: str) -> ValueError:
        return ValueError(UNREADABLE.format(name=folder.name, why=why))

    tokenizer_json = folder / "tokenizer.json"
    if tokenizer_json.is_file():
        data = _read_json(tokenizer_json)
        if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
            raise refuse("its tokenizer.json is not a tokenizers JSON file")
        model = data["model"]
        if model.get("type") == "BPE" and _is_gpt2(model.get("vocab"), model.get("merges")):
            if not _splits_like_gpt2(data):
                raise refuse("its tokenizer.json has GPT-2's tokens but splits text another way (pre_tokenizer)")
            return "gpt2"
        char = _char_tokenizer(data)
        if char is not None:
            return char
        raise refuse(f"its tokenizer.json holds another {model.get('type')} tokenizer")
    vocab_json, merges_txt = folder / "vocab.json", folder / "merges.txt"
    if vocab_json.is_file() and merges_txt.is_file():
        try:
            lines = merges_txt.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            lines = []
        merges = [line for line in lines if line and not line.startswith("#version")]
        if _is_gpt2(_read_json(vocab_json), merges):
            return "gpt2"
        raise refuse("its vocab.json and merges.txt are not GPT-2's")
    raise refuse("it has no tokenizer.json (nor vocab.json and merges.txt)")
