"""A batching, concurrent publisher: :class:`Publisher`.

::

    from pymod import ArgoMessagingService, AmsMessage, Publisher

    with ArgoMessagingService(endpoint=..., token=..., project="DEMO") as ams:
        with Publisher(ams, "metrics", max_in_flight=8) as pub:
            futures = [pub.publish(AmsMessage(data=line)) for line in lines]
        ids = [f.result() for f in futures]     # close() waited for every request

``publish()`` returns at once with a :class:`concurrent.futures.Future`; the messages are gathered
into batches (by count, size and age) and each batch is one ``POST …/topics/{topic}:publish`` sent
by one of ``max_in_flight`` sender threads over the client's keep-alive connection pool. At a
wide-area round trip this is what makes a publisher fast: with 8 requests in flight, 8 round trips
overlap.

Order: requests in flight may complete, and be stored, out of order. Within one batch the order is
kept. ``max_in_flight=1`` keeps the order of ``publish()`` calls.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable, Iterable, List, Optional, Tuple

from pymod.amsexceptions import (
    AmsArgumentException,
    AmsException,
    AmsMessageException,
)
from pymod.amsmsg import wire_message
from pymod.facade.base import check_int
from pymod.facade.topics import _ENVELOPE, _STORED_OVERHEAD
from pymod.retry import check_retry_args
from pymod.transport import COMPACT_JSON

if TYPE_CHECKING:
    from pymod.ams import ArgoMessagingService
    from pymod.retry import RetryPolicy

__all__ = ["AmsFlowControlException", "AmsPublisherClosedException", "Publisher"]

log = logging.getLogger("pymod.publisher")

_Item = Tuple[str, "Future[str]"]  # (the message's JSON text, its future)


class AmsFlowControlException(AmsException):
    """:meth:`Publisher.publish` with ``block=False``: the bound on pending messages or bytes is
    reached. Nothing of the message was queued; try again later."""

    def __init__(self, msg: str) -> None:
        self.msg = msg
        super().__init__(msg)


class AmsPublisherClosedException(AmsException):
    """:meth:`Publisher.publish` after :meth:`Publisher.close`. Nothing was queued."""

    def __init__(self, msg: str) -> None:
        self.msg = msg
        super().__init__(msg)


class Publisher:
    """Publish messages to one topic in background batches, several requests in flight.

    Args:
        ams: the client; its connection pool must hold ``max_in_flight`` connections
            (``pool_maxsize``, 16 by default), and its limits ``max_request_messages``,
            ``max_request_bytes`` and ``max_message_bytes`` cap the batches and messages (read
            when the publisher is created).
        topic: the topic name.

    Keyword Args:
        max_messages: messages per batch (at most the client's ``max_request_messages``).
        max_bytes: bytes of JSON per request body (None: the client's ``max_request_bytes``).
        max_latency: seconds a message may wait for its batch to fill before the batch is sent.
        max_in_flight: requests sent at the same time (sender threads). 1 keeps the order of the
            ``publish()`` calls; with more, batches may be stored out of order.
        max_pending_messages, max_pending_bytes: flow control, a bound on the messages (and their
            bytes of JSON) accepted but not yet confirmed. When reached, :meth:`publish` blocks
            (``block=True``, the default) until requests complete, or raises
            :class:`AmsFlowControlException` (``block=False``).
        block: see above.
        retry_policy: a :class:`~pymod.retry.RetryPolicy` used instead of the client's for the
            publish requests (its sleeps, client-wide ``retry`` and ``deadline``); None: the
            client's.
        retry, retrysleep, retrybackoff: extra attempts per request on transient failures, as for
            :meth:`~pymod.ams.ArgoMessagingService.publish`. A retried request may store its
            messages twice. Default: no retry (a failed request fails its messages' futures).
        reqkwargs: passed to every request (e.g. ``timeout``).

    Raises:
        AmsArgumentException: an option is out of range, or ``max_in_flight`` exceeds the
            client's connection pool.
    """

    def __init__(
        self,
        ams: ArgoMessagingService,
        topic: str,
        *,
        max_messages: int = 100,
        max_bytes: Optional[int] = None,
        max_latency: float = 0.01,
        max_in_flight: int = 4,
        max_pending_messages: int = 10_000,
        max_pending_bytes: int = 100_000_000,
        block: bool = True,
        retry_policy: Optional[RetryPolicy] = None,
        retry: int = 0,
        retrysleep: float = 1.0,
        retrybackoff: Optional[float] = None,
        **reqkwargs: Any,
    ) -> None:
        check_int("max_messages", max_messages, 1)
        check_int("max_in_flight", max_in_flight, 1)
        check_int("max_pending_messages", max_pending_messages, 1)
        check_int("max_pending_bytes", max_pending_bytes, 1)
        if isinstance(max_latency, bool) or not isinstance(max_latency, (int, float)) \
                or not 0 <= max_latency < float("inf"):
            raise AmsArgumentException(f"max_latency must be a number of seconds >= 0, got "
                                       f"{max_latency!r}")
        if max_bytes is not None:
            check_int("max_bytes", max_bytes, _ENVELOPE + 2)
        pool = _pool_size(ams)
        if pool is not None and max_in_flight > pool:
            raise AmsArgumentException(
                f"max_in_flight={max_in_flight} exceeds the client's connection pool ({pool}); "
                "create the client with pool_maxsize >= max_in_flight"
            )
        self.ams = ams
        self.topic = topic
        self.max_messages = min(max_messages, ams.max_request_messages)
        self.max_bytes = min(max_bytes or ams.max_request_bytes, ams.max_request_bytes)
        self.max_latency = float(max_latency)
        self.max_in_flight = max_in_flight
        self.max_pending_messages = max_pending_messages
        self.max_pending_bytes = max_pending_bytes
        self.block = block
        self._url = ams.url_for("topics:publish", **ams._p(topic=topic))  # checks the name
        self._send_chunk = self._make_sender(retry_policy, retry, retrysleep, retrybackoff,
                                             reqkwargs)
        self._cond = threading.Condition()
        self._batch: List[_Item] = []
        self._batch_bytes = _ENVELOPE - 1  # body size once the batch's texts are joined
        self._batch_deadline = 0.0
        self._pending_messages = 0
        self._pending_bytes = 0
        self._closed = False
        self._timer_idle = False  # the timer thread waits without a deadline (no batch)
        self._in_flight = 0  # batches handed to the sender threads and not yet resolved
        # the largest message text (the client's limits, read once)
        self._max_size = min(ams.max_message_bytes - _STORED_OVERHEAD, self.max_bytes - _ENVELOPE)
        self._pool = ThreadPoolExecutor(max_in_flight, thread_name_prefix="pymod-publisher")
        self._timer = threading.Thread(target=self._run_timer, name="pymod-publisher-timer",
                                       daemon=True)
        self._timer.start()

    def __repr__(self) -> str:
        return (f"Publisher(topic={self.topic!r}, max_messages={self.max_messages}, "
                f"max_in_flight={self.max_in_flight}, pending={self._pending_messages})")

    # ---- public API -----------------------------------------------------------------------
    def publish(self, msg: Any) -> Future[str]:
        """Queue one message (an :class:`~pymod.amsmsg.AmsMessage` or a wire-form dict).

        Returns:
            a :class:`concurrent.futures.Future` resolving to the message id (str) once its
            batch is stored, or to the exception that failed the batch (every message of a failed
            batch gets the same exception; no message is reported twice). A future cancelled
            before its batch is sent is left out of the request. Callbacks added to the future run
            in a sender thread: they must not wait for the publisher (``flush()``, or
            ``publish()`` with ``block=True``), which could wait for that very thread.

        Raises:
            AmsMessageException: the message is malformed or too large (nothing was queued).
            AmsFlowControlException: ``block=False`` and the pending bound is reached.
            AmsPublisherClosedException: the publisher was closed.
        """
        text = COMPACT_JSON.encode(wire_message(msg))  # the exact request bytes, checked now
        size = len(text)  # ASCII: characters are bytes
        if size > self._max_size:
            raise AmsMessageException(
                f"message is too large: about {size + _STORED_OVERHEAD} bytes once stored, the "
                f"limits are {self.ams.max_message_bytes} per message and {self.max_bytes} per "
                "request; nothing was queued"
            )
        future: Future[str] = Future()
        with self._cond:
            if self._closed or self._pending_messages >= self.max_pending_messages or \
                    self._pending_bytes + size > self.max_pending_bytes:
                self._admit(size)
            batch = self._batch
            if batch and self._batch_bytes + 1 + size > self.max_bytes:
                self._dispatch()
                batch = self._batch
            batch.append((text, future))
            self._batch_bytes += 1 + size
            self._pending_messages += 1
            self._pending_bytes += size
            full = len(batch) >= self.max_messages
            if full:
                self._dispatch()
            elif len(batch) == 1:
                self._batch_deadline = time.monotonic() + self.max_latency
                if self._timer_idle:  # else it wakes up by itself and sees the new deadline
                    self._cond.notify_all()
        if full:
            # Let the sender threads run now: a caller publishing in a tight loop holds the GIL,
            # and a sender whose reply has arrived would otherwise wait for the interpreter's
            # switch interval (5 ms) before it can go on, a fifth of a 25 ms round trip.
            time.sleep(0)
        return future

    def publish_all(
        self, messages: Iterable[Any], callback: Optional[Callable[[Future[str]], object]] = None
    ) -> int:
        """Queue every message of any iterable, as it is read (flow control makes a generator
        wait; nothing is materialised), attaching ``callback(future)`` to each future.

        Returns:
            how many messages were queued. The futures are not kept: pass ``callback`` to learn
            ids and failures (it runs in a sender thread), and :meth:`flush` to wait for them.

        Raises:
            AmsMessageException: a message is malformed or too large; the ones before it are
                queued, the rest of the iterator is not read. Also what :meth:`publish` raises.
        """
        count = 0
        for msg in messages:
            try:
                future = self.publish(msg)
            except AmsMessageException as exc:
                raise AmsMessageException(
                    f"message {count} of the iterable: {exc}; the {count} before it were queued, "
                    "the rest of the iterable was not read"
                ) from exc
            if callback is not None:
                future.add_done_callback(callback)
            count += 1
        return count

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Send the current batch now and wait until every request sent so far has completed.

        Args:
            timeout: seconds to wait at most (None: no limit).

        Returns:
            True if nothing is pending any more (every future is resolved), False on time-out.
        """
        end = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if self._batch:
                self._dispatch()
            while self._pending_messages:
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout: Optional[float] = None) -> bool:
        """Stop accepting messages, send what is queued and wait for it (see :meth:`flush`);
        then stop the sender threads. Idempotent.

        Returns:
            True if every message was resolved within ``timeout``.
        """
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        done = self.flush(timeout)
        self._pool.shutdown(wait=done)
        self._timer.join(None if done else 0)
        return done

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def pending(self) -> int:
        """Messages accepted and not yet resolved."""
        return self._pending_messages

    # ---- internals (``_cond`` held where noted) ---------------------------------------------
    def _admit(self, size: int) -> None:
        """Wait (or raise) until one more message of ``size`` bytes fits the pending bound.
        ``_cond`` held."""
        while True:
            if self._closed:
                raise AmsPublisherClosedException(f"the publisher of {self.topic!r} is closed; "
                                                  "nothing was queued")
            fits = self._pending_messages < self.max_pending_messages and (
                self._pending_bytes + size <= self.max_pending_bytes
                or self._pending_messages == 0)
            if fits:
                return
            if not self.block:
                raise AmsFlowControlException(
                    f"{self._pending_messages} messages ({self._pending_bytes} bytes) are pending, "
                    f"the bound is {self.max_pending_messages} messages / {self.max_pending_bytes} "
                    "bytes; nothing was queued"
                )
            if self._batch and not self._in_flight:  # nothing will free space: send the batch
                self._dispatch()
            self._cond.wait()

    def _dispatch(self) -> None:
        """Hand the current batch to a sender thread. ``_cond`` held."""
        batch, self._batch = self._batch, []
        self._batch_bytes = _ENVELOPE - 1
        self._in_flight += 1
        self._pool.submit(self._send, batch)

    def _run_timer(self) -> None:
        """Send a batch when its first message has waited ``max_latency``."""
        with self._cond:
            while not (self._closed and not self._batch):
                if not self._batch:
                    self._timer_idle = True
                    self._cond.wait()
                    self._timer_idle = False
                    continue
                left = self._batch_deadline - time.monotonic()
                if left <= 0 or self._closed:
                    self._dispatch()
                else:
                    self._cond.wait(left)

    def _send(self, batch: List[_Item]) -> None:
        """One request for ``batch`` (in a sender thread); resolve its futures."""
        live = [(text, future) for text, future in batch if future.set_running_or_notify_cancel()]
        ids: List[str] = []
        try:
            if live:
                body = '{"messages":[' + ",".join(text for text, _ in live) + "]}"
                ids = self._send_chunk(body, len(live))  # one id per message: checked there
        except BaseException as exc:  # every message of the batch fails with it, once
            try:
                for _, future in live:
                    future.set_exception(exc)
            finally:
                self._release(batch)
            if not isinstance(exc, Exception):
                raise
            return
        # the futures (and their callbacks) first: flush() returns once the batch is released
        try:
            for (_, future), msgid in zip(live, ids):
                future.set_result(msgid)
        finally:
            self._release(batch)

    def _release(self, batch: List[_Item]) -> None:
        with self._cond:
            self._in_flight -= 1
            self._pending_messages -= len(batch)
            self._pending_bytes -= sum(len(text) for text, _ in batch)
            self._cond.notify_all()

    def _make_sender(
        self,
        retry_policy: Optional[RetryPolicy],
        retry: int,
        retrysleep: float,
        retrybackoff: Optional[float],
        reqkwargs: Any,
    ) -> Callable[[str, int], List[str]]:
        """The per-request send function: the client's one-chunk publish, with the retries."""
        ams, url = self.ams, self._url
        check_retry_args(retry, retrysleep, retrybackoff)
        # one retry loop: the Publisher's policy (if any) in place of the client's, not around it
        return lambda body, count: ams._publish_chunk(url, body, count, retry, retrysleep,
                                                      retrybackoff, policy=retry_policy,
                                                      **reqkwargs)


def _pool_size(ams: ArgoMessagingService) -> Optional[int]:
    """Connections the client's session keeps per host, if it is a ``requests`` HTTPAdapter."""
    session = getattr(ams, "_session", None)
    adapter = getattr(session, "adapters", {}).get("https://") if session is not None else None
    size = getattr(adapter, "_pool_maxsize", None)
    return size if isinstance(size, int) else None
