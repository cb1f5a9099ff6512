"""The pymod demo: a full publish → pull → acknowledge round trip against an embedded AMS.

``ams demo`` (or ``python -m pymod.demo``) starts pymod's AMS emulator on a free local port over
real HTTPS (with a throwaway CA), creates a topic and a subscription, publishes ``n`` messages
with attributes and random payloads, consumes them all with :class:`pymod.consumer.Consumer`
(pull + acknowledge), checks every payload and attribute against what was published and prints
the figures.

Exit status: 0 when every message arrived intact (duplicates are counted but allowed: AMS
delivery is at-least-once), 1 when something is missing or mismatched or the service failed.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import uuid
from typing import IO, TYPE_CHECKING, Dict, List, Optional, Set, Tuple

from pymod.amsexceptions import AmsException
from pymod.amsmsg import AmsMessage
from pymod.consumer import Consumer, ConsumerError

if TYPE_CHECKING:
    from pymod.ams import ArgoMessagingService
    from pymod.emulator import Emulator

__all__ = ["DemoReport", "run_demo", "main"]

#: The ``kind`` attribute cycles through these values.
KINDS = ("alert", "metric", "log")


class DemoReport:
    """The figures of one demo run (all counts are numbers of messages, times in seconds)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.published = 0
        self.publish_seconds = 0.0
        self.consumed = 0  # distinct messages received (by seq)
        self.deliveries = 0  # every delivery, duplicates included
        self.consume_seconds = 0.0
        self.mismatched = 0
        self.duplicates = 0
        self.timed_out = False

    @property
    def missing(self) -> int:
        """Published messages that never arrived."""
        return max(0, self.n - self.consumed)

    @property
    def ok(self) -> bool:
        """True when nothing is missing or mismatched."""
        return self.missing == 0 and self.mismatched == 0 and self.published == self.n


def _payload(seq: int, size: int) -> bytes:
    """The payload of message ``seq``: ``b"<seq>:"`` followed by ``size`` random bytes."""
    return f"{seq}:".encode("ascii") + os.urandom(size)


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f} msg/s" if seconds > 0 else "n/a"


def run_demo(
    n: int = 10_000,
    batch: int = 500,
    size: int = 64,
    emulator: Optional[Emulator] = None,
    out: IO[str] = sys.stdout,
    timeout: float = 300.0,
) -> int:
    """Run the demo and print its figures to ``out``.

    Args:
        n: number of messages to publish (>= 1).
        batch: messages per publish request and per pull (>= 1).
        size: random bytes in each payload (after the ``"<seq>:"`` prefix).
        emulator: a running :class:`pymod.emulator.Emulator` to use; None starts (and stops) one.
        out: where to print.
        timeout: seconds the consume phase may take before the demo gives up.

    Returns:
        the exit status: 0 if every message arrived with the published payload and attributes,
        1 otherwise (including service errors, which are printed as one line).

    Raises:
        ValueError: ``n``, ``batch`` or ``size`` out of range.
    """
    if n < 1 or batch < 1 or size < 0:
        raise ValueError("n and batch must be >= 1 and size >= 0")
    if emulator is None:
        from pymod.emulator import Emulator

        with Emulator() as emu:
            return _run(emu, n, batch, size, out, timeout)
    return _run(emulator, n, batch, size, out, timeout)


def _run(emu: Emulator, n: int, batch: int, size: int, out: IO[str], timeout: float) -> int:
    from pymod.ams import ArgoMessagingService

    print(
        f"pymod demo: running an embedded AMS emulator over HTTPS at {emu.endpoint} "
        f"(project {emu.project})",
        file=out,
    )
    suffix = uuid.uuid4().hex[:8]
    topic, sub = f"demo-{suffix}", f"demo-{suffix}-sub"
    print(
        f"  topic {topic}, subscription {sub}: {n} messages of {size} random bytes, "
        f"batches of {batch}",
        file=out,
    )
    report = DemoReport(n)
    with ArgoMessagingService(
        endpoint=emu.endpoint, token=emu.admin_token, project=emu.project, verify=emu.ca_path
    ) as ams:
        try:
            ams.create_topic(topic)
            ams.create_sub(sub, topic, ackdeadline=60)
            try:
                expected = _publish(ams, topic, n, batch, size, report)
                _consume(ams, sub, expected, batch, timeout, report)
            finally:
                _cleanup(ams, topic, sub)
        except (AmsException, ConsumerError) as exc:
            print(f"  error: {exc}", file=out)
            _print_report(report, out)
            return 1
    _print_report(report, out)
    return 0 if report.ok else 1


def _publish(
    ams: ArgoMessagingService, topic: str, n: int, batch: int, size: int, report: DemoReport
) -> Dict[str, Tuple[bytes, Dict[str, str]]]:
    """Publish ``n`` messages in requests of ``batch``; return seq → (payload, attributes)."""
    expected: Dict[str, Tuple[bytes, Dict[str, str]]] = {}
    start = time.perf_counter()
    for first in range(0, n, batch):
        msgs: List[AmsMessage] = []
        for seq in range(first, min(first + batch, n)):
            payload = _payload(seq, size)
            attributes = {"seq": str(seq), "kind": KINDS[seq % len(KINDS)]}
            expected[str(seq)] = (payload, attributes)
            msgs.append(AmsMessage(data=payload, attributes=attributes))
        ids = ams.publish(topic, msgs)["messageIds"]
        report.published += len(ids)
    report.publish_seconds = time.perf_counter() - start
    return expected


def _consume(
    ams: ArgoMessagingService,
    sub: str,
    expected: Dict[str, Tuple[bytes, Dict[str, str]]],
    batch: int,
    timeout: float,
    report: DemoReport,
) -> None:
    """Consume with :class:`pymod.consumer.Consumer` (pull, check, acknowledge) until every
    expected message arrived, the subscription is empty, or ``timeout`` seconds passed."""
    seen: Set[str] = set()
    consumer: Optional[Consumer] = None

    def check(msg: AmsMessage) -> None:
        report.deliveries += 1
        seq = msg.get_attr("seq")
        if not isinstance(seq, str) or seq not in expected:
            report.mismatched += 1
        elif seq in seen:
            report.duplicates += 1  # a redelivery: allowed, delivery is at-least-once
        else:
            seen.add(seq)
            payload, attributes = expected[seq]
            if msg.get_data() != payload or msg.attributes != attributes:
                report.mismatched += 1
        if len(seen) == len(expected) and consumer is not None:
            consumer.stop()  # everything is here: acknowledge and finish

    consumer = Consumer(ams, sub, check, batch_size=batch, stop_when_empty=True,
                        max_seconds=timeout, install_signal_handlers=False)
    start = time.perf_counter()
    result = consumer.run()
    report.consume_seconds = time.perf_counter() - start
    report.consumed = len(seen)
    report.timed_out = result.stop_reason == "max_seconds"


def _cleanup(ams: ArgoMessagingService, topic: str, sub: str) -> None:
    for delete, name in ((ams.delete_sub, sub), (ams.delete_topic, topic)):
        with contextlib.suppress(AmsException):
            delete(name)


def _print_report(report: DemoReport, out: IO[str]) -> None:
    rows = [
        ("published", f"{report.published} in {report.publish_seconds:.2f} s "
                      f"({_rate(report.published, report.publish_seconds)})"),
        ("consumed", f"{report.consumed} in {report.consume_seconds:.2f} s "
                     f"({_rate(report.consumed, report.consume_seconds)})"),
        ("mismatched", str(report.mismatched)),
        ("missing", str(report.missing)),
        ("duplicates", f"{report.duplicates} (redeliveries are allowed: delivery is at-least-once)"),
    ]
    for label, value in rows:
        print(f"  {label + ':':<12} {value}", file=out)
    if report.ok:
        verdict = "OK: every message arrived with the payload and attributes it was published with"
    elif report.timed_out:
        verdict = "FAILED: gave up waiting for the missing messages"
    else:
        verdict = "FAILED: messages are missing or differ from what was published"
    print(f"  {'result:':<12} {verdict}", file=out)


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m pymod.demo [N]``: run the demo with N messages (default 10000)."""
    args = sys.argv[1:] if argv is None else argv
    n = int(args[0]) if args else 10_000
    try:
        return run_demo(n=n)
    except ModuleNotFoundError as exc:  # the [emulator] extra is missing: its hint, one line
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
