"""Faults: Stop in the middle of a step, a client that goes away mid-training, a process
killed while it writes a checkpoint, and a crash inside one request.

The app runs in this process (shared with the other reliability modules), so the tests can
watch its training loop step by step: ui.training.Trainer is swapped for a subclass that logs
every step it yields, notes where the log stood when Stop reached it, and can hold one step
half-done until Stop arrives (so that Stop lands inside a step, every time).
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest
from apps import app_error, generate, new_client, train_args
from waiting import eventually

import gpt
from gpt import Trainer
from ui import generation, training

pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated")

ROOT = Path(__file__).resolve().parent.parent
AB = "ab" * 400  # a text whose model can only ever write 'a' and 'b'
XY = "xy" * 400
# A run that goes on until it is stopped (5,000 steps, 120 s), of steps of about 0.1 s on one core.
SLOW_STEPS = dict(n_layer=2, n_head=4, n_embd=128, block_size=64, batch_size=32, max_steps=5000, time_budget_s=120, learning_rate=3e-3)


class Steps:
    """Replaces ui.training.Trainer: every trainer the app builds logs (step, trainer number)."""

    def __init__(self):
        self.log: list[tuple[int, int]] = []  # (step, trainer number), in the order they were yielded
        self.trainers: list[Trainer] = []
        self.stopped: dict[int, int] = {}  # trainer number -> the log's length when stop() first reached it
        self.hold: tuple[int, int] | None = None  # (trainer number, step): that step waits, half-done, for stop()
        self.holding = threading.Event()  # the held step is under way
        self.stop_reached = threading.Event()

    def install(self, monkeypatch):
        steps = self

        class RecordingTrainer(Trainer):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.number = len(steps.trainers)
                steps.trainers.append(self)

            def run(self):
                for event in super().run():
                    steps.log.append((event.step, self.number))
                    yield event

            def _gradients(self, *args, **kwargs):  # inside a step: its learning rate set, its gradients not yet
                if steps.hold == (self.number, self.steps_done + 1):
                    steps.holding.set()
                    assert steps.stop_reached.wait(60), "Stop never reached the trainer"
                return super()._gradients(*args, **kwargs)

            def stop(self):
                steps.stopped.setdefault(self.number, len(steps.log))
                steps.stop_reached.set()
                super().stop()

        monkeypatch.setattr(training, "Trainer", RecordingTrainer)
        return self

    def of(self, number: int) -> list[int]:
        return [s for s, n in self.log if n == number]

    def after_stop(self, number: int) -> list[int]:
        """The steps trainer `number` yielded after stop() reached it."""
        return [s for s, n in self.log[self.stopped[number]:] if n == number]

    def first_index(self, number: int) -> int:
        return next(i for i, (_, n) in enumerate(self.log) if n == number)


@pytest.fixture
def steps(monkeypatch):
    return Steps().install(monkeypatch)


def cpu_seconds_over(interval: float) -> float:
    """The CPU time this process uses over `interval` seconds of the clock (the sleep is the
    measuring window, not a wait for anything)."""
    process = psutil.Process()
    before = sum(process.cpu_times()[:2])
    time.sleep(interval)
    return sum(process.cpu_times()[:2]) - before


def only_uses(text: str, alphabet: str) -> bool:
    return set(text) <= set(alphabet)


def test_stop_mid_step_releases_the_cpu_keeps_the_model_and_lets_the_next_training_start(app, steps):
    demo, url = app
    ctx = demo.context
    ann, ben = new_client(url), new_client(url)
    steps.hold = (0, 7)  # ann's 7th step waits, half-done, for her Stop
    try:
        running = ann.submit(*train_args(text=AB, **SLOW_STEPS), api_name="/train")
        assert steps.holding.wait(60), "ann's training never reached its 7th step"
        waiting = ben.submit(*train_args(text=XY, max_steps=3), api_name="/train")  # queues behind ann's
        eventually(lambda: len(ctx.queue) == 2, what="ben's training joined the queue")
        assert steps.of(0) == [1, 2, 3, 4, 5, 6]  # in the middle of step 7
        assert "Stopping after the current step" in ann.predict(api_name="/stop_training")
        final = running.result(timeout=60)
        assert "Stopped at step 7" in final[0]

        # The step in progress finishes, then one final event (its evaluation); nothing more.
        after = steps.after_stop(0)
        assert after == [7, 7], f"steps {after} ran after Stop"
        eventually(lambda: ctx.registry.job(ann.session_hash) is None, what="ann's job ended")

        # ben's training starts (it was waiting) after ann's Stop, and finishes on its own model.
        result = waiting.result(timeout=120)
        assert "Done at step 3" in result[0]
        assert len(steps.trainers) == 2 and steps.first_index(1) >= steps.stopped[0]
        assert len(ctx.queue) == 0

        # Nothing trains any more: the process is close to idle.
        used = cpu_seconds_over(0.5)
        assert used < 0.3, f"{used:.2f} CPU-seconds used in 0.5 s after every training ended"

        # ann's stopped model is hers and usable; ben's is his.
        assert only_uses(generate(ann, prompt="ab", max_new_tokens=40)[2:], "ab")
        assert only_uses(generate(ben, prompt="xy", max_new_tokens=40)[2:], "xy")
    finally:
        ann.close()
        ben.close()


def test_a_client_that_goes_away_mid_training_frees_the_cpu_and_its_session(app, steps, monkeypatch):
    """A browser tab closing and an API client closing look the same to the app: the
    heartbeat stream ends and the unload event fires (the browser test does it with a tab)."""
    monkeypatch.setenv("GRADIO_HEARTBEAT_INTERVAL", "0.5")  # read by Gradio per heartbeat stream
    demo, url = app
    ctx = demo.context
    cleo, dan = new_client(url), new_client(url)
    try:
        cleo.submit(*train_args(text=AB, **SLOW_STEPS), api_name="/train")
        eventually(lambda: len(steps.of(0)) >= 4, timeout=60, what="cleo's training made 4 steps")
        waiting = dan.submit(*train_args(text=XY, max_steps=3), api_name="/train")
        eventually(lambda: len(ctx.queue) == 2, what="dan's training joined the queue")
        cleo.close()  # the tab closes

        eventually(lambda: ctx.registry.job(cleo.session_hash) is None, what="the app ended cleo's session after her client left")
        eventually(lambda: len(steps.trainers) == 2, what="the next training started")  # so cleo's loop has ended
        assert 0 in steps.stopped, "the app never stopped the training of the client that left"
        after = steps.after_stop(0)
        # The step in progress when the app stopped it, then its final event; nothing more.
        assert len(after) <= 2 and len(set(after)) <= 1, f"steps {after} ran after the app stopped the training"
        assert cleo.session_hash not in ctx.registry, "the closed session kept its entry"
        assert ctx.registry.model(cleo.session_hash) is ctx.registry.default

        result = waiting.result(timeout=120)  # the next user's training ran
        assert "Done at step 3" in result[0]
        assert only_uses(generate(dan, prompt="xy", max_new_tokens=30)[2:], "xy")
    finally:
        cleo.close()
        dan.close()


def test_a_crash_inside_one_request_reaches_only_that_user(app, monkeypatch):
    _, url = app
    victim, other = new_client(url), new_client(url)
    try:
        baseline = generate(other, seed=7)
        other_started, victim_waiting = threading.Event(), threading.Event()
        real = generation.stream_text

        def stream_text(handle, settings):
            if settings.seed == 666:  # the victim's request: wait until the other one is running, then crash
                victim_waiting.set()
                other_started.wait(20)
                raise RuntimeError("injected crash inside the handler")
            other_started.set()
            yield from real(handle, settings)

        monkeypatch.setattr(generation, "stream_text", stream_text)
        crashing = victim.submit("ROMEO:", 8, 0.8, 0, 1.0, 666, api_name="/generate")
        assert victim_waiting.wait(30), "the victim's request never reached its handler"
        concurrent = other.submit("ROMEO:", 8, 0.8, 0, 1.0, 7, api_name="/generate")
        assert concurrent.result(timeout=60) == baseline  # the other user is served, unchanged
        message = app_error(lambda: crashing.result(timeout=60))
        assert "error" in message.lower()  # the victim hears about it, without the server's internals
        assert "injected crash" not in message and "Traceback" not in message
        monkeypatch.setattr(generation, "stream_text", real)
        assert generate(victim, seed=7) == baseline  # ...and their session still works
        assert generate(other, seed=7) == baseline
    finally:
        victim.close()
        other.close()


def test_a_crash_inside_a_training_frees_the_queue(app, steps, monkeypatch):
    demo, url = app
    ctx = demo.context
    eve, fay = new_client(url), new_client(url)
    try:
        real_run = training.Trainer.run

        def run(self):
            for event in real_run(self):
                if self.number == 0 and event.step == 3:
                    raise RuntimeError("injected crash in the training loop")
                yield event

        monkeypatch.setattr(training.Trainer, "run", run)
        before = generate(eve, prompt="ab", seed=3)
        assert app_error(lambda: eve.predict(*train_args(text=AB, max_steps=50), api_name="/train"))
        assert ctx.registry.job(eve.session_hash) is None and len(ctx.queue) == 0
        assert generate(eve, prompt="ab", seed=3) == before  # the session kept its (default) model
        assert "Done at step 3" in fay.predict(*train_args(text=XY, max_steps=3), api_name="/train")[0]
    finally:
        eve.close()
        fay.close()


# --- a process killed while it writes a checkpoint -------------------------------------------

# Run in a real child process, forked from a forkserver that imported torch and gpt once
# (so each of the several children starts in milliseconds, not seconds).
WRITER = """
import torch, gpt
from gpt import GPT, GPTConfig, make_tokenizer

torch.set_num_threads(1)
tokenizer = make_tokenizer("char", "abcdefgh")
model = GPT(GPTConfig(vocab_size=8, block_size=64, n_layer=4, n_head=4, n_embd=256))  # 3.2M parameters, 12.6 MB
conn.send("ready")
while True:
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float(version))
    conn.send(f"begin {version}")
    gpt.save(target, model, tokenizer, {"version": version})
    conn.send(f"end {version}")
    version += 1
"""


def check_whole(path: Path) -> int:
    """The checkpoint loads, and every weight is its version number: no mix of two saves."""
    model, _, meta = gpt.load(path)
    version = meta["version"]
    for name, p in model.named_parameters():
        assert bool((p == float(version)).all()), f"{name} mixes two versions"
    return version


def receive(conn, timeout: float = 60) -> str:
    if not conn.poll(timeout):
        raise TimeoutError("the writer went quiet")
    return conn.recv()


def test_a_kill_during_save_leaves_the_previous_checkpoint_whole(tmp_path):
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch", "gpt", "gpt.checkpoint"])
    target = tmp_path / "model.safetensors"
    rng = random.Random(1234)
    version, mid_save, rounds = 1, 0, 5
    for _ in range(rounds):
        reader, writer = context.Pipe(duplex=False)
        child = context.Process(target=exec, args=(WRITER, {"conn": writer, "target": str(target), "version": version}), daemon=True)
        child.start()
        writer.close()
        try:
            assert receive(reader) == "ready"
            lines = []
            while not (lines and lines[-1].startswith("end")):  # at least one whole save this round
                lines.append(receive(reader))
            time.sleep(rng.uniform(0.0, 0.2))
            os.kill(child.pid, signal.SIGKILL)  # mid-save, most of the time: the loop does little else
            child.join(timeout=30)
            assert child.exitcode == -signal.SIGKILL
            while True:
                try:
                    lines.append(reader.recv())
                except (EOFError, OSError):
                    break
        finally:
            if child.is_alive():
                child.kill()
                child.join()
            reader.close()
        last = lines[-1]
        mid_save += last.startswith("begin")
        saved = check_whole(target)
        finished = int([line for line in lines if line.startswith("end")][-1].split()[1])
        # The file holds the last finished save, or the one the kill interrupted if its rename had happened.
        assert saved == finished or (last.startswith("begin") and saved == int(last.split()[1])), (saved, last)
        version = saved + 1
    assert mid_save >= 1, "no kill landed during a save: the test proved nothing"
    # Debris of killed saves is hidden, named *.tmp, never taken for a checkpoint, and harmless.
    debris = [p for p in tmp_path.iterdir() if p != target]
    assert all(p.name.startswith(".model.safetensors.") and p.name.endswith(".tmp") for p in debris), debris
    model, tokenizer, meta = gpt.load(target)
    gpt.save(target, model, tokenizer, meta)  # saving again beside the debris works
    assert check_whole(target) == version - 1
