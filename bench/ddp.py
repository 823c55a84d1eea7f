"""Data parallelism on the CPU: training steps per second with 1 and 2 processes (gloo).

    python bench/ddp.py [--quick]

The app's fast preset (2 layers x 4 heads x 128, block 64) on char tiny Shakespeare, at one
global batch of 32 windows per step, precision auto, in three ways:
- 1 process with 2 threads, batch 32: the plain `python -m gpt.train` on this machine;
- 2 processes with 1 thread each, batch 16 each (torchrun --nproc_per_node=2, DDP over gloo):
  the same windows per step (gpt/data.py), the gradients averaged between the processes;
- 1 process with 1 thread, batch 32: what one core does alone (for scale).
Each is its own launch (the process start-up is not timed); rank 0 times every step after a
warm-up and the median is reported. The launches alternate in rounds (A B C, C B A, ...) and
the ratio of 2 processes to 1 is the median of the per-round ratios.

On a 2-core CPU little gain is expected: two threads of one process already use both cores,
and DDP adds the exchange of every gradient (~1.4 MB at this size) at each step.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script (python bench/<name>.py): import bench.* from the repo root
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

GLOBAL_BATCH = 32
WARMUP_STEPS = 5
LAUNCH_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
VARIANTS = {  # name: (processes, threads per process)
    "1 process x 2 threads": (1, 2),
    "2 processes x 1 thread": (2, 1),
    "1 process x 1 thread": (1, 1),
}


def worker(steps: int, threads: int, text: Path) -> None:
    """One rank: train the fast preset for `steps` at GLOBAL_BATCH windows; rank 0 prints the
    median step time as a JSON line. (Only gpt is imported here: bench.common brings the app's
    packages, seconds of start-up per rank.)"""
    from gpt import GPT, Trainer, make_tokenizer, split_ids
    from gpt.distributed import joined
    from gpt.presets import preset

    torch.set_num_threads(threads)
    with joined(torch.device("cpu")) as world:
        settings = preset("fast", max_steps=steps, time_budget_s=None, eval_interval=steps, eval_iters=1,
                          batch_size=GLOBAL_BATCH // world.size)
        corpus = text.read_text(encoding="utf-8")
        tokenizer = make_tokenizer("char", corpus)
        train_ids, val_ids = split_ids(tokenizer.encode(corpus), settings.block_size)
        torch.manual_seed(settings.seed)
        model = GPT(settings.model_config(tokenizer.vocab_size))
        trainer = Trainer(model, train_ids, val_ids, settings.train_config(device="cpu"), world=world)
        times, last = [], time.perf_counter()
        for event in trainer.run():
            now = time.perf_counter()
            if event.step > WARMUP_STEPS and event.val_loss is None:  # the final step evaluates: left out
                times.append(now - last)
            last = time.perf_counter()
        if world.is_main:
            print(json.dumps({"step_s": statistics.median(times), "steps_timed": len(times), "precision": trainer.precision,
                              "processes": world.size, "global_batch": trainer.global_batch}), flush=True)


def launch(processes: int, threads: int, steps: int, text: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARIABLES}
    env.update(OMP_NUM_THREADS=str(threads), PYTHONPATH=str(ROOT))
    me = [str(Path(__file__).resolve()), "--worker", "--steps", str(steps), "--threads", str(threads), "--text", str(text)]
    if processes == 1:
        command = [sys.executable, *me]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}", *me]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[-6:])} failed:\n{done.stderr[-2000:]}")
    return json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])


def run(quick: bool = False):
    from bench.common import SHAKESPEARE, Section, median, shakespeare_text

    shakespeare_text()  # a clear error here when the text is missing, rather than in every rank
    steps, rounds = (25, 1) if quick else (60, 3)
    names = list(VARIANTS)
    results = {name: [] for name in names}
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else reversed(names):
            results[name].append(launch(*VARIANTS[name], steps, SHAKESPEARE))
    step_s = {name: median([r["step_s"] for r in runs]) for name, runs in results.items()}
    two = "2 processes x 1 thread"
    singles = [name for name in names if VARIANTS[name][0] == 1]
    best = min(singles, key=lambda name: step_s[name])  # the faster single process on this machine, now

    def speedup(single: str) -> float:  # per round, the launches of one round side by side
        return median([a["step_s"] / b["step_s"] for a, b in zip(results[single], results[two])])

    tokens = GLOBAL_BATCH * 64
    section = Section("DDP on the CPU: steps/s with 1 and 2 processes (gloo), the same global batch")
    for name in names:
        section.row(f"{name}: steps/s", None, 1 / step_s[name], unit="steps/s")
    for single in singles:
        section.row(f"2 processes against {single}", 1 / step_s[single], 1 / step_s[two], speedup(single), unit="steps/s")
    section.notes += [
        f"The fast preset (2 x 4 x 128, block 64), global batch {GLOBAL_BATCH} windows ({tokens:,} tokens) per step, "
        f"precision {results[two][0]['precision']}; {steps} steps per launch, median step after {WARMUP_STEPS} warm-up "
        f"steps; {rounds} round(s) of launches alternating.",
        "Tokens/s: " + ", ".join(f"{name} {tokens / step_s[name]:,.0f}" for name in names) + ".",
        "Per-round ratios, 2 processes against each single process: " + "; ".join(
            f"{single}: " + ", ".join(f"{a['step_s'] / b['step_s']:.2f}x" for a, b in zip(results[single], results[two]))
            for single in singles
        ) + " (the spread is the machine's load, not the code: compare the medians too).",
        f"The headline speedup is against the faster single process here ({best}). Two cores hold two threads of "
        "one process as well as two processes: DDP can gain little on them and pays the gradient exchange at "
        "every step. On a shared machine two threads of one process can fall far behind one (they wait for each "
        "other whenever another program takes a core), which flatters DDP against torch's default threads.",
    ]
    section.json = {
        "ddp_cpu_steps_s_1_process": 1 / step_s[best],
        "ddp_cpu_steps_s_2_processes": 1 / step_s[two],
        "ddp_cpu_speedup_2_processes": speedup(best),
    }
    return section


def main() -> None:
    if "--worker" not in sys.argv:
        from bench.common import standalone

        standalone(run, __doc__.splitlines()[0])
        return
    parser = argparse.ArgumentParser(description="one rank of bench/ddp.py (started by it)")
    parser.add_argument("--worker", action="store_true", help="be one rank (default: off)")
    parser.add_argument("--steps", type=int, default=60, help="steps to train (default: 60)")
    parser.add_argument("--threads", type=int, default=1, help="threads of this process (default: 1)")
    parser.add_argument("--text", type=Path, required=True, help="the corpus (required)")
    args = parser.parse_args()
    worker(args.steps, args.threads, args.text)


if __name__ == "__main__":
    main()
