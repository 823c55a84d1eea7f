"""Time to quality in the app: the "fast" preset through /train, as a user would run it.

    python bench/app_time_to_quality.py    (--quick skips it: it trains four times, about 4 minutes)

bench/time_to_quality.py races the recipe in this process; this starts `python app.py`
(subprocess, free port), pastes char tiny Shakespeare into /train with the app's "fast" preset
and follows the streamed status until an evaluation reports val loss <= 1.90. The time is the
app's own "E s elapsed" at that status: the training's clock (steps and evaluations, and before
the training thread of ui/training_feed.py also every sample, figure and hand-off to Gradio),
under the app's thread policy (ui/threads.py) with nothing else running. The app evaluates
about ten times per run, so the val loss is seen at its evaluation steps only.

Before and after: the same measurement of the app as it was at BEFORE (a git commit, checked
out into a temporary worktree), alternating with today's in rounds (before, now, now, before,
...), so a change of the machine's load hits both. The ratio now / before is the number to
watch: issue 12 allows the watch-it-learn views at most 10% on it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python bench/<name>.py): import bench.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, AppProcess, Section, client, median, shakespeare_text, standalone, train_kwargs  # noqa: E402
from bench.time_to_quality import TARGET_VAL_LOSS  # noqa: E402
from gpt.presets import preset  # noqa: E402

TARGET_SECONDS = 25.0  # the app's clock (issue 14); the goal is 20 s
GOAL_SECONDS = 20.0
# The app before its training moved to a thread of its own and before the watch-it-learn views:
# the merge of the fast decode precision, 2026-11-30.
BEFORE = "011aab3"
ROUNDS = 2
STATUS = re.compile(r"Step ([\d,]+) / [\d,]+\*\* · loss [\d.]+ · val ([\d.]+) · .*?([\d.]+) s elapsed")


def measure(cwd: Path = ROOT, env: dict | None = None, timeout_s: float = 240.0) -> dict:
    """One training of the fast preset through the app at cwd: the evaluations it reported, and
    the (step, seconds) of the first with val <= TARGET_VAL_LOSS."""
    text = shakespeare_text()
    with AppProcess(env=env, log_name="app-ttq", cwd=cwd) as app:
        c = client(app.url)
        job = c.submit(**train_kwargs(c, text, preset("fast")), api_name="/train")
        evals, seen, reached = [], 0, None
        deadline = time.perf_counter() + timeout_s
        while reached is None and time.perf_counter() < deadline and not job.done():
            outputs = job.outputs()
            for out in outputs[seen:]:
                status = out[0] if isinstance(out, (tuple, list)) else out
                match = STATUS.search(str(status))
                if match and (not evals or evals[-1][0] != int(match.group(1).replace(",", ""))):
                    step, val, elapsed = int(match.group(1).replace(",", "")), float(match.group(2)), float(match.group(3))
                    evals.append((step, val, elapsed))
                    if val <= TARGET_VAL_LOSS and reached is None:
                        reached = (step, elapsed)
            seen = len(outputs)
            time.sleep(0.1)
        c.predict(api_name="/stop_training")
        try:
            job.result(timeout=60)
        except Exception:
            pass
    return {"reached": reached, "evals": evals}


@contextmanager
def checkout(rev: str):
    """The repository at rev in a temporary git worktree (None when git or the commit is missing,
    as in a shallow clone)."""
    folder = Path(tempfile.mkdtemp(prefix="mirador-before-")) / "app"
    try:
        subprocess.run(["git", "worktree", "add", "--detach", str(folder), rev], cwd=ROOT, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        yield None
        return
    try:
        yield folder
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT, capture_output=True)


def _seconds(result: dict) -> float | None:
    return result["reached"][1] if result["reached"] else None


def run(quick: bool = False, rounds: int = ROUNDS, before: str | None = BEFORE) -> Section:
    from ui import threads

    section = Section(f"Time to quality in the app: the fast preset through /train, val loss <= {TARGET_VAL_LOSS:.2f}")
    if quick:
        section.notes.append("--quick: skipped (full trainings through the app, before and after).")
        section.json = {"app_seconds_to_val_1_90": None}
        return section
    now_runs, before_runs = [], []
    with checkout(before) if before else _nothing() as old:
        for r in range(rounds):
            order = ["before", "now"] if r % 2 == 0 else ["now", "before"]
            for which in order:
                if which == "now":
                    now_runs.append(measure())
                elif old is not None:
                    before_runs.append(measure(cwd=old))
    now_s = [s for s in map(_seconds, now_runs) if s is not None]
    before_s = [s for s in map(_seconds, before_runs) if s is not None]
    seconds = median(now_s) if len(now_s) == len(now_runs) else None
    seconds_before = median(before_s) if before_runs and len(before_s) == len(before_runs) else None
    ratio = seconds / seconds_before if seconds and seconds_before else None
    section.row(
        f"seconds of training (the app's clock) to val <= {TARGET_VAL_LOSS:.2f}, median of {len(now_runs)}",
        seconds_before, seconds, ratio,
        f"<= {TARGET_SECONDS:.0f} s (goal {GOAL_SECONDS:.0f} s); now/before <= 1.10",
        seconds is not None and seconds <= TARGET_SECONDS and (ratio is None or ratio <= 1.10), unit="s",
    )
    p = preset("fast")
    section.notes += [
        f"Reference: the app at commit {before} (before its training thread and the watch-it-learn views), "
        "alternating with today's in the same run." if before_runs else "No before/after: the commit was not available (shallow clone?).",
        f"The app's fast preset: {p.n_layer}L/{p.n_head}H/{p.n_embd}, block {p.block_size}, batch {p.batch_size}, lr {p.learning_rate:g}, "
        f"{p.max_steps} steps; char tiny Shakespeare pasted as the text; thread policy: {threads.describe_policy()}.",
        "Each run, seconds to val <= 1.90: now " + ", ".join(_fmt(x) for x in map(_seconds, now_runs))
        + ("; before " + ", ".join(_fmt(x) for x in map(_seconds, before_runs)) if before_runs else "") + ".",
        "Evaluations of the last run now (step: val loss at s): "
        + ", ".join(f"{s}: {v:.3f} at {e:.1f} s" for s, v, e in now_runs[-1]["evals"]),
    ]
    if seconds is None:
        section.notes.append(f"val <= {TARGET_VAL_LOSS} was not reported before some run ended (its time budget).")
    last = now_runs[-1]["reached"]
    section.json = {
        "app_seconds_to_val_1_90": seconds,
        "app_seconds_to_val_1_90_before": seconds_before,
        "app_ttq_now_over_before": ratio,
        "app_steps_to_val_1_90": last[0] if last else None,
    }
    return section


@contextmanager
def _nothing():
    yield None


def _fmt(x) -> str:
    return "not reached" if x is None else f"{x:.1f} s"


if __name__ == "__main__":
    standalone(run, __doc__.splitlines()[0])
