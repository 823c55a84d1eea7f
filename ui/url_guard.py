"""Refuse Gradio's "fetch this URL for me" file route.

Gradio's /gradio_api/file=<path_or_url> streams a remote http(s) URL when given one, which
would make the app a proxy to any public host. Mirador never needs that: every file it
serves is its own. This ASGI middleware answers 403 to any file route whose target is a URL,
before Gradio sees it; local files keep Gradio's own checks.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

_REMOTE_FILE = re.compile(r"/file[=/]+\s*([a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)
MESSAGE = b"Mirador serves only its own files; it does not fetch URLs."


def asks_for_remote_file(path: str) -> bool:
    for _ in range(3):  # also catch URL-encoded (once or twice) targets
        if _REMOTE_FILE.search(path):
            return True
        decoded = unquote(path)
        if decoded == path:
            return False
        path = decoded
    return True  # still encoded after three rounds: refuse rather than guess


class RefuseRemoteFiles:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope.get("path", "").encode()
            target = raw.decode("latin-1") + ("?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else "")
            if asks_for_remote_file(target):
                await send({"type": "http.response.start", "status": 403, "headers": [(b"content-type", b"text/plain")]})
                await send({"type": "http.response.body", "body": MESSAGE})
                return
        await self.app(scope, receive, send)
