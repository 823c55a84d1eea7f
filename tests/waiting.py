"""Waiting for something to happen, in a test: the one helper for it, instead of sleeps and loops.

    job = eventually(lambda: registry.job(sid), what="the session's training started")

The timeout is a liveness bound (how long the test may wait before it says what never came),
never a claim about speed: how fast things are is bench/'s business. A browser test waits
with Playwright's own waits instead (expect(locator).to_have_text(...), page.wait_for_function).
"""

from __future__ import annotations

import inspect
import time
from typing import Callable, TypeVar

T = TypeVar("T")


def eventually(condition: Callable[[], T], timeout: float = 30.0, interval: float = 0.02, what: str | None = None) -> T:
    """Call condition() until it returns something truthy, and return that. After timeout seconds
    it fails, naming what was awaited (`what`, else the condition's source)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout:g} s: {what or _source(condition)}")
        time.sleep(interval)


def _source(condition: Callable) -> str:
    """The line that wrote the condition (a lambda's text), else its name."""
    try:
        return inspect.getsource(condition).strip()
    except (OSError, TypeError):
        return getattr(condition, "__qualname__", repr(condition))
