"""Checks made before anything is sent, and the guards that keep the token secret.

* :func:`check_timeout`, :func:`check_port`, :func:`check_settings`, :func:`check_reqkwargs`:
  the client's settings and a call's ``requests`` keywords, refused with
  :class:`~pymod.amsexceptions.AmsArgumentException` at construction or call instead of failing
  at (or after) the first request.
* :func:`check_token`: a token is stripped of surrounding whitespace, and refused (without being
  echoed) when it holds a character that cannot travel in an HTTP header.
* :class:`RedactTokens` on every urllib3 logger, and :func:`with_redirect_guard` for redirects
  followed by an injected session: the token never shows in a log line, nor leaves for another
  host or over plain http.
"""

from __future__ import annotations

import logging
import os
import re
from typing import TYPE_CHECKING, Any, Dict, Mapping
from urllib.parse import urljoin

import requests

from pymod.amsexceptions import AmsArgumentException, redact
from pymod.retry import RetryPolicy

if TYPE_CHECKING:
    from pymod.transport import Timeout

__all__ = [
    "RedactTokens",
    "check_port",
    "check_reqkwargs",
    "check_seconds",
    "check_settings",
    "check_timeout",
    "check_token",
    "install_redaction",
    "with_redirect_guard",
]

#: What a token may hold: visible ASCII (no space, no control character), as a header value.
_TOKEN_RE = re.compile(r"[\x21-\x7e]*")


class RedactTokens(logging.Filter):
    """Redact tokens from log records of urllib3, which logs request paths (and so the token in
    ``users:byToken/<token>``) at DEBUG level."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_REDACT_FILTER = RedactTokens()
#: urllib3's loggers (a logger's filter sees only the records logged on that logger itself, not
#: those its children propagate, so each one gets the filter).
URLLIB3_LOGGERS = (  # every module of urllib3 2.x and requests that logs
    "urllib3", "urllib3.connection", "urllib3.connectionpool", "urllib3.poolmanager",
    "urllib3.response", "urllib3.util.retry", "urllib3.http2.connection",
    "urllib3.contrib.pyopenssl", "urllib3.contrib.emscripten.response", "requests",
)


def install_redaction() -> None:
    """Put the token-redacting filter on every urllib3 (and requests) logger, known or loaded."""
    names = set(URLLIB3_LOGGERS)
    names.update(
        name for name in list(logging.Logger.manager.loggerDict)
        if name.startswith(("urllib3.", "requests."))
    )
    for name in names:
        logger = logging.getLogger(name)
        if _REDACT_FILTER not in logger.filters:
            logger.addFilter(_REDACT_FILTER)


def check_port(name: str, port: object) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise AmsArgumentException(f"{name} must be an int between 1 and 65535, got {port!r}")
    return port


def check_seconds(name: str, value: object) -> float:
    if (
        isinstance(value, bool) or not isinstance(value, (int, float))
        or not 0 < value < float("inf")  # also refuses NaN
    ):
        raise AmsArgumentException(
            f"{name} must be a finite number of seconds > 0, got {value!r}"
        )
    return value


def check_timeout(timeout: object) -> Timeout:
    """``timeout`` if it is a valid requests-style timeout: None (wait forever), seconds > 0, or
    a ``(connect, read)`` pair of them (each may be None).

    Raises:
        AmsArgumentException: anything else (-1, 0, NaN, inf, a str, a 1-tuple ...).
    """
    if timeout is None:
        return None
    if isinstance(timeout, tuple):
        if len(timeout) != 2:
            raise AmsArgumentException(
                f"timeout must be seconds or a (connect, read) pair, got {timeout!r}"
            )
        for part, value in zip(("connect", "read"), timeout):
            if value is not None:
                check_seconds(f"timeout ({part})", value)
        return timeout
    return check_seconds("timeout", timeout)


#: ``requests`` keywords a call may pass (``reqkwargs``); the method, URL and body are the
#: route's own.
_REQKWARGS = frozenset((
    "timeout", "verify", "cert", "allow_redirects", "proxies", "stream", "headers", "params",
    "cookies", "auth", "hooks",
))


def check_reqkwargs(reqkwargs: Mapping[str, Any]) -> None:
    """Check the ``requests`` keywords of a call before anything is sent.

    Raises:
        AmsArgumentException: an unknown keyword (or ``data``/``json``/``method``/``url``, which
            the route decides), a bad ``timeout`` (see :func:`check_timeout`), ``headers`` that
            are not a mapping of str to str, ``verify`` neither a bool nor a CA path.
    """
    unknown = set(reqkwargs) - _REQKWARGS
    if unknown:
        raise AmsArgumentException(
            f"unknown keyword argument(s) {', '.join(sorted(unknown))}: a call takes the "
            f"requests keywords {', '.join(sorted(_REQKWARGS))} (and retry, retrysleep, "
            "retrybackoff where documented)"
        )
    if "timeout" in reqkwargs:
        check_timeout(reqkwargs["timeout"])
    headers = reqkwargs.get("headers")
    if headers is not None and (
        not isinstance(headers, Mapping)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    ):
        raise AmsArgumentException("headers must be a dict of str to str")
    verify = reqkwargs.get("verify", True)
    if not isinstance(verify, (bool, str)):
        raise AmsArgumentException(
            f"verify must be True, False or a CA file path, got {type(verify).__name__}"
        )


def check_token(token: object) -> str:
    """``token`` without surrounding whitespace (as read from a file with its newline).

    Raises:
        AmsArgumentException: not a str, or it holds a character that cannot travel in an HTTP
            header (space, control character, non-ASCII, lone surrogate). The message gives the
            position, never the token.
    """
    if not isinstance(token, str):
        raise AmsArgumentException(f"token must be a str, got {type(token).__name__}")
    token = token.strip(" \t\r\n\f\v")
    if _TOKEN_RE.fullmatch(token) is None:
        position = next(i for i, ch in enumerate(token) if not "\x21" <= ch <= "\x7e")
        raise AmsArgumentException(
            f"the token ({len(token)} characters) has a character that is not allowed in an "
            f"HTTP header at position {position}: a token is visible ASCII only"
        )
    return token


def with_redirect_guard(session: requests.Session, kwargs: Mapping[str, Any]) -> Dict[str, Any]:
    """``kwargs`` with a response hook that drops ``x-api-key`` (and ``Authorization``) from
    the next request when a redirect goes to another host or from https to http.

    requests follows a redirect with a copy of the request the hook sees, so removing the
    header there removes it from every later hop; the decision is requests' own
    (``Session.should_strip_auth``), and it holds for any injected session (the client's own
    :class:`_AmsSession` does the same in ``rebuild_auth``). The header is removed from the
    request object that was sent, so ``response.history[i].request`` no longer shows it.
    """

    def guard(response: requests.Response, *args: Any, **hook_kwargs: Any) -> None:
        request = response.request
        if not response.is_redirect or request is None:
            return
        target = session.get_redirect_target(response)
        if target is None:
            return
        new_url = urljoin(request.url or "", target)
        if requests.Session.should_strip_auth(  # type: ignore[no-untyped-call]
            session, request.url or "", new_url
        ):
            request.headers.pop("x-api-key", None)
            request.headers.pop("Authorization", None)

    hooks = dict(kwargs.get("hooks") or {})
    existing = hooks.get("response") or []
    hooks["response"] = [guard, *(existing if isinstance(existing, list) else [existing])]
    return {**kwargs, "hooks": hooks}


def check_settings(
    session: object, verify: object, retry_policy: object, pool_maxsize: object,
    cert: object, key: object,
) -> None:
    """Check the client's transport settings (AmsArgumentException when one is wrong)."""
    for name, value, kinds, expected in (
        ("session", session, (requests.Session, type(None)), "a requests.Session"),
        ("verify", verify, (bool, str, type(None)), "True, False or a CA file path"),
        ("retry_policy", retry_policy, (RetryPolicy, type(None)), "a pymod.RetryPolicy"),
        ("cert", cert, (str, os.PathLike), "a file path"),
        ("key", key, (str, os.PathLike), "a file path"),
    ):
        if not isinstance(value, kinds):
            raise AmsArgumentException(f"{name} must be {expected}, got {type(value).__name__}")
    if isinstance(pool_maxsize, bool) or not isinstance(pool_maxsize, int) or pool_maxsize < 1:
        raise AmsArgumentException(f"pool_maxsize must be an int >= 1, got {pool_maxsize!r}")
