"""The training queue's promises: at most slots + cap trainings are taken, the next is refused at
once, the waiting ones see how many are ahead, and Stop works in every state a run can be in
(preparing, waiting, running, finishing). Training slots: their count from the cores and the
environment, two trainings at once with two slots, each on its share of the cores.

Tiny models only (1 layer x 16 wide); the API test drives the shared served app."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
import torch
from apps import new_client, train_args
from waiting import eventually

from gpt import GPT, GPTConfig, make_tokenizer
from ui import cadence, threads, train_form, training, training_queue
from ui.threads import RunPolicy
from ui.sessions import ModelHandle, SessionRegistry

pytestmark = [
    pytest.mark.usefixtures("one_thread"),
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated"),
]

AB = "ab" * 200


@pytest.fixture(autouse=True)
def quick_runs(monkeypatch):
    """Tiny runs: a short sample at each evaluation, and one thread per training (two threads on
    tiny tensors mostly wait for each other, badly so on a busy machine). Tests of the thread
    policy set their own."""
    monkeypatch.setattr(cadence, "SAMPLE_CHARS", 24)
    monkeypatch.setattr(threads, "_policy", RunPolicy(cores=1, train_alone=1, train_busy=1, fixed=True))


@pytest.fixture
def registry(tmp_path) -> SessionRegistry:
    tokenizer = make_tokenizer("char", AB)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=1, n_head=1, n_embd=16))
    default = ModelHandle.serving(model, tokenizer, {}, "bundled", "tiny test model")
    return SessionRegistry(default=default, workdir=tmp_path / "sessions")


@pytest.fixture(scope="module")
def timer():
    """A step-time estimate without the StepTimer's calibration run (it only spaces evaluations)."""
    return SimpleNamespace(
        seconds=lambda config, batch_size, threads=None, tokenizer="char": 0.005,
        threads=lambda beside_browser=False: 1,
        device=torch.device("cpu"),
    )


def request(**overrides) -> train_form.TrainRequest:
    values = dict(
        text=AB, tokenizer="char", n_layer=1, n_head=1, n_embd=16, block_size=8, max_steps=20, batch_size=4,
        learning_rate=1e-2, dropout=0.0, time_budget_s=30, warmup_steps=2, watch_layer=0,
    )
    values.update(overrides)
    return train_form.parse_request(**values)


class Runs:
    """Counts the runs that reach the device (run_on_device), by session."""

    def __init__(self, monkeypatch):
        self.sids: list[str] = []
        real = training.run_on_device

        def counted(job, prepared, *args):
            self.sids.append(job.sid)
            yield from real(job, prepared, *args)

        monkeypatch.setattr(training, "run_on_device", counted)


# --- slots: how many, and the cores they share -----------------------------------------------------


def test_slot_count_comes_from_the_cores_and_the_environment():
    assert threads.training_slots(8, cuda=False, environ={}) == 8 // threads.THREADS_PER_TRAINING
    assert threads.training_slots(8, cuda=False, environ={"MIRADOR_TRAIN_THREADS": "2"}) == 4
    assert threads.training_slots(8, cuda=False, environ={"MIRADOR_TRAIN_THREADS": "3"}) == 2
    assert threads.training_slots(1, cuda=False, environ={"MIRADOR_TRAIN_THREADS": "4"}) == 1  # at least one
    assert threads.training_slots(2, cuda=False, environ={"MIRADOR_TRAIN_THREADS": "1"}) == 2
    assert threads.training_slots(64, cuda=True, environ={}) == 1  # until bench/gpu.py's probe says more
    assert threads.training_slots(2, cuda=False, environ={"MIRADOR_TRAINING_SLOTS": "5"}) == 5  # overrides
    assert threads.training_slots(2, cuda=True, environ={"MIRADOR_TRAINING_SLOTS": "6"}) == 6
    for bad in ("0", "-1", "two", ""):
        with pytest.raises(ValueError, match="MIRADOR_TRAINING_SLOTS must be a whole number of at least 1"):
            threads.training_slots(2, cuda=False, environ={"MIRADOR_TRAINING_SLOTS": bad})


def test_running_trainings_share_the_cores():
    # 4 cores, all but one while a request runs
    policy = RunPolicy(cores=4, train_alone=4, train_busy=3, request_tail_s=0.0)
    with policy.training():
        assert policy.training_threads() == 4  # one slot busy: today's policy, every core
        with policy.training():
            assert policy.trainings_running() == 2 and policy.training_threads() == 2  # C // S
            with policy.inference():
                assert policy.training_threads() == 1  # (C - 1) // S
            with policy.training(), policy.training(), policy.training():
                assert policy.training_threads() == 1  # never below one
        assert policy.training_threads() == 4
    assert policy.trainings_running() == 0


def test_two_slots_run_two_trainings_at_once_and_the_third_waits(registry, timer, monkeypatch):
    queue = training_queue.TrainingQueue(slots=2, max_waiting=1)
    both_running = threading.Barrier(2, timeout=20)
    seen_threads = []

    class MeetingTrainer(training.Trainer):
        built = 0

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.meets = MeetingTrainer.built < 2  # the first two trainings
            MeetingTrainer.built += 1

        def run(self):
            for event in super().run():
                if event.step == 1 and self.meets:  # both must be past their first step at the same time
                    seen_threads.append(threads.policy().training_threads())
                    both_running.wait()
                yield event

    monkeypatch.setattr(training, "Trainer", MeetingTrainer)
    policy = RunPolicy(cores=2, train_alone=2, train_busy=1)  # the policy on 2 cores...
    policy.for_training = lambda beside_browser=False: None  # ...asked, not applied: tiny runs stay on one thread
    monkeypatch.setattr(threads, "_policy", policy)
    finals: dict = {}

    def run(sid):
        finals[sid] = list(training.train(registry, queue, timer, sid, request(max_steps=30)))[-1]

    workers = [threading.Thread(target=run, args=(sid,)) for sid in "ab"]
    for worker in workers:
        worker.start()
    eventually(lambda: queue.running() == 2, what="both trainings took their slots")
    third = training.train(registry, queue, timer, "c", request())
    assert "2 trainings are ahead of yours (2 run at a time)" in next(third).status
    with pytest.raises(ValueError, match="1 trainings are already waiting \\(the limit is 1\\)"):
        next(training.train(registry, queue, timer, "d", request()))
    for worker in workers:
        worker.join(30)
    assert all("Done at step 30" in finals[sid].status and finals[sid].handle is registry.model(sid) for sid in "ab")
    assert seen_threads == [1, 1]  # two trainings on two cores: one thread each
    rest = list(third)  # a slot freed: the third runs
    assert "Done at step 20" in rest[-1].status and len(queue) == 0


# --- Stop in every state ---------------------------------------------------------------------------


def test_stop_before_the_line_or_while_preparing_cancels_it(registry, timer, monkeypatch):
    queue, runs, answers = training_queue.TrainingQueue(slots=1), Runs(monkeypatch), []
    real_join, real_prepare = queue.join, training.prepare

    def stop_then_join(job):  # Stop arrives between the registration and the line
        answers.append((job.state, training.stop_training(registry, queue, job.sid)))
        real_join(job)

    def prepare_then_stop(req, t, *more):  # Stop arrives while the text is being tokenized
        answers.append((registry.job("b").state, training.stop_training(registry, queue, "b")))
        return real_prepare(req, t, *more)

    monkeypatch.setattr(queue, "join", stop_then_join)
    first = list(training.train(registry, queue, timer, "a", request()))
    monkeypatch.setattr(queue, "join", real_join)
    monkeypatch.setattr(training, "prepare", prepare_then_stop)
    second = list(training.train(registry, queue, timer, "b", request()))
    assert [state for state, _ in answers] == [training_queue.PREPARING, training_queue.WAITING]
    assert all("Cancelled: your training had not started" in answer for _, answer in answers)
    for updates in (first, second):
        assert [u.status for u in updates] == ["Cancelled before it started. Your model is unchanged."]
    assert runs.sids == [] and len(queue) == 0 and registry.job("a") is registry.job("b") is None
    assert registry.model("a") is registry.model("b") is registry.default


def test_a_refused_training_does_no_work(registry, timer, monkeypatch):
    queue = training_queue.TrainingQueue(slots=1, max_waiting=0)
    queue.join(training_queue.TrainingJob("x"))  # the one slot is taken, nobody may wait
    prepared = []
    monkeypatch.setattr(training, "prepare", lambda *args: prepared.append(args))
    with pytest.raises(ValueError, match="0 trainings are already waiting \\(the limit is 0\\)"):
        next(training.train(registry, queue, timer, "a", request()))
    assert prepared == [] and registry.job("a") is None  # refused before its text was tokenized


def test_a_waiting_job_stopped_never_runs(registry, timer, monkeypatch):
    queue, runs = training_queue.TrainingQueue(slots=1), Runs(monkeypatch)
    holder = training.train(registry, queue, timer, "a", request(max_steps=30))
    next(holder)  # a holds the slot
    first, second = (training.train(registry, queue, timer, sid, request()) for sid in "bc")
    assert "1 training is ahead of yours" in next(first).status
    assert "2 trainings are ahead of yours" in next(second).status
    assert "Cancelled: your training had not started" in training.stop_training(registry, queue, "b")
    assert len(queue) == 2  # it left the line at once: c moved up
    assert list(holder)[-1].handle is registry.model("a")  # a finishes, the slot frees...
    assert [u.status for u in first] == ["Cancelled before it started. Your model is unchanged."]  # ...b never runs
    assert "Done at step 20" in list(second)[-1].status  # c does
    assert runs.sids == ["a", "c"] and registry.model("b") is registry.default


def test_stop_while_running_keeps_the_model_reached(registry, timer):
    queue = training_queue.TrainingQueue(slots=1)
    run = training.train(registry, queue, timer, "a", request(max_steps=5000, time_budget_s=60))
    next(run), next(run)
    assert "Stopping after the current step" in training.stop_training(registry, queue, "a")
    final = list(run)[-1]
    assert "Stopped at step" in final.status and final.handle is registry.model("a")
    assert "Nothing to stop" in training.stop_training(registry, queue, "a")


def test_stop_while_finishing_says_so_and_the_model_is_kept(registry, timer, monkeypatch):
    queue, answers = training_queue.TrainingQueue(slots=1), []
    real = training._hand_over

    def stop_during_hand_over(*args):
        answers.append(training.stop_training(registry, queue, "a"))
        return real(*args)

    monkeypatch.setattr(training, "_hand_over", stop_during_hand_over)
    final = list(training.train(registry, queue, timer, "a", request()))[-1]
    assert "already finished: its model is being saved as your session's model" in answers[0]
    assert "Done at step 20" in final.status and final.handle is registry.model("a")


# --- the promises through the API: 12 clients at once ------------------------------------------------


def test_twelve_clients_at_once_are_taken_up_to_the_cap_and_the_rest_refused_at_once(app, monkeypatch):
    from gradio_client.exceptions import AppError

    demo, url = app
    runs = Runs(monkeypatch)  # the app runs in this process: count what reaches the device
    queue, registry = demo.context.queue, demo.context.registry
    taken = queue.slots + queue.max_waiting
    assert 12 > taken, "the test needs more clients than slots + cap"
    clients = [None] * 12
    connectors = [threading.Thread(target=lambda i=i: clients.__setitem__(i, new_client(url))) for i in range(12)]
    for c in connectors:
        c.start()
    for c in connectors:
        c.join(60)
    try:
        long_run = train_args(text="ab" * 1000, n_embd=64, block_size=32, batch_size=16, max_steps=5000, time_budget_s=120)
        jobs = [c.submit(*long_run, api_name="/train") for c in clients]

        def refused_so_far():
            done = [i for i, job in enumerate(jobs) if job.done()]
            return done if len(done) >= 12 - taken else None

        refused = eventually(refused_so_far, what=f"{12 - taken} of the 12 were refused")
        assert len(refused) == 12 - taken, f"{len(refused)} refused, {len(queue)} in our queue"
        # At once, not after the others' trainings (they run until stopped): every one taken is still in our queue.
        assert len(queue) == taken and queue.waiting() == queue.max_waiting
        assert not any(job.done() for i, job in enumerate(jobs) if i not in refused)
        for i in refused:
            with pytest.raises(AppError, match=f"{queue.max_waiting} trainings are already waiting \\(the limit is {queue.max_waiting}\\)"):
                jobs[i].result(timeout=5)
        taken_ids = [i for i in range(12) if i not in refused]
        waiting = [i for i in taken_ids if queue.position(registry.job(clients[i].session_hash)) >= queue.slots]
        running = [i for i in taken_ids if i not in waiting]
        eventually(
            lambda: all(any("Waiting:" in str(o[0]) for o in jobs[i].outputs()) for i in waiting),
            what="every waiting client heard that it waits",
        )
        for i in waiting:  # each waiting client was told how many are ahead of it
            ahead = queue.position(registry.job(clients[i].session_hash))
            told = "1 training is ahead of yours" if ahead == 1 else f"{ahead} trainings are ahead of yours"
            assert any(told in str(o[0]) for o in jobs[i].outputs()), [o[0] for o in jobs[i].outputs()]

        # Stop finds every one of them: the waiting ones leave the line, the running ones stop.
        for i in waiting:
            assert "Cancelled: your training had not started" in clients[i].predict(api_name="/stop_training")
        for i in running:
            assert "Stopping after the current step" in clients[i].predict(api_name="/stop_training")
        for i in waiting:
            assert "Cancelled before it started" in jobs[i].result(timeout=60)[0]
        for i in running:
            assert "Stopped at step" in jobs[i].result(timeout=60)[0]
        eventually(lambda: len(queue) == 0, what="every training left the queue")
        # Every handler has answered: a cancelled or refused training never reached the device.
        assert sorted(runs.sids) == sorted(clients[i].session_hash for i in running)
        for i in waiting + refused:
            assert registry.model(clients[i].session_hash) is registry.default
            assert "Nothing to stop" in clients[i].predict(api_name="/stop_training")
    finally:
        for c in clients:
            if c is not None:
                c.close()
