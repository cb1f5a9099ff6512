"""Subscription operations (spec 5): CRUD, pull/acknowledge, offsets, ack deadlines, push
configuration and verification, ACLs and metrics."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import http.client
import re
import socket
import ssl
import urllib.error
import urllib.request
from typing import Any, Optional
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from pymod.emulator import decoding as dec
from pymod.emulator.api.context import (
    _INT64_MAX,
    _INT_RE,
    Ctx,
    ServiceBase,
    _decode,
    json_response,
    literal_response,
    metric,
)
from pymod.emulator.errors import (
    conflict,
    exists,
    forbidden,
    internal,
    invalid,
    invalid_args,
    not_found,
    unauthorized,
)
from pymod.emulator.formatting import ZERO_TIME, fmt_seconds
from pymod.emulator.roles import (
    CONSUMER,
    PUSH_WORKER,
    SERVICE_ADMIN,
)
from pymod.emulator.store import (
    SUBSCRIPTION,
    PushConfig,
    StoredMessage,
    Subscription,
    new_token,
)


class SubscriptionOps(ServiceBase):
    """Routes ``subscriptions:*`` (but ``listByTopic``)."""

    @staticmethod
    def sub_json(sub: Subscription, push_status: str = "") -> dict[str, Any]:
        """The subscription object of spec 5.1 (``pushStatus`` only when given: the real
        server shows it on a single subscription's GET only)."""
        push = sub.push
        auth: dict[str, Any] = {}
        if push.auth_type:
            auth["type"] = push.auth_type
        if push.auth_value:
            auth["value"] = push.auth_value
        retry: dict[str, Any] = {}
        if push.retry_type:
            retry["type"] = push.retry_type
        if push.retry_period:
            retry["period"] = push.retry_period
        body: dict[str, Any] = {
            "name": sub.full_name,
            "topic": f"/projects/{sub.project_name}/topics/{sub.topic_name}",
            "pushConfig": {
                "type": push.type,
                "pushEndpoint": push.endpoint,
                "maxMessages": push.max_messages,
                "authorizationHeader": auth,
                "retryPolicy": retry,
                "verificationHash": push.verification_hash,
                "verified": push.verified,
                "mattermostUrl": push.mattermost_url,
                "mattermostUsername": push.mattermost_username,
                "mattermostChannel": push.mattermost_channel,
                "base64Decode": push.base64_decode,
            },
            "ackDeadlineSeconds": sub.ack_deadline,
        }
        if push_status:
            body["pushStatus"] = push_status
        body["createdOn"] = fmt_seconds(sub.created_on)
        return body


    async def op_subscriptions_list(self, ctx: Ctx) -> Response:
        """``GET /v1/projects/{project}/subscriptions`` (spec 5.4)."""
        subs = self._acl_visible(ctx, CONSUMER, SUBSCRIPTION,
                                 self.store.list_subscriptions(ctx.proj.id))
        return self._paginate(ctx, [(s.id, self.sub_json(s)) for s in subs], "subscriptions")

    async def op_subscriptions_show(self, ctx: Ctx) -> Response:
        """``GET .../subscriptions/{subscription}`` (spec 5.5)."""
        sub = self._sub(ctx)
        status = ""
        if sub.push.type and sub.push.verified:  # the push server's answer, at once
            status = sub.push_status or f"Subscription {sub.full_name} is currently active"
        return json_response(self.sub_json(sub, status))

    async def op_subscriptions_create(self, ctx: Ctx) -> Response:
        """``PUT .../subscriptions/{subscription}`` (spec 5.2)."""
        error = invalid_args("Subscription")
        body = _decode(error, lambda: dec.parse_struct(ctx.body))
        reference = _decode(error, lambda: dec.get_str(body, "topic"))
        ack_deadline = _decode(error, lambda: dec.get_int(body, "ackDeadlineSeconds"))
        raw_push = _decode(error, lambda: _push_body(dec.get_obj(body, "pushConfig")))
        parts = reference.split("/")
        if len(parts) != 4 or (parts[0] != "projects" and parts[2] != "topics"):
            raise invalid("Invalid Topic name")
        topic = self.store.topic(ctx.proj.id, parts[3])
        if topic is None:
            raise not_found("Topic")
        push = PushConfig()
        if raw_push != PushConfig():
            push = self._push_config(raw_push, None)
        if self.store.subscription(ctx.proj.id, ctx.vars["subscription"]) is not None:
            raise exists("Subscription")
        sub = self.store.create_subscription(ctx.proj.id, ctx.vars["subscription"], topic,
                                             ack_deadline or 10, push)
        worker = self.store.user_by_name(self.push_worker_name)
        if push.type == "mattermost" and worker is not None:
            self._activate_push(ctx, sub.id, worker.id)
        return json_response(self.sub_json(sub))

    async def op_subscriptions_delete(self, ctx: Ctx) -> Response:
        """``DELETE .../subscriptions/{subscription}`` (spec 5.6)."""
        sub = self._sub(ctx)
        self.store.delete_subscription(sub.id)
        if sub.push.type and sub.push.verified:
            return json_response({"message": f"Subscription {sub.full_name} deactivated"},
                                 "compact")
        return literal_response()

    async def op_subscriptions_pull(self, ctx: Ctx) -> Response:
        """``POST .../subscriptions/{subscription}:pull`` (spec 5.9 and 12.2)."""
        sub = self._sub(ctx)
        if sub.push.type:
            if ctx.has(PUSH_WORKER) and not self.push_enabled:
                raise conflict("Push functionality is currently disabled")
            if not (ctx.has(PUSH_WORKER) or ctx.has(SERVICE_ADMIN)):
                raise forbidden()
        self._check_acl(ctx, CONSUMER, SUBSCRIPTION, sub.id)
        topic = self.store.topic(ctx.proj.id, sub.topic_name)
        if topic is None:
            raise conflict("Subscription's topic doesn't exist")
        error = invalid_args("Pull Parameters")
        body = _decode(error, lambda: dec.parse_struct(ctx.body))
        max_text = _decode(error, lambda: dec.get_str(body, "maxMessages"))
        immediately = _decode(error, lambda: dec.get_str(body, "returnImmediately")) != "false"
        max_messages = 1
        if _INT_RE.fullmatch(max_text) and 0 < int(max_text) <= _INT64_MAX:
            max_messages = int(max_text)
        messages = self.store.read_messages(topic.id, sub.offset, max_messages)
        if messages and not immediately:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + PULL_WAIT_SECONDS
            while len(messages) < max_messages and loop.time() < deadline:
                await self.notifier.wait(deadline - loop.time())
                messages += self.store.read_messages(
                    topic.id, sub.offset + len(messages), max_messages - len(messages))
        if any(_unreadable(m) for m in messages):
            raise internal("Message retrieved from broker network has invalid JSON Structure")
        self.store.record_pull(sub, messages)
        project = ctx.proj.name
        return json_response({"receivedMessages": [
            {"ackId": f"projects/{project}/subscriptions/{sub.name}:{m.offset}",
             "message": m.to_json()} for m in messages]})

    async def op_subscriptions_acknowledge(self, ctx: Ctx) -> Response:
        """``POST .../subscriptions/{subscription}:acknowledge`` (spec 5.10 and 12.3)."""
        error = invalid("Invalid ack parameter")
        body = _decode(error, lambda: dec.parse_struct(ctx.body))
        ack_ids = _decode(error, lambda: dec.get_str_list(body, "ackIds"))
        sub = self._sub(ctx)
        prefix = f"projects/{ctx.proj.name}/subscriptions/{sub.name}:"
        offsets: list[int] = []
        for ack_id in ack_ids or []:
            number = ack_id[len(prefix):]
            if (not ack_id.startswith(prefix) or _INT_RE.fullmatch(number) is None
                    or abs(int(number)) > _INT64_MAX):
                raise invalid("Invalid ack id")
            offsets.append(int(number))
        # the real GetMaxAckID starts from 0: negative ids never count, none left is invalid
        counted = [offset for offset in offsets if offset >= 0]
        if not counted:
            raise invalid("Invalid ack id")
        self.store.acknowledge(ctx.proj.name, sub.name, max(counted))
        return literal_response(b"{}")

    def _max_offset(self, ctx: Ctx, sub: Subscription) -> int:
        topic = self.store.topic(ctx.proj.id, sub.topic_name)
        return 0 if topic is None else topic.end_offset

    async def op_subscriptions_offsets(self, ctx: Ctx) -> Response:
        """``GET .../subscriptions/{subscription}:offsets`` (spec 5.11)."""
        sub = self._sub(ctx)
        current = sub.offset
        if current < 0:  # below the log's start (after an out-of-bounds modifyOffset): reset
            self.store.set_offset(sub.id, 0)
            current = 0
        return json_response({"max": self._max_offset(ctx, sub), "min": 0, "current": current})

    async def op_subscriptions_modifyOffset(self, ctx: Ctx) -> Response:
        """``POST .../subscriptions/{subscription}:modifyOffset`` (spec 5.12)."""
        error = invalid_args("Offset")
        body = _decode(error, lambda: dec.parse_struct(ctx.body))
        offset = _decode(error, lambda: dec.get_int(body, "offset"))
        sub = self._sub(ctx)
        self.store.set_offset(sub.id, offset)
        if offset < 0 or offset > self._max_offset(ctx, sub):
            # the real handler answers 400 but stores the offset anyway (a missing return)
            raise invalid("Offset out of bounds")
        return literal_response()

    async def op_subscriptions_timeToOffset(self, ctx: Ctx) -> Response:
        """``GET .../subscriptions/{subscription}:timeToOffset?time=...`` (spec 5.13)."""
        sub = self._sub(ctx)
        epoch_ms = _parse_zulu(ctx.query.get("time", ""))
        topic = self.store.topic(ctx.proj.id, sub.topic_name)
        offset = None if topic is None else self.store.offset_at_time(topic.id, epoch_ms)
        if offset is None:
            raise conflict("Timestamp is out of bounds for the subscription's topic/partition")
        return json_response({"offset": offset}, "compact")

    async def op_subscriptions_acl(self, ctx: Ctx) -> Response:
        """``GET .../subscriptions/{subscription}:acl`` (spec 5.14)."""
        sub = self._sub(ctx)
        return json_response({"authorized_users": self.store.acl_users(SUBSCRIPTION, sub.id)})

    async def op_subscriptions_modifyAcl(self, ctx: Ctx) -> Response:
        """``POST .../subscriptions/{subscription}:modifyAcl`` (spec 5.14)."""
        sub = self.store.subscription(ctx.proj.id, ctx.vars["subscription"])
        return self._modify_acl(ctx, "Subscription ACL", SUBSCRIPTION, sub.id if sub else None)

    async def op_subscriptions_modifyAckDeadline(self, ctx: Ctx) -> Response:
        """``POST .../subscriptions/{subscription}:modifyAckDeadline`` (spec 5.7)."""
        error = invalid_args("ackDeadlineSeconds(needs value between 0 and 600)")
        body = _decode(error, lambda: dec.parse_struct(ctx.body))
        seconds = _decode(error, lambda: dec.get_int(body, "ackDeadlineSeconds"))
        if not 0 <= seconds <= 600:
            raise error
        self.store.set_ack_deadline(self._sub(ctx).id, seconds)
        return literal_response()

    async def op_subscriptions_modifyPushConfig(self, ctx: Ctx) -> Response:
        """``POST .../subscriptions/{subscription}:modifyPushConfig`` (spec 5.8)."""
        error = invalid_args("Subscription")
        body = _decode(error, lambda: dec.parse_struct(ctx.body))
        raw = _decode(error, lambda: _push_body(dec.get_obj(body, "pushConfig")))
        sub = self._sub(ctx)
        previous = sub.push
        push = PushConfig() if raw == PushConfig() else self._push_config(raw, previous)
        self.store.set_push_config(sub.id, push)
        worker = self.store.user_by_name(self.push_worker_name)
        if worker is None:
            return literal_response()
        if previous.type and previous.verified:
            self.store.remove_from_acl(SUBSCRIPTION, sub.id, worker.id)
        if push.type == "mattermost" or (push.type == "http_endpoint" and previous.verified
                                         and raw.endpoint == previous.endpoint):
            self._activate_push(ctx, sub.id, worker.id)
        return literal_response()

    def _activate_push(self, ctx: Ctx, sub_id: int, worker_id: int) -> None:
        """The push worker joins the subscription's ACL and (without roles) its project."""
        self.store.add_to_acl(SUBSCRIPTION, sub_id, worker_id)
        if self.store.membership(worker_id, ctx.proj.id) is None:
            self.store.set_member_roles(worker_id, ctx.proj.id, [], touch=False)

    def _push_config(self, raw: PushConfig, previous: Optional[PushConfig]) -> PushConfig:
        """Validate a non-empty push configuration (spec 5.3) as the real create
        (``previous is None``) and modifyPushConfig handlers do, in their order of checks."""
        if not self.push_enabled:
            raise conflict("Push functionality is currently disabled")
        if self.store.user_by_name(self.push_worker_name) is None:
            raise internal("Push functionality is currently unavailable")
        creating = previous is None
        old = previous or PushConfig()
        if not creating:
            retry_type, retry_period = _retry_policy(raw)
        if raw.type == "http_endpoint":
            if not _is_https_url(raw.endpoint):
                raise invalid("Push endpoint should be addressed by a valid https url")
            keep = not creating and raw.endpoint == old.endpoint
            auth_type = raw.auth_type
            if creating and not auth_type:
                auth_type = "autogen"
            if auth_type not in ("", "autogen", "disabled"):
                raise invalid("Authorization header type can only be of 'autogen' or "
                              "'disabled' type")
            if not auth_type and not old.type:
                auth_type = "autogen"
            auth_value = new_token() if auth_type == "autogen" else ""
            if not auth_type:  # keep the previous header (the type "" of old data: disabled)
                auth_type = old.auth_type or "disabled"
                auth_value = old.auth_value if auth_type == "autogen" else ""
            max_messages = raw.max_messages
            if max_messages == 0:
                max_messages = old.max_messages or 1
            config = PushConfig(
                type="http_endpoint", endpoint=raw.endpoint, max_messages=max_messages,
                auth_type=auth_type, auth_value=auth_value,
                verification_hash=old.verification_hash if keep else new_token(),
                verified=keep and old.verified)
        elif raw.type == "mattermost":
            if not raw.mattermost_url:
                raise invalid("Field mattermostUrl cannot be empty")
            config = PushConfig(
                type="mattermost", max_messages=1, auth_type="" if creating else "autogen",
                verified=True, mattermost_url=raw.mattermost_url,
                mattermost_username=raw.mattermost_username,
                mattermost_channel=raw.mattermost_channel)
        else:
            raise invalid("Push configuration type can only be of 'http_endpoint' or "
                          "'mattermost'")
        if creating:
            retry_type, retry_period = _retry_policy(raw)
        # The real ModSubPush never copies base64Decode into the stored configuration, so a
        # modifyPushConfig always turns it off (a server bug kept on purpose).
        return dataclasses.replace(config, retry_type=retry_type, retry_period=retry_period,
                                   base64_decode=creating and raw.base64_decode)

    async def op_subscriptions_verifyPushEndpoint(self, ctx: Ctx) -> Response:
        """``POST .../subscriptions/{subscription}:verifyPushEndpoint`` (spec 5.16)."""
        if not self.push_enabled:
            raise conflict("Push functionality is currently disabled")
        worker = self.store.user_by_name(self.push_worker_name)
        if worker is None:
            raise internal("Push functionality is currently unavailable")
        sub = self._sub(ctx)
        if sub.push.type != "http_endpoint":
            raise conflict("Subscription is not in http push mode")
        if sub.push.verified:
            raise conflict("Push endpoint is already verified")
        failure = await run_in_threadpool(_verify_endpoint, sub.push.endpoint,
                                          sub.push.verification_hash, self.push_verify_ca)
        if failure:
            raise unauthorized(f"Endpoint verification failed.{failure}")
        self.store.set_push_config(
            sub.id, dataclasses.replace(sub.push, verified=True, base64_decode=False))
        self._activate_push(ctx, sub.id, worker.id)
        return literal_response()

    async def op_subscriptions_metrics(self, ctx: Ctx) -> Response:
        """``GET .../subscriptions/{subscription}:metrics`` (spec 5.15)."""
        sub = self.store.subscription(ctx.proj.id, ctx.vars["subscription"])
        if ctx.has(CONSUMER):
            self._check_acl(ctx, CONSUMER, SUBSCRIPTION, sub.id if sub else -1)
        if sub is None:
            raise not_found("Subscription")
        now = fmt_seconds(self.store.now_s())
        last = fmt_seconds(sub.last_consume_ns // 10**9) if sub.last_consume_ns else ZERO_TIME
        return json_response({"metrics": [
            metric("subscription.number_of_messages", "subscription", sub.name,
                    [(now, sub.message_count)]),
            metric("subscription.number_of_bytes", "subscription", sub.name,
                    [(now, sub.bytes)]),
            metric("subscription.consumption_rate", "subscription", sub.name,
                    [(last, sub.consume_rate)]),
        ]}, floats=True)



#: Longest wait of a ``returnImmediately: "false"`` pull, in seconds (spec 12.2).
PULL_WAIT_SECONDS = 300.0
_ZULU_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{1,2}):(\d{2}):(\d{2})\.(\d{3})Z")
_UNREADABLE_ATTR_RE = re.compile(r'["\\\x00-\x1f]')


def _push_body(raw: Optional[dict[str, Any]]) -> PushConfig:
    """The ``pushConfig`` object of a request body, decoded as given (not yet validated)."""
    if raw is None:
        return PushConfig()
    auth = dec.get_obj(raw, "authorizationHeader") or {}
    retry = dec.get_obj(raw, "retryPolicy") or {}
    return PushConfig(
        type=dec.get_str(raw, "type"),
        endpoint=dec.get_str(raw, "pushEndpoint"),
        max_messages=dec.get_int(raw, "maxMessages"),
        auth_type=dec.get_str(auth, "type"),
        auth_value=dec.get_str(auth, "value"),
        retry_type=dec.get_str(retry, "type"),
        retry_period=dec.get_int(retry, "period"),
        verification_hash=dec.get_str(raw, "verificationHash"),
        verified=dec.get_bool(raw, "verified"),
        mattermost_url=dec.get_str(raw, "mattermostUrl"),
        mattermost_username=dec.get_str(raw, "mattermostUsername"),
        mattermost_channel=dec.get_str(raw, "mattermostChannel"),
        base64_decode=dec.get_bool(raw, "base64Decode"),
    )


def _retry_policy(raw: PushConfig) -> tuple[str, int]:
    retry_type = raw.retry_type or "linear"
    if retry_type not in ("linear", "slowstart"):
        raise invalid("Retry policy can only be of 'linear' or 'slowstart' type")
    if retry_type == "slowstart":
        return retry_type, 0
    return retry_type, raw.retry_period if raw.retry_period > 0 else 3000


def _is_https_url(text: str) -> bool:
    """Go's ``url.ParseRequestURI`` + ``https`` scheme + non-empty host, as the real
    ``IsValidHTTPS`` (a port must be digits, but any number of them)."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    host = parts.netloc.rpartition("@")[2]
    if parts.scheme != "https" or not host or re.search(r"[\s<>\"{}|\\^`]", host):
        return False
    port = host.rpartition("]")[2] if host.startswith("[") else host
    return re.fullmatch(r"[^:]*(:[0-9]*)?", port) is not None


def _verify_endpoint(endpoint: str, expected: str, ca_file: Optional[str]) -> str:
    """GET ``https://host[:port]/ams_verification_hash``; return ``""`` or the failure reason
    in the words of the real server's Go HTTP client (``Get "<url>": dial tcp ...``)."""
    parts = urlsplit(endpoint)
    url = f"https://{parts.netloc.rpartition('@')[2]}/ams_verification_hash"
    context = ssl.create_default_context(cafile=ca_file)
    try:
        with urllib.request.urlopen(url, timeout=10, context=context) as reply:  # noqa: S310
            status, body = reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, b""
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return f'Get "{url}": {_go_dial_error(exc, parts.hostname or "", parts.port or 443)}'
    if status != 200:
        return "Wrong response status code"
    if body != expected.encode():
        return "Wrong verification hash"
    return ""


def _go_dial_error(exc: BaseException, host: str, port: int) -> str:
    """Go's ``net/http`` text for the common ways a request fails (else Python's own)."""
    reason: object = getattr(exc, "reason", exc)
    if isinstance(reason, ConnectionRefusedError):
        try:
            address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][4][0]
        except OSError:
            address = host
        shown = f"[{address}]" if ":" in str(address) else address
        return f"dial tcp {shown}:{port}: connect: connection refused"
    if isinstance(reason, ssl.SSLCertVerificationError) and reason.verify_code in (18, 19, 20, 21):
        return "x509: certificate signed by unknown authority"
    if isinstance(reason, socket.gaierror):
        return f"dial tcp: lookup {host}: no such host"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    return str(reason)


def _unreadable(message: StoredMessage) -> bool:
    """True for attributes the real service stores without escaping (unreadable later)."""
    return any(_UNREADABLE_ATTR_RE.search(key) or _UNREADABLE_ATTR_RE.search(value)
               for key, value in (message.attributes or {}).items())


def _parse_zulu(text: str) -> int:
    """Parse ``YYYY-MM-DDTHH:MM:SS.mmmZ`` into epoch milliseconds (spec 5.13)."""
    match = _ZULU_RE.fullmatch(text)
    error = invalid("Time is not in valid Zulu format.")
    if match is None:
        raise error
    year, month, day, hour, minute, second, millis = (int(g) for g in match.groups())
    try:
        moment = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.timezone.utc)
    except ValueError as exc:
        raise error from exc
    nanos = (int(moment.timestamp()) * 1000 + millis) * 1_000_000
    # Go's time.UnixNano() wraps around outside the years 1678-2262; the real server sends the
    # wrapped value (in milliseconds, truncated towards zero) to the broker.
    nanos = (nanos + 2**63) % 2**64 - 2**63
    return -(-nanos // 1_000_000) if nanos < 0 else nanos // 1_000_000


