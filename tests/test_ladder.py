"""The lecture's ladder (gpt/ladder.py): each stage is the model the lecture describes, the bigram
stage is a table, a short ladder runs every stage and writes its table, Stop ends it, and the
command line refuses bad arguments with a message. Tiny budgets and texts only: how the ladder
does in its real budget is bench/ladder.py's business."""

from __future__ import annotations

import json
import threading

import pytest
import torch
import torch.nn.functional as F

from gpt import GPT
from gpt import ladder as ladder_module
from gpt.ladder import (
    SCALED_ON_CPU,
    STAGES,
    Ladder,
    StagePoint,
    StageResult,
    curves,
    main,
    markdown,
    stage_config,
    stages_for,
)

pytestmark = pytest.mark.usefixtures("one_thread")

TEXT = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
    "First Citizen:\nYou are all resolved rather to die than to famish?\n\n"
) * 12  # about 1,600 characters: every stage's context fits, with text held out for validation
CPU_STAGES = stages_for(torch.device("cpu"))


# --- the stages ----------------------------------------------------------------------------------


def switches(stage) -> dict:
    c = stage_config(stage, 65)
    return dict(bigram=c.bigram, residual=c.residual, layer_norm=c.layer_norm, mlp=c.mlp)


def test_each_stage_has_the_switches_the_lecture_describes():
    off = dict(residual=False, layer_norm=False, mlp=False)
    assert [s.key for s in STAGES] == ["bigram", "one_head", "multi_head", "feed_forward", "residual", "layer_norm", "scaled"]
    assert switches(STAGES[0])["bigram"]
    assert switches(STAGES[1]) == dict(bigram=False, **off) and stage_config(STAGES[1], 65).n_head == 1
    assert switches(STAGES[2]) == dict(bigram=False, **off) and stage_config(STAGES[2], 65).n_head == 4
    assert switches(STAGES[3]) == dict(bigram=False, residual=False, layer_norm=False, mlp=True)
    assert switches(STAGES[4]) == dict(bigram=False, residual=True, layer_norm=False, mlp=True)
    assert switches(STAGES[5]) == dict(bigram=False, residual=True, layer_norm=True, mlp=True)
    for scaled in (STAGES[6], SCALED_ON_CPU):  # the full model, with dropout
        assert stage_config(scaled, 65).changed_switches == () and stage_config(scaled, 65).dropout > 0
    # Stages 1-6 share the lecture's small shape: context 8, width 32; the blocks stack from stage 5.
    for stage in STAGES[:6]:
        c = stage_config(stage, 65)
        assert (c.block_size, c.n_embd) == (8, 32) and stage.batch_size == 32
    assert [stage_config(s, 65).n_layer for s in STAGES[1:6]] == [1, 1, 1, 3, 3]


def test_the_lectures_scaled_model_on_a_gpu_and_a_smaller_one_elsewhere():
    assert stages_for(torch.device("cuda"))[-1] is STAGES[-1]
    assert CPU_STAGES[-1] is SCALED_ON_CPU and CPU_STAGES[:-1] == STAGES[:-1]
    lecture = stage_config(STAGES[-1], 65)
    assert (lecture.n_layer, lecture.n_head, lecture.n_embd, lecture.block_size) == (6, 6, 384, 256)
    assert 10_000_000 < lecture.num_parameters < 11_000_000  # the lecture's "10.8M parameters"


@pytest.mark.parametrize("stages", [STAGES, CPU_STAGES], ids=["gpu", "cpu"])
def test_parameter_counts_grow_up_the_ladder(stages):
    counts = [stage_config(s, 65).num_parameters for s in stages]
    assert counts[0] == 65 * 65  # the bigram table: a row of 65 logits per character
    assert counts[1] == counts[2]  # four heads of 8 have the weights of one head of 32
    assert counts == sorted(counts) and counts[3] > counts[2] and counts[5] > counts[4] > counts[3]
    assert counts[6] > 5 * counts[5]  # "scaled up"
    assert counts == [GPT(stage_config(s, 65)).num_parameters() for s in stages]  # what is built


def test_every_stage_shows_the_lectures_figure():
    figures = [s.lecture_val_loss for s in STAGES]
    assert figures == ["≈2.49", "≈2.4–2.5", "2.28", "2.24", "≈2.09", "2.06", "≈1.48"]
    assert SCALED_ON_CPU.lecture_val_loss == STAGES[-1].lecture_val_loss


# --- the bigram model ------------------------------------------------------------------------------


def test_the_bigram_forward_is_a_lookup_in_its_table(make_config):
    config = make_config(bigram=True)
    torch.manual_seed(0)
    model = GPT(config).eval()
    table = model.tok_emb.weight  # (V, V)
    assert table.shape == (config.vocab_size, config.vocab_size) and model.num_parameters() == table.numel()
    idx = torch.randint(config.vocab_size, (3, config.block_size), generator=torch.Generator().manual_seed(1))
    targets = torch.randint(config.vocab_size, (3, config.block_size), generator=torch.Generator().manual_seed(2))
    logits, loss = model(idx, targets)
    assert torch.equal(logits, table[idx])  # (B, T, V): the row of each current token, nothing else
    assert torch.allclose(loss, F.cross_entropy(table[idx].view(-1, config.vocab_size), targets.view(-1)))
    assert torch.equal(model.last_logits(idx), table[idx[:, -1]])


def test_a_bigram_model_generates_from_its_table_and_has_no_attention(make_config):
    config = make_config(bigram=True)
    torch.manual_seed(0)
    model = GPT(config).eval()
    with torch.no_grad():
        model.tok_emb.weight.normal_(0, 3)  # sharp rows: greedy paths are informative
    out = model.generate(torch.tensor([[3]]), 2 * config.block_size, temperature=0)  # past the window too
    table = model.tok_emb.weight
    for k in range(1, out.shape[1]):
        assert out[0, k] == table[out[0, k - 1]].argmax()  # the next token: the likeliest of the last one's row
    with pytest.raises(ValueError, match="bigram model has no attention"):
        model(out[:, :4], return_attention=True)


# --- a short ladder --------------------------------------------------------------------------------


def recording_endings(patch) -> list[str | None]:
    """Why each stage's training ended (its trainer's last stop_reason: "time_budget", "stop"), in
    order; the ladder's short untimed probes of each stage's speed are left out."""
    endings = []

    class EndingTrainer(ladder_module.Trainer):
        def run(self):
            last = None
            for last in super().run():
                yield last
            if self.config.time_budget_s is not None:
                endings.append(last.stop_reason)

    patch.setattr(ladder_module, "Trainer", EndingTrainer)
    return endings


@pytest.fixture(scope="module")
def short_ladder():
    """Every CPU stage for a fraction of a second on a tiny text: (results, every item in order,
    why each stage ended)."""
    with pytest.MonkeyPatch.context() as patch:
        endings = recording_endings(patch)
        items = list(Ladder(TEXT, seconds_per_stage=0.3, device="cpu").run())
    return [i for i in items if isinstance(i, StageResult)], items, endings


def test_a_short_ladder_runs_every_stage_in_order(short_ladder):
    results, items, endings = short_ladder
    assert [r.number for r in results] == list(range(7)) and [r.stage for r in results] == list(CPU_STAGES)
    for r in results:
        points = [i for i in items if isinstance(i, StagePoint) and i.stage == r.number]
        assert points and points[-1].step == r.steps and r.steps >= 1  # its last evaluation ends it
        assert all(a.step < b.step for a, b in zip(points, points[1:]))  # one point per evaluated step
        assert [p for p in points if p.val_loss is not None] and r.val_loss == points[-1].val_loss
        assert [(p.step, p.val_loss) for p in points] == [(s, v) for s, _, v in r.curve]
        assert r.seconds >= 0.3 and not r.stopped  # it ran its whole budget...
        assert r.parameters == stage_config(r.stage, len(set(TEXT))).num_parameters
    # Items come stage by stage: every point of a stage before its result, before the next stage's.
    order = [i.stage if isinstance(i, StagePoint) else i.number for i in items]
    assert order == sorted(order)
    assert endings == ["time_budget"] * 7  # ...and its budget ended it (at the first step past it)


def test_its_table_has_a_row_per_stage_beside_the_lectures_figures(short_ladder):
    results, _, _ = short_ladder
    table = markdown(results, 0.3, "char", "cpu", "tiny.txt")
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| stage")]
    assert len(rows) == 7
    for r, row in zip(results, rows):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[0] == f"{r.number + 1}. {r.stage.name}" and cells[2] == f"{r.parameters:,}"
        assert cells[3] == f"{r.steps:,}" and cells[5] == f"{r.val_loss:.3f}" and cells[6] == r.stage.lecture_val_loss
    assert "5,000 steps on a GPU" in table and "commit messages (2023-01-16)" in table
    data = curves(results)
    assert [s["name"] for s in data["stages"]] == [s.name for s in CPU_STAGES]
    assert all(len(s["points"]) == len(r.curve) for s, r in zip(data["stages"], results))


def test_stop_ends_the_stage_in_progress_and_starts_no_other(monkeypatch):
    endings = recording_endings(monkeypatch)
    ladder = Ladder(TEXT, seconds_per_stage=1, device="cpu")
    items = []
    for item in ladder.run():
        items.append(item)
        if isinstance(item, StagePoint) and item.stage == 1 and not ladder.stopped:
            stopper = threading.Thread(target=ladder.stop)  # from another thread, as the app's Stop
            stopper.start()
            stopper.join()  # Stop has arrived before stage 1 takes its next step
    results = [i for i in items if isinstance(i, StageResult)]
    assert [r.number for r in results] == [0, 1]
    assert not results[0].stopped and results[0].seconds >= 1  # the whole budget
    assert endings == ["time_budget", "stop"]  # stage 1 ended by Stop, not by its budget
    assert results[1].stopped
    assert ladder.stopped


def test_the_thread_count_is_given_back(monkeypatch):
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen = set()
        for _ in Ladder(TEXT, seconds_per_stage=0.05, device="cpu", stages=CPU_STAGES[:2]).run():
            seen.add(torch.get_num_threads())
        assert seen == {ladder_module.CPU_THREADS}  # while it trains
        assert torch.get_num_threads() == 2  # after
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("kwargs, words", [
    (dict(text="short text"), "tokens long; the ladder's longest context is 32 tokens, so it needs at least 33"),
    (dict(seconds_per_stage=0), "seconds_per_stage must be a positive number"),
    (dict(seconds_per_stage=float("nan")), "seconds_per_stage must be a positive number"),
    (dict(seconds_per_stage="15"), "seconds_per_stage must be a positive number"),
    (dict(tokenizer="bpe", max_parameters=10_000), "The bigram stage would have .* Use the char tokenizer"),
    (dict(tokenizer="words"), "Tokenizer must be"),
])
def test_bad_ladders_are_refused_before_any_training(kwargs, words):
    args = dict(text=TEXT, seconds_per_stage=1.0, device="cpu") | kwargs
    with pytest.raises(ValueError, match=words):
        Ladder(**args)


# --- the command line ------------------------------------------------------------------------------


def test_the_command_line_writes_the_table_and_the_curves(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(ladder_module, "stages_for", lambda device: CPU_STAGES[:3])  # a shorter ladder, same code
    (tmp_path / "in.txt").write_text(TEXT, encoding="utf-8")
    out = tmp_path / "ladder.md"
    assert main(["--text", str(tmp_path / "in.txt"), "--seconds-per-stage", "0.2", "--out", str(out), "--device", "cpu"]) == 0
    printed = capsys.readouterr()
    table = out.read_text(encoding="utf-8")
    assert table == printed.out and "# The lecture's ladder on in.txt" in table
    assert len([line for line in table.splitlines() if line.startswith("| ") and line[2].isdigit()]) == 3
    assert "3. multi-head: val" in printed.err  # progress, stage by stage
    data = json.loads((tmp_path / "ladder.json").read_text(encoding="utf-8"))  # beside --out by default
    assert len(data["stages"]) == 3 and all(s["points"] for s in data["stages"])


@pytest.mark.parametrize("argv, words", [
    ([], "the following arguments are required: --text"),
    (["--text", "{missing}"], "cannot read --text"),
    (["--text", "{text}", "--seconds-per-stage", "0"], "--seconds-per-stage must be a positive number"),
    (["--text", "{text}", "--seconds-per-stage", "nan"], "--seconds-per-stage must be a positive number"),
    (["--text", "{text}", "--seconds-per-stage", "soon"], "invalid float value"),
    (["--text", "{text}", "--tokenizer", "words"], "invalid choice"),
    (["--text", "{text}", "--out", "{folder}"], "give a file name in an existing folder"),
    (["--text", "{text}", "--out", "{folder}/no/such/ladder.md"], "give a file name in an existing folder"),
])
def test_command_line_argument_errors_say_what_to_change(tmp_path, capsys, argv, words):
    (tmp_path / "in.txt").write_text(TEXT, encoding="utf-8")
    names = dict(missing=tmp_path / "nowhere.txt", text=tmp_path / "in.txt", folder=tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main([a.format(**names) for a in argv])
    assert exit_info.value.code == 2
    assert words in capsys.readouterr().err


def test_a_text_too_short_is_an_error_not_a_traceback(tmp_path, capsys):
    (tmp_path / "in.txt").write_text("To be.", encoding="utf-8")
    assert main(["--text", str(tmp_path / "in.txt"), "--device", "cpu"]) == 2
    assert capsys.readouterr().err.startswith("error: The text is 6 tokens long")
