"""What the app knows of each browser tab: its width (figures are drawn for it) and, once the
visitor picks one, its language.

A browser tab tells the app on page load (a private event); an API client never does and gets
the defaults: figures for a laptop, English. Kept apart from the session registry, which holds
models: knowing a tab's width costs a few bytes, and a session that only samples and looks owns
no model. Bounded: the least recently seen tabs are forgotten first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

MAX_CLIENTS = 10_000
MIN_WIDTH_PX, MAX_WIDTH_PX = 200, 10_000  # what a page may claim: anything else is ignored


@dataclass(frozen=True)
class Client:
    width_px: int | None = None  # the window's inner width, as the page reported it
    language: str | None = None  # the visitor's choice on the page's switch ("es", "en"), if any


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def on_this_machine(request) -> bool:
    """Whether the request comes from this machine (a browser there shares its cores with the
    app: ui/threads.py leaves it one while it draws a training). Behind a proxy the client is the
    proxy: a remote browser is then taken for a local one, which only costs its run a core."""
    client = getattr(request, "client", None)
    return getattr(client, "host", None) in LOOPBACK


class Clients:
    def __init__(self, max_clients: int = MAX_CLIENTS):
        self.max_clients = max_clients
        self._clients: OrderedDict[str, Client] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sid: str) -> Client:
        with self._lock:
            client = self._clients.get(sid)
            if client is None:
                return Client()
            self._clients.move_to_end(sid)
            return client

    def update(self, sid: str, **fields) -> Client:
        with self._lock:
            client = replace(self._clients.get(sid, Client()), **fields)
            self._clients[sid] = client
            self._clients.move_to_end(sid)
            while len(self._clients) > self.max_clients:
                self._clients.popitem(last=False)
            return client

    def forget(self, sid: str) -> None:
        with self._lock:
            self._clients.pop(sid, None)


def reported_width(value) -> int | None:
    """A width the page sent (any JSON), or None when it is not a plausible number of pixels."""
    try:
        width = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
    return width if MIN_WIDTH_PX <= width <= MAX_WIDTH_PX else None


def plot_width(client: Client, share: float = 1.0) -> int | None:
    """The width a figure will have: the page's content width (the window less Gradio's padding,
    at most its widest container) times the share of the row the figure fills. share applies
    only above a phone's width: on a phone every column is the full width."""
    if client.width_px is None:
        return None
    content = min(client.width_px, 1400) - (32 if client.width_px < 640 else 64)
    return int(content * (share if client.width_px >= 640 else 1.0))


# One store for the process: session hashes are unique, so apps built side by side (in tests)
# can share it, and ui/i18n.py can read a request's language without being handed an app.
CLIENTS = Clients()
