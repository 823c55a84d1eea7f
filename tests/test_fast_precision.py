"""The `bf16` inference precision (gpt/fast_weights.py): bf16 weight copies for generation.

Where fast must engage, the hardware probe (and, for tiny models, the size rule) is patched:
the behaviour under test is the copies' lifetime and the decode path's, on any CPU."""

import gc
import threading
import weakref
from pathlib import Path

import pytest
import torch
from safetensors.torch import load as safetensors_load

import gpt
import gpt.fast_weights as fw
from gpt.checkpoint import to_bytes
from gpt.generation import generate, stream
from gpt.kv_cache import KVCache
from gpt.precision_check import MAX_MEAN_ABS_DLOGP, MIN_TOP1_AGREEMENT, RULE_TOKENS, fast_agreement

pytestmark = pytest.mark.usefixtures("one_thread")
ASSETS = Path(__file__).resolve().parent.parent / "assets"


@pytest.fixture
def fast_here(monkeypatch):
    """fast engages on this CPU for any model size."""
    monkeypatch.setattr(fw, "bf16_supported", lambda device: True)
    monkeypatch.setattr(fw, "CPU_FAST_MIN_WEIGHT_MB", 0.0)


def prompt(vocab, B=1, T=3, seed=0):
    return torch.randint(vocab, (B, T), generator=torch.Generator().manual_seed(seed))


def seeded(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("bad", ["fast", "BF16", "", None, 1])  # "fast" is a preset, not a precision
def test_bad_precision_is_refused_on_the_call(sharp, config, bad):
    idx = prompt(config.vocab_size)
    with pytest.raises(ValueError, match="precision must be 'exact' .* or 'bf16'"):
        sharp.generate(idx, 3, precision=bad)
    with pytest.raises(ValueError, match="precision must be"):
        sharp.generate_stream(idx, 3, precision=bad)  # before the first next()
    with pytest.raises(ValueError, match="precision must be"):
        fw.decode_precision(sharp, bad)


def test_fast_falls_back_to_exact_where_bf16_is_not_native(sharp, config, monkeypatch):
    monkeypatch.setattr(fw, "CPU_FAST_MIN_WEIGHT_MB", 0.0)
    monkeypatch.setattr(fw, "cpu_has_native_bf16", lambda: False)
    assert not fw.bf16_supported(torch.device("cpu"))
    assert fw.decode_precision(sharp, "bf16") == "exact"
    idx = prompt(config.vocab_size, B=2)
    fast = sharp.generate(idx, 12, generator=seeded(3), precision="bf16")
    assert torch.equal(fast, sharp.generate(idx, 12, generator=seeded(3)))
    assert not fw.has_fast_weights(sharp)  # nothing was copied


def test_fast_is_exact_below_the_size_rule_on_a_cpu(sharp, monkeypatch):
    monkeypatch.setattr(fw, "bf16_supported", lambda device: True)
    assert fw.copied_mb(sharp) < fw.CPU_FAST_MIN_WEIGHT_MB
    assert fw.decode_precision(sharp, "bf16") == "exact"
    monkeypatch.setattr(fw, "CPU_FAST_MIN_WEIGHT_MB", 0.0)
    assert fw.decode_precision(sharp, "bf16") == "bf16"
    assert fw.decode_precision(sharp, "exact") == "exact"


def test_fast_generation_is_deterministic_with_a_seed_and_uses_the_copies(sharp, config, fast_here):
    idx = prompt(config.vocab_size, B=2)
    a = sharp.generate(idx, 20, generator=seeded(1), precision="bf16")
    b = sharp.generate(idx, 20, generator=seeded(1), precision="bf16")
    c = sharp.generate(idx, 20, generator=seeded(2), precision="bf16")
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert fw.has_fast_weights(sharp)


@pytest.mark.parametrize("packed", [True, False], ids=["onednn-packed", "plain-bf16 (the CUDA path)"])
def test_fast_logits_follow_exact_to_bf16_rounding(variant, make_sharp, fast_here, monkeypatch, packed):
    """For every variant of the model (tests/conftest.py), the lecture's switches included."""
    config, sharp = variant, make_sharp(variant)
    if not packed:
        monkeypatch.setattr(fw, "_onednn_bf16", lambda: False)
    elif not fw._onednn_bf16():
        pytest.skip("oneDNN's bf16 linear is not available on this CPU; the plain case covers the decode path")
    # Without LayerNorm nothing rescales the sharp model's stream, and bf16's rounding compounds
    # through the MLP: 6.3% of the largest logit measured (a wrong decode path is off by ~100%).
    tolerance = 0.05 if config.layer_norm else 0.1
    seq = prompt(config.vocab_size, B=2, T=config.block_size, seed=4)
    exact, fast = KVCache(sharp, 2), KVCache(sharp, 2, fw.fast_weights(sharp))
    assert fast.weights.linear is (fw._packed_linear if packed else fw._plain_linear)
    differ = False
    with torch.inference_mode():
        exact.forward(seq[:, :3])
        first = fast.forward(seq[:, :3])  # the prompt: several positions at once
        for end in range(4, config.block_size + 1):
            e, f = exact.forward(seq[:, end - 1 : end]), fast.forward(seq[:, end - 1 : end])
            assert f.dtype == torch.float32
            scale = e.abs().max()
            assert (f - e).abs().max() <= tolerance * scale, f"position {end - 1}"
            differ |= not torch.equal(f, e)
        # The prompt's logits agree with the same positions run one at a time.
        one_by_one = KVCache(sharp, 2, fw.fast_weights(sharp))
        for t in range(3):
            stepped = one_by_one.forward(seq[:, t : t + 1])
        assert torch.allclose(first, stepped, atol=tolerance * first.abs().max().item())
    assert differ  # bf16 did run: its logits are not float32's


def test_past_the_window_fast_recomputes_exactly(sharp, config, fast_here):
    idx = prompt(config.vocab_size, T=2, seed=7)
    out = sharp.generate(idx, 3 * config.block_size, temperature=0, precision="bf16")
    block = config.block_size
    with torch.inference_mode():
        for k in range(block + 1, out.shape[1]):  # every token chosen once the window slid
            window = out[:, k - block : k]
            assert torch.equal(sharp(window)[0][:, -1].argmax(-1), out[:, k]), f"token {k}"


def test_copies_are_rebuilt_when_the_weights_change(sharp, fast_here):
    first = fw.fast_weights(sharp)
    assert fw.fast_weights(sharp) is first  # made once, then reused
    with torch.no_grad():
        sharp.blocks[0].ln_1.weight.mul_(2)  # an in-place write autograd counts
    second = fw.fast_weights(sharp)
    assert second is not first
    assert torch.equal(second.layers[0][0], sharp.blocks[0].ln_1.weight)
    sharp.to(torch.bfloat16).float()  # new storage, same values
    assert fw.fast_weights(sharp) is not second


def test_a_model_made_in_inference_mode_gets_fresh_copies_every_time(make_config, fast_here):
    config = make_config()
    with torch.inference_mode():  # its parameters have no version counters to watch
        model = gpt.GPT(config).eval()
    assert fw.fast_weights(model) is not fw.fast_weights(model)
    out = model.generate(prompt(config.vocab_size), 5, temperature=0, precision="bf16")
    assert out.shape == (1, 8)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_drops_the_copies(make_sharp, make_config, fast_here, precision):
    # Neither the Trainer's fused AdamW step nor its bf16 master weights' write-back bumps a
    # version counter: the Trainer says so explicitly.
    config = make_config()
    model = make_sharp(config)
    before = fw.fast_weights(model)
    ids = torch.randint(config.vocab_size, (200,), generator=seeded(0))
    trainer = gpt.Trainer(model, ids, None, gpt.TrainConfig(max_steps=2, batch_size=2, eval_interval=10, eval_iters=1, precision=precision, device="cpu"))
    run = trainer.run()
    next(run)
    assert not fw.has_fast_weights(model)  # dropped at the first step
    fw.fast_weights(model)
    for _ in run:
        pass
    assert not fw.has_fast_weights(model)
    after = fw.fast_weights(model)
    assert after is not before
    assert torch.equal(after.layers[0][0], model.blocks[0].ln_1.weight)


def test_copies_are_not_part_of_the_model_and_go_with_it(make_sharp, make_config, english, fast_here):
    model = make_sharp(make_config(vocab_size=len(set(english))))
    tokenizer = gpt.CharTokenizer.from_text(english)
    keys, saved = set(model.state_dict()), safetensors_load(to_bytes(model, tokenizer))
    copies = weakref.ref(fw.fast_weights(model))
    assert set(model.state_dict()) == keys
    checkpoint = safetensors_load(to_bytes(model, tokenizer))
    assert checkpoint.keys() == saved.keys()  # a checkpoint holds nothing more
    assert all(torch.equal(checkpoint[k], saved[k]) for k in saved)
    assert copies() is not None
    del model
    gc.collect()
    assert copies() is None


def test_threads_sharing_a_model_get_the_same_tokens(sharp, config, fast_here):
    idx = prompt(config.vocab_size, B=1, T=2, seed=9)
    expected = sharp.generate(idx, 30, generator=seeded(5), precision="bf16")
    fw.weights_changed(sharp)  # the threads race to build the copies
    results, errors = [], []

    def work():
        try:
            results.append(sharp.generate(idx, 30, generator=seeded(5), precision="bf16"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 4 and all(torch.equal(r, expected) for r in results)


def test_stream_and_generate_agree_in_fast(sharp, config, fast_here):
    idx = prompt(config.vocab_size, B=2)
    streamed = torch.cat([idx, *stream(sharp, idx, 10, generator=seeded(6), precision="bf16")], dim=1)
    assert torch.equal(streamed, generate(sharp, idx, 10, generator=seeded(6), precision="bf16"))


def test_quality_rule_holds_on_the_bundled_model():
    model, tokenizer, _ = gpt.load(ASSETS / "shakespeare-char.safetensors")
    ids = torch.tensor(tokenizer.encode((ASSETS / "shakespeare.txt").read_text(encoding="utf-8")))
    _, val = gpt.split_ids(ids, model.config.block_size, 0.1)
    result = fast_agreement(model, val)
    assert result.tokens == RULE_TOKENS
    assert result.top1_agreement >= MIN_TOP1_AGREEMENT, result
    assert result.mean_abs_dlogp <= MAX_MEAN_ABS_DLOGP, result
    assert result.meets_rule
    assert result.mean_abs_dlogp > 0  # the bf16 path ran: its log-probabilities moved
