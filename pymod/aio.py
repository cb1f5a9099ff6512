"""An asyncio service in the shape asyncio programs know: :func:`serve`.

::

    import asyncio
    from pymod import ArgoMessagingService
    from pymod.aio import serve

    async def worker(queue):
        while True:
            msg = await queue.get()
            try:
                await store(msg.get_msgid(), msg.get_data())   # must be idempotent
            finally:
                queue.task_done()

    async def main(ams, cursor_file):
        queue = asyncio.Queue(maxsize=1000)
        workers = [asyncio.create_task(worker(queue)) for _ in range(8)]

        async def save_cursor(offset):
            cursor_file.write_text(str(offset))

        saved = int(cursor_file.read_text()) if cursor_file.exists() else None
        await serve(ams, "alerts-sub", queue, save_cursor, cursor=saved)

Each block of messages pulled (``POST …/subscriptions/{sub}:pull``) is put on the caller's
:class:`asyncio.Queue`; when every item of the queue has been marked ``task_done()``
(:meth:`asyncio.Queue.join`) the block is acknowledged (``POST …:acknowledge``, cumulative: the
last ackId) and ``await save_cursor(offset)`` is called with the subscription's new committed
offset (last acknowledged offset + 1). ``cursor=`` resumes from such a saved offset
(``POST …:modifyOffset``) before the first pull.

The blocking client runs in a worker thread (:func:`asyncio.to_thread` on Python 3.9+), so the
event loop never waits on the network; there is no other HTTP dependency.

Cancelling the task stops it cleanly: the messages of the current block that are still in the
queue are taken back out (and marked done), nothing of an unfinished block is acknowledged (it
comes again with the next pull: delivery is at-least-once), and an acknowledgement already under
way is completed together with its ``save_cursor`` before the cancellation goes on. Only the
queue's items must come from :func:`serve`: it waits for *every* item to be done.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable, List, Optional, Tuple

from pymod.amsexceptions import AmsException, AmsServiceException, AmsTimeoutException
from pymod.consumer import ConsumeResult
from pymod.consumer.checkpoint import offset_of as _offset_of
from pymod.facade.base import check_int
from pymod.retry import is_retryable

if TYPE_CHECKING:
    from pymod.ams import ArgoMessagingService
    from pymod.amsmsg import AmsMessage

__all__ = ["serve"]

log = logging.getLogger("pymod.aio")

SaveCursor = Callable[[int], Awaitable[object]]


async def serve(
    ams: ArgoMessagingService,
    subscription: str,
    queue: asyncio.Queue[AmsMessage],
    save_cursor: SaveCursor,
    *,
    cursor: Optional[int] = None,
    batch_size: int = 100,
    idle_sleep: float = 1.0,
    stop_when_empty: bool = False,
    max_messages: Optional[int] = None,
    max_errors: int = 5,
    backoff: float = 1.0,
    **reqkwargs: Any,
) -> ConsumeResult:
    """Feed ``queue`` from ``subscription`` block by block, acknowledging each block once every
    item is done, then ``await save_cursor(committed_offset)``.

    Args:
        ams: the client (blocking; used from worker threads, one call at a time).
        subscription: the subscription name.
        queue: the caller's queue; it receives :class:`~pymod.amsmsg.AmsMessage` objects.
        save_cursor: ``async def save_cursor(offset: int)``; called after each acknowledgement
            with the subscription's new committed offset.

    Keyword Args:
        cursor: an offset saved by ``save_cursor``: move the subscription there first
            (``modifyOffset``); None: start where the subscription is.
        batch_size: messages per pull (>= 1).
        idle_sleep: seconds to wait after an empty pull.
        stop_when_empty: return when a pull finds nothing (instead of waiting for more).
        max_messages: return after this many messages were acknowledged (None: no limit).
        max_errors: consecutive transient errors (connection, balancer) survived, with a backoff
            of ``backoff * 2**k`` seconds, before the last one is raised.
        reqkwargs: passed to every request (e.g. ``timeout``).

    Returns:
        a :class:`~pymod.consumer.ConsumeResult` (``handled``/``acked``, ``batches``, ``pulls``,
        ``last_offset``/``committed_offset``, ``stop_reason`` ``"empty"`` or ``"max_messages"``).
        Cancelling the task raises :class:`asyncio.CancelledError` as usual.

    Raises:
        AmsException: a non-transient error (403, 404 ...), or a transient one that persisted.
        Exception: whatever ``save_cursor`` raised (the block stays acknowledged).
    """
    check_int("batch_size", batch_size, 1)
    check_int("max_errors", max_errors, 0)
    if max_messages is not None:
        check_int("max_messages", max_messages, 0)
    result = ConsumeResult()
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    errors = 0

    async def call(what: str, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args, **reqkwargs)`` in a thread, retried after transient errors."""
        nonlocal errors
        while True:
            try:
                value = await asyncio.to_thread(functools.partial(fn, *args, **reqkwargs))
            except AmsException as exc:
                errors += 1
                result.errors += 1
                if not is_retryable(exc) or errors > max_errors:
                    raise
                delay = backoff * 2 ** (errors - 1)
                log.warning("%s failed (%s); retrying in %.1f s", what, exc, delay)
                await asyncio.sleep(delay)
                continue
            errors = 0
            return value

    if cursor is not None:
        check_int("cursor", cursor, 0)
        await call("modifyOffset", ams.modifyoffset_sub, subscription, cursor)
    try:
        while max_messages is None or result.acked < max_messages:
            num = batch_size if max_messages is None else min(batch_size,
                                                              max_messages - result.acked)
            result.pulls += 1
            received: List[Tuple[str, AmsMessage]] = await call(
                "pull", functools.partial(ams.pull_sub, num=num, return_immediately=True),
                subscription)
            if not received:
                if stop_when_empty:
                    result.stop_reason = "empty"
                    return result
                await asyncio.sleep(idle_sleep)
                continue
            result.batches += 1
            try:
                for _ack_id, msg in received:
                    await queue.put(msg)
                await queue.join()
            except asyncio.CancelledError:
                _take_back(queue)
                raise
            result.handled += len(received)
            # the block is done: acknowledge it and save the cursor, even if cancelled meanwhile
            commit = asyncio.ensure_future(
                _commit(ams, subscription, received, save_cursor, result, reqkwargs))
            try:
                await asyncio.shield(commit)
            except asyncio.CancelledError:
                await commit  # finish the acknowledgement and save_cursor, then stop
                raise
        result.stop_reason = "max_messages"
        return result
    finally:
        result.elapsed = loop.time() - t0


async def _commit(
    ams: ArgoMessagingService,
    subscription: str,
    received: List[Tuple[str, AmsMessage]],
    save_cursor: SaveCursor,
    result: ConsumeResult,
    reqkwargs: Any,
) -> None:
    """Acknowledge a finished block (its last ackId) and save the new committed offset. A refused
    acknowledgement (deadline passed, lost pull window) saves nothing: the block comes again."""
    ack_id = received[-1][0]
    try:
        await asyncio.to_thread(functools.partial(ams.ack_sub, subscription, [ack_id],
                                                  **reqkwargs))
    except AmsException as exc:
        if is_retryable(exc) or isinstance(exc, AmsTimeoutException):
            # a lost reply or a balancer time-out may hide a stored acknowledgement
            landed = await asyncio.to_thread(
                functools.partial(ams._ack_landed, subscription, ack_id, **reqkwargs))
        elif isinstance(exc, AmsServiceException) and exc.code == 500:
            landed = False  # AMS's "wrong ack" / "no ack pending": another pull took the window
        else:
            raise
        if not landed:
            log.warning("acknowledgement not stored (%s); the block will be delivered again", exc)
            return
    offset = _offset_of(ack_id)
    result.acked += len(received)
    result.last_offset = offset
    await save_cursor(offset + 1)


def _take_back(queue: asyncio.Queue[Any]) -> None:
    """On cancellation: remove the block's messages nobody has taken yet (marking them done)."""
    while True:
        try:
            queue.get_nowait()
        except asyncio.QueueEmpty:
            return
        queue.task_done()
