"""The app in English and Spanish: the catalogues agree, no visible string bypasses them, and every
error a user can meet comes back in Spanish to a Spanish page and unchanged to an API client.

The browser side (Chromium in es-ES and en-US, the switch) is tests/test_browser_i18n.py.
"""

from __future__ import annotations

import ast
import re
import string

import pytest
from apps import ROOT, RawSession, app_error, new_client, train_args
from test_reliability_api import API_CATALOGUE, RAW_CATALOGUE, case_id

from gpt.presets import PRESETS
from gpt.settings import FORM_FIELDS, TrainingSettings
from gpt import GPTConfig, TrainingDiverged
from gpt.checkpoint import _not_ours
from gpt.errors import Keyed, Phrase, UserError
from locales import CATALOGUES, ERRORS, LANGUAGES, Message, error_text, language_from_header, text
from locales import es as spanish

pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated")


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


# --- the catalogues ---------------------------------------------------------------------------


def test_every_key_exists_in_every_language():
    english = set(CATALOGUES["en"])
    for lang in LANGUAGES:
        keys = set(CATALOGUES[lang])
        assert not english - keys, f"{lang} lacks {sorted(english - keys)}"
        assert not keys - english, f"{lang} has keys English lacks: {sorted(keys - english)}"


def test_every_key_has_the_same_placeholders_in_every_language():
    for key, english in CATALOGUES["en"].items():
        for lang in LANGUAGES:
            assert fields(CATALOGUES[lang][key]) == fields(english), f"{key}: {lang} placeholders differ from English"


# Texts that read the same in both languages: the API's names, and words Spanish shares.
SAME_IN_SPANISH = {
    *(f"train.field.{name}.label" for name in FORM_FIELDS if not TrainingSettings.spec(name).label),
    "attention.tokens.one", "attention.tokens.many", "attention.tokens.chip", "train.plan.invalid",
    "model.card.context.value", "model.card.tokenizer.value", "model.card.field.tokens_per_s", "model.card.no",
    "viz.surprise.guess",
    # The Learn tab's code names, symbols and loanwords (the glossary keeps token, embedding, top-k).
    "learn.sampling.top_k", "learn.sampling.top_p", "learn.fig.tokens.id", "learn.fig.tokens.length",
    "learn.fig.tokens.embedding", "learn.fig.tokens.example_char", "learn.fig.tokens.count", "learn.fig.sum.row",
    "learn.fig.norm.embeddings", "learn.fig.norm.mlp", "learn.fig.ln.final", "learn.fig.sampling.top_k",
    "learn.fig.sampling.top_p", "learn.fig.surprise.axis", "learn.fig.surprise.uniform", "learn.fig.gelu.curve",
}


def test_spanish_is_not_a_copy_of_english():
    same = {k for k, v in CATALOGUES["en"].items() if spanish.TEXTS[k] == v}
    assert same == SAME_IN_SPANISH


def test_every_error_key_exists_in_every_language_with_the_same_placeholders():
    english = ERRORS["en"]
    assert len(english) > 90, "the English error catalogue lost its keys"
    for lang in LANGUAGES:
        assert set(ERRORS[lang]) == set(english), f"{lang}: {sorted(set(ERRORS[lang]) ^ set(english))}"
        for key, template in english.items():
            assert fields(ERRORS[lang][key]) == fields(template), f"{key}: {lang} placeholders differ from English"


def test_every_error_template_renders_and_spanish_is_not_a_copy():
    for key, template in ERRORS["en"].items():
        error = UserError(key, **{name: 1 for name in fields(template)})  # 1 suits every format spec used
        assert str(error) == error_text(error, "en") == template.format(**error.params)
        assert error_text(error, "es") != str(error), f"{key} reads the same in Spanish"


def test_language_follows_the_browser():
    assert language_from_header("es-ES,es;q=0.9,en;q=0.8") == "es"
    assert language_from_header("es-419") == "es"
    assert language_from_header("en-US,en;q=0.9,es;q=0.8") == "en"
    assert language_from_header("fr-FR,es;q=0.5") == "en"  # not Spanish first: English
    assert language_from_header("de") == "en"
    assert language_from_header(None) == language_from_header("") == "en"  # API clients


def test_a_message_is_written_in_the_reader_language():
    label = Message.of("model.label.trained", kind="char", millions=0.0123, steps=20)
    assert label.text("en") == "trained here (char, 0.01M parameters, 20 steps)"
    assert label.text("es") == "entrenado aquí (char, 0.01M parámetros, 20 pasos)"
    assert label.text("xx") == label.text("en")  # an unknown language reads English


def test_the_form_tooltips_are_the_command_line_help_in_english():
    """One help per field: the English tooltip is the --help line of gpt/settings.py."""
    for name in FORM_FIELDS:
        assert text(f"train.field.{name}.info") == TrainingSettings.spec(name).help, name
        assert text(f"train.field.{name}.label") == (TrainingSettings.spec(name).label or name)


def test_keys_built_from_names_exist():
    for name in PRESETS:
        assert text(f"train.preset.{name}", "es") and text(f"train.preset.{name}.note", "es")
    assert text("train.preset.fast") == "fast"  # the label English tests and the README name


# --- no visible string bypasses the catalogue -------------------------------------------------

SCANNED = [ROOT / "app.py", *sorted((ROOT / "ui").glob("*.py")), *sorted((ROOT / "viz").glob("*.py"))]
# Keyword arguments that a person reads: of gr components, of Plotly traces and layout dicts.
SHOWN_KEYWORDS = {"label", "info", "placeholder", "value", "title", "text", "title_text", "hovertemplate", "name"}
# gr components whose first argument is shown (a button's text, a tab's name, a Markdown's value...).
SHOWN_FIRST_ARGUMENT = {"Markdown", "Button", "Tab", "Accordion", "UploadButton", "DownloadButton", "HTML", "Textbox"}
# Calls whose keywords are not shown text (name= of a thread, value= of a dataclass field...).
NOT_SHOWN = {"replace", "Thread", "field", "Setting", "_setting", "getattr", "Slider.step"}
CODE_NAME = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)+|[a-z]{1,5}")  # n_layer, top_k, char, bpe: the API's names


MARKUP = re.compile(r"<[^>]*>|%\{[^}]*\}|\{[^}]*\}")  # HTML tags, Plotly's %{x}, format fields: not words


def _shown(node: ast.expr) -> bool:
    """A literal string a person would read: it has words (outside markup), and is not a code name."""
    if isinstance(node, ast.JoinedStr):
        value = " ".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        value = node.value
    else:
        return False
    words = MARKUP.sub(" ", value).strip()
    return bool(re.search(r"[A-Za-z]{2}", words)) and not CODE_NAME.fullmatch(words)


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def bypasses(source: str, where: str = "<source>") -> list[str]:
    """Literal strings a person would read, written in the code instead of the catalogue."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or _callee(node) in NOT_SHOWN:
            continue
        shown = [kw.value for kw in node.keywords if kw.arg in SHOWN_KEYWORDS]
        if _callee(node) in SHOWN_FIRST_ARGUMENT and node.args:
            shown.append(node.args[0])
        if _callee(node) in ("base_layout", "cell_title", "_row_title") and node.args:
            shown.append(node.args[-1] if _callee(node) != "base_layout" else node.args[0])
        found += [f"{where}:{n.lineno}: {ast.unparse(n)}" for n in shown if _shown(n)]
    return found


def test_the_bypass_check_finds_a_literal_and_spares_code_names():
    assert bypasses('gr.Button("Start")') and bypasses('gr.Slider(0, 1, label="Layer")')
    assert bypasses('go.Scatter(x=x, name="train loss")') and bypasses('dict(title=dict(text=f"Layer {n}"))')
    assert bypasses('base_layout("Loss", height=3)') and bypasses('gr.Markdown("**Hello** there")')
    assert bypasses('fig.update_layout(title_text="What comes next")')
    assert bypasses('go.Bar(hovertemplate="%{y}: probability %{x}<extra></extra>")')
    assert not bypasses('gr.Slider(0, 1, label="top_k", info=static("generate.top_k.info"))')
    assert not bypasses('gr.Radio(["char", "bpe"], value="char")') and not bypasses('gr.Markdown(static("x"))')
    assert not bypasses('go.Heatmap(z=z, hovertemplate=hover + "<extra></extra>")')


def test_no_string_shown_to_users_bypasses_the_catalogue():
    found = [b for path in SCANNED for b in bypasses(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())]
    assert not found, "strings shown to users belong in locales/:\n" + "\n".join(found)


def test_every_key_the_code_names_exists():
    keys = set()
    for path in SCANNED:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _callee(node) in ("static", "text", "tr", "of"):
                for arg in node.args[:2]:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and "." in arg.value:
                        keys.add(arg.value)
    assert len(keys) > 100, "the scan found too few keys: it is blind"
    missing = sorted(keys - set(CATALOGUES["en"]))
    assert not missing, f"keys used but not in the catalogue: {missing}"


# --- errors: Spanish for a Spanish page, unchanged for API clients ------------------------------

ENGLISH_WORDS = re.compile(r"\b(must|got|the|limit|between|Use|Lower|choose|never|empty|characters|layer\(s\))\b")


def assert_fully_spanish(english: str, spanish_message: str):
    assert spanish_message != english
    assert not ENGLISH_WORDS.search(spanish_message), spanish_message


@pytest.fixture(scope="module")
def clients(app):
    """An API client without Accept-Language (English) and one whose requests say es-ES."""
    from gradio_client import Client

    english = new_client(app[1])
    spanish_client = Client(app[1], verbose=False, headers={"Accept-Language": "es-ES,es;q=0.9"})
    yield english, spanish_client
    english.close()
    spanish_client.close()


@pytest.mark.parametrize("endpoint, args, fragment", API_CATALOGUE, ids=[case_id(c) for c in API_CATALOGUE])
def test_every_api_error_comes_back_in_spanish_with_the_header_and_in_english_without(clients, endpoint, args, fragment):
    english_client, spanish_client = clients
    values = train_args(**args) if isinstance(args, dict) else args
    english = app_error(lambda: english_client.predict(*values, api_name=endpoint))
    assert fragment in english  # exactly today's message
    assert_fully_spanish(english, app_error(lambda: spanish_client.predict(*values, api_name=endpoint)))


@pytest.mark.parametrize("event, args, fragment", RAW_CATALOGUE, ids=[f"{e}{a[1:]}" for e, a, _ in RAW_CATALOGUE])
def test_every_error_of_a_private_event_comes_back_in_spanish_with_the_header(app, event, args, fragment):
    english, spanish_session = RawSession(app[1]), RawSession(app[1])
    spanish_session.http.headers["Accept-Language"] = "es-ES,es;q=0.9"
    try:
        message = english.error(event, *args)
        assert fragment in message
        assert_fully_spanish(message, spanish_session.error(event, *args))
    finally:
        english.close()
        spanish_session.close()


def raised(call) -> Exception:
    with pytest.raises(Exception) as info:
        call()
    return info.value


def diverged(key, value, kept, lr):
    error = TrainingDiverged(key, step=12 if kept == "trainer.keeps_last" else 40, value=value)
    kept = Phrase(kept) if kept == "trainer.keeps_last" else Phrase(kept, {"step": 30, "loss": 2.1})
    return error.then(kept).then("trainer.lower_lr", lr=lr, suggested=lr / 10)


# Messages a user can meet that the API catalogues cannot reach cheaply (uploads, a queue, a run
# that diverges, a crafted file), as the code raises them, with their English (today's wording).
MORE_MESSAGES = [
    (UserError("upload.no_checkpoint"), "No file received: choose a .safetensors checkpoint to upload."),
    (UserError("upload.not_safetensors", file="model.pt"),
     "model.pt is not a .safetensors file. Only Mirador checkpoints in safetensors format are accepted (pickled .pt/.bin files could run code when loaded)."),
    (UserError("upload.too_big", file="big.safetensors", size="70 MB", limit="64 MB"),
     "big.safetensors is 70 MB; the upload limit is 64 MB. Upload a smaller model."),
    (UserError("upload.too_many_parameters", file="big.safetensors", count=20_000_000, limit=12_000_000),
     "big.safetensors has 20,000,000 parameters; this app serves at most 12,000,000. Upload a smaller model."),
    (UserError("upload.context_too_long", file="long.safetensors", count=1024, limit=256),
     "long.safetensors has a context of 1024 tokens; this app serves at most 256. Upload a model with a shorter block_size."),
    (_not_ours("x.safetensors", "checkpoint.reason.no_header"),
     "x.safetensors is not a Mirador checkpoint (no Mirador header). Save one with Mirador first."),
    (_not_ours("x.safetensors", "checkpoint.reason.unreadable", error="SafetensorError"),
     "x.safetensors is not a Mirador checkpoint (unreadable as safetensors: SafetensorError). Save one with Mirador first."),
    (_not_ours("x.safetensors", "checkpoint.reason.not_float32"),
     "x.safetensors is not a Mirador checkpoint (weights must be finite float32). Save one with Mirador first."),
    (_not_ours("x.safetensors", "checkpoint.reason.invalid_header", detail=raised(lambda: GPTConfig(n_head=3, n_embd=16))),
     "x.safetensors is not a Mirador checkpoint (invalid header: n_embd (16) must be divisible by n_head (3) so every "
     "head gets the same width: try n_embd=15.). Save one with Mirador first."),
    (UserError("checkpoint.cut_short", file="x.safetensors", size=1000, expected=2000),
     "x.safetensors is a Mirador checkpoint, but it is cut short (1,000 of 2,000 bytes): download or copy it again."),
    (UserError("upload.no_text_file"), "No file received: choose a .txt file."),
    (UserError("upload.not_text_file", file="notes.pdf"), "notes.pdf is not a text file: upload a .txt file."),
    (UserError("upload.text_too_big", file="big.txt", size="7 MB", limit="6 MB"),
     "big.txt is 7 MB; text uploads are limited to 6 MB. Use a shorter text."),
    (UserError("upload.not_utf8", file="latin1.txt"), "latin1.txt is not UTF-8 text: save it as UTF-8 and upload it again."),
    (UserError("upload.too_many_chars", file="big.txt", count=6_000_000, limit=5_000_000),
     "big.txt has 6,000,000 characters; the limit is 5,000,000. Use a shorter text."),
    (UserError("upload.empty", file="blank.txt"), "blank.txt is empty: upload a file with some text in it."),
    (UserError("train.already_running"),
     "You already have a training running or waiting in this session: press Stop first, or wait for it to finish."),
    (UserError("train.queue_full", count=8, limit=8), "8 trainings are already waiting (the limit is 8). Try again in a few minutes."),
    (diverged("trainer.diverged_loss", float("nan"), "trainer.keeps_last", 0.01).then("train.session_keeps_model"),
     "Training diverged at step 12: the loss became nan. The model keeps its last finite weights. Lower the learning rate (now 0.01; try 0.001) or the model size, then train again. Your session keeps its previous model."),
    (diverged("trainer.diverged_grad_norm", float("inf"), "trainer.keeps_best", 0.003),
     "Training diverged at step 40: the gradient norm became inf. The model keeps the weights of its best evaluation (step 30, val loss 2.1000). Lower the learning rate (now 0.003; try 0.0003) or the model size, then train again."),
    (UserError("train.too_many_parameters", count=13_000_000, limit=12_000_000).then("train.lower_shape"),
     "This model would have 13,000,000 parameters; the limit is 12,000,000. Lower n_layer or n_embd."),
    (UserError("trainer.too_short", count=5, needed=9),
     "The training text is 5 tokens long; it must be at least block_size + 1 = 9 tokens. Give more text or a smaller block_size."),
    (UserError("attention.no_tokens"), "The text has no tokens: type a sentence to look at."),
    (UserError("learn.no_tokens"), "The sentence has no tokens: type a sentence to look at."),
    (raised(lambda: GPTConfig(n_head=3, n_embd=16)),
     "n_embd (16) must be divisible by n_head (3) so every head gets the same width: try n_embd=15."),
    (raised(lambda: GPTConfig(dropout=1)), "dropout must be in [0, 1), got 1."),
    (raised(lambda: GPTConfig(n_layer=30)), "n_layer must be at most 24, got 30: choose a smaller n_layer."),
    (Phrase("model.untrained_note", {"path": "assets/x.safetensors"}),
     "assets/x.safetensors was not found: this model is untrained (random weights)."),
    (UserError("probe.unseen", chars="'ñ', 'é'"),
     "The probe sentence has character(s) the training text does not contain: 'ñ', 'é'. Remove them, or leave the probe empty to use the start of the training text."),
    (UserError("probe.too_short", count=2, needed=3),
     "The probe sentence has 2 token(s); it needs at least 3. Type a longer one, or leave it empty to use the start of the training text."),
    (UserError("train.probe_too_long", count=1001, limit=1000),
     "The probe sentence is 1,001 characters; the limit is 1,000. Use a shorter probe sentence."),
    (UserError("probe.not_text", kind="int"), "The probe sentence must be text, got int."),
]


@pytest.mark.parametrize("error, english", MORE_MESSAGES, ids=[e.key for e, _ in MORE_MESSAGES])
def test_every_other_message_a_user_can_meet_is_english_as_before_and_fully_spanish(error, english):
    assert error_text(error, "en") == english
    if isinstance(error, Keyed):
        assert str(error) == english  # what the API and the command line print
    assert_fully_spanish(english, error_text(error, "es"))


def test_a_plain_error_is_shown_as_it_is():
    """A message without a key (a bug, a third party's) reads the same in every language."""
    message = "top_k must be between 0 and 5, got 9. Something nobody translated."
    assert error_text(ValueError(message), "es") == error_text(message, "es") == message


def test_a_keyed_error_is_still_a_value_error_with_its_english_message():
    with pytest.raises(ValueError, match=r"must be divisible by n_head \(3\)"):
        GPTConfig(n_head=3, n_embd=16)
    error = UserError("check.between", name="top_k", low=0, high=5, value=9).then("generate.top_k_hint")
    assert str(error) == "top_k must be between 0 and 5, got 9. Use 0 to turn top-k off."
    assert error_text(error, "es") == "top_k debe estar entre 0 y 5; recibido: 9. Usa 0 para desactivar top-k."
    assert error.key == "check.between" and error.params["value"] == 9


# --- every error key the code raises is in the catalogues, and every catalogue key is raised -----

RAISING = [ROOT / "app.py", *sorted((ROOT / "gpt").glob("*.py")), *sorted((ROOT / "ui").glob("*.py"))]
RAISING = [p for p in RAISING if p.name != "messages.py"]  # the catalogue itself
# Calls that take error keys (gpt/errors.py and the helpers that build one), and keywords that do.
KEY_CALLS = {"UserError", "MissingFile", "TrainingDiverged", "Phrase", "then", "_not_ours", "_diverged", "parse_text"}
KEY_KEYWORDS = {"hint"}
KEY_SHAPE = re.compile(r"[a-z_]+(\.[a-z_0-9]+)+")


def _string_constants(node) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def error_keys_in(source: str) -> tuple[set[str], set[str]]:
    """(the keys the code hands to an error, every string constant in it)."""
    tree = ast.parse(source)
    keys = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        given = node.args if _callee(node) in KEY_CALLS else []
        given += [kw.value for kw in node.keywords if kw.arg in KEY_KEYWORDS]
        keys |= {s for arg in given for s in _string_constants(arg) if KEY_SHAPE.fullmatch(s)}
    return keys, set(_string_constants(tree))


def test_the_error_key_scan_sees_keys():
    keys, _ = error_keys_in('raise UserError("a.b", n=1).then("c.d")\nparse_int("x", v, 0, 1, hint=("e.f", None))')
    assert keys == {"a.b", "c.d", "e.f"}


def test_every_error_key_the_code_raises_exists_and_every_key_is_raised():
    raised_keys, constants = set(), set()
    for path in RAISING:
        keys, strings = error_keys_in(path.read_text(encoding="utf-8"))
        raised_keys |= keys
        constants |= strings
    assert len(raised_keys) > 80, "the scan found too few error keys: it is blind"
    missing = sorted(raised_keys - set(ERRORS["en"]))
    assert not missing, f"error keys raised but in no catalogue: {missing}"
    dead = sorted(set(ERRORS["en"]) - constants)
    assert not dead, f"error keys no code raises (remove them): {dead}"


def test_translated_figures_and_statuses_follow_the_request(app):
    """Server-written text through the served app: the /attention figure's title in Spanish with the
    header, in English without it (API clients keep today's figures)."""
    import json

    from gradio_client import Client

    spanish_client = Client(app[1], verbose=False, headers={"Accept-Language": "es"})
    english_client = new_client(app[1])
    try:
        es = json.loads(spanish_client.predict("ab", 0, api_name="/attention")["plot"])
        en = json.loads(english_client.predict("ab", 0, api_name="/attention")["plot"])
        assert es["layout"]["title"]["text"] == "Atención de la capa 0, un mapa por cabeza"
        assert en["layout"]["title"]["text"] == "Layer 0 attention, one map per head"
        status = spanish_client.predict(*train_args(max_steps=5), api_name="/train")[0]
        assert "Terminado en el paso 5" in status and "Ahora es el modelo de tu sesión" in status
    finally:
        spanish_client.close()
        english_client.close()


def test_the_browser_gets_no_template():
    """ui/i18n.py gives the browser (gr.I18n) only what it can show as it is: texts without
    placeholders, and the static templates filled in once."""
    from ui.i18n import I18N

    for lang in LANGUAGES:
        browser = I18N.translations[lang]
        assert browser["tab.generate"] == text("tab.generate", lang)
        assert all("{" not in v for k, v in browser.items()), "a template reached the browser unfilled"
        assert "header" not in browser


def test_api_clients_read_english_labels(app):
    """The page's labels are keys the browser translates; the API's description shows them in English."""
    info = new_client(app[1]).view_api(print_info=False, return_format="dict")
    train = info["named_endpoints"]["/train"]
    assert [p["label"] for p in train["parameters"]][:3] == ["Training text", "tokenizer", "n_layer"]
    assert [r["label"] for r in train["returns"]] == ["status", "loss", "Samples", "attention"]
