"""The ``ams`` command: everyday AMS work from a shell.

::

    ams demo                                   # full round trip against an embedded emulator
    ams emulator --port 8443                   # run the emulator in the foreground
    export AMS_HOST=... AMS_TOKEN=... AMS_PROJECT=DEMO AMS_CA=...
    ams topics create alerts
    ams subs create alerts-sub --topic alerts --ack-deadline 30
    ams publish alerts "disk full" --attr host=node7
    ams publish alerts --file msgs.jsonl       # {"data": "...", "attributes": {...}} per line
    ams consume alerts-sub --max 100 --ack     # JSON Lines on stdout
    ams offsets alerts-sub --to-time 2024-05-02T09:00:00Z

Settings come from flags or the environment: ``--host``/``AMS_HOST``, ``--token``/``AMS_TOKEN``,
``--project``/``AMS_PROJECT``, ``--ca``/``AMS_CA`` (CA bundle to verify the server),
``--cert``/``AMS_CERT`` and ``--key``/``AMS_KEY`` (X.509 login instead of a token),
``--authn-port``, ``--timeout``. Flags may be given before or after the command.

Exit status: 0 on success, 1 when the service (or the consumer) reports an error, 2 for usage
errors, missing settings and unreadable input files. Errors are printed as one line
``ams: error: ...`` on stderr, never with the token.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import (
    IO,
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

from pymod.amsexceptions import AmsArgumentException, AmsException, AmsPublishException, mask
from pymod.amsmsg import AmsMessage, check_attributes

if TYPE_CHECKING:
    from pymod.ams import ArgoMessagingService

__all__ = ["CliError", "build_parser", "main", "message_record"]

PROG = "ams"


class CliError(Exception):
    """An expected failure: printed as ``ams: error: <message>``; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


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
    authn_port: int = 8443
    timeout: Optional[float] = None


_ENV = {
    "host": "AMS_HOST",
    "token": "AMS_TOKEN",
    "project": "AMS_PROJECT",
    "ca": "AMS_CA",
    "cert": "AMS_CERT",
    "key": "AMS_KEY",
}


def settings_from(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    """Merge flags (which win) with ``AMS_*`` environment variables."""
    values: Dict[str, Any] = {}
    for field, env in _ENV.items():
        flag = getattr(args, field, None)
        values[field] = flag if flag is not None else environ.get(env, "")
    settings = Settings(**values)
    if getattr(args, "authn_port", None) is not None:
        settings.authn_port = args.authn_port
    settings.timeout = getattr(args, "timeout", None)
    return settings


def make_client(settings: Settings, *, need_project: bool = True) -> ArgoMessagingService:
    """The client for ``settings``.

    Raises:
        CliError: a required setting is missing (code 2).
        AmsException: the client refused a setting or the certificate login failed.
    """
    from pymod.ams import ArgoMessagingService

    if not settings.host:
        raise CliError("no AMS host: use --host or set AMS_HOST (e.g. msg.example.org:443)")
    if not settings.token and not (settings.cert and settings.key):
        raise CliError("no token: use --token or set AMS_TOKEN (or give --cert and --key)")
    if need_project and not settings.project:
        raise CliError("no project: use --project or set AMS_PROJECT")
    for label, path in (("CA file", settings.ca), ("certificate", settings.cert),
                        ("key", settings.key)):
        if path and not os.path.isfile(path):
            raise CliError(f"{label} {path!r} does not exist")
    kwargs: Dict[str, Any] = {}
    if settings.ca:
        kwargs["verify"] = settings.ca
    if settings.timeout is not None:
        kwargs["timeout"] = settings.timeout
    return ArgoMessagingService(
        endpoint=settings.host, token=settings.token, project=settings.project,
        cert=settings.cert, key=settings.key, authn_port=settings.authn_port, **kwargs,
    )


# ----------------------------------------------------------------------------------------------
# output helpers
# ----------------------------------------------------------------------------------------------
def _print_json(obj: Any, out: IO[str]) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False), file=out)


def _print_object(obj: Mapping[str, Any], out: IO[str]) -> None:
    """``key: value`` lines; nested values as compact JSON."""
    width = max((len(k) for k in obj), default=0)
    for key, value in obj.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        print(f"{key + ':':<{width + 1}} {text}", file=out)


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def message_record(ack_id: str, msg: AmsMessage) -> Dict[str, Any]:
    """The JSON Lines record of a pulled message.

    ``{"ackId", "messageId", "publishTime", "attributes", "data"}`` where ``data`` is the payload
    decoded as UTF-8 text; a payload that is not UTF-8 (or not Base64) is given as ``data_b64``
    (the Base64 text as sent by AMS) instead.
    """
    record: Dict[str, Any] = {
        "ackId": ack_id,
        "messageId": msg.get_msgid(),
        "publishTime": msg.get_publishtime(),
        "attributes": dict(msg.attributes),
    }
    try:
        payload = msg.get_data()
        record["data"] = "" if payload is None else payload.decode("utf-8")
    except (AmsException, UnicodeDecodeError):
        record["data_b64"] = msg.data_b64 or ""
    return record


def _write_record(record: Mapping[str, Any], out: IO[str]) -> None:
    out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    out.flush()


# ----------------------------------------------------------------------------------------------
# parsing helpers
# ----------------------------------------------------------------------------------------------
def _key_value(text: str) -> Tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    if not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


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


# ----------------------------------------------------------------------------------------------
# the parser
# ----------------------------------------------------------------------------------------------
def _common_options(suppress: bool) -> argparse.ArgumentParser:
    """The connection options, accepted before and after the command."""
    default = argparse.SUPPRESS if suppress else None
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("connection (flags win over environment variables)")
    group.add_argument("--host", default=default, help="AMS host[:port] (AMS_HOST)")
    group.add_argument("--token", default=default, help="AMS token (AMS_TOKEN)")
    group.add_argument("--project", default=default, help="project (AMS_PROJECT)")
    group.add_argument("--ca", default=default, help="CA bundle to verify the server (AMS_CA)")
    group.add_argument("--cert", default=default, help="client certificate for X.509 login (AMS_CERT)")
    group.add_argument("--key", default=default, help="key of --cert (AMS_KEY)")
    group.add_argument("--authn-port", type=int, default=default,
                       help="port of the X.509 authentication service (default 8443)")
    group.add_argument("--timeout", type=float, default=default,
                       help="request timeout in seconds (default 30)")
    group.add_argument("--json", action="store_true", default=default,
                       help="machine-readable JSON output for list/show commands")
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The ``ams`` argument parser."""
    parser = argparse.ArgumentParser(
        prog=PROG, parents=[_common_options(suppress=False)],
        description="Command line client for the ARGO Messaging Service (AMS).",
        epilog="Run 'ams demo' for a quick self-contained tour against an embedded emulator.",
    )
    common = _common_options(suppress=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def sub(container: Any, name: str, help: str, **kw: Any) -> argparse.ArgumentParser:
        return container.add_parser(name, help=help, description=help, parents=[common], **kw)  # type: ignore[no-any-return]

    demo = sub(commands, "demo", "publish and consume messages through an embedded AMS emulator")
    demo.add_argument("-n", "--messages", type=_positive_int, default=10_000,
                      help="messages to publish (default 10000)")
    demo.add_argument("--batch", type=_positive_int, default=500,
                      help="messages per publish and pull (default 500)")
    demo.add_argument("--size", type=_non_negative_int, default=64,
                      help="random payload bytes per message (default 64)")
    demo.set_defaults(func=cmd_demo, need_client=False)

    commands.add_parser("emulator", help="run the AMS emulator (see 'ams emulator --help')",
                        add_help=False)

    # topics
    topics = sub(commands, "topics", "list, show, create and delete topics; read/set ACLs")
    tcmd = topics.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub(tcmd, "list", "list the project's topics").set_defaults(func=cmd_topics_list)
    p = sub(tcmd, "show", "show a topic")
    p.add_argument("name")
    p.set_defaults(func=cmd_topics_show)
    p = sub(tcmd, "create", "create a topic")
    p.add_argument("name")
    p.add_argument("--schema", help="validate messages against this schema")
    p.set_defaults(func=cmd_topics_create)
    p = sub(tcmd, "delete", "delete a topic and its messages")
    p.add_argument("name")
    p.set_defaults(func=cmd_topics_delete)
    p = sub(tcmd, "acl", "show the topic's ACL, or replace it with --set")
    p.add_argument("name")
    p.add_argument("--set", nargs="*", metavar="USER", dest="users",
                   help="users allowed to publish (no names: clear the ACL)")
    p.set_defaults(func=cmd_topics_acl)

    # subscriptions
    subs = sub(commands, "subs", "list, show, create and delete subscriptions; read/set ACLs")
    scmd = subs.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = sub(scmd, "list", "list the project's subscriptions")
    p.add_argument("--topic", help="only the subscriptions of this topic")
    p.set_defaults(func=cmd_subs_list)
    p = sub(scmd, "show", "show a subscription")
    p.add_argument("name")
    p.set_defaults(func=cmd_subs_show)
    p = sub(scmd, "create", "create a subscription")
    p.add_argument("name")
    p.add_argument("--topic", required=True, help="the topic to read from")
    p.add_argument("--ack-deadline", type=_non_negative_int, default=10,
                   help="seconds to acknowledge a pulled batch (default 10)")
    p.add_argument("--push-endpoint", help="https URL to push messages to (push subscription)")
    p.set_defaults(func=cmd_subs_create)
    p = sub(scmd, "delete", "delete a subscription")
    p.add_argument("name")
    p.set_defaults(func=cmd_subs_delete)
    p = sub(scmd, "acl", "show the subscription's ACL, or replace it with --set")
    p.add_argument("name")
    p.add_argument("--set", nargs="*", metavar="USER", dest="users",
                   help="users allowed to pull (no names: clear the ACL)")
    p.set_defaults(func=cmd_subs_acl)

    # publish
    p = sub(commands, "publish", "publish messages (from arguments, stdin lines or a JSONL file)",
            epilog='File format (--file): one JSON object per line, {"data": "text", '
                   '"attributes": {"k": "v"}} or {"data_b64": "<base64>"} for binary payloads.')
    p.add_argument("topic")
    p.add_argument("data", nargs="*", metavar="DATA",
                   help="message payloads (UTF-8 text); '-' reads one message per stdin line")
    p.add_argument("--file", metavar="FILE.jsonl", help="read messages from a JSON Lines file")
    p.add_argument("--attr", action="append", type=_key_value, default=[], metavar="KEY=VALUE",
                   help="attribute for DATA/stdin messages (repeatable)")
    p.add_argument("--batch", type=_positive_int, default=500,
                   help="messages per publish request (default 500)")
    p.add_argument("--progress", action="store_true",
                   help="show a progress bar for --file (default: when stderr is a terminal)")
    p.set_defaults(func=cmd_publish)

    # pull / consume
    p = sub(commands, "pull", "pull messages and print them as JSON Lines (peek unless --ack)")
    p.add_argument("subscription")
    p.add_argument("--max", type=_positive_int, default=10, help="most messages (default 10)")
    p.add_argument("--ack", action="store_true", help="acknowledge what was printed")
    p.add_argument("--follow", action="store_true",
                   help="keep polling for new messages (needs --ack)")
    p.add_argument("--interval", type=float, default=1.0,
                   help="seconds between polls with --follow (default 1)")
    p.set_defaults(func=cmd_pull)

    p = sub(commands, "consume",
            "print messages as JSON Lines and acknowledge them (the safe consumer loop)")
    p.add_argument("subscription")
    p.add_argument("--max", type=_positive_int, help="stop after this many messages")
    p.add_argument("--ack", action="store_true",
                   help="acknowledge printed messages (always done by consume)")
    p.add_argument("--follow", action="store_true",
                   help="keep polling when the subscription is empty (stop with Ctrl+C)")
    p.add_argument("--interval", type=float, default=1.0,
                   help="seconds between polls when empty with --follow (default 1)")
    p.add_argument("--batch", type=_positive_int, default=100,
                   help="messages per pull (default 100)")
    p.add_argument("--max-seconds", type=float, help="stop after this many seconds")
    p.add_argument("--filter", action="append", type=_key_value, default=[], metavar="KEY=VALUE",
                   help="print only messages with this attribute (others are skipped and "
                        "acknowledged; repeatable)")
    p.add_argument("--checkpoint", metavar="FILE",
                   help="resume from the offset saved in FILE and save the new one after each "
                        "acknowledgement")
    p.set_defaults(func=cmd_consume)

    # offsets
    p = sub(commands, "offsets", "show a subscription's offsets, or move its current offset")
    p.add_argument("subscription")
    move = p.add_mutually_exclusive_group()
    move.add_argument("--move", type=_non_negative_int, metavar="N",
                      help="move the current offset to N (replay or skip)")
    move.add_argument("--to-time", metavar="ISO8601",
                      help="move to the first message published at or after this time")
    p.set_defaults(func=cmd_offsets)

    # users (service admins)
    users = sub(commands, "users", "list, show, create and delete users (service admin)")
    ucmd = users.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub(ucmd, "list", "list users").set_defaults(func=cmd_users_list, need_project=False)
    p = sub(ucmd, "show", "show a user (the token only with --show-token)")
    p.add_argument("name")
    p.add_argument("--show-token", action="store_true", help="print the user's token too")
    p.set_defaults(func=cmd_users_show, need_project=False)
    p = sub(ucmd, "create", "create a user (prints the new token)")
    p.add_argument("name")
    p.add_argument("--email", default="")
    p.add_argument("--member", action="append", default=[], metavar="PROJECT:ROLE[,ROLE]",
                   help="project membership, e.g. DEMO:publisher,consumer (repeatable)")
    p.add_argument("--service-role", action="append", default=[], metavar="ROLE",
                   help="service role such as service_admin (repeatable)")
    p.set_defaults(func=cmd_users_create, need_project=False)
    p = sub(ucmd, "delete", "delete a user")
    p.add_argument("name")
    p.set_defaults(func=cmd_users_delete, need_project=False)

    # projects (service admins)
    projects = sub(commands, "projects", "list, show, create and delete projects (service admin)")
    pcmd = projects.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub(pcmd, "list", "list projects").set_defaults(func=cmd_projects_list, need_project=False)
    p = sub(pcmd, "show", "show a project")
    p.add_argument("name")
    p.set_defaults(func=cmd_projects_show, need_project=False)
    p = sub(pcmd, "create", "create a project")
    p.add_argument("name")
    p.add_argument("--description", default="")
    p.set_defaults(func=cmd_projects_create, need_project=False)
    p = sub(pcmd, "delete", "delete a project with its topics and subscriptions")
    p.add_argument("name")
    p.set_defaults(func=cmd_projects_delete, need_project=False)
    return parser


# ----------------------------------------------------------------------------------------------
# commands: each takes (args, ams, out) and returns the exit status
# ----------------------------------------------------------------------------------------------
Command = Callable[[argparse.Namespace, Any, IO[str]], int]


def cmd_demo(args: argparse.Namespace, ams: Any, out: IO[str]) -> int:
    """``ams demo``: :func:`pymod.demo.run_demo`."""
    from pymod.demo import run_demo

    return run_demo(n=args.messages, batch=args.batch, size=args.size, out=out)


def cmd_topics_list(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET /v1/projects/{project}/topics``: one short name per line."""
    items = list(ams.list_topics()["topics"])
    if args.json:
        _print_json(items, out)
    else:
        for item in items:
            print(_short(str(item.get("name", ""))), file=out)
    return 0


def cmd_topics_show(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET .../topics/{topic}``."""
    topic = ams.get_topic(args.name)
    assert isinstance(topic, dict)
    _print_json(topic, out) if args.json else _print_object(topic, out)
    return 0


def cmd_topics_create(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``PUT .../topics/{topic}``."""
    topic = ams.create_topic(args.name, schema=args.schema)
    assert isinstance(topic, dict)
    _print_json(topic, out) if args.json else print(f"created topic {args.name}", file=out)
    return 0


def cmd_topics_delete(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``DELETE .../topics/{topic}``."""
    ams.delete_topic(args.name)
    print(f"deleted topic {args.name}", file=out)
    return 0


def _print_acl(acl: Mapping[str, Any], args: argparse.Namespace, out: IO[str]) -> None:
    if args.json:
        _print_json(acl, out)
    else:
        for user in acl.get("authorized_users") or []:
            print(user, file=out)


def cmd_topics_acl(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET .../topics/{topic}:acl`` (after ``POST ...:modifyAcl`` with ``--set``)."""
    if args.users is not None:
        ams.modifyacl_topic(args.name, list(args.users))
    _print_acl(ams.getacl_topic(args.name), args, out)
    return 0


def cmd_subs_list(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET /v1/projects/{project}/subscriptions`` (filtered by ``--topic``)."""
    items = list(ams.list_subs()["subscriptions"])
    if args.topic:
        items = [s for s in items if _short(str(s.get("topic", ""))) == args.topic]
    if args.json:
        _print_json(items, out)
    else:
        for item in items:
            print(f"{_short(str(item.get('name', '')))}\t{_short(str(item.get('topic', '')))}",
                  file=out)
    return 0


def cmd_subs_show(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET .../subscriptions/{sub}``."""
    sub = ams.get_sub(args.name)
    assert isinstance(sub, dict)
    _print_json(sub, out) if args.json else _print_object(sub, out)
    return 0


def cmd_subs_create(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``PUT .../subscriptions/{sub}``."""
    sub = ams.create_sub(args.name, args.topic, ackdeadline=args.ack_deadline,
                         push_endpoint=args.push_endpoint)
    assert isinstance(sub, dict)
    if args.json:
        _print_json(sub, out)
    else:
        print(f"created subscription {args.name} on topic {args.topic}", file=out)
    return 0


def cmd_subs_delete(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``DELETE .../subscriptions/{sub}``."""
    ams.delete_sub(args.name)
    print(f"deleted subscription {args.name}", file=out)
    return 0


def cmd_subs_acl(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET .../subscriptions/{sub}:acl`` (after ``POST ...:modifyAcl`` with ``--set``)."""
    if args.users is not None:
        ams.modifyacl_sub(args.name, list(args.users))
    _print_acl(ams.getacl_sub(args.name), args, out)
    return 0


# ---- publish ---------------------------------------------------------------------------------
def _file_messages(path: str) -> Iterator[Tuple[int, AmsMessage]]:
    """``(line number, message)`` for each non-blank line of a JSON Lines file.

    Raises:
        CliError: unreadable file or a bad line (with its number).
    """
    try:
        fh = open(path, encoding="utf-8")  # noqa: SIM115 - closed below, generator
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    with fh:
        try:
            for number, line in enumerate(fh, 1):
                if line.strip():
                    yield number, _parse_line(path, number, line)
        except UnicodeDecodeError:
            raise CliError(f"{path} is not UTF-8 text") from None


def _parse_line(path: str, number: int, line: str) -> AmsMessage:
    where = f"{path} line {number}"
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CliError(f"{where}: not JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise CliError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    unknown = set(obj) - {"data", "data_b64", "attributes"}
    if unknown:
        raise CliError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                       "(use data, data_b64, attributes)")
    if "data" in obj and "data_b64" in obj:
        raise CliError(f"{where}: give data or data_b64, not both")
    try:
        attributes = check_attributes(obj.get("attributes"))
    except AmsException as exc:
        raise CliError(f"{where}: {exc}") from None
    if "data_b64" in obj:
        encoded = obj["data_b64"]
        if not isinstance(encoded, str):
            raise CliError(f"{where}: data_b64 must be a string")
        try:
            payload: bytes = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise CliError(f"{where}: data_b64 is not valid Base64") from None
        return AmsMessage(data=payload, attributes=attributes)
    data = obj.get("data")
    if data is None and not attributes:
        raise CliError(f"{where}: a message needs data, data_b64 or attributes")
    if data is not None and not isinstance(data, str):
        raise CliError(f"{where}: data must be a string (use data_b64 for binary payloads)")
    return AmsMessage(data=data, attributes=attributes)


def _arg_messages(args: argparse.Namespace, stdin: IO[str]) -> Iterator[Tuple[int, AmsMessage]]:
    attributes = dict(args.attr)
    try:
        check_attributes(attributes)
    except AmsException as exc:
        raise CliError(f"--attr: {exc}") from None
    number = 0
    for item in args.data:
        if item == "-":
            for line in stdin:
                number += 1
                yield number, AmsMessage(data=line.rstrip("\r\n"), attributes=attributes)
        else:
            number += 1
            yield number, AmsMessage(data=item, attributes=attributes)


def _progress_bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # the [cli] extra is not installed: no bar
        return None
    return tqdm(total=total, unit="msg", file=sys.stderr, desc="publishing")


def cmd_publish(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``POST .../topics/{topic}:publish`` in requests of ``--batch`` messages."""
    if args.file and args.data:
        raise CliError("give DATA arguments or --file, not both")
    if not args.file and not args.data:
        raise CliError("nothing to publish: give DATA arguments, '-' for stdin, or --file")
    if args.file and args.attr:
        raise CliError("--attr applies to DATA/stdin messages; put attributes in the file")
    bar = None
    if args.file:
        total = sum(1 for _ in _file_messages(args.file))  # validate everything first
        bar = _progress_bar(total, args.progress or sys.stderr.isatty())
        source: Iterator[Tuple[int, AmsMessage]] = _file_messages(args.file)
    else:
        source = _arg_messages(args, sys.stdin)
    published = 0
    first_id = last_id = ""
    chunk: List[Tuple[int, AmsMessage]] = []

    def flush() -> None:
        nonlocal published, first_id, last_id
        try:
            ids = ams.publish(args.topic, [m for _, m in chunk])["messageIds"]
        except AmsException as exc:
            done = len(exc.published_ids) if isinstance(exc, AmsPublishException) else 0
            published += done
            where = f"line {chunk[done][0]}" if args.file else f"message {chunk[done][0]}"
            cause = exc.cause if isinstance(exc, AmsPublishException) else exc
            raise CliError(f"publish failed after {published} message(s) were published "
                           f"(resume from {where}): {cause}", code=1) from None
        if ids:
            first_id = first_id or ids[0]
            last_id = ids[-1]
        published += len(ids)
        if bar is not None:
            bar.update(len(ids))
        chunk.clear()

    try:
        for item in source:
            chunk.append(item)
            if len(chunk) >= args.batch:
                flush()
        if chunk:
            flush()
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        _print_json({"topic": args.topic, "published": published,
                     "firstId": first_id, "lastId": last_id}, out)
    elif published == 0:
        print(f"nothing published: {args.file or 'stdin'} held no messages", file=out)
    else:
        ids = first_id if first_id == last_id else f"{first_id}..{last_id}"
        print(f"published {published} message(s) to {args.topic} (ids {ids})", file=out)
    return 0


# ---- pull / consume --------------------------------------------------------------------------
def cmd_pull(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``POST .../subscriptions/{sub}:pull`` (+ ``:acknowledge`` with ``--ack``).

    Without ``--ack`` this is one pull of up to ``--max`` messages that stay unacknowledged
    (they come again with the next pull). With ``--ack``, batches are pulled, printed and then
    acknowledged until ``--max`` messages or an empty pull (``--follow``: keep polling).
    """
    from pymod.amsexceptions import AmsTimeoutException

    if args.follow and not args.ack:
        raise CliError("--follow needs --ack: unacknowledged messages would come again and again")
    if not args.ack:
        for ack_id, msg in ams.pull_sub(args.subscription, num=args.max, return_immediately=True):
            _write_record(message_record(ack_id, msg), out)
        return 0
    remaining = args.max
    while remaining > 0:
        received = ams.pull_sub(args.subscription, num=min(remaining, 100),
                                return_immediately=True)
        if not received:
            if not args.follow:
                break
            time.sleep(args.interval)
            continue
        for ack_id, msg in received:
            _write_record(message_record(ack_id, msg), out)
        try:
            ams.ack_sub(args.subscription, [received[-1][0]])
        except AmsTimeoutException:
            print("ams: warning: acknowledgement too late (ack deadline); these messages will "
                  "come again", file=sys.stderr)
            continue
        remaining -= len(received)
    return 0


def cmd_consume(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """:class:`pymod.consumer.Consumer`: print each message, then acknowledge (at-least-once)."""
    from pymod.consumer import Consumer, ConsumerError, FileCheckpoint

    checkpoint = FileCheckpoint(args.checkpoint) if args.checkpoint else None
    try:
        start = checkpoint.load() if checkpoint is not None else None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    # the handler gets the message only; its ackId is the subscription's name plus its offset
    prefix = f"projects/{ams.project}/subscriptions/{args.subscription}:"
    write_errors: List[OSError] = []

    def handle(msg: AmsMessage) -> None:
        try:
            _write_record(message_record(prefix + msg.get_msgid(), msg), out)
        except OSError as exc:  # stdout closed (e.g. piped into head): stop, do not acknowledge
            write_errors.append(exc)
            consumer.stop()
            raise

    consumer = Consumer(
        ams, args.subscription, handle, batch_size=args.batch, max_messages=args.max,
        max_seconds=args.max_seconds, stop_when_empty=not args.follow, idle_sleep=args.interval,
        filter=dict(args.filter) or None, checkpoint=checkpoint, start_offset=start,
    )
    try:
        result = consumer.run()
    except ConsumerError as exc:
        raise CliError(str(exc), code=1) from None
    if write_errors:
        raise write_errors[0]
    print(f"ams: consumed {result.handled} message(s), acknowledged {result.acked}"
          + (f", skipped {result.skipped}" if result.skipped else "")
          + f" (stopped: {result.stop_reason})", file=sys.stderr)
    return 0 if result.failed == 0 else 1


# ---- offsets ---------------------------------------------------------------------------------
def cmd_offsets(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET ...:offsets``; with ``--move``/``--to-time`` first ``POST ...:modifyOffset``
    (``--to-time`` finds the offset with ``GET ...:timeToOffset``)."""
    target: Optional[int] = args.move
    if args.to_time:
        target = ams.time_to_offset_sub(args.subscription, parse_time(args.to_time))
    if target is not None:
        ams.modifyoffset_sub(args.subscription, target)
    offsets = ams.getoffsets_sub(args.subscription)
    assert isinstance(offsets, dict)
    if args.json:
        _print_json(offsets, out)
    else:
        if target is not None:
            print(f"moved {args.subscription} to offset {target}", file=out)
        _print_object(offsets, out)
    return 0


# ---- users and projects ----------------------------------------------------------------------
def _user_dict(user: Any, show_token: bool) -> Dict[str, Any]:
    data = {
        "name": user.name, "uuid": user.uuid, "email": user.email,
        "projects": [{"project": p.project, "roles": p.roles} for p in user.projects],
        "service_roles": user.service_roles, "created_on": user.created_on,
    }
    if show_token:
        data["token"] = user.token
    return data


def cmd_users_list(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET /v1/users``."""
    users = list(ams.iter_users(details=True))
    if args.json:
        _print_json([_user_dict(u, False) for u in users], out)
    else:
        for user in users:
            print(user.name, file=out)
    return 0


def cmd_users_show(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET /v1/users/{user}``; the token only with ``--show-token``."""
    data = _user_dict(ams.get_user(args.name), args.show_token)
    _print_json(data, out) if args.json else _print_object(data, out)
    return 0


def cmd_users_create(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``POST /v1/users/{user}``; prints the new user with its token."""
    from pymod.amsuser import AmsUser, AmsUserProject

    projects = []
    for spec in args.member:
        project, _, roles = spec.partition(":")
        if not project:
            raise CliError(f"--member: expected PROJECT:ROLE[,ROLE], got {spec!r}")
        projects.append(AmsUserProject(project, [r for r in roles.split(",") if r]))
    user = ams.create_user(AmsUser(name=args.name, email=args.email, projects=projects,
                                   service_roles=list(args.service_role)))
    data = _user_dict(user, True)
    _print_json(data, out) if args.json else _print_object(data, out)
    return 0


def cmd_users_delete(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``DELETE /v1/users/{user}``."""
    ams.delete_user(args.name)
    print(f"deleted user {args.name}", file=out)
    return 0


def cmd_projects_list(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET /v1/projects``."""
    projects = ams.list_projects()
    if args.json:
        _print_json(projects, out)
    else:
        for project in projects:
            print(project.get("name", ""), file=out)
    return 0


def cmd_projects_show(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET /v1/projects/{project}``."""
    project = ams.get_project(args.name)
    _print_json(project, out) if args.json else _print_object(project, out)
    return 0


def cmd_projects_create(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``POST /v1/projects/{project}``."""
    project = ams.create_project(args.name, args.description)
    _print_json(project, out) if args.json else print(f"created project {args.name}", file=out)
    return 0


def cmd_projects_delete(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``DELETE /v1/projects/{project}``."""
    ams.delete_project(args.name)
    print(f"deleted project {args.name}", file=out)
    return 0


# ----------------------------------------------------------------------------------------------
# entry point
# ----------------------------------------------------------------------------------------------
def _error(message: str, secrets: Sequence[str]) -> None:
    message = mask(message, secrets)  # before anything is cut or joined
    message = " ".join(message.split())  # one line
    print(f"{PROG}: error: {message}", file=sys.stderr)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``ams`` command with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    Never raises for expected failures: service errors, missing settings and bad input files
    are printed as one line on stderr.
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["emulator"]:
        from pymod.emulator.__main__ import main as emulator_main

        return emulator_main(args_list[1:], prog=f"{PROG} emulator")
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed)
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.command == "emulator":  # "ams --host x emulator": options before the command
        _error("give emulator options after 'emulator' (see 'ams emulator --help')", [])
        return 2
    settings = settings_from(args, os.environ)
    secrets = [settings.token]
    out = sys.stdout
    ams: Any = None
    try:
        if getattr(args, "need_client", True):
            ams = make_client(settings, need_project=getattr(args, "need_project", True))
        func: Command = args.func
        return func(args, ams, out)
    except CliError as exc:
        _error(str(exc), secrets)
        return exc.code
    except AmsArgumentException as exc:  # an invalid name or setting: nothing was sent
        _error(str(exc), secrets)
        return 2
    except AmsException as exc:
        _error(str(exc), secrets)
        return 1
    except KeyboardInterrupt:
        _error("interrupted", [])
        return 130
    except BrokenPipeError:
        # stdout went away (e.g. "| head"): quiet exit, and no second error at interpreter exit
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1
    finally:
        if ams is not None:
            ams.close()


if __name__ == "__main__":
    sys.exit(main())
