"""The training thread and the page's side (ui/training_feed.py): steps never wait for the page."""

from __future__ import annotations

import pytest
import torch

from gpt import GPT, GPTConfig, TrainConfig, Trainer, TrainingDiverged
from ui.training_feed import TrainingFeed, train_in_background, weights_copy

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_trainer(max_steps=40, eval_interval=10, **train):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=5, block_size=8, n_layer=1, n_head=1, n_embd=8))
    ids = torch.randint(0, 5, (400,))
    config = TrainConfig(max_steps=max_steps, batch_size=4, eval_interval=eval_interval, eval_iters=1, precision="fp32", **train)
    return model, Trainer(model, ids[:300], ids[300:], config)


def take_all(feed):
    events, evaluations = [], []
    while True:
        taken = feed.take(timeout_s=1.0)
        events += taken.events
        evaluations += taken.evaluations
        if taken.finished:
            return events, evaluations


def test_steps_run_on_while_the_page_is_busy():
    model, trainer = tiny_trainer(max_steps=30)
    feed = TrainingFeed()
    steps = train_in_background(trainer, model, feed)
    steps.join(timeout=60)  # the page's side takes nothing: the training still runs to its end
    assert not steps.is_alive()
    events, evaluations = take_all(feed)
    assert [e.step for e in events] == list(range(1, 31))
    assert [e.step for e, _ in evaluations] == [e.step for e in events if e.eval_train_loss is not None]
    assert events[-1].done


def test_each_evaluation_carries_the_weights_of_its_step():
    model, trainer = tiny_trainer(max_steps=20, keep_best=False)
    feed = TrainingFeed()
    train_in_background(trainer, model, feed).join(timeout=60)
    _, evaluations = take_all(feed)
    first, last = evaluations[0][1], evaluations[-1][1]
    assert first.keys() == model.state_dict().keys()
    assert all(t.dtype == torch.float32 for t in first.values())
    assert not torch.equal(first["tok_emb.weight"], last["tok_emb.weight"])  # copies, not views of the live weights
    assert torch.equal(last["tok_emb.weight"], model.state_dict()["tok_emb.weight"])  # the last step's are the model's


def test_the_training_error_reaches_the_page_after_the_steps_before_it():
    model, trainer = tiny_trainer(max_steps=20)
    real_run = trainer.run

    def diverging():
        for event in real_run():
            yield event
            if event.step == 5:
                raise TrainingDiverged("The loss became nan at step 6.")

    trainer.run = diverging
    feed = TrainingFeed()
    train_in_background(trainer, model, feed).join(timeout=60)
    first = feed.take(timeout_s=1.0)
    assert [e.step for e in first.events] == [1, 2, 3, 4, 5] and not first.finished
    with pytest.raises(TrainingDiverged, match="step 6"):
        feed.take(timeout_s=1.0)


def test_stop_ends_the_thread_after_the_current_step():
    model, trainer = tiny_trainer(max_steps=100_000, eval_interval=1000)
    feed = TrainingFeed()
    steps = train_in_background(trainer, model, feed)
    first = feed.take(timeout_s=30.0)
    assert first.events
    trainer.stop()
    steps.join(timeout=60)
    assert not steps.is_alive()
    events, _ = take_all(feed)
    assert events[-1].stop_reason == "stop" and events[-1].step < 100_000


def test_weights_copy_is_float32_whatever_the_compute_dtype():
    model = GPT(GPTConfig(vocab_size=5, block_size=8, n_layer=1, n_head=1, n_embd=8)).to(torch.bfloat16)
    copy = weights_copy(model)
    assert all(t.dtype == torch.float32 for t in copy.values())
