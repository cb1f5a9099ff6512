"""The AMS client: :class:`ArgoMessagingService` (the facade) and :class:`AmsHttpRequests` (transport).

Example::

    from pymod import ArgoMessagingService, AmsMessage

    with ArgoMessagingService(endpoint="msg.example.org", token="...", project="DEMO") as ams:
        ams.publish("alerts", AmsMessage(data="disk full", attributes={"host": "node7"}))
        for ack_id, msg in ams.pull_sub("alerts-sub", num=10, return_immediately=True):
            ...

The facade is composed of one part per kind of resource (:mod:`pymod.facade`); this module is the
one entry point.
"""

from __future__ import annotations

# ``mock.patch("argo_ams_library.ams.time.sleep")`` / ``...ams.requests.post`` in tests written for
# the original library resolve through these module attributes.
import time  # noqa: F401

import requests  # noqa: F401

from pymod.facade.accounts import AccountsAPI
from pymod.facade.base import MAX_MESSAGE_BYTES, JSONDict
from pymod.facade.service import ServiceAPI
from pymod.facade.subscriptions import SubscriptionsAPI
from pymod.facade.topics import PublishInput
from pymod.transport import DEFAULT_TIMEOUT, AmsHttpRequests

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_MESSAGE_BYTES",
    "AmsHttpRequests",
    "ArgoMessagingService",
    "JSONDict",
    "PublishInput",
]


class ArgoMessagingService(SubscriptionsAPI, AccountsAPI, ServiceAPI):
    """Entry point of the client: one method per AMS API call.

    Args:
        endpoint: AMS host, optionally with ``:port`` (no scheme, no path).
        token: the AMS token. If empty, ``cert``/``key`` are exchanged for one at the
            authentication service (see ``authn_port``); with neither, AmsServiceException (400).
        project: the default project of every project-scoped call.
        cert: path of an X.509 client certificate (PEM), used only without ``token``.
        key: path of the certificate's private key.
        authn_port: port of the authentication service (default 8443).

    Keyword Args:
        session: a :class:`requests.Session` to use instead of the client's own.
        timeout: default request timeout in seconds (or ``(connect, read)``); default 30.
        verify: True (default; honours ``REQUESTS_CA_BUNDLE``), a CA bundle path, or False.
        retry_policy: a :class:`pymod.retry.RetryPolicy`: sleep cap, jitter, sleep function, and
            the client-wide ``retry`` used by every call that passes no ``retry`` of its own.
        pool_maxsize: kept-alive connections per host (raise it for many threads).
        max_message_bytes: refuse messages larger than this once stored (default 1,500,000).
        max_request_bytes: split publishes into requests of at most this many bytes.
        max_request_messages: split publishes into requests of at most this many messages.
        max_reply_bytes: refuse replies larger than this (bytes after decompression; default
            256 MiB) with AmsReplyTooLargeException.

    Deadlines: an attempt ends within connect + read timeout (``2 * timeout``), however slowly
    the server sends; a call with ``deadline=`` (seconds, any method) or a client with
    ``RetryPolicy(deadline=...)`` ends within that too, retries and sleeps included
    (AmsDeadlineException).

    The client keeps one HTTP session (keep-alive); close it with :meth:`close` or use the client
    as a context manager. It may be shared by threads.

    Raises:
        AmsArgumentException: an invalid endpoint, project or setting.
        AmsServiceException: no token and no certificate, or the certificate was refused.
    """
