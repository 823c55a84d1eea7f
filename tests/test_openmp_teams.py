"""Only a training's thread keeps an OpenMP team (ui/threads.py, the module's docstring).

A thread that once ran torch on two threads keeps idle OpenMP helpers until it exits, and then
GNU OpenMP, managing more threads than there are cores, stops spin-waiting: every step of a
training ran twice as slow in the served app as in a script. The scenario runs in a fresh
process, where no other test's threads (pytest's own ran torch on every core) keep a team."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent

SCENARIO = """
    import json, os, sys, threading, time
    sys.path[:0] = ["tests", "."]
    import torch
    from apps import CORPUS, free_port, new_client, train_args

    def helpers():
        # OS threads Python does not know of: torch's own, and the OpenMP helpers of every team
        return len(os.listdir("/proc/self/task")) - threading.active_count()

    def wait_for(name):
        for thread in threading.enumerate():
            if thread.name.startswith(name):
                thread.join()

    at_start = helpers()
    from app import create_app
    demo = create_app()  # the bundled model: big enough that loading it runs parallel copies
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    client = new_client(f"http://127.0.0.1:{port}/")
    after_start = helpers()
    # A model whose weights are big enough for parallel copies, built, trained, saved.
    status = client.predict(*train_args(text=CORPUS, n_layer=2, n_head=2, n_embd=128, block_size=32, max_steps=12), api_name="/train")[0]
    client.predict("ROMEO:", 20, 1.0, 0, 1.0, 1, api_name="/generate")
    client.predict("But soft", 0, api_name="/attention")
    wait_for("mirador-training")
    time.sleep(0.5)
    print(json.dumps(dict(at_start=at_start, after_start=after_start, after_requests=helpers(), status=status)))
    demo.close()
"""


@pytest.mark.skipif(torch.get_num_threads() < 2, reason="with one core no thread runs torch on two")
def test_no_thread_but_a_trainings_keeps_an_openmp_team():
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCENARIO)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("{")))
    assert "Done at step 12" in seen["status"], seen["status"]
    # Started, calibrated, loaded, trained, generated: no idle OpenMP helpers left anywhere.
    assert seen["after_start"] == seen["at_start"], seen
    assert seen["after_requests"] == seen["at_start"], seen
