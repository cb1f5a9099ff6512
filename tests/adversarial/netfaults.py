"""Network adversaries of our own, independent of the emulator's fault injector.

* :class:`FaultProxy`: a loopback HTTP/1.1 proxy (threads and sockets). It terminates TLS with a
  certificate of its own CA (``trustme``), so it sees each reply as bytes and can duplicate,
  trickle, reset or truncate it, and talks TLS to the upstream server (the emulator) on one
  upstream connection per client connection. Proxying plain TCP would not do: a reply
  duplicated inside a TLS stream breaks the record sequence and is refused by TLS before HTTP
  ever sees it, which is not what a misbehaving middlebox in front of a TLS-terminating balancer
  does. Which fault hits which reply is decided by a ``plan`` callable.
* :class:`HostileServer`: a TLS server that answers every request with a scripted behaviour
  (trickled bytes, bodies past any cap, endless chunked streams, gzip bombs, duplicated and
  late-duplicated replies).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import time
import zlib
from collections import Counter
from typing import Callable, Iterator, List, Optional, Tuple

import trustme

Plan = Callable[[bytes, bytes], str]

#: Proxy fault kinds.
PASS, DUP, TRICKLE, RESET, TRUNCATE = "pass", "dup", "trickle", "reset", "truncate"


class TLSFiles:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost."""

    def __init__(self, directory: str) -> None:
        self.ca = trustme.CA()
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        self.ca_path = f"{directory}/adversary-ca.pem"
        self.ca.cert_pem.write_to_path(self.ca_path)
        self.server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self.server_context)


def read_message(stream) -> Optional[bytes]:  # type: ignore[no-untyped-def]
    """One HTTP/1.1 message (head and body, as bytes on the wire) from a buffered binary
    stream; None at EOF before a message starts."""
    first = stream.readline(65537)
    if not first:
        return None
    lines = [first]
    while lines[-1] not in (b"\r\n", b"\n", b""):
        lines.append(stream.readline(65537))
    head = b"".join(lines)
    length, chunked = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return head + stream.read(length)
    parts = [head]
    while True:
        size_line = stream.readline(65537)
        parts.append(size_line)
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while True:  # trailer up to the blank line
                trailer = stream.readline(65537)
                parts.append(trailer)
                if trailer in (b"\r\n", b"\n", b""):
                    return b"".join(parts)
        parts.append(stream.read(size + 2))


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` with a TCP RST (SO_LINGER 0)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        socket.socket.close(sock)


class _Server:
    """A threaded TLS listener on 127.0.0.1; ``serve(tls_socket)`` runs per connection."""

    def __init__(self, tls: TLSFiles) -> None:
        self.tls = tls
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.endpoint = f"127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._conns: List[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self):  # type: ignore[no-untyped-def]
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        for conn in list(self._conns):
            with contextlib.suppress(OSError):
                conn.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            self._conns.append(raw)
            threading.Thread(target=self._handle, args=(raw,), daemon=True).start()

    def _handle(self, raw: socket.socket) -> None:
        try:
            conn = self.tls.server_context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        try:
            self.serve(conn)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def serve(self, conn: ssl.SSLSocket) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class FaultProxy(_Server):
    """See the module docstring. ``counts`` tallies the faults applied, by kind."""

    def __init__(self, tls: TLSFiles, upstream: Tuple[str, int], upstream_ca: str,
                 plan: Plan) -> None:
        super().__init__(tls)
        self.upstream = upstream
        self.upstream_context = ssl.create_default_context(cafile=upstream_ca)
        self.plan = plan
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def serve(self, conn: ssl.SSLSocket) -> None:
        host, port = self.upstream
        up = self.upstream_context.wrap_socket(socket.create_connection((host, port)),
                                               server_hostname=host)
        self._conns.append(up)
        client_in, up_in = conn.makefile("rb"), up.makefile("rb")
        try:
            while True:
                request = read_message(client_in)
                if request is None:
                    return
                up.sendall(request)
                reply = read_message(up_in)
                if reply is None:
                    return
                kind = self.plan(request, reply)
                with self._lock:
                    self.counts[kind] += 1
                if not self._deliver(conn, reply, kind):
                    return
        finally:
            with contextlib.suppress(OSError):
                up.close()

    @staticmethod
    def _deliver(conn: ssl.SSLSocket, reply: bytes, kind: str) -> bool:
        """Send ``reply`` to the client with fault ``kind``; False when the connection ends."""
        if kind == DUP:
            conn.sendall(reply)
            conn.sendall(reply)  # a second TLS record: the client's socket holds it, unread
        elif kind == TRICKLE:
            for index in range(len(reply)):
                conn.sendall(reply[index:index + 1])
                time.sleep(0.5)
        elif kind == RESET:
            conn.sendall(reply[: len(reply) // 2])
            _reset(conn)
            return False
        elif kind == TRUNCATE:
            conn.sendall(reply[:-max(1, len(reply) // 3)])
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            return False
        else:
            conn.sendall(reply)
        return True


# ---- the hostile server ------------------------------------------------------------------------
Behaviour = Callable[[ssl.SSLSocket, bytes, int], bool]
"""``behaviour(conn, request, index)`` answers request number ``index`` (from 0, counted over the
server's life); returns False to close the connection."""


def reply_bytes(body: bytes, status: str = "200 OK", headers: str = "") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{headers}\r\n").encode() + body


class HostileServer(_Server):
    """A TLS server answering with ``behaviour`` (see :data:`Behaviour`)."""

    def __init__(self, tls: TLSFiles, behaviour: Behaviour) -> None:
        super().__init__(tls)
        self.behaviour = behaviour
        self.requests: List[bytes] = []
        self.connections = 0
        self._lock = threading.Lock()

    def serve(self, conn: ssl.SSLSocket) -> None:
        with self._lock:
            self.connections += 1
        stream = conn.makefile("rb")
        while True:
            request = read_message(stream)
            if request is None:
                return
            with self._lock:
                index = len(self.requests)
                self.requests.append(request)
            if not self.behaviour(conn, request, index):
                return


def trickle(conn: ssl.SSLSocket, data: bytes, every: float = 0.5) -> None:
    """Send ``data`` one byte at a time, ``every`` seconds apart."""
    for index in range(len(data)):
        conn.sendall(data[index:index + 1])
        time.sleep(every)


def endless_chunks(conn: ssl.SSLSocket, chunk: bytes = b"x" * 65536) -> None:
    """A 200 with a chunked body that never ends (until the client goes away)."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    while True:
        conn.sendall(frame)


def gzip_bomb(expanded: int) -> bytes:
    """A gzip stream of ``expanded`` zero bytes (about 1/1000 of that compressed)."""
    encoder = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    parts = [encoder.compress(block) for _ in range(expanded >> 20)]
    parts.append(encoder.flush())
    return b"".join(parts)


def serve_forever_body(conn: ssl.SSLSocket, length: int) -> None:
    """A 200 announcing ``length`` bytes and sending zeros until the client goes away."""
    conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {length}\r\n\r\n".encode())
    block = bytes(65536)
    for _ in range(length // len(block) + 1):
        conn.sendall(block)


def iter_ids(start: int, count: int) -> Iterator[str]:
    return (str(i) for i in range(start, start + count))
