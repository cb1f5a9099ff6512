"""The client against hostile servers: trickled bytes (deadline), replies past the size cap,
endless chunked bodies, gzip bombs, duplicated and late-duplicated replies, resets and
truncations. Each case on the direct urllib3 path and on the ``session.request`` path (forced
with ``allow_redirects=True``), and where it applies with an injected session.

Figures (elapsed time against the deadline, memory) are printed: run with ``-s``.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from typing import Any, Dict

import pytest
import requests

from pymod import AmsConnectionException, AmsMessage
from pymod.amsexceptions import (
    AmsDeadlineException,
    AmsReplyMismatchException,
    AmsReplyTooLargeException,
)

from .netfaults import (
    HostileServer,
    endless_chunks,
    gzip_bomb,
    iter_ids,
    reply_bytes,
    serve_forever_body,
    trickle,
)

TOPIC = json.dumps({"name": "/projects/DEMO/topics/t1"}).encode()
PATHS: Dict[str, Dict[str, Any]] = {"direct": {}, "session-request": {"allow_redirects": True}}


def _ids(start: int, count: int = 1) -> bytes:
    return json.dumps({"messageIds": list(iter_ids(start, count))}).encode()


# ---- deadline: a peer trickling one byte every 0.5 s -------------------------------------------
def _trickler(conn: Any, request: bytes, index: int) -> bool:
    trickle(conn, reply_bytes(TOPIC), every=0.5)
    return True


@pytest.mark.parametrize("path", PATHS)
def test_a_trickling_server_cannot_hold_a_call_past_its_deadline(tls, client_for, path):
    with HostileServer(tls, _trickler) as server:
        ams = client_for(server)
        start = time.monotonic()
        with pytest.raises(AmsDeadlineException) as info:
            ams.get_topic("t1", timeout=1, **PATHS[path])
        elapsed = time.monotonic() - start
    print(f"\n[deadline] {path}: timeout=1, retry=0, 1 byte every 0.5 s: raised "
          f"{type(info.value).__name__} after {elapsed:.2f} s (deadline 2.00 s = connect + read)")
    assert elapsed < 2.0 + 1.0  # the deadline, plus scheduling slack on a loaded machine
    assert "within" in str(info.value) and "hostile-test-token" not in str(info.value)


def test_a_call_deadline_bounds_retries_of_a_trickling_server(tls, client_for):
    with HostileServer(tls, _trickler) as server:
        ams = client_for(server)
        start = time.monotonic()
        with pytest.raises(AmsDeadlineException):
            ams.get_topic("t1", timeout=10, retry=5, retrysleep=0.1, deadline=1.5)
        elapsed = time.monotonic() - start
    print(f"\n[deadline] timeout=10, retry=5, deadline=1.5: raised after {elapsed:.2f} s")
    assert elapsed < 1.5 + 1.0
    assert len(server.requests) == 1  # the deadline passed during the first attempt


def test_an_injected_session_still_bounds_the_body_read(tls, client_for):
    def slow_body(conn: Any, request: bytes, index: int) -> bool:
        head, body = reply_bytes(TOPIC).split(b"\r\n\r\n", 1)
        conn.sendall(head + b"\r\n\r\n")
        trickle(conn, body, every=0.5)
        return True

    with HostileServer(tls, slow_body) as server:
        ams = client_for(server, session=requests.Session())
        start = time.monotonic()
        with pytest.raises(AmsDeadlineException):
            ams.get_topic("t1", timeout=1)
        elapsed = time.monotonic() - start
    print(f"\n[deadline] injected session, trickled body: raised after {elapsed:.2f} s")
    assert elapsed < 2.0 + 1.0


# ---- bounded replies --------------------------------------------------------------------------
@pytest.mark.parametrize("path", PATHS)
def test_a_huge_announced_body_is_refused_unread(tls, client_for, path):
    def huge(conn: Any, request: bytes, index: int) -> bool:
        serve_forever_body(conn, 1 << 30)
        return False

    with HostileServer(tls, huge) as server:
        ams = client_for(server)
        with pytest.raises(AmsReplyTooLargeException, match="Content-Length 1073741824"):
            ams.get_topic("t1", **PATHS[path])


@pytest.mark.parametrize("path", PATHS)
def test_an_endless_chunked_body_stops_at_the_cap(tls, client_for, path):
    def endless(conn: Any, request: bytes, index: int) -> bool:
        endless_chunks(conn)
        return False

    with HostileServer(tls, endless) as server:
        ams = client_for(server, max_reply_bytes=4 << 20)
        tracemalloc.start()
        with pytest.raises(AmsReplyTooLargeException):
            ams.get_topic("t1", **PATHS[path])
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(f"\n[cap] endless chunked body, cap 4 MiB, {path}: peak {peak / 2**20:.1f} MiB traced")
    assert peak < 16 << 20


@pytest.mark.parametrize("path", PATHS)
def test_a_gzip_bomb_is_not_decompressed_past_the_cap(tls, client_for, path):
    bomb = gzip_bomb(256 << 20)

    def bombing(conn: Any, request: bytes, index: int) -> bool:
        conn.sendall(reply_bytes(bomb, headers="Content-Encoding: gzip\r\n"))
        return True

    with HostileServer(tls, bombing) as server:
        ams = client_for(server, max_reply_bytes=8 << 20)
        tracemalloc.start()
        with pytest.raises(AmsReplyTooLargeException, match="decompressed"):
            ams.get_topic("t1", **PATHS[path])
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(f"\n[cap] gzip bomb {len(bomb)} B -> 256 MiB, cap 8 MiB, {path}: peak "
          f"{peak / 2**20:.1f} MiB traced")
    assert peak < 64 << 20


@pytest.mark.parametrize("path", PATHS)
def test_a_gzip_reply_within_the_cap_is_decoded(tls, client_for, path):
    import gzip

    def gzipped(conn: Any, request: bytes, index: int) -> bool:
        conn.sendall(reply_bytes(gzip.compress(TOPIC), headers="Content-Encoding: gzip\r\n"))
        return True

    with HostileServer(tls, gzipped) as server:
        assert client_for(server).get_topic("t1", **PATHS[path]) == json.loads(TOPIC)


# ---- duplicated replies -----------------------------------------------------------------------
def _topic(index: int) -> bytes:
    return json.dumps({"name": f"/projects/DEMO/topics/t{index}"}).encode()


@pytest.mark.parametrize("path", [*PATHS, "injected-session"])
def test_a_duplicated_reply_is_never_read_as_the_next_one(tls, client_for, path):
    def duplicating(conn: Any, request: bytes, index: int) -> bool:
        reply = reply_bytes(_topic(index))
        conn.sendall(reply)
        if index == 0:
            conn.sendall(reply)  # the same reply again, after it
        return True

    with HostileServer(tls, duplicating) as server:
        kwargs = {"session": requests.Session()} if path == "injected-session" else {}
        ams = client_for(server, **kwargs)
        extra = {**PATHS.get(path, {}), "retry": 1, "retrysleep": 0}
        first = ams.get_topic("t1", **extra)["name"]
        time.sleep(0.05)  # the duplicate has arrived by now, if it was not seen already
        second = ams.get_topic("t1", **extra)["name"]
    # the first call took reply 0 (or, having seen the duplicate behind it, repeated itself on
    # a new connection and took reply 1); the second call always takes its own, newer reply
    assert first in ("/projects/DEMO/topics/t0", "/projects/DEMO/topics/t1")
    assert second == f"/projects/DEMO/topics/t{len(server.requests) - 1}"
    assert second != first
    assert server.connections == 2  # the connection holding the duplicate was not reused


@pytest.mark.parametrize("path", PATHS)
def test_a_publish_reply_followed_by_more_bytes_is_not_confirmed(tls, client_for, path):
    def duplicating(conn: Any, request: bytes, index: int) -> bool:
        conn.sendall(reply_bytes(_ids(index)) * 2)  # one TLS record: both there at once
        return True

    with HostileServer(tls, duplicating) as server:
        ams = client_for(server)
        outcomes = []
        for _ in range(3):
            try:
                outcomes.append(ams.publish("t1", AmsMessage(data="a"), retry=2,
                                            **PATHS[path])["messageIds"])
            except AmsReplyMismatchException:
                outcomes.append("not confirmed")
    # a confirmed id is always the one of this very request (request n gets id n)
    for index, outcome in enumerate(outcomes):
        assert outcome in ("not confirmed", [str(index)])
    assert len(server.requests) == 3  # never repeated


@pytest.mark.parametrize("path", PATHS)
def test_a_late_duplicate_of_a_publish_reply_is_refused(tls, client_for, path):
    """The duplicate arrives after the next request was sent: it is read as that request's reply
    and must not be taken for it."""
    first_reply = reply_bytes(_ids(0))

    def late(conn: Any, request: bytes, index: int) -> bool:
        if index == 1:
            conn.sendall(first_reply)  # late duplicate of reply 0, then reply 1
        conn.sendall(first_reply if index == 0 else reply_bytes(_ids(index)))
        return True

    with HostileServer(tls, late) as server:
        ams = client_for(server)
        assert ams.publish("t1", AmsMessage(data="a"), **PATHS[path])["messageIds"] == ["0"]
        with pytest.raises(AmsReplyMismatchException, match="repeats"):
            ams.publish("t1", AmsMessage(data="b"), retry=3, **PATHS[path])
        assert len(server.requests) == 2  # a publish is not repeated
        third = ams.publish("t1", AmsMessage(data="c"), **PATHS[path])["messageIds"]
    assert third == ["2"] and server.connections == 2


@pytest.mark.parametrize("path", PATHS)
def test_the_same_ids_from_two_topics_on_one_connection_are_both_confirmed(tls, client_for, path):
    """Every new topic's first id is "0": identical publish replies for *different* topics, one
    after the other on one connection, are both good replies (as on the real AMS)."""

    def first_ids(conn: Any, request: bytes, index: int) -> bool:
        conn.sendall(reply_bytes(_ids(0)))
        return True

    with HostileServer(tls, first_ids) as server:
        ams = client_for(server)
        for topic in ("t1", "t2", "t3"):
            assert ams.publish(topic, AmsMessage(data="a"), **PATHS[path])["messageIds"] == ["0"]
        assert server.connections == 1 and len(server.requests) == 3


@pytest.mark.parametrize("path", PATHS)
def test_a_server_closing_right_after_its_reply_does_not_void_the_reply(tls, client_for, path):
    """A peer that closes the connection just after a complete reply, without announcing
    ``Connection: close``, has sent nothing more: the reply counts and the next call reconnects."""

    def close_after(conn: Any, request: bytes, index: int) -> bool:
        conn.sendall(reply_bytes(_ids(index)))
        time.sleep(0.05)  # the close reaches the client before it looks for unread bytes
        return False

    with HostileServer(tls, close_after) as server:
        ams = client_for(server)
        for index in range(3):
            reply = ams.publish("t1", AmsMessage(data="a"), **PATHS[path])
            assert reply["messageIds"] == [str(index)]
            time.sleep(0.05)
        assert server.connections == 3 and len(server.requests) == 3


@pytest.mark.parametrize("path", PATHS)
def test_a_late_publish_reply_read_by_a_pull_is_refused_and_the_pull_repeated(tls, client_for,
                                                                            path):
    pull = json.dumps({"receivedMessages": []}).encode()

    def late(conn: Any, request: bytes, index: int) -> bool:
        if index == 1:
            conn.sendall(reply_bytes(_ids(0)))  # late duplicate of the publish reply
        conn.sendall(reply_bytes(_ids(0) if index == 0 else pull))
        return True

    with HostileServer(tls, late) as server:
        ams = client_for(server)
        ams.publish("t1", AmsMessage(data="a"), **PATHS[path])
        assert ams.pull_sub("s1", 1, True, retry=1, retrysleep=0, **PATHS[path]) == []
    assert len(server.requests) == 3 and server.connections == 2


@pytest.mark.parametrize("path", PATHS)
def test_bytes_past_the_announced_length_retire_the_connection(tls, client_for, path):
    def overlong(conn: Any, request: bytes, index: int) -> bool:
        conn.sendall(reply_bytes(TOPIC))
        if index < 2:
            conn.sendall(b'{"junk": true}')  # a TLS record of its own, left unread
            time.sleep(0.05)
        return True

    with HostileServer(tls, overlong) as server:
        ams = client_for(server)
        with pytest.raises(AmsReplyMismatchException, match="more bytes followed"):
            ams.get_topic("t1", **PATHS[path])
        assert ams.get_topic("t1", retry=1, retrysleep=0, **PATHS[path]) == json.loads(TOPIC)
        assert ams.get_topic("t1", **PATHS[path]) == json.loads(TOPIC)
    assert server.connections == 3 and len(server.requests) == 4


# ---- resets and truncation --------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["reset", "truncate"])
@pytest.mark.parametrize("path", PATHS)
def test_resets_and_truncations_are_typed_and_retried(tls, client_for, path, kind):
    from .netfaults import _reset

    def breaking(conn: Any, request: bytes, index: int) -> bool:
        reply = reply_bytes(TOPIC)
        if index > 0:
            conn.sendall(reply)
            return True
        conn.sendall(reply[: len(reply) - 10])
        if kind == "reset":
            _reset(conn)
        return False

    with HostileServer(tls, breaking) as server:
        ams = client_for(server)
        with pytest.raises(AmsConnectionException):
            ams.get_topic("t1", **PATHS[path])
        assert ams.get_topic("t1", retry=1, retrysleep=0, **PATHS[path]) == json.loads(TOPIC)
