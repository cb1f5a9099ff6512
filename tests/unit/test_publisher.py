"""pymod.Publisher (batching, flow control, futures) and streaming publish of iterables, at the
HTTP seam with ``responses``."""

from __future__ import annotations

import json
import threading
from typing import Any, Dict, Iterator, List

import pytest
import responses

from pymod import (
    AmsArgumentException,
    AmsFlowControlException,
    AmsMessage,
    AmsMessageException,
    AmsPublisherClosedException,
    AmsPublishException,
    AmsResponseException,
    Publisher,
)
from pymod.facade.topics import MessageIds

from ._support import BASE, PROJECT, make_client

URL = f"{BASE}/projects/{PROJECT}/topics/t1:publish"
WAIT = 10.0


class Store:
    """A publish endpoint numbering messages like AMS; records each request's messages."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.requests: List[List[Dict[str, Any]]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.lock = threading.Lock()
        self.wrong_count = False
        mock.add_callback(responses.POST, URL, callback=self._publish)

    def _publish(self, request: Any) -> Any:
        assert self.gate.wait(WAIT)
        messages = json.loads(request.body)["messages"]
        with self.lock:
            first = sum(map(len, self.requests))
            self.requests.append(messages)
        ids = [str(first + i) for i in range(len(messages) - (1 if self.wrong_count else 0))]
        return 200, {}, json.dumps({"messageIds": ids})


@pytest.fixture
def store() -> Iterator[Store]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield Store(mock)


@pytest.fixture
def ams() -> Iterator[Any]:
    client = make_client()
    yield client
    client.close()


def _msg(i: int) -> AmsMessage:
    return AmsMessage(data=f"m{i}", attributes={"i": str(i)})


# ---- streaming publish -----------------------------------------------------------------------
def test_message_ids_are_compact_and_behave_like_a_list() -> None:
    ids = MessageIds(str(i) for i in range(1_000_000))
    ids.extend(["abc", "1000000", "007", "5"])
    assert len(ids) == 1_000_004 and len(ids._runs) == 5  # 0..999999, abc, 1000000, 007, 5
    assert ids[0] == "0" and ids[999_999] == "999999" and ids[1_000_000] == "abc"
    assert ids[-1] == "5" and ids[-2] == "007" and ids[1_000_001] == "1000000"
    assert ids[1:4] == ["1", "2", "3"]
    assert MessageIds(["3", "4", "x"]) == ["3", "4", "x"] == list(MessageIds(["3", "4", "x"]))
    assert MessageIds(["3"]) != ["4"] and "more" in repr(ids)
    with pytest.raises(IndexError):
        ids[1_000_004]


def test_a_generator_is_read_one_request_at_a_time(ams: Any, store: Store) -> None:
    ams.max_request_messages = 40
    produced: List[int] = []
    seen_when_sent: List[int] = []
    real = ams._publish_chunk

    def spy(*args: Any, **kwargs: Any) -> List[str]:
        seen_when_sent.append(len(produced))
        return real(*args, **kwargs)

    ams._publish_chunk = spy

    def generate() -> Iterator[AmsMessage]:
        for i in range(100):
            produced.append(i)
            yield _msg(i)

    result = ams.publish("t1", generate())
    assert seen_when_sent == [40, 80, 100]
    assert [len(r) for r in store.requests] == [40, 40, 20]
    assert isinstance(result["messageIds"], MessageIds)
    assert result["messageIds"] == [str(i) for i in range(100)]
    assert [m["attributes"]["i"] for r in store.requests for m in r] == [str(i) for i in range(100)]


def test_a_bad_message_in_a_stream_publishes_what_came_before_and_reports_the_rest(
    ams: Any, store: Store
) -> None:
    ams.max_request_messages = 10
    produced: List[int] = []

    def generate() -> Iterator[Any]:
        for i in range(100):
            produced.append(i)
            yield {"data": 42} if i == 25 else _msg(i)

    with pytest.raises(AmsPublishException) as info:
        ams.publish("t1", generate())
    exc = info.value
    assert exc.published_ids == [str(i) for i in range(25)]  # 10 + 10 + the 5 before it
    assert exc.unpublished_indices == [] and exc.unpublished == []
    assert isinstance(exc.cause, AmsMessageException)
    assert exc.iterator_not_consumed is True and produced[-1] == 25


def test_a_bad_first_message_of_a_stream_sends_nothing(ams: Any, store: Store) -> None:
    with pytest.raises(AmsMessageException):
        ams.publish("t1", iter([{"data": 1}, _msg(1)]))
    with pytest.raises(AmsMessageException):
        ams.publish("t1", "not a message")
    assert store.requests == []


# ---- Publisher ------------------------------------------------------------------------------
def test_batches_by_count_and_futures_resolve_to_the_ids(ams: Any, store: Store) -> None:
    with Publisher(ams, "t1", max_messages=3, max_in_flight=1, max_latency=5) as pub:
        futures = [pub.publish(_msg(i)) for i in range(7)]
    assert [len(r) for r in store.requests] == [3, 3, 1]  # the last one sent by close()
    assert [f.result(timeout=0) for f in futures] == [str(i) for i in range(7)]
    assert pub.pending == 0


def test_batches_by_bytes(ams: Any, store: Store) -> None:
    size = len(json.dumps(_msg(0).dict(), separators=(",", ":")))
    with Publisher(ams, "t1", max_messages=100, max_bytes=15 + 3 * (size + 1),
                   max_latency=5) as pub:
        futures = [pub.publish(_msg(i)) for i in range(8)]
    assert [len(r) for r in store.requests] == [3, 3, 2]
    assert [f.result(timeout=0) for f in futures] == [str(i) for i in range(8)]


def test_a_lone_message_is_sent_after_max_latency(ams: Any, store: Store) -> None:
    pub = Publisher(ams, "t1", max_latency=0.02)
    try:
        assert pub.publish(_msg(0)).result(timeout=WAIT) == "0"  # no flush, no close
    finally:
        pub.close()


def test_a_reply_with_the_wrong_number_of_ids_fails_exactly_that_batch(ams: Any, store: Store) -> None:
    with Publisher(ams, "t1", max_messages=2, max_in_flight=1) as pub:
        first = [pub.publish(_msg(i)) for i in range(2)]
        assert pub.flush(WAIT)
        store.wrong_count = True
        second = [pub.publish(_msg(i)) for i in range(2, 4)]
    assert [f.result() for f in first] == ["0", "1"]
    errors = [f.exception() for f in second]
    assert all(isinstance(e, AmsResponseException) for e in errors) and errors[0] is errors[1]


def test_flow_control_raises_or_blocks(ams: Any, store: Store) -> None:
    store.gate.clear()  # requests hang until the gate opens
    pub = Publisher(ams, "t1", max_messages=1, max_in_flight=2, max_pending_messages=2,
                    block=False)
    futures = [pub.publish(_msg(0)), pub.publish(_msg(1))]
    with pytest.raises(AmsFlowControlException, match="pending"):
        pub.publish(_msg(2))
    pub.block = True
    done = threading.Event()

    def blocked() -> None:
        futures.append(pub.publish(_msg(2)))
        done.set()

    threading.Thread(target=blocked).start()
    assert not done.wait(0.1)  # waits for room
    store.gate.set()
    assert done.wait(WAIT)
    assert pub.close(WAIT)
    assert sorted(f.result() for f in futures) == ["0", "1", "2"]


def test_bad_input_and_closed_publisher_raise_early(ams: Any, store: Store) -> None:
    with pytest.raises(AmsArgumentException, match="pool"):
        Publisher(ams, "t1", max_in_flight=64)
    with pytest.raises(AmsArgumentException):
        Publisher(ams, "t1", max_messages=0)
    with pytest.raises(AmsArgumentException):
        Publisher(ams, "bad/name")
    pub = Publisher(ams, "t1")
    with pytest.raises(AmsMessageException):
        pub.publish({"data": b"raw bytes"})
    with pytest.raises(AmsMessageException, match="too large"):
        pub.publish({"data": "x" * 2_000_000})
    pub.close()
    with pytest.raises(AmsPublisherClosedException):
        pub.publish(_msg(0))
    assert store.requests == []


def test_a_cancelled_future_is_left_out_and_publish_all_streams(ams: Any, store: Store) -> None:
    results: List[str] = []
    with Publisher(ams, "t1", max_messages=5, max_latency=5, max_in_flight=1) as pub:
        cancelled = pub.publish(_msg(-1))
        assert cancelled.cancel()
        count = pub.publish_all((_msg(i) for i in range(12)),
                                callback=lambda f: results.append(f.result()))
    assert count == 12 and sorted(results, key=int) == [str(i) for i in range(12)]
    assert sum(map(len, store.requests)) == 12
    assert all(m["attributes"]["i"] != "-1" for r in store.requests for m in r)


def test_flush_returns_only_after_every_future_and_callback_ran(ams: Any, store: Store) -> None:
    """A done-callback that is slow still runs before flush() returns (futures are resolved
    before their batch is released)."""
    seen: List[str] = []

    def slow_callback(future: Any) -> None:
        threading.Event().wait(0.05)
        seen.append(future.result())

    with Publisher(ams, "t1", max_messages=5, max_latency=0.001, max_in_flight=2) as pub:
        futures = [pub.publish(_msg(i)) for i in range(20)]
        for future in futures:
            future.add_done_callback(slow_callback)
        assert pub.flush(WAIT)
        assert all(f.done() for f in futures) and len(seen) == 20


def test_a_publisher_policy_replaces_the_clients_and_does_not_nest_in_it() -> None:
    """Client RetryPolicy(retry=3) and Publisher(retry_policy=P, retry=2): a batch that keeps
    failing is sent 1 + 2 times, not (1 + 2) x (1 + 3)."""
    from pymod import AmsServiceException, RetryPolicy

    client = make_client(retry_policy=RetryPolicy(retry=3, jitter=0, sleep=lambda s: None))
    calls: List[int] = []

    def fail(request: Any) -> Any:
        calls.append(1)
        return 503, {}, "<html>busy</html>"

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, URL, callback=fail)
        slept: List[float] = []
        with Publisher(client, "t1", retry_policy=RetryPolicy(jitter=0, sleep=slept.append),
                       retry=2, retrysleep=0.5) as pub:
            future = pub.publish(_msg(0))
            with pytest.raises(AmsServiceException):
                future.result(WAIT)
    client.close()
    assert len(calls) == 3 and slept == [0.5, 0.5]
