"""``Consumer(..., workers=N)`` (ordered acknowledgement of concurrent handlers) and the background
lifecycle (``start``/``stop``/``state``), against the stateful AMS fake of test_consumer.py. The
fake refuses (with an AssertionError) any acknowledgement that would commit an offset the test's
handler has not marked as safely processed."""

from __future__ import annotations

import threading
import time
from typing import Any, List

import pytest

from pymod import AmsMessage
from pymod.consumer import Consumer, PoisonMessageError

from . import test_consumer as base
from .test_consumer import PROJECT, SUB, FakeAMS, make_consumer, n_of

# the fixtures of test_consumer.py (the client, the fake clock, the responses mock, the fake AMS)
clock, client, mock, fake = base.clock, base.client, base.mock, base.fake

WAIT = 10.0  # seconds a test thread waits for another before it gives up (never reached when green)


def _ack_id(offset: int) -> str:
    return f"projects/{PROJECT}/subscriptions/{SUB}:{offset}"


def test_slow_early_message_is_never_committed_by_fast_later_ones(client, clock, fake):
    later_done = threading.Semaphore(0)
    acks_while_slow: List[int] = []
    order: List[int] = []

    def handle(msg: AmsMessage) -> None:
        n = n_of(msg)
        if n == 0:
            # wait until messages 1..3 have all finished, then look at what was acknowledged
            for _ in range(3):
                assert later_done.acquire(timeout=WAIT)
            time.sleep(0.05)  # give a wrong implementation time to acknowledge them
            acks_while_slow.append(len(fake.ack_requests))
        fake.ok.add(n)
        order.append(n)
        if n in (1, 2, 3):
            later_done.release()

    checkpoints: List[int] = []
    result = make_consumer(client, clock, handle, batch_size=4, workers=4,
                           checkpoint=checkpoints.append).run()
    assert acks_while_slow == [0]  # nothing committed while message 0 was unfinished
    assert checkpoints == [4, 8, 10]  # one checkpoint per acknowledgement, as with one worker
    assert order[-1] == 0 or order.index(0) > order.index(3)  # it did finish last
    assert fake.ack_requests[0] == [_ack_id(3)]
    assert fake.acked_offsets() == [3, 7, 9]
    assert (result.handled, result.acked, result.failed) == (10, 10, 0)


def test_a_failure_acks_only_the_prefix_before_it(client, clock, fake):
    first_round = threading.Event()
    seen: List[int] = []
    lock = threading.Lock()

    def handle(msg: AmsMessage) -> None:
        n = n_of(msg)
        with lock:
            seen.append(n)
        if n == 1 and not first_round.is_set():
            first_round.set()
            time.sleep(0.05)  # let 2 and 3 finish first
            raise RuntimeError("cannot handle 1")
        fake.ok.add(n)

    result = make_consumer(client, clock, handle, batch_size=4, workers=4).run()
    assert fake.ack_requests[0] == [_ack_id(0)]  # 2 and 3 succeeded, but 1 had failed
    assert fake.acked_offsets()[-1] == 9
    assert result.failed == 1 and result.acked == 10
    assert sorted(set(seen)) == list(range(10))


def test_poison_message_is_detected_although_later_messages_succeed(client, clock, fake):
    def handle(msg: AmsMessage) -> None:
        if n_of(msg) == 2:
            raise ValueError("bad payload")
        fake.ok.add(n_of(msg))

    consumer = make_consumer(client, clock, handle, batch_size=5, workers=3, max_redeliveries=2)
    with pytest.raises(PoisonMessageError) as info:
        consumer.run()
    assert info.value.offset == 2
    assert fake.acked_offsets() == [1]  # 0 and 1, never 3 or 4
    assert info.value.result.failed == 3  # 1 + max_redeliveries attempts on message 2


def test_skipped_messages_and_on_poison_with_workers(client, clock, fake):
    poisoned: List[int] = []

    def handle(msg: AmsMessage) -> None:
        if n_of(msg) == 5:
            raise ValueError("never works")
        fake.ok.add(n_of(msg))

    def on_poison(msg: AmsMessage, exc: BaseException) -> bool:
        poisoned.append(n_of(msg))
        fake.ok.add(n_of(msg))
        return True

    def is_alert(msg: AmsMessage) -> bool:
        keep = msg.attributes.get("type") == "alert"
        if not keep:
            fake.ok.add(n_of(msg))
        return keep

    result = make_consumer(client, clock, handle, batch_size=10, workers=4, filter=is_alert,
                           max_redeliveries=0, on_poison=on_poison).run()
    assert poisoned == [5]
    assert result.poisoned == 1 and result.acked == 10
    # messages after the poison one that were in flight are handled again (at-least-once)
    assert result.skipped >= 5 and result.handled >= 4
    assert fake.acked_offsets()[-1] == 9


def test_workers_options_are_checked(client, clock):
    with pytest.raises(ValueError, match="workers"):
        Consumer(client, SUB, lambda m: None, workers=0)
    with pytest.raises(ValueError, match="batch_handler"):
        Consumer(client, SUB, batch_handler=lambda ms: None, workers=2)


# ---- background lifecycle ------------------------------------------------------------------
def _background(client: Any, handler: Any, **options: Any) -> Consumer:
    options.setdefault("idle_sleep", 0.02)
    options.setdefault("ack_deadline", 60)
    return Consumer(client, SUB, handler, install_signal_handlers=False, **options)


def test_stop_finishes_the_messages_in_progress_and_acks_them(client, fake):
    started = threading.Semaphore(0)
    release = threading.Event()

    def handle(msg: AmsMessage) -> None:
        started.release()
        assert release.wait(WAIT)
        fake.ok.add(n_of(msg))

    consumer = _background(client, handle, batch_size=4, workers=4)
    assert consumer.state == "created"
    assert consumer.start() is consumer
    for _ in range(4):  # the whole first batch is being handled
        assert started.acquire(timeout=WAIT)
    assert consumer.state == "running"
    assert consumer.stop(timeout=0) is False and consumer.state == "stopping"
    release.set()
    assert consumer.stop(timeout=WAIT) is True
    assert consumer.state == "stopped" and consumer.error is None
    assert consumer.result.stop_reason == "stopped"
    assert fake.acked_offsets() == [3] and consumer.result.committed_offset == 4
    assert consumer.result.handled == 4


def test_stop_of_a_sequential_background_consumer_finishes_the_current_message(client, fake):
    in_handler = threading.Event()
    release = threading.Event()

    def handle(msg: AmsMessage) -> None:
        if n_of(msg) == 2:
            in_handler.set()
            assert release.wait(WAIT)
        fake.ok.add(n_of(msg))

    consumer = _background(client, handle, batch_size=10).start()
    assert in_handler.wait(WAIT)
    threading.Timer(0.05, release.set).start()
    assert consumer.stop(timeout=WAIT) is True
    assert fake.acked_offsets() == [2] and consumer.result.handled == 3
    assert consumer.state == "stopped"


def test_a_failing_background_consumer_reports_failed(client, fake):
    def on_error(msg: AmsMessage, exc: BaseException) -> None:
        raise LookupError("the error log is gone")

    def handle(msg: AmsMessage) -> None:
        raise RuntimeError("boom")

    consumer = _background(client, handle, on_error=on_error).start()
    assert consumer.join(WAIT) is True
    assert consumer.state == "failed" and isinstance(consumer.error, LookupError)
    assert consumer.result.stop_reason == "error"
    with pytest.raises(RuntimeError, match="runs once"):
        consumer.start()
    with pytest.raises(RuntimeError, match="runs once"):
        consumer.run()


def test_empty_subscription_background_consumer_idles_until_stopped(client, mock, clock):
    empty = FakeAMS(mock, clock, count=0)
    consumer = _background(client, lambda m: None).start()
    time.sleep(0.1)
    assert consumer.state == "running" and consumer.result.pulls >= 1
    assert consumer.stop(timeout=WAIT) and consumer.state == "stopped"
    assert empty.acks == []


def test_sigterm_with_workers_finishes_the_running_messages(client, clock, fake):
    import os
    import signal

    started = threading.Semaphore(0)

    def handle(msg: AmsMessage) -> None:
        started.release()
        time.sleep(0.05)
        fake.ok.add(n_of(msg))

    def send_sigterm() -> None:
        for _ in range(3):
            assert started.acquire(timeout=WAIT)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=send_sigterm).start()
    result = make_consumer(client, clock, handle, batch_size=10, workers=3,
                           install_signal_handlers=True).run()
    assert result.stop_reason == "signal" and result.signal == "SIGTERM"
    assert 3 <= result.handled < 10 and result.acked == result.handled
    assert fake.acked_offsets() == [result.handled - 1]


@pytest.mark.parametrize("workers", [1, 3])
def test_stop_with_finish_batch_handles_the_whole_current_batch(client, fake, workers):
    in_batch = threading.Event()
    release = threading.Event()

    def handle(msg: AmsMessage) -> None:
        if n_of(msg) == 1:
            in_batch.set()
            assert release.wait(WAIT)
        fake.ok.add(n_of(msg))

    consumer = _background(client, handle, batch_size=6, workers=workers).start()
    assert in_batch.wait(WAIT)
    assert consumer.stop(timeout=0, finish_batch=True) is False
    release.set()
    assert consumer.join(WAIT) and consumer.state == "stopped"
    assert consumer.result.stop_reason == "stopped"
    assert fake.acked_offsets() == [5]  # the whole first batch, and no second pull
    assert consumer.result.handled == 6 and consumer.result.pulls == 1
