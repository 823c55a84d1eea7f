"""Per-token surprise and top guesses: one forward's cross-entropy within the block, the plain
per-position loop past it, batching that changes nothing, and the model left as it was."""

import pytest
import torch
import torch.nn.functional as F

import gpt.surprise as surprise_module
from gpt import token_losses, token_surprise, top_guesses

pytestmark = pytest.mark.usefixtures("one_thread")


def random_ids(n, vocab, seed=0):
    return torch.randint(vocab, (n,), generator=torch.Generator().manual_seed(seed))


def naive(model, ids, k):
    """One forward per position, on the cropped context: the definition, written plainly."""
    B = model.config.block_size
    losses, top_ids, top_probs = [], [], []
    with torch.no_grad():
        for i in range(1, len(ids)):
            context = ids[max(0, i - B) : i].view(1, -1)
            log_probs = model(context)[0][0, -1].log_softmax(-1)
            losses.append(-log_probs[ids[i]])
            best = log_probs.topk(k)
            top_ids.append(best.indices)
            top_probs.append(best.values.exp())
    return torch.stack(losses), torch.stack(top_ids), torch.stack(top_probs)


@pytest.mark.parametrize("n", [2, 5, 9])  # block_size + 1 = 9
def test_within_the_block_it_is_one_forwards_cross_entropy(sharp, n):
    ids = random_ids(n, sharp.config.vocab_size)
    with torch.no_grad():
        logits, _ = sharp(ids[:-1].view(1, -1))
    expected = F.cross_entropy(logits[0], ids[1:], reduction="none")
    got = token_losses(sharp, ids)
    assert got.shape == (n - 1,) and got.dtype == torch.float32
    assert torch.allclose(got, expected, atol=1e-6)


def test_past_the_block_it_matches_the_per_position_loop(sharp):
    ids = random_ids(3 * sharp.config.block_size, sharp.config.vocab_size, seed=1)  # 24 tokens, block 8
    result = token_surprise(sharp, ids, k=5)
    losses, top_ids, top_probs = naive(sharp, ids, k=5)
    assert result.losses.shape == (23,) and result.top_ids.shape == (23, 5) and result.top_probs.shape == (23, 5)
    assert torch.allclose(result.losses, losses, atol=1e-5)
    assert torch.equal(result.top_ids, top_ids)
    assert torch.allclose(result.top_probs, top_probs, atol=1e-6)
    # Token i sees only the block_size tokens before it: changing token 0 changes the losses of
    # tokens 1..8 and of no later one.
    changed = ids.clone()
    changed[0] = (ids[0] + 1) % sharp.config.vocab_size
    moved = token_losses(sharp, changed) != result.losses
    assert bool(moved[:8].any()) and not bool(moved[8:].any())


def test_batches_of_windows_change_nothing(sharp, monkeypatch):
    ids = random_ids(40, sharp.config.vocab_size, seed=2)
    default = token_surprise(sharp, ids, k=3)
    for window_tokens in (1, 8, 24):  # one window per batch, then several, with a short last batch
        monkeypatch.setattr(surprise_module, "WINDOW_TOKENS", window_tokens)
        again = token_surprise(sharp, ids, k=3)
        assert torch.allclose(again.losses, default.losses, atol=1e-6)
        assert torch.equal(again.top_ids, default.top_ids)


def test_top_guesses_are_probabilities_likeliest_first(sharp):
    ids = random_ids(20, sharp.config.vocab_size, seed=3)
    top_ids, top_probs = top_guesses(sharp, ids, k=4)
    assert top_ids.dtype == torch.int64 and top_probs.dtype == torch.float32
    assert bool((top_probs[:, :-1] >= top_probs[:, 1:]).all())
    assert bool((top_probs.sum(-1) <= 1 + 1e-6).all())
    actual = torch.exp(-token_losses(sharp, ids))
    assert bool((top_probs[:, 0] >= actual - 1e-6).all())  # nothing beats the likeliest guess
    guessed_right = top_ids[:, 0] == ids[1:]
    assert torch.allclose(top_probs[guessed_right, 0], actual[guessed_right], atol=1e-6)


def test_k_is_capped_by_the_vocabulary_and_zero_is_allowed(sharp):
    ids = random_ids(6, sharp.config.vocab_size)
    top_ids, top_probs = top_guesses(sharp, ids, k=1000)
    assert top_ids.shape == (5, sharp.config.vocab_size)
    assert torch.allclose(top_probs.sum(-1), torch.ones(5), atol=1e-5)
    assert token_surprise(sharp, ids, k=0).top_ids.shape == (5, 0)
    with pytest.raises(ValueError, match="k"):
        top_guesses(sharp, ids, k=-1)


def test_the_model_is_read_in_eval_mode_and_left_as_it_was(make_config, make_sharp):
    model = make_sharp(make_config(dropout=0.5)).train()
    ids = random_ids(30, model.config.vocab_size)
    first = token_losses(model, ids)
    assert model.training  # restored
    assert torch.equal(token_losses(model, ids), first)  # no dropout while reading
    assert not first.requires_grad
    model.eval()
    assert torch.equal(token_losses(model, ids), first) and not model.training


def test_a_single_token_has_nothing_to_predict(sharp):
    result = token_surprise(sharp, [3], k=2)
    assert result.losses.shape == (0,) and result.top_ids.shape == (0, 2)


@pytest.mark.parametrize("ids", [[], [0, 23], [-1, 2], [[1, 2]], [0.5, 1.0]])
def test_bad_ids_are_refused(sharp, ids):
    with pytest.raises(ValueError):
        token_losses(sharp, ids)
