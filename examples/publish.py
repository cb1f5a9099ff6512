"""Publish messages with attributes to a topic.

Run it against the embedded emulator::

    ams emulator                      # in another terminal; copy its "export ..." line
    export AMS_HOST=127.0.0.1:PORT AMS_TOKEN=... AMS_PROJECT=DEMO AMS_CA=/tmp/.../ca.pem
    python examples/publish.py [TOPIC] [COUNT]

It creates the topic (default ``examples``) and the subscription ``<topic>-sub`` if they do not
exist yet (a subscription only receives messages published after its creation, so create it
first), then publishes COUNT messages (default 10) in one call and prints their ids.
Read them back with ``python examples/consume_pull.py``.
"""

from __future__ import annotations

import os
import sys

from pymod import AmsMessage, ArgoMessagingService


def client_from_env() -> ArgoMessagingService:
    """A client configured from AMS_HOST, AMS_TOKEN, AMS_PROJECT and (optional) AMS_CA."""
    try:
        host, token, project = (os.environ[k] for k in ("AMS_HOST", "AMS_TOKEN", "AMS_PROJECT"))
    except KeyError as missing:
        sys.exit(f"set {missing.args[0]} (see the docstring of {sys.argv[0]})")
    return ArgoMessagingService(host, token=token, project=project,
                                verify=os.environ.get("AMS_CA") or None)


def main() -> int:
    topic = sys.argv[1] if len(sys.argv) > 1 else "examples"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    with client_from_env() as ams:
        ams.topic(topic)                            # created if missing
        ams.subscription(f"{topic}-sub", topic)     # created if missing
        messages = [
            AmsMessage(data=f"reading {i}: 21.{i} C", attributes={"seq": str(i), "unit": "C"})
            for i in range(count)
        ]
        # publish() splits big lists into several requests; with retry > 0 transient errors
        # (connection, 502/503/504) are retried, which may store a message twice.
        ids = ams.publish(topic, messages, retry=2, retrysleep=1)["messageIds"]
    print(f"published {len(ids)} message(s) to {topic}: ids {', '.join(ids)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
