"""Training on two processes (gloo on 127.0.0.1) against one process at the same global batch.

The global batch is defined so that it does not depend on how it is divided (gpt/data.py
`step_batches`): its window starts are drawn from one generator seeded the same on every rank,
and each rank takes its slice. So 2 ranks x batch 4 and 1 process x batch 8 learn from the very
same windows, as do 2 ranks x batch 8 and 1 process x batch 8 x grad_accum 2; their losses must
agree step by step to rounding (DDP's averaged gradient against one process's mean).

One launch of two ranks (tests/ddp_worker.py) runs every distributed side; the single-process
sides run here. A second launch goes through torchrun and the command line itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import ddp_worker
import pytest
import torch
from apps import free_port

from gpt import load
from gpt import train as train_cli
from gpt.distributed import World
from gpt.resume import read_resume_header, resume_path

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE = 1e-4


def quiet_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    return {**env, "OMP_NUM_THREADS": "1", "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}", **extra}


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """What each of two gloo ranks saw (tests/ddp_worker.py), as torchrun would start them."""
    folder = tmp_path_factory.mktemp("ddp")
    port = str(free_port())
    procs = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "ddp_worker.py"), str(folder)],
            env=quiet_env(RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=port),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for r in range(2)
    ]
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out
    return [json.loads((folder / f"rank{r}.json").read_text()) for r in range(2)]


def close(a: list[float], b: list[float]) -> float:
    """The largest difference between two runs' numbers, after checking there are as many."""
    assert len(a) == len(b)
    return max(abs(x - y) for x, y in zip(a, b))


def test_two_ranks_match_one_process_at_the_same_global_batch(ranks):
    split = ranks[0]["split"]
    alone = ddp_worker.train(World(), batch_size=8)
    assert split["global_batch"] == alone["global_batch"] == 8
    assert len(split["losses"]) == ddp_worker.STEPS
    assert close(split["losses"], alone["losses"]) < TOLERANCE
    assert torch.allclose(torch.tensor(split["weights"]), torch.tensor(alone["weights"]), atol=TOLERANCE)
    # The losses moved: a comparison of two runs that learn nothing would prove little.
    assert split["losses"][-1] < split["losses"][0] - 0.3


def test_two_ranks_match_one_process_accumulating_gradients(ranks):
    accum = ranks[0]["accum"]
    alone = ddp_worker.train(World(), batch_size=8, grad_accum=2)
    assert accum["global_batch"] == alone["global_batch"] == 16
    assert close(accum["losses"], alone["losses"]) < TOLERANCE
    # Evaluations draw batch_size windows, here 8 on both sides: the same estimate.
    assert len(accum["val"]) == len(alone["val"]) == 4 and close(accum["val"], alone["val"]) < TOLERANCE
    # Accumulating is not the same as a larger step of a smaller batch: that run differs.
    smaller = ddp_worker.train(World(), batch_size=8)
    assert close(accum["losses"], smaller["losses"]) > 1e-3


def test_ranks_stay_identical_and_only_rank_0_evaluates(ranks):
    first, second = ranks
    assert (first["rank"], second["rank"], first["size"]) == (0, 1, 2)
    for name in ("split", "accum"):
        assert first[name]["weights_sha256"] == second[name]["weights_sha256"]  # DDP kept the replicas equal
        assert first[name]["losses"] == second[name]["losses"]  # the logged loss is the mean over ranks
        assert first[name]["val"] and not second[name]["val"]


def test_a_distributed_run_stopped_and_resumed_equals_it_straight(ranks):
    """With dropout: each rank's own random generator is saved and restored too."""
    for seen in ranks:
        straight, resumed = seen["dropout"], seen["dropout_resumed"]
        assert len(resumed["losses"]) == ddp_worker.STEPS
        assert close(straight["losses"], resumed["losses"]) < 1e-5
    # Each rank drew its own dropout masks (its generator seeded apart), and restoring each
    # rank's own generator is what made the resumed losses equal above.
    assert ranks[0]["dropout"]["rng_sha256"] != ranks[1]["dropout"]["rng_sha256"]
    assert ranks[0]["dropout"]["weights_sha256"] == ranks[1]["dropout"]["weights_sha256"]


def test_torchrun_runs_the_command_line_on_two_processes(tmp_path, capsys):
    text = tmp_path / "text.txt"
    text.write_text(ddp_worker.TEXT, encoding="utf-8")
    common = ["--text", text, "--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--block-size", "16",
              "--max-steps", "20", "--eval-interval", "10", "--eval-iters", "2", "--learning-rate", "3e-3",
              "--device", "cpu", "--precision", "fp32", "--keep-last"]
    out = tmp_path / "two.safetensors"
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "gpt.train",
         *map(str, common), "--batch-size", "4", "--out", str(out)],
        cwd=tmp_path, env=quiet_env(), capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    log = proc.stdout + proc.stderr
    # Rank 0 alone logs: one header, one line per evaluation, plain (no progress bar redrawn).
    assert log.count("global batch 4 x 1 x 2 = 8 windows") == 1
    assert log.count("step 20/20") == 1 and "\r" not in log
    # Rank 0 alone writes: the checkpoint and its resume state, nothing else.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["text.txt", "two.optim.safetensors", "two.safetensors"]
    assert read_resume_header(resume_path(out))["world_size"] == 2
    _, _, meta = load(out)
    assert meta["processes"] == 2 and meta["global_batch"] == 8 and meta["steps"] == 20
    # One process, the same global batch as batch 4 x grad_accum 2: the same model.
    one = tmp_path / "one.safetensors"
    assert train_cli.main([*map(str, common), "--batch-size", "4", "--grad-accum", "2", "--out", str(one)]) == 0
    assert "global batch 4 x 2 x 1 = 8 windows" in capsys.readouterr().err
    two_model, one_model = load(out)[0], load(one)[0]
    for a, b in zip(two_model.parameters(), one_model.parameters()):
        assert torch.allclose(a, b, atol=TOLERANCE)
    assert abs(load(one)[2]["val_loss"] - meta["val_loss"]) < TOLERANCE
