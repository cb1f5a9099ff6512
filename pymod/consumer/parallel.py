"""Handling one pulled batch with several worker threads (``Consumer(..., workers=N)``).

The messages of a batch are handed to the workers in order, at most ``workers`` at a time, and may
finish in any order. AMS acknowledgements are cumulative (acking offset ``m`` commits every
message up to ``m``), so the consumer only ever acknowledges the **contiguous prefix of finished
messages**: a later message that finishes first waits until every earlier one has finished. When
a handler raises, no new message is started; the ones already running are finished, and the
prefix up to (not including) the first failed message is what may be acknowledged — exactly what
the sequential loop acknowledges. Messages after a failure that did succeed come again with the
next pull (delivery is at-least-once).

All the bookkeeping (counts, poison tracking, deadline estimate) happens in the consumer's own
thread; the workers only call the handler and time it.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from typing import TYPE_CHECKING, Dict, List, Sequence, Tuple

from pymod.consumer.checkpoint import offset_of

if TYPE_CHECKING:
    from pymod.amsmsg import AmsMessage
    from pymod.consumer.core import Consumer

__all__ = ["run_parallel"]


def _timed_call(consumer: Consumer, msg: AmsMessage) -> float:
    """Run the handler on ``msg`` (in a worker); return how long it took, by the consumer's
    clock."""
    assert consumer.handler is not None
    started = consumer.clock()
    consumer.handler(msg)
    return consumer.clock() - started


def run_parallel(
    consumer: Consumer,
    pool: Executor,
    received: Sequence[Tuple[str, AmsMessage]],
    pulled_at: float,
) -> float:
    """Handle ``received`` on ``pool``, advancing ``consumer._ack_upto`` over the contiguous
    prefix of finished messages. Same contract as ``Consumer._run_handler``: returns the delay
    before the next pull, raises what ``Consumer._failed`` raises (a poison message) and re-raises
    a ``BaseException`` (KeyboardInterrupt ...) from a handler once the running ones finished."""
    size = len(received)
    done: List[bool] = [False] * size
    handled: List[bool] = [False] * size
    failures: Dict[int, BaseException] = {}
    running: Dict[Future[float], int] = {}
    next_index = 0
    stopped = False

    def advance() -> None:
        upto = consumer._ack_upto
        while upto + 1 < size and done[upto + 1]:
            upto += 1
            if handled[upto]:
                consumer._succeeded(offset_of(received[upto][0]))
        consumer._ack_upto = upto

    while True:
        while not stopped and not failures and next_index < size and len(running) < consumer.workers:
            if consumer._must_stop_in_batch(pulled_at, first=next_index == 0):
                stopped = True
                break
            msg = received[next_index][1]
            if consumer._match is not None and not consumer._match(msg):
                consumer.result.skipped += 1
                consumer._processed += 1
                done[next_index] = True
                advance()
            else:
                running[pool.submit(_timed_call, consumer, msg)] = next_index
            next_index += 1
        if not running:
            break
        finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
        for future in finished:
            index = running.pop(future)
            exc = future.exception()
            if exc is None:
                consumer._note_duration(future.result())
                consumer.result.handled += 1
                consumer._processed += 1
                done[index] = handled[index] = True
            else:
                failures[index] = exc
        advance()

    if not failures:
        return 0.0
    first = min(failures)
    cause = failures[first]
    if not isinstance(cause, Exception):
        raise cause  # KeyboardInterrupt, SystemExit ...: the prefix is acknowledged on the way out
    consumer.result.failed += len(failures) - 1  # the first one is counted by _failed
    return consumer._failed(received, first, cause)
