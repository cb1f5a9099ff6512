"""Connection handling under :class:`pymod.transport.AmsHttpRequests`: bounded reads, per-call
deadlines, and never reusing a connection whose next bytes could be taken for another reply.

* **Bounded replies** (:func:`read_body`): at most ``max_reply_bytes`` are read, and a
  ``gzip``/``deflate`` body is decompressed by us, never past the same cap (no gzip bomb).
* **Deadlines** (:data:`WATCHDOG`): while an attempt is in flight, its connection is registered
  with one watchdog thread; when the attempt's deadline passes, the watchdog shuts the socket
  down, so a peer that trickles a byte at a time cannot hold a call beyond it. The socket read
  timeout alone cannot do that: it restarts with every byte received.
* **No stale bytes** (:func:`release`, :class:`GuardedAdapter`): after a reply is read, a
  connection that already holds more bytes (a duplicated or over-long reply) is closed instead of
  being pooled, and a pooled connection with unread bytes -- in the socket, or decrypted and
  buffered by TLS -- is closed before a request is sent on it (urllib3 checks only the socket).
  A connection whose reply failed a check is closed too.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import os
import socket
import ssl
import threading
import time
import zlib
from typing import Any, Dict, List, Optional, Tuple

import requests.adapters
import urllib3
import urllib3.connectionpool
from urllib3.util.wait import wait_for_read

from pymod.amsexceptions import AmsReplyTooLargeException
from pymod.bypass import trust_adapter_class

__all__ = ["WATCHDOG", "GuardedAdapter", "attempt_deadline", "has_unread", "read_body",
           "release"]

_CHUNK = 1 << 20


class _Watchdog:
    """One daemon thread that shuts down the sockets of attempts past their deadline.

    ``watch``/``unwatch`` cost a lock and a heap push: a few microseconds per request. Cancelled
    entries are dropped lazily (and the heap rebuilt when they dominate), so in a steady stream
    the thread wakes about once per deadline period, not once per request.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._heap: List[Tuple[float, int]] = []
        self._active: Dict[int, Tuple[float, Any]] = {}
        self._seq = itertools.count()
        self._thread: Optional[threading.Thread] = None
        self.fired = 0

    def watch(self, conn: Any, deadline: float) -> int:
        """Shut ``conn``'s socket down at ``deadline`` (``time.monotonic()``) unless unwatched."""
        with self._cond:
            seq = next(self._seq)
            self._active[seq] = (deadline, conn)
            heap = self._heap
            heapq.heappush(heap, (deadline, seq))
            if len(heap) > 64 and len(heap) > 4 * len(self._active):
                self._heap = heap = [(d, s) for s, (d, _) in self._active.items()]
                heapq.heapify(heap)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pymod-deadlines",
                                                daemon=True)
                self._thread.start()
            elif heap[0][1] == seq:
                self._cond.notify()
        return seq

    def unwatch(self, seq: int) -> None:
        """Cancel a watch; after this returns, the watchdog will not touch that connection."""
        with self._cond:
            self._active.pop(seq, None)

    def _after_fork(self) -> None:
        """In a forked child: the thread did not survive the fork; start afresh."""
        self._cond = threading.Condition(threading.Lock())
        self._heap, self._active, self._thread = [], {}, None

    def _run(self) -> None:
        with self._cond:
            while True:
                heap, active = self._heap, self._active
                while heap and heap[0][1] not in active:
                    heapq.heappop(heap)
                if not heap:
                    self._cond.wait()
                    continue
                left = heap[0][0] - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                _, seq = heapq.heappop(heap)
                _, conn = active.pop(seq)
                self.fired += 1
                _shutdown(conn)


def _shutdown(conn: Any) -> None:
    """Make the blocked read on ``conn`` return at once (the reader then fails and closes it)."""
    sock = getattr(conn, "sock", None)
    if sock is None:
        return
    # socket.socket's method, not SSLSocket.shutdown, which would also drop the TLS object
    # under the thread that is reading through it
    with contextlib.suppress(OSError, TypeError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


#: The process-wide deadline watchdog.
WATCHDOG = _Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=WATCHDOG._after_fork)

#: Per thread: the deadline of the attempt being sent (read by the pools' ``_get_conn``) and the
#: watch registered for it.
_current = threading.local()


def begin_attempt(deadline: Optional[float]) -> None:
    """Announce the deadline (``time.monotonic()``) of the attempt this thread is about to send."""
    _current.deadline = deadline
    _current.watch = None


def watch_reply(conn: Any) -> None:
    """Watch ``conn`` for the rest of the attempt if nothing does yet (a session the client does
    not own: its pools do not register connections, so only the body read is bounded)."""
    deadline = getattr(_current, "deadline", None)
    if deadline is not None and conn is not None and getattr(_current, "watch", None) is None:
        _current.watch = WATCHDOG.watch(conn, deadline)


def end_attempt() -> None:
    """The attempt's reply is read (or it failed): stop watching its connection."""
    _current.deadline = None
    watch = getattr(_current, "watch", None)
    if watch is not None:
        _current.watch = None
        WATCHDOG.unwatch(watch)


def attempt_deadline(timeout: Any, end: Optional[float], now: float) -> Optional[float]:
    """The deadline of one attempt: connect + read timeout from ``now`` (so a call with
    ``timeout=t`` ends within ``2t`` even if every read gets a byte in time), and never past the
    call's own deadline ``end``; None when there is neither (``timeout=None``, no deadline)."""
    try:
        if timeout is None:
            limit = None
        elif isinstance(timeout, tuple):
            connect, read = timeout
            limit = None if connect is None or read is None else now + connect + read
        else:
            limit = now + 2 * timeout
        if limit is not None and not math.isfinite(limit):
            limit = None
    except (TypeError, ValueError):  # not a valid timeout: refused when the request is made
        limit = None
    if end is None:
        return limit
    return end if limit is None else min(limit, end)


def has_unread(conn: Any) -> bool:
    """Whether ``conn`` (a urllib3 connection) has bytes nobody asked for, decrypted and buffered
    by TLS or waiting on its socket. A peer that only closed the connection (EOF, TLS
    close_notify, a reset) has sent nothing more: False, and the pool drops the connection when
    it is next taken. When there are bytes, one may be consumed: the connection is not to be used
    again."""
    sock = getattr(conn, "sock", None)
    if sock is None:
        return False
    pending = getattr(sock, "pending", None)
    try:
        if pending is not None and pending():
            return True
        if not wait_for_read(sock, timeout=0.0):
            return False
    except (OSError, ValueError):
        return False  # a closed or broken socket: nothing more can be read from it
    return _readable_holds_data(sock, tls=pending is not None)


def _readable_holds_data(sock: Any, tls: bool) -> bool:
    """``sock`` is readable: bytes of data (True), or only the peer's close or TLS housekeeping
    such as a session ticket (False)."""
    timeout = sock.gettimeout()
    try:
        sock.settimeout(0.0)
        data = sock.recv(1) if tls else sock.recv(1, socket.MSG_PEEK)  # TLS cannot peek
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError, InterruptedError):
        return False  # a partial or non-data TLS record: no reply bytes yet
    except (OSError, ValueError):
        return False  # reset or TLS close: the connection is gone, the reply read is whole
    finally:
        with contextlib.suppress(OSError, ValueError):
            sock.settimeout(timeout)
    return bool(data)


class _GuardedPool:
    """Mixin of the connection pools of a client's own session (see the module docstring)."""

    def _get_conn(self, timeout: Optional[float] = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        sock = conn.sock
        if sock is not None and getattr(sock, "pending", None) is not None and sock.pending():
            conn.close()  # TLS holds decrypted bytes of a reply nobody asked for
        deadline = getattr(_current, "deadline", None)
        if deadline is not None:
            previous = getattr(_current, "watch", None)
            if previous is not None:  # a redirect: the previous connection is done with
                WATCHDOG.unwatch(previous)
            _current.watch = WATCHDOG.watch(conn, deadline)
        return conn


class _GuardedHTTPSPool(_GuardedPool, urllib3.connectionpool.HTTPSConnectionPool):
    pass


class _GuardedHTTPPool(_GuardedPool, urllib3.connectionpool.HTTPConnectionPool):
    pass


@trust_adapter_class
class GuardedAdapter(requests.adapters.HTTPAdapter):
    """The ``HTTPAdapter`` of a client's own session: its pools check pooled connections for
    unread bytes and register each attempt with the deadline watchdog. ``send`` is
    ``HTTPAdapter.send`` unchanged."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool, "https": _GuardedHTTPSPool,
        }


def read_body(raw: Any, cap: int, route: str) -> bytes:
    """The body of ``raw`` (a urllib3 response whose body is unread), decompressed if its
    ``Content-Encoding`` is ``gzip``/``deflate``.

    Raises:
        AmsReplyTooLargeException: the body, or its decompressed form, exceeds ``cap`` bytes
            (nothing more is read; the caller closes the connection).
        urllib3.exceptions.HTTPError, OSError: the connection failed or the body is truncated.
    """
    _hold(raw)
    length = raw.length_remaining
    if length is not None:
        if length > cap:
            raise _too_large(route, cap, f"Content-Length {length}")
        data = raw.read(decode_content=False)
    else:
        parts: List[bytes] = []
        size = 0
        while True:
            part = raw.read(_CHUNK, decode_content=False)
            if not part:
                break
            size += len(part)
            if size > cap:
                raise _too_large(route, cap, "more")
            parts.append(part)
        data = b"".join(parts)
    encoding = raw.headers.get("Content-Encoding")
    if encoding and data:
        data = _decompress(data, encoding.strip().lower(), cap, route)
    return bytes(data)


def _decompress(data: bytes, encoding: str, cap: int, route: str) -> bytes:
    if encoding == "gzip" or encoding == "x-gzip":
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == "deflate":  # zlib-wrapped, or raw deflate as some servers send it
        wbits = zlib.MAX_WBITS if data[:1] == b"\x78" else -zlib.MAX_WBITS
    else:
        return data  # identity, or an encoding we did not ask for: left as it is
    decoder = zlib.decompressobj(wbits)
    try:
        out = decoder.decompress(data, cap + 1)
    except zlib.error as exc:
        raise urllib3.exceptions.DecodeError(f"cannot decode the {encoding} body: {exc}") from None
    if len(out) > cap:
        raise _too_large(route, cap, "decompressed")
    return out


def _too_large(route: str, cap: int, what: str) -> AmsReplyTooLargeException:
    return AmsReplyTooLargeException(
        {"error": {"code": 200, "status": "",
                   "message": f"the reply is larger than max_reply_bytes={cap} ({what})"}},
        route,
    )


def _hold(raw: Any) -> None:
    """Keep ``raw``'s connection out of its pool until :func:`release`: urllib3 would pool it
    itself as soon as the body is read, before the reply is checked."""
    pool, conn = getattr(raw, "_pool", None), getattr(raw, "_connection", None)
    if pool is not None and conn is not None:
        raw._pool = None
        raw._pymod_pool = pool


def release(raw: Any, reuse: bool, checked: bool = False) -> None:
    """Give ``raw``'s connection back to its pool: as it is when ``reuse`` is true and it holds
    no unread bytes (``checked``: the caller has just made sure); closed otherwise, so nothing
    it still receives is taken for a reply."""
    if raw is None:
        return
    pool = getattr(raw, "_pymod_pool", None)
    if pool is None:  # no connection held (a mocked reply), or already released
        if not reuse:
            raw.close()
        raw.release_conn()
        return
    raw._pymod_pool = None
    conn = raw._connection
    if conn is not None and (not reuse or (not checked and has_unread(conn))):
        raw.close()  # closes the connection too; the pool gets it back closed and reconnects
    raw._connection = None
    pool._put_conn(conn)
