"""The x509 authentication service ("authn", spec section 11), emulated.

A tiny ASGI app served by :class:`pymod.emulator.Emulator` on its own port with
client-certificate TLS (``ssl.CERT_REQUIRED``, trusting only the emulator CA). It
exchanges a client certificate for an AMS token:

``GET /v1/service-types/ams/hosts/<host>:authx509``
    200 ``{"token": "<token>"}`` when the certificate's subject CN names an
    existing AMS user (the token is that user's current token);
    401 when the connection carries no usable client certificate;
    404 for an unknown user, service type or host.

``<host>`` must be one of the names the emulator listens on (``127.0.0.1``,
``localhost``), with or without the AMS port. Error bodies follow the real
authn service's layout, e.g.
``{"error": {"code": 404, "message": "...", "status": "NOT FOUND"}}``.

The client certificate reaches the app through the ASGI TLS extension
(``scope["extensions"]["tls"]["client_cert_chain"]``), which the emulator's server
fills in.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Collection, Optional

from cryptography import x509
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["AUTHX509_PATH", "client_common_name", "create_authn_app"]

#: Route template of the token exchange.
AUTHX509_PATH = "/v1/service-types/{service_type}/hosts/{host}:authx509"

_STATUS_TEXT = {
    400: "BAD REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT FOUND",
    405: "METHOD NOT ALLOWED",
    500: "INTERNAL SERVER ERROR",
}


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(body, indent=1),
        status_code=status,
        media_type="application/json",
    )


def _error(status: int, message: str) -> Response:
    return _json(
        {
            "error": {
                "code": status,
                "message": message,
                "status": _STATUS_TEXT.get(status, "ERROR"),
            }
        },
        status,
    )


def client_common_name(scope: Any) -> Optional[str]:
    """Return the subject CN of the client certificate of this request, if any."""
    tls = scope.get("extensions", {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    if not chain:
        return None
    cert = x509.load_pem_x509_certificate(chain[0].encode("ascii"))
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        return None
    value = names[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def create_authn_app(
    token_for_user: Callable[[str], Optional[str]],
    *,
    hosts: Collection[str],
) -> Starlette:
    """Build the authn app.

    :param token_for_user: maps a user name to its AMS token (``None`` = no such
        user); called on the event loop that serves the app.
    :param hosts: the ``<host>`` path values accepted (e.g. ``"127.0.0.1"`` and
        ``"127.0.0.1:8443"``).
    """
    accepted_hosts = frozenset(hosts)

    async def authx509(request: Request) -> Response:
        if request.path_params["service_type"] != "ams":
            return _error(404, "Service-type was not found")
        if request.path_params["host"] not in accepted_hosts:
            return _error(404, "Host was not found")
        common_name = client_common_name(request.scope)
        if common_name is None:
            return _error(401, "Unauthorized: no client certificate with a common name")
        token = token_for_user(common_name)
        if token is None:
            return _error(404, f"Binding was not found: no AMS user named {common_name!r}")
        return _json({"token": token})

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        return _error(status, str(getattr(exc, "detail", "Internal error")))

    return Starlette(
        routes=[Route(AUTHX509_PATH, authx509, methods=["GET"])],
        exception_handlers={HTTPException: http_error},
    )
