"""What every ``ams`` command shares: settings and the client, output, argument types, hints."""

from __future__ import annotations

import argparse
import datetime
import json
import math
import re
import socket
import ssl
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Callable, Dict, Iterator, Mapping, Optional, Tuple, TypeVar

from pymod.amsexceptions import (
    AmsArgumentException,
    AmsConnectionException,
    AmsException,
    AmsServiceException,
)
from pymod.amsmsg import AmsMessage

if TYPE_CHECKING:
    from pymod.ams import ArgoMessagingService

PROG = "ams"
N = TypeVar("N", int, float)

#: A command: ``(args, client or None, stdout) -> exit status``.
Command = Callable[[argparse.Namespace, Any, IO[str]], int]


class CliError(Exception):
    """An expected failure: printed as ``ams: error: <message>``; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 2, hint: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.hint = hint


# ----------------------------------------------------------------------------------------------
# settings and client
# ----------------------------------------------------------------------------------------------
@dataclass
class Settings:
    """Connection settings after merging flags and environment variables."""

    host: str = ""
    token: str = ""
    project: str = ""
    ca: str = ""
    cert: str = ""
    key: str = ""
    token_file: str = ""
    authn_port: int = 8443
    timeout: Optional[float] = None
    retry: Optional[int] = None
    retry_backoff: Optional[float] = None
    environ: Optional[Mapping[str, str]] = None

    def __repr__(self) -> str:  # never show the token
        return f"Settings(host={self.host!r}, project={self.project!r})"


#: Settings field -> (environment variable, flag).
_ENV = {
    "host": ("AMS_HOST", "--host"),
    "token": ("AMS_TOKEN", "--token"),
    "token_file": ("AMS_TOKEN_FILE", "--token-file"),
    "project": ("AMS_PROJECT", "--project"),
    "ca": ("AMS_CA", "--ca"),
    "cert": ("AMS_CERT", "--cert"),
    "key": ("AMS_KEY", "--key"),
    "timeout": ("AMS_TIMEOUT", "--timeout"),
    "retry": ("AMS_RETRY", "--retry"),
    "retry_backoff": ("AMS_RETRY_BACKOFF", "--retry-backoff"),
}


def settings_from(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    """Merge flags (which win) with ``AMS_*`` environment variables.

    The merged variables are kept in ``environ`` for :func:`make_client`, which checks them
    with :func:`pymod.envconfig.client_kwargs` (the same rules as ``from_env``).
    """
    merged = {name: environ.get(name, "") for name, _ in _ENV.values()}
    given = {field for field in _ENV if getattr(args, field, None) is not None}
    if given & {"token", "token_file"}:  # a credential flag replaces every credential variable
        merged["AMS_TOKEN"] = merged["AMS_TOKEN_FILE"] = ""
    for field in given:
        merged[_ENV[field][0]] = str(getattr(args, field))
    settings = Settings(
        host=merged["AMS_HOST"], token=merged["AMS_TOKEN"], project=merged["AMS_PROJECT"],
        ca=merged["AMS_CA"], cert=merged["AMS_CERT"], key=merged["AMS_KEY"],
        token_file=merged["AMS_TOKEN_FILE"], environ=merged,
    )
    if getattr(args, "authn_port", None) is not None:
        settings.authn_port = args.authn_port
    settings.timeout = getattr(args, "timeout", None)
    return settings


def _with_flag(message: str) -> str:
    """``message`` with the flag named next to each environment variable it names."""
    for env, flag in _ENV.values():
        message = re.sub(rf"\b{env}\b", f"{env} ({flag})", message, count=1)
    return message


def make_client(settings: Settings, *, need_project: bool = True) -> ArgoMessagingService:
    """The client for ``settings``.

    Raises:
        CliError: a required setting is missing or invalid (code 2).
        AmsException: the certificate login failed.
    """
    from pymod.ams import ArgoMessagingService
    from pymod.envconfig import client_kwargs

    environ = settings.environ if settings.environ is not None else {
        "AMS_HOST": settings.host, "AMS_TOKEN": settings.token, "AMS_PROJECT": settings.project,
        "AMS_CA": settings.ca, "AMS_CERT": settings.cert, "AMS_KEY": settings.key,
        "AMS_TOKEN_FILE": settings.token_file,
    }
    try:
        kwargs = client_kwargs(environ)
    except AmsArgumentException as exc:
        raise CliError(_with_flag(str(exc))) from None
    if need_project and not kwargs["project"]:
        raise CliError("no project: use --project or set AMS_PROJECT")
    return ArgoMessagingService(authn_port=settings.authn_port, **kwargs)


# ----------------------------------------------------------------------------------------------
# errors: resource names and one-line hints
# ----------------------------------------------------------------------------------------------
def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps (``__cause__``/``__context__``, urllib3's ``reason``, args)."""
    seen = set()
    todo = [exc]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        for nxt in (item.__cause__, item.__context__, getattr(item, "reason", None),
                    getattr(item, "exp", None), *getattr(item, "args", ())):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def error_text(exc: BaseException) -> str:
    """``exc`` for a person: an AMS error as ``message (HTTP code STATUS)``, instead of the
    dict text that ``str()`` gives for argo-ams-library compatibility; anything else as
    ``str()``."""
    if isinstance(exc, AmsServiceException):
        status = f" {exc.status}" if exc.status else ""
        return f"{exc.msg} (HTTP {exc.code}{status})"
    return str(exc)


def connection_hint(exc: AmsException) -> str:
    """A one-line hint for a connection failure (TLS, DNS, refused), or ``""``."""
    if not isinstance(exc, AmsConnectionException):
        return ""
    text = str(exc)
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
            return ("hint: the server's certificate is not trusted; set AMS_CA (or --ca) to the "
                    "CA bundle that signed it (for 'ams emulator': the CA file it printed)")
        if isinstance(cause, socket.gaierror) or "NameResolutionError" in text \
                or "Name or service not known" in text:
            return "hint: the host name does not resolve; check AMS_HOST (or --host)"
        if isinstance(cause, ConnectionRefusedError) or "Connection refused" in text:
            return ("hint: nothing listens at that host and port; is the server (or "
                    "'ams emulator') running, and is the port in AMS_HOST right?")
    return ""


def describe(args: argparse.Namespace) -> str:
    """The resource a command works on, for error messages (``topic 'alerts'``), or ``""``."""
    kind = getattr(args, "resource", None)
    if not kind:
        return ""
    name = getattr(args, getattr(args, "resource_arg", "name"), None)
    if not name:
        return ""
    text = f"{kind} {name!r}"
    topic = getattr(args, "topic", None)
    if kind == "subscription" and topic and isinstance(topic, str):
        text += f" (topic {topic!r})"
    return text


# ----------------------------------------------------------------------------------------------
# output helpers
# ----------------------------------------------------------------------------------------------
def print_json(obj: Any, out: IO[str]) -> None:
    """``obj`` as indented JSON."""
    print(json.dumps(obj, indent=2, ensure_ascii=False), file=out)


def print_object(obj: Mapping[str, Any], out: IO[str]) -> None:
    """``key: value`` lines; nested values as compact JSON."""
    width = max((len(k) for k in obj), default=0)
    for key, value in obj.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        print(f"{key + ':':<{width + 1}} {text}", file=out)


def short(name: str) -> str:
    """The last part of a full AMS name (``/projects/P/topics/t`` -> ``t``)."""
    return name.rsplit("/", 1)[-1]


def message_record(ack_id: str, msg: AmsMessage) -> Dict[str, Any]:
    """The JSON Lines record of a pulled message.

    ``{"ackId", "messageId", "publishTime", "attributes", "data"}`` where ``data`` is the payload
    decoded as UTF-8 text; a payload that is not UTF-8 (or not Base64) is given as ``data_b64``
    (the Base64 text as sent by AMS) instead. ``ams publish --file`` reads these records back.
    """
    record: Dict[str, Any] = {
        "ackId": ack_id,
        "messageId": msg.get_msgid(),
        "publishTime": msg.get_publishtime(),
        "attributes": dict(msg.attributes),
    }
    try:
        payload = msg.get_data() if msg.data_b64 is not None else None
        record["data"] = "" if payload is None else payload.decode("utf-8")
    except (AmsException, UnicodeDecodeError):
        record["data_b64"] = msg.data_b64 or ""
    return record


def write_record(record: Mapping[str, Any], out: IO[str]) -> None:
    """One compact JSON line, flushed (so that a pipe reader sees it at once)."""
    out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    out.flush()


# ----------------------------------------------------------------------------------------------
# argument types
# ----------------------------------------------------------------------------------------------
def key_value(text: str) -> Tuple[str, str]:
    """``KEY=VALUE`` as a pair."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    if not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _number_arg(convert: Callable[[str], N], wanted: str,
                ok: Callable[[N], bool]) -> Callable[[str], N]:
    """An argparse type: ``convert(text)`` if ``ok`` accepts it, else "expected <wanted>"."""
    def parse(text: str) -> N:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    return parse


#: argparse types: an int >= 1, an int >= 0, a finite number >= 0, a finite number > 0.
positive_int = _number_arg(int, "a positive integer", lambda v: v >= 1)
non_negative_int = _number_arg(int, "an integer >= 0", lambda v: v >= 0)
non_negative_float = _number_arg(float, "a number >= 0", lambda v: 0 <= v < math.inf)
positive_float = _number_arg(float, "a number > 0", lambda v: 0 < v < math.inf)


def parse_time(text: str) -> datetime.datetime:
    """An ISO 8601 time (``2024-05-02T09:41:07Z``, ``...07.5+02:00``; naive = UTC) as an aware
    datetime.

    Raises:
        CliError: not an ISO 8601 time.
    """
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    # Python 3.9's fromisoformat wants 3 or 6 fraction digits: pad/trim them
    if "." in value:
        head, rest = value.split(".", 1)
        digits = len(rest) - len(rest.lstrip("0123456789"))
        frac, tail = rest[:digits], rest[digits:]
        value = f"{head}.{(frac + '000000')[:6]}{tail}"
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise CliError(f"not an ISO 8601 time: {text!r} (e.g. 2024-05-02T09:41:07Z)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed


def missing_extra(exc: ModuleNotFoundError, what: str) -> CliError:
    """The error for ``what`` needing the ``[emulator]`` extra that is not installed."""
    return CliError(f"{what} needs the emulator's packages ({exc.name} is missing): "
                    "pip install 'pymod-ams[emulator]'", code=2)
