"""Checkpoints: exact round trip, the tied weight stored once, atomic saves, and refusal of
anything that is not a whole Mirador checkpoint, without ever executing it."""

import json
import os

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import gpt.checkpoint as ckpt
from gpt import GPT, AttentionTimeline, Checkpoint, GPTConfig, load, load_checkpoint, make_tokenizer, save

pytestmark = pytest.mark.usefixtures("one_thread")

TEXT = "To be, or not to be, that is the question.\n"


def build(kind="char", seed=0, **shape):
    tok = make_tokenizer(kind, TEXT)
    cfg = GPTConfig(**{**dict(vocab_size=tok.vocab_size, block_size=8, n_layer=2, n_head=2, n_embd=16), **shape})
    torch.manual_seed(seed)
    model = GPT(cfg)
    with torch.no_grad():  # weights unlike a fresh init, so a load that re-initialises shows
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model.eval(), tok


def logits_of(model, vocab):
    idx = torch.arange(8).remainder(vocab).view(1, 8)
    with torch.no_grad():
        return model(idx)[0]


def valid_parts(model, tok):
    tensors = {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    header = {
        "format": "mirador-gpt",
        "format_version": "1",
        "config": json.dumps(model.config.to_dict()),
        "tokenizer": json.dumps(tok.to_dict()),
        "meta": "{}",
    }
    return tensors, header


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_round_trip_is_exact(tmp_path, kind):
    model, tok = build(kind)
    meta = {"steps": 30, "val_loss": 1.25, "text": "hamlet.txt", "nested": {"a": [1, 2]}}
    path = save(tmp_path / "model.safetensors", model, tok, meta)
    assert path == tmp_path / "model.safetensors" and path.is_file()
    loaded, tok2, meta2 = load(path)
    assert loaded.config == model.config
    assert type(tok2) is type(tok) and tok2.to_dict() == tok.to_dict()
    assert tok2.encode(TEXT) == tok.encode(TEXT)
    assert meta2 == meta
    assert torch.equal(logits_of(loaded, tok.vocab_size), logits_of(model, tok.vocab_size))
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name


def test_loaded_model_generates_like_the_original(tmp_path):
    model, tok = build()
    save(tmp_path / "m.safetensors", model, tok)
    loaded, _, _ = load(tmp_path / "m.safetensors")
    idx = torch.tensor([tok.encode("To be")])
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    assert torch.equal(loaded.generate(idx, 12, generator=g()), model.generate(idx, 12, generator=g()))


def test_meta_defaults_to_empty(tmp_path):
    model, tok = build()
    save(tmp_path / "m.safetensors", model, tok)
    assert load(tmp_path / "m.safetensors")[2] == {}


def test_tied_weight_stored_once_and_retied(tmp_path):
    model, tok = build()
    path = save(tmp_path / "m.safetensors", model, tok)
    with safe_open(str(path), framework="pt") as f:
        keys = set(f.keys())
        header = f.metadata()
    assert "lm_head.weight" not in keys and "tok_emb.weight" in keys
    assert keys == set(model.state_dict()) - {"lm_head.weight"}
    assert header["format"] == "mirador-gpt"
    loaded, _, _ = load(path)
    assert loaded.lm_head.weight is loaded.tok_emb.weight
    assert torch.equal(loaded.lm_head.weight, model.tok_emb.weight)


def test_save_over_an_existing_checkpoint_replaces_it(tmp_path):
    a, tok = build(seed=0)
    b, _ = build(seed=1)
    path = tmp_path / "m.safetensors"
    save(path, a, tok)
    save(path, b, tok, {"v": 2})
    loaded, _, meta = load(path)
    assert meta == {"v": 2}
    assert torch.equal(logits_of(loaded, tok.vocab_size), logits_of(b, tok.vocab_size))
    assert os.listdir(tmp_path) == ["m.safetensors"]


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_failed_save_leaves_previous_checkpoint_intact(tmp_path, monkeypatch, failing):
    old, tok = build(seed=0)
    new, _ = build(seed=1)
    path = tmp_path / "model.safetensors"
    save(path, old, tok, {"version": "old"})
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError(f"simulated {failing} failure (disk full)")

    monkeypatch.setattr(ckpt.os, failing, boom)
    with pytest.raises(OSError, match="simulated"):
        save(path, new, tok, {"version": "new"})
    monkeypatch.undo()
    assert path.read_bytes() == before
    loaded, _, meta = load(path)
    assert meta == {"version": "old"}
    assert torch.equal(logits_of(loaded, tok.vocab_size), logits_of(old, tok.vocab_size))
    assert os.listdir(tmp_path) == ["model.safetensors"]  # no temporary debris


def test_interrupted_save_leaves_no_debris(tmp_path, monkeypatch):
    model, tok = build()
    path = tmp_path / "model.safetensors"

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt.os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save(path, model, tok)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.safetensors")
    with pytest.raises(FileNotFoundError):
        load(tmp_path)  # a folder is not a checkpoint file


def assert_refused(path):
    with pytest.raises(ValueError) as info:
        load(path)
    assert "not a Mirador checkpoint" in str(info.value)
    return str(info.value)


# Hostile and broken files (cut short, foreign, random, pickles, bad headers, bad tensors) are one
# table, tried against this loader, the upload logic and the served app: tests/test_hostile_files.py.


def test_control_a_hand_built_valid_file_loads(tmp_path):
    # The hand-built files above differ from this one only in what each test breaks.
    model, tok = build()
    tensors, header = valid_parts(model, tok)
    path = tmp_path / "model.safetensors"
    save_file(tensors, str(path), metadata=header)
    loaded, _, _ = load(path)
    assert torch.equal(logits_of(loaded, tok.vocab_size), logits_of(model, tok.vocab_size))


# ------------------------------------------------------------ the attention timeline


def timeline_for(model, steps=(10, 20, 30), probe=(0, 3, 1, 2)):
    timeline = AttentionTimeline(list(probe), model.config)
    gen = torch.Generator().manual_seed(0)
    t = len(probe)
    future = torch.ones(t, t, dtype=torch.bool).triu(1)
    for step in steps:
        scores = torch.randn(model.config.n_layer, model.config.n_head, t, t, generator=gen)
        timeline.add(step, scores.masked_fill(future, float("-inf")).softmax(-1))
    return timeline


def test_round_trip_with_a_timeline(tmp_path):
    model, tok = build()
    timeline = timeline_for(model)
    path = save(tmp_path / "m.safetensors", model, tok, {"steps": 30}, timeline=timeline)
    with safe_open(str(path), framework="pt") as f:
        assert {"timeline.probe", "timeline.steps", "timeline.maps"} <= set(f.keys())
    loaded = load_checkpoint(path)
    assert isinstance(loaded, Checkpoint) and loaded.meta == {"steps": 30}
    assert torch.equal(logits_of(loaded.model, tok.vocab_size), logits_of(model, tok.vocab_size))
    assert loaded.timeline.probe_ids == timeline.probe_ids and loaded.timeline.steps == [10, 20, 30]
    for a, b in zip(loaded.timeline.snapshots, timeline.snapshots):
        assert torch.equal(a.maps, b.maps)
    model2, tok2, meta2 = load(path)  # load keeps its three results, timeline or not
    assert torch.equal(logits_of(model2, tok.vocab_size), logits_of(model, tok.vocab_size)) and meta2 == {"steps": 30}


def test_a_checkpoint_without_a_timeline_loads_with_none(tmp_path):
    model, tok = build()
    save(tmp_path / "m.safetensors", model, tok)
    assert load_checkpoint(tmp_path / "m.safetensors").timeline is None
    empty = AttentionTimeline([0, 1], model.config)
    save(tmp_path / "e.safetensors", model, tok, timeline=empty)  # nothing to store
    assert load_checkpoint(tmp_path / "e.safetensors").timeline is None


def test_a_checkpoint_written_before_timelines_loads(tmp_path):
    # valid_parts builds the file the way the first format did: weights and header only.
    model, tok = build()
    tensors, header = valid_parts(model, tok)
    save_file(tensors, str(tmp_path / "old.safetensors"), metadata=header)
    loaded = load_checkpoint(tmp_path / "old.safetensors")
    assert loaded.timeline is None
    assert torch.equal(logits_of(loaded.model, tok.vocab_size), logits_of(model, tok.vocab_size))


def test_saving_another_models_timeline_is_refused(tmp_path):
    model, tok = build()
    other, _ = build(n_layer=1)
    with pytest.raises(ValueError, match="timeline.maps must have shape"):
        save(tmp_path / "m.safetensors", model, tok, timeline=timeline_for(other))
    assert os.listdir(tmp_path) == []


def hostile(name):
    """Timeline tensors for build()'s model (2 layers x 2 heads, block 8, vocab 17), each broken one way."""
    good = lambda: {  # noqa: E731
        "timeline.probe": torch.tensor([0, 3, 1], dtype=torch.int64),
        "timeline.steps": torch.tensor([5, 10], dtype=torch.int64),
        "timeline.maps": torch.full((2, 2, 2, 3, 3), 0.25, dtype=torch.float16),
    }
    t = good()
    if name == "maps_float32":
        t["timeline.maps"] = t["timeline.maps"].float()
    elif name == "steps_float":
        t["timeline.steps"] = t["timeline.steps"].double()
    elif name == "probe_int32":
        t["timeline.probe"] = t["timeline.probe"].int()
    elif name == "maps_nan":
        t["timeline.maps"][1, 0, 0, 2, 1] = float("nan")
    elif name == "maps_inf":
        t["timeline.maps"][0, 1, 1, 0, 0] = float("inf")
    elif name == "maps_above_one":
        t["timeline.maps"][0, 0, 0, 1, 1] = 7.0
    elif name == "maps_negative":
        t["timeline.maps"][0, 0, 0, 1, 1] = -0.5
    elif name == "maps_wrong_layers":
        t["timeline.maps"] = torch.zeros(2, 3, 2, 3, 3, dtype=torch.float16)
    elif name == "maps_wrong_tokens":
        t["timeline.maps"] = torch.zeros(2, 2, 2, 4, 4, dtype=torch.float16)
    elif name == "probe_longer_than_context":
        t["timeline.probe"] = torch.zeros(9, dtype=torch.int64)
        t["timeline.maps"] = torch.zeros(2, 2, 2, 9, 9, dtype=torch.float16)
    elif name == "too_many_snapshots":
        t["timeline.steps"] = torch.arange(1, 52, dtype=torch.int64)
        t["timeline.maps"] = torch.zeros(51, 2, 2, 3, 3, dtype=torch.float16)
    elif name == "steps_not_increasing":
        t["timeline.steps"] = torch.tensor([10, 10], dtype=torch.int64)
    elif name == "negative_step":
        t["timeline.steps"] = torch.tensor([-5, 10], dtype=torch.int64)
    elif name == "probe_outside_vocabulary":
        t["timeline.probe"] = torch.tensor([0, 3, 10_000], dtype=torch.int64)
    elif name == "probe_2d":
        t["timeline.probe"] = t["timeline.probe"].view(1, 3)
    elif name == "missing_steps":
        del t["timeline.steps"]
    elif name == "unexpected_tensor":
        t["timeline.labels"] = torch.zeros(3)
    return t


HOSTILE = {
    "control": None,
    "maps_float32": "timeline.maps must be torch.float16",
    "steps_float": "timeline.steps must be torch.int64",
    "probe_int32": "timeline.probe must be torch.int64",
    "maps_nan": "finite numbers in [0, 1]",
    "maps_inf": "finite numbers in [0, 1]",
    "maps_above_one": "finite numbers in [0, 1]",
    "maps_negative": "finite numbers in [0, 1]",
    "maps_wrong_layers": "must have shape (2, 2, 2, 3, 3)",
    "maps_wrong_tokens": "must have shape (2, 2, 2, 3, 3)",
    "probe_longer_than_context": "1 to 8 tokens",
    "too_many_snapshots": "1 to 50 steps",
    "steps_not_increasing": "increasing",
    "negative_step": "increasing and >= 0",
    "probe_outside_vocabulary": "vocabulary",
    "probe_2d": "one-dimensional",
    "missing_steps": "needs exactly the tensors",
    "unexpected_tensor": "needs exactly the tensors",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_timeline_tensors_are_refused_with_a_reason(tmp_path, name):
    model, tok = build()
    tensors, header = valid_parts(model, tok)
    tensors.update(hostile(name))
    path = tmp_path / "model.safetensors"
    save_file(tensors, str(path), metadata=header)
    if HOSTILE[name] is None:  # the control: the same file, unbroken, loads
        assert load_checkpoint(path).timeline.steps == [5, 10]
        return
    message = assert_refused(path)
    assert "invalid attention timeline" in message and HOSTILE[name] in message


# --- the lecture's switches (GPTConfig.residual, layer_norm, mlp, bigram; gpt/ladder.py) ------------

SWITCHES = ("residual", "layer_norm", "mlp", "bigram")


def test_a_checkpoint_written_before_the_switches_loads_as_the_full_model(tmp_path):
    model, tok = build()
    tensors, header = valid_parts(model, tok)
    old_config = {k: v for k, v in model.config.to_dict().items() if k not in SWITCHES}
    save_file(tensors, str(tmp_path / "old.safetensors"), metadata={**header, "config": json.dumps(old_config)})
    loaded, _, _ = load(tmp_path / "old.safetensors")
    assert loaded.config == model.config and loaded.config.changed_switches == ()
    assert torch.equal(logits_of(loaded, tok.vocab_size), logits_of(model, tok.vocab_size))


def test_the_bundled_model_loads_unchanged():
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "assets" / "shakespeare-char.safetensors"
    with safe_open(str(path), framework="pt") as f:
        written = json.loads(f.metadata()["config"])
        stored = set(f.keys())
    assert not set(SWITCHES) & set(written)  # written before the switches existed
    model, _, _ = load(path)
    assert model.config.changed_switches == ()
    assert model.config.to_dict() == {**written, "residual": True, "layer_norm": True, "mlp": True, "bigram": False}
    assert stored == set(model.state_dict()) - {"lm_head.weight"}  # every tensor of the file, and no other, is used
    assert model.lm_head.weight is model.tok_emb.weight


@pytest.mark.parametrize("switches", [dict(residual=False), dict(layer_norm=False), dict(mlp=False),
                                      dict(residual=False, layer_norm=False, mlp=False), dict(bigram=True)])
def test_switches_are_saved_and_loaded(tmp_path, switches):
    model, tok = build(**switches)
    save(tmp_path / "m.safetensors", model, tok)
    loaded, _, _ = load(tmp_path / "m.safetensors")
    assert loaded.config == model.config and set(loaded.config.changed_switches) == set(switches)
    assert torch.equal(logits_of(loaded, tok.vocab_size), logits_of(model, tok.vocab_size))
    config, _, _ = ckpt.read_header(tmp_path / "m.safetensors")
    assert config == model.config
