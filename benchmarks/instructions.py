"""Client instructions per single publish, counted by valgrind's callgrind (repeatable, unlike
wall-clock figures on a shared machine).

    .venv/bin/python benchmarks/instructions.py [--baseline GIT_REV] [--requests N]

For pymod (and pymod as of ``--baseline``), and for pymod with the per-request guards switched
off one at a time (the deadline watchdog, the unread-bytes check, the bypass decision), the
client process runs N single publishes against ``benchmarks/server.py`` under callgrind, and once
with none; the difference divided by N is printed. Needs ``valgrind`` (Debian's package).
About 20 s per variant.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import run as bench  # noqa: E402

VARIANTS = ("pymod", "no-watchdog", "no-unread-check", "no-bypass-check", "none-of-the-three")


def child(variant: str, count: int, baseline: str) -> None:
    """In the callgrind'ed process: ``count`` single publishes with ``variant``."""
    server = argparse.Namespace(endpoint=os.environ["B_EP"], token=os.environ["B_TOK"],
                                ca_path=os.environ["B_CA"])
    if variant == "baseline":
        old = bench.baseline_package(baseline)
        client = bench.PymodClient(server, old.ArgoMessagingService, old.AmsMessage)
    else:
        import pymod.transport as transport
        import pymod.wire as wire

        if variant in ("no-watchdog", "none-of-the-three"):
            wire.WATCHDOG.watch = lambda conn, deadline: 1  # type: ignore[method-assign]
            wire.WATCHDOG.unwatch = lambda seq: None  # type: ignore[method-assign]
        if variant in ("no-unread-check", "none-of-the-three"):
            wire.has_unread = lambda conn: False
        if variant in ("no-bypass-check", "none-of-the-three"):
            transport.may_bypass_requests = lambda *args: True
        client = bench.PymodClient(server)
    topic = f"instr-{os.getpid()}"
    client.ams.create_topic(topic)
    payload = [b"x" * 1024]
    for _ in range(50 + count):
        client.publish(topic, payload)


def count(variant: str, requests: int, baseline: str, env: dict) -> int:
    out = tempfile.mktemp(prefix="callgrind-")
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
         __file__, "--child", variant, "--requests", str(requests), "--baseline", baseline],
        capture_output=True, text=True, env=env, check=True,
    )
    os.unlink(out)
    match = re.search(r"Collected : (\d+)", proc.stderr)
    if match is None:
        raise RuntimeError(proc.stderr[-500:])
    return int(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="c940f30")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.requests, args.baseline)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)")
        return 1
    with bench.start_server() as server:
        env = dict(os.environ, B_EP=server.endpoint, B_TOK=server.token, B_CA=server.ca_path)
        print(f"client instructions per single publish (1 KiB), {args.requests} requests, "
              f"callgrind")
        for variant in ("baseline", *VARIANTS):
            per = (count(variant, args.requests, args.baseline, env)
                   - count(variant, 0, args.baseline, env)) / args.requests
            label = f"pymod@{args.baseline}" if variant == "baseline" else variant
            print(f"  {label:22s} {per:12,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
