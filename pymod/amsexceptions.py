"""The pymod exception tree, and the one place that maps an HTTP reply to an exception.

::

    AmsException
    ├── AmsServiceException          the service (or a balancer in front of it) answered with an error
    │   ├── AmsBalancerException     HTML 502/503/504 page of the load balancer (transient)
    │   ├── AmsTimeoutException      408 (AMS "ack timeout", or a balancer time-out)
    │   │   └── AmsBalancerTimeoutException   balancer 504/408 page: both a balancer error and a time-out
    │   └── AmsResponseException     a 200 reply whose body is not the JSON the route promises
    │       ├── AmsReplyMismatchException   a 200 reply that does not answer its request
    │       └── AmsReplyTooLargeException   a reply past the client's max_reply_bytes
    ├── AmsConnectionException       no usable reply: refused, reset, read time-out, truncated body
    │   └── AmsDeadlineException     the call's deadline passed before a complete reply
    ├── AmsMessageException          a message cannot be built or is refused locally (size, types)
    ├── AmsArgumentException         an argument is invalid; raised before any request is sent
    └── AmsPublishException          a multi-request publish failed part-way: says what was published

Every exception keeps ``msg`` (a short text), and the service exceptions also ``code`` (HTTP status),
``status`` (the AMS status string such as ``NOT_FOUND``, or ``""`` for non-AMS bodies), ``route``
(the route name) and ``body`` (the raw reply text, at most 4 KiB). None of them ever contains the
caller's token: messages are built from the route name and the reply, never from the URL or headers.
"""

from __future__ import annotations

import json as _json
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence

from pymod.original_names import original_route_name

__all__ = [
    "AmsArgumentException",
    "AmsBalancerException",
    "AmsBalancerTimeoutException",
    "AmsConnectionException",
    "AmsException",
    "AmsMessageException",
    "AmsPublishException",
    "AmsResponseException",
    "AmsServiceException",
    "AmsTimeoutException",
    "exception_from_reply",
    "malformed_reply",
    "mask",
    "redact",
]

#: Statuses a load balancer answers with its own (HTML) page.
BALANCER_STATUSES = frozenset({408, 502, 503, 504})

_BODY_KEEP = 4096


class AmsException(Exception):
    """Base class of every error raised by pymod."""

    #: Short human-readable description.
    msg: str = ""


class AmsServiceException(AmsException):
    """AMS answered with an error.

    Args:
        json: the decoded error envelope, ``{"error": {"code": int, "message": str, "status": str}}``.
            Missing keys are tolerated (``code`` defaults to 500, ``status`` to ``""``).
        request: the route name the request was made for (e.g. ``"topics:publish"``).

    Attributes:
        code (int): HTTP status code.
        status (str): AMS status string (``NOT_FOUND``, ``ALREADY_EXISTS`` ...), ``""`` if none.
        msg (str): ``"While trying the [<route>]: <message>"``.
        route (str): the route name.
        error_message (str): the bare message from the reply.
        body (str): the raw reply body (truncated to 4 KiB), for diagnostics.
    """

    def __init__(self, json: Mapping[str, Any], request: str, *, body: str = "") -> None:
        error = json.get("error", {}) if isinstance(json, Mapping) else {}
        if not isinstance(error, Mapping):
            error = {"message": str(error)}
        self.route = str(request)
        # redacted: a proxy's or router's page may quote the URL, users:byToken/<token> included
        self.error_message = redact(str(error.get("message", "")))
        code = error.get("code")
        self.code = int(code) if isinstance(code, int) else 500
        self.status = str(error.get("status") or "")
        self.body = redact(body[:_BODY_KEEP])
        #: seconds the server asked to wait (``Retry-After`` of a 429/503 reply), or None
        self.retry_after: Optional[float] = None
        self.msg = f"While trying the [{_route_name(request)}]: {self.error_message}"
        errord: Dict[str, Any] = {"error": self.msg}
        if error.get("code"):
            errord["status_code"] = self.code
        if self.status:
            errord["status"] = self.status
        # str(exc) is str() of this dict, as in argo-ams-library
        super().__init__(errord)


class AmsBalancerException(AmsServiceException):
    """The load balancer in front of AMS answered with its own error page (502/503/504).

    Transient: the request may or may not have reached AMS. Retried when ``retry > 0``.
    """


class AmsTimeoutException(AmsServiceException):
    """A time-out reported by HTTP 408.

    Either AMS refused an acknowledgement after the ack deadline (``"ack timeout"``; repeating the
    acknowledgement fails again: pull the messages again), or a balancer gave up on the request.
    """


class AmsBalancerTimeoutException(AmsTimeoutException, AmsBalancerException):
    """A balancer time-out page (504 Gateway Time-out, 408 Request Time-out): transient."""


class AmsResponseException(AmsServiceException):
    """A successful (200) reply whose body is not the JSON the route promises (not retried)."""


def malformed_reply(route: str, message: str, body: str = "") -> AmsResponseException:
    """The error for a 200 reply of ``route`` that is not what the route promises."""
    return AmsResponseException(
        {"error": {"code": 200, "message": message, "status": ""}}, route, body=body
    )


class AmsConnectionException(AmsException):
    """No usable reply: connection refused or reset, TLS failure, read time-out, truncated body.

    Args:
        exp: the underlying exception (from ``requests``/``urllib3``).
        request: the route name.
    """

    def __init__(self, exp: BaseException, request: str) -> None:
        self.exp = _scrubbed(exp)
        self.route = str(request)
        self.msg = f"While trying the [{_route_name(request)}]: {_short(exp)}"
        super().__init__(self.msg)

    def __str__(self) -> str:
        return self.msg


class AmsMessageException(AmsException):
    """A message cannot be built, encoded, decoded or sent as given.

    Args:
        msg: what is wrong.
    """

    def __init__(self, msg: object) -> None:
        self.msg = str(msg)
        super().__init__(self.msg)

    def __str__(self) -> str:
        return self.msg


class AmsArgumentException(AmsException, ValueError):
    """An argument is invalid (a resource name, a number out of range...). Nothing was sent."""

    def __init__(self, msg: str) -> None:
        self.msg = msg
        super().__init__(msg)

    def __str__(self) -> str:
        return self.msg


class AmsPublishException(AmsException):
    """A publish split into several requests failed after some of them succeeded.

    Attributes:
        published_ids (list[str]): message ids of the messages that were published, in order; they
            correspond to the first ``len(published_ids)`` messages of the call.
        unpublished (list[dict]): the messages that were not confirmed, in order, as wire-form dicts
            (``{"attributes": {...}, "data": "<Base64>"}``), not AmsMessage objects; pass them to
            ``publish`` again to resume. If the failure was a lost connection, the server may have
            stored some of them (see the docs on duplicates).
        unpublished_indices (list[int]): their positions in the original call.
        cause (AmsException): the error of the failed request (also ``__cause__``).
    """

    def __init__(
        self,
        cause: AmsException,
        published_ids: Sequence[str],
        unpublished: List[Dict[str, Any]],
        first_unpublished: int,
    ) -> None:
        self.cause = cause
        self.published_ids = list(published_ids)
        self.unpublished = unpublished
        self.unpublished_indices = list(
            range(first_unpublished, first_unpublished + len(unpublished))
        )
        self.msg = (
            f"publish failed after {len(self.published_ids)} message(s) were published "
            f"(ids {_id_range(self.published_ids)}); {len(unpublished)} message(s) from index "
            f"{first_unpublished} were not confirmed: {cause}"
        )
        super().__init__(self.msg)

    def __str__(self) -> str:
        return self.msg


def _scrubbed(exp: BaseException) -> BaseException:
    """``exp`` itself, or, if it or an exception in its chain would show a token (a
    ``users:byToken`` URL in its text or ``url``, or a ``request`` with its headers), a copy
    of the same type whose only content is the redacted text and URL (a ``RuntimeError``
    naming the type when the type cannot be built so)."""
    seen: List[BaseException] = []
    current: Optional[BaseException] = exp
    leaks = False
    while current is not None and len(seen) < 16 and not leaks:
        seen.append(current)
        text = str(current) + " " + str(getattr(current, "url", "") or "")
        leaks = getattr(current, "request", None) is not None or redact(text) != text
        current = current.__cause__ or current.__context__
    if not leaks:
        return exp
    text = redact(str(exp))
    url = getattr(exp, "url", None)
    # urllib3's RequestError(pool, url, message), or an exception built from its text
    attempts = [(None, redact(url), text)] if isinstance(url, str) else []
    copy: BaseException = RuntimeError(f"{type(exp).__name__}: {text}")
    for args in [*attempts, (text,)]:
        try:
            copy = type(exp)(*args)
            break
        except Exception:  # noqa: BLE001, S112 - any constructor signature: try the next
            continue
    for attr in ("request", "response"):
        if getattr(copy, attr, None) is not None:  # pragma: no cover - a type that insists
            copy = RuntimeError(f"{type(exp).__name__}: {text}")
    return copy


def _id_range(ids: Sequence[str]) -> str:
    if not ids:
        return "none"
    return ids[0] if len(ids) == 1 else f"{ids[0]}..{ids[-1]}"


_TOKEN_IN_PATH = re.compile(r"(users:byToken/)[^/?#\s'\"]+")
_KEY_IN_QUERY = re.compile(r"([?&]key=)[^&#\s'\"]*")


def redact(text: str) -> str:
    """``text`` with any token in a URL (``users:byToken/<token>``, ``?key=<token>``) replaced by
    ``***``."""
    text = _TOKEN_IN_PATH.sub(r"\1***", text)
    return _KEY_IN_QUERY.sub(r"\1***", text)


def _route_name(request: object) -> str:
    """The route name for messages: the original library's name for an AMS route id."""
    return original_route_name(str(request))


#: Shortest piece of a cut secret that :func:`mask` hides at a cut (shorter pieces are too
#: likely to be ordinary text, and say too little about the secret to matter).
_MIN_PIECE = 4


#: Runs of text between separators: a secret cut in a message is one of them, whole or cut.
_RUN = re.compile(r"[^\s'\"`()\[\]{}<>,;:=/?&]+")


def mask(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret (and its stripped form) replaced by ``***``, and any run of
    text (between spaces, quotes, brackets, ``=``, ``/`` ...) that is the start or the end of one,
    as a cut leaves it (``...`` after it is kept); then :func:`redact`.
    """
    for secret in secrets:
        for form in {secret, secret.strip()}:
            if len(form) < _MIN_PIECE:
                continue
            text = text.replace(form, "***")

            def cut(match: re.Match[str], form: str = form) -> str:
                run = match.group(0)
                core = run[:-3] if run.endswith("...") else run
                if len(core) >= _MIN_PIECE and (form.startswith(core) or form.endswith(core)):
                    return "***" + run[len(core):]
                return run

            text = _RUN.sub(cut, text)
    return redact(text)


def _short(exp: BaseException, limit: int = 300) -> str:
    """``repr(exp)`` (as argo-ams-library showed it), tokens redacted, at most ``limit`` chars."""
    text = redact(repr(exp))
    return text if len(text) <= limit else text[:limit] + "..."


def _envelope(text: str) -> Optional[Dict[str, Any]]:
    """The AMS error envelope in ``text``, or None if ``text`` is not one."""
    if not text or text.lstrip()[:1] != "{":
        return None
    try:
        decoded = _json.loads(text)
    except (ValueError, RecursionError):
        return None
    if isinstance(decoded, dict) and isinstance(decoded.get("error"), dict):
        return decoded
    return None


def _plain_message(text: str, status_code: int) -> str:
    """A one-line message from a non-JSON body (HTML balancer page, router text)."""
    if "<h1>" in text:
        head = text.split("<h1>", 1)[1].split("</h1>", 1)[0]
        tail = text.split("</h1>", 1)[1] if "</h1>" in text else ""
        sentence = " ".join(
            part for part in tail.replace("</body></html>", "").split() if part
        ).strip()
        message = f"{head}. {sentence}".strip(". ") if sentence else head
        return " ".join(message.split())[:200]
    line = " ".join(text.split())
    return line[:200] if line else f"HTTP {status_code} with an empty body"


def exception_from_reply(status_code: int, text: str, route: str) -> AmsServiceException:
    """Map a non-200 reply to the exception that describes it.

    This is the single place where HTTP statuses become exceptions:

    * an AMS error envelope (JSON with ``error``) → :class:`AmsServiceException`, or
      :class:`AmsTimeoutException` for 408;
    * a non-JSON 502/503 → :class:`AmsBalancerException`; a non-JSON 504/408 →
      :class:`AmsBalancerTimeoutException`;
    * anything else → :class:`AmsServiceException` with ``code`` = the HTTP status and the body's
      first line as message (never a ``KeyError``).

    Args:
        status_code: the HTTP status.
        text: the reply body decoded as text.
        route: the route name, for the message.
    """
    envelope = _envelope(text)
    if envelope is not None:
        error = dict(envelope["error"])
        error.setdefault("code", status_code)
        cls: type = AmsTimeoutException if status_code == 408 else AmsServiceException
        exc: AmsServiceException = cls({"error": error}, route, body=text)
        return exc
    error = {"code": status_code, "message": _plain_message(text, status_code), "status": ""}
    if status_code in (408, 504):
        return AmsBalancerTimeoutException({"error": error}, route, body=text)
    if status_code in BALANCER_STATUSES:
        return AmsBalancerException({"error": error}, route, body=text)
    return AmsServiceException({"error": error}, route, body=text)


# ---- replies that do not answer the request, calls past their deadline ---------------------
__all__ += ["AmsDeadlineException", "AmsReplyMismatchException", "AmsReplyTooLargeException"]


class AmsReplyMismatchException(AmsResponseException):
    """A 200 reply that does not answer the request it came for: a publish reply without one
    string id per message sent, a pull reply without ``receivedMessages`` or with an ackId of
    another subscription, an acknowledge reply other than ``{}``, a reply repeated on the same
    connection. The connection it came on was discarded.

    Attributes:
        retryable (bool): True when the request is safe to repeat (pull, acknowledge), so the
            call's ``retry`` covers it; False for publish (a repeat could store the messages twice).
    """

    def __init__(self, message: str, request: str, *, retryable: bool = False,
                 body: str = "") -> None:
        super().__init__({"error": {"code": 200, "message": message, "status": ""}}, request,
                         body=body)
        self.retryable = retryable


class AmsReplyTooLargeException(AmsResponseException):
    """A reply longer than the client's ``max_reply_bytes`` (after decompression). The body was
    not kept and the connection was discarded. Not retried."""


class AmsDeadlineException(AmsConnectionException):
    """The call's total deadline passed (across attempts and sleeps) before a reply was read;
    the connection in use was shut down. The request may or may not have reached AMS."""
