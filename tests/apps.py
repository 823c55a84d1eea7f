"""The app as the tests drive it: served on a free port, called through gradio_client, and
opened in a real headless Chromium. One module for every test file that needs them; the
fixtures are registered in conftest.py (pytest_plugins), the helpers are imported.

    demo, url = app                      # the shared served app (tiny model), module fixture
    page = browser.new_page(...)         # headless Chromium, module fixture
    with serving(folder) as (demo, url): # a served app of one's own
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
import torch

import gpt
from gpt import GPT, GPTConfig, make_tokenizer

ROOT = Path(__file__).resolve().parent.parent
CORPUS = "ROMEO:\nBut soft, what light through yonder window breaks?\nab " * 20
CHROMIUM = "/usr/bin/chromium"
# As root, with no network: no sandbox, no GPU, and none of Chromium's own calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "screenshots"  # copies of the screenshots, when MIRADOR_SCREENSHOTS is set


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- models and served apps --------------------------------------------------------------------


def tiny_checkpoint(folder: Path, text: str = CORPUS, name: str = "tiny.safetensors", seed: int = 0, **shape) -> Path:
    """A seeded, untrained char model over text (2 layers x 2 heads x 16 unless shape says otherwise)."""
    tokenizer = make_tokenizer("char", text)
    config = dict(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=2, n_head=2, n_embd=16)
    config.update(shape)
    torch.manual_seed(seed)
    return gpt.save(Path(folder) / name, GPT(GPTConfig(**config)), tokenizer, {})


def bundled_or_tiny(folder: Path) -> Path:
    """The bundled model when it exists (realistic screenshots), else a tiny random one over the corpus."""
    configured = Path(os.environ.get("MIRADOR_MODEL", ROOT / "assets" / "shakespeare-char.safetensors"))
    if configured.is_file():
        return configured
    corpus = (ROOT / "assets" / "shakespeare.txt").read_text(encoding="utf-8")
    return tiny_checkpoint(folder, corpus, n_layer=2, n_head=4, n_embd=32)


@contextmanager
def serving(folder: Path, text: str = CORPUS, checkpoint: Path | None = None, heartbeat_s: float | None = None, slots: int = 1):
    """The app on 127.0.0.1, with checkpoint (default: a tiny model over text) as its bundled
    model and text as its corpus, and `slots` training slots (one: a second training waits,
    as the tests of the queue expect, whatever the machine's default); yields (demo, url)."""
    from app import create_app

    folder = Path(folder)
    checkpoint = checkpoint or tiny_checkpoint(folder, text)
    corpus = folder / "corpus.txt"
    corpus.write_text(text, encoding="utf-8")
    before = os.environ.get("GRADIO_HEARTBEAT_INTERVAL")
    if heartbeat_s is not None:  # read by Gradio at each heartbeat: a closed client is noticed sooner
        os.environ["GRADIO_HEARTBEAT_INTERVAL"] = str(heartbeat_s)
    demo = create_app(default_model_path=checkpoint, corpus_path=corpus, training_slots=slots)
    demo.queue(default_concurrency_limit=1)
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        yield demo, f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
        if heartbeat_s is not None:
            if before is None:
                os.environ.pop("GRADIO_HEARTBEAT_INTERVAL", None)
            else:
                os.environ["GRADIO_HEARTBEAT_INTERVAL"] = before


_SHARED: dict = {}


def shared_app(request, tmp_path_factory):
    """One served app (tiny model over CORPUS) for every module that asks for `app`; each test uses
    sessions of its own. Started once, since starting costs seconds; closed when pytest ends."""
    if "app" not in _SHARED:
        context = serving(tmp_path_factory.mktemp("shared-app"))
        _SHARED["app"] = context.__enter__()
        request.config.add_cleanup(lambda: (context.__exit__(None, None, None), _SHARED.clear()))
    return _SHARED["app"]


@pytest.fixture(scope="module")
def app(request, tmp_path_factory):
    """(demo, url) of the shared served app."""
    return shared_app(request, tmp_path_factory)


# --- API clients ---------------------------------------------------------------------------------


def new_client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


def app_error(call) -> str:
    """The message of the gradio_client AppError that call() must raise."""
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        call()
    return str(info.value)


def generate(client, prompt="ROMEO:", max_new_tokens=8, temperature=0.8, top_k=0, top_p=1.0, seed=1):
    return client.predict(prompt, max_new_tokens, temperature, top_k, top_p, seed, api_name="/generate")


# A small, fast training: 1 layer x 1 head x 16 wide, 20 steps.
TRAIN_DEFAULTS = dict(
    text="ab" * 300, tokenizer="char", n_layer=1, n_head=1, n_embd=16, block_size=8, max_steps=20,
    batch_size=8, learning_rate=1e-2, dropout=0.0, time_budget_s=30, warmup_steps=2, watch_layer=0,
)


def train_args(**overrides) -> tuple:
    """/train's positional arguments: TRAIN_DEFAULTS with overrides, in the API's order (the fields
    added later, keep_best and the probe sentence, at the API's defaults unless given). Every one of
    them: a raw call (RawSession), like the browser's, sends them all."""
    from ui.train_form import ADDED_FORM_FIELDS, API_FIELDS, DEFAULTS

    later = {**{name: getattr(DEFAULTS, name) for name in ADDED_FORM_FIELDS}, "probe": ""}
    values = {**TRAIN_DEFAULTS, **later, **overrides}
    return (values["text"], *(values[name] for name in API_FIELDS))


class RawSession:
    """Calls any event, public or private, the way the browser does: POST
    /gradio_api/queue/join, then read the answer from the SSE stream /gradio_api/queue/data."""

    def __init__(self, url: str, session_hash: str | None = None):
        self.url = url.rstrip("/") + "/"
        self.session_hash = session_hash or secrets.token_hex(6)
        self.http = httpx.Client(timeout=120, trust_env=False)
        self.config = self.http.get(self.url + "config").json()
        self.deps = {d["api_name"]: d for d in self.config["dependencies"]}

    def close(self):
        self.http.close()

    def upload(self, name: str, data: bytes) -> httpx.Response:
        return self.http.post(self.url + "gradio_api/upload", files={"files": (name, data)})

    def uploaded(self, name: str, data: bytes) -> dict:
        """Upload through the app's upload route and return the FileData the handler receives."""
        response = self.upload(name, data)
        assert response.status_code == 200, response.text
        return {"path": response.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}

    def call(self, api_name: str, *data, timeout: float = 120) -> dict:
        """The final message of one event: {"success": bool, "output": {"data"| "error"}}."""
        dep = self.deps[api_name]
        trigger = dep["targets"][0][0] if dep["targets"] else None
        body = {"data": list(data), "fn_index": dep["id"], "trigger_id": trigger, "session_hash": self.session_hash, "event_data": None}
        response = self.http.post(self.url + "gradio_api/queue/join", content=json.dumps(body), headers={"Content-Type": "application/json"})
        response.raise_for_status()
        event_id = response.json()["event_id"]
        deadline = time.monotonic() + timeout
        with self.http.stream("GET", self.url + "gradio_api/queue/data", params={"session_hash": self.session_hash}, timeout=timeout) as stream:
            for line in stream.iter_lines():
                if time.monotonic() > deadline:
                    break
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("event_id") == event_id and message.get("msg") == "process_completed":
                    return message
        raise TimeoutError(f"{api_name} did not complete in {timeout} s")

    def error(self, api_name: str, *data) -> str:
        message = self.call(api_name, *data)
        assert message["success"] is False, f"{api_name} was expected to fail: {message}"
        return str(message["output"].get("error"))


# --- headless Chromium ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (.ci/run installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Watcher:
    """A page's JavaScript errors, and its requests to any host other than the app's."""

    def __init__(self, page, url: str):
        self.host = urlparse(url).netloc
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.requests = 0
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("request", self._request)
        page.add_init_script(COUNT_DIRECT_CALLS)

    def _request(self, request):
        self.requests += 1
        url = urlparse(request.url)
        if url.scheme in ("data", "blob", "about"):
            return
        if url.netloc != self.host:
            self.foreign.append(request.url)

    def check(self):
        assert self.requests > 10, "the watcher saw no traffic: the test is blind"
        assert not self.errors, f"JavaScript errors in the page: {self.errors}"
        assert not self.foreign, f"requests left the machine: {self.foreign}"


# In the page: how many of its direct calls (the events with queue=False, POST .../run/predict)
# are unanswered, in window.unansweredCalls. Added by every Watcher before the page loads.
COUNT_DIRECT_CALLS = """
window.unansweredCalls = 0;
window.directCallsSent = 0;
const fetchAsBefore = window.fetch;
window.fetch = function (resource, ...rest) {
    const url = typeof resource === "string" ? resource : resource.url;
    if (!url.includes("/run/predict")) return fetchAsBefore.call(this, resource, ...rest);
    window.unansweredCalls += 1;
    window.directCallsSent += 1;
    return fetchAsBefore.call(this, resource, ...rest).finally(() => { window.unansweredCalls -= 1; });
};
"""


def wait_for_load_events(page) -> None:
    """The page's load events have answered (open the page with a Watcher): its width is reported
    (that answer sets the language switch), and the calls chained on it (the views of the session's
    model, which write the prompt and the attention text back) too, so nothing typed next is
    overwritten by them. The chained call is sent in the frame that sets the switch."""
    page.wait_for_function("() => document.querySelector('#language input:checked') !== null", timeout=60_000)
    page.wait_for_function("() => new Promise(done => requestAnimationFrame(() => done(window.unansweredCalls === 0)))", timeout=60_000)
    assert page.evaluate("() => window.directCallsSent") >= 2, "the page's calls were not counted: the wait is blind"


def queue_is_empty(demo) -> bool:
    """Gradio's queue holds no event of any session: each one it took has run and sent its answer.
    (Gradio's own bookkeeping, read because a test of "no stale answer arrives later" needs it.)"""
    return not demo._queue.event_ids_to_events


def next_frame(page) -> None:
    """The page has drawn a frame since now: what it received before is on the screen."""
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => done()))")


def shoot(page, name: str, folder: Path, full_page: bool = True) -> Path:
    """A screenshot in folder (pytest's tmp_path), copied to screenshots/ when MIRADOR_SCREENSHOTS is set."""
    path = Path(folder) / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if os.environ.get("MIRADOR_SCREENSHOTS"):
        SCREENSHOTS.mkdir(exist_ok=True)
        shutil.copy(path, SCREENSHOTS / path.name)
    return path


def open_tab(page, name: str):
    """Click the tab called name; a narrow screen keeps some tabs in Gradio's "More tabs" menu."""
    tab, more = page.get_by_role("tab", name=name), page.locator(".overflow-menu > button")
    tab.or_(more).first.wait_for(state="visible", timeout=30_000)  # the tab bar is drawn
    if tab.count() and tab.first.is_visible():
        tab.click()
        return
    more.click()
    page.locator(".overflow-dropdown button", has_text=name).click()


def expect_toast(page, fragment: str, timeout: float = 30_000) -> str:
    toast = page.locator(".toast-body").filter(has_text=fragment)
    toast.first.wait_for(timeout=timeout)
    return toast.first.inner_text()
