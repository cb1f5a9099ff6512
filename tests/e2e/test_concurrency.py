"""One client shared by 8 threads: 4 publish, 4 consume (one subscription each), concurrently."""

from __future__ import annotations

import threading
import time
from typing import Dict, List, Set

from pymod import AmsMessage, ArgoMessagingService

PUBLISHERS = 4
CONSUMERS = 4
PER_PUBLISHER = 400


def test_one_client_shared_by_eight_threads(ams: ArgoMessagingService, names: dict[str, str]) -> None:
    topic = names["topic"]
    ams.create_topic(topic)
    subs = [f"{names['sub']}-{i}" for i in range(CONSUMERS)]
    for sub in subs:
        ams.create_sub(sub, topic, ackdeadline=60)
    pullopts_before = dict(ams.pullopts)
    expected = {f"{p}-{i}" for p in range(PUBLISHERS) for i in range(PER_PUBLISHER)}

    errors: List[BaseException] = []
    received: Dict[str, Set[str]] = {sub: set() for sub in subs}
    oversized: List[int] = []
    published_ids: List[str] = []
    lock = threading.Lock()

    def publisher(p: int) -> None:
        try:
            for start in range(0, PER_PUBLISHER, 20):
                batch = [AmsMessage(data=f"{p}-{i}", attributes={"publisher": str(p)})
                         for i in range(start, start + 20)]
                ids = ams.publish(topic, batch)["messageIds"]
                with lock:
                    published_ids.extend(ids)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    def consumer(c: int, sub: str) -> None:
        num = 7 + c * 13  # every thread asks for a different batch size
        deadline = time.monotonic() + 60
        try:
            while received[sub] != expected and time.monotonic() < deadline:
                pulled = ams.pull_sub(sub, num=num, return_immediately=True)
                if len(pulled) > num:
                    oversized.append(len(pulled))
                for _, msg in pulled:
                    data = (msg.get_data() or b"").decode()
                    assert msg.get_attr("publisher") == data.split("-")[0]
                    received[sub].add(data)
                if pulled:
                    ams.ack_sub(sub, [pulled[-1][0]])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=publisher, args=(p,)) for p in range(PUBLISHERS)]
    threads += [threading.Thread(target=consumer, args=(c, sub)) for c, sub in enumerate(subs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert not errors, errors
    assert len(published_ids) == PUBLISHERS * PER_PUBLISHER
    assert sorted(map(int, published_ids)) == list(range(PUBLISHERS * PER_PUBLISHER))
    for sub in subs:
        assert received[sub] == expected, sub
        assert ams.getoffsets_sub(sub, "current") == PUBLISHERS * PER_PUBLISHER
    assert oversized == []
    assert ams.pullopts == pullopts_before
