"""``ams pull`` and ``ams consume``: messages as JSON Lines on stdout."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import IO, TYPE_CHECKING, Any, Callable, List

from pymod.amsmsg import AmsMessage
from pymod.cli.common import CliError, key_value, message_record, positive_float, positive_int, write_record
from pymod.cli.progress import Progress, isatty

if TYPE_CHECKING:
    from pymod.ams import ArgoMessagingService


def add_parsers(commands: Any, sub: Callable[..., argparse.ArgumentParser]) -> None:
    """The ``pull`` and ``consume`` commands."""
    p = sub(commands, "pull", "pull messages and print them as JSON Lines (peek unless --ack)")
    p.add_argument("subscription")
    p.add_argument("--max", type=positive_int, default=10, help="most messages (default 10)")
    p.add_argument("--ack", action="store_true", help="acknowledge what was printed")
    p.add_argument("--follow", action="store_true",
                   help="keep polling for new messages (needs --ack)")
    p.add_argument("--interval", type=positive_float, default=1.0,
                   help="seconds between polls with --follow (default 1)")
    p.set_defaults(func=cmd_pull, resource="subscription", resource_arg="subscription")

    p = sub(commands, "consume",
            "print messages as JSON Lines and acknowledge them (the safe consumer loop)")
    p.add_argument("subscription")
    p.add_argument("--max", type=positive_int, help="stop after this many messages")
    p.add_argument("--ack", action="store_true",
                   help="acknowledge printed messages (always done by consume)")
    p.add_argument("--follow", action="store_true",
                   help="keep polling when the subscription is empty (stop with Ctrl+C: exit 130)")
    p.add_argument("--interval", type=positive_float, default=1.0,
                   help="seconds between polls when empty with --follow (default 1)")
    p.add_argument("--batch", type=positive_int, default=100,
                   help="messages per pull (default 100)")
    p.add_argument("--max-seconds", type=positive_float, help="stop after this many seconds")
    p.add_argument("--filter", action="append", type=key_value, default=[], metavar="KEY=VALUE",
                   help="print only messages with this attribute (others are skipped and "
                        "acknowledged; repeatable)")
    p.add_argument("--checkpoint", metavar="FILE",
                   help="resume from the offset saved in FILE and save the new one after each "
                        "acknowledgement")
    p.add_argument("--progress", action="store_true",
                   help="show a message counter on stderr (default: when stdout is not a "
                        "terminal but stderr is)")
    p.set_defaults(func=cmd_consume, resource="subscription", resource_arg="subscription")


def cmd_pull(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``POST .../subscriptions/{sub}:pull`` (+ ``:acknowledge`` with ``--ack``).

    Without ``--ack`` this is one pull of up to ``--max`` messages that stay unacknowledged
    (they come again with the next pull). With ``--ack``, batches are pulled, printed and then
    acknowledged until ``--max`` messages or an empty pull (``--follow``: keep polling).
    """
    from pymod.amsexceptions import AmsTimeoutException

    if args.follow and not args.ack:
        raise CliError("--follow needs --ack: unacknowledged messages would come again and again")
    if not args.ack:
        for ack_id, msg in ams.pull_sub(args.subscription, num=args.max, return_immediately=True):
            write_record(message_record(ack_id, msg), out)
        return 0
    remaining = args.max
    while remaining > 0:
        received = ams.pull_sub(args.subscription, num=min(remaining, 100),
                                return_immediately=True)
        if not received:
            if not args.follow:
                break
            time.sleep(args.interval)
            continue
        for ack_id, msg in received:
            write_record(message_record(ack_id, msg), out)
        try:
            ams.ack_sub(args.subscription, [received[-1][0]])
        except AmsTimeoutException:
            print("ams: warning: acknowledgement too late (ack deadline); these messages will "
                  "come again", file=sys.stderr)
            continue
        remaining -= len(received)
    return 0


def cmd_consume(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """:class:`pymod.consumer.Consumer`: print each message, then acknowledge (at-least-once)."""
    from pymod.consumer import Consumer, ConsumerError, FileCheckpoint

    checkpoint = FileCheckpoint(args.checkpoint) if args.checkpoint else None
    try:
        start = checkpoint.load() if checkpoint is not None else None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    # the handler gets the message only; its ackId is the subscription's name plus its offset
    prefix = ams._ack_prefix(args.subscription)  # validates the name too
    write_errors: List[OSError] = []
    progress = Progress("consumed", sys.stderr,
                        args.progress or (isatty(sys.stderr) and not isatty(out)))

    def handle(msg: AmsMessage) -> None:
        try:
            write_record(message_record(prefix + msg.get_msgid(), msg), out)
            progress.update(1)
        except OSError as exc:  # stdout closed (e.g. piped into head): stop, do not acknowledge
            write_errors.append(exc)
            consumer.stop()
            raise

    consumer = Consumer(
        ams, args.subscription, handle, batch_size=args.batch, max_messages=args.max,
        max_seconds=args.max_seconds, stop_when_empty=not args.follow, idle_sleep=args.interval,
        filter=dict(args.filter) or None, checkpoint=checkpoint, start_offset=start,
    )
    try:
        result = consumer.run()
    except ConsumerError as exc:
        raise CliError(str(exc), code=1) from None
    finally:
        progress.close()
    if write_errors:
        raise write_errors[0]
    print(f"ams: consumed {result.handled} message(s), acknowledged {result.acked}"
          + (f", skipped {result.skipped}" if result.skipped else "")
          + f" (stopped: {result.stop_reason})", file=sys.stderr)
    if result.signal:  # Ctrl+C (SIGINT) or SIGTERM: the shell convention, 128 + signal number
        return 128 + int(getattr(signal, result.signal, signal.SIGINT))
    return 0 if result.failed == 0 else 1


