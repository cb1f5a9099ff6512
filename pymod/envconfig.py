"""Client settings from ``AMS_*`` environment variables: one place for their names and checks.

Used by :meth:`pymod.ams.ArgoMessagingService.from_env` and by the ``ams`` command (which puts its
flags on top of the environment first).

===================== ========================================================================
variable              meaning
===================== ========================================================================
``AMS_HOST``          AMS host with an optional port, e.g. ``msg.example.org`` (required)
``AMS_TOKEN``         the AMS token (or ``AMS_TOKEN_FILE``, or ``AMS_CERT`` + ``AMS_KEY``)
``AMS_TOKEN_FILE``    a file holding the token (surrounding whitespace ignored)
``AMS_PROJECT``       the default project (optional: calls then name their project)
``AMS_CA``            CA bundle (PEM file) to verify the server with
``AMS_CERT``          client certificate (PEM) for X.509 login, with ``AMS_KEY``
``AMS_KEY``           the certificate's private key
``AMS_TIMEOUT``       request timeout in seconds (default 30)
``AMS_RETRY``         extra attempts on transient failures for every call (default 0)
``AMS_RETRY_BACKOFF`` first pause of the exponential backoff, seconds (default 1)
===================== ========================================================================

Empty variables count as unset. Errors are :class:`~pymod.amsexceptions.AmsArgumentException`
naming the variable; a token's value never appears in them.
"""

from __future__ import annotations

import math
import os
from typing import Any, Dict, Mapping, Optional

from pymod.amsexceptions import AmsArgumentException
from pymod.retry import RetryPolicy

__all__ = ["ENV_VARS", "client_kwargs", "read_token_file", "retry_policy"]

#: Every variable :func:`client_kwargs` reads.
ENV_VARS = (
    "AMS_HOST", "AMS_TOKEN", "AMS_TOKEN_FILE", "AMS_PROJECT", "AMS_CA", "AMS_CERT", "AMS_KEY",
    "AMS_TIMEOUT", "AMS_RETRY", "AMS_RETRY_BACKOFF",
)


def _get(environ: Mapping[str, str], name: str) -> str:
    return (environ.get(name) or "").strip()


def _existing_file(environ: Mapping[str, str], name: str, what: str) -> str:
    path = _get(environ, name)
    if path and not os.path.isfile(path):
        raise AmsArgumentException(f"{name}: {what} {path!r} does not exist")
    return path


def _number(environ: Mapping[str, str], name: str, *, integer: bool, positive: bool) -> Optional[float]:
    """The number in ``environ[name]`` (None when unset), ``> 0`` if ``positive`` else ``>= 0``."""
    text = _get(environ, name)
    if not text:
        return None
    bound = "> 0" if positive else ">= 0"
    kind = "an integer" if integer else "a number"
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise AmsArgumentException(f"{name} must be {kind} {bound}, got {text!r}") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise AmsArgumentException(f"{name} must be {kind} {bound}, got {text!r}")
    return value


def read_token_file(path: str, name: str = "AMS_TOKEN_FILE") -> str:
    """The token stored in ``path`` (stripped).

    Raises:
        AmsArgumentException: the file cannot be read or is empty (the message names the file,
            never its content).
    """
    try:
        with open(path, encoding="utf-8") as fh:
            token = fh.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise AmsArgumentException(f"{name}: cannot read the token file {path!r}: {reason}") from None
    if not token:
        raise AmsArgumentException(f"{name}: the token file {path!r} is empty")
    return token


def retry_policy(retry: int, backoff: Optional[float] = None) -> RetryPolicy:
    """A client-wide :class:`~pymod.retry.RetryPolicy`: ``retry`` extra attempts, sleeping
    ``backoff * 2**(n-1)`` seconds before attempt ``n + 1`` (``backoff`` None: the policy's
    default; 0: no pause)."""
    if backoff is None:
        return RetryPolicy(retry=retry)
    return RetryPolicy(retry=retry, retrysleep=backoff, retrybackoff=backoff or None)


def client_kwargs(environ: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """The :class:`~pymod.ams.ArgoMessagingService` keyword arguments described by ``environ``
    (default ``os.environ``).

    Returns:
        ``endpoint``, ``token``, ``project``, ``cert``, ``key``, and ``verify``/``timeout``/
        ``retry_policy`` when the matching variable is set.

    Raises:
        AmsArgumentException: ``AMS_HOST`` or every credential is missing, both ``AMS_TOKEN``
            and ``AMS_TOKEN_FILE`` are set, a file does not exist, only one of ``AMS_CERT`` and
            ``AMS_KEY`` is set, or a number is not valid.
    """
    env = os.environ if environ is None else environ
    host = _get(env, "AMS_HOST")
    if not host:
        raise AmsArgumentException(
            "no AMS host: set AMS_HOST to the host with an optional port, e.g. msg.example.org"
        )
    token = _get(env, "AMS_TOKEN")
    token_file = _get(env, "AMS_TOKEN_FILE")
    if token and token_file:
        raise AmsArgumentException("set AMS_TOKEN or AMS_TOKEN_FILE, not both")
    if token_file:
        token = read_token_file(token_file)
    ca = _existing_file(env, "AMS_CA", "CA file")
    cert = _existing_file(env, "AMS_CERT", "certificate")
    key = _existing_file(env, "AMS_KEY", "key")
    if bool(cert) != bool(key):
        raise AmsArgumentException("AMS_CERT and AMS_KEY go together: set both or neither")
    if not token and not cert:
        raise AmsArgumentException(
            "no token: set AMS_TOKEN (or AMS_TOKEN_FILE, or AMS_CERT and AMS_KEY)"
        )
    kwargs: Dict[str, Any] = {
        "endpoint": host, "token": token, "project": _get(env, "AMS_PROJECT"),
        "cert": cert, "key": key,
    }
    if ca:
        kwargs["verify"] = ca
    timeout = _number(env, "AMS_TIMEOUT", integer=False, positive=True)
    if timeout is not None:
        kwargs["timeout"] = timeout
    retry = _number(env, "AMS_RETRY", integer=True, positive=False)
    backoff = _number(env, "AMS_RETRY_BACKOFF", integer=False, positive=False)
    if retry or backoff is not None:
        kwargs["retry_policy"] = retry_policy(int(retry or 0), backoff)
    return kwargs
