"""Soak through the fault proxy: 16 threads (8 publishers, 8 consumers, one topic and one
subscription each) share one client whose every request goes through :class:`FaultProxy` in
front of the emulator. The proxy duplicates 1 % of the replies -- half of them right after the
reply (the duplicate waits, unread, on the connection), half of them late (sent just before the
reply to the next request on that connection, which then reads it first) -- and also trickles,
resets and truncates a few.

Checked: 0 confirmed-but-lost messages, 0 wrong ids (a confirmed id whose stored message is
another one), 0 cross-subscription deliveries, no call past its deadline, every consumer's
checkpoint at or behind what AMS committed. The figures are printed (``pytest -s``).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import Any, Dict, List, Set, Tuple

import pytest

from pymod import AmsException, AmsMessage, ArgoMessagingService, RetryPolicy
from pymod.amsexceptions import AmsReplyMismatchException
from pymod.consumer import Consumer
from pymod.emulator import Emulator

from .netfaults import DUP, PASS, RESET, TRICKLE, TRUNCATE, FaultProxy

THREADS = 16
PAIRS = THREADS // 2
PUBLISH_SECONDS = 20.0
BATCH = 10
DUP_RATE = 0.01
OTHER_RATES = {RESET: 0.002, TRUNCATE: 0.002, TRICKLE: 0.0005}
TIMEOUT = 2.0  # per read; an attempt ends within 2 * TIMEOUT
DEADLINE = 6.0  # per call, retries and sleeps included
SLACK = 0.5  # scheduling on a loaded 2-core machine
SEED = 20261201
LATE_DUP = "dup-late"


class _Plan:
    """Which fault hits which reply (seeded). ``dup-late`` is turned into a ``pass`` now and a
    duplicate of this reply sent before the next reply of the same connection."""

    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.lock = threading.Lock()

    def __call__(self, request: bytes, reply: bytes) -> str:
        with self.lock:
            draw = self.rng.random()
        if draw < DUP_RATE / 2:
            return DUP
        if draw < DUP_RATE:
            return LATE_DUP
        draw -= DUP_RATE
        for kind, rate in OTHER_RATES.items():
            if draw < rate:
                return kind
            draw -= rate
        return PASS


class _LateDupProxy(FaultProxy):
    """FaultProxy with late duplicates: the reply marked ``dup-late`` is sent again right before
    the reply to the next request on the same connection (after that request has arrived)."""

    _pending: threading.local

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending = threading.local()

    def _deliver(self, conn, reply, kind):  # type: ignore[no-untyped-def,override]
        stale = getattr(self._pending, "reply", None)
        self._pending.reply = None
        if stale is not None:
            conn.sendall(stale)
        if kind == LATE_DUP:
            self._pending.reply = reply
            kind = PASS
        return FaultProxy._deliver(conn, reply, kind)


def test_soak_through_duplicating_proxy(tls, tmp_path) -> None:
    started = time.monotonic()
    with Emulator() as emu:
        host, port = emu.endpoint.rsplit(":", 1)
        admin = ArgoMessagingService(emu.endpoint, token=emu.admin_token, project=emu.project,
                                     verify=emu.ca_path)
        topics = [f"soak-t{i}" for i in range(PAIRS)]
        subs = [f"soak-s{i}" for i in range(PAIRS)]
        for topic, sub in zip(topics, subs):
            admin.create_topic(topic)
            admin.create_sub(sub, topic, ackdeadline=30)
        with _LateDupProxy(tls, (host, int(port)), emu.ca_path, _Plan()) as proxy:
            figures = _run(proxy, emu, tls.ca_path, admin, topics, subs)
            figures["faults"] = dict(proxy.counts)
        admin.close()
    figures["runtime_s"] = round(time.monotonic() - started, 1)
    faults = figures["faults"]
    duplicated = faults.get(DUP, 0) + faults.get(LATE_DUP, 0)
    requests_seen = sum(faults.values())
    print(
        "\n[soak] threads={threads} confirmed={confirmed} consumed={consumed} (unique "
        "{unique}) publish_failures={publish_failures} requests={requests} duplicated "
        "replies={dups} ({dup_pct:.2f} %: {early} early, {late} late) resets={resets} "
        "truncations={truncs} trickles={trickles} mismatches_caught={mismatches} "
        "lost={lost} wrong_ids={wrong} cross_sub={cross} checkpoint_ahead={ahead} "
        "max_call={max_call:.2f} s (deadline {deadline:.1f} s) calls_past_deadline={past} "
        "runtime={runtime_s} s".format(
            requests=requests_seen, dups=duplicated,
            dup_pct=100 * duplicated / max(1, requests_seen), early=faults.get(DUP, 0),
            late=faults.get(LATE_DUP, 0), resets=faults.get(RESET, 0),
            truncs=faults.get(TRUNCATE, 0), trickles=faults.get(TRICKLE, 0),
            deadline=DEADLINE, **figures,
        )
    )
    assert duplicated >= 20, "too few duplicated replies for the soak to mean anything"
    assert figures["lost"] == 0
    assert figures["wrong"] == 0
    assert figures["cross"] == 0
    assert figures["ahead"] == 0
    assert figures["past"] == 0


def _run(proxy: FaultProxy, emu: Emulator, ca_path: str, admin: ArgoMessagingService,
         topics: List[str], subs: List[str]) -> Dict[str, Any]:
    ams = ArgoMessagingService(
        proxy.endpoint, token=emu.admin_token, project=emu.project, verify=ca_path,
        timeout=TIMEOUT, pool_maxsize=THREADS,
        retry_policy=RetryPolicy(max_sleep=0.2, deadline=DEADLINE),
    )
    durations: List[float] = []
    mismatches: Counter[str] = Counter()
    original, attempt = ams._retry_make_request, ams._make_request

    def timed(*args: Any, **kwargs: Any) -> Any:  # one call, retries included
        start = time.monotonic()
        try:
            return original(*args, **kwargs)
        finally:
            durations.append(time.monotonic() - start)

    def counted(*args: Any, **kwargs: Any) -> Any:  # one attempt
        try:
            return attempt(*args, **kwargs)
        except AmsReplyMismatchException as exc:
            mismatches[exc.route] += 1
            raise

    ams._retry_make_request = timed  # type: ignore[method-assign]
    ams._make_request = counted  # type: ignore[method-assign]

    confirmed: Dict[str, Dict[str, str]] = {t: {} for t in topics}  # topic -> id -> key
    confirmed_keys: Dict[str, Set[str]] = {t: set() for t in topics}
    wrong: List[Tuple[str, str]] = []
    publish_failures = Counter[str]()
    stop_publishing = time.monotonic() + PUBLISH_SECONDS

    def publisher(index: int) -> None:
        topic = topics[index]
        n = 0
        while time.monotonic() < stop_publishing:
            keys = [f"{index}-{n}-{k}" for k in range(BATCH)]
            batch = [AmsMessage(data=key, attributes={"topic": topic, "key": key}) for key in keys]
            n += 1
            for _ in range(5):  # at least once: publish again until confirmed
                try:
                    ids = ams.publish(topic, batch, retry=2, retrysleep=0.05)["messageIds"]
                except AmsException as exc:
                    publish_failures[type(exc).__name__] += 1
                    continue
                for msg_id, key in zip(ids, keys):
                    if msg_id in confirmed[topic]:  # one id confirmed for two messages
                        wrong.append((topic, msg_id))
                    confirmed[topic][msg_id] = key
                    confirmed_keys[topic].add(key)
                break

    consumed: Dict[str, List[Tuple[str, str, str]]] = {s: [] for s in subs}
    checkpoints: Dict[str, List[int]] = {s: [] for s in subs}
    consumers = [
        Consumer(ams, sub, (lambda m, s=sub: consumed[s].append(
            (m.get_msgid(), m.get_attr("key"), m.get_attr("topic")))),
                 batch_size=50, idle_sleep=0.05, backoff=0.02, max_backoff=0.2,
                 max_errors=10_000, install_signal_handlers=False,
                 checkpoint=checkpoints[sub].append, retry=2, retrysleep=0.05)
        for sub in subs
    ]
    failures: List[BaseException] = []

    def guarded(target: Any, *args: Any) -> None:
        try:
            target(*args)
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=guarded, args=(publisher, i)) for i in range(PAIRS)]
    threads += [threading.Thread(target=guarded, args=(c.run,)) for c in consumers]
    for thread in threads:
        thread.start()
    for thread in threads[:PAIRS]:
        thread.join()
    # drain: until every subscription's committed offset reaches its topic's end
    drain_until = time.monotonic() + 40
    while time.monotonic() < drain_until:
        if all(admin.getoffsets_sub(s, "current") >= admin.getoffsets_sub(s, "max")
               for s in subs):
            break
        time.sleep(0.2)
    for consumer in consumers:
        consumer.stop()
    for thread in threads[PAIRS:]:
        thread.join(timeout=30)
    assert not failures, f"a thread died: {failures[0]!r}"
    ams.close()

    lost = cross = ahead = 0
    for topic, sub in zip(topics, subs):
        got = consumed[sub]
        keys = {key for _, key, _ in got}
        lost += len(confirmed_keys[topic] - keys)
        cross += sum(1 for _, _, t in got if t != topic)
        for msg_id, key, _ in got:
            expected = confirmed[topic].get(msg_id)
            if expected is not None and expected != key:
                wrong.append((topic, msg_id))
        committed = admin.getoffsets_sub(sub, "current")
        if checkpoints[sub] and max(checkpoints[sub]) > committed:
            ahead += 1
    return {
        "threads": THREADS,
        "confirmed": sum(len(k) for k in confirmed_keys.values()),
        "consumed": sum(len(v) for v in consumed.values()),
        "unique": sum(len({k for _, k, _ in v}) for v in consumed.values()),
        "publish_failures": dict(publish_failures),
        "mismatches": dict(mismatches),
        "lost": lost, "wrong": len(wrong), "cross": cross, "ahead": ahead,
        "max_call": max(durations), "past": sum(1 for d in durations if d > DEADLINE + SLACK),
    }


@pytest.fixture(autouse=True)
def _quiet_retry_warnings(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.ERROR, logger="pymod")
    caplog.set_level(logging.ERROR, logger="urllib3")  # header defects of truncated replies
