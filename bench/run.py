"""Mirador's benchmarks, side by side in one process run: writes bench/RESULTS.md and ends by
printing one JSON line with the headline numbers.

    python bench/run.py            # everything (about 15 minutes on a 2-core CPU)
    python bench/run.py --quick    # a smoke check: fewer repeats, no slow references (< 3 min)
    python bench/run.py --only generation attention

Each benchmark is a module of bench/ that also runs alone (python bench/<name>.py [--quick]).
A benchmark that fails is reported as failed (in RESULTS.md and as nulls in the JSON line)
and the others still run; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Section, fmt, load_average, machine_info  # noqa: E402

# Order: the in-process CPU benchmarks first, then those that start the app, then the GPU.
BENCHMARKS = ["time_to_quality", "train_speed", "generation", "attention", "learn_page", "surprise", "ladder", "ddp", "app_startup", "app_time_to_quality", "sharing", "load", "gpu"]
HEADLINE_KEYS = [
    "train_speedup",
    "seconds_to_val_1_90",
    "gen_speedup_small",
    "gen_speedup_large",
    "gen_speedup_long",
    "gen_speedup_large_fast",
    "fast_top1_agreement",
    "fast_mean_abs_dlogp",
    "attention_ms_128",
    "learn_page_ms",
    "app_seconds_to_val_1_90",
    "train_speedup_full",
    "ladder_seconds",
    "ladder_ordered",
    "app_ready_s",
    "app_idle_rss_mb",
    "rss_after_sessions_pct",
]
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def run_one(name: str, quick: bool) -> tuple[Section, str | None]:
    """(section, error): a failing benchmark becomes a section that says why."""
    start = time.perf_counter()
    load_before = load_average()
    try:
        module = importlib.import_module(f"bench.{name}")
        if name == "gpu":
            import torch

            if not torch.cuda.is_available():
                section = Section("GPU: lecture model to val loss <= 1.48")
                section.notes.append("Skipped: no CUDA GPU on this machine (run `python bench/gpu.py` on one).")
                section.json = {"gpu_seconds_to_val_1_48": None, "gpu_mfu": None, "gpu_training_slots": None, "gpu_skipped": "no CUDA"}
                return section, None
        section = module.run(quick=quick)
        error = None
    except Exception as exc:  # noqa: BLE001 - report it and carry on with the others
        section = Section(f"{name}: FAILED")
        section.notes.append(f"`{type(exc).__name__}: {exc}`")
        section.notes.append("```\n" + traceback.format_exc()[-3000:] + "```")
        error = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    section.seconds = time.perf_counter() - start
    section.notes.append(f"load average before / after: {load_before} / {load_average()}")
    return section, error


def write_results(path: Path, info: dict, sections: list, summary: dict, quick: bool, total_s: float) -> None:
    lines = [
        "# Mirador benchmarks",
        "",
        f"Written by `{info['command']}`{' (--quick: fewer repeats, slow references skipped; not for quoting)' if quick else ''}. "
        "Every ratio is measured in this same run, the two variants alternating in rounds (A B, B A, ...); "
        "times are medians of repeats after a warm-up. The machine may be shared, so absolute times vary from run to run; "
        "compare ratios.",
        "",
        "| machine | |",
        "|---|---|",
        f"| date | {info['date']} |",
        f"| command | `{info['command']}` |",
        f"| CPU | {info['cpu']} ({info['cores']} cores available, native bf16: {'yes' if info['cpu_bf16'] else 'no'}) |",
        f"| torch | {info['torch']}, {info['threads']} intra-op threads (its default) |",
        f"| Python | {info['python']} |",
        f"| load average at start (1, 5, 15 min) | {info['load_average']} |",
    ]
    if "gpu" in info:
        lines.append(f"| GPU | {info['gpu']} |")
    lines += [f"| total time | {total_s:.0f} s |", "", "## Targets at a glance", "", "| benchmark | measure | value | target | met |", "|---|---|---|---|---|"]
    for section in sections:
        for r in section.rows:
            if r["target"]:
                value = f"{fmt(r['ratio'])}x" if r["ratio"] is not None and "x" in r["target"] and "ours" not in r["target"] else fmt(r["ours"]) + (f" {r['unit']}" if r["unit"] and r["ours"] is not None else "")
                lines.append(f"| {section.title.split(':')[0].split(' (')[0]} | {r['measure']} | {value} | {r['target']} | {fmt(r['met'])} |")
    lines += ["", "## The JSON line", "", "```json", json.dumps(summary, indent=1), "```", ""]
    for section in sections:
        lines.append(section.markdown())
    # Sections other scripts keep in this file between <!-- name --> and <!-- /name --> markers
    # (bench/load.py's <!-- load -->) are carried over unchanged.
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    kept = [m.group(0) for m in re.finditer(r"<!-- ([\w-]+) -->.*?<!-- /\1 -->", current, re.S)]
    path.write_text("\n".join(lines) + "".join("\n" + block + "\n" for block in kept), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description="Run Mirador's benchmarks and write bench/RESULTS.md.")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and no slow references: a smoke check")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these benchmarks")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"where to write the results (default {RESULTS})")
    args = parser.parse_args()

    info = machine_info()
    start = time.perf_counter()
    sections, errors, values = [], {}, {}
    for name in args.only or BENCHMARKS:
        print(f"== {name} (load average {load_average()})", file=sys.stderr, flush=True)
        section, error = run_one(name, args.quick)
        sections.append(section)
        values.update(section.json)
        if error:
            errors[name] = error
        print(section.markdown(), file=sys.stderr, flush=True)
    total_s = time.perf_counter() - start
    summary = {key: values.get(key) for key in HEADLINE_KEYS}
    summary.update({k: v for k, v in values.items() if k not in summary})
    summary.update({"quick": args.quick, "errors": errors or None, "load_average": info["load_average"], "torch_threads": info["threads"], "seconds": round(total_s, 1)})
    write_results(args.out, info, sections, summary, args.quick, total_s)
    print(json.dumps(summary), flush=True)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
