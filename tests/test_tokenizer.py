"""Tokenizers: the character tokenizer and the compact GPT-2 BPE (offline, from assets/)."""

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gpt import BPETokenizer, CharTokenizer, make_tokenizer, tokenizer_from_dict
from gpt.tokenizer import StreamDecoder, gpt2_encoding, text_pieces

GPT2_VOCAB = 50257
EOT = "<|endoftext|>"
FEW = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# ---------------------------------------------------------------- char


def test_char_vocab_is_sorted_distinct_chars():
    tok = CharTokenizer.from_text("hello world")
    assert tok.chars == " dehlorw"
    assert tok.vocab_size == 8
    assert tok.encode("hello") == [" dehlorw".index(c) for c in "hello"]


def test_char_vocab_with_unicode():
    text = "zébra ÀB\n🙂\t"
    tok = CharTokenizer.from_text(text)
    assert list(tok.chars) == sorted(set(text))
    assert tok.decode(tok.encode(text)) == text


@given(st.data())
@settings(max_examples=50, deadline=None)
def test_char_round_trip(data):
    training = data.draw(st.text(min_size=1, max_size=40))
    tok = CharTokenizer.from_text(training)
    text = data.draw(st.text(alphabet=sorted(set(training)), max_size=60))
    ids = tok.encode(text)
    assert len(ids) == len(text)
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(ids) == text


@pytest.mark.parametrize("unseen", ["z", "é", "🙂", "\n"])
def test_char_unseen_character_raises_naming_it(unseen):
    tok = CharTokenizer.from_text("hello world")
    with pytest.raises(ValueError) as info:
        tok.encode("hel" + unseen + "lo")
    assert repr(unseen) in str(info.value) or unseen in str(info.value)


@pytest.mark.parametrize("kind", ["char", "bpe"])
@pytest.mark.parametrize("text", ["", None, b"bytes", 42])
def test_empty_or_non_text_training_text_raises(kind, text):
    with pytest.raises(ValueError):
        make_tokenizer(kind, text)


def test_empty_training_text_message():
    with pytest.raises(ValueError) as info:
        CharTokenizer.from_text("")
    assert "empty" in str(info.value)


def test_char_to_dict_round_trip():
    tok = CharTokenizer.from_text("To be, or not to be\n")
    data = json.loads(json.dumps(tok.to_dict()))
    again = tokenizer_from_dict(data)
    assert isinstance(again, CharTokenizer)
    assert again.chars == tok.chars and again.vocab_size == tok.vocab_size
    assert again.encode("be or not") == tok.encode("be or not")


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {},
        {"kind": "char"},
        {"kind": "char", "chars": ""},
        {"kind": "char", "chars": "aab"},
        {"kind": "char", "chars": ["a", "b"]},
        {"kind": "bpe"},
        {"kind": "bpe", "gpt2_ids": [1, 2, 3]},  # no single-byte tokens
        {"kind": "bpe", "gpt2_ids": list(range(256)) + [60000]},
        {"kind": "wordpiece", "vocab": []},
    ],
)
def test_tokenizer_from_dict_rejects_bad_descriptions(data):
    with pytest.raises(ValueError):
        tokenizer_from_dict(data)


def test_make_tokenizer_kinds():
    assert isinstance(make_tokenizer("char", "abc"), CharTokenizer)
    assert isinstance(make_tokenizer("bpe", "abc"), BPETokenizer)
    with pytest.raises(ValueError) as info:
        make_tokenizer("sentencepiece", "abc")
    assert "sentencepiece" in str(info.value)


# ---------------------------------------------------------------- bpe


@pytest.fixture(scope="module")
def english_bpe():
    return BPETokenizer.from_text(ENGLISH)


ENGLISH = (
    "The quick brown fox jumps over the lazy dog. It was the best of times, it was the "
    "worst of times; to be, or not to be, that is the question. Hello world, hello again!\n"
)


def test_gpt2_assets_load_offline_with_known_ids():
    enc = gpt2_encoding()
    assert enc.n_vocab == GPT2_VOCAB
    # Well-known GPT-2 ids: "Hello" 15496, " world" 995, <|endoftext|> 50256.
    assert enc.encode_ordinary("Hello world") == [15496, 995]
    assert enc.encode(EOT, allowed_special="all") == [50256]


def test_bpe_vocabulary_is_compact(english_bpe):
    enc = gpt2_encoding()
    used = set(enc.encode_ordinary(ENGLISH))
    single_bytes = {enc.encode_single_token(bytes([b])) for b in range(256)}
    expected = used | single_bytes | {50256}
    assert set(english_bpe.gpt2_ids.tolist()) == expected
    assert english_bpe.vocab_size == len(expected) < 400 < GPT2_VOCAB
    assert list(english_bpe.gpt2_ids) == sorted(english_bpe.gpt2_ids)


def test_bpe_encodes_like_gpt2_on_its_training_text(english_bpe):
    enc = gpt2_encoding()
    ids = english_bpe.encode(ENGLISH)
    assert [int(english_bpe.gpt2_ids[i]) for i in ids] == enc.encode_ordinary(ENGLISH)
    assert len(ids) < len(ENGLISH) / 2  # real merges, not bytes
    assert english_bpe.decode(ids) == ENGLISH


def test_bpe_unseen_tokens_fall_back_to_bytes(english_bpe):
    enc = gpt2_encoding()
    word = " hippopotamus"
    assert not set(enc.encode_ordinary(word)) <= set(english_bpe.gpt2_ids.tolist())
    ids = english_bpe.encode(word)
    assert all(0 <= i < english_bpe.vocab_size for i in ids)
    assert b"".join(enc.decode_single_token_bytes(int(english_bpe.gpt2_ids[i])) for i in ids) == word.encode()
    assert english_bpe.decode(ids) == word


def test_bpe_end_of_text_is_plain_text(english_bpe):
    ids = english_bpe.encode("a" + EOT + "b")
    eot_compact = english_bpe.gpt2_ids.tolist().index(50256)
    assert eot_compact not in ids
    assert english_bpe.decode(ids) == "a" + EOT + "b"


@given(st.text())
@FEW
@example("")
@example("😀👩‍👩‍👧 🇫🇷 emoji")
@example("e\u0301 a\u0308\u0323 combining")
@example(EOT)
@example("x<|endoftext|><|endoftext|>y")
@example("\x00\x01\x1b[31m\x7f\r\n\t\x0b\x0c")
@example("   leading and trailing   \n\n")
@example("日本語のテキスト 中文 한국어 العربية עברית")
@example("\ufeff\u200b\u200d\U0010ffff")
def test_bpe_round_trip_on_arbitrary_unicode(english_bpe, text):
    ids = english_bpe.encode(text)
    assert all(isinstance(i, int) and 0 <= i < english_bpe.vocab_size for i in ids)
    assert english_bpe.decode(ids) == text
    assert english_bpe.decode_bytes(ids) == text.encode("utf-8")


def test_bpe_to_dict_round_trip(english_bpe):
    data = json.loads(json.dumps(english_bpe.to_dict()))
    again = tokenizer_from_dict(data)
    assert isinstance(again, BPETokenizer)
    assert again.vocab_size == english_bpe.vocab_size
    sample = "the lazy fox, hippopotamus 🙂"
    assert again.encode(sample) == english_bpe.encode(sample)


@pytest.mark.parametrize("ids", [[-1], [10_000], [0, 1, 99_999]])
def test_bpe_decode_rejects_out_of_range_ids(english_bpe, ids):
    with pytest.raises(ValueError):
        english_bpe.decode(ids)


def test_bpe_vocab_grows_with_the_text():
    small = BPETokenizer.from_text("hello")
    bigger = BPETokenizer.from_text("hello there, general kenobi")
    assert 257 < small.vocab_size < bigger.vocab_size < 300


# --- streaming: tokens to text pieces ---------------------------------------------------------

SPANISH_BPE_TEXT = "¿Qué tal, señor? ¡Buenísimo! 🌮 Año, niño, corazón. " * 3


@pytest.fixture(scope="module")
def spanish_bpe():
    return make_tokenizer("bpe", SPANISH_BPE_TEXT)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_token_stream_cut_anywhere_streams_to_exactly_the_full_decode(spanish_bpe, data):
    """Single-byte tokens make every cut possible; multi-byte tokens (ñ, é, 🌮 pieces) mix in."""
    ids = data.draw(st.lists(st.integers(0, spanish_bpe.vocab_size - 1), max_size=40))
    pieces = list(text_pieces(spanish_bpe, ids))
    assert "".join(pieces) == spanish_bpe.decode(ids)
    assert all(pieces)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=48), cuts=st.lists(st.integers(0, 48), max_size=12))
def test_invalid_utf8_split_across_tokens_streams_like_the_full_decode(spanish_bpe, raw, cuts):
    """The old decoder's bug: invalid bytes arriving split across tokens came out differently
    (147 of 20,000 random streams). Here every byte is its own token, grouped at random cuts."""
    byte_ids = spanish_bpe.encode_bytes(raw)
    decoder = StreamDecoder(spanish_bpe)
    out, start = [], 0
    for end in sorted(set(c for c in cuts if c <= len(byte_ids))) + [len(byte_ids)]:
        out += [decoder.push(i) for i in byte_ids[start:end]]
        start = end
    out.append(decoder.flush())
    assert "".join(out) == raw.decode("utf-8", errors="replace") == spanish_bpe.decode(byte_ids)


def test_a_stream_cut_in_the_middle_of_a_character_can_end_cleanly(spanish_bpe):
    ids = spanish_bpe.encode("ñ")
    assert len(spanish_bpe.decode_bytes(ids)) == 2
    half = spanish_bpe.encode_bytes(spanish_bpe.decode_bytes(ids)[:1])
    assert "".join(text_pieces(spanish_bpe, half)) == "\ufffd"  # as the full decode says
    assert "".join(text_pieces(spanish_bpe, half, drop_incomplete=True)) == ""  # a generation cut short


def test_char_tokens_stream_one_character_each(english):
    tok = make_tokenizer("char", english)
    ids = tok.encode("to be")
    assert list(text_pieces(tok, ids)) == list("to be")
