"""GPU: the lecture's full model on CUDA, wall time to val loss <= 1.48, and its MFU.

    python bench/gpu.py [--quick] [--lr 1e-3] [--max-steps 5000] [--eval-interval 250] [--peak-tflops 989]

Trains 6 layers x 6 heads x 384 wide, block 256, batch 64, dropout 0.2 on char tiny
Shakespeare (split 90/10) with gpt.Trainer on CUDA (precision "auto": bf16 autocast),
evaluating every eval_interval steps on a fixed set of validation batches, and stops at the
first evaluation with val loss <= 1.48. Reports:
- seconds: the Trainer's wall time from its first step to that evaluation (CUDA start-up
  of the first steps and every evaluation included);
- MFU: model FLOPs per token (6 N + 12 n_layer n_embd block_size, N = parameters) times the
  steady training tokens/s (median step time, evaluation steps and the first 10 steps left
  out), over the GPU's dense bf16 peak, detected from its name (H100 SXM / H200 989
  TFLOP/s, H100 PCIe 756, A100 312, ...; --peak-tflops overrides).
When several GPUs are visible it then trains the same recipe on all of them at once: this
file relaunched under torchrun, one process per GPU (DDP over nccl, gpt/distributed.py), the
same global batch of 64 windows shared out, and reports the same numbers (MFU per GPU) and
the tokens/s against one GPU's.
Without CUDA it says so and exits (status 0): there is nothing to measure.

    python bench/gpu.py --slots-only [--slot-seconds 8]

The slot probe (also part of every full run): how many small trainings (the app's fast preset,
char tiny Shakespeare) run at once on this GPU before each one slows by more than 1.5x. Like the
app, the trainings run in threads of one process (sharing its GIL and the GPU's streams); 1, 2,
4, ... of them side by side for a few seconds each, until one count is past the limit. Each
training's steps/s is the median over its steps after a warm-up; the slowdown is the lone
training's over the median training's at that count. The count to serve is the largest within
1.5x: put it in MIRADOR_TRAINING_SLOTS (the app's default on CUDA is 1 until then; ui/threads.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python bench/<name>.py): import bench.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from bench.common import Section, char_data, median  # noqa: E402
from gpt import GPT, GPTConfig, TrainConfig, Trainer  # noqa: E402
from gpt.train import add_settings_flags, given_flags  # noqa: E402

TARGET_VAL_LOSS = 1.48
TARGET_SECONDS = 60.0
MODEL = dict(n_layer=6, n_head=6, n_embd=384, block_size=256, dropout=0.2)
TRAIN = dict(batch_size=64, learning_rate=1e-3, warmup_steps=100, min_lr=1e-4, max_steps=5000, eval_interval=250, eval_iters=20, weight_decay=0.1, grad_clip=1.0)
TUNABLE = ("learning_rate", "max_steps", "warmup_steps", "eval_interval", "eval_iters")  # the command line may change these

# Dense bf16 tensor-core peaks, TFLOP/s (no sparsity), matched against the device name in order.
PEAKS = [
    ("h100 pcie", 756.0),
    ("h100 nvl", 835.0),
    ("gh200", 989.0),
    ("h200", 989.0),
    ("h100", 989.0),  # SXM (HBM3)
    ("h800", 989.0),
    ("b200", 2250.0),
    ("a100", 312.0),
    ("a800", 312.0),
    ("l40s", 362.0),
    ("l40", 181.0),
    ("a10g", 125.0),
    ("a10", 125.0),
    ("l4", 121.0),
    ("4090", 165.0),
    ("3090", 71.0),
]


def peak_tflops(name: str):
    lower = name.lower()
    for key, peak in PEAKS:
        if key in lower:
            return peak
    return None


def flops_per_token(config: GPTConfig, params: int) -> float:
    return 6.0 * params + 12.0 * config.n_layer * config.n_embd * config.block_size


NO_CUDA = "bench/gpu.py needs a CUDA GPU and none is available here (torch.cuda.is_available() is False): nothing to measure."
LAUNCH_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def measure(quick: bool, overrides: dict | None, peak: float | None, cap_s: float | None, device: str, world=None) -> dict:
    """Train to the target on this process's device (one rank of `world`, default alone): the
    numbers, ready for JSON. The global batch is TRAIN's on any number of GPUs (each rank takes
    its share, gpt/data.py), so the steps to the target compare; only their time changes."""
    from gpt.distributed import World

    world = world or World()
    train = {**TRAIN, **(overrides or {})}
    if train["batch_size"] % world.size:
        raise ValueError(f"batch_size {train['batch_size']} does not split over {world.size} GPUs")
    train["batch_size"] //= world.size
    cap_s = cap_s or (120.0 if quick else 600.0)
    tokenizer, train_ids, val_ids = char_data(MODEL["block_size"])
    torch.manual_seed(1337)
    config = GPTConfig(vocab_size=tokenizer.vocab_size, **MODEL)
    model = GPT(config)
    params = model.num_parameters()
    trainer = Trainer(model, train_ids, val_ids, TrainConfig(device=device, precision="auto", seed=1337, time_budget_s=cap_s, **train), world=world)
    name = torch.cuda.get_device_name(0) if device == "cuda" else f"dry run on {device}"
    peak_source = "as given" if peak else "from the device name"
    peak = peak or peak_tflops(name)
    evals, step_times, reached = [], [], None
    last = time.perf_counter()
    events = trainer.run()
    try:
        for event in events:
            now = time.perf_counter()
            if event.val_loss is not None:
                evals.append((event.step, event.val_loss, event.elapsed_s))
            if event.step % train["eval_interval"] == 0 or event.done:  # evaluated, by rank 0 (the others waited)
                # Every rank leaves the loop at the same step: rank 0 alone knows the val loss.
                if world.any(event.val_loss is not None and event.val_loss <= TARGET_VAL_LOSS):
                    reached = (event.elapsed_s, event.step)
                    break
            elif event.step > 10:
                step_times.append(now - last)  # Trainer syncs on loss.item() every step
            last = time.perf_counter()
    finally:
        events.close()
    global_batch = trainer.global_batch
    tokens_s = global_batch * MODEL["block_size"] / median(step_times) if step_times else None
    achieved = flops_per_token(config, params) * tokens_s / 1e12 if tokens_s else None
    mfu = achieved / (peak * world.size) if achieved and peak else None
    return {
        "name": name, "gpus": world.size, "params": params, "train": {**train, "global_batch": global_batch},
        "precision": trainer.precision, "peak": peak, "peak_source": peak_source, "cap_s": cap_s,
        "evals": evals, "reached": reached, "tokens_s": tokens_s, "achieved": achieved, "mfu": mfu,
        "flops_per_token": flops_per_token(config, params),
    }


def ddp_measure(gpus: int, quick: bool, overrides: dict | None, peak: float | None, cap_s: float | None) -> dict:
    """measure() on `gpus` GPUs at once: this file relaunched under torchrun (one process per
    GPU, nccl); rank 0's numbers."""
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARIABLES}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    args = ["--rank-worker", "--overrides", json.dumps(overrides or {})]
    args += ["--quick"] if quick else []
    args += ["--peak-tflops", str(peak)] if peak else []
    args += ["--cap-s", str(cap_s)] if cap_s else []
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={gpus}", str(Path(__file__).resolve()), *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"the {gpus}-GPU run failed:\n{done.stderr[-3000:]}")
    return json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])


def _rows(section: Section, m: dict, label: str) -> None:
    seconds = m["reached"][0] if m["reached"] else None
    target = f"<= {TARGET_SECONDS:.0f} s (one H100)" if m["gpus"] == 1 else None
    section.row(f"{label}: seconds to val <= {TARGET_VAL_LOSS} (evaluations included)", None, seconds, None, target,
                (seconds is not None and seconds <= TARGET_SECONDS) if m["gpus"] == 1 else None, unit="s")
    section.row(f"{label}: steps to reach it", None, m["reached"][1] if m["reached"] else None)
    section.row(f"{label}: training tokens/s (median step)", None, m["tokens_s"], unit="tok/s")
    section.row(f"{label}: model FLOPs utilisation (MFU, per GPU)", None, m["mfu"])
    achieved = f"{m['achieved']:.1f}" if m["achieved"] else None
    peak = f"{m['peak']:.0f}" if m["peak"] else None
    peak_from = m["peak_source"] if m["peak"] else "unknown for this device: pass --peak-tflops"
    section.notes += [
        f"{label}: {m['params'] / 1e6:.2f}M parameters; {MODEL}; {m['train']}; precision {m['precision']}.",
        f"{label}: FLOPs per token 6N + 12 L C T = {m['flops_per_token'] / 1e6:.1f} MFLOP; achieved {achieved} TFLOP/s; "
        f"peak {peak} TFLOP/s dense bf16 per GPU ({peak_from}).",
        f"{label}: val loss by step (seconds): " + ", ".join(f"{s}: {v:.3f} ({t:.1f} s)" for s, v, t in m["evals"]),
    ]
    if m["reached"] is None:
        section.notes.append(f"{label}: val loss {TARGET_VAL_LOSS} was not reached within {m['cap_s']:.0f} s or {m['train']['max_steps']} steps.")


def run(quick: bool = False, overrides: dict | None = None, peak: float | None = None, cap_s: float | None = None, device: str = "cuda") -> Section:
    """One GPU; and, when several are visible, all of them at once (DDP, the same global batch).
    device is for a dry run of this code on a CPU only (the numbers then mean nothing)."""
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(NO_CUDA)
    one = measure(quick, overrides, peak, cap_s, device)
    section = Section(f"GPU: lecture model to val loss <= {TARGET_VAL_LOSS} on {one['name']}")
    _rows(section, one, "1 GPU")
    seconds = one["reached"][0] if one["reached"] else None
    section.json = {"gpu_name": one["name"], "gpu_seconds_to_val_1_48": seconds, "gpu_steps_to_val_1_48": one["reached"][1] if one["reached"] else None,
                    "gpu_tokens_s": one["tokens_s"], "gpu_mfu": one["mfu"]}
    gpus = torch.cuda.device_count() if device == "cuda" else 0
    if gpus > 1:
        many = ddp_measure(gpus, quick, overrides, peak, cap_s)
        _rows(section, many, f"{gpus} GPUs (DDP)")
        speedup = many["tokens_s"] / one["tokens_s"] if many["tokens_s"] and one["tokens_s"] else None
        section.row(f"{gpus} GPUs against 1: training tokens/s", one["tokens_s"], many["tokens_s"], speedup, unit="tok/s")
        section.json.update({"gpu_ddp_gpus": gpus, "gpu_ddp_seconds_to_val_1_48": many["reached"][0] if many["reached"] else None,
                             "gpu_ddp_tokens_s": many["tokens_s"], "gpu_ddp_speedup": speedup})
    slots = slot_section(slot_probe(4.0 if quick else 8.0, device=device))  # and how many small trainings it holds at once
    section.rows += slots.rows
    section.notes += slots.notes
    section.json.update(slots.json)
    return section


SLOT_SLOWDOWN_LIMIT = 1.5


def _steps_per_s(trainer: Trainer, seconds: float, warmup_steps: int, out: list, start: threading.Barrier) -> None:
    events = trainer.run()
    try:
        for _ in range(warmup_steps):
            next(events)
        start.wait()
        count, begin = 0, time.perf_counter()
        while time.perf_counter() - begin < seconds:
            next(events)  # the Trainer reads the loss every step, so a step is done when it yields
            count += 1
        out.append(count / (time.perf_counter() - begin))
    finally:
        events.close()


def slot_probe(seconds: float = 8.0, max_trainings: int = 64, device: str = "cuda") -> dict:
    """Trainings of the fast preset side by side (1, 2, 4, ...): steps/s of each and its slowdown
    against one alone, up to the first count past SLOT_SLOWDOWN_LIMIT. device="cpu" only dry-runs the code."""
    from dataclasses import replace

    from gpt.presets import preset

    settings = preset("fast")
    tokenizer, train_ids, val_ids = char_data(settings.block_size)
    config = replace(settings.train_config(device=device), max_steps=10**9, time_budget_s=None, eval_interval=10**9)

    def trainer(seed: int) -> Trainer:
        torch.manual_seed(seed)
        return Trainer(GPT(settings.model_config(tokenizer.vocab_size)), train_ids, val_ids, config)

    counts, alone, slots = {}, None, 1
    n = 1
    while n <= max_trainings:
        rates: list = []
        start = threading.Barrier(n)
        workers = [threading.Thread(target=_steps_per_s, args=(trainer(i), seconds, 10, rates, start)) for i in range(n)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        each = median(rates)
        alone = alone or each
        slowdown = alone / each
        counts[n] = {"steps_s_each": round(each, 1), "steps_s_all": round(sum(rates), 1), "slowdown": round(slowdown, 2)}
        if slowdown > SLOT_SLOWDOWN_LIMIT:
            break
        slots = n
        n *= 2
    return {"slots": slots, "by_count": counts, "device": device, "preset": "fast", "seconds": seconds}


def slot_section(probe: dict) -> Section:
    name = torch.cuda.get_device_name(0) if probe["device"] == "cuda" else f"dry run on {probe['device']}"
    section = Section(f"GPU: training slots on {name}")
    for n, r in probe["by_count"].items():
        section.row(
            f"{n} fast-preset training(s) at once: steps/s each (all)", None, r["steps_s_each"], r["slowdown"],
            f"slowdown <= {SLOT_SLOWDOWN_LIMIT}x", r["slowdown"] <= SLOT_SLOWDOWN_LIMIT, unit=f"steps/s ({r['steps_s_all']} in all)",
        )
    section.notes += [
        f"MIRADOR_TRAINING_SLOTS={probe['slots']} for this GPU: the most trainings at once, among the counts tried, with each within "
        f"{SLOT_SLOWDOWN_LIMIT}x of one alone (ratio column: slowdown). Threads of one process, as in the app; {probe['seconds']:g} s per count after 10 warm-up steps.",
    ]
    section.json = {"gpu_training_slots": probe["slots"], "gpu_slot_probe": probe["by_count"]}
    return section


def rank_worker(args) -> None:
    """One rank of ddp_measure (under torchrun): rank 0 prints its numbers as a JSON line."""
    from gpt.distributed import joined

    device = "cuda" if torch.cuda.is_available() else "cpu"  # cpu: a dry run of the code over gloo
    with joined(torch.device(device)) as world:
        numbers = measure(args.quick, json.loads(args.overrides), args.peak_tflops, args.cap_s, device, world)
        if world.is_main:
            print(json.dumps(numbers), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="cap the run at 120 s (default: off, 600 s)")
    # The training flags are the settings' own (gpt/settings.py, as python -m gpt.train makes them:
    # --learning-rate or --lr, ...), with this recipe's defaults.
    add_settings_flags(parser, names=TUNABLE, shown_defaults=TRAIN)
    parser.add_argument("--peak-tflops", type=float, help="the GPU's dense bf16 peak, if its name is not recognised (default: from the name)")
    parser.add_argument("--cap-s", type=float, help="stop after this many seconds (default 600, 120 with --quick)")
    parser.add_argument("--rank-worker", action="store_true", help="internal: one rank of the several-GPU run (default: off)")
    parser.add_argument("--overrides", default="{}", help="internal: the training overrides as JSON (default: none)")
    parser.add_argument("--slots-only", action="store_true", help="only the slot probe: how many small trainings at once (default: off)")
    parser.add_argument("--slot-seconds", type=float, default=8.0, help="seconds each count of trainings runs in the slot probe (default: 8)")
    parser.add_argument("--dry-run-cpu", action="store_true", help="run the slot probe's code on the CPU, numbers meaningless (default: off)")
    args = parser.parse_args()
    if args.rank_worker:
        rank_worker(args)
        return
    if args.dry_run_cpu:
        print(slot_section(slot_probe(args.slot_seconds, max_trainings=2, device="cpu")).markdown())
        return
    if not torch.cuda.is_available():
        print(NO_CUDA)
        sys.exit(0)
    if args.slots_only:
        section = slot_section(slot_probe(args.slot_seconds))
        print(section.markdown())
        print(json.dumps(section.json))
        return
    overrides = given_flags(args, names=TUNABLE)

    start = time.perf_counter()
    section = run(args.quick, overrides, args.peak_tflops, args.cap_s)
    section.seconds = time.perf_counter() - start
    print(section.markdown())
    print(json.dumps(section.json))


if __name__ == "__main__":
    main()
