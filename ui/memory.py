"""Giving memory back to the operating system once the work that used it is over.

Python and torch free what a request or a training used, but glibc's allocator keeps most of
it for reuse (in one arena per thread that allocated it), so the process would stay at its
high-water mark. malloc_trim returns the free pages. It runs at the end of every training
(release_memory) and once the app has been quiet for TRIM_AFTER_QUIET_S seconds after a request
or a session ended (QuietTrim, held by the process's RunPolicy, ui/threads.py), never while a
request or a training runs. Measured with bench/load.py (bench/RESULTS.md): this is what brings the server back near its idle memory
after many API sessions, whether their clients close or stay connected. Nothing happens off glibc.
"""

from __future__ import annotations

import ctypes
import gc
import threading
import time
from collections.abc import Callable

TRIM_AFTER_QUIET_S = 5.0  # after the last request or session end; a streamed generation pauses far less

_libc = None


def release_memory() -> None:
    """Collect Python's garbage and hand the allocator's free pages back to the OS."""
    global _libc
    gc.collect()
    try:
        _libc = _libc or ctypes.CDLL("libc.so.6")
        _libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


class QuietTrim:
    """release_memory() once nothing has run for after_s seconds; quiet_for() tells how long the
    app has been quiet (0 while something runs): passed in, so this module needs no thread policy."""

    def __init__(self, quiet_for: Callable[[], float], after_s: float = TRIM_AFTER_QUIET_S, release=release_memory):
        self.quiet_for, self.after_s, self.release = quiet_for, after_s, release
        self.trims = 0  # how many quiet trims ran (for tests and benchmarks)
        self._due: float | None = None  # when to trim, if nothing runs meanwhile
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None

    def trim_when_quiet(self) -> None:
        """Work just ended: release memory once after_s seconds pass with nothing running."""
        with self._cond:
            self._due = time.monotonic() + self.after_s
            if self._worker is None:
                self._worker = threading.Thread(target=self._trim_when_due, name="mirador-quiet-trim", daemon=True)
                self._worker.start()
            self._cond.notify()

    def _trim_when_due(self) -> None:
        while True:
            with self._cond:
                while self._due is None:
                    self._cond.wait()
                wait = self._due - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                self._due = None
            still_to_wait = self.after_s - self.quiet_for()
            if still_to_wait > 0:  # something runs, or a request ended less than after_s ago
                with self._cond:  # look again then; a newer request's end may already have set a later time
                    self._due = max(self._due or 0.0, time.monotonic() + still_to_wait)
                continue
            self.release()
            self.trims += 1
