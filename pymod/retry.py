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

Retried: connection errors and read time-outs (:class:`~pymod.amsexceptions.AmsConnectionException`)
and load-balancer pages (:class:`~pymod.amsexceptions.AmsBalancerException`, which includes balancer
time-outs). Not retried: every answer from AMS itself, including its 408 ``ack timeout`` (repeating
an acknowledgement after its deadline fails again; the messages must be pulled again).

A retried publish can store a message twice: the first attempt may have reached AMS before the
connection broke. Consumers should be idempotent (see the docs on duplicates).
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, List, Optional, Tuple, TypeVar

from pymod.amsexceptions import (
    AmsArgumentException,
    AmsBalancerException,
    AmsConnectionException,
    AmsException,
)

__all__ = ["RetryPolicy", "is_retryable"]

log = logging.getLogger("pymod.retry")

T = TypeVar("T")


def is_retryable(exc: BaseException) -> bool:
    """True for the transient failures worth another attempt (see the module docstring)."""
    return isinstance(exc, (AmsConnectionException, AmsBalancerException))


@dataclass
class RetryPolicy:
    """How a client sleeps between attempts.

    Args:
        max_sleep: upper bound of one sleep, in seconds.
        jitter: fraction (0..1) by which a sleep may be randomly shortened; 0 = exact sleeps.
        sleep: the sleeping function (``time.sleep``), replaceable in tests.
        rng: the random source for the jitter.
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
    retry: int = 0
    retrysleep: float = 1.0
    retrybackoff: Optional[float] = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.jitter <= 1.0:
            raise AmsArgumentException(f"jitter must be between 0 and 1, got {self.jitter!r}")
        if self.max_sleep < 0:
            raise AmsArgumentException(f"max_sleep must be >= 0, got {self.max_sleep!r}")
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
        """The sleeps (seconds) before extra attempts 1 to ``retry``.

        Raises:
            AmsArgumentException: ``retry`` is negative or not an int, or a sleep is negative.
        """
        check_retry_args(retry, retrysleep, retrybackoff)
        out = []
        for attempt in range(1, retry + 1):
            nominal = (
                retrybackoff * (2 ** (attempt - 1)) if retrybackoff else float(retrysleep)
            )
            capped = min(nominal, self.max_sleep)
            out.append(capped - capped * self.jitter * self.rng.random())
        return out

    def run(
        self,
        call: Callable[[], T],
        retry: int = 0,
        retrysleep: float = 60,
        retrybackoff: Optional[float] = None,
        *,
        what: str = "request",
    ) -> T:
        """Call ``call()`` until it succeeds, a non-retryable error occurs, or attempts run out.

        Returns:
            whatever ``call`` returns.

        Raises:
            AmsException: the last error (non-retryable errors immediately).
        """
        for delay in self._attempt_delays(retry, retrysleep, retrybackoff):
            try:
                return call()
            except AmsException as exc:
                if delay is None or not is_retryable(exc):
                    raise
                log.warning("%s failed (%s); retrying in %.1f s", what, exc, delay)
                self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt_delays(
        self, retry: int, retrysleep: float, retrybackoff: Optional[float]
    ) -> Iterator[Optional[float]]:
        """One item per attempt: the sleep after it if it fails, or None for the last attempt."""
        yield from self.delays(retry, retrysleep, retrybackoff)
        yield None


def check_retry_args(retry: object, retrysleep: object, retrybackoff: object) -> None:
    """Validate the per-call retry keywords.

    Raises:
        AmsArgumentException: a value has the wrong type or is negative.
    """
    if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
        raise AmsArgumentException(f"retry must be an int >= 0, got {retry!r}")
    for name, value in (("retrysleep", retrysleep), ("retrybackoff", retrybackoff)):
        if value is None and name == "retrybackoff":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise AmsArgumentException(f"{name} must be a number >= 0, got {value!r}")
