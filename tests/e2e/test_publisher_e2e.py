"""pymod.Publisher and streaming publish against the emulator over HTTPS, with injected faults:
every future resolves exactly once, to the id the server stored for that very message, or to the
exception of its failed request (and then the message is not stored)."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Dict, Iterator, List, Tuple

import pytest

from pymod import AmsException, AmsMessage, AmsPublishException, ArgoMessagingService, Publisher
from pymod.emulator import Emulator, FaultConfig


def _stored(ams: ArgoMessagingService, sub: str) -> Dict[str, int]:
    """Every message of ``sub``: message id -> its ``i`` attribute (pulled and acknowledged)."""
    out: Dict[str, int] = {}
    while True:
        received = ams.pull_sub(sub, num=500, return_immediately=True)
        if not received:
            return out
        for _ack_id, msg in received:
            assert msg.get_msgid() not in out
            out[msg.get_msgid()] = int(msg.get_attr()["i"])
        ams.ack_sub(sub, [received[-1][0]])


def _messages(count: int) -> List[AmsMessage]:
    return [AmsMessage(data=f"payload {i}", attributes={"i": str(i)}) for i in range(count)]


@pytest.mark.timeout(120)
def test_futures_resolve_to_exactly_the_stored_ids_under_faults(
    emulator: Emulator, ams: ArgoMessagingService, names: Dict[str, str]
) -> None:
    ams.create_topic(names["topic"])
    ams.create_sub(names["sub"], names["topic"])
    # faults that never store the request: a failed future must mean "not stored"
    emulator.set_faults(FaultConfig(rate=0.3, kinds=("502", "503", "reset-before"), seed=11))
    try:
        with Publisher(ams, names["topic"], max_messages=10, max_in_flight=4,
                       max_latency=0.001) as pub:
            futures: List[Tuple[int, Future[str]]] = [
                (i, pub.publish(m)) for i, m in enumerate(_messages(400))]
    finally:
        emulator.clear_faults()
    resolved: Dict[str, int] = {}
    failures: Dict[int, List[int]] = {}  # id(exception) -> the messages it failed
    for i, future in futures:
        assert future.done()
        exc = future.exception(timeout=0)
        if exc is None:
            assert future.result() not in resolved
            resolved[future.result()] = i
        else:
            assert isinstance(exc, AmsException)
            failures.setdefault(id(exc), []).append(i)
    assert resolved and failures  # the faults hit some requests, not all
    assert all(len(group) <= 10 for group in failures.values())  # one request's messages
    assert len(resolved) + sum(map(len, failures.values())) == 400
    assert _stored(ams, names["sub"]) == resolved


@pytest.mark.timeout(60)
def test_publisher_with_retries_and_order_kept_by_one_request_in_flight(
    emulator: Emulator, ams: ArgoMessagingService, names: Dict[str, str]
) -> None:
    ams.create_topic(names["topic"])
    ams.create_sub(names["sub"], names["topic"])
    emulator.set_faults(FaultConfig(rate=0.3, kinds=("503",), seed=5))
    try:
        with Publisher(ams, names["topic"], max_messages=7, max_in_flight=1, retry=20,
                       retrysleep=0) as pub:
            futures = [pub.publish(m) for m in _messages(100)]
    finally:
        emulator.clear_faults()
    ids = [f.result(timeout=0) for f in futures]
    assert [int(i) for i in ids] == sorted(int(i) for i in ids)  # stored in publish() order
    stored = _stored(ams, names["sub"])
    assert stored == {msgid: i for i, msgid in enumerate(ids)}


@pytest.mark.timeout(60)
def test_streaming_publish_of_a_generator_with_a_failing_request(
    emulator: Emulator, ams: ArgoMessagingService, names: Dict[str, str]
) -> None:
    ams.create_topic(names["topic"])
    ams.create_sub(names["sub"], names["topic"])
    ams.max_request_messages = 50
    produced: List[int] = []

    def generate() -> Iterator[AmsMessage]:
        for i in range(1000):
            produced.append(i)
            yield AmsMessage(data=f"payload {i}", attributes={"i": str(i)})

    result = ams.publish(names["topic"], generate())
    assert len(result["messageIds"]) == 1000 and result["messageIds"] == list(result["messageIds"])
    assert _stored(ams, names["sub"]) == dict(zip(result["messageIds"], range(1000)))

    produced.clear()
    gen = generate()
    published = ams.publish(names["topic"], (next(gen) for _ in range(120)))  # 3 requests
    assert len(published["messageIds"]) == 120
    rest = gen  # the same generator, 120 messages read
    calls = {"n": 0}
    real = ams._publish_chunk

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            emulator.set_faults(FaultConfig(rate=1.0, kinds=("503",), limit=1))
        return real(*args, **kwargs)

    ams._publish_chunk = flaky  # type: ignore[method-assign]
    try:
        with pytest.raises(AmsPublishException) as info:
            ams.publish(names["topic"], rest)
    finally:
        del ams._publish_chunk
        emulator.clear_faults()
    exc = info.value
    assert len(exc.published_ids) == 100 and getattr(exc, "iterator_not_consumed", False)
    assert [int(m["attributes"]["i"]) for m in exc.unpublished] == list(range(220, 270))
    assert produced[-1] == 269  # read one request at a time, nothing read ahead of a full one
    assert "rest of the iterator was not consumed" in str(exc)
