"""Unit tests of pymod.consumer against a small stateful fake of AMS's pull/ack semantics
(spec 5.9-5.13, 12.2, 12.3) served through ``responses``. A fake clock drives both the
fake server's ack deadline and the consumer, so nothing really sleeps."""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import signal
import threading
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from pymod import AmsMessage, AmsServiceException, ArgoMessagingService
from pymod.consumer import (
    BatchError,
    Consumer,
    ConsumeResult,
    FileCheckpoint,
    PoisonMessageError,
    StalledError,
)

from ._support import BASE, PROJECT, SleepRecorder, make_client

SUB = "jobs-sub"
SUB_URL = f"{BASE}/projects/{PROJECT}/subscriptions/{SUB}"


class FakeClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeAMS:
    """One subscription with AMS semantics: committed offset, one pending pull window, cumulative
    acks valid only for the last window and within the deadline (whole seconds, spec 12.3).

    It also checks the consumer's central promise: every acknowledged offset was handled
    successfully or skipped (``self.ok`` is filled by the tests' handlers)."""

    def __init__(self, mock: responses.RequestsMock, clock: FakeClock, count: int = 10,
                 deadline: int = 10) -> None:
        self.clock = clock
        self.deadline = deadline
        self.messages: List[Dict[str, Any]] = []
        self.offset = 0
        self.window: Optional[Tuple[int, int]] = None  # (offset, next_offset) of the last pull
        self.pulled_at = 0.0
        self.ok: Set[int] = set()  # offsets the test considers safely processed
        self.pulls: List[int] = []  # maxMessages of each pull
        self.acks: List[str] = []  # the highest ackId of each accepted acknowledgement
        self.ack_requests: List[List[str]] = []
        self.fail_acks: List[Tuple[int, str, str]] = []  # queued (code, status, message) replies
        self.fail_pulls: List[BaseException] = []
        self.lose_ack_replies = 0  # acknowledgements stored whose reply is then lost
        self.modify_offsets: List[int] = []
        self.deadline_changes: List[int] = []
        self.time_queries: List[str] = []
        self.time_to_offset_result: Any = 3
        for i in range(count):
            self.publish(f"payload {i}", {"n": str(i), "type": "alert" if i % 2 else "info"})
        mock.add_callback(responses.POST, f"{SUB_URL}:pull", callback=self._pull)
        mock.add_callback(responses.POST, f"{SUB_URL}:acknowledge", callback=self._ack)
        mock.add_callback(responses.GET, f"{SUB_URL}:offsets", callback=self._offsets)
        mock.add_callback(responses.POST, f"{SUB_URL}:modifyOffset", callback=self._modify_offset)
        mock.add_callback(responses.POST, f"{SUB_URL}:modifyAckDeadline",
                          callback=self._modify_deadline)
        mock.add_callback(responses.GET, re.compile(re.escape(f"{SUB_URL}:timeToOffset") + r"\?.*"),
                          callback=self._time_to_offset)
        mock.add_callback(responses.GET, SUB_URL, callback=self._show)

    def publish(self, text: str, attrs: Dict[str, str]) -> None:
        n = len(self.messages)
        self.messages.append({
            "messageId": str(n), "attributes": attrs,
            "data": base64.b64encode(text.encode()).decode(), "publishTime": "2024-05-02T09:50:01Z",
        })

    @staticmethod
    def _reply(code: int, body: Any) -> Tuple[int, Dict[str, str], str]:
        return code, {"Content-Type": "application/json"}, json.dumps(body, indent=3)

    def _error(self, code: int, status: str, message: str) -> Tuple[int, Dict[str, str], str]:
        return self._reply(code, {"error": {"code": code, "message": message, "status": status}})

    def _pull(self, request: Any) -> Any:
        if self.fail_pulls:
            raise self.fail_pulls.pop(0)
        body = json.loads(request.body)
        assert body["returnImmediately"] == "true"
        num = int(body["maxMessages"])
        self.pulls.append(num)
        batch = self.messages[self.offset:self.offset + num]
        self.window = (self.offset, self.offset + len(batch))
        self.pulled_at = self.clock.now
        received = [
            {"ackId": f"projects/{PROJECT}/subscriptions/{SUB}:{self.offset + i}", "message": m}
            for i, m in enumerate(batch)
        ]
        return self._reply(200, {"receivedMessages": received})

    def _ack(self, request: Any) -> Any:
        ids = json.loads(request.body)["ackIds"]
        self.ack_requests.append(ids)
        if self.fail_acks:
            return self._error(*self.fail_acks.pop(0))
        top = max(int(i.rsplit(":", 1)[1]) for i in ids)
        if self.window is None:
            return self._error(500, "INTERNAL_SERVER_ERROR", "no ack pending")
        if not self.window[0] <= top < self.window[1]:
            return self._error(500, "INTERNAL_SERVER_ERROR", "wrong ack")
        if int(self.clock.now) - int(self.pulled_at) > self.deadline:
            return self._error(408, "TIMEOUT", "ack timeout")
        unsafe = [o for o in range(self.offset, top + 1) if o not in self.ok]
        assert not unsafe, f"acknowledged offsets that were not processed: {unsafe}"
        self.acks.append(max(ids, key=lambda i: int(i.rsplit(":", 1)[1])))
        self.offset = top + 1
        self.window = None
        if self.lose_ack_replies:
            self.lose_ack_replies -= 1
            import requests

            raise requests.ConnectionError("connection reset after the ack was stored")
        return 200, {"Content-Type": "application/json"}, "{}"

    def _offsets(self, request: Any) -> Any:
        return self._reply(200, {"max": len(self.messages), "min": 0, "current": self.offset})

    def _modify_offset(self, request: Any) -> Any:
        offset = json.loads(request.body)["offset"]
        self.modify_offsets.append(offset)
        self.offset = offset
        self.window = None
        return 200, {}, ""

    def _modify_deadline(self, request: Any) -> Any:
        value = json.loads(request.body)["ackDeadlineSeconds"]
        self.deadline_changes.append(value)
        self.deadline = value
        return 200, {}, ""

    def _time_to_offset(self, request: Any) -> Any:
        self.time_queries.append(parse_qs(urlsplit(request.url).query)["time"][0])
        if self.time_to_offset_result == 409:
            return self._error(409, "CONFLICT",
                               "Timestamp is out of bounds for the subscription's topic/partition")
        return 200, {}, json.dumps({"offset": self.time_to_offset_result})

    def _show(self, request: Any) -> Any:
        if self.fail_pulls:  # the same queue: setup calls meet transient errors too
            raise self.fail_pulls.pop(0)
        return self._reply(200, {
            "name": f"/projects/{PROJECT}/subscriptions/{SUB}",
            "topic": f"/projects/{PROJECT}/topics/jobs", "pushConfig": {},
            "ackDeadlineSeconds": self.deadline, "createdOn": "2024-05-02T09:45:00Z",
        })

    def acked_offsets(self) -> List[int]:
        return [int(a.rsplit(":", 1)[1]) for a in self.acks]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as m:
        yield m


@pytest.fixture
def client() -> Iterator[ArgoMessagingService]:
    c = make_client(SleepRecorder())
    yield c
    c.close()


@pytest.fixture
def fake(mock: responses.RequestsMock, clock: FakeClock) -> FakeAMS:
    return FakeAMS(mock, clock)


def n_of(msg: AmsMessage) -> int:
    return int(msg.get_msgid())


def make_consumer(client: ArgoMessagingService, clock: FakeClock, handler: Any = None,
                  sleeps: Optional[SleepRecorder] = None, **options: Any) -> Consumer:
    options.setdefault("stop_when_empty", True)
    options.setdefault("install_signal_handlers", False)
    sleeper = sleeps if sleeps is not None else SleepRecorder()
    return Consumer(client, SUB, handler, clock=clock, sleep=sleeper, **options)


def recording_handler(fake: FakeAMS, fail: Optional[Dict[int, int]] = None,
                      seen: Optional[List[int]] = None) -> Any:
    """A handler failing ``fail[n]`` times on message n; successes are marked safe in ``fake``."""
    remaining = dict(fail or {})

    def handle(msg: AmsMessage) -> None:
        n = n_of(msg)
        if seen is not None:
            seen.append(n)
        if remaining.get(n, 0) > 0:
            remaining[n] -= 1
            raise RuntimeError(f"cannot handle {n}")
        fake.ok.add(n)

    return handle


# ---- happy path, prefix acks ---------------------------------------------------------------
def test_all_messages_handled_and_acked_per_batch(client, clock, fake):
    checkpoints: List[int] = []
    result = make_consumer(client, clock, recording_handler(fake), batch_size=4,
                           checkpoint=checkpoints.append).run()
    assert fake.acked_offsets() == [3, 7, 9]
    assert checkpoints == [4, 8, 10]
    assert (result.handled, result.acked, result.failed, result.batches) == (10, 10, 0, 3)
    assert result.last_offset == 9 and result.committed_offset == 10
    assert result.stop_reason == "empty"
    assert fake.pulls == [4, 4, 4, 4]


def test_failure_acks_exactly_the_prefix_then_redelivers(client, clock, fake):
    seen: List[int] = []
    errors: List[Tuple[int, str]] = []
    result = make_consumer(
        client, clock, recording_handler(fake, fail={5: 1}, seen=seen), batch_size=10,
        on_error=lambda m, e: errors.append((n_of(m), str(e))),
    ).run()
    # first window 0..9: the acknowledgement names message 4, the last one before the failure
    assert fake.ack_requests[0] == [f"projects/{PROJECT}/subscriptions/{SUB}:4"]
    assert fake.acked_offsets() == [4, 9]
    assert seen == [0, 1, 2, 3, 4, 5, 5, 6, 7, 8, 9]  # 6..9 were not handled before the retry
    assert errors == [(5, "cannot handle 5")]
    assert (result.handled, result.failed, result.acked) == (10, 1, 10)


def test_failure_on_first_message_sends_no_ack(client, clock, fake):
    make_consumer(client, clock, recording_handler(fake, fail={0: 2}), batch_size=3).run()
    # two windows without any acknowledgement, then progress
    assert fake.ack_requests[0] == [f"projects/{PROJECT}/subscriptions/{SUB}:2"]
    assert len(fake.pulls) == 2 + 4 + 1  # 2 failed windows, 4 good ones, 1 empty
    assert fake.offset == 10


def test_transient_failures_everywhere_eventually_all_handled(client, clock, fake):
    fails = {0: 1, 3: 2, 4: 1, 9: 2}
    sleeps = SleepRecorder()
    result = make_consumer(client, clock, recording_handler(fake, fail=fails), sleeps=sleeps,
                           batch_size=4, immediate_redeliveries=1, backoff=2.0).run()
    assert fake.offset == 10 and fake.ok == set(range(10))
    assert result.failed == 6 and result.acked == 10
    # a second failure of the same message waits backoff * 2**0 before the next pull
    assert sleeps.calls == [2.0, 2.0]


def test_backoff_grows_and_is_capped(client, clock, fake):
    sleeps = SleepRecorder()
    make_consumer(client, clock, recording_handler(fake, fail={2: 6}), sleeps=sleeps,
                  max_redeliveries=10, immediate_redeliveries=2, backoff=1.0,
                  max_backoff=5.0).run()
    assert sleeps.calls == [1.0, 2.0, 4.0, 5.0]
    assert fake.offset == 10


# ---- poison messages -----------------------------------------------------------------------
def test_poison_message_stops_with_error_after_max_redeliveries(client, clock, fake):
    seen: List[int] = []
    consumer = make_consumer(client, clock, recording_handler(fake, fail={6: 100}, seen=seen),
                             batch_size=4, max_redeliveries=3)
    with pytest.raises(PoisonMessageError) as info:
        consumer.run()
    assert info.value.offset == 6 and seen.count(6) == 4
    assert isinstance(info.value.__cause__, RuntimeError)
    assert fake.offset == 6  # 0..5 committed, the poison message never
    assert all(int(a.rsplit(":", 1)[1]) < 6 for ids in fake.ack_requests for a in ids)
    assert info.value.result.stop_reason == "error" and info.value.result.acked == 6


def test_poison_prefix_in_same_window_is_acked_before_raising(client, clock, fake):
    with pytest.raises(PoisonMessageError):
        make_consumer(client, clock, recording_handler(fake, fail={2: 100}), batch_size=10,
                      max_redeliveries=0).run()
    assert fake.acked_offsets() == [1]


def test_on_poison_true_acks_the_message_and_goes_on(client, clock, fake):
    poisoned: List[int] = []

    def on_poison(msg: AmsMessage, exc: BaseException) -> bool:
        poisoned.append(n_of(msg))
        fake.ok.add(n_of(msg))  # the test's "parked somewhere safe"
        return True

    result = make_consumer(client, clock, recording_handler(fake, fail={6: 100}), batch_size=4,
                           max_redeliveries=2, on_poison=on_poison).run()
    assert poisoned == [6]
    assert result.poisoned == 1 and fake.offset == 10 and result.acked == 10
    assert 6 in fake.acked_offsets()


def test_on_poison_false_stops(client, clock, fake):
    with pytest.raises(PoisonMessageError):
        make_consumer(client, clock, recording_handler(fake, fail={1: 100}),
                      max_redeliveries=1, on_poison=lambda m, e: False).run()
    assert fake.offset == 1


# ---- ack deadline --------------------------------------------------------------------------
def test_deadline_passed_means_no_ack_and_a_new_pull(client, clock, fake):
    slow_once = {"first": True}

    def handle(msg: AmsMessage) -> None:
        if n_of(msg) == 0 and slow_once["first"]:
            slow_once["first"] = False
            clock.advance(9)  # deadline 10, margin 2: too late to acknowledge safely
        fake.ok.add(n_of(msg))

    result = make_consumer(client, clock, handle, batch_size=1).run()
    assert result.deadline_misses == 1
    assert fake.acked_offsets() == list(range(10))
    assert fake.pulls[:2] == [1, 1] and len(fake.ack_requests) == 10  # no request was wasted
    assert result.handled == 11  # message 0 twice: at-least-once


def test_ack_deadline_is_read_from_the_subscription_once(client, clock, mock, fake):
    fake.deadline = 30
    make_consumer(client, clock, recording_handler(fake), batch_size=5).run()
    shows = [c for c in mock.calls if urlsplit(c.request.url).path.endswith(f"/{SUB}")]
    assert len(shows) == 1


def test_slow_batch_is_acked_early_before_the_deadline(client, clock, fake):
    def handle(msg: AmsMessage) -> None:
        clock.advance(3)
        fake.ok.add(n_of(msg))

    result = make_consumer(client, clock, handle, batch_size=10, ack_deadline=10).run()
    # budget 8 s: after 2 messages (6 s) a third would end at 9 s, so ack and pull again
    assert fake.acked_offsets() == [1, 3, 5, 7, 9]
    assert result.deadline_misses == 0 and result.handled == 10


def test_extend_deadline_raises_and_restores_it(client, clock, fake):
    def handle(msg: AmsMessage) -> None:
        clock.advance(3)
        fake.ok.add(n_of(msg))

    result = make_consumer(client, clock, handle, batch_size=10, extend_deadline=True).run()
    assert fake.acked_offsets() == [9]  # one window, no early acknowledgement
    assert fake.deadline_changes[0] > 10 and fake.deadline_changes[-1] == 10
    assert max(fake.deadline_changes) >= 30 + 2  # covers 10 messages of 3 s
    assert result.deadline_misses == 0


def test_408_on_ack_pulls_again_and_is_not_an_error(client, clock, fake):
    fake.fail_acks.append((408, "TIMEOUT", "ack timeout"))
    result = make_consumer(client, clock, recording_handler(fake), batch_size=5).run()
    assert result.ack_timeouts == 1
    assert fake.acked_offsets() == [4, 9]  # the first window was pulled and acknowledged again
    assert result.handled == 15 and result.acked == 10


def test_stalled_when_a_single_message_always_overruns_the_deadline(client, clock, fake):
    def handle(msg: AmsMessage) -> None:
        clock.advance(20)
        fake.ok.add(n_of(msg))

    with pytest.raises(StalledError) as info:
        make_consumer(client, clock, handle, batch_size=3, max_redeliveries=2).run()
    assert info.value.offset == 0 and fake.acks == []
    assert info.value.result.deadline_misses == 3


def test_lost_window_500_wrong_ack_pulls_again(client, clock, fake):
    fake.fail_acks.append((500, "INTERNAL_SERVER_ERROR", "wrong ack"))
    result = make_consumer(client, clock, recording_handler(fake), batch_size=10).run()
    assert fake.offset == 10 and result.errors == 1


def test_lost_ack_reply_is_checked_with_offsets_and_counted(client, clock, mock, fake):
    fake.lose_ack_replies = 1
    checkpoints: List[int] = []
    result = make_consumer(client, clock, recording_handler(fake), batch_size=5,
                           checkpoint=checkpoints.append).run()
    assert checkpoints == [5, 10]  # the stored acknowledgement was recognised
    assert result.handled == 10 and result.errors == 1
    assert any(c.request.url.endswith(":offsets") for c in mock.calls)


def test_forbidden_ack_is_raised(client, clock, fake):
    fake.fail_acks.append((403, "FORBIDDEN", "Access to this resource is forbidden"))
    with pytest.raises(AmsServiceException) as info:
        make_consumer(client, clock, recording_handler(fake)).run()
    assert info.value.code == 403


# ---- transient errors ----------------------------------------------------------------------
def test_transient_pull_errors_are_retried_with_backoff(client, clock, fake):
    import requests

    fake.fail_pulls.extend([requests.ConnectionError("reset"), requests.ConnectionError("reset")])
    sleeps = SleepRecorder()
    result = make_consumer(client, clock, recording_handler(fake), sleeps=sleeps,
                           backoff=0.5).run()
    assert sleeps.calls == [0.5, 1.0] and result.errors == 2 and fake.offset == 10


def test_transient_errors_during_setup_are_retried(client, clock, fake):
    import requests

    fake.fail_pulls.append(requests.ConnectionError("reset"))  # hits GET subscription first
    sleeps = SleepRecorder()
    result = make_consumer(client, clock, recording_handler(fake), sleeps=sleeps,
                           start_offset=2).run()
    assert result.errors == 1 and sleeps.calls == [1.0]
    assert fake.modify_offsets == [2] and fake.offset == 10


def test_persistent_pull_errors_are_raised(client, clock, fake):
    import requests

    from pymod import AmsConnectionException

    fake.fail_pulls.extend([requests.ConnectionError("reset")] * 4)
    with pytest.raises(AmsConnectionException):
        make_consumer(client, clock, recording_handler(fake), max_errors=3).run()


# ---- checkpoints and start positions -------------------------------------------------------
def test_start_offset_moves_the_subscription(client, clock, fake):
    seen: List[int] = []
    checkpoints: List[int] = []
    make_consumer(client, clock, recording_handler(fake, seen=seen), start_offset=7,
                  checkpoint=checkpoints.append).run()
    assert fake.modify_offsets == [7] and seen == [7, 8, 9] and checkpoints == [10]


def test_start_time_uses_time_to_offset_then_modify_offset(client, clock, fake):
    seen: List[int] = []
    when = datetime.datetime(2024, 5, 2, 9, 50, 1, 500000, tzinfo=datetime.timezone.utc)
    make_consumer(client, clock, recording_handler(fake, seen=seen), start_time=when).run()
    assert fake.time_queries == ["2024-05-02T09:50:01.500Z"]
    assert fake.modify_offsets == [3] and seen[0] == 3


def test_start_time_after_every_message_starts_at_the_end(client, clock, fake):
    fake.time_to_offset_result = 409
    seen: List[int] = []
    result = make_consumer(client, clock, recording_handler(fake, seen=seen),
                           start_time=datetime.datetime(2030, 1, 1)).run()
    assert fake.modify_offsets == [10] and seen == [] and result.stop_reason == "empty"


def test_file_checkpoint_resume(client, clock, fake, tmp_path):
    cursor = FileCheckpoint(tmp_path / "sub.offset")
    assert cursor.load() is None and cursor.load(default=0) == 0
    make_consumer(client, clock, recording_handler(fake), max_messages=4, batch_size=3,
                  checkpoint=cursor).run()
    assert cursor.load() == 4
    fake.offset = 0  # somebody else rewound the subscription: the cursor still knows
    seen: List[int] = []
    make_consumer(client, clock, recording_handler(fake, seen=seen), checkpoint=cursor,
                  start_offset=cursor.load()).run()
    assert seen == [4, 5, 6, 7, 8, 9] and cursor.load() == 10
    assert os.listdir(tmp_path) == ["sub.offset"]  # no temporary files left behind


def test_file_checkpoint_rejects_garbage(tmp_path):
    path = tmp_path / "bad"
    path.write_text("not a number")
    with pytest.raises(ValueError):
        FileCheckpoint(path).load()
    with pytest.raises(ValueError):
        FileCheckpoint(path).save(-1)
    assert path.read_text() == "not a number"


# ---- filters -------------------------------------------------------------------------------
def test_attribute_filter_skips_but_acks(client, clock, fake):
    seen: List[int] = []
    original = recording_handler(fake, seen=seen)
    for i in range(10):  # skipped messages are safe to acknowledge
        if i % 2 == 0:
            fake.ok.add(i)
    result = make_consumer(client, clock, original, filter={"type": "alert"}).run()
    assert seen == [1, 3, 5, 7, 9]
    assert (result.handled, result.skipped, result.acked) == (5, 5, 10)
    assert fake.offset == 10


def test_predicate_filter(client, clock, fake):
    seen: List[int] = []
    fake.ok.update(range(5, 10))
    result = make_consumer(client, clock, recording_handler(fake, seen=seen),
                           filter=lambda m: int(m.get_attr("n")) < 5).run()
    assert seen == [0, 1, 2, 3, 4] and result.skipped == 5 and fake.offset == 10


# ---- stop conditions -----------------------------------------------------------------------
def test_max_messages_limits_pulls_and_stops(client, clock, fake):
    result = make_consumer(client, clock, recording_handler(fake), batch_size=4,
                           max_messages=6).run()
    assert fake.pulls == [4, 2] and result.handled == 6 and fake.offset == 6
    assert result.stop_reason == "max_messages"


def test_max_seconds_stops_between_messages(client, clock, fake):
    def handle(msg: AmsMessage) -> None:
        clock.advance(1)
        fake.ok.add(n_of(msg))

    result = make_consumer(client, clock, handle, batch_size=10, max_seconds=3.5,
                           ack_deadline=60).run()
    assert result.stop_reason == "max_seconds" and result.handled == 4
    assert fake.acked_offsets() == [3]


def test_without_stop_when_empty_it_waits_and_polls(client, clock, fake):
    sleeps = SleepRecorder()

    def sleep(seconds: float) -> None:
        sleeps(seconds)
        clock.advance(seconds)
        if len(sleeps.calls) == 2:
            fake.publish("late", {"n": "10"})

    result = make_consumer(client, clock, recording_handler(fake), sleeps=sleep,
                           stop_when_empty=False, idle_sleep=5, max_seconds=30).run()
    assert result.handled == 11 and result.stop_reason == "max_seconds"
    assert sleeps.calls[:2] == [5, 5]


def test_stop_from_handler_finishes_current_message(client, clock, fake):
    consumer: Optional[Consumer] = None
    seen: List[int] = []

    def handle(msg: AmsMessage) -> None:
        seen.append(n_of(msg))
        if n_of(msg) == 2:
            assert consumer is not None
            consumer.stop()
        fake.ok.add(n_of(msg))

    consumer = make_consumer(client, clock, handle, batch_size=10)
    result = consumer.run()
    assert seen == [0, 1, 2] and fake.acked_offsets() == [2]
    assert result.stop_reason == "stopped" and consumer.stopping


def test_sigterm_from_handler_finishes_current_message_and_restores_handler(client, clock, fake):
    before = signal.getsignal(signal.SIGTERM)
    seen: List[int] = []

    def handle(msg: AmsMessage) -> None:
        seen.append(n_of(msg))
        if n_of(msg) == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        fake.ok.add(n_of(msg))

    result = make_consumer(client, clock, handle, batch_size=10,
                           install_signal_handlers=True).run()
    assert seen == [0, 1, 2, 3] and fake.acked_offsets() == [3]
    assert result.stop_reason == "signal" and result.signal == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is before


def test_installed_sigint_handler_stops_cleanly(client, clock, fake):
    seen: List[int] = []
    consumer: Optional[Consumer] = None

    def handle(msg: AmsMessage) -> None:
        seen.append(n_of(msg))
        if n_of(msg) == 1:
            assert consumer is not None
            installed = signal.getsignal(signal.SIGINT)
            assert callable(installed)
            installed(signal.SIGINT, None)  # as the interpreter would
        fake.ok.add(n_of(msg))

    consumer = make_consumer(client, clock, handle, install_signal_handlers=True)
    result = consumer.run()
    assert result.stop_reason == "signal" and result.signal == "SIGINT" and fake.offset == 2


def test_no_signal_handlers_outside_the_main_thread(client, clock, fake):
    before = signal.getsignal(signal.SIGTERM)
    during: List[Any] = []

    def handle(msg: AmsMessage) -> None:
        during.append(signal.getsignal(signal.SIGTERM))
        fake.ok.add(n_of(msg))

    box: Dict[str, ConsumeResult] = {}
    thread = threading.Thread(target=lambda: box.update(r=make_consumer(
        client, clock, handle, install_signal_handlers=True).run()))
    thread.start()
    thread.join()
    assert box["r"].handled == 10 and all(h is before for h in during)


def test_keyboard_interrupt_in_handler_still_acks_prefix(client, clock, fake):
    def handle(msg: AmsMessage) -> None:
        if n_of(msg) == 4:
            raise KeyboardInterrupt
        fake.ok.add(n_of(msg))

    with pytest.raises(KeyboardInterrupt):
        make_consumer(client, clock, handle, batch_size=10).run()
    assert fake.acked_offsets() == [3]


# ---- batch handler -------------------------------------------------------------------------
def test_batch_handler_success_and_partial_failure(client, clock, fake):
    batches: List[List[int]] = []
    failed_once = {"done": False}

    def handle_batch(msgs: List[AmsMessage]) -> None:
        ids = [n_of(m) for m in msgs]
        batches.append(ids)
        if 6 in ids and not failed_once["done"]:
            failed_once["done"] = True
            done = ids.index(6)
            fake.ok.update(ids[:done])
            raise BatchError(done, RuntimeError("6 is bad"))
        fake.ok.update(ids)

    errors: List[str] = []
    result = make_consumer(client, clock, batch_handler=handle_batch, batch_size=4,
                           on_error=lambda m, e: errors.append(f"{n_of(m)}:{e}")).run()
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [6, 7, 8, 9]]
    assert fake.acked_offsets() == [3, 5, 9]
    assert errors == ["6:6 is bad"] and result.handled == 10 and result.failed == 1


def test_batch_handler_plain_exception_acks_nothing(client, clock, fake):
    calls = {"n": 0}

    def handle_batch(msgs: List[AmsMessage]) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("database down")
        fake.ok.update(n_of(m) for m in msgs)

    make_consumer(client, clock, batch_handler=handle_batch, batch_size=10).run()
    assert fake.ack_requests == [[f"projects/{PROJECT}/subscriptions/{SUB}:9"]]


# ---- misc ----------------------------------------------------------------------------------
def test_subscription_consume_delegates(client, clock, fake, mock):
    sub = client.get_sub(SUB, retobj=True)
    seen: List[int] = []
    result = sub.consume(recording_handler(fake, seen=seen), stop_when_empty=True,
                         install_signal_handlers=False, clock=clock, sleep=SleepRecorder())
    assert seen == list(range(10)) and result.acked == 10


def test_memory_stays_flat_over_many_batches(mock, clock, client):
    fake = FakeAMS(mock, clock, count=600)
    fake.ok.update(range(600))
    consumer = make_consumer(client, clock, lambda m: None, batch_size=7)
    result = consumer.run()
    assert result.acked == 600
    sizes = {k: len(v) for k, v in vars(consumer).items() if isinstance(v, (list, dict, set))}
    assert all(size <= 7 for size in sizes.values()), sizes


def test_run_twice_and_bad_options_are_refused(client, clock, fake):
    consumer = make_consumer(client, clock, recording_handler(fake))
    consumer.run()
    with pytest.raises(RuntimeError):
        consumer.run()
    with pytest.raises(TypeError):
        Consumer(client, SUB)
    with pytest.raises(TypeError):
        Consumer(client, SUB, print, batch_handler=print)
    with pytest.raises(ValueError):
        Consumer(client, SUB, print, start_offset=1, start_time=datetime.datetime(2024, 1, 1))
    with pytest.raises(ValueError):
        Consumer(client, SUB, print, batch_size=0)
