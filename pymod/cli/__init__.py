"""The ``ams`` command: everyday AMS work from a shell.

::

    ams demo                                   # full round trip against an embedded emulator
    ams emulator --port 8443 --env-file ~/.ams-env   # run the emulator, save its settings
    . ~/.ams-env                               # AMS_HOST, AMS_TOKEN, AMS_PROJECT, AMS_CA
    ams topics create alerts
    ams subs create alerts-sub --topic alerts --ack-deadline 30
    ams publish alerts "disk full" --attr host=node7
    ams publish alerts --file msgs.jsonl       # {"data": "...", "attributes": {...}} per line
    ams consume alerts-sub --max 100           # JSON Lines on stdout
    ams consume alerts-sub | ams publish copy --file -   # copy a subscription to a topic
    ams offsets alerts-sub --to-time 2024-05-02T09:00:00Z

Settings come from flags or the environment: ``--host``/``AMS_HOST``, ``--token``/``AMS_TOKEN``
(or ``--token-file``/``AMS_TOKEN_FILE``), ``--project``/``AMS_PROJECT``, ``--ca``/``AMS_CA`` (CA
bundle to verify the server), ``--cert``/``AMS_CERT`` and ``--key``/``AMS_KEY`` (X.509 login
instead of a token), ``--timeout``/``AMS_TIMEOUT``, ``--retry``/``AMS_RETRY`` and
``--retry-backoff``/``AMS_RETRY_BACKOFF`` (retries of transient failures, for every request),
``--authn-port``. Flags may be given before or after the command.

Exit status: 0 on success, 1 when the service (or the consumer) reports an error or something
was not published, 2 for usage errors, missing settings and bad input, 130 after Ctrl+C. Errors
are printed as one line ``ams: error: ...`` on stderr (plus a ``hint:`` line for TLS, DNS and
refused connections), never with the token.

The package has one module per command group: :mod:`pymod.cli.publish`,
:mod:`pymod.cli.consume`, :mod:`pymod.cli.resources`; :mod:`pymod.cli.common` holds settings,
output helpers and hints.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import IO, Any, Optional, Sequence

from pymod.__version__ import __version__
from pymod.amsexceptions import AmsArgumentException, AmsException, mask
from pymod.cli import consume, publish, resources
from pymod.cli.common import (
    PROG,
    CliError,
    Command,
    Settings,
    connection_hint,
    describe,
    error_text,
    make_client,
    message_record,
    missing_extra,
    non_negative_float,
    non_negative_int,
    parse_time,
    positive_float,
    positive_int,
    settings_from,
)

__all__ = [
    "CliError",
    "Settings",
    "build_parser",
    "main",
    "make_client",
    "message_record",
    "parse_time",
    "settings_from",
]

VERSION = f"{PROG} (pymod-ams) {__version__}"


def _common_options(suppress: bool) -> argparse.ArgumentParser:
    """The connection options, accepted before and after the command."""
    default = argparse.SUPPRESS if suppress else None
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("connection (flags win over environment variables)")
    group.add_argument("--host", default=default, help="AMS host[:port] (AMS_HOST)")
    group.add_argument("--token", default=default, help="AMS token (AMS_TOKEN)")
    group.add_argument("--token-file", default=default, metavar="FILE",
                       help="file holding the AMS token (AMS_TOKEN_FILE)")
    group.add_argument("--project", default=default, help="project (AMS_PROJECT)")
    group.add_argument("--ca", default=default, help="CA bundle to verify the server (AMS_CA)")
    group.add_argument("--cert", default=default, help="client certificate for X.509 login (AMS_CERT)")
    group.add_argument("--key", default=default, help="key of --cert (AMS_KEY)")
    group.add_argument("--authn-port", type=int, default=default,
                       help="port of the X.509 authentication service (default 8443)")
    group.add_argument("--timeout", type=positive_float, default=default,
                       help="request timeout in seconds (AMS_TIMEOUT, default 30)")
    group.add_argument("--retry", type=non_negative_int, default=default, metavar="N",
                       help="retry each request up to N times on connection errors and "
                            "502/503/504 (AMS_RETRY, default 0)")
    group.add_argument("--retry-backoff", type=non_negative_float, default=default, metavar="S",
                       help="first pause between retries, doubled each time "
                            "(AMS_RETRY_BACKOFF, default 1)")
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
    parser.add_argument("--version", action="version", version=VERSION)
    common = _common_options(suppress=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def sub(container: Any, name: str, help: str, **kw: Any) -> argparse.ArgumentParser:
        return container.add_parser(name, help=help, description=help, parents=[common], **kw)  # type: ignore[no-any-return]

    demo = sub(commands, "demo", "publish and consume messages through an embedded AMS emulator")
    demo.add_argument("-n", "--messages", type=positive_int, default=10_000,
                      help="messages to publish (default 10000)")
    demo.add_argument("--batch", type=positive_int, default=500,
                      help="messages per publish and pull (default 500)")
    demo.add_argument("--size", type=non_negative_int, default=64,
                      help="random payload bytes per message (default 64)")
    demo.set_defaults(func=cmd_demo, need_client=False)

    commands.add_parser("emulator", help="run the AMS emulator (see 'ams emulator --help')",
                        add_help=False)
    resources.add_parsers(commands, sub)
    publish.add_parser(commands, sub)
    consume.add_parsers(commands, sub)
    return parser


def cmd_demo(args: argparse.Namespace, ams: Any, out: IO[str]) -> int:
    """``ams demo``: :func:`pymod.demo.run_demo`."""
    try:
        from pymod.demo import run_demo

        return run_demo(n=args.messages, batch=args.batch, size=args.size, out=out)
    except ModuleNotFoundError as exc:
        raise missing_extra(exc, "ams demo") from None


def _run_emulator(argv: Sequence[str]) -> int:
    try:
        from pymod.emulator.__main__ import main as emulator_main
    except ModuleNotFoundError as exc:
        _error(str(missing_extra(exc, "ams emulator")), [])
        return 2
    return emulator_main(list(argv), prog=f"{PROG} emulator")


# ----------------------------------------------------------------------------------------------
# entry point
# ----------------------------------------------------------------------------------------------
def _error(message: str, secrets: Sequence[str], hint: str = "") -> None:
    message = mask(message, secrets)  # before anything is cut or joined
    message = " ".join(message.split())  # one line
    print(f"{PROG}: error: {message}", file=sys.stderr)
    if hint:
        print(f"{PROG}: {hint}", file=sys.stderr)


def _service_error(exc: AmsException, args: argparse.Namespace, ams: Any) -> str:
    """``exc`` with the resource it is about (``topic 'alerts': ...``; for a command on no
    named resource, such as ``topics list``, the project)."""
    what = describe(args)
    if not what and ams is not None and getattr(args, "need_project", True) and ams.project:
        what = f"project {ams.project!r}"
    return f"{what}: {error_text(exc)}" if what else error_text(exc)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``ams`` command with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    Never raises for expected failures: service errors, missing settings and bad input files
    are printed as one line on stderr.
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["emulator"]:
        return _run_emulator(args_list[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help/--version (0) or a usage error (2, already printed)
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
            secrets.append(ams.token)
        func: Command = args.func
        return func(args, ams, out)
    except CliError as exc:
        _error(str(exc), secrets, exc.hint)
        return exc.code
    except AmsArgumentException as exc:  # an invalid name or setting: nothing was sent
        _error(_service_error(exc, args, ams), secrets)
        return 2
    except AmsException as exc:
        _error(_service_error(exc, args, ams), secrets, connection_hint(exc))
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
