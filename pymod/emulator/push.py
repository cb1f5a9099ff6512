"""Push delivery: the emulator's stand-in for the AMS push server (spec 5.16, 12.9).

:class:`PushWorker` runs on the emulator's event loop. Every ``scan_interval``
seconds it asks the store for the active push subscriptions (http endpoints
that are verified, and mattermost subscriptions) and keeps one delivery task per
subscription. A delivery task:

1. waits until the subscription's topic has messages beyond its committed offset;
2. pulls up to ``maxMessages`` of them (a real pull: the pending window restarts
   and the consumption counters grow);
3. POSTs them to the endpoint:

   * http_endpoint: ``{"message": {...}, "subscription": "<name>"}`` when
     ``maxMessages`` is 1, otherwise ``{"messages": [{"message": ..., "subscription":
     ...}, ...]}``, with header ``Authorization: <value>`` when the authorization
     type is ``autogen``; ``data`` is base64-decoded first when ``base64Decode`` is set;
   * mattermost: ``{"text": <decoded data>, "username": ..., "channel": ...}`` to
     the webhook URL;

4. acknowledges the batch when the endpoint answers 200, 201, 204 or 102;
   otherwise (or on a transport error) it waits according to the retry policy
   and starts again from step 1, so the same messages are pushed again:

   * ``linear``: ``period`` milliseconds between attempts;
   * ``slowstart``: 1 s after the first failure, doubling up to one hour, back to
     1 s after a success.

An acknowledgement that misses the ack deadline (slow endpoint) fails like any
late ack, and the messages are pushed again.

The subscription's ``pushStatus`` is updated when the outcome changes (success
versus the latest failure reason).

Subscription names in pushed bodies are the full names with a leading slash,
``/projects/P/subscriptions/S`` (spec section 15 leaves the form open).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import ssl
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import httpx

from pymod.emulator.errors import AmsError
from pymod.emulator.store import PushConfig, Store, StoredMessage, Subscription

__all__ = ["DELIVERED_STATUSES", "PushWorker", "RetryPolicy", "build_body"]

logger = logging.getLogger("pymod.emulator.push")

#: Endpoint answers that count as delivered.
DELIVERED_STATUSES = frozenset({200, 201, 204, 102})

_SLOWSTART_FIRST = 1.0
_SLOWSTART_MAX = 3600.0
_DEFAULT_PERIOD_MS = 3000


@dataclass
class RetryPolicy:
    """Waiting time between delivery attempts after a failure."""

    type: str = "linear"
    period_ms: int = _DEFAULT_PERIOD_MS
    _next_slowstart: float = _SLOWSTART_FIRST

    @classmethod
    def of(cls, push: PushConfig) -> RetryPolicy:
        """The policy configured on a subscription (defaults: linear, 3000 ms)."""
        kind = push.retry_type or "linear"
        period = push.retry_period if push.retry_period > 0 else _DEFAULT_PERIOD_MS
        return cls(kind, period)

    def failed(self) -> float:
        """Seconds to wait after a failed attempt."""
        if self.type != "slowstart":
            return self.period_ms / 1000.0
        delay = self._next_slowstart
        self._next_slowstart = min(delay * 2, _SLOWSTART_MAX)
        return delay

    def succeeded(self) -> None:
        """Reset the backoff after a delivered batch."""
        self._next_slowstart = _SLOWSTART_FIRST


def _decoded(data: str) -> str:
    """Base64-decode message data for display; undecodable data is passed through."""
    try:
        return base64.b64decode(data, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return data


def build_body(sub: Subscription, messages: Sequence[StoredMessage]) -> Dict[str, Any]:
    """The JSON body pushed for *messages* of *sub*."""
    push = sub.push
    if push.type == "mattermost":
        text = "\n".join(_decoded(m.data) for m in messages)
        body: Dict[str, Any] = {"text": text}
        if push.mattermost_username:
            body["username"] = push.mattermost_username
        if push.mattermost_channel:
            body["channel"] = push.mattermost_channel
        return body
    items: List[Dict[str, Any]] = []
    for message in messages:
        rendered = message.to_json()
        if push.base64_decode:
            rendered["data"] = _decoded(message.data)
        items.append({"message": rendered, "subscription": sub.full_name})
    if max(push.max_messages, 1) == 1 and len(items) == 1:
        return items[0]
    return {"messages": items}


class PushWorker:
    """Delivers messages of active push subscriptions (see the module docstring).

    :param store: the emulator's store (used from the event loop only).
    :param ca_file: extra CA bundle trusted for endpoints, on top of the system
        trust store.
    :param scan_interval: seconds between scans for (de)activated subscriptions.
    :param poll_interval: seconds between checks for new messages of an idle
        subscription.
    :param timeout: seconds allowed for one POST.
    """

    def __init__(
        self,
        store: Store,
        *,
        ca_file: Optional[str] = None,
        scan_interval: float = 0.1,
        poll_interval: float = 0.05,
        timeout: float = 10.0,
    ) -> None:
        self.store = store
        self.ca_file = ca_file
        self.scan_interval = scan_interval
        self.poll_interval = poll_interval
        self.timeout = timeout
        self._tasks: Dict[int, Tuple[PushConfig, asyncio.Task[None]]] = {}
        self._supervisor: Optional[asyncio.Task[None]] = None
        self._client: Optional[httpx.AsyncClient] = None

    def start(self) -> None:
        """Start the worker on the running event loop."""
        context = ssl.create_default_context()  # system trust...
        if self.ca_file:
            context.load_verify_locations(self.ca_file)  # ...plus the given bundle
        self._client = httpx.AsyncClient(verify=context, timeout=self.timeout)
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())

    async def stop(self) -> None:
        """Cancel every delivery and release the HTTP client."""
        tasks = [task for _, task in self._tasks.values()]
        if self._supervisor is not None:
            tasks.append(self._supervisor)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._supervisor = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _supervise(self) -> None:
        """Keep one delivery task per active push subscription (with its current config)."""
        while True:
            try:
                active = {sub.id: sub for sub in self.store.active_push_subscriptions()}
            except Exception:  # a store failure must not kill push delivery for good
                logger.exception("cannot list push subscriptions")
                active = {}
            for sub_id, (config, task) in list(self._tasks.items()):
                sub = active.get(sub_id)
                if task.done() or sub is None or sub.push != config:
                    task.cancel()
                    del self._tasks[sub_id]
            for sub_id, sub in active.items():
                if sub_id not in self._tasks:
                    task = asyncio.get_running_loop().create_task(self._deliver_loop(sub))
                    self._tasks[sub_id] = (sub.push, task)
            await asyncio.sleep(self.scan_interval)

    async def _deliver_loop(self, sub: Subscription) -> None:
        """Push the messages of one subscription until cancelled."""
        policy = RetryPolicy.of(sub.push)
        last_status = sub.push_status
        while True:
            current = self.store.subscription_by_id(sub.id)
            if current is None or current.push != sub.push:
                return  # deleted or reconfigured; the supervisor takes over
            topic = self.store.topic(current.project_id, current.topic_name)
            if topic is None or topic.end_offset <= current.offset:
                await asyncio.sleep(self.poll_interval)
                continue
            try:
                messages = self.store.pull(
                    current.project_name, current.name, max(current.push.max_messages, 1)
                )
            except AmsError as exc:
                logger.debug("push pull from %s failed: %s", current.full_name, exc.message)
                await asyncio.sleep(self.poll_interval)
                continue
            if not messages:
                await asyncio.sleep(self.poll_interval)
                continue
            error = await self._post(current, messages)
            if error is None:
                try:
                    self.store.acknowledge(current.project_name, current.name, messages[-1].offset)
                except AmsError as exc:
                    error = f"acknowledgement failed: {exc.message}"
            status = f"Subscription {current.full_name} is currently active"
            if error is not None:
                status += f"; the last push failed: {error}"
            if status != last_status:
                self.store.set_push_status(current.id, status)
                last_status = status
            if error is None:
                policy.succeeded()
            else:
                logger.info("push to %s failed: %s", current.full_name, error)
                await asyncio.sleep(policy.failed())

    async def _post(self, sub: Subscription, messages: Sequence[StoredMessage]) -> Optional[str]:
        """POST one batch; return ``None`` when delivered, else the failure reason."""
        assert self._client is not None
        push = sub.push
        url = push.mattermost_url if push.type == "mattermost" else push.endpoint
        headers = {"Content-Type": "application/json"}
        if push.type != "mattermost" and push.auth_type == "autogen" and push.auth_value:
            headers["Authorization"] = push.auth_value
        try:
            response = await self._client.post(
                url, json=build_body(sub, messages), headers=headers
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if response.status_code in DELIVERED_STATUSES:
            return None
        return f"endpoint answered {response.status_code}"
