"""The app: time to a page that can generate, idle memory, and memory per extra session.

    python bench/app_startup.py [--quick]

Starts `python app.py` in a subprocess on a free port (GRADIO_SERVER_PORT) and polls until
a gradio_client /generate call succeeds (app_ready_s: from launch, interpreter start and
imports included). Then measures the process's resident memory (psutil RSS, children
included) once idle (the app using no CPU: the estimates' calibration, which starts with it in a
thread of its own, is over), and again after each of several new gradio_client sessions has
called /generate with the default model: the growth per session.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python bench/<name>.py): import bench.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, AppProcess, Section, bundled_model_path, client, generate_call, median, standalone  # noqa: E402

TARGET_READY_S = 10.0
TARGET_IDLE_MB = 700.0
TARGET_PER_SESSION_MB = 50.0


# Where start-up time goes: the same steps as `python app.py`, timed one by one in a fresh
# interpreter (launch() without blocking, then one /generate through the app's own function).
PHASES = r"""
import json, os, sys, time
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
import ui, gradio
t2 = time.perf_counter()
import app
t3 = time.perf_counter()
demo = app.create_app()
t4 = time.perf_counter()
demo.queue(default_concurrency_limit=1)
demo.launch(server_name="127.0.0.1", server_port=int(os.environ["PORT"]), prevent_thread_lock=True, quiet=True)
t5 = time.perf_counter()
dynamo = "torch._dynamo" in sys.modules
demo.close()
print(json.dumps({"import torch": t1 - t0, "import gradio (and ui)": t2 - t1, "import app": t3 - t2,
                  "create_app()": t4 - t3, "launch()": t5 - t4, "torch._dynamo imported": dynamo}))
"""


def phases() -> dict:
    """Seconds per start-up phase in a fresh interpreter (interpreter start-up itself excluded)."""
    from bench.common import free_port

    env = {**__import__("os").environ, "PORT": str(free_port())}
    out = subprocess.run([sys.executable, "-c", PHASES], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> Section:
    starts = 1 if quick else 3
    sessions = 3 if quick else 8
    ready, early, quiet_after, idle, per_session, steps = [], [], [], [], [], []
    for i in range(starts):
        with AppProcess(log_name="startup") as app:
            ready.append(app.ready_s)
            time.sleep(2.0)  # let start-up garbage settle
            early.append(app.rss_mb())  # the estimates' calibration may still be running
            quiet_after.append(2.0 + app.wait_quiet())
            idle.append(app.rss_mb())
            if i == 0:
                base = app.rss_mb()
                rss = [base]
                for _ in range(sessions):
                    c = client(app.url)
                    generate_call(c, max_new_tokens=50)
                    rss.append(app.rss_mb())
                per_session.append((rss[-1] - base) / sessions)
                steps = [b - a for a, b in zip(rss, rss[1:])]
                model_note = bundled_model_path()
    section = Section("App: start-up and memory (`python app.py`)")
    ready_s, idle_mb, session_mb = median(ready), median(idle), median(per_session)
    section.row("seconds from launch to a successful /generate", None, ready_s, None, f"<= {TARGET_READY_S:.0f} s", ready_s <= TARGET_READY_S, unit="s")
    section.row("idle resident memory (RSS)", None, idle_mb, None, f"<= {TARGET_IDLE_MB:.0f} MB", idle_mb <= TARGET_IDLE_MB, unit="MB")
    section.row(f"RSS growth per extra session ({sessions} sessions, one /generate each)", None, session_mb, None, f"<= {TARGET_PER_SESSION_MB:.0f} MB", session_mb <= TARGET_PER_SESSION_MB, unit="MB")
    served = f"{model_note.name}" if model_note.is_file() else f"{model_note.name} is missing: the app served its untrained fallback model"
    section.notes += [
        f"Model served: {served}.",
        f"Start-ups: {starts} (median; each: " + ", ".join(f"{s:.2f} s" for s in ready) + "). Idle RSS once the app does nothing (its start-up work in the background done, "
        + ", ".join(f"{q:.0f}" for q in quiet_after) + " s after ready): " + ", ".join(f"{m:.0f} MB" for m in idle)
        + "; 2 s after ready: " + ", ".join(f"{m:.0f} MB" for m in early) + ".",
        "RSS step per new session (MB): " + ", ".join(f"{s:+.1f}" for s in steps) + ".",
    ]
    if not quick:
        try:
            p = phases()
            section.notes.append("Where start-up goes (one fresh interpreter, seconds): " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k}: {v}" for k, v in p.items()) + ".")
        except Exception as exc:  # noqa: BLE001 - the breakdown is a diagnostic, not a result
            section.notes.append(f"Start-up breakdown failed: {exc!r}")
    section.json = {"app_ready_s": ready_s, "app_idle_rss_mb": idle_mb, "app_session_mb": session_mb}
    return section


if __name__ == "__main__":
    standalone(run, __doc__.splitlines()[0])
