"""A cron job that consumes a subscription safely and resumes where it stopped.

Run it every few minutes from cron (or by hand against the emulator)::

    export AMS_HOST=127.0.0.1:PORT AMS_TOKEN=... AMS_PROJECT=DEMO AMS_CA=/tmp/.../ca.pem
    python examples/cron_consumer.py [SUBSCRIPTION] [CHECKPOINT_FILE]

Each run:

* moves the subscription to the offset saved in CHECKPOINT_FILE (default
  ``./<subscription>.offset``), if there is one, so the job resumes like a cursor even if
  somebody else moved the subscription;
* pulls batches, calls :func:`handle` for each message and acknowledges the messages handled
  successfully (never one whose handler raised; it comes again next time);
* saves the committed offset atomically after every acknowledgement;
* stops when the subscription is empty, after ``MAX_SECONDS``, or on SIGTERM/SIGINT (finishing
  the current message first);
* exits 0, or 1 if a message keeps failing (a "poison" message blocks the subscription: AMS
  has no dead-letter queue) so that cron mails somebody.

Delivery is at-least-once: :func:`handle` must be idempotent.
"""

from __future__ import annotations

import logging
import os
import sys

from pymod import AmsException, AmsMessage, ArgoMessagingService
from pymod.consumer import Consumer, ConsumerError, FileCheckpoint

MAX_SECONDS = 240  # leave room before the next cron run


def client_from_env() -> ArgoMessagingService:
    """A client configured from AMS_HOST, AMS_TOKEN, AMS_PROJECT and (optional) AMS_CA."""
    try:
        host, token, project = (os.environ[k] for k in ("AMS_HOST", "AMS_TOKEN", "AMS_PROJECT"))
    except KeyError as missing:
        sys.exit(f"set {missing.args[0]} (see the docstring of {sys.argv[0]})")
    return ArgoMessagingService(host, token=token, project=project,
                                verify=os.environ.get("AMS_CA") or None)


def handle(msg: AmsMessage) -> None:
    """Process one message; raise to have it delivered again. Must be idempotent."""
    data = (msg.get_data() or b"").decode("utf-8", "replace")
    print(f"{msg.get_msgid():>6} {msg.get_attr()} {data}", flush=True)


def log_error(msg: AmsMessage, exc: BaseException) -> None:
    logging.warning("message %s failed: %s (it will be delivered again)", msg.get_msgid(), exc)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    sub = sys.argv[1] if len(sys.argv) > 1 else "examples-sub"
    cursor = FileCheckpoint(sys.argv[2] if len(sys.argv) > 2 else f"{sub}.offset")
    with client_from_env() as ams:
        consumer = Consumer(
            ams, sub, handle,
            batch_size=100,
            checkpoint=cursor,              # save the committed offset after each ack
            start_offset=cursor.load(),     # None on the first run: start where the sub is
            stop_when_empty=True,
            max_seconds=MAX_SECONDS,
            on_error=log_error,
            max_redeliveries=5,             # then stop with PoisonMessageError
        )
        try:
            result = consumer.run()
        except ConsumerError as exc:
            logging.error("%s; figures: %s", exc, exc.result)
            return 1
        except AmsException as exc:
            logging.error("AMS error: %s", exc)
            return 1
    logging.info("done: %s", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
