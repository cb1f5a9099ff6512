"""Fault injection for the emulator: what a client sees behind a flaky load balancer.

:class:`FaultInjector` is an ASGI middleware placed in front of the AMS app. For
each eligible request it draws from a seeded :class:`random.Random`; with
probability :attr:`FaultConfig.rate` the request gets one of the configured
:data:`FAULT_KINDS` instead of its normal response:

``"502"``, ``"503"``, ``"504"``, ``"408"``
    The balancer's own HTML error page (spec section 1.7), ``Content-Type:
    text/html``. The AMS app never sees the request (nothing is stored).
``"ams-408"``
    AMS's own ``408 TIMEOUT`` error envelope (``"ack timeout"``), the answer to an
    acknowledgement after the ack deadline. AMS sends it only for acknowledgements,
    so only ``:acknowledge`` requests get it (others drawing it get no fault). The
    app never sees the request: the acknowledgement is not stored.
``"reset-before"``
    The connection is dropped before the app handles the request: no response
    at all, nothing stored.
``"reset-after"``
    The app handles the request (state changes, e.g. a publish is stored), then
    the connection is dropped without a response.
``"delay"``
    The app handles the request, then the response is held back for
    :attr:`FaultConfig.delay` seconds (meant to exceed the client's timeout).
``"truncate"``
    The app handles the request; the response headers announce the full
    ``Content-Length`` but the connection is closed after half of the body.

The draws happen in request order, so a single-threaded client replays the same
faults for the same seed. Only requests whose path starts with one of
:attr:`FaultConfig.paths` are eligible (by default the ``/v1/projects`` API, not
``/v1/status``).

Dropping a connection needs the transport, which plain ASGI does not expose: the
emulator's server adds it to the request scope under
:data:`CONNECTION_EXTENSION` (``{"abort": callable, "close": callable}``). Without
it, the middleware falls back to starting a response and raising, which makes
the server close the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, MutableMapping, Optional, Tuple

__all__ = [
    "CONNECTION_EXTENSION",
    "FAULT_KINDS",
    "FaultConfig",
    "FaultInjector",
    "balancer_page",
    "parse_kinds",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Scope extension key under which the emulator's server exposes the connection.
CONNECTION_EXTENSION = "pymod.connection"

#: Every fault kind, in the order used when none are specified.
FAULT_KINDS: Tuple[str, ...] = (
    "502",
    "503",
    "504",
    "408",
    "ams-408",
    "reset-before",
    "reset-after",
    "delay",
    "truncate",
)

# HAProxy's stock error pages: status line text and explanatory sentence.
_BALANCER_PAGES: Dict[int, Tuple[str, str]] = {
    408: ("Request Time-out", "Your browser didn't send a complete request in time."),
    502: ("Bad Gateway", "The server returned an invalid or incomplete response."),
    503: ("Service Unavailable", "No server is available to handle this request."),
    504: ("Gateway Time-out", "The server didn't respond in time."),
}

# How long to wait for the peer to notice a dropped/closed connection.
_DISCONNECT_WAIT = 5.0


def balancer_page(status: int) -> bytes:
    """Return the balancer's HTML error page for *status* (408, 502, 503 or 504)."""
    title, sentence = _BALANCER_PAGES[status]
    return f"<html><body><h1>{status} {title}</h1>\n{sentence}\n</body></html>\n".encode()


def parse_kinds(text: str) -> Tuple[str, ...]:
    """Parse a comma-separated list of fault kinds (``"all"`` = every kind).

    Raises :class:`ValueError` naming the first unknown kind.
    """
    kinds = tuple(part.strip() for part in text.split(",") if part.strip())
    if kinds == ("all",) or not kinds:
        return FAULT_KINDS
    for kind in kinds:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose from {', '.join(FAULT_KINDS)}")
    return kinds


@dataclass(frozen=True)
class FaultConfig:
    """What to inject, how often, and where.

    :param rate: probability (0..1) that an eligible request gets a fault.
    :param kinds: the fault kinds to choose from (uniformly), see :data:`FAULT_KINDS`.
    :param seed: seed of the random source; the same seed and request sequence
        give the same faults. ``None`` = unpredictable.
    :param delay: seconds a ``"delay"`` fault holds the response back.
    :param paths: path prefixes of eligible requests.
    :param limit: stop injecting after this many faults (``None`` = no limit);
        ``FaultConfig(rate=1.0, kinds=("503",), limit=2)`` fails exactly the next
        two requests.
    """

    rate: float = 0.0
    kinds: Tuple[str, ...] = FAULT_KINDS
    seed: Optional[int] = None
    delay: float = 30.0
    paths: Tuple[str, ...] = ("/v1/projects",)
    limit: Optional[int] = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, got {self.rate}")
        if isinstance(self.kinds, str):
            object.__setattr__(self, "kinds", parse_kinds(self.kinds))
        else:
            object.__setattr__(self, "kinds", tuple(self.kinds))
        if not self.kinds:
            raise ValueError("at least one fault kind is needed")
        unknown = [kind for kind in self.kinds if kind not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kind(s): {', '.join(unknown)}")
        if self.delay < 0:
            raise ValueError("fault delay must not be negative")
        if self.limit is not None and self.limit < 0:
            raise ValueError("fault limit must not be negative")
        object.__setattr__(self, "paths", tuple(self.paths))

    def describe(self) -> str:
        """One-line human-readable summary (for the command line)."""
        if self.rate <= 0:
            return "off"
        text = f"rate={self.rate:g} kinds={','.join(self.kinds)} seed={self.seed}"
        if "delay" in self.kinds:
            text += f" delay={self.delay:g}s"
        if self.limit is not None:
            text += f" limit={self.limit}"
        return text


@dataclass
class _State:
    """Active configuration plus its random source (replaced as a whole)."""

    config: FaultConfig
    rng: random.Random = field(init=False)
    injected: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.config.seed)  # noqa: S311 - not for security

    def draw(self, path: str) -> Optional[str]:
        """Decide whether this request gets a fault, and which."""
        config = self.config
        if config.rate <= 0 or not path.startswith(config.paths):
            return None
        if config.limit is not None and self.injected >= config.limit:
            return None
        if self.rng.random() >= config.rate:
            return None
        kind = self.rng.choice(config.kinds)
        if kind == "ams-408" and not path.endswith(":acknowledge"):
            return None
        self.injected += 1
        return kind


class FaultInjector:
    """ASGI middleware injecting the faults described by a :class:`FaultConfig`.

    :meth:`configure`, :meth:`counts` and :meth:`reset_counts` may be called from
    any thread. :meth:`shutdown` (event-loop thread) cuts pending delays short.
    """

    def __init__(self, app: ASGIApp, config: Optional[FaultConfig] = None) -> None:
        self.app = app
        self._state = _State(config or FaultConfig())
        self._counts: Dict[str, int] = {}
        self._lock = threading.Lock()
        self._pending: List[asyncio.Future[None]] = []

    @property
    def config(self) -> FaultConfig:
        """The active configuration."""
        return self._state.config

    def configure(self, config: Optional[FaultConfig]) -> None:
        """Replace the configuration (and restart its random source)."""
        self._state = _State(config or FaultConfig())

    def counts(self) -> Dict[str, int]:
        """Faults injected so far, by kind (only kinds that occurred)."""
        with self._lock:
            return dict(self._counts)

    def reset_counts(self) -> None:
        """Forget the injected-fault counters."""
        with self._lock:
            self._counts.clear()

    def shutdown(self) -> None:
        """Release every response held back by a ``"delay"`` fault (server stopping)."""
        for waiter in self._pending:
            if not waiter.done():
                waiter.set_result(None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = self._state.draw(scope["path"])
        if kind is None:
            await self.app(scope, receive, send)
            return
        with self._lock:
            self._counts[kind] = self._counts.get(kind, 0) + 1
        if kind == "reset-before":
            await self._drop(scope, receive, send)
        elif kind == "reset-after":
            await self.app(scope, receive, _discard)
            await self._drop(scope, receive, send)
        elif kind == "delay":
            await self.app(scope, receive, self._delayed(send, self._state.config.delay))
        elif kind == "truncate":
            await self._truncate(scope, receive, send)
        elif kind == "ams-408":
            await _send_ack_timeout(send)
        else:
            await _send_balancer_page(send, int(kind))

    # -- fault implementations -------------------------------------------------------

    async def _drop(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Drop the connection without sending anything."""
        connection = scope.get("extensions", {}).get(CONNECTION_EXTENSION)
        if connection is None:
            # Not under the emulator's server: make the server close the connection.
            await send({"type": "http.response.start", "status": 502, "headers": []})
            raise ConnectionAbortedError("fault injection: connection reset")
        connection["abort"]()
        await _wait_disconnect(receive)

    def _delayed(self, send: Send, delay: float) -> Send:
        """Wrap *send* so that the response start waits *delay* seconds."""

        async def delayed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._pending.append(waiter)
                try:
                    await asyncio.wait({waiter}, timeout=delay)
                finally:
                    self._pending.remove(waiter)
            await send(message)

        return delayed_send

    async def _truncate(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, send its headers and half of its body, then close."""
        start: Optional[Message] = None
        chunks: List[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))

        await self.app(scope, receive, capture)
        if start is None:  # the app sent nothing; nothing to truncate
            await self._drop(scope, receive, send)
            return
        body = b"".join(chunks)
        headers = [
            (name, value)
            for name, value in start.get("headers", [])
            if bytes(name).lower() != b"content-length"
        ]
        # Announce the full length (at least one byte, so that the cut is visible).
        headers.append((b"content-length", str(max(len(body), 1)).encode()))
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        half = body[: len(body) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})
        connection = scope.get("extensions", {}).get(CONNECTION_EXTENSION)
        if connection is None:
            raise ConnectionAbortedError("fault injection: truncated response")
        connection["close"]()  # close (not abort): flush the partial body first
        await _wait_disconnect(receive)


async def _discard(message: Message) -> None:
    """An ASGI ``send`` that drops everything (the response of a reset-after)."""


async def _send_balancer_page(send: Send, status: int) -> None:
    body = balancer_page(status)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/html"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-cache"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


_ACK_TIMEOUT = (
    b'{\n   "error": {\n      "code": 408,\n      "message": "ack timeout",\n'
    b'      "status": "TIMEOUT"\n   }\n}'
)


async def _send_ack_timeout(send: Send) -> None:
    """AMS's 408 for a late acknowledgement (spec 5.10): the 3-space error envelope."""
    await send(
        {
            "type": "http.response.start",
            "status": 408,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(_ACK_TIMEOUT)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _ACK_TIMEOUT})


async def _wait_disconnect(receive: Receive) -> None:
    """Consume the request until the server reports the disconnect (bounded wait)."""

    async def drain() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(drain(), timeout=_DISCONNECT_WAIT)
