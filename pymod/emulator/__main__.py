"""Command line: run the AMS emulator in the foreground.

``python -m pymod.emulator [options]`` (also ``ams emulator``) starts the emulator,
prints what a client needs to connect (endpoint, CA file, admin token, project,
authn port and a ready-to-paste ``export`` line) and serves until SIGINT or
SIGTERM, then exits with status 0.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
import threading
from types import FrameType
from typing import List, Optional, TextIO

from pymod.emulator.faults import FAULT_KINDS, FaultConfig, parse_kinds
from pymod.emulator.server import Emulator

__all__ = ["build_parser", "connection_info", "main"]


def build_parser(prog: str = "python -m pymod.emulator") -> argparse.ArgumentParser:
    """The argument parser of the emulator command."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run a local ARGO Messaging Service emulator over HTTPS.",
    )
    parser.add_argument("--port", type=int, default=0, help="AMS port (default: a free port)")
    parser.add_argument(
        "--authn-port", type=int, default=0, help="x509 authn port (default: a free port)"
    )
    parser.add_argument(
        "--data-dir",
        help="keep state, admin token and CA in this directory (default: in memory)",
    )
    parser.add_argument("--project", default="DEMO", help="project to create (default: DEMO)")
    parser.add_argument(
        "--token", help="admin token (default: generated; reused from --data-dir when present)"
    )
    parser.add_argument(
        "--no-push", action="store_true", help="disable push support (push configs get 409)"
    )
    parser.add_argument(
        "--push-ca", help="extra CA file trusted for push endpoints (besides the system CAs)"
    )
    parser.add_argument(
        "--max-message-bytes",
        type=int,
        default=1_500_000,
        help="largest accepted message in bytes (default: 1500000)",
    )
    parser.add_argument(
        "--env-file",
        metavar="PATH",
        help="write AMS_HOST, AMS_TOKEN, AMS_PROJECT and AMS_CA to PATH (mode 0600) as "
        "'export' lines, for '. PATH' in shells and cron",
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug", "trace"],
        help="server log level (default: warning)",
    )
    faults = parser.add_argument_group("fault injection")
    faults.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="probability (0..1) that an API request gets a fault (default: 0)",
    )
    faults.add_argument(
        "--fault-kinds",
        default="all",
        help=f"comma-separated fault kinds (default: all = {','.join(FAULT_KINDS)})",
    )
    faults.add_argument("--fault-seed", type=int, help="random seed, to replay a run")
    faults.add_argument(
        "--fault-delay",
        type=float,
        default=30.0,
        help="seconds a 'delay' fault holds the response (default: 30)",
    )
    return parser


def connection_info(emu: Emulator) -> str:
    """The text printed at startup: everything a client needs to connect."""
    exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in emu.env().items())
    lines = [
        "AMS emulator running",
        f"  endpoint:    {emu.endpoint}",
        f"  url:         {emu.url}/v1",
        f"  CA file:     {emu.ca_path}",
        f"  admin token: {emu.admin_token}   (user {emu.admin_name!r})",
        f"  project:     {emu.project}",
        f"  authn port:  {emu.authn_port}",
        f"  data dir:    {emu.data_dir or '(in memory)'}",
        f"  push:        {'enabled' if emu.push_enabled else 'disabled'}",
        f"  faults:      {emu.faults.describe()}",
        "",
        f"export {exports}",
        "",
        "Press Ctrl+C to stop.",
    ]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None, *, prog: str = "python -m pymod.emulator") -> int:
    """Run the emulator until SIGINT/SIGTERM; return the exit status."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        faults = FaultConfig(
            rate=args.fault_rate,
            kinds=parse_kinds(args.fault_kinds),
            seed=args.fault_seed,
            delay=args.fault_delay,
        )
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")

    emu = Emulator(
        project=args.project,
        admin_token=args.token,
        data_dir=args.data_dir,
        port=args.port,
        authn_port=args.authn_port,
        push_enabled=not args.no_push,
        max_message_bytes=args.max_message_bytes,
        faults=faults,
        log_level=args.log_level,
        push_ca=args.push_ca,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: Optional[FrameType]) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    out: TextIO = sys.stdout
    try:
        try:
            emu.start()
        except OSError as exc:
            print(f"error: cannot start the emulator: {exc.strerror or exc}", file=sys.stderr)
            return 1
        except ModuleNotFoundError as exc:  # the [emulator] extra is missing
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args.env_file:
            try:
                emu.write_env_file(args.env_file)
            except OSError as exc:
                print(f"error: cannot write {args.env_file}: {exc.strerror or exc}",
                      file=sys.stderr)
                return 1
        print(connection_info(emu), file=out, flush=True)
        if args.env_file:
            print(f"Settings written to {args.env_file}: load them with '. {args.env_file}'",
                  file=out, flush=True)
        while not stop.wait(0.5):
            if not emu.running:
                print("error: the emulator stopped unexpectedly", file=sys.stderr)
                return 1
    finally:
        emu.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("AMS emulator stopped.", file=out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
