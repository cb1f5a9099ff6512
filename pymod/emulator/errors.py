"""The AMS error type used throughout the emulator (spec section 1.6)."""

from __future__ import annotations


class AmsError(Exception):
    """An AMS error: rendered as the standard envelope ``{"error": {code, message, status}}``.

    ``plain`` marks errors of the request-processing steps 1-5 of spec 1.3, which the real
    service writes without an explicit content type (they reach clients as ``text/plain``).
    """

    def __init__(self, code: int, status: str, message: str, *, plain: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.plain = plain


def invalid(message: str) -> AmsError:
    """``E(400, INVALID_ARGUMENT, message)``."""
    return AmsError(400, "INVALID_ARGUMENT", message)


def invalid_args(thing: str) -> AmsError:
    """``400a:thing`` = ``E(400, INVALID_ARGUMENT, "Invalid <thing> Arguments")``."""
    return AmsError(400, "INVALID_ARGUMENT", f"Invalid {thing} Arguments")


def bad_body() -> AmsError:
    """``400b`` = ``E(400, BAD_REQUEST, "Invalid Request Body")``."""
    return AmsError(400, "BAD_REQUEST", "Invalid Request Body")


def not_found(thing: str) -> AmsError:
    """``404:thing`` = ``E(404, NOT_FOUND, "<thing> doesn't exist")``."""
    return AmsError(404, "NOT_FOUND", f"{thing} doesn't exist")


def exists(thing: str) -> AmsError:
    """``409x:thing`` = ``E(409, ALREADY_EXISTS, "<thing> already exists")``."""
    return AmsError(409, "ALREADY_EXISTS", f"{thing} already exists")


def conflict(message: str) -> AmsError:
    """``409c:message`` = ``E(409, CONFLICT, message)``."""
    return AmsError(409, "CONFLICT", message)


def internal(message: str) -> AmsError:
    """``500:message`` = ``E(500, INTERNAL_SERVER_ERROR, message)``."""
    return AmsError(500, "INTERNAL_SERVER_ERROR", message)


def forbidden(message: str = "Access to this resource is forbidden") -> AmsError:
    """``E(403, FORBIDDEN, message)``."""
    return AmsError(403, "FORBIDDEN", message)


def unauthorized(message: str = "Unauthorized") -> AmsError:
    """``E(401, UNAUTHORIZED, message)``."""
    return AmsError(401, "UNAUTHORIZED", message)
