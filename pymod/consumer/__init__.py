"""A safe pull → handle → acknowledge loop for cron jobs and daemons.

::

    from pymod import ArgoMessagingService
    from pymod.consumer import Consumer, FileCheckpoint

    def handle(msg):                      # must be idempotent: delivery is at-least-once
        store(msg.get_msgid(), msg.get_data())

    cursor = FileCheckpoint("/var/lib/myjob/alerts-sub.offset")
    with ArgoMessagingService(endpoint=..., token=..., project="DEMO") as ams:
        result = Consumer(ams, "alerts-sub", handle, checkpoint=cursor,
                          start_offset=cursor.load(), stop_when_empty=True,
                          max_seconds=300).run()
    print(result)

How AMS delivery works, and what the consumer does about it
-----------------------------------------------------------

* A pull returns the messages from the subscription's committed offset on; they are *not* hidden
  from later pulls. An acknowledgement is cumulative (acking the message at offset ``m`` commits
  every message up to ``m``) and is only accepted for the most recent pull window and within the
  subscription's ack deadline (``ackDeadlineSeconds``, counted from the pull). There is no
  per-message lease, no automatic redelivery timer and **no dead-letter queue**: "redelivery" simply
  means that the next pull starts again at the committed offset.
* So the consumer acknowledges only the *successful prefix* of a batch: the messages up to (not
  including) the first one whose handler raised. A message whose handler raised is never
  acknowledged (unless ``on_poison`` says so); it and everything after it come again with the next
  pull.
* Delivery is **at-least-once**: a message may be handled more than once (its acknowledgement was
  lost, refused after the deadline, or the process died between handling and acknowledging).
  Handlers must be idempotent.
* A message whose handler keeps failing (a *poison message*) blocks the subscription: nothing after
  it can be committed. After ``max_redeliveries`` failed redeliveries the consumer stops with
  :class:`PoisonMessageError` (the default), or calls ``on_poison(msg, exc)`` and, if that returns
  True, acknowledges the message (e.g. after saving it somewhere for a human) and goes on.
* The ack deadline belongs to the subscription, not to a message: before acknowledging, the
  consumer checks how long ago the batch was pulled; if the deadline (minus a safety margin) has
  passed, it does not acknowledge (AMS would answer 408) but pulls again. It also acknowledges
  early, in the middle of a batch, when handling the next message would probably overrun the
  deadline. ``extend_deadline=True`` instead raises the subscription's deadline with
  ``modifyAckDeadline`` (which affects every consumer of the subscription; the original value is
  restored on exit).

Concurrency and lifecycle
-------------------------

* ``Consumer(..., workers=N)`` hands a batch's messages to N threads and still acknowledges only
  the contiguous prefix of finished messages (:mod:`pymod.consumer.parallel`); ``workers=1`` is
  the sequential loop.
* ``start()`` runs the consumer in a background thread; ``state``, ``result``, ``error``,
  ``stop(timeout)`` and ``join(timeout)`` follow and end it.

Routes used: ``POST …/subscriptions/{sub}:pull`` (always ``returnImmediately``),
``POST …:acknowledge``, ``GET …/subscriptions/{sub}`` (the ack deadline, once),
``POST …:modifyOffset`` and ``GET …:timeToOffset`` (start options), ``GET …:offsets`` (to check a
broken acknowledgement), ``POST …:modifyAckDeadline`` (``extend_deadline``).
"""

from pymod.consumer.checkpoint import FileCheckpoint
from pymod.consumer.core import Consumer
from pymod.consumer.results import (
    STOP_REASONS,
    BatchError,
    ConsumerError,
    ConsumeResult,
    PoisonMessageError,
    StalledError,
)

__all__ = [
    "STOP_REASONS",
    "BatchError",
    "ConsumeResult",
    "Consumer",
    "ConsumerError",
    "FileCheckpoint",
    "PoisonMessageError",
    "StalledError",
]

