"""Retry policy: which failures are retried, and how long to sleep between attempts.

The per-call keywords keep the meaning they have always had in the AMS client:

* ``retry``: how many *extra* attempts after the first one (0 = try once);
* ``retrysleep``: static seconds to sleep between attempts;
* ``retrybackoff``: if set, sleep ``retrybackoff * 2 ** (n - 1)`` seconds before extra attempt ``n``
  instead of ``retrysleep``.

On top of that every sleep is capped (``max_sleep``, default 300 s) and shortened by a random
jitter of up to ``jitter`` of its length (default 25 %), so that many cron jobs failing together do
not retry in lock-step. Nothing sleeps after the last attempt. Sleeping and the random source are
injectable (:class:`RetryPolicy` ``sleep``/``rng``) so tests run instantly.

Retried: connection errors and read time-outs (:class:`~pymod.amsexceptions.AmsConnectionException`),
load-balancer pages (:class:`~pymod.amsexceptions.AmsBalancerException`, which includes balancer
time-outs), 429 Too Many Requests, and a 200 reply that does not answer a request safe to repeat
(:class:`~pymod.amsexceptions.AmsReplyMismatchException` with ``retryable``: pull, acknowledge,
GET; never publish). Not retried: every other answer from AMS itself, including its 408
``ack timeout`` (repeating an acknowledgement after its deadline fails again; the messages must be
pulled again).

A ``Retry-After`` header of a 429 or 503 reply replaces the computed sleep (still capped by
``max_sleep``). A call with a deadline (``RetryPolicy(deadline=...)`` or a call's ``deadline=``)
never sleeps past it: when the next sleep would end after the deadline, the last error is raised
at once. Sleeps are computed one at a time, so ``retry=10**7`` costs nothing up front.

A retried publish can store a message twice: the first attempt may have reached AMS before the
connection broke. Consumers should be idempotent (see the docs on duplicates).
"""

from __future__ import annotations

import itertools
import logging
import math
import random
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Callable, Iterator, List, Optional, Tuple, TypeVar

from pymod.amsexceptions import (
    AmsArgumentException,
    AmsBalancerException,
    AmsConnectionException,
    AmsException,
    AmsReplyMismatchException,
    AmsServiceException,
)

__all__ = ["RetryPolicy", "is_retryable", "parse_retry_after"]

log = logging.getLogger("pymod.retry")

T = TypeVar("T")


def is_retryable(exc: BaseException) -> bool:
    """True for the transient failures worth another attempt (see the module docstring)."""
    if isinstance(exc, (AmsConnectionException, AmsBalancerException)):
        return True  # an attempt past its deadline too: no retry is made past a call's deadline
    if isinstance(exc, AmsReplyMismatchException):
        return exc.retryable
    return isinstance(exc, AmsServiceException) and exc.code == 429


_TIME_SLEEP = time.sleep


@dataclass
class RetryPolicy:
    """How a client sleeps between attempts.

    Args:
        max_sleep: upper bound of one sleep, in seconds.
        jitter: fraction (0..1) by which a sleep may be randomly shortened; 0 = exact sleeps.
        sleep: the sleeping function (``time.sleep``), replaceable in tests.
        rng: the random source for the jitter.
        deadline: seconds a request of AMS may last, attempts and sleeps included, for every
            call of the client without its own ``deadline=`` (a method that makes several
            requests applies it to each); None (default): no limit beyond each
            attempt's timeouts (an attempt ends within connect + read timeout).
        retry: the client-wide number of extra attempts, used by every call that asks for no
            retries of its own (its ``retry`` is 0, the default); a call's ``retry > 0`` wins,
            with that call's ``retrysleep``/``retrybackoff``.
        retrysleep: seconds between those attempts (when ``retrybackoff`` is None).
        retrybackoff: exponential backoff of those attempts: ``retrybackoff * 2**(n-1)`` seconds
            before extra attempt ``n`` (default 1: 1 s, 2 s, 4 s ...).

    Example: ``ArgoMessagingService(..., retry_policy=RetryPolicy(retry=3))`` retries every call
    up to three times after 1, 2 and 4 seconds (less jitter).
    """

    max_sleep: float = 300.0
    jitter: float = 0.25
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    deadline: Optional[float] = None
    retry: int = 0
    retrysleep: float = 1.0
    retrybackoff: Optional[float] = 1.0

    def __post_init__(self) -> None:
        jitter, max_sleep = self.jitter, self.max_sleep
        if not _is_number(jitter) or not 0.0 <= jitter <= 1.0:
            raise AmsArgumentException(f"jitter must be between 0 and 1, got {jitter!r}")
        if not _is_number(max_sleep) or not 0 <= max_sleep < math.inf:
            raise AmsArgumentException(f"max_sleep must be a finite number >= 0, got {max_sleep!r}")
        if self.deadline is not None:
            check_deadline(self.deadline)
        check_retry_args(self.retry, self.retrysleep, self.retrybackoff)

    def resolve(
        self, retry: int, retrysleep: float, retrybackoff: Optional[float]
    ) -> Tuple[int, float, Optional[float]]:
        """A call's ``(retry, retrysleep, retrybackoff)``: its own when it asks for retries
        (``retry > 0``), else the policy's client-wide ones."""
        if retry:
            return retry, retrysleep, retrybackoff
        return self.retry, self.retrysleep, self.retrybackoff

    def delays(
        self, retry: int, retrysleep: float = 60, retrybackoff: Optional[float] = None
    ) -> List[float]:
        """The sleeps (seconds) before extra attempts 1..``retry``, as a list (see
        :meth:`iter_delays` for large ``retry``).

        Raises:
            AmsArgumentException: ``retry`` is negative or not an int, or a sleep is negative or
                not finite.
        """
        return list(self.iter_delays(retry, retrysleep, retrybackoff))

    def iter_delays(
        self, retry: int, retrysleep: float = 60, retrybackoff: Optional[float] = None
    ) -> Iterator[float]:
        """The sleeps (seconds) before extra attempts 1..``retry``, each computed when needed.

        The arguments are checked at once (not at the first ``next``).

        Raises:
            AmsArgumentException: as :meth:`delays`.
        """
        check_retry_args(retry, retrysleep, retrybackoff)
        return self._delays(retry, float(retrysleep), retrybackoff)

    def _delays(self, retry: int, retrysleep: float,
                retrybackoff: Optional[float]) -> Iterator[float]:
        for attempt in range(1, retry + 1):
            # 2.0 ** 1023 is the largest power of two a float holds; beyond it the cap rules
            nominal = retrybackoff * 2.0 ** min(attempt - 1, 1023) if retrybackoff else retrysleep
            yield self._jittered(nominal)

    def _jittered(self, seconds: float) -> float:
        capped = min(seconds, self.max_sleep)
        return capped - capped * self.jitter * self.rng.random()

    def pause(self, seconds: float) -> None:
        """Sleep ``seconds`` with :attr:`sleep`; the default ``time.sleep`` is looked up at each
        call, so that ``mock.patch("time.sleep")`` applies (as to argo-ams-library's retries)."""
        (time.sleep if self.sleep is _TIME_SLEEP else self.sleep)(seconds)

    def run(
        self,
        call: Callable[[], T],
        retry: int = 0,
        retrysleep: float = 60,
        retrybackoff: Optional[float] = None,
        *,
        what: str = "request",
        deadline: Optional[float] = None,
    ) -> T:
        """Call ``call()`` until it succeeds, a non-retryable error occurs, attempts run out, or
        the next sleep would end past ``deadline`` (a ``time.monotonic()`` value).

        Returns:
            whatever ``call`` returns.

        Raises:
            AmsException: the last error (non-retryable errors immediately).
        """
        delays = itertools.chain(self.iter_delays(retry, retrysleep, retrybackoff), (None,))
        for delay in delays:
            try:
                return call()
            except AmsException as exc:
                if delay is None or not is_retryable(exc):
                    raise
                hint = getattr(exc, "retry_after", None)
                if hint is not None:
                    delay = min(float(hint), self.max_sleep)
                if deadline is not None and time.monotonic() + delay >= deadline:
                    raise
                log.warning("%s failed (%s); retrying in %.1f s", what, exc, delay)
                self.pause(delay)
        raise AssertionError("unreachable")  # pragma: no cover


def _is_number(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float))


def check_retry_args(retry: object, retrysleep: object, retrybackoff: object) -> None:
    """Validate the per-call retry keywords.

    Raises:
        AmsArgumentException: a value has the wrong type, is negative, NaN or infinite.
    """
    if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
        raise AmsArgumentException(f"retry must be an int >= 0, got {retry!r}")
    for name, value in (("retrysleep", retrysleep), ("retrybackoff", retrybackoff)):
        if value is None and name == "retrybackoff":
            continue
        if not _is_number(value) or not 0 <= value < math.inf:  # type: ignore[operator]
            raise AmsArgumentException(f"{name} must be a finite number >= 0, got {value!r}")


def check_deadline(deadline: object) -> float:
    """``deadline`` (seconds a whole call may last) as a float.

    Raises:
        AmsArgumentException: not a finite number > 0.
    """
    if not _is_number(deadline) or not 0 < deadline < math.inf:  # type: ignore[operator]
        raise AmsArgumentException(f"deadline must be a finite number of seconds > 0, "
                                   f"got {deadline!r}")
    return float(deadline)  # type: ignore[arg-type]


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """Seconds of a ``Retry-After`` header (a number of seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - time.time()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
