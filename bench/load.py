"""Many users at once: N gradio_client sessions against a fresh `python app.py` for S seconds.

    python bench/load.py                      # 16 sessions, 60 s; writes a section of bench/RESULTS.md
    python bench/load.py --sessions 4 --seconds 15 --no-results

Every session gets its own small alphabet (disjoint from the others') and its own context
length, trains once on a text made of that alphabet, then alternates /generate and
/attention. Isolation is checked on every answer: a session's generations may only use its
own alphabet, and its attention views must have its own model's context length. Before
its training the session uses the bundled model, like any visitor.

The server is started here, on 127.0.0.1 only, with GRADIO_HEARTBEAT_INTERVAL=1 so that a
closed client is noticed within about a second (Gradio's default is 15 s) and TMPDIR
pointing at a scratch folder (so the sessions' checkpoint folders can be counted and are
removed afterwards). After the sessions close, the server's memory (RSS) must come back
to within 10% of its idle level, measured after one warm-up session.

Reports requests, errors (must be 0), p50/p95 latency per endpoint, isolation and memory;
prints one JSON line; writes the section between <!-- load --> and <!-- /load --> of
bench/RESULTS.md (unless --no-results).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy
import psutil

if __package__ in (None, ""):  # run as a script (python bench/<name>.py): import bench.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, AppProcess, Section, config_answers, train_args  # noqa: E402
from gpt.settings import TrainingSettings  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- load -->", "<!-- /load -->"
# 16 disjoint alphabets of 3 characters (48 distinct letters), one per session, reused beyond 16.
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
QUEUE_FULL = "trainings are already waiting"
GRACE_S = 180.0  # a session still waiting for its training at the deadline may wait this much longer
QUIET_S = 20.0  # after the traffic, the clients still connected, before memory is read


def alphabet(i: int) -> str:
    j = (i % 16) * 3
    return LETTERS[j : j + 3]


def context(i: int) -> int:
    return 8 + (i % 16)  # 8..23 tokens: each session's attention views have their own size


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0-1), interpolated linearly between the two nearest ranks (numpy's default,
    what the hand-written version before it computed); nan for no values."""
    return float(numpy.percentile(values, 100 * q)) if values else float("nan")


# --- the server --------------------------------------------------------------------------------


def session_folders(scratch: Path) -> int:
    """Sessions holding a model of their own: each has a folder under the app's workdir."""
    return sum(1 for d in scratch.glob("mirador-sessions-*/*") if d.is_dir())


def rss(server: AppProcess) -> int:
    return int(server.rss_mb(children=False) * 2**20)


def settle_rss(server: AppProcess, seconds: float = 3.0) -> int:
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        samples.append(rss(server))
        time.sleep(0.25)
    return int(statistics.median(samples))


def wait_sessions_freed(scratch: Path, timeout: float) -> float:
    start = time.monotonic()
    while session_folders(scratch) and time.monotonic() - start < timeout:
        time.sleep(0.2)
    return time.monotonic() - start


# --- one user ----------------------------------------------------------------------------------


def small_training(text: str, block_size: int, max_steps: int) -> tuple:
    """/train's arguments for a session's small model (1 layer, 1 head, 16 wide)."""
    settings = TrainingSettings(
        n_layer=1, n_head=1, n_embd=16, block_size=block_size, max_steps=max_steps, batch_size=8,
        learning_rate=1e-2, time_budget_s=20.0,
    )
    return train_args(text, settings)


@dataclass
class Stats:
    latencies: dict = field(default_factory=lambda: {"generate": [], "attention": [], "train": []})
    errors: list = field(default_factory=list)
    refusals: int = 0
    checked_generations: int = 0
    checked_attention: int = 0
    violations: list = field(default_factory=list)
    sessions_done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, endpoint: str, seconds: float):
        with self.lock:
            self.latencies[endpoint].append(seconds)

    def error(self, where: str, exc: BaseException):
        with self.lock:
            self.errors.append(f"{where}: {type(exc).__name__}: {str(exc)[:200]}")

    def violation(self, text: str):
        with self.lock:
            self.violations.append(text[:200])


def heatmap_size(result) -> int:
    figure = json.loads(result["plot"])
    heatmap = next(t for t in figure["data"] if t.get("type") == "heatmap")
    z = heatmap["z"]
    return int(z["shape"].split(",")[0]) if isinstance(z, dict) else len(z)


def user(i: int, url: str, start_at: float, train_at: float, deadline: float, train_steps: int, stats: Stats, clients: list):
    from gradio_client import Client

    rng = random.Random(i)
    letters, block = alphabet(i), context(i)
    text = letters + "".join(rng.choice(letters) for _ in range(600))
    time.sleep(max(0.0, start_at - time.monotonic()))
    try:
        client = Client(url, verbose=False)
    except Exception as exc:  # noqa: BLE001
        stats.error(f"session {i} connect", exc)
        return
    clients.append(client)
    trained = False
    turn = 0
    checked_after_training = 0
    # Every session trains once, even if the training slot only frees up after the deadline
    # (then it makes one generation and one attention call on its model, and stops).
    while time.monotonic() < deadline or (not trained and time.monotonic() < deadline + GRACE_S) or (trained and checked_after_training < 2):
        try:
            if not trained and time.monotonic() >= train_at:
                t = time.monotonic()
                try:
                    result = client.predict(*small_training(text, block, train_steps), api_name="/train")
                except Exception as exc:
                    if QUEUE_FULL in str(exc):  # the designed back-pressure answer: try again later
                        with stats.lock:
                            stats.refusals += 1
                        time.sleep(2.0)
                        continue
                    raise
                stats.record("train", time.monotonic() - t)
                if "Done at step" not in result[0] and "Stopped at step" not in result[0]:
                    raise RuntimeError(f"training ended oddly: {result[0][:120]}")
                trained = True
                continue
            if not trained and time.monotonic() >= deadline:  # waiting for the training slot: no more traffic
                time.sleep(0.2)
                continue
            if turn % 2 == 0:
                prompt = rng.choice(letters) if trained else "ROMEO:"
                t = time.monotonic()
                out = client.predict(prompt, 30, 1.0, 0, 1.0, rng.randrange(2**31), api_name="/generate")
                stats.record("generate", time.monotonic() - t)
                if trained:
                    checked_after_training += 1
                    with stats.lock:
                        stats.checked_generations += 1
                    if not set(out) <= set(letters):
                        stats.violation(f"session {i} ({letters!r}) wrote {out!r}")
            else:
                t = time.monotonic()
                result = client.predict((letters * 20)[:40] if trained else "But soft, what light", 0, api_name="/attention")
                stats.record("attention", time.monotonic() - t)
                if trained:
                    checked_after_training += 1
                    with stats.lock:
                        stats.checked_attention += 1
                    size = heatmap_size(result)
                    if size != block:
                        stats.violation(f"session {i}: attention view of {size} tokens, its model's context is {block}")
            turn += 1
        except Exception as exc:  # noqa: BLE001
            stats.error(f"session {i}", exc)
            time.sleep(0.5)
    with stats.lock:
        stats.sessions_done += 1 if trained else 0
        if not trained:
            stats.errors.append(f"session {i}: never got to train within the run")


# --- the run -----------------------------------------------------------------------------------


def measure(sessions: int, seconds: float, model: str | None, train_steps: int, quiet_s: float = QUIET_S) -> dict:
    from gradio_client import Client

    load_at_start = round(os.getloadavg()[0], 2)
    scratch = Path(tempfile.mkdtemp(prefix="mirador-load-"))
    env = dict(
        GRADIO_HEARTBEAT_INTERVAL="1",  # a client that leaves is noticed within seconds
        GRADIO_TEMP_DIR=str(scratch / "gradio"),
        TMPDIR=str(scratch),  # the app's session folders land here, where they can be counted
        PYTHONUNBUFFERED="1",
    )
    if model:
        env["MIRADOR_MODEL"] = str(Path(model).resolve())
    peak = {"rss": 0}
    monitoring = threading.Event()
    server = AppProcess(env=env, ready_timeout_s=240, log_name="load", ready_check=config_answers)
    try:
        server.__enter__()
        startup_s = server.ready_s

        # Warm-up: one visitor uses every endpoint once and leaves. Idle is measured after it,
        # so one-off costs (lazy imports, the step-time calibration, thread pools) are not
        # mistaken for per-session memory.
        warm = Client(server.url, verbose=False)
        warm.predict("ROMEO:", 20, 0.8, 0, 1.0, 1, api_name="/generate")
        warm.predict("But soft", 0, api_name="/attention")
        warm.predict(*small_training(alphabet(0) * 100, 8, train_steps), api_name="/train")
        warm.close()
        wait_sessions_freed(scratch, 30)
        idle = settle_rss(server)

        def monitor():
            while not monitoring.is_set():
                peak["rss"] = max(peak["rss"], rss(server))
                time.sleep(0.25)

        watcher = threading.Thread(target=monitor, daemon=True)
        watcher.start()

        stats = Stats()
        clients: list = []
        begin = time.monotonic()
        deadline = begin + seconds
        # Arrivals spread over the first 10% of the run; trainings spread over the first 40%,
        # so the training queue (its slots, MAX_WAITING_TRAININGS behind them) is exercised
        # without being flooded.
        arrive = [begin + i * (0.1 * seconds / max(sessions, 1)) for i in range(sessions)]
        trains = [begin + 0.5 + i * (0.4 * seconds / max(sessions, 1)) for i in range(sessions)]
        threads = [
            threading.Thread(target=user, args=(i, server.url, arrive[i], trains[i], deadline, train_steps, stats, clients), daemon=True)
            for i in range(sessions)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + GRACE_S + 120)
        hung = sum(t.is_alive() for t in threads)
        if hung:
            stats.errors.append(f"{hung} session(s) still busy {seconds + GRACE_S + 120:.0f} s after the start")
        elapsed = time.monotonic() - begin
        held = session_folders(scratch)
        # The visitors go quiet but stay connected (API clients need not close): what does the
        # server hold quiet_s seconds later? Their own models stay theirs, by design.
        time.sleep(quiet_s)
        quiet = settle_rss(server, 2.0)

        closing = time.monotonic()
        for client in clients:  # the users leave: Gradio's heartbeat ends, the app's unload frees their models
            client.close()
        wait_sessions_freed(scratch, 60)
        freed_s = time.monotonic() - closing
        left = session_folders(scratch)
        after = idle * 2
        settle_start = time.monotonic()
        while time.monotonic() - settle_start < 30:
            after = settle_rss(server, 2.0)
            if after <= idle * 1.10:
                break
        monitoring.set()
    finally:
        server.__exit__(None, None, None)
        shutil.rmtree(scratch, ignore_errors=True)

    served = {k: len(v) for k, v in stats.latencies.items()}
    result = {
        "sessions": sessions,
        "seconds": round(elapsed, 1),
        "requested_seconds": seconds,
        "quiet_s": quiet_s,
        "startup_s": round(startup_s, 1),
        "requests": sum(served.values()),
        "served": served,
        "errors": len(stats.errors),
        "error_samples": stats.errors[:5],
        "queue_full_refusals": stats.refusals,
        "latency_s": {
            k: {"p50": round(percentile(v, 0.5), 3), "p95": round(percentile(v, 0.95), 3), "max": round(max(v), 3) if v else None}
            for k, v in stats.latencies.items()
        },
        "isolation": {
            "sessions_trained": stats.sessions_done,
            "generations_checked": stats.checked_generations,
            "attention_views_checked": stats.checked_attention,
            "violations": len(stats.violations),
            "violation_samples": stats.violations[:5],
        },
        "memory_mb": {
            "idle": round(idle / 2**20, 1),
            "peak": round(peak["rss"] / 2**20, 1),
            "quiet_clients_connected": round(quiet / 2**20, 1),
            "quiet_vs_idle": round(quiet / idle - 1, 3),
            "after_sessions_closed": round(after / 2**20, 1),
            "after_vs_idle": round(after / idle - 1, 3),
        },
        "sessions_holding_models_at_end_of_run": held,
        "sessions_holding_models_after_close": left,
        "freed_within_s": round(freed_s, 1),
        "memory_back_within_10pct": after <= idle * 1.10 and quiet <= idle * 1.10,
        "ok": not stats.errors and not stats.violations and stats.sessions_done == sessions and left == 0 and after <= idle * 1.10 and quiet <= idle * 1.10,
        "machine": f"{platform.machine()}, {psutil.cpu_count()} CPU(s), Python {platform.python_version()}",
        "training_slots": slots_of(server),
        "model": describe_model(model),
        "load_average_at_start": load_at_start,
    }
    return result


def slots_of(server: AppProcess) -> int:
    """The training slots the app runs with: the app's own rule, applied to the env it was given."""
    import torch

    from gpt.device import cpu_cores
    from ui.threads import training_slots

    return training_slots(cpu_cores(), torch.cuda.is_available(), server.env)


# --- a classroom: everyone trains the fast preset at once ------------------------------------------


def student(i: int, url: str, start, args: tuple, retry_s: float, results: list, errors: list):
    """One student: connect, press Train at the start signal, press it again every retry_s
    seconds while the queue is full; record when the model arrived and the run's own time."""
    import httpx
    from gradio_client import Client

    try:  # a browser waits for the server to take a 1 MB press; gradio_client's own default is 5 s
        client = Client(url, verbose=False, httpx_kwargs={"timeout": httpx.Timeout(120.0)})
    except Exception as exc:  # noqa: BLE001
        errors.append(f"student {i} connect: {type(exc).__name__}: {exc}")
        return
    rng = random.Random(i)
    start.wait()
    pressed, refusals, answered_in = time.monotonic(), 0, []
    try:
        while True:
            try:
                t = time.monotonic()
                status = client.predict(*args, api_name="/train")[0]
                break
            except Exception as exc:
                if QUEUE_FULL not in str(exc):
                    raise
                refusals += 1
                answered_in.append(time.monotonic() - t)
                time.sleep(retry_s * rng.uniform(0.8, 1.2))
        done = time.monotonic()
        match = DONE.search(status)
        if not match:
            raise RuntimeError(f"training ended oddly: {status[:160]}")
        steps, run_s = int(match.group(1).replace(",", "")), float(match.group(2))
        val = VAL.search(status)
        results.append(dict(student=i, pressed=pressed, done=done, run_s=run_s, wait_s=done - pressed - run_s, steps=steps, val=float(val.group(1)) if val else None, refusals=refusals, refused_in=answered_in))
    except Exception as exc:  # noqa: BLE001
        errors.append(f"student {i}: {type(exc).__name__}: {str(exc)[:200]}")
    finally:
        client.close()


DONE = re.compile(r"(?:Done|Stopped) at step ([\d,]+)\*\* in ([\d.]+) s")
VAL = re.compile(r" · val (\d+\.\d+)")


def classroom(students: int, slots: int, model: str | None, preset_name: str = "fast", retry_s: float = 5.0) -> dict:
    """`students` API clients press Train (a preset, the bundled corpus) at the same moment on
    an app with `slots` training slots; when each got its model, and how long it waited."""
    from gpt.presets import preset

    scratch = Path(tempfile.mkdtemp(prefix="mirador-classroom-"))
    env = dict(MIRADOR_TRAINING_SLOTS=str(slots), GRADIO_TEMP_DIR=str(scratch / "gradio"), TMPDIR=str(scratch), PYTHONUNBUFFERED="1")
    if model:
        env["MIRADOR_MODEL"] = str(Path(model).resolve())
    text = (ROOT / "assets" / "shakespeare.txt").read_text(encoding="utf-8")  # "Use Shakespeare"
    args = train_args(text, preset(preset_name))
    results, errors = [], []
    load_at_start = round(os.getloadavg()[0], 2)
    try:
        with AppProcess(env=env, ready_timeout_s=240, log_name=f"classroom-{slots}", ready_check=config_answers) as server:
            start = threading.Event()
            workers = [threading.Thread(target=student, args=(i, server.url, start, args, retry_s, results, errors), daemon=True) for i in range(students)]
            for w in workers:
                w.start()
            time.sleep(5.0)  # everyone connected
            begin = time.monotonic()
            start.set()
            for w in workers:
                w.join()
            app_slots = slots_of(server)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    waits = [r["wait_s"] for r in results]
    return {
        "students": students,
        "slots": app_slots,
        "preset": preset_name,
        "time_budget_s": preset(preset_name).time_budget_s,
        "all_done_s": round(max(r["done"] for r in results) - begin, 1) if results else None,
        "wait_p50_s": round(percentile(waits, 0.5), 1),
        "wait_p95_s": round(percentile(waits, 0.95), 1),
        "run_s_median": round(statistics.median(r["run_s"] for r in results), 1) if results else None,
        "steps_median": statistics.median(r["steps"] for r in results) if results else None,
        "val_median": round(statistics.median(r["val"] for r in results if r["val"] is not None), 3) if results else None,
        "refusals": sum(r["refusals"] for r in results),
        "refusal_answered_p95_s": round(percentile([t for r in results for t in r["refused_in"]], 0.95), 2),
        "finished": len(results),
        "errors": len(errors),
        "error_samples": errors[:5],
        "load_average_at_start": load_at_start,
        "machine": f"{platform.machine()}, {psutil.cpu_count()} CPU(s), Python {platform.python_version()}",
    }


def describe_model(model: str | None) -> str:
    path = Path(model or os.environ.get("MIRADOR_MODEL") or ROOT / "assets" / "shakespeare-char.safetensors")
    if not path.is_file():
        return f"untrained fallback ({path.name} not found)"
    try:
        shown = path.resolve().relative_to(ROOT)
    except ValueError:
        shown = path
    return f"{shown} ({path.stat().st_size / 2**20:.1f} MB)"


def section(r: dict, argv: str) -> str:
    lat = r["latency_s"]
    iso = r["isolation"]
    mem = r["memory_mb"]
    rows = "\n".join(
        f"| /{k} | {r['served'][k]} | {lat[k]['p50']:.2f} s | {lat[k]['p95']:.2f} s | {lat[k]['max'] if lat[k]['max'] is not None else float('nan'):.2f} s |"
        for k in ("generate", "attention", "train")
    )
    verdict = "**passed**" if r["ok"] else "**FAILED**"
    overrun = ""
    if r["seconds"] > r["requested_seconds"] + 1:
        overrun = (
            f"; traffic stops at {r['requested_seconds']:g} s, but sessions still waiting for a training slot then"
            " finish their training and check their model once, hence the longer run"
        )
    return f"""{START}
## Many users at once (bench/load.py)

`{argv}` — {r['sessions']} concurrent gradio_client sessions for {r['seconds']:.0f} s against a fresh `python app.py` on 127.0.0.1
({r['machine']}, 1-min load average {r['load_average_at_start']} at the start from other work on the machine; bundled model: {r['model']}). Each session trains once (1 layer, 16 wide, its own 3-letter alphabet and
its own context length), then alternates /generate (30 tokens) and /attention{overrun}. Run on {time.strftime('%Y-%m-%d')}: {verdict}.

| endpoint | requests | p50 | p95 | max |
|---|---|---|---|---|
{rows}

- **Requests served:** {r['requests']}; **errors: {r['errors']}**; training-queue-full answers (retried): {r['queue_full_refusals']}.
  /train latency includes the wait for a training slot ({r['training_slots']} here).
- **Isolation:** {iso['sessions_trained']}/{r['sessions']} sessions trained; {iso['generations_checked']} generations used only their
  session's alphabet and {iso['attention_views_checked']} attention views had their session's own context length; violations: {iso['violations']}.
- **Memory (server RSS):** idle {mem['idle']:.0f} MB (after one warm-up visitor), peak {mem['peak']:.0f} MB, {r['quiet_s']:.0f} s after the
  traffic with the clients still connected {mem['quiet_clients_connected']:.0f} MB ({mem['quiet_vs_idle']:+.1%}), after the sessions
  closed {mem['after_sessions_closed']:.0f} MB ({mem['after_vs_idle']:+.1%} of idle; limit +10%). Sessions holding a model: {r['sessions_holding_models_at_end_of_run']} at the end
  of the run, {r['sessions_holding_models_after_close']} once their clients had closed ({r['freed_within_s']:.1f} s after the first close; Gradio heartbeat every 1 s, then the app's unload).
{END}"""


CLASSROOM_START, CLASSROOM_END = "<!-- classroom -->", "<!-- /classroom -->"


def compare_classrooms(runs: list[dict]) -> str:
    """Which slot count served the class sooner, and why: the steps per second the machine trained
    with every slot busy, and whether the runs stopped at the preset's time budget with fewer steps."""
    done = [r for r in runs if r["all_done_s"] and r["finished"] == r["students"]]
    if len(done) < 2:
        return "Fewer than two complete runs: nothing to compare."
    for r in done:  # steps per second the whole machine trained, with every slot busy
        r["class_steps_per_s"] = round(r["slots"] * r["steps_median"] / r["run_s_median"], 1)
    lines = [
        f"- {r['slots']} slot(s): all done in {r['all_done_s'] / 60:.1f} min, p95 wait {r['wait_p95_s'] / 60:.1f} min; each run "
        f"{r['run_s_median']:.0f} s for {r['steps_median']:.0f} steps (val {r['val_median']:.3f}), so the machine trained "
        f"{r['class_steps_per_s']} steps/s in all."
        for r in done
    ]
    best = min(done, key=lambda r: r["all_done_s"])
    other = max(done, key=lambda r: r["all_done_s"])
    budget_bound = best["run_s_median"] >= 0.95 * best["time_budget_s"] and best["steps_median"] < other["steps_median"]
    verdict = (
        f"- **Sooner here: {best['slots']} slot(s)**, the class done {other['all_done_s'] / best['all_done_s']:.2f}x sooner and the p95 wait "
        f"{best['wait_p95_s'] / 60:.1f} min against {other['wait_p95_s'] / 60:.1f}. Why: "
    )
    if budget_bound:
        verdict += (
            f"not because the machine trained faster ({best['class_steps_per_s']} steps/s in all against {other['class_steps_per_s']}), "
            f"but because each run stopped at the preset's {best['time_budget_s']:.0f} s budget after {best['steps_median']:.0f} steps instead of "
            f"{other['steps_median']:.0f} (val {best['val_median']:.3f} against {other['val_median']:.3f}): {best['slots']} slots serve "
            f"{best['slots']} students per budget. Everyone gets a model sooner, a weaker one; models as good would have taken longer."
        )
    else:
        verdict += (
            f"the machine trained {best['class_steps_per_s']} steps/s in all against {other['class_steps_per_s']}: "
            + (
                "a small model's step splits poorly over threads, so trainings side by side with fewer threads each do more work. "
                "The price: each run takes longer, and requests share the cores with more trainings."
                if best["slots"] > other["slots"]
                else "the threads split a step well enough that one training at a time, at full speed, does more."
            )
        )
    return "\n".join(lines + [verdict])


def classroom_section(runs: list[dict], argv: str) -> str:
    """The classroom block of RESULTS.md; its last line keeps the numbers for bench/run.py."""
    rows = "\n".join(
        f"| {r['slots']} | {r['finished']}/{r['students']} | {r['all_done_s']:.0f} s ({r['all_done_s'] / 60:.1f} min) | {r['wait_p50_s']:.0f} s "
        f"| {r['wait_p95_s']:.0f} s | {r['run_s_median']:.1f} s | {r['steps_median']:.0f} | {r['val_median']:.3f} | {r['refusals']} ({r['refusal_answered_p95_s']:.2f} s) | {r['errors']} | {r['load_average_at_start']} |"
        for r in runs
    )
    numbers = {"date": time.strftime("%Y-%m-%d"), "command": argv, "runs": runs}
    return f"""{CLASSROOM_START}
## A classroom: {runs[0]['students']} students press Train at once (bench/load.py --classroom)

`{argv}` — {runs[0]['students']} gradio_client sessions press Train with the {runs[0]['preset']} preset on the bundled
corpus at the same moment, against a fresh `python app.py` per row ({runs[0]['machine']}). A student whose
press is refused (the queue is full) presses again about every 5 s. *All done*: from the press until the
last model arrived; *wait*: each student's time from the first press until the model arrived, less the
run's own time. Run on {numbers['date']}.

| slots | finished | all done | wait p50 | wait p95 | run (median) | steps (median) | val loss (median) | refused presses (p95 answer) | errors | load average at start |
|---|---|---|---|---|---|---|---|---|---|---|
{rows}

{compare_classrooms(runs)}

<!-- classroom-json {json.dumps(numbers)} -->
{CLASSROOM_END}"""


def latest_classroom(path: Path = RESULTS) -> dict | None:
    """The numbers of the last classroom run written to RESULTS.md (for bench/run.py), or None."""
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    match = re.search(r"<!-- classroom-json (.*?) -->", current)
    return json.loads(match.group(1)) if match else None


def write_section(text: str, path: Path = RESULTS, start: str = START, end: str = END) -> None:
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if start in current and end in current:
        before, rest = current.split(start, 1)
        after = rest.split(end, 1)[1]
        updated = before + text + after
    else:
        updated = (current.rstrip() + "\n\n" if current.strip() else "") + text + "\n"
    path.write_text(updated, encoding="utf-8")


def run(quick: bool = False) -> Section:
    """For bench/run.py: the default load (16 sessions, 60 s; --quick: 4 sessions, 15 s) with its
    memory numbers, and the last classroom run's numbers as RESULTS.md keeps them."""
    sessions, seconds, quiet_s = (4, 15.0, 5.0) if quick else (16, 60.0, QUIET_S)
    r = measure(sessions, seconds, None, 5, quiet_s)
    if not quick:
        write_section(section(r, "python bench/load.py"))
    mem = r["memory_mb"]
    out = Section(f"Many users at once: {sessions} API sessions for {seconds:g} s (details in the load section below)")
    out.row(f"server RSS {quiet_s:g} s after the traffic, clients still connected, against idle", None, mem["quiet_vs_idle"] * 100, None, "<= +10%", mem["quiet_vs_idle"] <= 0.10, unit="%")
    out.row("server RSS after the clients closed, against idle", None, mem["after_vs_idle"] * 100, None, "<= +10%", mem["after_vs_idle"] <= 0.10, unit="%")
    out.row("errors", None, r["errors"], None, "0", r["errors"] == 0)
    out.notes.append(f"Idle {mem['idle']:.0f} MB after one warm-up visitor; peak {mem['peak']:.0f} MB; training slots {r['training_slots']}.")
    out.json = {
        "rss_after_sessions_pct": round(mem["quiet_vs_idle"] * 100, 1),
        "rss_after_close_pct": round(mem["after_vs_idle"] * 100, 1),
        "load_errors": r["errors"],
        "load_ok": r["ok"],
    }
    classroom = latest_classroom()
    if classroom:
        for c in classroom["runs"]:
            out.json[f"classroom_all_done_s_{c['slots']}_slots"] = c["all_done_s"]
            out.json[f"classroom_wait_p95_s_{c['slots']}_slots"] = c["wait_p95_s"]
        out.json["classroom_measured"] = f"{classroom['date']}: {classroom['command']}"
        out.notes.append(
            f"Classroom numbers (classroom_* keys) are carried from the last `{classroom['command']}` ({classroom['date']}, "
            "its own section below): 30 fast-preset trainings take tens of minutes, too long for this run."
        )
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--model", default=None, help="checkpoint the app serves by default (MIRADOR_MODEL)")
    parser.add_argument("--train-steps", type=int, default=5, help="steps of each session's training (a tiny run evaluates after every step, at most 10 times)")
    parser.add_argument("--results", default=str(RESULTS), help="Markdown file whose load section is (re)written")
    parser.add_argument("--no-results", action="store_true", help="do not write the Markdown section")
    parser.add_argument("--classroom", type=int, metavar="N", help="instead: N students train the fast preset at once")
    parser.add_argument("--slots", type=int, nargs="+", default=[1, 2], help="with --classroom: the training slots to compare (MIRADOR_TRAINING_SLOTS)")
    parser.add_argument("--preset", default="fast", help="with --classroom: the preset every student trains (a smoke check: tiny)")
    args = parser.parse_args(argv)
    if args.classroom:
        runs = []
        for slots in args.slots:
            runs.append(classroom(args.classroom, slots, args.model, args.preset))
            print(json.dumps(runs[-1]), flush=True)
        if not args.no_results:
            shown = f"python bench/load.py --classroom {args.classroom} --slots {' '.join(map(str, args.slots))}" + ("" if args.preset == "fast" else f" --preset {args.preset}")
            write_section(classroom_section(runs, shown), Path(args.results), CLASSROOM_START, CLASSROOM_END)
        return 0 if all(r["errors"] == 0 and r["finished"] == r["students"] for r in runs) else 1
    if not 1 <= args.sessions <= 64 or not 5 <= args.seconds <= 3600:
        parser.error("--sessions must be 1..64 and --seconds 5..3600")
    result = measure(args.sessions, args.seconds, args.model, args.train_steps)
    if not args.no_results:
        shown = "python bench/load.py" + ("" if (args.sessions, args.seconds) == (16, 60.0) else f" --sessions {args.sessions} --seconds {args.seconds:g}")
        write_section(section(result, shown), Path(args.results))
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
