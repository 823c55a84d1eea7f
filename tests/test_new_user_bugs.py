"""What a new user and a hostile visitor hit (the bugs issue), each held at the logic level; the
browser-side checks are in tests/test_browser_models.py."""

from __future__ import annotations

import json

import pytest
import torch

import gpt
from gpt import GPT, GPTConfig, TrainConfig, Trainer, make_tokenizer
from gpt.tokenizer import byte_label, token_label, token_pieces
from locales import text
from ui import attention, checkpoints, generation
from ui.examples import DEFAULT_PROMPT, DEFAULT_SENTENCE, encodes
from ui.sessions import ModelHandle
from ui.widgets import index_slider

pytestmark = pytest.mark.usefixtures("one_thread")

SPANISH = "¿Qué tal, señor? ¡Buenísimo! Hoy aprendemos cómo funciona un transformador, paso a paso. " * 8


def handle_for(text: str, kind: str = "char", **shape) -> ModelHandle:
    tokenizer = make_tokenizer(kind, text)
    torch.manual_seed(0)
    config = dict(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=1, n_head=1, n_embd=16)
    config.update(shape)
    meta = {"example": gpt.data.text_snippet(text)}
    return ModelHandle.serving(GPT(GPTConfig(**config)), tokenizer, meta, "trained", "test model")


# --- 1. a model with one layer or one head ------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 6])
def test_a_slider_over_one_layer_is_valid_and_hidden(count):
    slider = index_slider(count, value=5)
    assert slider.minimum < slider.maximum  # Gradio refuses minimum == maximum
    assert slider.value == min(5, count - 1)
    assert slider.visible is (count > 1)


# --- 2. own text: the views start from what the model can read ----------------------------------


def test_a_model_of_spanish_text_starts_its_views_from_its_own_text():
    handle = handle_for(SPANISH)
    assert not encodes(handle.tokenizer, DEFAULT_SENTENCE) and not encodes(handle.tokenizer, DEFAULT_PROMPT)
    assert encodes(handle.tokenizer, handle.example) and handle.example.startswith("¿Qué tal")
    assert encodes(handle.tokenizer, handle.prompt) and handle.prompt
    attention.grid_figure(handle, handle.example, 0)  # draws, no error
    settings = generation.parse_sampling(handle.prompt, 5, 0.8, 0, 1.0, 1)
    assert generation.generate_text(handle, settings).startswith(handle.prompt)


def test_a_model_whose_text_is_unknown_still_gets_an_example_it_can_read():
    handle = handle_for("xyz" * 20)
    handle = ModelHandle.serving(handle.model, handle.tokenizer, {}, "uploaded", "no example in its meta")
    assert encodes(handle.tokenizer, handle.example) and set(handle.example) <= set("xyz")


def test_the_automatic_redraw_never_raises():
    """app.py's redraw after a model change: a text the model cannot read becomes a note."""
    from app import create_app

    demo = create_app()
    views = next(f.fn for f in demo.fns.values() if f.fn is not None and f.fn.__name__ == "views")
    spanish = handle_for(SPANISH)
    demo.context.registry.set_model("s", spanish)
    request = type("R", (), {"session_hash": "s"})()
    tokens, grid, single = views(DEFAULT_SENTENCE, 0, 0, request=request)
    assert "never saw" in tokens and "note" in tokens


# --- 4. BPE pieces of a character ----------------------------------------------------------------


def test_bpe_tokens_that_hold_part_of_a_character_get_byte_labels_and_name_it():
    tokenizer = make_tokenizer("bpe", "hola")
    ids = tokenizer.encode("¿Qué tal, señor? ¡Buenísimo! 🌮")
    pieces = token_pieces(tokenizer, ids)
    assert not any("\ufffd" in p.text for p in pieces)
    split = [p for p in pieces if p.part_of]
    assert {p.part_of for p in split} == {"¿", "é", "ñ", "¡", "í", "🌮"}
    assert [p.text for p in split if p.part_of == "ñ"] == ["‹C3›", "‹B1›"]
    html = attention.tokens_html(ModelHandle.serving(GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=1, n_head=1, n_embd=8)), tokenizer, {}, "trained", "t"), "señor")
    assert "‹C3›" in html and "a piece of “ñ”" in html and "\ufffd" not in html


def test_the_heatmap_hover_names_the_character_a_byte_piece_belongs_to():
    tokenizer = make_tokenizer("bpe", "hola")
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=1, n_head=2, n_embd=8))
    handle = ModelHandle.serving(model, tokenizer, {}, "trained", "t")
    for fig in (attention.grid_figure(handle, "señor", 0, lang="es"), attention.head_figure(handle, "señor", 0, 1, lang="es")):
        trace = fig.data[-1]
        labels = list(trace.x)
        c3 = labels.index(next(label for label in labels if "‹C3›" in label))
        assert "%{customdata[0]}" in trace.hovertemplate and "%{customdata[1]}" in trace.hovertemplate
        assert trace.customdata[c3][0][0] == text("attention.tokens.piece_of", "es", char="ñ")  # as the query
        assert trace.customdata[0][c3][1] == text("attention.tokens.piece_of", "es", char="ñ")  # as the key
        assert list(trace.customdata[0][0]) == ["", ""]  # "se" holds whole characters
    whole = attention.grid_figure(handle, "hola", 0)  # no piece anywhere: no extra data in the figure
    assert whole.data[0].customdata is None and "customdata" not in whole.data[0].hovertemplate


def test_a_lone_token_is_labelled_by_its_bytes():
    tokenizer = make_tokenizer("bpe", "hola")
    half = tokenizer.encode_bytes("ñ".encode()[:1])[0]
    assert token_label(tokenizer, half) == "‹C3›"
    assert byte_label(b" \xe2\x80") == " ‹E2›‹80›" and byte_label("é".encode()) == "é"


# --- 6. a crafted checkpoint ----------------------------------------------------------------------


def test_the_model_card_is_plain_text_whatever_the_metadata_says():
    handle = handle_for("ab" * 20)
    meta = {"text": "![p](http://tracker.example/track.png) <img src=http://tracker.example/x.png>", "stopped_early": False,
            "note": "**bold** <script>alert(1)</script>"}
    card = checkpoints.model_card(ModelHandle.serving(handle.model, handle.tokenizer, meta, "uploaded", "x"))
    assert "<img" not in card and "<script" not in card and "&lt;img" in card
    assert "![p](http://tracker.example/track.png)" in card  # shown as the text it is
    assert "stopped early</th><td>no<" in card and "False" not in card


def test_a_char_vocabulary_with_a_lone_surrogate_is_refused_at_load(tmp_path):
    """A crafted header whose vocabulary holds a lone surrogate once loaded, and Generate then wrote
    nothing while the server logged a TypeError. Now the file is refused when it is read."""
    from safetensors.torch import save as safetensors_bytes

    model = GPT(GPTConfig(vocab_size=4, block_size=8, n_layer=1, n_head=1, n_embd=8))
    header = {
        "format": gpt.checkpoint.FORMAT,
        "format_version": gpt.checkpoint.FORMAT_VERSION,
        "config": json.dumps(model.config.to_dict()),
        "tokenizer": json.dumps({"kind": "char", "chars": "abc\ud800"}),  # JSON escapes it: valid JSON
        "meta": "{}",
    }
    tensors = {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    path = tmp_path / "crafted.safetensors"
    path.write_bytes(safetensors_bytes(tensors, metadata=header))
    with pytest.raises(ValueError, match="UTF-8 can encode"):
        gpt.load(path)


# --- 7. the run says how it ended -----------------------------------------------------------------


def test_a_run_ended_by_its_time_budget_says_so_not_stopped():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=5, block_size=8, n_layer=1, n_head=1, n_embd=8))
    ids = torch.randint(5, (200,))
    events = list(Trainer(model, ids, None, TrainConfig(max_steps=10**6, batch_size=2, time_budget_s=0.3)).run())
    assert events[-1].stopped and events[-1].stop_reason == "time_budget"
    trainer = Trainer(model, ids, None, TrainConfig(max_steps=10**6, batch_size=2))
    run = trainer.run()
    next(run)
    trainer.stop()
    assert list(run)[-1].stop_reason == "stop"


# --- 9. smaller things -----------------------------------------------------------------------------


def test_one_token_is_one_token_not_one_tokens():
    handle = handle_for("ab" * 20)
    assert "1 token:" in attention.tokens_html(handle, "a") and "2 tokens:" in attention.tokens_html(handle, "ab")


def test_a_byte_order_mark_is_not_a_character_of_the_text(tmp_path):
    path = tmp_path / "with-bom.txt"
    path.write_bytes("\ufeffhola, mundo".encode())
    assert checkpoints.read_text_upload(path) == "hola, mundo"
