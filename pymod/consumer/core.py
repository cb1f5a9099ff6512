"""The :class:`Consumer` loop (the delivery model is described in :mod:`pymod.consumer`)."""

from __future__ import annotations

import datetime
import logging
import math
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

from pymod.amsexceptions import (
    AmsException,
    AmsServiceException,
    AmsTimeoutException,
)
from pymod.consumer.checkpoint import offset_of as _offset_of
from pymod.consumer.parallel import run_parallel
from pymod.consumer.results import (
    BatchError,
    ConsumeResult,
    PoisonMessageError,
    StalledError,
    result_failures_text,
)
from pymod.retry import is_retryable

if TYPE_CHECKING:
    from pymod.ams import ArgoMessagingService
    from pymod.amsmsg import AmsMessage

__all__ = ["Consumer"]

log = logging.getLogger("pymod.consumer")

Handler = Callable[["AmsMessage"], object]
BatchHandler = Callable[[List["AmsMessage"]], object]
Filter = Union[Mapping[str, str], Callable[["AmsMessage"], bool], None]

_Received = Sequence[Tuple[str, "AmsMessage"]]
_T = TypeVar("_T")


# ----------------------------------------------------------------------------------------------
# the consumer
# ----------------------------------------------------------------------------------------------
class _Stop(Exception):
    """Internal: end the run with a stop reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _matcher(filter: Filter) -> Optional[Callable[[AmsMessage], bool]]:
    if filter is None:
        return None
    if isinstance(filter, Mapping):
        wanted = dict(filter)

        def match(msg: AmsMessage) -> bool:
            attrs = msg.attributes
            return all(attrs.get(key) == value for key, value in wanted.items())

        return match
    if callable(filter):
        return filter
    raise TypeError(f"filter must be a dict of attributes or a predicate, got {type(filter).__name__}")


class Consumer:
    """Pull batches from a subscription, hand each message to ``handler`` and acknowledge the
    successful prefix. See the module docstring for the delivery model (at-least-once).

    Args:
        ams: the client (its project is used).
        subscription: the subscription name.
        handler: called with each :class:`~pymod.amsmsg.AmsMessage`; a message counts as handled
            when it returns (whatever it returns) and as failed when it raises an ``Exception``.
            Must be idempotent.

    Keyword Args:
        batch_handler: instead of ``handler``, called once per batch with the list of matching
            messages (see :class:`BatchError` for partial success).
        batch_size: messages per pull (>= 1).
        max_messages: stop after this many messages were handled or skipped (None: no limit).
        max_seconds: stop after this many seconds (checked before each pull and each message).
        stop_when_empty: stop when a pull returns nothing (for cron jobs).
        idle_sleep: seconds to wait after an empty pull before pulling again.
        filter: ``{"attr": "value", ...}`` (all must match) or a predicate ``msg -> bool``; other
            messages are not handled but still acknowledged (counted as ``skipped``).
        on_error: called as ``on_error(msg, exc)`` after each handler failure (for logging).
        max_redeliveries: how many times a failed message is pulled again before it is a poison
            message (>= 0).
        immediate_redeliveries: how many of those redeliveries happen at once; later ones wait
            ``backoff * 2**k`` seconds (capped at ``max_backoff``), so a poison message does not
            spin hot.
        backoff, max_backoff: seconds, see above; also used after transient errors.
        on_poison: called as ``on_poison(msg, exc)`` for a poison message; return True to
            acknowledge it and go on. Without it (or if it returns False) the run stops with
            :class:`PoisonMessageError`.
        ack_deadline: the subscription's ack deadline in seconds; None: read once at start
            (``GET …/subscriptions/{sub}``).
        deadline_margin: seconds kept in hand before the deadline (network latency, AMS's
            whole-second rounding).
        extend_deadline: raise the subscription's ack deadline (``modifyAckDeadline``, at most
            600 s) when a batch is about to overrun it, instead of acknowledging early; the
            original deadline is restored when the run ends. The deadline is per subscription,
            so this affects every consumer of the subscription.
        checkpoint: called as ``checkpoint(committed_offset)`` (last acknowledged offset + 1)
            after each successful acknowledgement, e.g. a :class:`FileCheckpoint`.
        start_offset: move the subscription to this offset before starting (``modifyOffset``);
            None: start where the subscription is.
        start_time: move the subscription to the first message published at or after this
            datetime (``timeToOffset`` + ``modifyOffset``); if there is none, to the end.
        install_signal_handlers: on SIGTERM/SIGINT finish the current message, acknowledge what
            succeeded and return (``stop_reason="signal"``). Only done in the main thread; the
            previous handlers are restored at the end. A second SIGINT raises KeyboardInterrupt.
        max_errors: consecutive transient errors (connection, balancer 502/503/504) survived
            before the last one is raised.
        clock: monotonic clock in seconds (tests inject a fake one).
        sleep: the sleeping function; by default a sleep that :meth:`stop` and signals cut short.
        workers: how many threads handle the messages of a batch (``handler`` only). With 1
            (the default) the messages are handled one after the other in the calling thread.
            With N > 1 up to N messages are handled at once and may finish out of order; the
            consumer still acknowledges only the contiguous prefix of finished messages (AMS acks
            are cumulative), so a fast later message never commits a slow earlier one. See
            :doc:`/concurrent-consumer`.
        reqkwargs: passed to every request (e.g. ``timeout``).

    Raises:
        ValueError/TypeError: inconsistent options (at construction).
    """

    def __init__(
        self,
        ams: ArgoMessagingService,
        subscription: str,
        handler: Optional[Handler] = None,
        *,
        batch_handler: Optional[BatchHandler] = None,
        batch_size: int = 100,
        max_messages: Optional[int] = None,
        max_seconds: Optional[float] = None,
        stop_when_empty: bool = False,
        idle_sleep: float = 1.0,
        filter: Filter = None,
        on_error: Optional[Callable[[AmsMessage, BaseException], object]] = None,
        max_redeliveries: int = 5,
        immediate_redeliveries: int = 2,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        on_poison: Optional[Callable[[AmsMessage, BaseException], bool]] = None,
        ack_deadline: Optional[int] = None,
        deadline_margin: float = 2.0,
        extend_deadline: bool = False,
        checkpoint: Optional[Callable[[int], object]] = None,
        start_offset: Optional[int] = None,
        start_time: Optional[datetime.datetime] = None,
        install_signal_handlers: bool = True,
        max_errors: int = 5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Optional[Callable[[float], object]] = None,
        workers: int = 1,
        **reqkwargs: Any,
    ) -> None:
        if (handler is None) == (batch_handler is None):
            raise TypeError("give exactly one of handler and batch_handler")
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise ValueError(f"workers must be an int >= 1, got {workers!r}")
        if workers > 1 and batch_handler is not None:
            raise ValueError("workers > 1 needs a per-message handler, not batch_handler")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if max_messages is not None and max_messages < 0:
            raise ValueError(f"max_messages must be >= 0, got {max_messages}")
        if max_redeliveries < 0 or immediate_redeliveries < 0 or max_errors < 0:
            raise ValueError("max_redeliveries, immediate_redeliveries and max_errors must be >= 0")
        if start_offset is not None and start_time is not None:
            raise ValueError("give at most one of start_offset and start_time")
        if ack_deadline is not None and ack_deadline < 0:
            raise ValueError(f"ack_deadline must be >= 0, got {ack_deadline}")
        self.ams = ams
        self.subscription = subscription
        self.handler = handler
        self.batch_handler = batch_handler
        self.batch_size = batch_size
        self.max_messages = max_messages
        self.max_seconds = max_seconds
        self.stop_when_empty = stop_when_empty
        self.idle_sleep = idle_sleep
        self._match = _matcher(filter)
        self.on_error = on_error
        self.max_redeliveries = max_redeliveries
        self.immediate_redeliveries = immediate_redeliveries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.on_poison = on_poison
        self.ack_deadline = ack_deadline
        self.deadline_margin = deadline_margin
        self.extend_deadline = extend_deadline
        self.checkpoint = checkpoint
        self.start_offset = start_offset
        self.start_time = start_time
        self.install_signal_handlers = install_signal_handlers
        self.max_errors = max_errors
        self.clock = clock
        self._sleep = sleep
        self.reqkwargs = reqkwargs
        self.workers = workers

        #: The live figures of the current (or last) run.
        self.result = ConsumeResult()
        self._stop_reason: Optional[str] = None
        self._started = False
        self._state = "created"
        self._finish_batch = False  # stop(finish_batch=True): stop before the next pull
        self._state_lock = threading.RLock()  # stop() may race with the end of the run; RLock: signals
        self._thread: Optional[threading.Thread] = None
        self._error: Optional[BaseException] = None
        self._pool: Optional[ThreadPoolExecutor] = None
        self._t0 = 0.0
        self._deadline: Optional[int] = None  # current ack deadline (s), None = unknown
        self._original_deadline: Optional[int] = None
        self._handler_estimate = 0.0  # decaying maximum of handler durations (s)
        self._fail_offset: Optional[int] = None  # offset of the message that last failed
        self._fail_count = 0
        self._stall_offset: Optional[int] = None  # first offset of a window not acknowledged
        self._stall_count = 0
        self._consecutive_errors = 0
        self._processed = 0  # handled + skipped + poisoned, for max_messages
        self._ack_upto = -1  # in the current batch: index of the last acknowledgeable message

    # ---- public API -----------------------------------------------------------------------
    def stop(self, timeout: Optional[float] = None, *, finish_batch: bool = False) -> bool:
        """Ask the run to end: the messages being handled are finished, the successful prefix is
        acknowledged, and :meth:`run` returns with ``stop_reason="stopped"``. Thread-safe; may be
        called from a handler.

        Args:
            timeout: for a consumer started with :meth:`start`, seconds to wait for its thread
                to end (None: wait as long as it takes; 0: do not wait). Ignored when called
                from the consumer's own thread (a handler), which cannot wait for itself.
            finish_batch: handle the rest of the batch already pulled first (as far as the ack
                deadline and the other budgets allow), so that it is not delivered again; the
                stop then takes effect before the next pull.

        Returns:
            True if the consumer is no longer running when the call returns (state ``stopped``,
            ``failed`` or ``created``), False if it is still finishing.
        """
        if self._stop_reason is None:
            self._finish_batch = finish_batch
            self._stop_reason = "stopped"
        self._transition("stopping", when="running")
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() and timeout != 0:
            thread.join(timeout)
        return self._state in ("created", "stopped", "failed")

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called or a signal arrived."""
        return self._stop_reason is not None

    @property
    def state(self) -> str:
        """``"created"`` (not started), ``"running"``, ``"stopping"`` (a stop was asked, the
        current messages are being finished), ``"stopped"`` (:meth:`run` returned) or
        ``"failed"`` (:meth:`run` raised; the exception is :attr:`error`)."""
        return self._state

    @property
    def error(self) -> Optional[BaseException]:
        """The exception that ended a ``"failed"`` run, else None."""
        return self._error

    def start(self) -> Consumer:
        """Run the consumer in a background (daemon) thread and return at once.

        Follow it with :attr:`state`, :attr:`result` (live figures) and :attr:`error`; end it with
        :meth:`stop`. Signal handlers are not installed (they belong to the main thread): a
        daemon embedding the consumer calls :meth:`stop` from its own SIGTERM handling.

        Returns:
            the consumer itself.

        Raises:
            RuntimeError: the consumer was already started or run.
        """
        if self._started:
            raise RuntimeError("a Consumer runs once; create a new one")
        self._thread = threading.Thread(
            target=self._run_in_background, name=f"pymod-consumer-{self.subscription}", daemon=True
        )
        self._started = True
        self._state = "running"  # before the thread exists, so that stop() right after works
        self._thread.start()
        return self

    def join(self, timeout: Optional[float] = None) -> bool:
        """Wait for a consumer started with :meth:`start` to end (``timeout`` seconds at most,
        None: no limit). Returns True if it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self._state in ("created", "stopped", "failed")

    def _transition(self, state: str, when: Optional[str] = None) -> None:
        """Set :attr:`state` (only if it is ``when``, if given)."""
        with self._state_lock:
            if when is None or self._state == when:
                self._state = state

    def _run_in_background(self) -> None:
        try:
            self.run()
        except BaseException as exc:  # kept for the owner: state "failed", error
            log.error("consumer of %s failed: %s", self.subscription, exc)

    def run(self) -> ConsumeResult:
        """Consume until a stop condition; return the figures.

        Returns:
            :class:`ConsumeResult` (also available as :attr:`result` during the run).

        Raises:
            PoisonMessageError: a message kept failing (see ``max_redeliveries``/``on_poison``).
            StalledError: a batch could never be acknowledged within the ack deadline.
            AmsException: a non-transient service error (403, 404 ...), or a transient one that
                persisted for ``max_errors`` attempts. What was acknowledged before stays so.
            Exception: whatever ``on_error``, ``on_poison`` or ``checkpoint`` raised.
            RuntimeError: :meth:`run` was already called on this consumer.
        """
        if self._started and threading.current_thread() is not self._thread:
            raise RuntimeError("a Consumer runs once; create a new one")
        self._started = True
        self._transition("running", when="created")
        self._t0 = self.clock()
        previous = self._install_signals()
        if self.workers > 1:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="pymod-worker")
        try:
            self._prepare()
            self._loop()
        except _Stop as stop:
            self.result.stop_reason = stop.reason
        except BaseException as exc:
            self.result.stop_reason = "error"
            self._error = exc
            self._transition("failed")
            raise
        finally:
            try:
                self._restore_deadline()
            finally:
                if self._pool is not None:
                    self._pool.shutdown(wait=True, cancel_futures=True)
                self._restore_signals(previous)
                self.result.elapsed = self.clock() - self._t0
        self._transition("stopped")
        return self.result

    # ---- setup ----------------------------------------------------------------------------
    def _prepare(self) -> None:
        """Read the ack deadline and move the subscription to the start position (each call
        retried on transient errors like the pulls)."""
        ams, sub, kw = self.ams, self.subscription, self.reqkwargs
        if self.ack_deadline is not None:
            self._deadline = self.ack_deadline
        else:
            info = self._retrying("get subscription", lambda: ams.get_sub(sub, **kw))
            value = info.get("ackDeadlineSeconds") if isinstance(info, dict) else None
            self._deadline = value if isinstance(value, int) else None
        self._original_deadline = self._deadline
        offset = self.start_offset
        if self.start_time is not None:
            start_time = self.start_time
            try:
                offset = self._retrying(
                    "timeToOffset", lambda: ams.time_to_offset_sub(sub, start_time, **kw))
            except AmsServiceException as exc:
                if exc.code != 409:  # 409: no message that recent → start at the end
                    raise
                end = self._retrying("offsets", lambda: ams.getoffsets_sub(sub, "max", **kw))
                assert isinstance(end, int)
                offset = end
        if offset is not None:
            target = offset
            self._retrying("modifyOffset", lambda: ams.modifyoffset_sub(sub, target, **kw))
            log.info("subscription %s moved to offset %d", sub, target)

    def _retrying(self, what: str, call: Callable[[], _T]) -> _T:
        """``call()``, repeated after transient errors (see ``max_errors``, ``backoff``)."""
        while True:
            try:
                result = call()
            except AmsException as exc:
                self._transient(exc, what)  # re-raises what is not transient or persists
                continue
            self._consecutive_errors = 0
            return result

    def _install_signals(self) -> Dict[int, Any]:
        if not self.install_signal_handlers:
            return {}
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous: Dict[int, Any] = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, self._on_signal)
        return previous

    @staticmethod
    def _restore_signals(previous: Dict[int, Any]) -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    def _on_signal(self, signum: int, frame: Optional[FrameType]) -> None:
        if self._stop_reason is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # second Ctrl+C: the user insists
        self._finish_batch = False  # a signal stops after the current message(s)
        if self._stop_reason is None:
            self._stop_reason = "signal"
            self._transition("stopping", when="running")
            self.result.signal = signal.Signals(signum).name

    # ---- the loop -------------------------------------------------------------------------
    def _check_budgets(self) -> None:
        """Raise _Stop if a stop condition holds."""
        if self._stop_reason is not None:
            raise _Stop(self._stop_reason)
        if self.max_messages is not None and self._processed >= self.max_messages:
            raise _Stop("max_messages")
        if self.max_seconds is not None and self.clock() - self._t0 >= self.max_seconds:
            raise _Stop("max_seconds")

    def _loop(self) -> None:
        while True:
            self._check_budgets()
            num = self.batch_size
            if self.max_messages is not None:
                num = min(num, self.max_messages - self._processed)
            pulled_at = self.clock()
            received = self._pull(num)
            if received is None:  # transient error, already slept
                continue
            if not received:
                if self.stop_when_empty:
                    raise _Stop("empty")
                self._wait(self.idle_sleep)
                continue
            self.result.batches += 1
            delay = self._process(received, pulled_at)
            if delay > 0:
                self._wait(delay)

    def _pull(self, num: int) -> Optional[_Received]:
        """One pull; None after a survived transient error."""
        self.result.pulls += 1
        try:
            received = self.ams.pull_sub(
                self.subscription, num=num, return_immediately=True, **self.reqkwargs
            )
        except AmsException as exc:
            # a 500 to a pull is AMS's backend error, or (through a middlebox that duplicates
            # replies) another request's answer: pulling again is safe either way
            self._transient(exc, "pull", force=isinstance(exc, AmsServiceException)
                            and exc.code == 500)
            return None
        self._consecutive_errors = 0
        return received

    def _transient(self, exc: AmsException, what: str, force: bool = False) -> None:
        """Survive a transient error (count it, back off) or re-raise it (``force``: count it
        as transient even if a retry policy would not retry it)."""
        if not (force or is_retryable(exc)):
            raise exc
        self._consecutive_errors += 1
        self.result.errors += 1
        if self._consecutive_errors > self.max_errors:
            raise exc
        delay = self._backoff_delay(self._consecutive_errors)
        log.warning("%s failed (%s); retrying in %.1f s", what, exc, delay)
        self._wait(delay)

    def _backoff_delay(self, attempt: int) -> float:
        """``backoff * 2**(attempt-1)``, capped at ``max_backoff`` (attempt >= 1)."""
        return float(min(self.max_backoff, self.backoff * 2 ** max(0, attempt - 1)))

    def _wait(self, seconds: float) -> None:
        """Sleep ``seconds`` (cut to the time budget); the default sleep ends early on stop."""
        if self.max_seconds is not None:
            seconds = min(seconds, max(0.0, self.max_seconds - (self.clock() - self._t0)))
        if seconds <= 0:
            return
        if self._sleep is not None:
            self._sleep(seconds)
            return
        end = time.monotonic() + seconds
        while self._stop_reason is None:
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.1))

    # ---- one batch ------------------------------------------------------------------------
    def _process(self, received: _Received, pulled_at: float) -> float:
        """Handle one pulled batch and acknowledge its successful prefix.

        Returns:
            seconds to wait before the next pull (backoff after a failure), usually 0.
        """
        self._ack_upto = -1  # index of the last message that may be acknowledged
        try:
            if self.batch_handler is not None:
                delay = self._run_batch_handler(received)
            else:
                delay = (self._run_handler(received, pulled_at) if self._pool is None
                         else run_parallel(self, self._pool, received, pulled_at))
        except BaseException:
            # an exception (poison stop, on_error, KeyboardInterrupt ...) is on its way out:
            # still commit what was handled successfully, then let it go on
            if self._ack_upto >= 0:
                try:
                    self._ack(received, self._ack_upto, pulled_at)
                except Exception as exc:  # the original exception matters more
                    log.warning("could not acknowledge the handled messages: %s", exc)
            raise
        self._ack(received, self._ack_upto, pulled_at)
        return delay

    def _run_handler(self, received: _Received, pulled_at: float) -> float:
        """Call the handler per message, advancing ``_ack_upto``. Returns the delay before the
        next pull."""
        assert self.handler is not None
        for index, (ack_id, msg) in enumerate(received):
            if self._must_stop_in_batch(pulled_at, first=index == 0):
                break
            if self._match is not None and not self._match(msg):
                self.result.skipped += 1
                self._processed += 1
                self._ack_upto = index
                continue
            started = self.clock()
            try:
                self.handler(msg)
            except Exception as exc:
                return self._failed(received, index, exc)
            self._note_duration(self.clock() - started)
            self.result.handled += 1
            self._processed += 1
            self._ack_upto = index
            self._succeeded(_offset_of(ack_id))
        return 0.0

    def _run_batch_handler(self, received: _Received) -> float:
        """Call the batch handler once, setting ``_ack_upto``. Returns the delay before the next
        pull."""
        assert self.batch_handler is not None
        matching: List[AmsMessage] = []
        positions: List[int] = []  # index in ``received`` of each matching message
        for index, (_ack_id, msg) in enumerate(received):
            if self._match is None or self._match(msg):
                matching.append(msg)
                positions.append(index)
        skipped = len(received) - len(matching)
        if not matching:
            self.result.skipped += skipped
            self._processed += skipped
            self._ack_upto = len(received) - 1
            return 0.0
        try:
            self.batch_handler(matching)
        except Exception as exc:
            done = exc.done if isinstance(exc, BatchError) else 0
            done = max(0, min(done, len(matching) - 1))
            failed_at = positions[done]
            self.result.handled += done
            skipped_before = failed_at - done
            self.result.skipped += skipped_before
            self._processed += failed_at
            cause = exc.cause if isinstance(exc, BatchError) and exc.cause is not None else exc
            self._ack_upto = failed_at - 1
            return self._failed(received, failed_at, cause)
        self.result.handled += len(matching)
        self.result.skipped += skipped
        self._processed += len(received)
        self._ack_upto = len(received) - 1
        self._succeeded(_offset_of(received[-1][0]))
        return 0.0

    def _failed(self, received: _Received, index: int, exc: BaseException) -> float:
        """Bookkeeping for a failed message ``received[index]`` (``_ack_upto`` is the index of
        the successful prefix's end).

        Returns the delay before the next pull; raises PoisonMessageError when the message is
        poison and ``on_poison`` does not take it (the prefix is still acknowledged).
        """
        ack_id, msg = received[index]
        offset = _offset_of(ack_id)
        self.result.failed += 1
        if self._fail_offset == offset:
            self._fail_count += 1
        else:
            self._fail_offset, self._fail_count = offset, 1
        log.warning("handler failed on message %d (attempt %d) %s", offset, self._fail_count,
                    result_failures_text(exc))
        if self.on_error is not None:
            self.on_error(msg, exc)
        redeliveries = self._fail_count - 1
        if redeliveries < self.max_redeliveries:
            if self._fail_count <= self.immediate_redeliveries:
                return 0.0
            return self._backoff_delay(self._fail_count - self.immediate_redeliveries)
        # a poison message
        if self.on_poison is not None and self.on_poison(msg, exc):
            log.warning("poison message %d acknowledged by on_poison", offset)
            self.result.poisoned += 1
            self._processed += 1
            self._fail_offset, self._fail_count = None, 0
            self._ack_upto = index
            return 0.0
        # the successful prefix is acknowledged by _process on the way out
        raise PoisonMessageError(msg, offset, exc, self.result) from exc

    def _succeeded(self, offset: int) -> None:
        if self._fail_offset is not None and offset >= self._fail_offset:
            self._fail_offset, self._fail_count = None, 0

    def _note_duration(self, seconds: float) -> None:
        self._handler_estimate = max(seconds, self._handler_estimate * 0.9)

    def _budget(self) -> Optional[float]:
        """Seconds after a pull within which an acknowledgement is safe; None = do not check."""
        deadline = self._deadline
        if deadline is None:
            return None
        budget = deadline - self.deadline_margin if deadline > 2 * self.deadline_margin \
            else deadline / 2
        return budget if budget > 0 else None

    def _must_stop_in_batch(self, pulled_at: float, *, first: bool) -> bool:
        """Before handling the next message of a batch: whether to stop here (and acknowledge
        what was done) because of a stop request, a budget, or (not for the ``first`` message)
        the ack deadline."""
        if self._stop_reason is not None and not self._finish_batch:
            return True
        if self.max_messages is not None and self._processed >= self.max_messages:
            return True
        if self.max_seconds is not None and self.clock() - self._t0 >= self.max_seconds:
            return True
        budget = self._budget()
        if first or budget is None:
            return False
        expected_end = self.clock() - pulled_at + self._handler_estimate
        if expected_end <= budget:
            return False
        # extend the deadline, or acknowledge now (while it is accepted) and pull the rest again
        return not (self.extend_deadline and self._extend(expected_end))

    def _extend(self, needed: float) -> bool:
        """Raise the subscription's ack deadline to cover ``needed`` seconds after the pull.

        Returns True if the deadline now covers it.
        """
        current = self._deadline or 0
        if current >= 600:
            return False
        wanted = int(min(600, max(2 * current, math.ceil(needed + 2 * self.deadline_margin))))
        self._retrying("modifyAckDeadline", lambda: self.ams.modifyackdeadline_sub(
            self.subscription, wanted, **self.reqkwargs))
        log.info("ack deadline of %s raised from %d to %d s", self.subscription, current, wanted)
        self._deadline = wanted
        budget = self._budget()
        return budget is not None and needed <= budget

    def _restore_deadline(self) -> None:
        if self._original_deadline is None or self._deadline == self._original_deadline:
            return
        original = self._original_deadline
        try:
            self._retrying("modifyAckDeadline", lambda: self.ams.modifyackdeadline_sub(
                self.subscription, original, **self.reqkwargs))
            self._deadline = original
        except AmsException as exc:
            log.warning("could not restore the ack deadline of %s to %d s: %s",
                        self.subscription, self._original_deadline, exc)

    # ---- acknowledgement ------------------------------------------------------------------
    def _ack(self, received: _Received, upto: int, pulled_at: float) -> bool:
        """Acknowledge ``received[0..upto]`` (cumulative: one ackId) if still allowed.

        Returns True if AMS accepted it. Deadline passed, 408, or a lost pull window: False (the
        messages come again with the next pull).
        """
        first = _offset_of(received[0][0])
        if upto < 0:
            self._no_progress(first, stalled=False)
            return False
        ack_id = received[upto][0]
        offset = _offset_of(ack_id)
        budget = self._budget()
        elapsed = self.clock() - pulled_at
        if budget is not None and elapsed > budget and not (
            self.extend_deadline and self._extend(elapsed)
        ):
            self.result.deadline_misses += 1
            log.warning("ack deadline passed %.1f s after the pull; not acknowledging, pulling "
                        "again", elapsed)
            self._no_progress(first, stalled=True)
            return False
        try:
            self.ams.ack_sub(self.subscription, [ack_id], **self.reqkwargs)
        except AmsTimeoutException as exc:
            if not self._landed(ack_id):
                self.result.ack_timeouts += 1
                log.warning("acknowledgement refused (%s); pulling again", exc)
                self._no_progress(first, stalled=True)
                return False
            self.result.errors += 1  # a balancer time-out, but AMS did store the ack
        except AmsException as exc:
            if self._window_lost(exc):
                self.result.errors += 1
                log.warning("acknowledgement refused (%s); pulling again", exc)
                return False
            if not is_retryable(exc) or not self._landed(ack_id):
                self._transient(exc, "acknowledge")
                return False
            self.result.errors += 1  # the reply was lost, but AMS did store the ack
        self._consecutive_errors = 0
        self._stall_offset, self._stall_count = None, 0
        self.result.acked += upto + 1
        self.result.last_offset = offset
        if self.checkpoint is not None:
            self.checkpoint(offset + 1)
        return True

    @staticmethod
    def _window_lost(exc: AmsException) -> bool:
        """AMS's 500 ``wrong ack``/``no ack pending``: another pull or modifyOffset replaced our
        window. Pulling again is the cure."""
        return (
            isinstance(exc, AmsServiceException)
            and exc.code == 500
            and exc.error_message in ("wrong ack", "no ack pending")
        )

    def _landed(self, ack_id: str) -> bool:
        """After an ambiguous failure: whether AMS stored the acknowledgement of ``ack_id``."""
        return self.ams._ack_landed(self.subscription, ack_id, **self.reqkwargs)

    def _no_progress(self, first: int, *, stalled: bool) -> None:
        """A window ended without any acknowledgement. Handler failures are counted by
        ``_failed``; deadline misses and refused acknowledgements are counted here."""
        if not stalled:
            return
        if self._stall_offset == first:
            self._stall_count += 1
        else:
            self._stall_offset, self._stall_count = first, 1
        if self._stall_count > self.max_redeliveries:
            raise StalledError(first, self.result)
