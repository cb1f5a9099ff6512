"""A minimal, fast, in-memory AMS-compatible HTTPS server for the benchmarks.

It is NOT the emulator: it implements only what the benchmarks need (topic/subscription
create/show/delete, publish, pull, acknowledge, offsets, modifyOffset) with the AMS v1 wire
formats (3-space JSON replies, string pull options, cumulative acks), and it checks nothing it
does not have to (no roles, no ACLs, no ack deadline). Its one goal is to cost much less CPU per
request than any client, so that it is never the bottleneck of a client measurement.

Design: blocking sockets, one thread per connection, TLS from a throwaway ``trustme`` CA,
HTTP/1.1 keep-alive parsed by hand. With one client connection there is no event loop and no
thread switching on the request path: ``recv`` -> parse -> handle -> ``sendall``. Pull replies are
assembled from message fragments pre-rendered at publish time.

Run as a separate process (so that the client's ``time.process_time()`` only counts client work)::

    python benchmarks/server.py [--port 0] [--token T] [--dir DIR]

It prints one line ``READY <host:port> <ca-path> <token>`` on stdout once it listens, and
serves until stdin is closed or it receives SIGTERM.

Bench-only routes (outside ``/v1``, need the token):

* ``GET /bench/stats`` -> ``{"requests": n, "cpu": process CPU seconds, "messages": stored}``
* ``POST /bench/fill`` ``{"project", "topic", "count", "size"}`` -> stores ``count`` messages of
  ``size`` random-looking payload bytes (Base64-encoded) without an HTTP publish per message.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
from json.encoder import encode_basestring
from typing import Any, Dict, List, Optional, Tuple

_IND = "   "
_PROJECT_PREFIX = "/v1/projects/"


# ------------------------------------------------------------------------------------------
# state
# ------------------------------------------------------------------------------------------
class Topic:
    __slots__ = ("name", "base", "frags", "created")

    def __init__(self, name: str) -> None:
        self.name = name
        self.base = 0  # offset of frags[0]
        self.frags: List[str] = []  # pre-rendered "message" objects (6-space-indented body)
        self.created = _now_seconds()

    @property
    def end(self) -> int:
        return self.base + len(self.frags)


class Sub:
    __slots__ = ("name", "project", "topic", "offset", "next_offset", "ack_deadline", "created")

    def __init__(self, name: str, project: str, topic: Topic, ack_deadline: int) -> None:
        self.name = name
        self.project = project
        self.topic = topic
        self.offset = topic.end
        self.next_offset = 0
        self.ack_deadline = ack_deadline
        self.created = _now_seconds()


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.topics: Dict[Tuple[str, str], Topic] = {}
        self.subs: Dict[Tuple[str, str], Sub] = {}
        self.requests = 0

    def trim(self, topic: Topic) -> None:
        """Forget messages every subscription of ``topic`` has acknowledged (keeps RSS flat)."""
        low = min((s.offset for s in self.subs.values() if s.topic is topic), default=topic.end)
        drop = low - topic.base
        if drop >= 4096:
            del topic.frags[:drop]
            topic.base = low


def _now_seconds() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _publish_time() -> str:
    ns = time.time_ns()
    seconds, nanos = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


def _render(offset: int, attributes: Optional[Dict[str, str]], data: str, ptime: str) -> str:
    """One stored message as it appears inside a pull reply (key order as AMS)."""
    i4 = _IND * 4
    parts = ["{\n", i4, '"messageId": "', str(offset), '",\n']
    if attributes:
        parts.append(i4 + '"attributes": {\n')
        parts.append(
            ",\n".join(
                f'{i4}{_IND}"{k}": "{attributes[k]}"' for k in sorted(attributes)
            )
        )
        parts.append("\n" + i4 + "},\n")
    parts += [i4, '"data": ', encode_basestring(data), ",\n", i4, '"publishTime": "', ptime,
              '"\n', _IND * 3, "}"]
    return "".join(parts)


# ------------------------------------------------------------------------------------------
# replies
# ------------------------------------------------------------------------------------------
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            405: "Method Not Allowed", 409: "Conflict", 500: "Internal Server Error"}
_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHORIZED", 404: "NOT_FOUND", 405: "NOT_FOUND",
           409: "ALREADY_EXISTS", 500: "INTERNAL_SERVER_ERROR"}


class HttpError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _error_body(code: int, message: str) -> str:
    status = _STATUS.get(code, "INTERNAL_SERVER_ERROR")
    return (
        f'{{\n   "error": {{\n      "code": {code},\n      "message": '
        f'{encode_basestring(message)},\n      "status": "{status}"\n   }}\n}}'
    )


def _response(code: int, body: str, close: bool = False) -> bytes:
    raw = body.encode("utf-8")
    head = (
        f"HTTP/1.1 {code} {_REASONS.get(code, 'Error')}\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(raw)}\r\n"
        + ("Connection: close\r\n" if close else "")
        + "\r\n"
    )
    return head.encode("ascii") + raw


def _dumps3(obj: Any) -> str:
    return json.dumps(obj, indent=3)


# ------------------------------------------------------------------------------------------
# the application
# ------------------------------------------------------------------------------------------
class App:
    def __init__(self, token: str) -> None:
        self.token = token
        self.state = State()
        self.pad = os.urandom(4096)

    def handle(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> Tuple[int, str]:
        if headers.get("x-api-key") != self.token:
            raise HttpError(401, "Unauthorized")
        if path.startswith(_PROJECT_PREFIX):
            rest = path[len(_PROJECT_PREFIX):].split("?", 1)[0]
            parts = rest.split("/")
            if len(parts) != 3:
                raise HttpError(404, "Not Found")
            project, kind, name = parts
            verb = ""
            if ":" in name:
                name, verb = name.split(":", 1)
            if kind == "topics":
                return self.topic_route(method, project, name, verb, body)
            if kind == "subscriptions":
                return self.sub_route(method, project, name, verb, body)
            raise HttpError(404, "Not Found")
        if path == "/bench/stats":
            st = self.state
            msgs = sum(len(t.frags) for t in st.topics.values())
            return 200, json.dumps({"requests": st.requests, "cpu": time.process_time(),
                                    "messages": msgs})
        if path == "/bench/fill" and method == "POST":
            req = json.loads(body)
            return 200, self.fill(req["project"], req["topic"], int(req["count"]),
                                  int(req.get("size", 1024)))
        raise HttpError(404, "Not Found")

    # ---- topics -------------------------------------------------------------------------------
    def _topic(self, project: str, name: str) -> Topic:
        topic = self.state.topics.get((project, name))
        if topic is None:
            raise HttpError(404, "Topic doesn't exist")
        return topic

    def _topic_json(self, project: str, topic: Topic) -> str:
        return _dumps3({"name": f"/projects/{project}/topics/{topic.name}",
                        "created_on": topic.created})

    def topic_route(self, method: str, project: str, name: str, verb: str,
                    body: bytes) -> Tuple[int, str]:
        st = self.state
        if verb == "publish" and method == "POST":
            return 200, self.publish(self._topic(project, name), body)
        if verb:
            raise HttpError(404, "Not Found")
        if method == "PUT":
            if (project, name) in st.topics:
                raise HttpError(409, "Topic already exists")
            topic = st.topics[(project, name)] = Topic(name)
            return 200, self._topic_json(project, topic)
        if method == "GET":
            return 200, self._topic_json(project, self._topic(project, name))
        if method == "DELETE":
            self._topic(project, name)
            del st.topics[(project, name)]
            return 200, ""
        raise HttpError(405, "Method Not Allowed")

    def publish(self, topic: Topic, body: bytes) -> str:
        try:
            messages = json.loads(body)["messages"]
            if not isinstance(messages, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise HttpError(400, "Invalid Message Arguments") from None
        ptime = _publish_time()
        ids = []
        with self.state.lock:
            offset = topic.end
            frags = topic.frags
            for msg in messages:
                if not isinstance(msg, dict):
                    raise HttpError(400, "Invalid Message Arguments")
                frags.append(_render(offset, msg.get("attributes"), msg.get("data") or "",
                                     ptime))
                ids.append(offset)
                offset += 1
        if not ids:
            return '{\n   "messageIds": []\n}'
        return ('{\n   "messageIds": [\n      "'
                + '",\n      "'.join(map(str, ids)) + '"\n   ]\n}')

    def fill(self, project: str, name: str, count: int, size: int) -> str:
        topic = self._topic(project, name)
        ptime = _publish_time()
        data = base64.b64encode((self.pad * (size // len(self.pad) + 1))[:size]).decode()
        attrs = {"seq": "x"}
        with self.state.lock:
            offset = topic.end
            for _ in range(count):
                topic.frags.append(_render(offset, attrs, data, ptime))
                offset += 1
        return json.dumps({"end": topic.end})

    # ---- subscriptions -----------------------------------------------------------------------
    def _sub(self, project: str, name: str) -> Sub:
        sub = self.state.subs.get((project, name))
        if sub is None:
            raise HttpError(404, "Subscription doesn't exist")
        return sub

    def _sub_json(self, project: str, sub: Sub) -> str:
        return _dumps3({
            "name": f"/projects/{project}/subscriptions/{sub.name}",
            "topic": f"/projects/{project}/topics/{sub.topic.name}",
            "pushConfig": {"type": "", "pushEndpoint": "", "maxMessages": 0,
                           "authorizationHeader": {}, "retryPolicy": {},
                           "verificationHash": "", "verified": False, "mattermostUrl": "",
                           "mattermostUsername": "", "mattermostChannel": "",
                           "base64Decode": False},
            "ackDeadlineSeconds": sub.ack_deadline,
            "createdOn": sub.created,
        })

    def sub_route(self, method: str, project: str, name: str, verb: str,
                  body: bytes) -> Tuple[int, str]:
        st = self.state
        if verb == "pull" and method == "POST":
            return 200, self.pull(self._sub(project, name), body)
        if verb == "acknowledge" and method == "POST":
            return 200, self.ack(project, name, body)
        if verb == "offsets" and method == "GET":
            sub = self._sub(project, name)
            topic = sub.topic
            if sub.offset < topic.base:
                sub.offset, sub.next_offset = topic.base, 0
            return 200, (f'{{\n   "max": {topic.end},\n   "min": {topic.base},\n'
                         f'   "current": {sub.offset}\n}}')
        if verb == "modifyOffset" and method == "POST":
            sub = self._sub(project, name)
            try:
                offset = int(json.loads(body or b"{}").get("offset", 0))
            except (ValueError, AttributeError, TypeError):
                raise HttpError(400, "Invalid Offset Arguments") from None
            if not sub.topic.base <= offset <= sub.topic.end:
                raise HttpError(400, "Offset out of bounds")
            sub.offset, sub.next_offset = offset, 0
            return 200, ""
        if verb == "modifyAckDeadline" and method == "POST":
            sub = self._sub(project, name)
            sub.ack_deadline = int(json.loads(body)["ackDeadlineSeconds"])
            return 200, ""
        if verb:
            raise HttpError(404, "Not Found")
        if method == "PUT":
            if (project, name) in st.subs:
                raise HttpError(409, "Subscription already exists")
            try:
                req = json.loads(body)
                topic_name = req["topic"].rsplit("/", 1)[-1]
                deadline = int(req.get("ackDeadlineSeconds", 10))
            except (ValueError, KeyError, TypeError, AttributeError):
                raise HttpError(400, "Invalid Subscription Arguments") from None
            topic = self._topic(project, topic_name)
            sub = st.subs[(project, name)] = Sub(name, project, topic, deadline)
            return 200, self._sub_json(project, sub)
        if method == "GET":
            return 200, self._sub_json(project, self._sub(project, name))
        if method == "DELETE":
            self._sub(project, name)
            del st.subs[(project, name)]
            return 200, ""
        raise HttpError(405, "Method Not Allowed")

    def pull(self, sub: Sub, body: bytes) -> str:
        try:
            opts = json.loads(body)
            raw_max = opts.get("maxMessages", "1")
            if not isinstance(raw_max, str) or not isinstance(
                opts.get("returnImmediately", ""), str
            ):
                raise TypeError
        except (ValueError, TypeError, AttributeError):
            raise HttpError(400, "Invalid Pull Parameters") from None
        try:
            count = max(int(raw_max), 1)
        except ValueError:
            count = 1
        topic = sub.topic
        with self.state.lock:
            if sub.offset < topic.base:
                sub.offset = topic.base
            start = sub.offset - topic.base
            frags = topic.frags[start:start + count]
            sub.next_offset = sub.offset + len(frags)
        if not frags:
            return '{\n   "receivedMessages": []\n}'
        prefix = f'      {{\n         "ackId": "projects/{sub.project}/subscriptions/{sub.name}:'
        out = []
        offset = sub.offset
        for frag in frags:
            out.append(f'{prefix}{offset}",\n         "message": {frag}\n      }}')
            offset += 1
        return '{\n   "receivedMessages": [\n' + ",\n".join(out) + "\n   ]\n}"

    def ack(self, project: str, name: str, body: bytes) -> str:
        try:
            ids = json.loads(body)["ackIds"]
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise HttpError(400, "Invalid ack parameter") from None
        sub = self._sub(project, name)
        prefix = f"projects/{project}/subscriptions/{name}:"
        highest = -1
        for ack_id in ids:
            tail = ack_id[len(prefix):]
            if not ack_id.startswith(prefix) or not tail.isdigit():
                raise HttpError(400, "Invalid ack id")
            highest = max(highest, int(tail))
        if highest < 0:
            raise HttpError(400, "Invalid ack id")
        with self.state.lock:
            if sub.next_offset == 0:
                raise HttpError(500, "no ack pending")
            if highest < sub.offset or highest >= sub.next_offset:
                raise HttpError(500, "wrong ack")
            sub.offset, sub.next_offset = highest + 1, 0
            self.state.trim(sub.topic)
        return "{}"


# ------------------------------------------------------------------------------------------
# HTTP/1.1 over TLS, one thread per connection
# ------------------------------------------------------------------------------------------
def serve_connection(app: App, conn: ssl.SSLSocket) -> None:
    buf = b""
    recv = conn.recv
    try:
        while True:
            end = buf.find(b"\r\n\r\n")
            while end < 0:
                chunk = recv(262144)
                if not chunk:
                    return
                buf += chunk
                end = buf.find(b"\r\n\r\n")
            head = buf[:end].decode("latin-1")
            lines = head.split("\r\n")
            try:
                method, target, _version = lines[0].split(" ", 2)
            except ValueError:
                conn.sendall(_response(400, _error_body(400, "Bad Request"), close=True))
                return
            headers: Dict[str, str] = {}
            for line in lines[1:]:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            need = end + 4 + length
            while len(buf) < need:
                chunk = recv(max(262144, need - len(buf)))
                if not chunk:
                    return
                buf += chunk
            body = buf[end + 4:need]
            buf = buf[need:]
            app.state.requests += 1
            try:
                code, reply = app.handle(method, target, headers, body)
            except HttpError as exc:
                code, reply = exc.code, _error_body(exc.code, exc.message)
            except Exception as exc:  # noqa: BLE001 - a benchmark server must keep serving
                code, reply = 500, _error_body(500, f"server error: {exc!r}")
            close = headers.get("connection", "").lower() == "close"
            conn.sendall(_response(code, reply, close))
            if close:
                return
    except (OSError, ssl.SSLError):
        return
    finally:
        with contextlib.suppress(OSError):
            conn.close()


def make_tls(directory: str) -> Tuple[ssl.SSLContext, str]:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    cert.configure_cert(ctx)
    ca_path = os.path.join(directory, "bench-ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    return ctx, ca_path


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="benchtoken" + "0" * 54)
    parser.add_argument("--dir", default=None, help="where to write the CA file")
    args = parser.parse_args(argv)

    directory = args.dir or tempfile.mkdtemp(prefix="pymod-bench-")
    ctx, ca_path = make_tls(directory)
    app = App(args.token)

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.listen(128)
    port = listener.getsockname()[1]

    def accept_loop() -> None:
        while True:
            try:
                raw, _addr = listener.accept()
            except OSError:
                return
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                conn = ctx.wrap_socket(raw, server_side=True)
            except (OSError, ssl.SSLError):
                raw.close()
                continue
            threading.Thread(target=serve_connection, args=(app, conn), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    sys.stdout.write(f"READY {args.host}:{port} {ca_path} {args.token}\n")
    sys.stdout.flush()
    # Serve until the parent closes our stdin (or kills us).
    with contextlib.suppress(KeyboardInterrupt, OSError):
        sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
