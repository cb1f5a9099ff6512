"""A tiny HTTPS endpoint for AMS push subscriptions, using only the standard library.

AMS (or the emulator) pushes each message as an HTTPS POST to the subscription's
``pushEndpoint``. Before it does, the endpoint must prove it is yours: AMS fetches
``https://<host:port>/ams_verification_hash`` and expects the subscription's
``verificationHash`` as the body. This receiver serves that hash, accepts pushed messages
(``{"message": {...}, "subscription": "..."}`` or ``{"messages": [...]}``), checks the
``Authorization`` header when one is configured, prints the messages and answers 200 (AMS
pushes a message again until it gets 200/201/204/102).

Serve forever (you create and verify the subscription yourself)::

    openssl req -x509 -newkey rsa:2048 -nodes -days 7 -keyout key.pem -out cert.pem \\
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1
    ams emulator --push-ca cert.pem          # the emulator must trust the receiver's cert
    python examples/push_receiver.py --cert cert.pem --key key.pem --port 8443 --hash <hash>

Or let it do the whole round trip against the emulator (needs AMS_HOST, AMS_TOKEN,
AMS_PROJECT, AMS_CA as printed by ``ams emulator``)::

    python examples/push_receiver.py --cert cert.pem --key key.pem --demo 5

which creates a topic and a push subscription to itself, verifies the endpoint, publishes 5
messages, waits until they were pushed, and exits 0 (1 on time-out).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import json
import os
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional


class ReceiverState:
    """What the handler needs: the verification hash, the expected Authorization header, and
    the messages received so far."""

    def __init__(self, verification_hash: str = "", authorization: str = "") -> None:
        self.verification_hash = verification_hash
        self.authorization = authorization
        self.received: List[Dict[str, Any]] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)


class PushHandler(BaseHTTPRequestHandler):
    """GET /ams_verification_hash and POST <anything>: pushed messages."""

    server: PushServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path != "/ams_verification_hash":
            self._reply(404, b"not found")
            return
        self._reply(200, self.server.state.verification_hash.encode())

    def do_POST(self) -> None:  # noqa: N802
        state = self.server.state
        if state.authorization and self.headers.get("Authorization") != state.authorization:
            self._reply(401, b"wrong authorization")
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length))
            items = body.get("messages", [body])
            messages = [item["message"] for item in items]
        except (ValueError, KeyError, TypeError, AttributeError):
            self._reply(400, b"not an AMS push body")
            return
        with state.arrived:
            for msg in messages:
                state.received.append(msg)
                print(f"pushed: id={msg.get('messageId')} attributes={msg.get('attributes', {})} "
                      f"data={_decode(msg.get('data', ''))!r}", flush=True)
            state.arrived.notify_all()
        self._reply(200, b"")

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return


class PushServer(ThreadingHTTPServer):
    """The HTTPS server with its :class:`ReceiverState`."""

    def __init__(self, port: int, cert: str, key: str, state: ReceiverState) -> None:
        super().__init__(("127.0.0.1", port), PushHandler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.state = state


def _decode(data: str) -> str:
    try:
        return base64.b64decode(data, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return data


def run_demo(server: PushServer, count: int, timeout: float = 60.0) -> int:
    """Create a topic and a push subscription to ``server``, verify it, publish ``count``
    messages and wait until they were pushed. Returns the exit status."""
    from pymod import AmsMessage, ArgoMessagingService

    ams = ArgoMessagingService(os.environ["AMS_HOST"], token=os.environ["AMS_TOKEN"],
                               project=os.environ["AMS_PROJECT"],
                               verify=os.environ.get("AMS_CA") or None)
    name = f"push-{uuid.uuid4().hex[:8]}"
    endpoint = f"https://127.0.0.1:{server.server_address[1]}/receive"
    ams.create_topic(name)
    try:
        sub = ams.create_sub(f"{name}-sub", name, push_endpoint=endpoint,
                             retry_policy_period=1000)
        assert isinstance(sub, dict)
        config = sub["pushConfig"]
        server.state.verification_hash = config["verificationHash"]
        server.state.authorization = (config.get("authorizationHeader") or {}).get("value", "")
        ams.verifypushendpoint_sub(f"{name}-sub")
        print(f"verified push endpoint {endpoint} for subscription {name}-sub", flush=True)
        ams.publish(name, [AmsMessage(data=f"pushed message {i}", attributes={"seq": str(i)})
                           for i in range(count)])
        state = server.state
        deadline = time.monotonic() + timeout
        with state.arrived:
            while len(state.received) < count and time.monotonic() < deadline:
                state.arrived.wait(0.5)
            got = len(state.received)
        print(f"received {got} of {count} message(s)")
        return 0 if got >= count else 1
    finally:
        for delete, what in ((ams.delete_sub, f"{name}-sub"), (ams.delete_topic, name)):
            with contextlib.suppress(Exception):  # best-effort clean-up
                delete(what)
        ams.close()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cert", required=True, help="server certificate (PEM)")
    parser.add_argument("--key", required=True, help="its private key (PEM)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--hash", default=os.environ.get("AMS_PUSH_HASH", ""),
                        help="verification hash to serve (AMS_PUSH_HASH)")
    parser.add_argument("--authorization", default=os.environ.get("AMS_PUSH_AUTH", ""),
                        help="expected Authorization header value, if any (AMS_PUSH_AUTH)")
    parser.add_argument("--demo", type=int, metavar="N",
                        help="set up a push subscription to this receiver, publish N messages "
                             "and exit when they arrived")
    args = parser.parse_args(argv)
    server = PushServer(args.port, args.cert, args.key,
                        ReceiverState(args.hash, args.authorization))
    print(f"push receiver listening on https://127.0.0.1:{server.server_address[1]}", flush=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        if args.demo is not None:
            return run_demo(server, args.demo)
        thread.join()
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
