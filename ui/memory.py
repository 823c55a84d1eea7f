"""Giving memory back to the operating system once the work that used it is over.

Python and torch free what a request or a training used, but glibc's allocator keeps most of
it for reuse (in one arena per thread that allocated it), so the process would stay at its
high-water mark. malloc_trim returns the free pages. It runs at the end of every training
(release_memory) and once the app has been quiet for QUIET_S seconds after a request or a
session ended (trim_when_quiet), never while a request or a training runs. Measured with
bench/load.py (bench/RESULTS.md): this is what brings the server back near its idle memory
after many API sessions, whether their clients close or stay connected. Nothing happens off glibc.
"""

from __future__ import annotations

import ctypes
import gc
import threading
import time

QUIET_S = 5.0  # after the last request or session end; a streamed generation pauses far less

_libc = None
_due: float | None = None  # when to trim, if nothing runs meanwhile
_cond = threading.Condition()
_worker: threading.Thread | None = None
trims = 0  # how many quiet trims ran (for tests and benchmarks)


def release_memory() -> None:
    """Collect Python's garbage and hand the allocator's free pages back to the OS."""
    global _libc
    gc.collect()
    try:
        _libc = _libc or ctypes.CDLL("libc.so.6")
        _libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def trim_when_quiet() -> None:
    """Work just ended: release memory once QUIET_S seconds pass with nothing running."""
    global _due, _worker
    with _cond:
        _due = time.monotonic() + QUIET_S
        if _worker is None:
            _worker = threading.Thread(target=_trim_when_due, name="mirador-quiet-trim", daemon=True)
            _worker.start()
        _cond.notify()


def _trim_when_due() -> None:
    global _due, trims
    from . import threads  # what is running (imported here: threads imports this module)

    while True:
        with _cond:
            while _due is None:
                _cond.wait()
            wait = _due - time.monotonic()
            if wait > 0:
                _cond.wait(wait)
                continue
            _due = None
        still_to_wait = QUIET_S - threads.quiet_for()
        if still_to_wait > 0:  # something runs, or a request ended less than QUIET_S ago
            with _cond:  # look again then; a newer request's end may already have set a later time
                _due = max(_due or 0.0, time.monotonic() + still_to_wait)
            continue
        release_memory()
        trims += 1
