"""Pull messages from a subscription, print them, acknowledge them.

Run it against the embedded emulator (after ``examples/publish.py``)::

    export AMS_HOST=127.0.0.1:PORT AMS_TOKEN=... AMS_PROJECT=DEMO AMS_CA=/tmp/.../ca.pem
    python examples/consume_pull.py [SUBSCRIPTION]

This is the plain pull → handle → acknowledge loop (default subscription ``examples-sub``); it
stops when a pull returns nothing. Acknowledgements are cumulative, so acknowledging the last
message of a batch commits the whole batch -- acknowledge only after every message of it was
handled. For failures, deadlines, signals and checkpoints use :class:`pymod.consumer.Consumer`
(see ``examples/cron_consumer.py``).
"""

from __future__ import annotations

import os
import sys

from pymod import AmsTimeoutException, ArgoMessagingService


def client_from_env() -> ArgoMessagingService:
    """A client configured from AMS_HOST, AMS_TOKEN, AMS_PROJECT and (optional) AMS_CA."""
    try:
        host, token, project = (os.environ[k] for k in ("AMS_HOST", "AMS_TOKEN", "AMS_PROJECT"))
    except KeyError as missing:
        sys.exit(f"set {missing.args[0]} (see the docstring of {sys.argv[0]})")
    return ArgoMessagingService(host, token=token, project=project,
                                verify=os.environ.get("AMS_CA") or None)


def main() -> int:
    sub = sys.argv[1] if len(sys.argv) > 1 else "examples-sub"
    total = 0
    with client_from_env() as ams:
        while True:
            batch = ams.pull_sub(sub, num=100, return_immediately=True)
            if not batch:
                break
            for _ack_id, msg in batch:
                data = (msg.get_data() or b"").decode("utf-8", "replace")
                print(f"{msg.get_msgid():>6}  {msg.get_publishtime()}  {msg.get_attr()}  {data}")
            try:
                ams.ack_sub(sub, [batch[-1][0]])     # cumulative: commits the whole batch
            except AmsTimeoutException:
                # the ack deadline passed: the batch comes again with the next pull
                print("ack deadline passed; the batch will be delivered again", file=sys.stderr)
                continue
            total += len(batch)
    print(f"consumed {total} message(s) from {sub}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
