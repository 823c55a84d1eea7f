"""Resumable runs: a run stopped at step 20 and resumed to 40 is the run of 40 steps straight,
through the library and the command line; Ctrl-C stops a run resumably; what cannot be resumed
is refused before training; a save killed half-way leaves files that load."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from ddp_worker import run_to_end

import gpt.checkpoint as ckpt
from gpt import GPT, GPTConfig, TrainConfig, Trainer, load, make_tokenizer, split_ids
from gpt import train as train_cli
from gpt.resume import load_resume, read_resume_header, resume_path, save_resume

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parent.parent
TEXT = "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer. " * 12
TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--block-size", "16"]


def data():
    tokenizer = make_tokenizer("char", TEXT)
    return tokenizer, *split_ids(tokenizer.encode(TEXT), 16)


def new_model(vocab_size: int) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=32, dropout=0.1))


def config(precision: str, **extra) -> TrainConfig:
    base = dict(max_steps=40, batch_size=4, learning_rate=3e-3, warmup_steps=5, eval_interval=6, eval_iters=2,
                device="cpu", precision=precision, seed=3)
    return TrainConfig(**{**base, **extra})


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_stopped_at_20_and_resumed_to_40_equals_40_straight(tmp_path, precision):
    """Dropout on, the best-model guard on, evaluations on both sides of the stop: every loss,
    evaluation and the kept weights agree (bf16: the float32 master weights are what is saved)."""
    tokenizer, train_ids, val_ids = data()
    model = new_model(tokenizer.vocab_size)
    straight_trainer = Trainer(model, train_ids, val_ids, config(precision))
    straight = list(straight_trainer.run())
    straight_weights = [p.detach().clone() for p in model.parameters()]

    first = Trainer(new_model(tokenizer.vocab_size), train_ids, val_ids, config(precision, stop_at=20))
    events, state = run_to_end(first, {"note": "kept"})
    assert events[-1].step == 20 and events[-1].stopped and events[-1].done
    path = save_resume(tmp_path / "run.optim.safetensors", state)
    model = new_model(tokenizer.vocab_size)  # a fresh process builds a fresh model
    state = load_resume(path, model)
    assert state.step == 20 and state.run == {"note": "kept"}
    second = Trainer(model, train_ids, val_ids, config(precision), resume=state)
    events += list(second.run())

    assert [e.step for e in events] == [e.step for e in straight] == list(range(1, 41))
    assert max(abs(a.train_loss - b.train_loss) for a, b in zip(events, straight)) < 1e-5
    # Step 20 is evaluated by the stopped run only; every other evaluation is on both sides.
    evals = {e.step: e.val_loss for e in events if e.val_loss is not None}
    straight_evals = {e.step: e.val_loss for e in straight if e.val_loss is not None}
    assert set(straight_evals) <= set(evals) and set(evals) - set(straight_evals) == {20}
    assert max(abs(evals[s] - straight_evals[s]) for s in straight_evals) < 1e-5
    assert (events[-1].best_step, events[-1].restored_best) == (straight[-1].best_step, straight[-1].restored_best)
    for a, b in zip(model.parameters(), straight_weights):
        assert torch.allclose(a, b, atol=1e-5)
    # The run learned something: equal runs that stand still would prove little.
    assert straight[-1].train_loss < straight[0].train_loss - 0.5


def test_the_best_model_guard_survives_resume(tmp_path):
    """Validation text that contradicts the training text ("aa" against "ab"): the better the model
    learns, the worse validation gets, so the best evaluation is the first one (step 5). Stopped
    at 20, the resume state carries the guard's copy of step 5's weights, and the resumed run
    ends with them, as the straight run does."""
    tokenizer = make_tokenizer("char", "ab")
    train_ids, val_ids = torch.tensor(tokenizer.encode("ab" * 200)), torch.tensor(tokenizer.encode("aa" * 50))

    def model():
        torch.manual_seed(0)
        return GPT(GPTConfig(vocab_size=2, block_size=16, n_layer=1, n_head=2, n_embd=32))

    straight_model = model()
    straight = list(Trainer(straight_model, train_ids, val_ids, config("fp32", eval_interval=5)).run())
    assert straight[-1].best_step == 5 and straight[-1].restored_best

    first = Trainer(model(), train_ids, val_ids, config("fp32", eval_interval=5, stop_at=20))
    _, state = run_to_end(first)
    assert state.best["step"] == 5 and state.best_weights is not None  # not the last weights: saved apart
    resumed_model = model()
    path = save_resume(tmp_path / "run.optim.safetensors", state)
    last = list(Trainer(resumed_model, train_ids, val_ids, config("fp32", eval_interval=5),
                        resume=load_resume(path, resumed_model)).run())[-1]
    assert (last.best_step, last.restored_best) == (5, True)
    assert last.best_val_loss == pytest.approx(straight[-1].best_val_loss, abs=1e-6)
    for a, b in zip(resumed_model.parameters(), straight_model.parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_a_state_taken_at_any_event_continues_the_run(tmp_path):
    """Not only a stopped run's end: the state at step 13 of a straight run goes on as it did.
    And outside a run there is no state to take."""
    tokenizer, train_ids, val_ids = data()
    straight_trainer = Trainer(new_model(tokenizer.vocab_size), train_ids, val_ids, config("fp32", max_steps=20))
    with pytest.raises(RuntimeError, match="during a run"):
        straight_trainer.resume_state()
    straight, state = [], None
    for event in straight_trainer.run():
        straight.append(event)
        if event.step == 13:
            state = straight_trainer.resume_state()
    model = new_model(tokenizer.vocab_size)
    resumed = list(Trainer(model, train_ids, val_ids, config("fp32", max_steps=20), resume=state).run())
    assert [e.step for e in resumed] == list(range(14, 21))
    assert max(abs(a.train_loss - b.train_loss) for a, b in zip(resumed, straight[13:])) < 1e-5


# ------------------------------------------------------------ the command line


def run_main(argv, capsys):
    try:
        rc = train_cli.main([str(a) for a in argv])
    except SystemExit as exit_:
        rc = exit_.code
    captured = capsys.readouterr()
    return rc, captured.err


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def common(text_file):
    return ["--text", text_file, *TINY, "--max-steps", "40", "--batch-size", "4", "--eval-interval", "10",
            "--eval-iters", "2", "--learning-rate", "3e-3", "--dropout", "0.1", "--device", "cpu", "--precision", "fp32"]


def tensors_of(path):
    model = load(path)[0]
    return [p.detach() for p in model.parameters()]


def test_cli_stop_at_then_resume_equals_straight(tmp_path, text_file, capsys):
    straight = tmp_path / "straight.safetensors"
    assert run_main([*common(text_file), "--out", straight], capsys)[0] == 0
    part = tmp_path / "part.safetensors"
    rc, err = run_main([*common(text_file), "--stop-at", "20", "--out", part], capsys)
    assert rc == 0, err
    assert f"--resume {part} --out {part}" in err  # it says how to go on
    meta = load(part)[2]
    assert meta["steps"] == 20 and meta["stopped_early"] and meta["train_config"]["max_steps"] == 40
    assert read_resume_header(resume_path(part))["step"] == 20
    # Resume with nothing but the text: the settings come from the run.
    rc, err = run_main(["--text", text_file, "--resume", part, "--out", part, "--device", "cpu", "--precision", "fp32"], capsys)
    assert rc == 0, err
    assert "resuming at step 20 of 40" in err
    resumed_meta, straight_meta = load(part)[2], load(straight)[2]
    assert resumed_meta["steps"] == 40 and not resumed_meta["stopped_early"] and resumed_meta["resumed_from_step"] == 20
    assert resumed_meta["best_step"] == straight_meta["best_step"]
    assert abs(resumed_meta["val_loss"] - straight_meta["val_loss"]) < 1e-5
    for a, b in zip(tensors_of(part), tensors_of(straight)):
        assert torch.allclose(a, b, atol=1e-5)
    # The resume states agree too: AdamW's moments after 40 steps.
    ours, theirs = (load_resume(resume_path(p), load(p)[0]) for p in (part, straight))
    for name, moments in ours.moments.items():
        assert torch.allclose(moments["exp_avg_sq"], theirs.moments[name]["exp_avg_sq"], atol=1e-7)


def test_cli_ctrl_c_stops_after_a_step_and_the_run_resumes(tmp_path, text_file):
    out = tmp_path / "m.safetensors"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    argv = [sys.executable, "-m", "gpt.train", *map(str, common(text_file)), "--max-steps", "100000",
            "--eval-interval", "5", "--out", str(out)]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines = []
    for line in proc.stderr:  # not a terminal: one plain line per evaluation
        lines.append(line)
        if line.startswith("step "):
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 0, "".join(lines) + rest
    assert "signal received: stopping at step" in rest
    meta = load(out)[2]
    step = read_resume_header(resume_path(out))["step"]
    assert meta["steps"] == step and 5 <= step < 100000 and meta["stopped_early"]
    # Resuming goes on from that step (to a few steps later, here).
    done = subprocess.run([sys.executable, "-m", "gpt.train", "--text", str(text_file), "--resume", str(out),
                           "--out", str(out), "--stop-at", str(step + 3), "--device", "cpu"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"resuming at step {step} of 100000" in done.stderr
    assert read_resume_header(resume_path(out))["step"] == step + 3 == load(out)[2]["steps"]


@pytest.fixture
def stopped(tmp_path, text_file, capsys):
    out = tmp_path / "part.safetensors"
    rc, err = run_main([*common(text_file), "--stop-at", "10", "--out", out], capsys)
    assert rc == 0, err
    return out


@pytest.mark.parametrize(
    "extra,needle",
    [
        (["--n-embd", "64"], "--n-embd 64 (the run's: 32)"),  # the model
        (["--learning-rate", "1e-2"], "--learning-rate"),  # the recipe
        (["--batch-size", "8"], "--batch-size"),
        (["--seed", "5"], "--seed"),
        (["--stop-at", "5"], "stop_at (5) must come after step 10"),
        (["--max-steps", "10"], "larger max_steps"),
    ],
)
def test_cli_refuses_a_resume_that_would_change_the_run(stopped, text_file, capsys, extra, needle):
    rc, err = run_main(["--text", text_file, "--resume", stopped, "--out", stopped, *extra], capsys)
    assert rc == 2 and err.startswith("error:") and needle in err, err
    assert read_resume_header(resume_path(stopped))["step"] == 10  # nothing was written


def test_cli_resume_may_change_how_long_and_how_often(stopped, text_file, capsys):
    rc, err = run_main(["--text", text_file, "--resume", stopped, "--out", stopped, "--max-steps", "14",
                        "--eval-interval", "2", "--keep-last", "--device", "cpu"], capsys)
    assert rc == 0, err
    assert load(stopped)[2]["steps"] == 14 and err.count("step ") >= 2


def test_cli_refuses_another_text_or_a_missing_resume_state(stopped, tmp_path, capsys):
    other = tmp_path / "other.txt"
    other.write_text(TEXT.upper(), encoding="utf-8")
    rc, err = run_main(["--text", other, "--resume", stopped, "--out", stopped], capsys)
    assert rc == 2 and "not the text this run trained on" in err
    resume_path(stopped).rename(tmp_path / "elsewhere.safetensors")
    rc, err = run_main(["--text", tmp_path / "text.txt", "--resume", stopped, "--out", stopped], capsys)
    assert rc == 2 and "part.optim.safetensors" in err and "Traceback" not in err


def test_a_resume_state_of_another_model_is_refused_before_reading(stopped, tmp_path):
    tokenizer, _, _ = data()
    with torch.device("meta"):
        other = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=64))
    with pytest.raises(ValueError, match="do not match this model"):
        load_resume(resume_path(stopped), other)
    junk = tmp_path / "junk.optim.safetensors"
    junk.write_bytes(os.urandom(300))
    with pytest.raises(ValueError, match="cannot be resumed"):
        load_resume(junk, other)
    with pytest.raises(ValueError, match="not a Mirador resume state"):
        read_resume_header(stopped)  # a checkpoint is not a resume state


@pytest.mark.parametrize("killed_writing", ["the resume state", "the checkpoint"])
def test_a_run_killed_mid_save_leaves_files_that_load_and_resume(stopped, text_file, monkeypatch, capsys, killed_writing):
    """The resume state is written first and never depends on the checkpoint: killed in either
    write, each file is whole (the old one or the new one), and resuming works."""
    before = {p: p.read_bytes() for p in (stopped, resume_path(stopped))}
    writes, real_fsync = [], os.fsync

    def fsync_then_die(fd):
        writes.append(fd)
        if len(writes) == (1 if killed_writing == "the resume state" else 2):
            raise KeyboardInterrupt  # as a kill would, between writing the bytes and renaming them
        real_fsync(fd)

    monkeypatch.setattr(ckpt.os, "fsync", fsync_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_cli.main([str(a) for a in ["--text", text_file, "--resume", stopped, "--out", stopped, "--stop-at", "12"]])
    monkeypatch.undo()
    capsys.readouterr()
    assert sorted(p.name for p in stopped.parent.iterdir() if p.name.startswith(".")) == []  # no debris
    assert stopped.read_bytes() == before[stopped]  # the checkpoint is the previous one
    load(stopped)
    step = read_resume_header(resume_path(stopped))["step"]
    assert step == (10 if killed_writing == "the resume state" else 12)
    rc, err = run_main(["--text", text_file, "--resume", stopped, "--out", stopped, "--stop-at", "16"], capsys)
    assert rc == 0, err
    assert f"resuming at step {step}" in err and load(stopped)[2]["steps"] == 16
