"""AmsHttpRequests: the transport under the facade.

It owns one :class:`requests.Session` per client (keep-alive), the ``x-api-key`` header, URL building
through :mod:`pymod.routes`, the default timeout, the mapping of replies to exceptions
(:func:`pymod.amsexceptions.exception_from_reply`) and retries (:class:`pymod.retry.RetryPolicy`).

Requests of the client's own session go straight to the urllib3 connection pool of that session's
adapter (see :meth:`AmsHttpRequests._exchange`); an injected session is used through
``session.request``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from typing import Any, Callable, Dict, Mapping, MutableMapping, Optional, Tuple, TypeVar, Union
from urllib.parse import urlencode

import requests
import requests.adapters
import urllib3
from requests.sessions import merge_setting
from requests.structures import CaseInsensitiveDict

from pymod import wire
from pymod.__version__ import __version__
from pymod.amsexceptions import (
    AmsArgumentException,
    AmsConnectionException,
    AmsDeadlineException,
    AmsException,
    AmsReplyMismatchException,
    AmsResponseException,
    AmsServiceException,
    exception_from_reply,
)
from pymod.bypass import may_bypass_requests, patched_module_function
from pymod.guards import (
    check_port,
    check_reqkwargs,
    check_settings,
    check_timeout,
    check_token,
    install_redaction,
    with_redirect_guard,
)
from pymod.replies import safe_to_repeat
from pymod.retry import RetryPolicy, check_deadline, parse_retry_after
from pymod.routes import AUTHN_ROUTE, Route, format_path, redact_url, resolve_route

__all__ = ["DEFAULT_MAX_REPLY_BYTES", "DEFAULT_TIMEOUT", "AmsHttpRequests", "Timeout"]

log = logging.getLogger("pymod")
install_redaction()  # urllib3 logs request paths, users:byToken/<token> included


#: Seconds to connect and to wait for each read, unless ``timeout=`` says otherwise.
DEFAULT_TIMEOUT = 30.0

#: Largest reply body (bytes, after decompression) read unless ``max_reply_bytes=`` says otherwise:
#: 256 MiB, far above AMS's largest reply (a pull of 100 messages of the 1.5 MB maximum is 150 MB).
DEFAULT_MAX_REPLY_BYTES = 256 * 1024 * 1024

Timeout = Union[float, Tuple[float, float], None]
#: A reply check: takes the decoded 200 reply, returns what the call returns, or raises
#: :class:`~pymod.amsexceptions.AmsReplyMismatchException` (see :mod:`pymod.replies`).
ReplyCheck = Callable[[Dict[str, Any]], Any]
_Client = TypeVar("_Client", bound="AmsHttpRequests")

_HOST_RE = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::([0-9]{1,5}))?")

#: reqkwargs that the direct path handles; any other keyword takes ``session.request``.
_DIRECT_KWARGS = frozenset(("timeout", "verify", "cert", "allow_redirects", "proxies", "stream"))
_CACHE_MAX = 256
#: ``json.dumps(obj, separators=(",", ":"))`` without building a new encoder per call.
#: NaN and infinities are refused: they are not JSON, and AMS could not read the body.
COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def _json_body(body: Any) -> str:
    """``body`` as compact JSON.

    Raises:
        AmsArgumentException: a value JSON cannot hold (bytes, an object, NaN, a cycle ...).
    """
    try:
        return COMPACT_JSON.encode(body)
    except (TypeError, ValueError, RecursionError) as exc:
        raise AmsArgumentException(f"the request body cannot be sent as JSON: {exc}") from None


class _AmsSession(requests.Session):
    """The session a client owns: like :class:`requests.Session`, but a redirect to another host
    (only followed when a caller passes ``allow_redirects=True``) drops ``x-api-key`` as well as
    ``Authorization``, so the token never leaves for a host it was not meant for."""

    def rebuild_auth(self, prepared_request: requests.PreparedRequest,
                     response: requests.Response) -> None:
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]
        if self.should_strip_auth(  # type: ignore[no-untyped-call]
            response.request.url or "", prepared_request.url or ""
        ):
            prepared_request.headers.pop("x-api-key", None)


def ca_bundle_from_env(verify: Union[bool, str, None]) -> Union[bool, str, None]:
    """``verify`` as ``requests.get(..., verify=verify)`` resolves it: True (or None) becomes the
    CA bundle named by ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` when one is set (read now, as
    requests reads it on every call); a path or False is kept."""
    if verify is True or verify is None:
        return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or verify
    return verify


def _check_endpoint(endpoint: object) -> str:
    match = _HOST_RE.fullmatch(endpoint) if isinstance(endpoint, str) else None
    if match is None or not (match.group(2) is None or 1 <= int(match.group(2)) <= 65535):
        raise AmsArgumentException(
            f"invalid endpoint {endpoint!r}: expected a host name with an optional port "
            "(1-65535), such as 'msg.example.org' or '127.0.0.1:8443' (no scheme, no path)"
        )
    return endpoint  # type: ignore[return-value]


def _bare_host(endpoint: str) -> str:
    match = _HOST_RE.fullmatch(endpoint)
    assert match is not None
    return match.group(1)


class AmsHttpRequests:
    """HTTP transport of the AMS client.

    Args:
        endpoint: AMS host, optionally with a port (``"msg.example.org"``, ``"127.0.0.1:8443"``).
        authn_port: port of the X.509 authentication service that exchanges a certificate for a token.
        token: the AMS token sent as ``x-api-key``.
        cert: path of a client certificate (PEM), used only when no token is given.
        key: path of its private key.

    Keyword Args:
        session: a :class:`requests.Session` to use (its adapters, proxies and settings are left as
            they are); by default the client makes and owns one, closed by :meth:`close`.
        timeout: default ``timeout`` of every request (seconds, or ``(connect, read)``); a per-call
            ``timeout=`` in ``reqkwargs`` wins. Default :data:`DEFAULT_TIMEOUT`.
        verify: TLS verification: True (default: the CA bundle from ``REQUESTS_CA_BUNDLE`` /
            ``CURL_CA_BUNDLE`` if set, else the system bundle), a CA file path, or False (warned).
        retry_policy: the :class:`~pymod.retry.RetryPolicy` (caps, jitter, sleep function).
        pool_maxsize: connections kept per host, for clients shared by several threads.
        max_reply_bytes: largest reply body read, in bytes after decompression (default
            :data:`DEFAULT_MAX_REPLY_BYTES`, 256 MiB); a longer reply raises
            :class:`~pymod.amsexceptions.AmsReplyTooLargeException` without being kept.

    Deadlines: every attempt of a call ends within its connect + read timeout (``2 * timeout``
    for a single number) even when the peer sends a byte just before each read timeout; the
    whole call, retries and sleeps included, also ends within ``deadline`` seconds when one is
    set: per call (``deadline=`` keyword of any method) or for the client
    (``RetryPolicy(deadline=...)``). Past it the call raises
    :class:`~pymod.amsexceptions.AmsDeadlineException`. A method that makes several requests (a
    split publish, ``pullack_sub``, a lookup before the request as argo-ams-library made it)
    applies the deadline to each request.
    """

    def __init__(
        self,
        endpoint: str,
        authn_port: int,
        token: str = "",
        cert: str = "",
        key: str = "",
        *,
        session: Optional[requests.Session] = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        verify: Union[bool, str, None] = None,
        retry_policy: Optional[RetryPolicy] = None,
        pool_maxsize: int = 16,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
    ) -> None:
        self.endpoint = _check_endpoint(endpoint)
        if isinstance(max_reply_bytes, bool) or not isinstance(max_reply_bytes, int) or (
            max_reply_bytes < 1
        ):
            raise AmsArgumentException(
                f"max_reply_bytes must be an int >= 1, got {max_reply_bytes!r}"
            )
        self.max_reply_bytes = max_reply_bytes
        self.authn_port = check_port("authn_port", authn_port)
        self.timeout = check_timeout(timeout)
        check_settings(session, verify, retry_policy, pool_maxsize, cert, key)
        self.retry_policy = retry_policy or RetryPolicy()
        self._base_url = f"https://{self.endpoint}/v1"
        self._own_session = session is None
        if session is None:
            session = _AmsSession()
            adapter = wire.GuardedAdapter(
                pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0
            )
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self._session = session
        # for _exchange's direct path: (connection pool, path) by (URL, verify, cert); the headers
        # to send by (our headers, the session's); urllib3 timeouts by requests-style timeout
        self._targets: Dict[Tuple[str, Any, Any], Tuple[Any, str]] = {}
        self._wire_headers: Dict[Any, Dict[str, str]] = {}
        self._timeouts: Dict[Any, urllib3.Timeout] = {}
        self._defaults = self._resolve_defaults(verify)
        self._headers: Dict[str, str] = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"pymod/{__version__}",
        }
        self.token = ""
        self.assign_token(token, cert, key)

    # ----------------------------------------------------------------------------------------
    # settings resolved once per client
    # ----------------------------------------------------------------------------------------
    def _resolve_defaults(self, verify: Union[bool, str, None]) -> Dict[str, Any]:
        """The per-request keyword defaults (timeout, verify, proxies), computed once.

        ``requests`` would otherwise look up proxies, ``NO_PROXY`` and the CA bundle in the
        environment (and read ``~/.netrc``) on every request. For a session the client owns, that
        lookup is done here once for the AMS endpoint and the session stops repeating it; the same
        environment variables are honoured.
        """
        defaults: Dict[str, Any] = {"timeout": self.timeout, "allow_redirects": False}
        if not self._own_session:
            if verify is not None:
                defaults["verify"] = verify
                self._warn_unverified(verify)
            return defaults
        env = self._session.merge_environment_settings(
            self._base_url, proxies={}, stream=None, verify=verify, cert=None
        )
        self._session.trust_env = False
        defaults["verify"] = env["verify"]
        defaults["proxies"] = env["proxies"]
        self._warn_unverified(env["verify"])
        return defaults

    _warned_unverified = False

    def _warn_unverified(self, verify: object) -> None:
        """Log once per client that TLS verification is off (client setting or a call's)."""
        if verify is False and not self._warned_unverified:
            self._warned_unverified = True
            log.warning(
                "TLS certificate verification is disabled (verify=False) for %s: "
                "anyone on the path can read and change the traffic, token included",
                self.endpoint,
            )

    # ----------------------------------------------------------------------------------------
    # token
    # ----------------------------------------------------------------------------------------
    @property
    def token(self) -> str:
        """The AMS token (sent as ``x-api-key``; never logged or shown in ``repr``)."""
        return self._token

    @token.setter
    def token(self, value: str) -> None:
        """Surrounding whitespace is stripped; see :func:`check_token` for what is refused."""
        value = check_token(value)
        self._token = value
        headers = getattr(self, "_headers", None)
        if headers is not None:
            if value:
                headers["x-api-key"] = value
            else:
                headers.pop("x-api-key", None)

    def assign_token(self, token: str, cert: str, key: str) -> None:
        """Use ``token``, or obtain one with the certificate ``cert``/``key`` (see
        :meth:`auth_via_cert`).

        Args:
            token: a valid AMS token, or ``""``.
            cert: path to a certificate file (PEM), used when ``token`` is empty.
            key: path to the certificate's private key.

        Raises:
            AmsServiceException: neither a token nor a certificate was given (code 400), or the
                authentication service refused the certificate.
            AmsConnectionException: a certificate or key file does not exist (as
                argo-ams-library: ``requests`` cannot load it), or the service is unreachable.
        """
        token = check_token(token)
        if token:
            self.token = token
            return
        self.token = self.auth_via_cert(cert, key)

    def auth_via_cert(self, cert: str, key: str, **reqkwargs: Any) -> str:
        """Exchange an X.509 certificate for an AMS token.

        Calls ``GET https://{host}:{authn_port}/v1/service-types/ams/hosts/{host}:authx509`` with
        TLS client authentication. The client's ``verify``/``timeout`` settings apply, and
        ``reqkwargs`` are passed to ``requests``.

        Args:
            cert: path to the certificate (PEM).
            key: path to its private key (PEM).

        Returns:
            str: the token.

        Raises:
            AmsServiceException: no certificate given (code 400), the service refused it, or its
                reply has no ``token``.
            AmsConnectionException: ``cert`` or ``key`` does not name an existing file, or the
                authentication service could not be reached.
        """
        if not (cert and key):
            raise AmsServiceException(
                {
                    "error": {
                        "code": 400,
                        "message": "No certificate provided. No token provided.",
                    }
                },
                AUTHN_ROUTE.name,
            )
        host = _bare_host(self.endpoint)
        url = f"https://{host}:{self.authn_port}" + AUTHN_ROUTE.path.format(host=host)
        reply = self._retry_make_request(
            url, route_name=AUTHN_ROUTE.name, cert=(cert, key), **reqkwargs
        )
        token = reply.get("token") if isinstance(reply, dict) else None
        if not isinstance(token, str) or not token:
            raise AmsServiceException(
                {"error": {"code": 500, "message": "Token was not found in the authn reply"}},
                AUTHN_ROUTE.name,
            )
        try:
            return check_token(token)
        except AmsArgumentException as exc:
            raise AmsResponseException(
                {"error": {"code": 200, "message": f"the authn reply's token is unusable: {exc}"}},
                AUTHN_ROUTE.name,
            ) from None

    # ----------------------------------------------------------------------------------------
    # requests
    # ----------------------------------------------------------------------------------------
    def url_for(
        self, route_name: str, query: Optional[Mapping[str, Any]] = None, **params: Any
    ) -> str:
        """The full URL of route ``route_name`` with path variables ``params``.

        Every variable is validated against the AMS name rule and quoted
        (:func:`pymod.routes.format_path`); ``query`` items whose value is None are left out.

        Raises:
            AmsArgumentException: unknown route, or an invalid name.
        """
        if not isinstance(route_name, str):
            raise AmsArgumentException("route_name must be a str")
        url = self._base_url + format_path(resolve_route(route_name), params)
        if query:
            items = {k: v for k, v in query.items() if v is not None}
            if items:
                url += "?" + urlencode(items)
        return url

    def _make_request(
        self,
        url: str,
        body: Any = None,
        route_name: Optional[str] = None,
        *,
        check: Optional[ReplyCheck] = None,
        deadline: Optional[float] = None,
        **reqkwargs: Any,
    ) -> Any:
        """One HTTP request; the decoded JSON reply (``{}`` for an empty body), or what
        ``check(reply)`` returns.

        Args:
            check: validates a 200 reply against the request (:mod:`pymod.replies`) before it
                counts; the connection is discarded when it raises.
            deadline: ``time.monotonic()`` by which the call must end (see the class docstring).

        Raises:
            AmsServiceException (and subclasses): the reply was not 200.
            AmsConnectionException: no usable reply; AmsDeadlineException past the deadline.
            AmsResponseException: a 200 whose body is not a JSON object
                (AmsReplyMismatchException) or is too large (AmsReplyTooLargeException).
        """
        if not isinstance(route_name, str):
            raise AmsArgumentException("route_name is required (a str)")
        route = resolve_route(route_name)
        data: Optional[Union[str, bytes]] = (
            body if body is None or isinstance(body, (str, bytes)) else _json_body(body)
        )
        headers: MutableMapping[str, str] = self._headers
        extra = reqkwargs.pop("headers", None)
        if extra or route is AUTHN_ROUTE:
            headers = {**headers, **(extra or {})}
            if route is AUTHN_ROUTE:
                headers.pop("x-api-key", None)
        kwargs = self._defaults
        if reqkwargs:
            kwargs = {**kwargs, **reqkwargs}
            verify = reqkwargs.get("verify")
            if verify is False:
                self._warn_unverified(False)
            elif verify is True and self._own_session:
                kwargs["verify"] = ca_bundle_from_env(True)
        debug = log.isEnabledFor(logging.DEBUG)
        start = time.perf_counter() if debug else 0.0
        now = time.monotonic()
        limit = wire.attempt_deadline(kwargs.get("timeout"), deadline, now)
        if limit is not None and limit <= now:
            raise AmsDeadlineException(TimeoutError("the call's deadline has passed"), route.name)
        raw = None
        failure: Optional[AmsException] = None
        wire.begin_attempt(limit)
        try:
            status, content, raw = self._exchange(route.method, url, data, headers, kwargs,
                                                  route.name)
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if debug:
                log.debug("%s %s -> %s", route.method, redact_url(url), type(exc).__name__)
            if limit is not None and time.monotonic() >= limit:
                failure = AmsDeadlineException(
                    TimeoutError(f"no complete reply within {limit - now:.3g} s"), route.name
                )
            else:
                failure = AmsConnectionException(exc, route.name)
        finally:
            wire.end_attempt()
        if failure is not None:  # raised here, so that no __context__ keeps the raw error
            raise failure from None
        if debug:
            log.debug(
                "%s %s -> %d (%d bytes, %.1f ms)", route.method, redact_url(url), status,
                len(content), (time.perf_counter() - start) * 1000,
            )
        reuse = False
        try:
            self._check_connection(raw, route, url, status, content)
            if status != 200:
                error = exception_from_reply(status, content.decode("utf-8", "replace"),
                                             route.name)
                if raw is not None and status in (429, 503):
                    error.retry_after = parse_retry_after(raw.headers.get("Retry-After"))
                reuse = True
                raise error
            decoded = self._decode(content, route)
            result = check(decoded) if check is not None else decoded
            reuse = True
            return result
        finally:
            wire.release(raw, reuse, checked=True)

    @staticmethod
    def _decode(content: bytes, route: Route) -> Dict[str, Any]:
        """A 200 body as the JSON object every AMS reply is (``{}`` when empty)."""
        if not content:
            return {}
        try:
            decoded = json.loads(content)
        except (ValueError, RecursionError):  # not JSON, or nested too deeply to decode
            decoded = None
        if not isinstance(decoded, dict):
            raise AmsReplyMismatchException(
                "the reply is not a JSON object", route.name,
                retryable=safe_to_repeat(route),
                body=content[:4096].decode("utf-8", "replace"),
            )
        return decoded

    @staticmethod
    def _check_connection(raw: Any, route: Route, url: str, status: int, content: bytes) -> None:
        """Refuse a reply that may be another request's, judging by its connection.

        * More bytes already followed it on the connection (unless the reply announced
          ``Connection: close``): either it is a late duplicate of an earlier reply and this
          request's reply is what follows, or it was sent twice.
        * A 200 publish reply byte-identical to the previous publish reply read on the
          connection for the same URL (the same topic): AMS never gives the same ids twice for a
          topic, so it is that earlier reply sent twice. Two topics may well be at the same
          offsets (every new topic's first id is ``"0"``), so replies for other URLs are not
          compared.

        Raises:
            AmsReplyMismatchException: retryable when the request is safe to repeat; the
                connection is then closed by the caller.
        """
        conn = getattr(raw, "connection", None)
        if conn is None:
            return
        if wire.has_unread(conn) and raw.headers.get("Connection", "").lower() != "close":
            raise AmsReplyMismatchException(
                "more bytes followed the reply on its connection: it may answer another "
                "request", route.name,
                retryable=safe_to_repeat(route),
            )
        if route.name != "topics:publish":
            return
        last = getattr(conn, "_pymod_last_publish", None)
        conn._pymod_last_publish = (url, content)
        if status == 200 and last == (url, content):
            raise AmsReplyMismatchException(
                "the reply repeats the previous reply of this connection", route.name
            )

    def _exchange(
        self, method: str, url: str, data: Optional[Union[str, bytes]],
        headers: Mapping[str, str], kwargs: Mapping[str, Any], route: str,
    ) -> Tuple[int, bytes, Any]:
        """Send one request and read its reply (at most ``max_reply_bytes``); its status, body
        and the urllib3 response still holding its connection (None if there is none), for
        :func:`pymod.wire.release`.

        For the session the client owns, in the state the client left it (no proxies, hooks,
        auth, cookies or replaced adapter) and with only the keywords listed in
        ``_DIRECT_KWARGS``, the request goes straight to the urllib3 connection pool of the
        session's adapter, as ``HTTPAdapter.send`` would send it: same pool (keep-alive, TLS
        settings from ``verify``/``cert``), same headers, no redirects, no retries inside urllib3.
        That skips the per-request work of ``Session.request`` and ``HTTPAdapter.send`` (merging
        settings, preparing the request, building a ``Response``): about 130 us per request,
        half of the client's CPU for a small request (benchmarks/README.md). Everything else --
        an injected session included, and any hook of a mocking library
        (:func:`pymod.bypass.may_bypass_requests`) -- goes through ``session.request``
        (streamed, so that the body is read as here).

        Raises:
            requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError: no
                usable reply (mapped to AmsConnectionException by the caller).
            AmsReplyTooLargeException: the body exceeds ``max_reply_bytes``.
        """
        target = self._direct_target(url, kwargs)
        if target is None:
            patched = patched_module_function(method)
            if patched is not None:  # requests.post & co. replaced by a test: call it
                resp = patched(url, data=data, headers=headers, **kwargs)
                return resp.status_code, resp.content, None
            if kwargs.get("allow_redirects") and not isinstance(self._session, _AmsSession):
                kwargs = with_redirect_guard(self._session, kwargs)
            resp = self._session.request(method, url, data=data, headers=headers,
                                         **{**kwargs, "stream": True})
            raw = resp.raw
            if getattr(resp, "_content_consumed", False) or not isinstance(raw, urllib3.BaseHTTPResponse):
                return resp.status_code, resp.content, None  # read by a hook or an odd adapter
            wire.watch_reply(raw.connection)
            return resp.status_code, self._read(raw, route), raw
        pool, path = target
        # as requests: no body is an empty body (Content-Length: 0), except for GET and HEAD
        body = data or (None if method in ("GET", "HEAD") else b"")
        raw = pool.urlopen(
            method, path, body=body, headers=self._headers_for(headers),
            timeout=self._timeout_for(kwargs.get("timeout")), retries=False, redirect=False,
            assert_same_host=False, preload_content=False, decode_content=False,
        )
        return raw.status, self._read(raw, route), raw

    def _read(self, raw: Any, route: str) -> bytes:
        """The body of ``raw``, bounded (:func:`pymod.wire.read_body`); the connection is
        closed if reading fails."""
        try:
            return wire.read_body(raw, self.max_reply_bytes, route)
        except BaseException:
            wire.release(raw, False)
            raise

    def _direct_target(self, url: str, kwargs: Mapping[str, Any]) -> Optional[Tuple[Any, str]]:
        """The (urllib3 pool, path) to send ``url`` to directly, or None for ``session.request``."""
        session = self._session
        if not (
            self._own_session
            and _DIRECT_KWARGS.issuperset(kwargs)
            and not kwargs.get("allow_redirects")
            and not kwargs.get("proxies")
            and not kwargs.get("stream")
            and not session.trust_env
            and not session.proxies
            and not session.params
            and not session.stream
            and session.cert is None
            and session.auth is None
            and not session.hooks["response"]
            and not len(session.cookies)
        ):
            return None
        adapter = session.get_adapter(url)
        if not isinstance(adapter, requests.adapters.HTTPAdapter) or not may_bypass_requests(
            session, adapter, _AmsSession
        ):
            return None
        verify, cert = kwargs.get("verify", True), kwargs.get("cert")
        try:
            key = (url, verify, cert)
            target = self._targets.get(key)
        except TypeError:  # an unhashable verify/cert
            return None
        if target is None or target[0].pool is None:  # unknown, or closed by the pool manager
            prepared = requests.PreparedRequest()
            prepared.prepare_url(url, None)
            pool = adapter.get_connection_with_tls_context(prepared, verify, None, cert)
            adapter.cert_verify(pool, url, verify, cert)  # type: ignore[no-untyped-call]
            target = (pool, prepared.path_url)
            if len(self._targets) >= _CACHE_MAX:
                self._targets.clear()
            self._targets[key] = target
        return target

    def _headers_for(self, headers: Mapping[str, str]) -> Dict[str, str]:
        """``headers`` over the session's, as ``Session.request`` merges them (cached)."""
        key = (tuple(headers.items()), tuple(self._session.headers.items()))
        merged = self._wire_headers.get(key)
        if merged is None:
            merged = dict(merge_setting(  # type: ignore[no-untyped-call]
                headers, self._session.headers, dict_class=CaseInsensitiveDict
            ))
            if len(self._wire_headers) >= _CACHE_MAX:
                self._wire_headers.clear()
            self._wire_headers[key] = merged
        return merged

    def _timeout_for(self, timeout: Any) -> urllib3.Timeout:
        """A requests-style timeout (seconds, ``(connect, read)`` or None) for urllib3 (cached)."""
        found = self._timeouts.get(timeout)
        if found is None:
            connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
            if len(self._timeouts) >= _CACHE_MAX:
                self._timeouts.clear()
            found = self._timeouts[timeout] = urllib3.Timeout(connect=connect, read=read)
        return found

    def _retry_make_request(
        self,
        url: str,
        body: Any = None,
        route_name: Optional[str] = None,
        retry: int = 0,
        retrysleep: float = 60,
        retrybackoff: Optional[float] = None,
        *,
        check: Optional[ReplyCheck] = None,
        policy: Optional[RetryPolicy] = None,
        **reqkwargs: Any,
    ) -> Any:
        """:meth:`_make_request`, retried on transient failures, within the call's deadline.

        Args:
            url: the full URL.
            body: dict/list (sent as JSON), a JSON ``str``/``bytes``, or None.
            route_name: the route id (``"topics:publish"``) or a legacy route name.
            retry: extra attempts after the first one (0 = the client's ``retry_policy``, which by
                default retries nothing).
            retrysleep: seconds to sleep between attempts.
            retrybackoff: if set, sleep ``retrybackoff * 2**(n-1)`` before attempt ``n+1`` instead.
            check: the reply check of the route (see :meth:`_make_request`), run on every attempt.
            policy: the retry policy to use instead of the client's ``retry_policy`` (a
                :class:`pymod.Publisher` may have its own).
            reqkwargs: ``deadline`` (seconds for the whole call; default the retry policy's
                ``deadline``, else none beyond each attempt's timeouts), and keywords passed to
                ``requests`` (``timeout``, ``verify``, ``headers``, ``cert`` ...).

        Returns:
            the decoded JSON reply (``{}`` for an empty body), or what ``check`` returns.

        Raises:
            AmsException: see :meth:`_make_request`; transient errors only after the last attempt.
            AmsArgumentException: an invalid ``deadline`` (nothing sent).
        """
        seconds = reqkwargs.pop("deadline", None)
        if reqkwargs:
            check_reqkwargs(reqkwargs)
        policy = policy or self.retry_policy
        if seconds is None:
            seconds = policy.deadline
        end = None if seconds is None else time.monotonic() + check_deadline(seconds)
        retry, retrysleep, retrybackoff = policy.resolve(retry, retrysleep, retrybackoff)
        if not retry:
            return self._make_request(url, body, route_name, check=check, deadline=end,
                                      **reqkwargs)
        return policy.run(
            lambda: self._make_request(url, body, route_name, check=check, deadline=end,
                                       **reqkwargs),
            retry, retrysleep, retrybackoff, what=route_name or "request", deadline=end,
        )

    def do_get(self, url: str, route_name: str, **reqkwargs: Any) -> Any:
        """GET ``url`` for route ``route_name``; the decoded reply (``{}`` when empty)."""
        return self._retry_make_request(url, None, route_name, **reqkwargs)

    def do_post(
        self,
        url: str,
        body: Any,
        route_name: str,
        retry: int = 0,
        retrysleep: float = 60,
        retrybackoff: Optional[float] = None,
        **reqkwargs: Any,
    ) -> Any:
        """POST ``body`` (JSON) to ``url`` for route ``route_name``; the decoded reply."""
        return self._retry_make_request(
            url, body, route_name, retry, retrysleep, retrybackoff, **reqkwargs
        )

    def do_put(self, url: str, body: Any, route_name: str, **reqkwargs: Any) -> Any:
        """PUT ``body`` (JSON) to ``url`` for route ``route_name``; the decoded reply."""
        return self._retry_make_request(url, body, route_name, **reqkwargs)

    def do_delete(
        self,
        url: str,
        route_name: str,
        retry: int = 0,
        retrysleep: float = 60,
        retrybackoff: Optional[float] = None,
        **reqkwargs: Any,
    ) -> Any:
        """DELETE ``url`` for route ``route_name``; the decoded reply (``{}`` when empty)."""
        return self._retry_make_request(
            url, None, route_name, retry, retrysleep, retrybackoff, **reqkwargs
        )

    def _call(
        self,
        route_name: str,
        body: Any = None,
        query: Optional[Mapping[str, Any]] = None,
        *,
        params: Mapping[str, Any],
        check: Optional[ReplyCheck] = None,
        **reqkwargs: Any,
    ) -> Any:
        """Build the URL of ``route_name`` from ``params``/``query`` and make the request.

        ``reqkwargs`` may hold ``retry``/``retrysleep``/``retrybackoff``/``deadline`` and
        ``requests`` keywords; ``check`` validates the reply (:mod:`pymod.replies`).
        """
        url = self.url_for(route_name, query, **params)
        return self._retry_make_request(url, body, route_name, check=check, **reqkwargs)

    # ----------------------------------------------------------------------------------------
    # lifetime
    # ----------------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the HTTP session if the client created it (an injected session is left open)."""
        if self._own_session:
            self._session.close()

    def __enter__(self: _Client) -> _Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self.endpoint!r})"

