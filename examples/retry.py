"""Retries, backoff, and resuming a publish that failed part-way.

Run it against an emulator that injects faults, to see the retries at work::

    ams emulator --fault-rate 0.2 --fault-kinds 502,503,504,reset-before
    export AMS_HOST=127.0.0.1:PORT AMS_TOKEN=... AMS_PROJECT=DEMO AMS_CA=/tmp/.../ca.pem
    python examples/retry.py [TOPIC] [COUNT]

What it shows:

* per call: ``retry=N`` extra attempts for transient failures (connection errors, balancer
  502/503/504/408 pages), sleeping ``retrysleep`` seconds, or ``retrybackoff * 2**(n-1)`` when
  ``retrybackoff`` is given; AMS's own errors (404, 403, 409 ...) are not retried;
* per client: :class:`pymod.RetryPolicy` caps every sleep and adds jitter;
* a large publish is split into several requests; if one fails after the earlier ones
  succeeded, :class:`pymod.AmsPublishException` says which messages were published
  (``published_ids``) and hands back the rest (``unpublished``) so the job can resume from there.

A retried request may have reached AMS before its connection broke, so a message can be stored
twice: consumers must be idempotent (e.g. deduplicate on an attribute such as ``seq``).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any, Dict, List

from pymod import (
    AmsException,
    AmsMessage,
    AmsPublishException,
    ArgoMessagingService,
    RetryPolicy,
)


def client_from_env() -> ArgoMessagingService:
    """A client from AMS_HOST/AMS_TOKEN/AMS_PROJECT/AMS_CA with a capped, jittered retry policy
    and small publish requests (50 messages each), so that a long list needs several."""
    try:
        host, token, project = (os.environ[k] for k in ("AMS_HOST", "AMS_TOKEN", "AMS_PROJECT"))
    except KeyError as missing:
        sys.exit(f"set {missing.args[0]} (see the docstring of {sys.argv[0]})")
    return ArgoMessagingService(
        host, token=token, project=project, verify=os.environ.get("AMS_CA") or None,
        retry_policy=RetryPolicy(max_sleep=10.0, jitter=0.25), max_request_messages=50,
        timeout=10,
    )


def publish_all(ams: ArgoMessagingService, topic: str, messages: List[Any],
                max_resumes: int = 5) -> List[str]:
    """Publish ``messages``, resuming after partial failures; return every message id.

    Each request is retried up to 3 times with exponential backoff (0.5 s, 1 s, 2 s). When a
    request still fails, the messages before it stay published and the rest is tried again,
    at most ``max_resumes`` times, after a pause.

    Raises:
        AmsException: the last failure once the resumes are used up.
    """
    ids: List[str] = []
    pending: List[Any] = list(messages)
    for attempt in range(max_resumes + 1):
        try:
            ids += ams.publish(topic, pending, retry=3, retrybackoff=0.5)["messageIds"]
            return ids
        except AmsPublishException as exc:
            ids += exc.published_ids
            pending = exc.unpublished          # wire-form dicts; publish() accepts them as is
            logging.warning("publish stopped after %d more message(s) (%s); %d left",
                            len(exc.published_ids), exc.cause, len(pending))
        except AmsException as exc:
            if attempt == max_resumes:
                raise
            logging.warning("publish failed before anything was stored (%s); retrying", exc)
        if attempt == max_resumes:
            break
        time.sleep(2.0)
    raise AmsException(f"gave up with {len(pending)} message(s) unpublished")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    topic = sys.argv[1] if len(sys.argv) > 1 else "examples"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    with client_from_env() as ams:
        try:
            ams.create_topic(topic, retry=3, retrysleep=1)
        except AmsException as exc:
            if getattr(exc, "code", None) != 409:    # 409: it exists already
                raise
        messages: List[Dict[str, Any]] = [
            AmsMessage(data=f"event {i}", attributes={"seq": str(i)}).dict() for i in range(count)
        ]
        try:
            ids = publish_all(ams, topic, messages)
        except AmsException as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    print(f"published {len(ids)} message(s) to {topic} (requests of at most 50 messages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
