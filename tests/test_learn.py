"""The Learn tab's logic (ui/learn.py), its code excerpts (ui/learn_code.py) and its strings
(locales/learn_*.py), called directly: every section for char and BPE models of 1 and 6 layers,
the bundled model and a freshly trained one; the numbers each figure shows against the model's
own arithmetic. The page in a browser is tests/test_learn_browser.py."""

from __future__ import annotations

import ast
import math
import re
import textwrap
from pathlib import Path

import plotly.graph_objects as go
import pytest
import torch

import gpt
from gpt import GPT, GPTConfig, TrainConfig, Trainer, make_tokenizer
from gpt.sampling import filter_logits
from gpt.tokenizer import token_label
from locales import CATALOGUES, ERRORS, LANGUAGES
from ui import learn, learn_code
from ui.checkpoints import load_bundled
from ui.clients import Client
from ui.sessions import ModelHandle

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parent.parent
TEXT = "ROMEO:\nBut soft, what light through yonder window breaks? ¿Qué año tiene el niño? " * 6
SENTENCE = "But soft, what light through yonder window breaks?"
LAPTOP, PHONE = Client(width_px=1400), Client(width_px=390)


def tiny(kind: str, n_layer: int, seed: int = 0, **shape) -> ModelHandle:
    tokenizer = make_tokenizer(kind, TEXT)
    torch.manual_seed(seed)
    config = dict(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=n_layer, n_head=2, n_embd=16)
    config.update(shape)
    return ModelHandle.serving(GPT(GPTConfig(**config)), tokenizer, {}, "untrained", f"{kind} x{n_layer}")


def trained() -> ModelHandle:
    """A char model after a few steps of our own trainer, as the Train tab hands it over."""
    tokenizer = make_tokenizer("char", TEXT)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=2, n_head=2, n_embd=16, dropout=0.1))
    ids = torch.tensor(tokenizer.encode(TEXT))
    config = TrainConfig(
        max_steps=5,
        batch_size=4,
        learning_rate=3e-3,
        warmup_steps=0,
        eval_interval=5,
        eval_iters=1,
        device="cpu",
        precision="fp32",
    )
    for _ in Trainer(model, ids, ids, config).run():
        pass
    return ModelHandle.serving(model, tokenizer, {}, "trained", "trained here")


MODELS = {
    "char, 1 layer": lambda: tiny("char", 1, n_head=1),
    "char, 6 layers": lambda: tiny("char", 6),
    "bpe, 1 layer": lambda: tiny("bpe", 1),
    "bpe, 6 layers": lambda: tiny("bpe", 6, n_head=4),
    "bundled": lambda: load_bundled(ROOT / "assets" / "shakespeare-char.safetensors", TEXT),
    "trained": trained,
}


@pytest.fixture(scope="module")
def refs() -> learn.References:
    return learn.references(TEXT)


@pytest.fixture(scope="module", params=list(MODELS))
def handle(request) -> ModelHandle:
    return MODELS[request.param]()


def idx(handle, sentence=SENTENCE) -> torch.Tensor:
    return torch.tensor([learn.read(handle, sentence).ids])


# --- every section renders, for every kind of model ----------------------------------------------


@pytest.mark.parametrize("lang, client", [("en", LAPTOP), ("es", PHONE)])
def test_every_section_renders(handle, refs, lang, client):
    c = handle.config
    controls = learn.Controls(layer=c.n_layer - 1, head=c.n_head - 1, position=3, temperature=0.7, top_k=5, top_p=0.9)
    views = learn.views(handle, refs, SENTENCE, controls, lang, client)
    assert set(views) == set(learn.VIEWS)
    for name, view in views.items():
        if name == "note":  # the trained model's context (16) cuts the sentence; the others see it all
            assert (view == "") == (handle.config.block_size >= len(SENTENCE)), view
        elif name in ("tokens", "bigram_stats", "logit_lens"):
            assert isinstance(view, str) and len(view) > 100, name
        else:
            assert isinstance(view, go.Figure) and view.data, name
            title = view.layout.title.text
            assert title and "learn." not in title, name  # a real title, not a missing key
            view.to_json()  # what Gradio sends must serialise
    assert f"{c.n_layer - 1}" in views["heads"].layout.title.text
    assert len(views["heads"].data) == c.n_head
    assert len(views["layernorm"].data[0].x) == 2 * c.n_layer + 1  # ln_1, ln_2 of every layer, then ln_f
    if lang == "es":
        assert "Suma ponderada" in views["weighted_sum"].layout.title.text
        assert "vocabulario" in views["tokens"]


def test_the_softmax_step_shows_the_models_attention_weights(handle, refs):
    c = handle.config
    layer, head, t = c.n_layer - 1, c.n_head - 1, 5
    views = learn.views(handle, refs, SENTENCE, learn.Controls(layer, head, t), "en", LAPTOP)
    _, _, maps = handle.model(idx(handle), return_attention=True)  # (n_layer, 1, H, T, T): the model's own path
    weights = torch.tensor(views["softmax"].data[0].y)
    assert weights.shape == (t + 1,)
    assert torch.allclose(weights, maps[layer, 0, head, t, : t + 1].float(), atol=1e-5)
    assert weights.sum().item() == pytest.approx(1.0, abs=1e-5)
    # The weighted sum's last row is the head's output: the weights times every visible value.
    tr = learn.run_trace(handle, learn.read(handle, SENTENCE))
    output = torch.tensor(views["weighted_sum"].data[0].z[-1])
    assert torch.allclose(
        output, maps[layer, 0, head, t, : t + 1].float() @ tr.layers[layer].v[head, : t + 1], atol=1e-5
    )


def test_the_masked_scores_hide_exactly_the_future(handle, refs):
    t = 4
    views = learn.views(handle, refs, SENTENCE, learn.Controls(0, 0, t), "en", LAPTOP, names=("scores",))
    before, after = (torch.tensor(d.z, dtype=torch.float64) for d in views["scores"].data)
    T = before.shape[0]
    future = torch.ones(T, T, dtype=torch.bool).triu(1)
    assert torch.isnan(after[future]).all() and not torch.isnan(after[~future]).any()
    assert torch.equal(after[~future], before[~future])


def test_the_logit_lens_ends_with_the_models_prediction(handle, refs):
    s = learn.read(handle, SENTENCE)
    for t in (0, 7, len(s.ids) - 1):
        rows = learn.lens_rows(handle, s, learn.run_trace(handle, s), learn.Focus(0, 0, t), "en")
        assert len(rows) == handle.config.n_layer + 1
        logits, _ = handle.model(idx(handle))
        assert rows[-1].top[0][0] == token_label(handle.tokenizer, int(logits[0, t].argmax()))
        if t + 1 < len(s.ids):  # the real next token's odds close the row
            p = logits[0, t].float().softmax(-1)[s.ids[t + 1]].item()
            assert rows[-1].target[0] == pytest.approx(p, abs=1e-4)
        else:
            assert rows[-1].target is None


def test_the_bigram_view_runs_the_last_token_alone(handle, refs):
    s = learn.read(handle, SENTENCE)
    alone = learn.alone_logits(handle, s)
    logits, _ = handle.model(torch.tensor([[s.ids[-1]]]))
    assert torch.allclose(alone[-1], logits[0, 0].float(), atol=1e-5)
    figure, stats = learn.bigram_view(handle, s, learn.run_trace(handle, s), "en", None)
    V = handle.config.vocab_size
    assert f"ln {V:,} = {math.log(V):.2f}" in stats
    assert len(figure.data) == 2


def test_the_stream_and_layernorm_numbers(handle, refs):
    s = learn.read(handle, SENTENCE)
    tr = learn.run_trace(handle, s)
    norm, ln = learn.residual_views(handle, s, tr, learn.Focus(0, 0, 2), "en", lambda name: None)
    n_layer = handle.config.n_layer
    assert len(norm.data[0].y) == 1 + 2 * n_layer  # embeddings, then + attention and + MLP per layer
    last = tr.layers[-1].resid_out.norm(dim=-1).mean().item()
    assert norm.data[0].y[-1] == pytest.approx(last, rel=1e-5)
    # Spread after ln_1 of layer 0 is what LayerNorm made of it: about its gain's size, not the input's.
    gain = handle.model.blocks[0].ln_1.weight.detach().float()
    after = tr.layers[0].ln1_out.std(dim=-1, unbiased=False).mean().item()
    assert ln.data[3].y[0] == pytest.approx(after, rel=1e-5)  # traces: mean before, after; spread before, after
    assert after == pytest.approx(gain.abs().mean().item(), rel=0.5)


def test_the_feed_forward_view(handle, refs):
    s = learn.read(handle, SENTENCE)
    tr = learn.run_trace(handle, s)
    gelu, units = learn.feed_forward_views(handle, s, tr, learn.Focus(0, 0, 3), "en", lambda name: None)
    pre, post = torch.tensor(gelu.data[1].x), torch.tensor(gelu.data[1].y)
    assert pre.shape == (4 * handle.config.n_embd,)
    assert torch.allclose(torch.nn.functional.gelu(pre), post, atol=1e-4)  # the units sit on the curve
    best = learn.top_units(tr.layers[0].mlp_hidden)
    assert tr.layers[0].mlp_hidden.max(dim=0).values[best[0]] == tr.layers[0].mlp_hidden.max()


# --- sampling stages (section 9) --------------------------------------------------------------


def test_sampling_stages_follow_sample_next():
    logits = torch.linspace(-3, 3, 40)[torch.randperm(40, generator=torch.Generator().manual_seed(0))]
    first, tempered, top_k, top_p = learn.sampling_stages(logits, 0.5, 7, 0.8)
    assert torch.allclose(first, logits.softmax(-1))
    assert torch.allclose(tempered, (logits / 0.5).softmax(-1), atol=1e-6)
    assert int((top_k > 0).sum()) == 7  # top-k keeps k tokens
    assert set(top_k.nonzero().flatten().tolist()) == set(logits.topk(7).indices.tolist())
    kept = top_p > 0  # top-p: the fewest likeliest of top-k's tokens whose mass reaches p
    ranked = top_k.sort(descending=True).values
    needed = int((ranked.cumsum(0) < 0.8).sum()) + 1
    assert int(kept.sum()) == needed
    for stage in (first, tempered, top_k, top_p):
        assert stage.sum().item() == pytest.approx(1.0, abs=1e-5)
    # The last stage is what sample_next draws from: its filter, applied to its shifted logits.
    shifted = (logits - logits.max()) / 0.5
    assert torch.allclose(top_p, filter_logits(shifted[None], 7, 0.8).softmax(-1)[0], atol=1e-6)


def test_temperature_zero_is_greedy():
    logits = torch.tensor([0.1, 2.0, 1.0])
    stages = learn.sampling_stages(logits, 0.0, None, None)
    for stage in stages[1:]:
        assert stage.tolist() == [0.0, 1.0, 0.0]


def test_the_sampling_figure_shows_k_tokens_after_top_k(refs):
    handle = tiny("char", 2)
    for k in (1, 3, 10):
        views = learn.views(
            handle, refs, SENTENCE, learn.Controls(temperature=1.0, top_k=k), "en", LAPTOP, ("sampling",)
        )
        figure = views["sampling"]
        assert [d.xaxis for d in figure.data] == ["x", "x2", "x3", "x4"]  # one panel per stage
        third = list(figure.data[2].x)
        assert sum(p > 0 for p in third[:-1]) == k and third[-1] == pytest.approx(0.0, abs=1e-6)  # "all others": 0
        assert sum(figure.data[0].x) == pytest.approx(1.0, abs=1e-5)


# --- section 1: tokens ------------------------------------------------------------------------


def test_tokens_compare_char_and_bpe_with_byte_labels(refs):
    char, bpe = tiny("char", 1), tiny("bpe", 1)
    english_only = learn.references("To be, or not to be: that is the question.\n")
    for handle in (char, bpe):
        html = learn.tokens_view(handle, english_only, learn.read(handle, "But soft"), "en")
        assert ">char<" in html and ">bpe<" in html
        assert f"× {handle.config.n_embd} =" in html  # the embedding's cost at this model's width
        assert "this model&#x27;s tokenizer" in html and "fitted to the app" in html
        # The Spanish example: a BPE fitted to English text spells "¿" and "ñ" in bytes, with readable labels.
        assert "‹C2›" in html and "‹BF›" in html and "bytes of “¿”" in html
    html = learn.tokens_view(char, english_only, learn.read(char, "But soft"), "en")
    assert "is not in this vocabulary" not in html.split("In Spanish")[0]  # the model's own sentence is readable
    html = learn.tokens_view(bpe, english_only, learn.read(bpe, "¿Qué año?"), "en")
    char_card = html.split("In Spanish")[0].split(">bpe<")[0]  # the char tokenizer fitted to English
    assert "5 character(s) in red" in char_card  # ¿, Q, é, ñ and ? and "“ñ” is not in this vocabulary" in char_card


# --- long sentences, one token, the controls ----------------------------------------------------


def test_long_sentences_are_cut_and_the_page_says_so(refs):
    handle = tiny("char", 1, block_size=16)
    long = SENTENCE * 3
    views = learn.views(handle, refs, long, learn.Controls(), "en", LAPTOP)
    assert "the first 16: the model's context is 16" in views["note"] and f"{len(long)} tokens" in views["note"]
    assert len(views["softmax"].data[0].y) == 16  # the last token looks at all 16
    big = tiny("char", 1, block_size=256)
    views = learn.views(big, refs, long, learn.Controls(), "es", LAPTOP, names=("note", "positions"))
    assert f"los primeros {learn.VIEW_TOKENS}" in views["note"]
    assert len(views["positions"].data[0].z) == learn.VIEW_TOKENS


def test_one_token_and_out_of_range_controls(refs):
    handle = tiny("char", 2)
    views = learn.views(handle, refs, "R", learn.Controls(layer=9, head=-3, position=40, top_k=500), "en", PHONE)
    assert views["surprise"] is None  # nothing to be surprised by
    assert "at least two tokens" in views["bigram_stats"]
    s = learn.read(handle, SENTENCE)
    assert learn.focus(handle, s, learn.Controls(layer=9, head=-3, position=999)) == learn.Focus(1, 0, len(s.ids) - 1)
    assert learn.focus(handle, s, learn.Controls(layer="x", position=None)).position == len(s.ids) - 1


def test_a_sentence_the_model_cannot_read_is_refused(refs):
    handle = tiny("char", 1)
    for sentence, words in (("", "empty"), ("€€", "never saw")):
        with pytest.raises(ValueError, match=words):
            learn.views(handle, refs, sentence, learn.Controls(), "en", LAPTOP)


def test_looking_never_changes_the_model(refs):
    handle = tiny("char", 2, dropout=0.3)
    before = {k: v.clone() for k, v in handle.model.state_dict().items()}
    first = learn.views(handle, refs, SENTENCE, learn.Controls(), "en", LAPTOP, names=("surprise", "dropout"))
    second = learn.views(handle, refs, SENTENCE, learn.Controls(), "en", LAPTOP, names=("surprise", "dropout"))
    assert all(torch.equal(before[k], v) for k, v in handle.model.state_dict().items())
    assert not handle.model.training
    assert first["surprise"].data[0].y.tolist() == second["surprise"].data[0].y.tolist()  # evaluation: no dropout
    assert first["dropout"].data[1].z.tolist() == second["dropout"].data[1].z.tolist()  # one fixed draw


def test_a_bf16_model_renders(refs):
    handle = tiny("bpe", 2)
    handle.model.to(torch.bfloat16)
    views = learn.views(handle, refs, "¿Qué año tiene el niño?", learn.Controls(), "es", PHONE)
    assert all(views[name] is not None for name in learn.VIEWS)
    assert "‹C3›" in views["tokens"] or "ñ" in views["tokens"]


def test_dropout_zeroes_and_scales():
    x = torch.linspace(1, 2, 1000)
    y = learn.dropped(x, 0.25)
    zeroed = y == 0
    assert 0.2 < zeroed.float().mean() < 0.3
    assert torch.allclose(y[~zeroed], x[~zeroed] / 0.75)


def test_surprise_is_the_cross_entropy(handle):
    s = learn.read(handle, SENTENCE)
    logits, loss = handle.model(torch.tensor([s.ids[:-1]]), torch.tensor([s.ids[1:]]))
    surprise, probs = learn.surprise(learn.run_trace(handle, s).logits, s.ids)
    assert surprise.mean().item() == pytest.approx(loss.item(), abs=1e-4)
    assert torch.allclose(probs, (-surprise).exp())


def test_an_untrained_model_starts_near_ln_v():
    handle = tiny("char", 2)
    s = learn.read(handle, SENTENCE)
    surprise, _ = learn.surprise(learn.run_trace(handle, s).logits, s.ids)
    assert surprise.mean().item() == pytest.approx(math.log(handle.config.vocab_size), abs=0.1)


def test_principal_components():
    gen = torch.Generator().manual_seed(0)
    data = torch.randn(200, 5, generator=gen) * torch.tensor([5.0, 2.0, 0.1, 0.1, 0.1])
    _, directions, share = learn.principal_components(data)
    assert abs(directions[0, 0]) > 0.99 and abs(directions[1, 1]) > 0.99  # the two widest axes, in order
    assert share[0] > share[1] > 0.1


# --- the code shown is the code that runs ---------------------------------------------------------


@pytest.mark.parametrize("section", sorted(learn_code.EXCERPTS))
def test_each_section_shows_lines_of_the_source(section):
    shown = learn_code.section_code(section)
    for excerpt in learn_code.EXCERPTS[section]:
        source = (ROOT / excerpt.path).read_text(encoding="utf-8")
        lines = learn_code.excerpt_lines(excerpt)
        assert "\n".join(lines) in source  # a contiguous block of the file, as it stands
        assert textwrap.dedent("\n".join(lines)) in shown
        assert f"# {excerpt.path} · {excerpt.name}" in shown
        ast.parse(textwrap.dedent("\n".join(lines)) if lines[0].lstrip().startswith(("def", "@")) else "pass")
    assert len(shown.splitlines()) < 40  # a few lines, not a file


def test_the_key_lines_are_there():
    assert "softmax(dim=-1)" in learn_code.section_code(4) and "future" in learn_code.section_code(4)
    assert "F.gelu" in learn_code.section_code(6)
    assert "self.lm_head.weight = self.tok_emb.weight" in learn_code.section_code(1)
    assert "filter_logits" in learn_code.section_code(9)


def test_an_excerpt_that_no_longer_matches_fails_loudly():
    for excerpt in (
        learn_code.Excerpt("gpt/model.py", "GPT.no_such_method"),
        learn_code.Excerpt("gpt/model.py", "NoSuchClass.forward"),
        learn_code.Excerpt("gpt/model.py", "GPT.residual_stream", "a line that is not there"),
    ):
        with pytest.raises(LookupError):
            learn_code.excerpt_lines(excerpt)


# --- strings ---------------------------------------------------------------------------------


def _placeholders(template: str) -> set[str]:
    """{name} fields; not Plotly's %{x}, nor LaTeX's braces (\\sqrt{d}, W^{O})."""
    return set(re.findall(r"(?<![%\\\w^_])\{(\w+)\}", template))


def test_every_learn_key_in_every_language_with_the_same_placeholders():
    keys = {lang: {k for k in CATALOGUES[lang] if k.startswith("learn.")} for lang in LANGUAGES}
    assert keys["en"] and all(keys[lang] == keys["en"] for lang in LANGUAGES)
    for key in keys["en"]:
        for lang in LANGUAGES:
            assert _placeholders(CATALOGUES[lang][key]) == _placeholders(CATALOGUES["en"][key]), (key, lang)
            assert CATALOGUES[lang][key].strip(), (key, lang)
    for n in range(1, 11):
        assert f"learn.s{n}.title" in keys["en"] and f"learn.s{n}.text" in keys["en"]


def test_every_key_the_code_asks_for_exists():
    asked = set()
    for path in [*ROOT.glob("ui/learn*.py"), *ROOT.glob("viz/learn*.py")]:
        source = path.read_text(encoding="utf-8")
        asked |= {"learn.fig." + k for k in re.findall(r"\bt_\(\s*\"([\w.]+)\"", source)}
        asked |= set(re.findall(r"\"(learn\.[\w.]+)\"", source))
        asked |= {f"learn.s{n}.{part}" for n in range(1, 11) for part in ("title", "text")}
    asked = {k for k in asked if not k.endswith(".")}  # prefixes such as "learn.fig." themselves
    asked -= set(ERRORS["en"])  # the page's error messages: their own catalogue (tests/test_i18n.py checks them)
    assert len(asked) > 100
    for lang in LANGUAGES:
        missing = sorted(k for k in asked if k not in CATALOGUES[lang])
        assert not missing, (lang, missing)
    unused = sorted(k for k in CATALOGUES["en"] if k.startswith("learn.") and k not in asked)
    assert not unused, unused


def test_the_spanish_texts_use_the_glossarys_words():
    es = CATALOGUES["es"]
    for key, words in {
        "learn.s4.text": ("autoatención", "consulta", "clave", "valor", "máscara causal"),
        "learn.s5.text": ("atención multicabeza", "flujo residual"),
        "learn.s6.text": ("red feed-forward (MLP)",),
        "learn.s7.text": ("conexiones residuales", "normalización de capa (LayerNorm)"),
        "learn.s8.text": ("lente de logits (logit lens)",),
        "learn.s10.text": ("entropía cruzada", "sobreajuste", "dropout"),
        "learn.s2.text": ("modelo de bigramas",),
    }.items():
        for word in words:
            assert word in es[key], (key, word)
    assert not any(re.search(r"\busted\b", v) for k, v in es.items() if k.startswith("learn."))  # tú, not usted


def test_the_bundled_checkpoint_is_what_the_page_shows():
    path = ROOT / "assets" / "shakespeare-char.safetensors"
    model, tokenizer, _ = gpt.load(path)
    handle = load_bundled(path, TEXT)
    assert handle.config == model.config and handle.tokenizer.chars == tokenizer.chars
