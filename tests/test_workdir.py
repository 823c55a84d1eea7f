"""The sessions folder (ui/workdir.py): removed when its app exits, removed at the next start
when its app died without exiting, and never removed while its app runs. Each app here is a
small Python process that makes its folder the way the app does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from ui import workdir

ROOT = Path(__file__).resolve().parent.parent
# An app's part in this: make the folder, put a session's file in it, then end as told.
APP = """
import os, signal, sys
from ui import workdir
folder = workdir.create(sys.argv[1])
(folder / "session").mkdir()
(folder / "session" / "model.safetensors").write_bytes(b"weights")
print(folder, flush=True)
how = sys.argv[2]
if how == "wait":
    sys.stdin.readline()
elif how == "killed":
    os.kill(os.getpid(), signal.SIGKILL)
"""


def app(parent: Path, how: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", APP, str(parent), how], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def folder_of(process: subprocess.Popen) -> Path:
    return Path(process.stdout.readline().strip())


def test_an_app_that_exits_removes_its_folder(tmp_path):
    process = app(tmp_path, "exit")
    folder = folder_of(process)
    assert process.wait(30) == 0
    assert folder.name.startswith(f"mirador-sessions-{process.pid}-")
    assert not folder.exists() and list(tmp_path.iterdir()) == []


def test_at_start_only_folders_of_apps_that_are_gone_are_removed(tmp_path):
    killed = app(tmp_path, "killed")  # no exit handlers ran: its folder stays behind
    dead = folder_of(killed)
    assert killed.wait(30) == -signal.SIGKILL and (dead / "session" / "model.safetensors").is_file()
    running = app(tmp_path, "wait")
    alive = folder_of(running)
    legacy = tmp_path / "mirador-sessions-4yfned15"  # an older version's folder: no lock, owner unknown
    (legacy / "session").mkdir(parents=True)
    try:
        mine = workdir.create(tmp_path)
        assert not dead.exists()
        assert (alive / "session" / "model.safetensors").is_file()  # another running app's folder
        assert legacy.is_dir()
        assert workdir.remove_orphans(tmp_path) == []  # this app's own folder is not an orphan either
        assert mine.is_dir()
    finally:
        running.communicate("\n", timeout=30)  # that app exits normally, removing its own
    assert not alive.exists()
    workdir.remove(mine)
    assert not mine.exists() and sorted(p.name for p in tmp_path.iterdir()) == [legacy.name]


def test_a_killed_app_that_shares_no_lock_is_detected_even_with_its_pid_reused(tmp_path, monkeypatch):
    """The lock, not the pid, says who is alive: a folder whose pid now belongs to this very
    process (pid reuse) but whose lock is free is still an orphan."""
    killed = app(tmp_path, "killed")
    dead = folder_of(killed)
    killed.wait(30)
    reused = dead.with_name(f"mirador-sessions-{os.getpid()}-{dead.name.rsplit('-', 1)[-1]}")
    dead.rename(reused)
    assert workdir.remove_orphans(tmp_path) == [reused] and not reused.exists()
