"""GPTConfig: validation with helpful messages, bounds, parameter count, dict round trip."""

import dataclasses
import json
import math
import tracemalloc

import pytest
import torch

from gpt import GPTConfig
from gpt import config as config_module

pytestmark = pytest.mark.usefixtures("one_thread")

SIZE_FIELDS = ("vocab_size", "block_size", "n_layer", "n_head", "n_embd")
BOUNDS = {
    "vocab_size": config_module.MAX_VOCAB_SIZE,
    "block_size": config_module.MAX_BLOCK_SIZE,
    "n_layer": config_module.MAX_N_LAYER,
    "n_head": config_module.MAX_N_HEAD,
    "n_embd": config_module.MAX_N_EMBD,
}
TINY = dict(vocab_size=20, block_size=8, n_layer=1, n_head=2, n_embd=16)


def tiny(**overrides):
    return GPTConfig(**{**TINY, **overrides})


def test_defaults_and_tiny_are_valid():
    c = GPTConfig()
    assert c.n_embd % c.n_head == 0
    t = tiny()
    assert (t.vocab_size, t.block_size, t.n_layer, t.n_head, t.n_embd, t.dropout) == (20, 8, 1, 2, 16, 0.0)
    assert t.head_size == 8


def test_config_is_frozen():
    c = tiny()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.n_embd = 32


@pytest.mark.parametrize("n_embd,n_head", [(30, 4), (16, 3), (2, 4), (17, 2)])
def test_n_embd_must_be_divisible_by_n_head(n_embd, n_head):
    with pytest.raises(ValueError) as info:
        tiny(n_embd=n_embd, n_head=n_head)
    msg = str(info.value)
    assert "divisible" in msg and str(n_embd) in msg and str(n_head) in msg


def test_divisibility_message_suggests_a_valid_width():
    with pytest.raises(ValueError) as info:
        tiny(n_embd=30, n_head=4)
    suggested = int(str(info.value).split("n_embd=")[-1].rstrip("."))
    assert suggested % 4 == 0 and suggested > 0
    tiny(n_embd=suggested, n_head=4)  # the suggestion itself is accepted


@pytest.mark.parametrize("field", SIZE_FIELDS)
@pytest.mark.parametrize("value", [0, -1, -64])
def test_non_positive_sizes_are_refused(field, value):
    with pytest.raises(ValueError) as info:
        tiny(**{field: value})
    assert field in str(info.value)
    assert str(value) in str(info.value)


@pytest.mark.parametrize("field", SIZE_FIELDS)
@pytest.mark.parametrize("value", [2.0, 16.5, "16", None, True, [16]])
def test_non_integer_sizes_are_refused(field, value):
    with pytest.raises(ValueError) as info:
        tiny(**{field: value})
    assert field in str(info.value)


@pytest.mark.parametrize("dropout", [-0.1, 1.0, 1.5, float("nan"), float("inf"), -float("inf"), "0.1", None, True])
def test_bad_dropout_is_refused(dropout):
    with pytest.raises(ValueError) as info:
        tiny(dropout=dropout)
    assert "dropout" in str(info.value)


@pytest.mark.parametrize("dropout", [0, 0.0, 0.1, 0.999])
def test_good_dropout_is_accepted(dropout):
    assert tiny(dropout=dropout).dropout == dropout


@pytest.mark.parametrize("field", SIZE_FIELDS)
def test_sizes_beyond_bounds_are_refused_naming_the_bound(field):
    bound = BOUNDS[field]
    with pytest.raises(ValueError) as info:
        tiny(**{field: bound + 1})
    msg = str(info.value)
    assert field in msg and str(bound) in msg


def test_huge_n_layer_is_refused_without_building_anything(monkeypatch):
    built = []  # every torch module constructed meanwhile: a refusal by its config builds none
    real_init = torch.nn.Module.__init__
    monkeypatch.setattr(torch.nn.Module, "__init__", lambda self, *a, **k: (built.append(type(self)), real_init(self, *a, **k))[1])
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            GPTConfig(vocab_size=65, block_size=64, n_layer=10_000, n_head=4, n_embd=128)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert built == []
    assert peak < 1_000_000  # bytes: nothing the size of a model was built
    msg = str(info.value)
    assert "n_layer" in msg and str(config_module.MAX_N_LAYER) in msg and "10000" in msg


def test_too_many_parameters_is_refused():
    # Every size is within its own bound, but together they are far too many parameters.
    shape = dict(vocab_size=65_536, block_size=2048, n_layer=24, n_head=32, n_embd=1536)
    expected = shape["vocab_size"] * 1536 + 24 * 12 * 1536 * 1536  # lower bound on the count
    assert expected > config_module.MAX_PARAMETERS
    with pytest.raises(ValueError) as info:
        GPTConfig(**shape)
    msg = str(info.value)
    assert "parameters" in msg
    assert f"{config_module.MAX_PARAMETERS:,}" in msg or str(config_module.MAX_PARAMETERS) in msg


def test_largest_lecture_model_is_accepted():
    c = GPTConfig(vocab_size=65, block_size=256, n_layer=6, n_head=6, n_embd=384, dropout=0.2)
    assert 10_000_000 < c.num_parameters < 11_000_000  # the lecture's "10.8M parameters"


def test_num_parameters_by_hand_for_one_shape():
    # vocab 10, block 4, 1 layer, width 8 (hand count: embeddings, attention, MLP, norms).
    c = GPTConfig(vocab_size=10, block_size=4, n_layer=1, n_head=2, n_embd=8)
    embeddings = 10 * 8 + 4 * 8
    attention = (8 * 24 + 24) + (8 * 8 + 8)
    mlp = (8 * 32 + 32) + (32 * 8 + 8)
    norms = 2 * 16 + 16
    assert c.num_parameters == embeddings + attention + mlp + norms


def test_to_dict_from_dict_round_trip():
    c = tiny(dropout=0.25, n_layer=3)
    d = c.to_dict()
    assert d == dict(TINY, dropout=0.25, n_layer=3, residual=True, layer_norm=True, mlp=True, bigram=False)
    assert GPTConfig.from_dict(json.loads(json.dumps(d))) == c


def test_from_dict_rejects_unknown_fields():
    d = dict(tiny().to_dict(), n_experts=8)
    with pytest.raises(ValueError) as info:
        GPTConfig.from_dict(d)
    assert "n_experts" in str(info.value)


@pytest.mark.parametrize("data", [None, [1, 2], "n_layer=2", 3])
def test_from_dict_rejects_non_dicts(data):
    with pytest.raises(ValueError):
        GPTConfig.from_dict(data)


def test_from_dict_validates_values():
    with pytest.raises(ValueError):
        GPTConfig.from_dict(dict(TINY, n_layer=10_000))
    with pytest.raises(ValueError):
        GPTConfig.from_dict(dict(TINY, dropout=math.nan))


# --- the lecture's switches (gpt/ladder.py) -----------------------------------------------------


@pytest.mark.parametrize("switch", ["residual", "layer_norm", "mlp", "bigram"])
@pytest.mark.parametrize("value", [1, 0, "yes", None])
def test_switches_must_be_true_or_false(switch, value):
    with pytest.raises(ValueError, match=f"{switch} must be true or false"):
        tiny(**{switch: value})


def test_the_defaults_are_the_full_model():
    assert tiny().changed_switches == ()
    assert tiny(mlp=False, residual=False).changed_switches == ("residual", "mlp")
    assert tiny(bigram=True).changed_switches == ("bigram",)


@pytest.mark.parametrize("switches", [
    {}, dict(residual=False), dict(layer_norm=False), dict(mlp=False),
    dict(residual=False, layer_norm=False, mlp=False), dict(bigram=True),
])
def test_num_parameters_counts_what_each_stage_builds(switches):
    from gpt import GPT

    c = tiny(n_layer=2, **switches)
    assert c.num_parameters == GPT(c).num_parameters()


def test_parts_switched_off_remove_their_parameters_by_hand():
    full = GPTConfig(vocab_size=10, block_size=4, n_layer=1, n_head=2, n_embd=8)
    mlp = (8 * 32 + 32) + (32 * 8 + 8)
    assert GPTConfig(**{**full.to_dict(), "mlp": False}).num_parameters == full.num_parameters - mlp
    assert GPTConfig(**{**full.to_dict(), "layer_norm": False}).num_parameters == full.num_parameters - (2 * 16 + 16)
    assert GPTConfig(**{**full.to_dict(), "residual": False}).num_parameters == full.num_parameters  # adds, not weights
    assert GPTConfig(**{**full.to_dict(), "bigram": True}).num_parameters == 10 * 10  # a row of logits per token
