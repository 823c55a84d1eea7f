"""The folder for the sessions' files: one per running app, removed when the app exits, and
folders left behind by apps that died (killed, crashed) removed when the next one starts.

Each folder is named mirador-sessions-<pid>-<random> and holds a lock file that its app keeps
locked (fcntl.flock) for as long as it runs; the kernel releases the lock when the process ends,
however it ends. At start, a folder whose lock can be taken has no live owner and is removed; a
folder whose lock is held belongs to a running app (this one included) and is left alone. A
folder is made under a hidden name and renamed once locked, so no app ever sees it unlocked.
Folders without a lock file (made by older versions, or by anything else) are never touched:
nothing says whether their app still runs. Where flock does not exist (Windows), the pid in the
name is asked instead.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

PREFIX = "mirador-sessions-"
LOCK_NAME = ".owner.lock"
_held: dict[Path, int] = {}  # folder -> the open, locked descriptor of its lock file


def create(parent: Path | str | None = None) -> Path:
    """A new, locked sessions folder under parent (the system's temporary folder by default),
    removed at exit; folders of apps that are gone are removed first."""
    parent = Path(parent or tempfile.gettempdir())
    remove_orphans(parent)
    staging = Path(tempfile.mkdtemp(prefix=".mirador-new-", dir=parent))
    _held[staging] = _lock(staging / LOCK_NAME)
    folder = parent / f"{PREFIX}{os.getpid()}-{staging.name.rsplit('-', 1)[-1]}"
    staging.rename(folder)
    _held[folder] = _held.pop(staging)
    atexit.register(remove, folder)
    return folder


def remove(folder: Path) -> None:
    """Delete this app's folder and let go of its lock (at exit)."""
    shutil.rmtree(folder, ignore_errors=True)
    descriptor = _held.pop(folder, None)
    if descriptor is not None:
        os.close(descriptor)


def remove_orphans(parent: Path | str) -> list[Path]:
    """Remove the sessions folders under parent whose app is no longer running; returns them."""
    removed = []
    for folder in Path(parent).glob(PREFIX + "*"):
        lock = folder / LOCK_NAME
        if folder in _held or not lock.is_file():
            continue
        if fcntl is None:
            if not _pid_gone(folder):
                continue
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
            continue
        try:
            descriptor = os.open(lock, os.O_RDWR)
        except OSError:  # removed meanwhile by another app's clean-up
            continue
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: its app is running
            os.close(descriptor)
            continue
        shutil.rmtree(folder, ignore_errors=True)  # while holding the lock: no one else is in it
        os.close(descriptor)
        removed.append(folder)
    return removed


def _lock(path: Path) -> int:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    if fcntl is not None:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return descriptor


def _pid_gone(folder: Path) -> bool:
    import psutil

    try:
        pid = int(folder.name[len(PREFIX) :].split("-", 1)[0])
    except ValueError:
        return False
    return pid != os.getpid() and not psutil.pid_exists(pid)
