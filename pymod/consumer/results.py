"""What a consumer run returns, and the errors that end one (see :mod:`pymod.consumer`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from pymod.amsmsg import AmsMessage

__all__ = [
    "STOP_REASONS",
    "BatchError",
    "ConsumeResult",
    "ConsumerError",
    "PoisonMessageError",
    "StalledError",
    "result_failures_text",
]

#: Values of :attr:`ConsumeResult.stop_reason`.
STOP_REASONS = ("max_messages", "max_seconds", "empty", "signal", "stopped", "error")


# ----------------------------------------------------------------------------------------------
# results and errors
# ----------------------------------------------------------------------------------------------
@dataclass
class ConsumeResult:
    """What a :meth:`Consumer.run` did. Counts are numbers of messages unless stated.

    Attributes:
        handled: successful handler calls (a redelivered message is counted each time).
        acked: messages acknowledged (committed), skipped and poison messages included.
        failed: handler calls that raised.
        skipped: messages that did not match ``filter`` (acknowledged without handling).
        poisoned: poison messages acknowledged because ``on_poison`` returned True.
        batches: non-empty pulls.
        pulls: pull requests made (empty ones included).
        deadline_misses: batches not (fully) acknowledged because the ack deadline had passed.
        ack_timeouts: acknowledgements refused with 408 (the batch was pulled again).
        errors: transient errors (connection, balancer, lost pull window) that were survived.
        elapsed: seconds from start to end of :meth:`Consumer.run` (by the consumer's clock).
        last_offset: offset of the last acknowledged message, None if nothing was acknowledged.
        committed_offset: ``last_offset + 1`` (the subscription's next offset), or None.
        stop_reason: why the run ended: ``"max_messages"``, ``"max_seconds"``, ``"empty"``
            (``stop_when_empty``), ``"signal"`` (SIGTERM/SIGINT), ``"stopped"``
            (:meth:`Consumer.stop`) or ``"error"`` (an exception ended the run).
        signal: the name of the signal that stopped the run (``"SIGTERM"``), else None.
    """

    handled: int = 0
    acked: int = 0
    failed: int = 0
    skipped: int = 0
    poisoned: int = 0
    batches: int = 0
    pulls: int = 0
    deadline_misses: int = 0
    ack_timeouts: int = 0
    errors: int = 0
    elapsed: float = 0.0
    last_offset: Optional[int] = None
    stop_reason: str = ""
    signal: Optional[str] = None

    @property
    def committed_offset(self) -> Optional[int]:
        """The subscription's committed offset after the last acknowledgement, or None."""
        return None if self.last_offset is None else self.last_offset + 1

    def __str__(self) -> str:
        return (
            f"handled={self.handled} acked={self.acked} failed={self.failed} "
            f"skipped={self.skipped} poisoned={self.poisoned} batches={self.batches} "
            f"elapsed={self.elapsed:.2f}s committed_offset={self.committed_offset} "
            f"stop_reason={self.stop_reason}"
        )


class ConsumerError(Exception):
    """The consumer stopped because it could not go on safely.

    Attributes:
        result (ConsumeResult): the figures up to the stop (everything acknowledged is counted).
    """

    def __init__(self, message: str, result: ConsumeResult) -> None:
        super().__init__(message)
        self.result = result


class PoisonMessageError(ConsumerError):
    """A message failed ``1 + max_redeliveries`` times and was not acknowledged.

    It blocks the subscription (AMS has no dead-letter queue): fix the handler, move the
    subscription's offset past it, or use ``on_poison``.

    Attributes:
        message (AmsMessage): the poison message.
        offset (int): its offset.
        cause (BaseException): the handler's last exception (also ``__cause__``).
    """

    def __init__(
        self, message: AmsMessage, offset: int, cause: BaseException, result: ConsumeResult
    ) -> None:
        super().__init__(
            f"message {offset} failed {result_failures_text(cause)} and was not acknowledged; "
            "it blocks the subscription (AMS has no dead-letter queue)",
            result,
        )
        self.message = message
        self.offset = offset
        self.cause = cause


def result_failures_text(cause: BaseException) -> str:
    """``"with ValueError: text"`` for an exception (short, one line)."""
    text = " ".join(str(cause).split())
    if len(text) > 200:
        text = text[:197] + "..."
    return f"with {type(cause).__name__}: {text}" if text else f"with {type(cause).__name__}"


class StalledError(ConsumerError):
    """No progress: the same message could not be acknowledged ``1 + max_redeliveries`` times in
    a row because the ack deadline passed (or AMS refused the acknowledgement). Raise the
    subscription's deadline (``ack_deadline``/``extend_deadline=True``) or speed up the handler.

    Attributes:
        offset (int): the offset that could not be committed.
    """

    def __init__(self, offset: int, result: ConsumeResult) -> None:
        super().__init__(
            f"no progress at offset {offset}: the batch could not be acknowledged within the ack "
            "deadline; raise it (ack_deadline / extend_deadline=True) or make the handler faster",
            result,
        )
        self.offset = offset


class BatchError(Exception):
    """Raised by a ``batch_handler`` to say that only the first ``done`` messages succeeded.

    The consumer then acknowledges those and treats ``messages[done]`` as the failed message
    (``on_error``/``on_poison`` get it). Any other exception from a batch handler blames the first
    message of the batch (nothing of it is acknowledged).

    Args:
        done: how many messages, from the start of the list, were handled successfully.
        cause: the underlying exception, if any (also pass it with ``raise ... from``).
    """

    def __init__(self, done: int, cause: Optional[BaseException] = None) -> None:
        super().__init__(f"batch failed after {done} message(s)" + (f": {cause}" if cause else ""))
        self.done = done
        self.cause = cause
