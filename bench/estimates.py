"""The Train tab's time estimate against the clock: each preset and tokenizer, estimated, then run
through the app.

    python bench/estimates.py            # 7 runs, then 3 through the page; about 10 minutes on a 2-core CPU; writes its RESULTS.md section
    python bench/estimates.py --quick    # tiny char, tiny bpe and fast char, then the page (about 4 minutes); writes nothing

For each case, on tiny Shakespeare (capped at the app's text limit, ui/limits.py):
- the estimate: what the Train tab shows for these settings and this text (ui/run_estimate.py),
  computed by a child process with the app's environment (its thread policy, MIRADOR_TRAIN_THREADS
  included), each shape timed as the app times it when the form first shows it (ui/calibration.py);
- the clock: a fresh `python app.py` (subprocess, free port), the text and settings sent to /train
  with gradio_client, from the call to its last streamed update (start-up, steps, evaluations,
  samples, figures, saving the model, Gradio's streaming: what the user waits for; the app has not
  shown this shape's plan, so its prepare times the steps too). One run at a time, the app otherwise idle.
Then the same as a person does it, for BROWSER_CASES: headless Chromium on this machine opens the
page, chooses the preset and tokenizer, reads the estimate the Train tab shows, presses Train and
waits for the status to say it is done (the page's clock, from the click). A browser on the app's
machine draws every update and takes CPU from the run; the app leaves it a core (ui/threads.py),
and the estimate it shows there is timed so.
Target: measured / estimated within 0.7-1.3 (±30%) in every case, and when the estimate says the time
budget ends the run, the run ends on it (and the other way round), unless the estimate says the run is
close to its budget and either may come first (within ui/run_estimate.ESTIMATE_TOLERANCE of it).

small's 1,000 steps and medium's 5,000 would take their whole 300 s budgets: small runs 300 steps
(a full run), and small bpe and medium char a 60 s budget (the budget's path), to keep the bench short.
medium bpe is over the app's parameter cap and is not run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python bench/<name>.py): import bench.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, AppProcess, Section, client, cpu_model, load_average, shakespeare_text, train_args  # noqa: E402
from gpt.presets import preset  # noqa: E402
from ui.run_estimate import ESTIMATE_TOLERANCE as TOLERANCE  # noqa: E402  (±30%: the estimate's promise)

START, END = "<!-- estimates -->", "<!-- /estimates -->"
# (preset, tokenizer, changes to the preset, why)
CASES = [
    ("tiny", "char", {}, ""),
    ("tiny", "bpe", {}, ""),
    ("fast", "char", {}, ""),
    ("fast", "bpe", {}, ""),
    ("small", "char", {"max_steps": 300}, "300 of its 1,000 steps"),
    ("small", "bpe", {"time_budget_s": 60.0}, "a 60 s budget instead of 300 s"),
    ("medium", "char", {"time_budget_s": 60.0}, "a 60 s budget instead of 300 s"),
]
QUICK = 3  # the first three cases
BROWSER_CASES = [("tiny", "char"), ("tiny", "bpe"), ("fast", "char")]  # the presets' labels and the tokenizers, as on the page
CHROMIUM = "/usr/bin/chromium"
SHOWN_DONE = re.compile(r"(Done|Time budget reached|Stopped) at step ([\d,]+) in ([\d.]+) s")
PLAN_TOTAL = re.compile(r"≈ \*{0,2}([\d.]+) (ms|s|min)\b")
DONE = re.compile(r"\*\*(.+?) at step ([\d,]+)\*\* in ([\d.]+) s")


def case_name(name: str, tokenizer: str, changes: dict) -> str:
    return f"{name} {tokenizer}" + "".join(f", {k}={v:g}" for k, v in changes.items())


def settings_of(name: str, tokenizer: str, changes: dict):
    return preset(name, tokenizer=tokenizer, **changes)


def training_text() -> str:
    from ui import limits

    return shakespeare_text()[: limits.MAX_TEXT_CHARS]


# --- the estimates, in a process like the app's ----------------------------------------------


def estimate_cases(cases: list) -> list[dict]:
    """Run in the child: one StepTimer for all cases, as in the app."""
    from ui.calibration import StepTimer
    from ui.plan import text_info
    from ui.run_estimate import estimate_run

    text = training_text()
    info = text_info(text)
    timer = StepTimer()
    out = []
    for name, tokenizer, changes, _ in cases:
        start = time.perf_counter()
        e = estimate_run(timer, settings_of(name, tokenizer, changes), info.vocab(tokenizer), timer.threads(), info.tokenize_s(tokenizer))
        out.append(
            {
                "total_s": e.total_s,
                "steps": e.steps,
                "max_steps": e.max_steps,
                "budget_ends_run": e.budget_ends_run,
                "budget_is_close": e.budget_is_close,
                "step_s": e.step_s,
                "steps_s": e.steps_s,
                "evaluations": e.evaluations,
                "evaluations_s": e.evaluations_s,
                "other_s": e.other_s,
                "eval_iters": e.eval_iters,
                "threads": e.threads,
                "precision": e.precision,
                "timing_s": time.perf_counter() - start,  # the shape timed, as on the form's first change to it
            }
        )
    return out


def estimates_in_app_environment(cases: list, env: dict) -> list[dict]:
    spec = json.dumps([[n, t, c, w] for n, t, c, w in cases])
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--estimate-json", spec],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the runs, through the app --------------------------------------------------------------


def run_in_app(app: AppProcess, text: str, settings) -> dict:
    c = client(app.url)
    load = load_average()
    start = time.perf_counter()
    job = c.submit(*train_args(text, settings), api_name="/train")
    final = job.result(timeout=900)
    seconds = time.perf_counter() - start
    status = str(final[0] if isinstance(final, (tuple, list)) else final)
    match = DONE.search(status)
    if match is None:
        raise RuntimeError(f"The run did not end as expected: {status[:300]}")
    return {
        "measured_s": seconds,
        "how": match.group(1),
        "steps": int(match.group(2).replace(",", "")),
        "app_clock_s": float(match.group(3)),
        "load_before": load,
    }


def measure(cases: list) -> list[dict]:
    env = {**os.environ}
    estimates = estimates_in_app_environment(cases, env)
    text = training_text()
    results = []
    with AppProcess(env=env, log_name="estimates") as app:
        app.wait_quiet()  # its start-up work done: a run started meanwhile would share the cores with it
        for (name, tokenizer, changes, why), estimate in zip(cases, estimates):
            print(
                f"  {case_name(name, tokenizer, changes)}: estimate {estimate['total_s']:.1f} s ...",
                file=sys.stderr,
                flush=True,
            )
            run = run_in_app(app, text, settings_of(name, tokenizer, changes))
            ratio = run["measured_s"] / estimate["total_s"]
            results.append(
                {
                    "case": case_name(name, tokenizer, changes),
                    "why": why,
                    "estimate": estimate,
                    "run": run,
                    "ratio": ratio,
                    **verdict(ratio, run["how"], estimate["budget_ends_run"], estimate["budget_is_close"]),
                }
            )
            print(
                f"    measured {run['measured_s']:.1f} s ({run['how']} at step {run['steps']}): x{ratio:.2f}",
                file=sys.stderr,
                flush=True,
            )
    return results


def verdict(ratio: float, how: str, budget_ends_run: bool, budget_is_close: bool) -> dict:
    """Whether a run met the target: within the tolerance, and ended by the time budget exactly when
    the estimate said so, unless it said the run was close to its budget (either may come first)."""
    budget_agrees = budget_is_close or budget_ends_run == (how == "Time budget reached")
    return {"budget_agrees": budget_agrees, "met": abs(ratio - 1) <= TOLERANCE and budget_agrees}


def ended_by(how: str, r: dict, budget_is_close: bool) -> str:
    """How a run ended, and what the estimate had said of it when that differs."""
    if budget_is_close:
        return how + " (estimate: close to the budget, either)"
    return how + ("" if r["budget_agrees"] else " (estimate disagrees)")


# --- the runs, through the page --------------------------------------------------------------


def seconds_shown(plan: str) -> float:
    """The run's total from the Train tab's plan ("≈ 4.4 s", "≈ 850 ms", "≈ 1.2 min")."""
    match = PLAN_TOTAL.search(plan)
    if match is None:
        raise RuntimeError(f"No estimate in the plan: {plan[:300]}")
    return float(match.group(1)) * {"ms": 1e-3, "s": 1.0, "min": 60.0}[match.group(2)]


def run_in_browser(url: str, preset_label: str, tokenizer: str) -> dict:
    """One run through the page in headless Chromium: the estimate it shows, then the run's time."""
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(url)
        page.locator("#generate-button").wait_for(timeout=60_000)
        page.get_by_role("tab", name="Train").click()
        page.get_by_role("button", name="Use Shakespeare (1 MB)").click()
        page.wait_for_timeout(2_000)  # the text's statistics
        page.get_by_label(preset_label, exact=True).check()
        page.get_by_label(tokenizer, exact=True).check()
        page.wait_for_timeout(3_000)  # the plan follows the form's last change
        plan = page.locator(".prose.plan").inner_text()
        load = load_average()
        start = time.perf_counter()
        page.locator("#train-button").click()
        page.wait_for_function(
            "() => /(Done|Time budget reached|Stopped) at step/.test(document.querySelector('#train-status').innerText)",
            timeout=900_000,
        )
        seconds = time.perf_counter() - start
        status = page.locator("#train-status").inner_text()
        browser.close()
    match = SHOWN_DONE.search(status)  # as the page renders it: no Markdown
    return {
        "case": f"{preset_label} {tokenizer}, through the page",
        "estimate_s": seconds_shown(plan),
        "budget_ends_run": "(time budget;" in plan,
        "budget_is_close": " may " in plan,
        "threads": re.search(r"\((\d+) training thread", plan).group(1) if "training thread" in plan else "?",
        "measured_s": seconds,
        "how": match.group(1) if match else status[:60],
        "load_before": load,
    }


def measure_in_browser() -> list[dict]:
    out = []
    with AppProcess(log_name="estimates-browser") as app:
        app.wait_quiet()
        for preset_label, tokenizer in BROWSER_CASES:
            print(f"  {preset_label} {tokenizer}, through the page ...", file=sys.stderr, flush=True)
            r = run_in_browser(app.url, preset_label, tokenizer)
            r["ratio"] = r["measured_s"] / r["estimate_s"]
            r.update(verdict(r["ratio"], r["how"], r["budget_ends_run"], r["budget_is_close"]))
            print(f"    shown {r['estimate_s']:.1f} s, measured {r['measured_s']:.1f} s: x{r['ratio']:.2f}", file=sys.stderr, flush=True)
            out.append(r)
    return out


# --- the report -------------------------------------------------------------------------------


def table(results: list[dict]) -> str:
    rows = [
        "| case | estimate | of which steps / evaluations / other | measured | measured / estimate | steps: estimated / run | ended by | load before |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        e, m = r["estimate"], r["run"]
        ended = ended_by(m["how"], r, e["budget_is_close"])
        rows.append(
            f"| {r['case']} | {e['total_s']:.1f} s | {e['steps_s']:.1f} / {e['evaluations_s']:.1f} ({e['evaluations']} x {e['eval_iters']} batches x 2) / {e['other_s']:.1f} s "
            f"| {m['measured_s']:.1f} s | **{r['ratio']:.2f}** {'✓' if r['met'] else '✗'} | {e['steps']:,} / {m['steps']:,} of {e['max_steps']:,} | {ended} | {m['load_before']} |"
        )
    return "\n".join(rows)


def browser_table(results: list[dict]) -> str:
    rows = [
        "| case | shown on the page | measured (click to done) | measured / shown | training threads | ended by | load before |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ended = ended_by(r["how"], r, r["budget_is_close"])
        rows.append(
            f"| {r['case']} | {r['estimate_s']:.1f} s | {r['measured_s']:.1f} s | **{r['ratio']:.2f}** {'✓' if r['met'] else '✗'} | {r['threads']} | {ended} | {r['load_before']} |"
        )
    return "\n".join(rows)


def threads_note(results: list[dict]) -> str:
    e = results[0]["estimate"]
    fixed = os.environ.get("MIRADOR_TRAIN_THREADS")
    policy = f"MIRADOR_TRAIN_THREADS={fixed}" if fixed else "the app's default thread policy (ui/threads.py)"
    return f"{e['threads']} training thread(s) ({policy})"


def timing_note(results: list[dict]) -> str:
    return ", ".join(f"{r['case']} {r['estimate']['timing_s']:.1f} s" for r in results)


def section_text(results: list[dict], argv: str, seconds: float, in_browser: list[dict]) -> str:
    met = sum(r["met"] for r in results)
    browser_met = sum(r["met"] for r in in_browser)
    return f"""{START}
## Time estimates against the clock (bench/estimates.py)

`{argv}` on {time.strftime("%Y-%m-%d")} — {cpu_model()}, {threads_note(results)}; load average at the end {load_average()}
(the machine is shared with other work). Estimate: the Train tab's (ui/run_estimate.py), by a process with the app's
environment, each shape timed as the form times it when it first shows it. Measured: a fresh `python app.py`, /train via
gradio_client, from the call to its last update. Tiny Shakespeare. Target: measured / estimate in [{1 - TOLERANCE:.1f}, {1 + TOLERANCE:.1f}],
and the time budget ends the run exactly when the estimate says so (or the estimate says the run is close to its budget,
either may come first). **{met} of {len(results)} met.**

{table(results)}

Through the page, as a person does it: headless Chromium on this machine, the estimate read from the Train tab,
measured from the click on Train to the status saying it is done. **{browser_met} of {len(in_browser)} met.**

{browser_table(in_browser)}

- Where the time budget ends a run, the total is the budget's; the estimated steps show the step model there.
- Timing each shape for its estimate (steps, an evaluation, the page's report, the finish): {timing_note(results)}.
- Cases changed from their preset to keep the bench short: {"; ".join(f"{r['case']}: {r['why']}" for r in results if r["why"]) or "none"}.
  medium bpe (15.3M parameters) is over the app's cap and cannot run.
- (this section took {seconds:.0f} s)
{END}"""


def write_section(text: str) -> None:
    from bench.load import write_section as write_marked

    write_marked(text, ROOT / "bench" / "RESULTS.md", START, END)


def run(quick: bool = False) -> Section:
    start = time.perf_counter()
    cases = CASES[:QUICK] if quick else CASES
    results = measure(cases)
    in_browser = measure_in_browser() if Path(CHROMIUM).exists() else []
    seconds = time.perf_counter() - start
    if not quick:
        write_section(section_text(results, "python bench/estimates.py", seconds, in_browser))
    out = Section(
        f"Time estimates against the clock: {len(results)} runs through the app{' (--quick)' if quick else ''}"
    )
    for r in results:
        out.row(
            f"{r['case']}: measured / estimated seconds",
            r["estimate"]["total_s"],
            r["run"]["measured_s"],
            r["ratio"],
            "0.7-1.3x",
            r["met"],
            unit="s",
        )
    for r in in_browser:
        out.row(f"{r['case']}: measured / shown seconds", r["estimate_s"], r["measured_s"], r["ratio"], "0.7-1.3x", r["met"], unit="s")
    if not in_browser:
        out.notes.append(f"No Chromium at {CHROMIUM}: the runs through the page were not made.")
    out.notes.append(threads_note(results) + f"; load average at the end {load_average()}.")
    if not quick:
        out.notes.append("Details in the estimates section below.")
    out.json = {
        "estimate_ratio_worst": max((abs(r["ratio"] - 1), r["ratio"]) for r in results)[1],
        "estimates_met": sum(r["met"] for r in results),
        "estimates_cases": len(results),
        "estimates_browser_met": sum(r["met"] for r in in_browser),
        "estimates_browser_cases": len(in_browser),
        "estimate_ratio_worst_browser": max(((abs(r["ratio"] - 1), r["ratio"]) for r in in_browser), default=(0, None))[1],
    }
    return out


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--estimate-json":
        print(json.dumps(estimate_cases([tuple(c) for c in json.loads(sys.argv[2])])))
        return
    import argparse

    from bench.common import print_section

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three short cases; RESULTS.md is left as it is")
    args = parser.parse_args()
    print(f"load average at the start: {load_average()}", file=sys.stderr)
    start = time.perf_counter()
    section = run(quick=args.quick)
    section.seconds = time.perf_counter() - start
    print_section(section)


if __name__ == "__main__":
    main()
