"""The lecture's ladder on tiny Shakespeare with its default budget: the time it takes, and whether
its validation losses fall stage by stage as the lecture's do.

    python bench/ladder.py              # 15 s per stage; writes the <!-- ladder --> section of bench/RESULTS.md
    python bench/ladder.py --quick      # 3 s per stage, a smoke check (nothing written)

gpt.ladder trains its seven stages (bigram, one head, multi-head, + feed-forward, + residual,
+ LayerNorm, scaled up) on char tiny Shakespeare, the same time each, on the CPU. Targets (issue 12):
- the whole ladder, tokenizing included, within 2.5 minutes on this 2-core CPU;
- each stage's validation loss no worse than the stage before's, within TOLERANCE.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python bench/<name>.py): import bench.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Section, load_average, machine_info, shakespeare_text  # noqa: E402
from bench.load import RESULTS, write_section  # noqa: E402
from gpt.ladder import DEFAULT_SECONDS, Ladder, StageResult, format_loss, markdown  # noqa: E402

START, END = "<!-- ladder -->", "<!-- /ladder -->"
TARGET_SECONDS = 150.0  # the whole ladder at the default budget
# Noise allowed between two stages' validation losses (nats). Each loss is an estimate from 16,384
# held-out tokens, and each stage's step count follows the machine's load: 15 s runs of the
# LayerNorm stage ended between 2.12 and 2.16 at similar loads (1,392 to 4,720 steps).
TOLERANCE = 0.05
QUICK_SECONDS = 3.0


def ordering(results: list[StageResult]) -> list[tuple[str, float]]:
    """(stage, how much worse than the stage before) for every stage worse than TOLERANCE allows."""
    worse = []
    for before, after in zip(results, results[1:]):
        if before.val_loss is None or after.val_loss is None:
            worse.append((after.stage.name, float("nan")))
        elif after.val_loss > before.val_loss + TOLERANCE:
            worse.append((after.stage.name, after.val_loss - before.val_loss))
    return worse


def measure(seconds_per_stage: float) -> dict:
    load_before = load_average()
    start = time.perf_counter()
    ladder = Ladder(shakespeare_text(), seconds_per_stage, "char", device="cpu")
    results = [item for item in ladder.run() if isinstance(item, StageResult)]
    total = time.perf_counter() - start
    return dict(results=results, seconds=total, load_before=load_before, load_after=load_average())


def section_text(r: dict, info: dict, seconds_per_stage: float, argv: str) -> str:
    """The <!-- ladder --> block of RESULTS.md: the machine, the table, the two checks."""
    results, worse = r["results"], ordering(r["results"])
    table = markdown(results, seconds_per_stage, "char", "cpu", "tiny Shakespeare").split("\n", 2)[2]  # no title
    fell = " → ".join(format_loss(x.val_loss) for x in results)
    verdict = "**met**" if not worse else "**not met**: " + ", ".join(f"{name} {d:+.3f}" for name, d in worse)
    return f"""{START}
## The lecture's ladder (bench/ladder.py)

`{argv}` on {info['date']}: {info['cpu']} ({info['cores']} cores, native bf16: {'yes' if info['cpu_bf16'] else 'no'}), torch {info['torch']};
load average (1, 5, 15 min) {r['load_before']} before and {r['load_after']} after (other work shares this machine: step counts follow it).

{table}
- **Whole ladder: {r['seconds']:.0f} s** (tokenizing, each stage's step-time probe and evaluations included); target
  under {TARGET_SECONDS:.0f} s: **{'met' if r['seconds'] < TARGET_SECONDS else 'not met'}**.
- **Ordering:** {fell}; each stage no worse than the one before within {TOLERANCE} nats: {verdict}.
{END}"""


def run(quick: bool = False) -> Section:
    """For bench/run.py: the default ladder (quick: 3 s per stage, not written to RESULTS.md)."""
    seconds_per_stage = QUICK_SECONDS if quick else DEFAULT_SECONDS
    r = measure(seconds_per_stage)
    results, worse = r["results"], ordering(r["results"])
    if not quick:
        write_section(section_text(r, machine_info("python bench/ladder.py"), seconds_per_stage, "python bench/ladder.py"),
                      RESULTS, START, END)
    out = Section(
        f"The lecture's ladder: 7 stages on char tiny Shakespeare, {seconds_per_stage:g} s each (details in its section below)"
    )
    target = TARGET_SECONDS if not quick else None
    out.row("seconds for the whole ladder", None, r["seconds"], None, f"< {TARGET_SECONDS:.0f}" if target else None,
            r["seconds"] < TARGET_SECONDS if target else None, unit="s")
    out.row(f"stages no worse than the one before (tolerance {TOLERANCE} nats)", None, len(results) - 1 - len(worse), None,
            f"{len(results) - 1} of {len(results) - 1}", not worse)
    out.notes.append("Validation losses: " + ", ".join(f"{x.stage.name} {format_loss(x.val_loss)} ({x.steps:,} steps)" for x in results))
    out.json = {
        "ladder_seconds": round(r["seconds"], 1),
        "ladder_ordered": not worse,
        "ladder_val_losses": [None if x.val_loss is None else round(x.val_loss, 3) for x in results],
    }
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SECONDS:g} s per stage, nothing written")
    parser.add_argument("--no-results", action="store_true", help="do not write the section of bench/RESULTS.md")
    args = parser.parse_args(argv)
    seconds_per_stage = QUICK_SECONDS if args.quick else DEFAULT_SECONDS
    r = measure(seconds_per_stage)
    if not (args.quick or args.no_results):
        write_section(section_text(r, machine_info(), seconds_per_stage, "python bench/ladder.py"), RESULTS, START, END)
    worse = ordering(r["results"])
    print(f"{r['seconds']:.0f} s; losses " + " → ".join(format_loss(x.val_loss) for x in r["results"])
          + ("; ordered" if not worse else f"; worse than allowed: {worse}"))
    return 0 if not worse and (args.quick or r["seconds"] < TARGET_SECONDS) else 1


if __name__ == "__main__":
    sys.exit(main())
