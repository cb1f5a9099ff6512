"""Publishing any number of messages in one call: split under the limits, ids in order, and an
exact report when a request in the middle fails."""

from __future__ import annotations

import random
from typing import Any, List

import pytest

from pymod import AmsMessage, AmsPublishException, AmsServiceException, ArgoMessagingService
from pymod.emulator import Emulator, FaultConfig

COUNT = 25_000
#: The largest raw payload whose stored form fits AMS's 1,500,000-byte limit (Base64 grows 4/3).
NEAR_LIMIT = 1_100_000


def _mixed_messages(count: int, seed: int = 7) -> List[AmsMessage]:
    """Mostly small messages, some of a few KiB, and a handful close to the per-message limit."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        if i % 5000 == 4999:
            size = NEAR_LIMIT
        elif i % 97 == 0:
            size = rng.randint(1_000, 64_000)
        else:
            size = rng.randint(0, 300)
        out.append(AmsMessage(data=bytes([i % 251]) * size, attributes={"seq": str(i)}))
    return out


def test_25000_messages_of_mixed_sizes_in_one_call(ams: ArgoMessagingService,
                                                   names: dict[str, str]) -> None:
    ams.create_topic(names["topic"])
    ams.create_sub(names["sub"], names["topic"])
    ams.max_request_bytes = 1_600_000  # so that near-limit messages force splits by size too
    messages = _mixed_messages(COUNT)
    requests_made: List[int] = []
    original = ams._retry_make_request

    def counting(url: str, body: Any = None, route_name: Any = None, *args: Any, **kw: Any) -> Any:
        if route_name == "topics:publish":
            requests_made.append(len(body))
        return original(url, body, route_name, *args, **kw)

    ams._retry_make_request = counting  # type: ignore[method-assign]
    ids = ams.publish(names["topic"], messages)["messageIds"]

    assert ids == [str(i) for i in range(COUNT)]
    assert len(requests_made) > COUNT // ams.max_request_messages  # split by count and by bytes
    assert max(requests_made) <= ams.max_request_bytes
    # What the server stored is what was sent, in order (spot checks incl. near-limit ones).
    for offset in (0, 96, 97, 4999, 12_345, 24_999):
        ams.modifyoffset_sub(names["sub"], offset)
        [(_, got)] = ams.pull_sub(names["sub"], 1, True)
        assert got.get_msgid() == str(offset)
        assert got.get_attr("seq") == str(offset)
        assert got.get_data() == messages[offset].get_data()


@pytest.mark.emulator_only("fault injection")
def test_a_failed_request_in_the_middle_reports_exactly_what_was_published(
    emulator: Emulator, ams: ArgoMessagingService, names: dict[str, str]
) -> None:
    ams.create_topic(names["topic"])
    ams.create_sub(names["sub"], names["topic"])
    ams.max_request_messages = 100
    messages = [AmsMessage(data=f"m{i}", attributes={"seq": str(i)}) for i in range(1000)]
    calls = 0
    original = ams._retry_make_request

    def fail_the_fourth(url: str, body: Any = None, route_name: Any = None, *args: Any,
                        **kw: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 4:  # the server answers the 4th request with a balancer 503
            emulator.set_faults(FaultConfig(rate=1.0, kinds=("503",), limit=1))
        return original(url, body, route_name, *args, **kw)

    ams._retry_make_request = fail_the_fourth  # type: ignore[method-assign]
    try:
        with pytest.raises(AmsPublishException) as info:
            ams.publish(names["topic"], messages)
    finally:
        emulator.clear_faults()
    exc = info.value
    assert isinstance(exc.cause, AmsServiceException) and exc.cause.code == 503
    assert exc.published_ids == [str(i) for i in range(300)]
    assert exc.unpublished_indices == list(range(300, 1000))
    assert [m["attributes"]["seq"] for m in exc.unpublished] == [str(i) for i in range(300, 1000)]
    assert "300 message(s) were published" in str(exc)
    assert ams.getoffsets_sub(names["sub"], "max") == 300  # nothing else reached the server

    # Resuming with exactly the unpublished messages gives every message once, in order.
    ams._retry_make_request = original  # type: ignore[method-assign]
    resumed = ams.publish(names["topic"], exc.unpublished)["messageIds"]
    assert resumed == [str(i) for i in range(300, 1000)]
    seqs = [m.get_attr("seq") for _, m in ams.pull_sub(names["sub"], 1000, True)]
    assert seqs == [str(i) for i in range(1000)]
