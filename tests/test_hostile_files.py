"""Hostile files: uploads that try to run code, break the loader, or pass for a model they
are not; and requests that try to read files the app does not serve.

Every hostile file is one row of HOSTILE, tried at each level that reads it: the library's
loader (gpt.load), the app's upload logic (ui.checkpoints) and the served app (uploaded to
Gradio's upload route and handed to the Model tab's upload handler exactly as the browser
does). None may run code (a pickle payload would create a marker file, or touch one through
os.system), none may build a model before it is validated, each gets a message saying what is
wrong, and the session keeps the model it had.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import pickle
import random
import struct
from pathlib import Path
from typing import Callable, NamedTuple

import pytest
import torch
from apps import CORPUS, RawSession
from safetensors.torch import save as safetensors_bytes

import gpt
from gpt import GPT, GPTConfig, make_tokenizer
from gpt.checkpoint import to_bytes
from ui import checkpoints, limits

pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated")

ROOT = Path(__file__).resolve().parent.parent


class Payload:
    """Unpickling this creates `marker` (builtins.open(marker, "w")): proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


class SystemPayload(Payload):
    """Unpickling this runs a shell command that creates `marker`."""

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


def tiny_model(seed: int = 0, **shape):
    tokenizer = make_tokenizer("char", CORPUS)
    config = dict(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16)
    config.update(shape)
    torch.manual_seed(seed)
    return GPT(GPTConfig(**config)), tokenizer


def valid_bytes(**shape) -> bytes:
    model, tokenizer = tiny_model(**shape)
    return to_bytes(model, tokenizer, {"note": "a test model"})


def mirador_header(**config_overrides) -> dict:
    """The metadata of a valid tiny checkpoint, with its config changed."""
    model, tokenizer = tiny_model()
    config = model.config.to_dict()
    config.update(config_overrides)
    return {"format": "mirador-gpt", "format_version": "1", "config": json.dumps(config), "tokenizer": json.dumps(tokenizer.to_dict()), "meta": "{}"}


def tensors_of(**shape) -> dict:
    model, _ = tiny_model(**shape)
    return {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}


def gpt2_like() -> bytes:
    """Tensor names and layout of another model family (Hugging Face GPT-2), no Mirador header."""
    g = torch.Generator().manual_seed(0)
    names = {"wte.weight": (50, 16), "wpe.weight": (16, 16), "h.0.ln_1.weight": (16,), "h.0.attn.c_attn.weight": (16, 48),
             "h.0.attn.c_proj.weight": (16, 16), "h.0.mlp.c_fc.weight": (16, 64), "h.0.mlp.c_proj.weight": (64, 16), "ln_f.weight": (16,)}
    return safetensors_bytes({k: torch.randn(s, generator=g) for k, s in names.items()}, metadata={"format": "pt"})


def gpt2_like_with_our_header() -> bytes:
    g = torch.Generator().manual_seed(0)
    return safetensors_bytes({"wte.weight": torch.randn(28, 16, generator=g), "h.0.attn.c_attn.weight": torch.randn(16, 48, generator=g)}, metadata=mirador_header())


def with_tensors(transform) -> bytes:
    tensors = {k: transform(k, v) for k, v in tensors_of().items()}
    return safetensors_bytes(tensors, metadata=mirador_header())


def nan_weights(name, t):
    return torch.full_like(t, float("nan")) if name == "tok_emb.weight" else t


def torch_zip_with_payload(marker: Path, payload=Payload) -> bytes:
    buffer = io.BytesIO()
    torch.save({"state_dict": tensors_of(), "config": {"n_layer": 1}, "evil": payload(marker)}, buffer)
    return buffer.getvalue()


def under_our_header(tensors: dict | None = None, **header) -> bytes:
    """Safetensors bytes of the tiny model's tensors (or `tensors`) under a Mirador header with `header` changed."""
    return safetensors_bytes(tensors_of() if tensors is None else tensors, metadata={**mirador_header(), **header})


SAME = "the upload logic's fragment"
CUT_SHORT = "is a Mirador checkpoint, but it is cut short ({length:,} of {whole:,} bytes): download or copy it again"


class Hostile(NamedTuple):
    what: str
    name: str  # the uploaded file's name
    make: Callable[[Path], bytes]  # its bytes, given the marker a payload would create
    fragment: str  # in the upload logic's message ({length} and {whole}: the file's bytes, a whole file's)
    library: str | None = SAME  # in gpt.load's message; None: the library loads it, only the app refuses it


HOSTILE = [
    Hostile("pickle named .safetensors", "model.safetensors", lambda m: pickle.dumps({"state": tensors_of(), "evil": Payload(m)}), "unreadable as safetensors"),
    Hostile("pickle running a shell command", "model.safetensors", lambda m: pickle.dumps({"state_dict": SystemPayload(m)}), "unreadable as safetensors"),
    Hostile("torch.save zip named .safetensors", "model.safetensors", torch_zip_with_payload, "unreadable as safetensors"),
    Hostile("torch.save zip running a shell command", "model.safetensors", lambda m: torch_zip_with_payload(m, SystemPayload), "unreadable as safetensors"),
    Hostile("pickle named .pt", "model.pt", lambda m: pickle.dumps(Payload(m)), "is not a .safetensors file", "unreadable as safetensors"),
    Hostile("pickle named .bin", "pytorch_model.bin", lambda m: pickle.dumps(Payload(m)), "is not a .safetensors file", "unreadable as safetensors"),
    Hostile("pickle named .pkl", "model.pkl", lambda m: pickle.dumps(Payload(m)), "is not a .safetensors file", "unreadable as safetensors"),
    Hostile("truncated to half", "model.safetensors", lambda m: (b := valid_bytes())[: len(b) // 2], CUT_SHORT),
    Hostile("truncated by one byte", "model.safetensors", lambda m: valid_bytes()[:-1], CUT_SHORT),
    Hostile("header only", "model.safetensors", lambda m: (b := valid_bytes())[: 8 + struct.unpack("<Q", b[:8])[0]], CUT_SHORT),
    Hostile("cut inside its header", "model.safetensors", lambda m: (b := valid_bytes())[: len(b) // 100], "unreadable as safetensors"),
    Hostile("random bytes", "model.safetensors", lambda m: random.Random(0).randbytes(4096), "unreadable as safetensors"),
    Hostile("a text file", "model.safetensors", lambda m: b"hello world\n" * 100, "unreadable as safetensors"),
    Hostile("empty file", "model.safetensors", lambda m: b"", "unreadable as safetensors"),
    Hostile("header length of a petabyte", "model.safetensors", lambda m: struct.pack("<Q", 2**50) + b"{}", "unreadable as safetensors"),
    Hostile("header that is not JSON", "model.safetensors", lambda m: struct.pack("<Q", 12) + b"{not json!!}", "unreadable as safetensors"),
    Hostile("a foreign safetensors file", "model.safetensors", lambda m: safetensors_bytes({"x": torch.zeros(2)}), "no Mirador header"),
    Hostile("GPT-2 tensor names, no Mirador header", "gpt2.safetensors", lambda m: gpt2_like(), "no Mirador header"),
    Hostile("another format's header", "odd.safetensors", lambda m: under_our_header(format="someone-else"), "no Mirador header"),
    Hostile("GPT-2 tensor names under a Mirador header", "gpt2.safetensors", lambda m: gpt2_like_with_our_header(), "tensors do not match its config"),
    Hostile("config beyond the library's caps (30 layers)", "big.safetensors", lambda m: under_our_header(config=mirador_header(n_layer=30)["config"]), "n_layer must be at most 24"),
    Hostile("config far beyond the caps (10,000 layers, 4,096 wide)", "huge.safetensors", lambda m: under_our_header(config=mirador_header(n_layer=10_000, n_embd=4096, n_head=4)["config"]), "n_layer must be at most 24, got 10000"),
    Hostile("context beyond the library's caps", "long.safetensors", lambda m: under_our_header(config=mirador_header(block_size=100_000)["config"]), "block_size must be at most 2048"),
    Hostile("config with an unknown field", "odd.safetensors", lambda m: under_our_header(config=mirador_header(activation="evil")["config"]), "Unknown model config fields"),
    Hostile("config that is not JSON", "odd.safetensors", lambda m: under_our_header(config="cos(x)"), "invalid header"),
    Hostile("config that is a list", "odd.safetensors", lambda m: under_our_header(config=json.dumps([1, 2])), "A model config must be a JSON object"),
    Hostile("meta that is not JSON", "odd.safetensors", lambda m: under_our_header(meta="{broken"), "invalid header"),
    Hostile("vocabulary that does not match", "vocab.safetensors", lambda m: under_our_header(tokenizer=json.dumps({"kind": "char", "chars": "abc"})), "tokenizer has 3 tokens, model expects"),
    Hostile("unknown tokenizer", "tok.safetensors", lambda m: under_our_header(tokenizer=json.dumps({"kind": "pickle", "data": "gASV"})), "Unknown tokenizer description"),
    Hostile("shapes that do not match the config", "shape.safetensors", lambda m: under_our_header(tensors_of(n_embd=32)), "wrong shape"),
    Hostile("a tensor missing", "model.safetensors", lambda m: under_our_header({k: v for k, v in tensors_of().items() if k != "blocks.0.mlp.fc.weight"}), "missing ['blocks.0.mlp.fc.weight']"),
    Hostile("non-finite weights", "nan.safetensors", lambda m: with_tensors(nan_weights), "weights must be finite float32"),
    Hostile("half-precision weights", "half.safetensors", lambda m: with_tensors(lambda k, t: t.half()), "weights must be finite float32"),
    Hostile("a context over the app's cap", "long.safetensors", lambda m: valid_bytes(block_size=2048),
            "has a context of 2048 tokens; this app serves at most 256. Upload a model with a shorter block_size", None),
    Hostile("a model over the app's parameter cap", "big.safetensors", lambda m: valid_bytes(n_layer=7, n_head=6, n_embd=384, block_size=64),
            "parameters; this app serves at most 12,000,000. Upload a smaller model", None),
]
CASES = dict(argnames="case", argvalues=HOSTILE, ids=[h.what for h in HOSTILE])


def written(case: Hostile, folder: Path) -> tuple[Path, Path, bytes]:
    """(the file, the marker its payload would create, its bytes)."""
    marker, path = folder / "PWNED", folder / case.name
    path.write_bytes(data := case.make(marker))
    return path, marker, data


def expected(fragment: str, data: bytes) -> str:
    return fragment.format(length=len(data), whole=len(valid_bytes()))


@pytest.fixture
def builds(monkeypatch):
    """Every GPT the checkpoint loader builds on a real device (shape-only 'meta' builds excluded)."""
    real = []
    original = gpt.checkpoint.GPT

    def counting(config):
        if torch.get_default_device().type != "meta":
            real.append(config)
        return original(config)

    monkeypatch.setattr(gpt.checkpoint, "GPT", counting)
    return real


@pytest.fixture
def no_unpickling(monkeypatch):
    """Belt and braces beside the marker file: any unpickling or torch.load in the process fails the test."""
    calls = []

    def refuse(name):
        def call(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} was called while handling an upload")
        return call

    for module, name in ((pickle, "load"), (pickle, "loads"), (torch, "load")):
        monkeypatch.setattr(module, name, refuse(f"{module.__name__}.{name}"))
    return calls


@pytest.mark.parametrize("payload", [Payload, SystemPayload])
@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_the_payload_is_live(tmp_path, payload, writer):
    """Positive control: an unsafe loader does run each payload (its marker appears), so its absence below means something."""
    marker = tmp_path / "control-marker"
    if writer == "pickle":
        pickle.loads(pickle.dumps(payload(marker)))
    else:
        torch.save(payload(marker), tmp_path / "control.pt")
        torch.load(tmp_path / "control.pt", weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize(**CASES)
def test_hostile_file_is_refused_by_the_library(tmp_path, builds, no_unpickling, case):
    path, marker, data = written(case, tmp_path)
    if case.library is None:  # within the library's bounds: the app's own, narrower ones refuse it
        assert gpt.load(path)[0].num_parameters() > 0
        return
    with pytest.raises(ValueError) as info:
        gpt.load(path)
    message = str(info.value)
    assert expected(case.fragment if case.library is SAME else case.library, data) in message
    assert "not a Mirador checkpoint" in message or "cut short" in message
    assert not marker.exists(), "the file's code ran"
    assert builds == [], "a model was built before the file was validated"
    assert no_unpickling == []


@pytest.mark.parametrize(**CASES)
def test_hostile_file_is_refused_by_the_upload_logic(tmp_path, builds, no_unpickling, case):
    path, marker, data = written(case, tmp_path)
    with pytest.raises(ValueError) as info:
        checkpoints.load_upload(path)
    assert expected(case.fragment, data) in str(info.value)
    assert any(hint in str(info.value) for hint in ("Save one with Mirador", "Upload a ", ".safetensors", "download or copy it again"))  # says what to do
    assert not marker.exists(), "the file's code ran"
    assert builds == [], "a model was built before the file was validated"
    assert no_unpickling == []


@pytest.mark.parametrize(**CASES)
def test_hostile_file_is_refused_through_the_upload_route(app, tmp_path, builds, no_unpickling, case):
    demo, url = app
    marker = tmp_path / "PWNED"
    raw = RawSession(url)
    try:
        data = case.make(marker)
        message = raw.call("upload_model", raw.uploaded(case.name, data))
        assert message["success"] is False, message
        error = str(message["output"].get("error"))
        if case.name.endswith(".safetensors"):
            assert expected(case.fragment, data) in error
        else:  # Gradio's own check of the File component's file_types comes first
            assert "Invalid file type" in error and ".safetensors" in error
        assert not marker.exists(), "the file's code ran"
        assert builds == [] and no_unpickling == []
        assert demo.context.registry.model(raw.session_hash) is demo.context.registry.default  # nothing changed
        assert raw.call("generate", "ROMEO:", 5, 0.8, 0, 1.0, 1)["success"]  # the session still works
    finally:
        raw.close()


def test_a_valid_checkpoint_is_accepted_through_the_upload_route(app):
    """Positive control for the route above: the same path accepts a real Mirador checkpoint."""
    demo, url = app
    raw = RawSession(url)
    try:
        message = raw.call("upload_model", raw.uploaded("mine.safetensors", valid_bytes(n_layer=2)))
        assert message["success"], message
        assert "it is now your session's model" in message["output"]["data"][0]
        handle = demo.context.registry.model(raw.session_hash)
        assert handle.origin == "uploaded" and handle.config.n_layer == 2
        assert demo.context.registry.model("someone-else") is demo.context.registry.default
    finally:
        raw.close()


def over_cap_file(tmp_path) -> Path:
    """A genuine Mirador checkpoint, under the 64 MB upload cap but over the 12M-parameter cap."""
    model, tokenizer = tiny_model(n_layer=7, n_head=6, n_embd=384, block_size=64)
    assert limits.MAX_SERVED_PARAMETERS < model.num_parameters() and model.num_parameters() * 4 < limits.MAX_UPLOAD_BYTES
    return gpt.save(tmp_path / "over-cap.safetensors", model, tokenizer, {})


def test_a_model_over_the_parameter_cap_is_refused_before_it_is_built(tmp_path, builds):
    path = over_cap_file(tmp_path)
    with pytest.raises(ValueError) as info:
        checkpoints.load_upload(path)
    assert "this app serves at most 12,000,000" in str(info.value)
    assert builds == [], f"built {len(builds)} model(s) before refusing"


# --- size caps on the server, not only in the browser -------------------------------------------


def test_an_upload_over_the_cap_is_refused_by_the_upload_route(app):
    raw = RawSession(app[1])
    try:
        response = raw.upload("huge.safetensors", b"\0" * (limits.MAX_UPLOAD_BYTES + 1024 * 1024))
        assert response.status_code == 413, response.text[:300]
        assert "64" in response.text or "large" in response.text.lower() or "size" in response.text.lower()
    finally:
        raw.close()


@pytest.mark.parametrize("name, data, event, fragment", [
    ("paste.txt", b"a" * (50 * 2**20), "load_txt", "text uploads are limited to 6 MB. Use a shorter text"),
    ("model.safetensors", b"\1" * (50 * 2**20), "upload_model", "is not a Mirador checkpoint"),
    ("latin1.txt", "café, naïve, über".encode("latin-1"), "load_txt", "is not UTF-8 text: save it as UTF-8"),
    ("image.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "load_txt", "is not UTF-8 text"),
    ("empty.txt", b"", "load_txt", "is empty: upload a file with some text in it"),
], ids=["50 MB text", "50 MB model", "non-UTF-8 text", "binary text", "empty text"])
def test_big_binary_and_non_utf8_uploads_are_refused_by_the_handlers(app, name, data, event, fragment):
    _, url = app
    raw = RawSession(url)
    try:
        assert fragment in raw.error(event, raw.uploaded(name, data))
        assert raw.call("generate", "ROMEO:", 5, 0.8, 0, 1.0, 1)["success"]
    finally:
        raw.close()


def test_a_good_text_upload_is_accepted(app):
    raw = RawSession(app[1])
    try:
        message = raw.call("load_txt", raw.uploaded("ok.txt", "To be, or not to be: ça va.\n".encode()))
        assert message["success"], message
        assert message["output"]["data"][0] == "To be, or not to be: ça va.\n"
    finally:
        raw.close()


# --- nothing is served outside the app's own assets and temporary files --------------------------


def raw_get(url: str, path: str) -> tuple[int, bytes]:
    """GET `path` exactly as written (no client-side normalisation of '..' or %-escapes)."""
    host, port = url.split("//")[1].rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


SECRETS = {
    "/etc/passwd": b"root:",
    str(ROOT / "app.py"): b"def create_app",
    str(ROOT / "ui" / "limits.py"): b"MAX_SERVED_PARAMETERS",
    str(ROOT / "assets" / "shakespeare.txt"): b"HAMLET, PRINCE OF DENMARK",
    str(ROOT / "gpt" / "checkpoint.py"): b"safe_open",
}


def traversal_paths(app_dir: Path, default_model: Path) -> list[str]:
    rel_root = "../" * 12
    paths = []
    for prefix in ("/gradio_api/file=", "/gradio_api/file/", "/file=", "/file/"):
        paths += [
            prefix + "/etc/passwd",
            prefix + rel_root + "etc/passwd",
            prefix + "..%2F" * 12 + "etc%2Fpasswd",
            prefix + "%2Fetc%2Fpasswd",
            prefix + "%252Fetc%252Fpasswd",
            prefix + "%2e%2e/" * 12 + "etc/passwd",
            prefix + "....//" * 12 + "etc/passwd",
            prefix + "/tmp/gradio/../../etc/passwd",
            prefix + "/proc/self/environ",
            prefix + "/proc/self/cmdline",
            prefix + "app.py",
            prefix + "./app.py",
            prefix + str(ROOT / "app.py"),
            prefix + "ui/limits.py",
            prefix + "gpt/checkpoint.py",
            prefix + "assets/shakespeare.txt",
            prefix + str(ROOT / "assets" / "shakespeare.txt"),
            prefix + str(ROOT / "assets" / "shakespeare-char.safetensors"),
            prefix + "assets/gpt2.tiktoken",
            prefix + str(default_model),
        ]
    paths += [
        "/static/" + rel_root + "etc/passwd",
        "/assets/" + rel_root + "etc/passwd",
        "/assets/..%2F..%2F..%2Fapp.py",
        "/gradio_api/static/" + rel_root + "etc/passwd",
        "/" + rel_root + "etc/passwd",
        "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/app.py",
        "/assets/shakespeare.txt",
        "/favicon.ico/../app.py",
    ]
    return paths


def test_path_traversal_and_source_files_are_refused(app):
    demo, url = app
    default_model = demo.context.registry.default.path
    served = []
    for path in traversal_paths(ROOT, default_model):
        status, body = raw_get(url, path)
        leaked = [name for name, secret in SECRETS.items() if secret in body]
        if status < 400 or leaked or (default_model.read_bytes()[:64] in body):
            served.append((path, status, leaked, body[:80]))
    assert not served, f"served outside the app's assets: {served}"


def test_the_apps_own_temporary_files_are_served(app):
    """Positive control: the file route works, and serves an uploaded (temporary) file back."""
    raw = RawSession(app[1])
    try:
        data = b"just an uploaded file\n"
        path = raw.upload("note.txt", data).json()[0]
        status, body = raw_get(app[1], "/gradio_api/file=" + path)
        assert status == 200 and body == data
    finally:
        raw.close()
