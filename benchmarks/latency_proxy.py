"""A latency-injecting loopback TCP proxy: a pass-through with a fixed delay in each direction.

Every chunk of bytes read from one side is written to the other side ``delay`` seconds later
(order kept, no bandwidth limit), so 12.5 ms each way gives a 25 ms round trip. A new connection
also waits one round trip before its first bytes go through (the TCP handshake a real WAN costs);
TLS passes through untouched (the client still verifies the server's certificate).

Run it as a child process (it then has its own interpreter and GIL)::

    python benchmarks/latency_proxy.py --target 127.0.0.1:8443 --delay 0.0125
    # prints "READY <port>" on stdout; stops when stdin closes

or in-process with :func:`start_proxy_process` from another script.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from typing import Iterator, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy ``reader`` to ``writer``, each chunk ``delay`` seconds after it was read."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                with contextlib.suppress(OSError):
                    if writer.can_write_eof():
                        writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    sender = asyncio.ensure_future(deliver())
    try:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                break
        await sender
    except (ConnectionError, OSError):
        sender.cancel()
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def serve(target_host: str, target_port: int, delay: float, port: int = 0) -> None:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            await asyncio.sleep(2 * delay)  # the TCP handshake's round trip
        except asyncio.CancelledError:
            client_w.close()
            return
        try:
            server_r, server_w = await asyncio.open_connection(target_host, target_port)
        except OSError:
            client_w.close()
            return
        with contextlib.suppress(asyncio.CancelledError):  # the proxy is shutting down
            await asyncio.gather(_pump(client_r, server_w, delay),
                                 _pump(server_r, client_w, delay), return_exceptions=True)

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    sockname = server.sockets[0].getsockname()
    print(f"READY {sockname[1]}", flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)  # ends when the parent goes
    async with server:
        await stdin_closed


@contextlib.contextmanager
def start_proxy_process(target: str, delay: float) -> Iterator[int]:
    """Run the proxy in a child process in front of ``target`` (``host:port``); yield its port."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    from run import child_process  # benchmarks/run.py

    cmd = [sys.executable, os.path.join(HERE, "latency_proxy.py"), "--target", target,
           "--delay", repr(delay)]
    with child_process(cmd, 2, "latency proxy") as (_proc, (port,)):
        yield int(port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, help="host:port to forward to")
    parser.add_argument("--delay", type=float, default=0.0125, help="seconds each way")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any)")
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    asyncio.run(serve(host, int(port), args.delay, args.port))


if __name__ == "__main__":
    main()
