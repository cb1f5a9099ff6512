"""AmsHttpRequests: the transport under the facade.

It owns one :class:`requests.Session` per client (keep-alive), the ``x-api-key`` header, URL building
through :mod:`pymod.routes`, the default timeout, the mapping of replies to exceptions
(:func:`pymod.amsexceptions.exception_from_reply`) and retries (:class:`pymod.retry.RetryPolicy`).
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import time
from datetime import timedelta
from typing import Any, Dict, Mapping, MutableMapping, Optional, Tuple, TypeVar, Union
from urllib.parse import urlencode

import requests
import requests.adapters
from requests.cookies import RequestsCookieJar, extract_cookies_to_jar
from requests.models import PreparedRequest
from requests.sessions import merge_hooks, merge_setting
from requests.structures import CaseInsensitiveDict

from pymod.__version__ import __version__
from pymod.amsexceptions import (
    AmsArgumentException,
    AmsConnectionException,
    AmsResponseException,
    AmsServiceException,
    exception_from_reply,
    redact,
)
from pymod.retry import RetryPolicy
from pymod.routes import AUTHN_ROUTE, format_path, redact_url, resolve_route

__all__ = ["DEFAULT_TIMEOUT", "AmsHttpRequests", "Timeout"]

log = logging.getLogger("pymod")


class _RedactTokens(logging.Filter):
    """Redact tokens from log records of urllib3, which logs request paths (and so the token in
    ``users:byToken/<token>``) at DEBUG level."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactTokens())

#: Seconds to connect and to wait for each read, unless ``timeout=`` says otherwise.
DEFAULT_TIMEOUT = 30.0

Timeout = Union[float, Tuple[float, float], None]
_Client = TypeVar("_Client", bound="AmsHttpRequests")

_HOST_RE = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?")

# The fast path of _send (see there) stands in for these two methods; a session whose class
# replaces them (or a test that patches them) takes the ordinary path.
_SESSION_REQUEST = requests.Session.request
_SESSION_PREPARE = requests.Session.prepare_request
_SESSION_MERGE_ENV = requests.Session.merge_environment_settings
_SESSION_SEND = requests.Session.send
# reqkwargs the fast path handles exactly as Session.request does; any other takes the ordinary path.
_FAST_KWARGS = frozenset(("timeout", "allow_redirects", "proxies", "stream", "verify", "cert"))
_CACHE_MAX = 256
#: ``json.dumps(obj, separators=(",", ":"))`` without building a new encoder per call.
_COMPACT = json.JSONEncoder(separators=(",", ":"))


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


def _check_endpoint(endpoint: object) -> str:
    if not isinstance(endpoint, str) or _HOST_RE.fullmatch(endpoint) is None:
        raise AmsArgumentException(
            f"invalid endpoint {endpoint!r}: expected a host name with an optional port, "
            "such as 'msg.example.org' or '127.0.0.1:8443' (no scheme, no path)"
        )
    return endpoint


def _bare_host(endpoint: str) -> str:
    match = _HOST_RE.fullmatch(endpoint)
    assert match is not None
    return match.group(1)


class _PoolCachingAdapter(requests.adapters.HTTPAdapter):
    """The HTTPAdapter of the sessions the client makes: it remembers the urllib3 connection
    pool of each (origin, ``verify``, ``cert``).

    ``HTTPAdapter.get_connection_with_tls_context`` parses the URL, looks at the CA path on disk
    and normalises a pool key on every request (~50 us per request measured, benchmarks/README.md);
    the answer only changes when the pool manager drops the pool, which closes it. Requests with
    proxies take the ordinary path.
    """

    def get_connection_with_tls_context(
        self, request: requests.PreparedRequest, verify: Any, proxies: Any = None,
        cert: Any = None,
    ) -> Any:
        url = request.url
        if proxies or not isinstance(url, str):
            return super().get_connection_with_tls_context(request, verify, proxies, cert)
        end = url.find("/", url.find("//") + 2)
        try:
            key = (url if end < 0 else url[:end], verify, cert)
            cache = self.__dict__.setdefault("_pymod_pools", {})
            pool = cache.get(key)
        except TypeError:  # an unhashable verify/cert
            return super().get_connection_with_tls_context(request, verify, proxies, cert)
        if pool is None or pool.pool is None:  # unknown, or closed by the pool manager
            pool = super().get_connection_with_tls_context(request, verify, proxies, cert)
            if len(cache) >= _CACHE_MAX:
                cache.clear()
            cache[key] = pool
        return pool

    def close(self) -> None:
        self.__dict__.pop("_pymod_pools", None)
        super().close()


class AmsHttpRequests:
    """HTTP transport of the AMS client.

    Args:
        endpoint: AMS host, optionally with a port (``"msg.example.org"``, ``"127.0.0.1:8443"``).
        authn_port: port of the x509 authentication service (spec section 11).
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
    ) -> None:
        self.endpoint = _check_endpoint(endpoint)
        self.authn_port = authn_port
        self.timeout = timeout
        self.retry_policy = retry_policy or RetryPolicy()
        self._base_url = f"https://{self.endpoint}/v1"
        self._own_session = session is None
        if session is None:
            session = _AmsSession()
            adapter = _PoolCachingAdapter(
                pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0
            )
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self._session = session
        # prepared URL by raw URL, and prepared headers by (session headers, our headers): see _send
        self._url_cache: Dict[str, str] = {}
        self._header_cache: Dict[Any, CaseInsensitiveDict[Any]] = {}
        self._env_cache: Dict[Any, Dict[str, Any]] = {}
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
        if not isinstance(value, str):
            raise AmsArgumentException(f"token must be a str, got {type(value).__name__}")
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
            AmsArgumentException: a certificate or key path does not exist.
        """
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
            AmsArgumentException: ``cert`` or ``key`` does not name an existing file.
            AmsConnectionException: the authentication service could not be reached.
        """
        if not (cert and key):
            raise AmsServiceException(
                {
                    "error": {
                        "code": 400,
                        "message": "No certificate provided. No token provided.",
                        "status": "BAD_REQUEST",
                    }
                },
                AUTHN_ROUTE.name,
            )
        for what, path in (("certificate", cert), ("key", key)):
            if not os.path.isfile(path):
                raise AmsArgumentException(f"{what} file {path!r} does not exist")
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
        return token

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
        url = self._base_url + format_path(resolve_route(route_name), params)
        if query:
            items = {k: v for k, v in query.items() if v is not None}
            if items:
                url += "?" + urlencode(items)
        return url

    def _make_request(
        self, url: str, body: Any = None, route_name: Optional[str] = None, **reqkwargs: Any
    ) -> Any:
        """One HTTP request; the decoded JSON reply (``{}`` for an empty body).

        Raises:
            AmsServiceException (and subclasses): the reply was not 200.
            AmsConnectionException: no usable reply.
            AmsResponseException: a 200 whose body is not JSON.
        """
        if route_name is None:
            raise AmsArgumentException("route_name is required")
        route = resolve_route(route_name)
        data: Optional[Union[str, bytes]] = (
            body if body is None or isinstance(body, (str, bytes)) else _COMPACT.encode(body)
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
            if reqkwargs.get("verify") is False:
                self._warn_unverified(False)
        debug = log.isEnabledFor(logging.DEBUG)
        start = time.perf_counter() if debug else 0.0
        try:
            resp, content = self._send(route.method, url, data, headers, kwargs)
        except requests.exceptions.RequestException as exc:
            if debug:
                log.debug("%s %s -> %s", route.method, redact_url(url), type(exc).__name__)
            raise AmsConnectionException(exc, route.name) from None
        status = resp.status_code
        if debug:
            log.debug(
                "%s %s -> %d (%d bytes, %.1f ms)", route.method, redact_url(url), status,
                len(content), (time.perf_counter() - start) * 1000,
            )
        if status != 200:
            raise exception_from_reply(status, content.decode("utf-8", "replace"), route.name)
        if not content:
            return {}
        try:
            decoded = json.loads(content)
        except ValueError:
            decoded = None
        if not isinstance(decoded, dict):
            raise AmsResponseException(
                {"error": {"code": 200, "message": "the reply is not a JSON object", "status": ""}},
                route.name,
                body=content.decode("utf-8", "replace"),
            )
        return decoded

    def _send(
        self, method: str, url: str, data: Optional[Union[str, bytes]],
        headers: Mapping[str, str], kwargs: Mapping[str, Any],
    ) -> Tuple[requests.Response, bytes]:
        """``session.request(method, url, data=data, headers=headers, **kwargs)`` and the
        response's content, faster.

        ``Session.request`` re-derives per call what does not change between calls of one client:
        it merges and validates the session's and our headers, parses and re-quotes the URL,
        merges the cookie jars, hooks and environment settings. That was about 40 % of the client
        CPU of a single-message publish (benchmarks/README.md). For the session the client owns,
        while it is in the state the client left it (``trust_env`` off, no auth, params or
        cookies, the stock ``request``/``prepare_request``) and ``kwargs`` holds only keywords
        handled here, the :class:`requests.PreparedRequest` is built from cached results of the
        same ``requests`` functions and sent through the session's adapter, as ``Session.request``
        would do: adapters, response hooks, cookie extraction and the environment settings are
        unchanged. Any other case -- an injected session included -- goes through
        ``session.request``.

        ``Response.content`` reads the body in 10 KiB pieces, each a trip through urllib3's read
        machinery: ~0.3 ms of CPU for a 165 KB pull of 100 x 1 KiB. When no response hook could
        look at the response, the fast path sends with ``stream=True`` and reads the body with
        ``iter_content(None)``: one read, the same bytes, the same exception mapping.
        """
        session = self._session
        if not (
            self._own_session
            and not session.trust_env
            and session.auth is None
            and not session.params
            and not len(session.cookies)
            and type(session).request is _SESSION_REQUEST
            and type(session).prepare_request is _SESSION_PREPARE
            and "request" not in session.__dict__
            and "prepare_request" not in session.__dict__
            and _FAST_KWARGS.issuperset(kwargs)
        ):
            resp = session.request(method, url, data=data, headers=headers, **kwargs)
            return resp, resp.content
        try:
            key = (tuple(session.headers.items()), tuple(headers.items()))
            template = self._header_cache.get(key)
        except TypeError:  # an unhashable header value: let requests deal with it
            resp = session.request(method, url, data=data, headers=headers, **kwargs)
            return resp, resp.content
        prep = PreparedRequest()
        prep.method = method
        if template is None:
            prep.prepare_headers(
                merge_setting(  # type: ignore[no-untyped-call]
                    headers, session.headers, dict_class=CaseInsensitiveDict
                )
            )
            if len(self._header_cache) >= _CACHE_MAX:
                self._header_cache.clear()
            self._header_cache[key] = template = prep.headers
        prep.headers = template.copy()
        prepared_url = self._url_cache.get(url)
        if prepared_url is None:
            prep.prepare_url(url, None)
            prepared_url = str(prep.url)
            if len(self._url_cache) >= _CACHE_MAX:
                self._url_cache.clear()
            self._url_cache[url] = prepared_url
        prep.url = prepared_url
        # the merged cookie jar of prepare_request: empty, as the session's is
        prep._cookies = RequestsCookieJar()  # type: ignore[attr-defined]
        body = data or None  # Session.request sends ``data or {}``: an empty body is no body
        if isinstance(body, str) and body.isascii():  # as super_len(), without encoding a copy
            prep.headers["Content-Length"] = str(len(body))
        else:
            prep.prepare_content_length(body)
        prep.body = body
        prep.prepare_hooks(merge_hooks(prep.hooks, session.hooks))  # type: ignore[no-untyped-call]
        settings = self._env_settings(session, prepared_url, kwargs)
        timeout = kwargs.get("timeout")
        allow_redirects = kwargs.get("allow_redirects", True)
        read_at_once = not settings["stream"] and not prep.hooks["response"]
        if read_at_once:
            settings = {**settings, "stream": True}
        if (
            read_at_once and not allow_redirects
            and type(session).send is _SESSION_SEND and "send" not in session.__dict__
        ):
            # What Session.send does for a request without response hooks that does not follow
            # redirects, without its bookkeeping for hooks and history (-30 us per request).
            adapter = session.get_adapter(url=prepared_url)
            start = time.perf_counter()
            resp = adapter.send(prep, timeout=timeout, **settings)
            resp.elapsed = timedelta(seconds=time.perf_counter() - start)
            if "set-cookie" in resp.headers or "set-cookie2" in resp.headers:  # else a no-op
                extract_cookies_to_jar(  # type: ignore[no-untyped-call]
                    session.cookies, prep, resp.raw
                )
            if resp.is_redirect:  # Session.send looks ahead at a redirect it does not follow
                next(session.resolve_redirects(
                    resp, prep, yield_requests=True, timeout=timeout, **settings), None)
        else:
            resp = session.send(prep, timeout=timeout, allow_redirects=allow_redirects, **settings)
        if read_at_once and isinstance(
            getattr(resp.raw, "_original_response", None), http.client.HTTPResponse
        ):  # a body from the network: http.client ends it (iter_content(None) relies on that)
            return resp, b"".join(resp.iter_content(None))
        return resp, resp.content

    def _env_settings(
        self, session: requests.Session, url: str, kwargs: Mapping[str, Any]
    ) -> Dict[str, Any]:
        """``session.merge_environment_settings(url, proxies, stream, verify, cert)`` as
        ``Session.request`` calls it, cached: with ``trust_env`` off (the fast path's condition)
        its result depends only on these arguments and the session's ``proxies``, ``stream``,
        ``verify`` and ``cert``, which make the cache key (-20 us per request)."""
        proxies = kwargs.get("proxies") or {}
        stream, verify, cert = kwargs.get("stream"), kwargs.get("verify"), kwargs.get("cert")
        if type(session).merge_environment_settings is not _SESSION_MERGE_ENV:
            return dict(session.merge_environment_settings(url, proxies, stream, verify, cert))
        try:
            key = (
                tuple(proxies.items()), stream, verify, cert,
                tuple(session.proxies.items()), session.stream, session.verify, session.cert,
            )
            settings = self._env_cache.get(key)
        except (TypeError, AttributeError):  # unhashable or unusual values: no caching
            return dict(session.merge_environment_settings(url, proxies, stream, verify, cert))
        if settings is None:
            settings = dict(session.merge_environment_settings(url, proxies, stream, verify, cert))
            if len(self._env_cache) >= _CACHE_MAX:
                self._env_cache.clear()
            self._env_cache[key] = settings
        if settings.get("proxies"):  # each request gets its own (mutable) proxies mapping
            return {**settings, "proxies": settings["proxies"].copy()}
        return settings

    def _retry_make_request(
        self,
        url: str,
        body: Any = None,
        route_name: Optional[str] = None,
        retry: int = 0,
        retrysleep: float = 60,
        retrybackoff: Optional[float] = None,
        **reqkwargs: Any,
    ) -> Any:
        """:meth:`_make_request`, retried on transient failures.

        Args:
            url: the full URL.
            body: dict/list (sent as JSON), a JSON ``str``/``bytes``, or None.
            route_name: the route id (``"topics:publish"``) or a legacy route name.
            retry: extra attempts after the first one (0 = no retry).
            retrysleep: seconds to sleep between attempts.
            retrybackoff: if set, sleep ``retrybackoff * 2**(n-1)`` before attempt ``n+1`` instead.
            reqkwargs: passed to ``requests`` (``timeout``, ``verify``, ``headers``, ``cert`` ...).

        Returns:
            the decoded JSON reply, ``{}`` for an empty body.

        Raises:
            AmsException: see :meth:`_make_request`; transient errors only after the last attempt.
        """
        if not retry:
            return self._make_request(url, body, route_name, **reqkwargs)
        return self.retry_policy.run(
            lambda: self._make_request(url, body, route_name, **dict(reqkwargs)),
            retry, retrysleep, retrybackoff, what=route_name or "request",
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
        **reqkwargs: Any,
    ) -> Any:
        """Build the URL of ``route_name`` from ``params``/``query`` and make the request.

        ``reqkwargs`` may hold ``retry``/``retrysleep``/``retrybackoff`` and ``requests`` keywords.
        """
        url = self.url_for(route_name, query, **params)
        return self._retry_make_request(url, body, route_name, **reqkwargs)

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
