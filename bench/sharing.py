"""Sharing two cores: /generate while a training runs in the app, and the training meanwhile.

    python bench/sharing.py [--quick]

Starts `python app.py` (subprocess, free port), then with gradio_client:
1. times /generate (200 new tokens, temperature 1, fixed seed) in one session, idle;
2. starts a training through /train in another session (the fast preset's shape and recipe
   from bench/time_to_quality.py, on the bundled Shakespeare corpus, long enough to
   outlast the measurement) and follows its streamed status ("Step N / M ... E s elapsed");
3. alternates windows with nothing else running (training alone) and windows during which
   a /generate runs: the generate's time against its idle time, and the training's steps/s
   in the same window against the windows alone (median of per-pair ratios);
4. stops the training (/stop_training in its session) and times /generate idle once more.

It does this under the app's thread policy (ui/threads.py: MIRADOR_TRAIN_THREADS and
MIRADOR_INFER_THREADS left to their defaults) and, in the full run, under torch's default of
one thread per core for every job (both variables set to the core count), the reference.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python bench/<name>.py): import bench.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, AppProcess, Section, client, cpu_cores, generate_call, median, standalone, train_args  # noqa: E402
from gpt.presets import preset  # noqa: E402

GEN_TOKENS = 200
TARGET_GEN_RATIO = 3.0
TARGET_TRAIN_SLOWDOWN = 1.5
STEP = re.compile(r"Step ([\d,]+) / [\d,]+")
ELAPSED = re.compile(r"([\d.]+) s elapsed")


class TrainingWatch:
    """Follows a /train job's streamed status: (server elapsed s, step, had an evaluation)."""

    def __init__(self, job, poll_s: float = 0.05):
        self.job = job
        self.points = []  # (client time, server elapsed, step, evaluated)
        self.offset = None  # client time - server elapsed, smallest seen (least latency)
        self._seen = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, args=(poll_s,), daemon=True)
        self._thread.start()

    def _follow(self, poll_s: float) -> None:
        while not self._stop.is_set():
            outputs = self.job.outputs()
            now = time.perf_counter()
            for out in outputs[self._seen :]:
                status = out[0] if isinstance(out, (tuple, list)) else out
                step, elapsed = STEP.search(str(status)), ELAPSED.search(str(status))
                if step and elapsed:
                    e = float(elapsed.group(1))
                    self.points.append((now, e, int(step.group(1).replace(",", "")), " · val " in str(status)))
                    self.offset = now - e if self.offset is None else min(self.offset, now - e)
            self._seen = len(outputs)
            if self.job.done():
                return
            time.sleep(poll_s)

    def step(self) -> int:
        return self.points[-1][2] if self.points else 0

    def rate(self, t0: float, t1: float):
        """(steps/s between client times t0 and t1, whether an evaluation fell inside), from the
        server's own clock: each status point sits at client time offset + elapsed, and the step
        count at t0 and t1 is interpolated between the points around them."""
        pts = [(self.offset + e, s, ev) for _, e, s, ev in self.points]
        s0, s1 = self._step_at(pts, t0), self._step_at(pts, t1)
        if s0 is None or s1 is None:
            return None, False
        # An evaluation (and the sample and attention probe written after it) pauses the steps
        # before its status point and just after it: a window near one is not clean.
        evaluated = any(ev and t0 < t < t1 + 2.0 for t, _, ev in pts)
        return (s1 - s0) / (t1 - t0), evaluated

    @staticmethod
    def _step_at(pts, t):
        for (ta, sa, _), (tb, sb, _) in zip(pts, pts[1:]):
            if ta <= t <= tb:
                return sa + (sb - sa) * (t - ta) / max(tb - ta, 1e-9)
        return None

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)


def fast_training(text: str) -> tuple:
    """/train's arguments: the fast preset, long enough to outlast the measurement (it is stopped after it)."""
    return train_args(text, preset("fast", max_steps=5000, time_budget_s=300.0))


def wait_until(predicate, timeout_s: float, what: str) -> None:
    deadline = time.perf_counter() + timeout_s
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def measure(env: dict, pairs: int, window_s: float, label: str) -> dict:
    text = (ROOT / "assets" / "shakespeare.txt").read_text(encoding="utf-8")
    with AppProcess(env=env, log_name=f"sharing-{label}") as app:
        gen = client(app.url)
        trainer_client = client(app.url)

        def timed_generate() -> float:
            t0 = time.perf_counter()
            generate_call(gen, max_new_tokens=GEN_TOKENS, temperature=1.0, seed=7)
            return time.perf_counter() - t0

        timed_generate()  # warm-up: the first call pays one-off costs
        idle = [timed_generate(), timed_generate()]
        job = trainer_client.submit(*fast_training(text), api_name="/train")
        watch = TrainingWatch(job)
        try:
            wait_until(lambda: watch.step() >= 20, 120, "the training's first 20 steps")
            time.sleep(1.0)
            alone, during, gen_times, slowdowns, skipped = [], [], [], [], 0
            for _ in range(pairs):
                t0 = time.perf_counter()
                time.sleep(window_s)
                t1 = time.perf_counter()
                while time.perf_counter() - t1 < window_s:  # generate back to back for a window
                    gen_times.append(timed_generate())
                t2 = time.perf_counter()
                wait_until(lambda: watch.points and watch.offset + watch.points[-1][1] > t2, 30, "the status to pass the window")
                r_alone, ev_a = watch.rate(t0, t1)
                r_during, ev_d = watch.rate(t1, t2)
                if r_alone is None or r_during is None or ev_a or ev_d:
                    skipped += 1  # an evaluation (or no status) inside a window: not a clean pair
                    continue
                alone.append(r_alone)
                during.append(r_during)
                slowdowns.append(r_alone / r_during if r_during > 0 else float("inf"))
        finally:
            trainer_client.predict(api_name="/stop_training")
            try:
                job.result(timeout=120)
            except Exception:
                pass
            watch.close()
        idle.append(timed_generate())
    idle_s = median(idle)
    return {
        "idle_gen_s": idle_s,
        "idle_gen_all": idle,
        "during_gen_s": median(gen_times),
        "during_gen_all": gen_times,
        "gen_ratio": median([g / idle_s for g in gen_times]),
        "train_alone_sps": median(alone),
        "train_during_sps": median(during),
        "train_slowdown": median(slowdowns),
        "pairs": pairs,
        "skipped": skipped,
    }


def run(quick: bool = False) -> Section:
    from ui import threads as app_threads  # the policy's defaults, as the app computes them

    cores = cpu_cores()
    policy = app_threads.describe_policy()
    variants = {"app policy": {}}
    if not quick:
        variants["torch default"] = {"MIRADOR_TRAIN_THREADS": str(cores), "MIRADOR_INFER_THREADS": str(cores)}
    # Windows short enough to fall between two evaluations (the fast preset's, every 500 steps, come
    # every 10-12 s at 40-48 steps/s): a pair of 6 s windows with an evaluation in it measures nothing.
    pairs, window_s = (3, 3.0) if quick else (8, 3.0)
    results = {name: measure(env, pairs, window_s, name.replace(" ", "-")) for name, env in variants.items()}

    section = Section(f"Sharing {cores} cores: /generate ({GEN_TOKENS} tokens) while the app trains")
    ours = results["app policy"]
    ref = results.get("torch default")
    section.row("/generate seconds, idle", ref and ref["idle_gen_s"], ours["idle_gen_s"], unit="s")
    section.row("/generate seconds, during a training", ref and ref["during_gen_s"], ours["during_gen_s"], unit="s")
    section.row(
        "/generate slowdown during training (during / idle)", ref and ref["gen_ratio"], ours["gen_ratio"],
        ref and ref["gen_ratio"] / ours["gen_ratio"], f"ours <= {TARGET_GEN_RATIO}x", ours["gen_ratio"] <= TARGET_GEN_RATIO,
    )
    section.row("training steps/s, alone", ref and ref["train_alone_sps"], ours["train_alone_sps"], unit="steps/s")
    section.row("training steps/s, while a /generate runs", ref and ref["train_during_sps"], ours["train_during_sps"], unit="steps/s")
    slow_ok = ours["train_slowdown"] is not None and ours["train_slowdown"] <= TARGET_TRAIN_SLOWDOWN
    section.row(
        "training slowdown while generating (alone / during)", ref and ref["train_slowdown"], ours["train_slowdown"],
        ref and ours["train_slowdown"] and ref["train_slowdown"] / ours["train_slowdown"], f"ours <= {TARGET_TRAIN_SLOWDOWN}x", slow_ok,
    )
    p = preset("fast")
    section.notes += [
        f"Ours = the app's thread policy (ui/threads.py): {policy}. "
        + (f"Reference = torch's default, {cores} threads for every job (MIRADOR_TRAIN_THREADS={cores} MIRADOR_INFER_THREADS={cores})." if ref else "--quick: the torch-default reference is skipped."),
        f"Training: the fast preset ({p.n_layer}L/{p.n_head}H/{p.n_embd}, block {p.block_size}, batch {p.batch_size}, lr {p.learning_rate:g}) "
        "through /train on the bundled corpus, stopped with /stop_training after the measurement.",
        f"{pairs} pairs of windows: {window_s:.0f} s of training alone, then {window_s:.0f} s of /generate calls back to back; steps/s from the streamed status "
        "(step and the server's elapsed time, interpolated to the window's ends). "
        "Pairs with an evaluation inside a window are left out of the training ratio: "
        + ", ".join(f"{name}: {r['skipped']} left out" for name, r in results.items()) + ".",
        "Every /generate (s): " + "; ".join(f"{name}: idle " + ", ".join(f"{x:.2f}" for x in r["idle_gen_all"]) + " / during " + ", ".join(f"{x:.2f}" for x in r["during_gen_all"]) for name, r in results.items()) + ".",
    ]
    section.json = {
        "share_gen_ratio": ours["gen_ratio"],
        "share_train_slowdown": ours["train_slowdown"],
        "share_idle_gen_s": ours["idle_gen_s"],
        "share_train_alone_steps_s": ours["train_alone_sps"],
    }
    if ref:
        section.json.update({"share_gen_ratio_torch_default": ref["gen_ratio"], "share_train_slowdown_torch_default": ref["train_slowdown"], "share_train_alone_steps_s_torch_default": ref["train_alone_sps"]})
    return section


if __name__ == "__main__":
    standalone(run, __doc__.splitlines()[0])
