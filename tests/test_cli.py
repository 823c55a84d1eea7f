"""The command lines: python -m gpt.train and python -m gpt.sample, as a user runs them,
plus their error paths (in-process where a subprocess would only add start-up time)."""

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gpt import TrainEvent, load
from gpt import export as export_cli
from gpt import sample as sample_cli
from gpt import train as train_cli

ROOT = Path(__file__).resolve().parent.parent
TEXT = "hello world " * 40
TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "8"]

pytestmark = pytest.mark.usefixtures("one_thread")


def env():
    e = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return e


def start(*args):
    return subprocess.Popen(
        [sys.executable, "-m", *args], cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(proc, timeout=60):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    (d / "small.txt").write_text(TEXT, encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def trained(workdir):
    out = workdir / "tmp.safetensors"
    proc = start(
        "gpt.train", "--text", str(workdir / "small.txt"), "--tokenizer", "char", *TINY,
        "--max-steps", "30", "--eval-interval", "10", "--threads", "1", "--out", str(out),
    )
    return (*finish(proc, timeout=120), out)


def test_train_cli_writes_a_loadable_checkpoint(trained):
    rc, out, err, path = trained
    assert rc == 0, err
    assert "Traceback" not in err
    assert "tok/s" in out + err
    assert "30/30" in err
    model, tok, meta = load(path)
    assert model.config.n_layer == 1 and model.config.n_embd == 16 and model.config.block_size == 8
    assert tok.chars == "".join(sorted(set(TEXT)))
    assert meta["steps"] == 30
    assert meta["val_loss"] is not None


def test_sample_cli_prints_the_prompt_continued_reproducibly(trained):
    path = trained[3]
    assert trained[0] == 0
    args = ("gpt.sample", "--ckpt", str(path), "--prompt", "he", "--max-new-tokens", "20", "--seed", "1")
    first, second = start(*args), start(*args)  # the two run side by side
    (rc1, out1, err1), (rc2, out2, err2) = finish(first), finish(second)
    assert rc1 == 0 and rc2 == 0, err1 + err2
    assert out1 == out2
    assert out1.startswith("he")
    text = out1[:-1] if out1.endswith("\n") else out1
    assert len(text) == 2 + 20  # one character per token
    assert set(text) <= set(TEXT)
    # The same continuation in-process: default temperature 0.8, the seeded generator.
    model, tok, _ = load(path)
    ids = model.generate(torch.tensor([tok.encode("he")]), 20, temperature=0.8, generator=torch.Generator().manual_seed(1))
    assert text == tok.decode(ids[0].tolist())


def test_bad_flag_value_and_missing_checkpoint_exit_cleanly(workdir):
    bad = start(
        "gpt.train", "--text", str(workdir / "small.txt"), "--n-embd", "30", "--n-head", "4",
        "--max-steps", "2", "--out", str(workdir / "bad.safetensors"),
    )
    missing = start("gpt.sample", "--ckpt", str(workdir / "missing.safetensors"), "--prompt", "he")
    rc, out, err = finish(bad)
    assert rc != 0
    assert "Traceback" not in err and "n_embd" in err and "divisible" in err
    assert not (workdir / "bad.safetensors").exists()
    rc, out, err = finish(missing)
    assert rc != 0
    assert "Traceback" not in err and "missing.safetensors" in err


# ------------------------------------------------------------ in-process error paths


def run_main(module, argv, capsys):
    try:
        rc = module.main([str(a) for a in argv])
    except SystemExit as exit_:  # argparse refuses bad flag values this way, with a usage message
        rc = exit_.code
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_train_main_in_process_round_trip_bpe(workdir, capsys):
    out = workdir / "bpe.safetensors"
    rc, _, err = run_main(
        train_cli, ["--text", workdir / "small.txt", "--tokenizer", "bpe", *TINY, "--max-steps", "3", "--out", out], capsys
    )
    assert rc == 0, err
    rc, text, err = run_main(sample_cli, ["--ckpt", out, "--prompt", "hello", "--max-new-tokens", "5", "--seed", "0"], capsys)
    assert rc == 0, err
    assert text.startswith("hello")


@pytest.mark.parametrize(
    "extra,needle",
    [
        (["--max-steps", "0"], "max_steps"),
        (["--learning-rate", "nan"], "learning_rate"),
        (["--batch-size", "-1"], "batch_size"),
        (["--block-size", "1000"], "1001"),  # longer than the text
        (["--n-layer", "10000"], "n_layer"),
        (["--dropout", "1.0"], "dropout"),
        (["--device", "nonsense"], "device"),
    ],
)
def test_train_main_bad_values_return_an_error(workdir, capsys, extra, needle):
    rc, _, err = run_main(
        train_cli, ["--text", workdir / "small.txt", *TINY, "--max-steps", "2", *extra, "--out", workdir / "x.safetensors"], capsys
    )
    assert rc != 0
    assert err.startswith("error:") and needle in err
    assert not (workdir / "x.safetensors").exists()


def test_train_main_missing_or_empty_text(workdir, capsys):
    rc, _, err = run_main(train_cli, ["--text", workdir / "nope.txt", "--out", workdir / "x.safetensors"], capsys)
    assert rc != 0 and "nope.txt" in err
    (workdir / "empty.txt").write_text("")
    rc, _, err = run_main(train_cli, ["--text", workdir / "empty.txt", "--out", workdir / "x.safetensors"], capsys)
    assert rc != 0 and "empty" in err


def test_train_main_unknown_tokenizer_is_a_usage_error(workdir, capsys):
    with pytest.raises(SystemExit) as info:
        train_cli.main(["--text", str(workdir / "small.txt"), "--tokenizer", "wordpiece", "--out", "x"])
    assert info.value.code != 0
    assert "wordpiece" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra,needle",
    [
        (["--prompt", "xyz"], "'x'"),  # characters the model never saw
        (["--prompt", ""], "empty"),
        (["--prompt", "he", "--temperature", "-1"], "temperature"),
        (["--prompt", "he", "--top-k", "-1"], "top-k"),
        (["--prompt", "he", "--top-p", "1.5"], "top_p"),
        (["--prompt", "he", "--max-new-tokens", "-3"], "max_new_tokens"),
        (["--prompt", "he", "--max-new-tokens", "5000000000000"], "max_new_tokens must be at most"),
        (["--prompt-file", "no-such-prompt.txt"], "no-such-prompt.txt"),
    ],
)
def test_sample_main_bad_values_return_an_error(trained, capsys, extra, needle):
    rc, out, err = run_main(sample_cli, ["--ckpt", trained[3], *extra], capsys)
    assert rc != 0
    assert err.startswith("error:") and needle in err
    assert "Traceback" not in err and out == ""


def test_sample_main_refuses_a_non_checkpoint(workdir, capsys):
    junk = workdir / "junk.safetensors"
    junk.write_bytes(os.urandom(256))
    rc, _, err = run_main(sample_cli, ["--ckpt", junk], capsys)
    assert rc != 0 and "not a Mirador checkpoint" in err


def test_train_main_negative_threads_is_a_clean_error(workdir, capsys):
    rc, _, err = run_main(train_cli, ["--text", workdir / "small.txt", *TINY, "--threads", "-1", "--max-steps", "2", "--out", workdir / "t.safetensors"], capsys)
    assert rc != 0 and "threads" in err


def test_train_main_out_in_missing_folder_is_a_clean_error(workdir, capsys):
    out = workdir / "no_such_folder" / "m.safetensors"
    rc, _, err = run_main(train_cli, ["--text", workdir / "small.txt", *TINY, "--max-steps", "2", "--out", out], capsys)
    assert rc != 0 and "no_such_folder" in err


def test_keep_best_and_keep_last_flags():
    def parse(*extra):
        args = train_cli.build_parser().parse_args(["--text", "t.txt", "--out", "o.safetensors", *extra])
        return train_cli.settings_from_args(args)

    assert parse().keep_best is True
    assert parse("--keep-best").keep_best is True
    assert parse("--keep-last").keep_best is False
    with pytest.raises(SystemExit):
        parse("--keep-best", "--keep-last")


def test_train_main_keeps_the_best_model_unless_asked_for_the_last(workdir, capsys):
    rng = random.Random(0)  # vowel-consonant pairs: learnable, then learned by heart
    (workdir / "pairs.txt").write_text("".join(rng.choice("aeiou") + rng.choice("bcdfg") for _ in range(100)))
    metas = {}
    for flag in ("--keep-best", "--keep-last"):
        out = workdir / f"{flag[2:]}.safetensors"
        argv = ["--text", workdir / "pairs.txt", "--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--block-size", "8",
                "--max-steps", "150", "--batch-size", "16", "--learning-rate", "1e-2", "--warmup-steps", "5",
                "--min-lr", "1e-3", "--eval-interval", "5", "--eval-iters", "2", "--precision", "fp32", "--seed", "0",
                "--device", "cpu", flag, "--out", out]
        rc, _, err = run_main(train_cli, argv, capsys)
        assert rc == 0, err
        metas[flag] = load(out)[2]
        assert ("kept the weights of step" in err) == (flag == "--keep-best")
    best, last = metas["--keep-best"], metas["--keep-last"]
    assert best["steps"] == last["steps"] == 150 and best["best_step"] == last["best_step"] < 150
    assert best["val_loss"] < last["val_loss"]
    assert best["train_config"]["keep_best"] is True and last["train_config"]["keep_best"] is False


# ------------------------------------------------------------ the command line as users expect it


def test_train_out_that_is_a_folder_is_refused_before_training(workdir, capsys):
    rc, _, err = run_main(train_cli, ["--text", workdir / "small.txt", *TINY, "--max-steps", "2", "--out", workdir], capsys)
    assert rc == 2 and err.startswith("error:") and "is a folder" in err
    assert "step" not in err and "parameters" not in err  # refused before anything trained


@pytest.mark.parametrize("name", ["x.pt", "x.bin", "x"])
def test_train_out_must_be_a_safetensors_file(workdir, capsys, name):
    rc, _, err = run_main(train_cli, ["--text", workdir / "small.txt", *TINY, "--max-steps", "2", "--out", workdir / name], capsys)
    assert rc == 2 and ".safetensors" in err and "parameters" not in err
    assert not (workdir / name).exists()


def test_train_a_small_learning_rate_needs_no_min_lr(workdir, capsys):
    out = workdir / "small-lr.safetensors"
    rc, _, err = run_main(train_cli, ["--text", workdir / "small.txt", *TINY, "--max-steps", "3", "--learning-rate", "5e-5", "--out", out], capsys)
    assert rc == 0, err
    assert load(out)[2]["train_config"]["min_lr"] == pytest.approx(5e-6)


def test_train_log_off_a_terminal_is_one_plain_line_per_evaluation(workdir, capsys):
    """capsys is not a terminal: no carriage returns, no bar, a line per evaluation only."""
    out = workdir / "plain.safetensors"
    rc, _, err = run_main(train_cli, ["--text", workdir / "small.txt", *TINY, "--max-steps", "40", "--eval-interval", "10", "--out", out], capsys)
    assert rc == 0, err
    assert "\r" not in err and "[#" not in err
    steps = [line for line in err.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in steps] == ["10/40", "20/40", "30/40", "40/40"]
    assert all(" val " in line and "tok/s" in line for line in steps)
    assert "global batch 16 x 1 x 1 = 16 windows" in err


def test_train_log_on_a_terminal_redraws_one_line():
    class Terminal:
        def __init__(self):
            self.text = ""

        def isatty(self):
            return True

        def write(self, text):
            self.text += text

        def flush(self):
            pass

    def event(step, val=None):
        return TrainEvent(step=step, max_steps=3, train_loss=2.0, val_loss=val, lr=1e-3, tokens_per_s=10.0,
                                    elapsed_s=1.0, device="cpu", precision="fp32", eval_train_loss=val)

    screen = Terminal()
    log = train_cli.Progress(screen)
    for e in (event(1), event(2), event(3, val=1.5)):
        log.event(e)
    log.say("wrote it")
    assert screen.text.count("\r") == 3 and "[########----------------] 1/3" in screen.text
    assert screen.text.endswith("3/3 loss 2.0000 val 1.5000 lr 1.00e-03 10 tok/s 1s\nwrote it\n")


def test_sample_top_k_0_means_off_as_in_the_app(trained, capsys):
    base = ["--ckpt", trained[3], "--prompt", "he", "--max-new-tokens", "30", "--seed", "3"]
    rc, off, err = run_main(sample_cli, [*base, "--top-k", "0"], capsys)
    assert rc == 0, err
    rc, default, _ = run_main(sample_cli, base, capsys)
    assert off == default and len(off) == 32
    rc, one, _ = run_main(sample_cli, [*base, "--top-k", "1", "--temperature", "1"], capsys)
    rc, greedy, _ = run_main(sample_cli, [*base, "--temperature", "0"], capsys)
    assert one == greedy  # top-k 1 is greedy: the filter does act when k > 0


def test_sample_prompt_file_and_standard_output_holds_the_text_alone(trained, workdir, capsys):
    prompt = workdir / "prompt.txt"
    prompt.write_text("hello wor", encoding="utf-8")
    rc, out, err = run_main(sample_cli, ["--ckpt", trained[3], "--prompt-file", prompt, "--max-new-tokens", "12", "--seed", "1"], capsys)
    assert rc == 0, err
    model, tok, _ = load(trained[3])
    ids = model.generate(torch.tensor([tok.encode("hello wor")]), 12, temperature=0.8, generator=torch.Generator().manual_seed(1))
    assert out == tok.decode(ids[0].tolist())  # exactly the text: no newline added off a terminal
    with pytest.raises(SystemExit):  # one prompt or the other
        sample_cli.build_parser().parse_args(["--ckpt", "m", "--prompt", "a", "--prompt-file", str(prompt)])


def test_sample_pipes_into_another_program(trained, workdir):
    """A prompt from standard input, the text into a reader that stops early (head): the
    sampler ends quietly, with status 0 and nothing on standard error."""
    pipeline = (
        f"printf he | {sys.executable} -m gpt.sample --ckpt {trained[3]} --prompt-file - --max-new-tokens 3000 "
        f"--seed 2 2>{workdir / 'err.txt'} | head -c 12; sampler=${{PIPESTATUS[1]}}; echo; echo status $sampler"
    )
    done = subprocess.run(["bash", "-c", pipeline], cwd=ROOT, env=env(), capture_output=True, text=True, timeout=120)
    text, status = done.stdout.splitlines()[0], done.stdout.splitlines()[-1]
    assert text.startswith("he") and len(text) == 12 and set(text) <= set(TEXT), done.stdout
    assert status == "status 0"
    assert (workdir / "err.txt").read_text() == ""  # no BrokenPipeError traceback


CLIS = {"train": train_cli, "sample": sample_cli, "export": export_cli}


@pytest.mark.parametrize("name", list(CLIS))
def test_every_flag_of_every_command_line_has_help_and_shows_its_default(name):
    parser = CLIS[name].build_parser()
    missing = []
    for action in parser._actions:
        if action.dest == "help":
            continue
        label = "/".join(action.option_strings) or action.dest
        if not (action.help or "").strip():
            missing.append(f"{label}: no help")
        elif "default:" not in action.help and "(required)" not in action.help:
            missing.append(f"{label}: no default shown")
    assert not missing, missing
    text = parser.format_help()
    assert "default:" in text


@pytest.mark.parametrize("module", ["train", "sample", "export"])
def test_command_line_docstrings_name_files_that_exist(module):
    import re

    doc = CLIS[module].__doc__
    named = re.findall(r"(?:assets|bench|gpt|tests)/[\w./-]+", doc)
    assert all((ROOT / path.rstrip(".")).exists() for path in named), named
