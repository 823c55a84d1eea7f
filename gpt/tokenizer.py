"""Text to token ids and back.

- CharTokenizer: the article's tokenizer. One id per distinct character of the training
  text, sorted; a tiny vocabulary and long sequences.
- BPETokenizer: GPT-2's byte-pair encoding (via tiktoken, loaded offline from assets/),
  with its 50,257-token vocabulary compacted to the tokens the training text uses plus the
  256 single bytes and <|endoftext|>. A tiny model then needs ~12k embedding rows for tiny
  Shakespeare instead of 50,257, and any string still round-trips: a GPT-2 token outside
  the compact vocabulary is spelled out as its bytes.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import UserError, either

ASSETS = Path(__file__).resolve().parent.parent / "assets"
GPT2_BPE_FILE = ASSETS / "gpt2.tiktoken"
GPT2_BPE_SHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"
# GPT-2's pre-tokenisation pattern: splits off contractions, words, numbers, punctuation, spaces.
GPT2_SPLIT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
END_OF_TEXT = "<|endoftext|>"
GPT2_END_OF_TEXT_ID = 50256


def _require_text(text) -> None:
    if not isinstance(text, str):
        raise UserError("tokenizer.not_text", kind=type(text).__name__)
    if not text:
        raise UserError("tokenizer.empty")


class CharTokenizer:
    kind = "char"

    def __init__(self, chars: str):
        if not isinstance(chars, str) or not chars or len(set(chars)) != len(chars):
            raise UserError("tokenizer.char_vocabulary")
        try:
            chars.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from a crafted JSON header: no text can hold it
            raise UserError("tokenizer.char_encodable") from None
        self.chars = chars
        self._ids = {ch: i for i, ch in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> "CharTokenizer":
        _require_text(text)
        return cls("".join(sorted(set(text))))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        try:
            return [self._ids[ch] for ch in text]
        except KeyError:
            unseen = sorted({ch for ch in text if ch not in self._ids})
            shown = ", ".join(repr(ch) for ch in unseen[:10])
            raise UserError("tokenizer.unseen", chars=shown) from None

    def decode(self, ids) -> str:
        try:
            return "".join(self.chars[i] if i >= 0 else self.chars[len(self.chars)] for i in ids)
        except IndexError:
            raise ValueError(f"Token ids must be between 0 and {self.vocab_size - 1}.") from None

    def to_dict(self) -> dict:
        return {"kind": self.kind, "chars": self.chars}


@lru_cache(maxsize=1)
def gpt2_encoding():
    """GPT-2's tiktoken Encoding, built once from the bundled rank file (nothing is downloaded)."""
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    ranks = load_tiktoken_bpe(str(GPT2_BPE_FILE), expected_hash=GPT2_BPE_SHA256)
    return tiktoken.Encoding(
        name="gpt2-mirador",
        pat_str=GPT2_SPLIT_PATTERN,
        mergeable_ranks=ranks,
        special_tokens={END_OF_TEXT: GPT2_END_OF_TEXT_ID},
    )


class BPETokenizer:
    kind = "bpe"

    def __init__(self, gpt2_ids):
        """gpt2_ids: the GPT-2 token ids kept, in compact-id order."""
        enc = gpt2_encoding()
        kept = np.asarray(sorted(set(int(i) for i in gpt2_ids)), dtype=np.int64)
        if kept.size == 0 or kept[0] < 0 or kept[-1] > GPT2_END_OF_TEXT_ID:
            raise UserError("tokenizer.bpe_ids")
        self._byte_ids = [enc.encode_single_token(bytes([b])) for b in range(256)]
        missing = set(self._byte_ids) - set(kept.tolist())
        if missing:
            raise UserError("tokenizer.bpe_bytes")
        self.gpt2_ids = kept  # compact id -> GPT-2 id
        self._compact = np.full(GPT2_END_OF_TEXT_ID + 1, -1, dtype=np.int64)  # GPT-2 id -> compact id
        self._compact[kept] = np.arange(kept.size)

    @classmethod
    def from_text(cls, text: str) -> "BPETokenizer":
        _require_text(text)
        enc = gpt2_encoding()
        used = set(enc.encode_ordinary(text))
        single_bytes = {enc.encode_single_token(bytes([b])) for b in range(256)}
        return cls(used | single_bytes | {GPT2_END_OF_TEXT_ID})

    @property
    def vocab_size(self) -> int:
        return int(self.gpt2_ids.size)

    def encode(self, text: str) -> list[int]:
        enc = gpt2_encoding()
        gpt2 = np.asarray(enc.encode_ordinary(text), dtype=np.int64)
        compact = self._compact[gpt2]
        if (compact >= 0).all():
            return compact.tolist()
        out: list[int] = []
        for g, c in zip(gpt2.tolist(), compact.tolist()):
            if c >= 0:
                out.append(c)
            else:  # a token the training text never used: spell it as its bytes
                out.extend(self.encode_bytes(enc.decode_single_token_bytes(g)))
        return out

    def decode(self, ids) -> str:
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def encode_bytes(self, data: bytes) -> list[int]:
        """Raw bytes as single-byte tokens (any bytes, valid UTF-8 or not)."""
        return [int(self._compact[self._byte_ids[b]]) for b in data]

    def decode_bytes(self, ids) -> bytes:
        ids = np.asarray(list(ids), dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"Token ids must be between 0 and {self.vocab_size - 1}.")
        return gpt2_encoding().decode_bytes(self.gpt2_ids[ids].tolist())

    def to_dict(self) -> dict:
        return {"kind": self.kind, "gpt2_ids": self.gpt2_ids.tolist()}


def tokenizer_from_dict(data: dict):
    """Rebuild a tokenizer from its to_dict() form (as stored in a checkpoint)."""
    if not isinstance(data, dict):
        raise UserError("tokenizer.not_object")
    kind = data.get("kind")
    if kind == "char" and isinstance(data.get("chars"), str):
        return CharTokenizer(data["chars"])
    if kind == "bpe" and isinstance(data.get("gpt2_ids"), list):
        return BPETokenizer(data["gpt2_ids"])
    raise UserError("tokenizer.unknown", kind=kind)


def make_tokenizer(kind: str, text: str):
    """The tokenizer named 'char' or 'bpe', fitted to text."""
    if kind == "char":
        return CharTokenizer.from_text(text)
    if kind == "bpe":
        return BPETokenizer.from_text(text)
    raise UserError("tokenizer.kind", choices=either(("char", "bpe")), value=kind)


class StreamDecoder:
    """Token ids to text as they arrive, one piece per token, for text that streams.

    A BPE token holds bytes, and may end in the middle of a multi-byte character: such bytes
    wait in Python's incremental UTF-8 decoder until the character is complete, so the pieces,
    joined, are exactly the full decode (invalid bytes become U+FFFD in both, wherever the
    stream was cut). A char token is always one whole character.
    """

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace") if tokenizer.kind == "bpe" else None

    def push(self, token_id: int) -> str:
        """The text this token completes ("" while a character is still incomplete)."""
        if self._utf8 is None:
            return self.tokenizer.decode([token_id])
        return self._utf8.decode(self.tokenizer.decode_bytes([token_id]))

    def flush(self, drop_incomplete: bool = False) -> str:
        """What is still waiting: U+FFFD for a character that never completed, as the full decode
        gives, or nothing with drop_incomplete (a stream cut short by a token limit ends cleanly)."""
        if self._utf8 is None:
            return ""
        if drop_incomplete:
            self._utf8.reset()
            return ""
        return self._utf8.decode(b"", final=True)


def text_pieces(tokenizer, ids: Iterable[int], drop_incomplete: bool = False) -> Iterator[str]:
    """The text of a stream of token ids, a piece as soon as it is whole (empty pieces skipped).
    Joined, the pieces are tokenizer.decode(ids); with drop_incomplete, without the replacement
    character for a last character that the stream cut in half."""
    decoder = StreamDecoder(tokenizer)
    for token_id in ids:
        piece = decoder.push(int(token_id))
        if piece:
            yield piece
    tail = decoder.flush(drop_incomplete)
    if tail:
        yield tail


# --- tokens as a person reads them -----------------------------------------------------------


@dataclass(frozen=True)
class TokenPiece:
    """One token as the views show it."""

    text: str  # its characters; bytes that are only part of a character are shown as ‹C3›
    part_of: str = ""  # the character(s) those bytes belong to ("" when the token holds whole characters)


def byte_label(data: bytes) -> str:
    """Bytes as text: whole UTF-8 characters as themselves, any other byte as ‹XX›."""
    out, i = [], 0
    while i < len(data):
        for size in (1, 2, 3, 4):
            try:
                out.append(data[i : i + size].decode("utf-8"))
                i += size
                break
            except UnicodeDecodeError:
                continue
        else:
            out.append(f"‹{data[i]:02X}›")
            i += 1
    return "".join(out)


def token_label(tokenizer, token_id: int) -> str:
    """One token alone, as a person reads it: its text, with bytes that are not a whole character as ‹XX›."""
    if tokenizer.kind == "bpe":
        return byte_label(tokenizer.decode_bytes([token_id]))
    return tokenizer.decode([token_id])


def _characters(data: bytes) -> list[tuple[int, int, str | None]]:
    """(start byte, end byte, character) of each character of data; None for a byte that starts no
    valid character."""
    spans, i = [], 0
    while i < len(data):
        for size in (1, 2, 3, 4):
            try:
                spans.append((i, i + size, data[i : i + size].decode("utf-8")))
                i += size
                break
            except UnicodeDecodeError:
                continue
        else:
            spans.append((i, i + 1, None))
            i += 1
    return spans


def token_pieces(tokenizer, ids) -> list[TokenPiece]:
    """Each token of a sequence as a person reads it. A char token is its character. A BPE token
    holds bytes, and may hold only part of a multi-byte character (GPT-2 splits "ñ" or an emoji
    into byte pieces): its label then shows those bytes, ‹C3›, and part_of names the character."""
    ids = [int(i) for i in ids]
    if tokenizer.kind != "bpe":
        return [TokenPiece(tokenizer.decode([i])) for i in ids]
    token_bytes = [tokenizer.decode_bytes([i]) for i in ids]
    characters = _characters(b"".join(token_bytes))
    pieces, start = [], 0
    for data in token_bytes:
        end = start + len(data)
        text, split = [], []
        for c_start, c_end, char in characters:
            if c_end <= start or c_start >= end:
                continue
            if char is None:  # a byte of no character: itself
                text.append(byte_label(data[c_start - start : c_end - start]))
            elif start <= c_start and c_end <= end:
                text.append(char)
            else:  # the character straddles this token's edge: show the token's share of its bytes
                text.append(byte_label(data[max(c_start, start) - start : min(c_end, end) - start]))
                split.append(char)
        pieces.append(TokenPiece("".join(text), "".join(split)))
        start = end
    return pieces
