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
from locales import CATALOGUES, LANGUAGES, Message, language_from_header, text, translate_error, untranslated
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


def test_error_templates_keep_their_placeholders():
    for english, translated in spanish.ERRORS:
        assert fields(english) == fields(translated), english


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
    assert untranslated(english, "es") == "", f"no template for: {untranslated(english, 'es')!r}"
    assert spanish_message == translate_error(english, "es") != english
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


# Messages a user can meet that the API catalogues cannot reach cheaply (uploads, a queue, a run
# that diverges, a crafted file): each fully Spanish too.
MORE_MESSAGES = [
    "No file received: choose a .safetensors checkpoint to upload.",
    "model.pt is not a .safetensors file. Only Mirador checkpoints in safetensors format are accepted (pickled .pt/.bin files could run code when loaded).",
    "big.safetensors is 70 MB; the upload limit is 64 MB. Upload a smaller model.",
    "big.safetensors has 20,000,000 parameters; this app serves at most 12,000,000. Upload a smaller model.",
    "long.safetensors has a context of 1024 tokens; this app serves at most 256. Upload a model with a shorter block_size.",
    "x.safetensors is not a Mirador checkpoint (no Mirador header). Save one with Mirador first.",
    "x.safetensors is not a Mirador checkpoint (unreadable as safetensors: SafetensorError). Save one with Mirador first.",
    "x.safetensors is not a Mirador checkpoint (weights must be finite float32). Save one with Mirador first.",
    "x.safetensors is a Mirador checkpoint, but it is cut short (1,000 of 2,000 bytes): download or copy it again.",
    "No file received: choose a .txt file.",
    "notes.pdf is not a text file: upload a .txt file.",
    "big.txt is 7 MB; text uploads are limited to 6 MB. Use a shorter text.",
    "latin1.txt is not UTF-8 text: save it as UTF-8 and upload it again.",
    "big.txt has 6,000,000 characters; the limit is 5,000,000. Use a shorter text.",
    "blank.txt is empty: upload a file with some text in it.",
    "You already have a training running or waiting in this session: press Stop first, or wait for it to finish.",
    "8 trainings are already waiting (the limit is 8). Try again in a few minutes.",
    "Training diverged at step 12: the loss became nan. The model keeps its last finite weights. Lower the learning rate (now 0.01; try 0.001) or the model size, then train again. Your session keeps its previous model.",
    "Training diverged at step 40: the gradient norm became inf. The model keeps the weights of its best evaluation (step 30, val loss 2.1000). Lower the learning rate (now 0.003; try 0.0003) or the model size, then train again.",
    "This model would have 13,000,000 parameters; the limit is 12,000,000. Lower n_layer or n_embd.",
    "The training text is 5 tokens long; it must be at least block_size + 1 = 9 tokens. Give more text or a smaller block_size.",
    "The text has no tokens: type a sentence to look at.",
    "n_embd (16) must be divisible by n_head (3) so every head gets the same width: try n_embd=15.",
    "dropout must be in [0, 1), got 1.",
    "n_layer must be at most 24, got 30: choose a smaller n_layer.",
    "assets/x.safetensors was not found: this model is untrained (random weights).",
    "The probe sentence has character(s) the training text does not contain: 'ñ', 'é'. Remove them, or leave the probe empty to use the start of the training text.",
    "The probe sentence has 2 token(s); it needs at least 3. Type a longer one, or leave it empty to use the start of the training text.",
    "The probe sentence is 1,001 characters; the limit is 1,000. Use a shorter probe sentence.",
    "The probe sentence must be text, got int.",
]


@pytest.mark.parametrize("message", MORE_MESSAGES)
def test_every_other_message_a_user_can_meet_is_fully_spanish(message):
    assert_fully_spanish(message, translate_error(message, "es"))
    assert translate_error(message, "en") == message


def test_an_unknown_sentence_stays_as_it_is():
    message = "top_k must be between 0 and 5, got 9. Something nobody translated."
    assert translate_error(message, "es") == "top_k debe estar entre 0 y 5; recibido: 9. Something nobody translated."
    assert untranslated(message, "es") == "Something nobody translated."


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
