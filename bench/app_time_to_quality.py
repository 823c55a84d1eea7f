"""Time to quality in the app: the "fast" preset through /train, as a user would run it.

    python bench/app_time_to_quality.py    (--quick skips it: it trains for about 40 s)

bench/time_to_quality.py races the recipe in this process; this starts `python app.py`
(subprocess, free port), pastes char tiny Shakespeare into /train with the app's "fast" preset
(ui/plan.py) and follows the streamed status until an evaluation reports val loss <= 1.90.
The time is the app's own "E s elapsed" at that status: the training's clock (steps and
evaluations), under the app's thread policy (ui/threads.py) with nothing else running. The
app splits the text 90/10 itself and evaluates about ten times per run, so the val loss is
seen at its evaluation steps only.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python bench/<name>.py): import bench.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import AppProcess, Section, client, shakespeare_text, standalone, train_args  # noqa: E402
from bench.time_to_quality import TARGET_SECONDS, TARGET_VAL_LOSS  # noqa: E402
from gpt.presets import preset  # noqa: E402

STATUS = re.compile(r"Step ([\d,]+) / [\d,]+\*\* · loss [\d.]+ · val ([\d.]+) · .*?([\d.]+) s elapsed")


def measure(env: dict | None = None, timeout_s: float = 240.0) -> dict:
    text = shakespeare_text()
    with AppProcess(env=env, log_name="app-ttq") as app:
        c = client(app.url)
        job = c.submit(*train_args(text, preset("fast")), api_name="/train")
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


def run(quick: bool = False) -> Section:
    from ui import threads

    section = Section(f"Time to quality in the app: the fast preset through /train, val loss <= {TARGET_VAL_LOSS:.2f}")
    if quick:
        section.notes.append("--quick: skipped (a full training through the app).")
        section.json = {"app_seconds_to_val_1_90": None}
        return section
    result = measure()
    reached = result["reached"]
    seconds = reached[1] if reached else None
    section.row(
        f"seconds of training (the app's clock) to val <= {TARGET_VAL_LOSS:.2f}", None, seconds, None,
        f"<= {TARGET_SECONDS:.0f} s", seconds is not None and seconds <= TARGET_SECONDS, unit="s",
    )
    p = preset("fast")
    section.notes += [
        f"The app's fast preset: {p.n_layer}L/{p.n_head}H/{p.n_embd}, block {p.block_size}, batch {p.batch_size}, lr {p.learning_rate:g}, "
        f"{p.max_steps} steps; char tiny Shakespeare pasted as the text; thread policy: {threads.describe_policy()}.",
        "Evaluations (step: val loss at s): " + ", ".join(f"{s}: {v:.3f} at {e:.1f} s" for s, v, e in result["evals"]),
    ]
    if reached is None:
        section.notes.append(f"val <= {TARGET_VAL_LOSS} was not reported before the run ended.")
    section.json = {"app_seconds_to_val_1_90": seconds, "app_steps_to_val_1_90": reached[0] if reached else None}
    return section


if __name__ == "__main__":
    standalone(run, __doc__.splitlines()[0])
