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
Without CUDA it says so and exits (status 0): there is nothing to measure.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python bench/<name>.py): import bench.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from bench.common import Section, char_data, median  # noqa: E402
from gpt import GPT, GPTConfig, TrainConfig, Trainer  # noqa: E402

TARGET_VAL_LOSS = 1.48
TARGET_SECONDS = 60.0
MODEL = dict(n_layer=6, n_head=6, n_embd=384, block_size=256, dropout=0.2)
TRAIN = dict(batch_size=64, learning_rate=1e-3, warmup_steps=100, min_lr=1e-4, max_steps=5000, eval_interval=250, eval_iters=20, weight_decay=0.1, grad_clip=1.0)

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


def run(quick: bool = False, overrides: dict | None = None, peak: float | None = None, cap_s: float | None = None, device: str = "cuda") -> Section:
    """device is for a dry run of this code on a CPU only (the numbers then mean nothing)."""
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(NO_CUDA)
    train = {**TRAIN, **(overrides or {})}
    cap_s = cap_s or (120.0 if quick else 600.0)
    tokenizer, train_ids, val_ids = char_data(MODEL["block_size"])
    torch.manual_seed(1337)
    config = GPTConfig(vocab_size=tokenizer.vocab_size, **MODEL)
    model = GPT(config)
    params = model.num_parameters()
    trainer = Trainer(model, train_ids, val_ids, TrainConfig(device=device, precision="auto", seed=1337, time_budget_s=cap_s, **train))
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
                if event.val_loss <= TARGET_VAL_LOSS:
                    reached = (event.elapsed_s, event.step)
                    break
            elif event.step > 10:
                step_times.append(now - last)  # Trainer syncs on loss.item() every step
            last = time.perf_counter()
    finally:
        events.close()
    tokens_s = train["batch_size"] * MODEL["block_size"] / median(step_times) if step_times else None
    achieved = flops_per_token(config, params) * tokens_s / 1e12 if tokens_s else None
    mfu = achieved / peak if achieved and peak else None

    section = Section(f"GPU: lecture model to val loss <= {TARGET_VAL_LOSS} on {name}")
    seconds = reached[0] if reached else None
    section.row(f"seconds to val <= {TARGET_VAL_LOSS} (evaluations included)", None, seconds, None, f"<= {TARGET_SECONDS:.0f} s (one H100)", seconds is not None and seconds <= TARGET_SECONDS, unit="s")
    section.row("steps to reach it", None, reached[1] if reached else None)
    section.row("training tokens/s (median step)", None, tokens_s, unit="tok/s")
    section.row("model FLOPs utilisation (MFU)", None, mfu, None, None, None)
    section.notes += [
        f"{params / 1e6:.2f}M parameters; {MODEL}; {train}; precision {trainer.precision}.",
        f"FLOPs per token 6N + 12 L C T = {flops_per_token(config, params) / 1e6:.1f} MFLOP; achieved {achieved and f'{achieved:.1f}'} TFLOP/s; "
        f"peak {peak and f'{peak:.0f}'} TFLOP/s dense bf16 ({peak_source if peak else 'unknown for this device: pass --peak-tflops'}).",
        "Val loss by step (seconds): " + ", ".join(f"{s}: {v:.3f} ({t:.1f} s)" for s, v, t in evals),
    ]
    if reached is None:
        section.notes.append(f"Val loss {TARGET_VAL_LOSS} was not reached within {cap_s:.0f} s or {train['max_steps']} steps.")
    section.json = {"gpu_name": name, "gpu_seconds_to_val_1_48": seconds, "gpu_steps_to_val_1_48": reached[1] if reached else None, "gpu_tokens_s": tokens_s, "gpu_mfu": mfu}
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="cap the run at 120 s")
    parser.add_argument("--lr", type=float, help=f"peak learning rate (default {TRAIN['learning_rate']:g})")
    parser.add_argument("--max-steps", type=int, help=f"steps the cosine decay is planned for (default {TRAIN['max_steps']})")
    parser.add_argument("--warmup-steps", type=int)
    parser.add_argument("--eval-interval", type=int)
    parser.add_argument("--eval-iters", type=int)
    parser.add_argument("--peak-tflops", type=float, help="the GPU's dense bf16 peak, if its name is not recognised")
    parser.add_argument("--cap-s", type=float, help="stop after this many seconds (default 600, 120 with --quick)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print(NO_CUDA)
        sys.exit(0)
    overrides = {k: v for k, v in dict(learning_rate=args.lr, max_steps=args.max_steps, warmup_steps=args.warmup_steps, eval_interval=args.eval_interval, eval_iters=args.eval_iters).items() if v is not None}
    import json

    start = time.perf_counter()
    section = run(args.quick, overrides, args.peak_tflops, args.cap_s)
    section.seconds = time.perf_counter() - start
    print(section.markdown())
    print(json.dumps(section.json))


if __name__ == "__main__":
    main()
