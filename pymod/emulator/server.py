"""Run the AMS emulator: the AMS app and the authn service over HTTPS, in a thread.

>>> from pymod.emulator import Emulator
>>> with Emulator() as emu:                       # doctest: +SKIP
...     requests.get(f"{emu.url}/v1/status", verify=emu.ca_path)

:class:`Emulator` starts two :mod:`uvicorn` servers on one asyncio event loop in a
background thread:

* the AMS app (:func:`pymod.emulator.app.create_app`) behind the fault injector
  (:mod:`pymod.emulator.faults`) on ``https://127.0.0.1:<port>``;
* the x509 authn service (:mod:`pymod.emulator.authn`) on
  ``https://127.0.0.1:<authn_port>``, requiring a client certificate.

Sharing one loop means the store is only ever touched from that loop's thread.
The push worker (:mod:`pymod.emulator.push`) runs there too.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import importlib.util
import logging
import os
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Tuple, TypeVar

from pymod.emulator.faults import CONNECTION_EXTENSION, FaultConfig, FaultInjector

if TYPE_CHECKING:
    from pymod.emulator.store import Store
    from pymod.emulator.tls import EmulatorCA

__all__ = ["Emulator", "FaultControl"]

T = TypeVar("T")

#: Host the emulator binds to and names in its endpoint.
HOST = "127.0.0.1"
#: Name of the admin user created at bootstrap.
ADMIN_NAME = "admin"

log = logging.getLogger("pymod.emulator")
_STORE_FILE = "ams.sqlite3"
_TOKEN_FILE = "admin-token"  # noqa: S105 - a file name, not a secret
_TLS_DIR = "tls"
_START_TIMEOUT = 15.0
_STOP_TIMEOUT = 15.0
# Seconds a stopping server waits for in-flight requests. Long pulls and delay faults end at
# once on shutdown; what is left is a request still arriving (a client that sent half a body),
# which would otherwise hold every stop for uvicorn's grace period.
_GRACEFUL_SHUTDOWN = 0.25
#: The extra that installs what a running emulator needs.
EXTRA_HINT = "pip install 'pymod-ams[emulator]'"


def _new_token() -> str:
    """A token in the AMS format: 64 lower-case hex characters."""
    return secrets.token_hex(32)


def _bind(port: int, what: str = "AMS") -> socket.socket:
    """Bind a listening-ready TCP socket on :data:`HOST` (``port=0``: OS-chosen).

    Raises:
        OSError: the port cannot be bound; for a port in use (``errno.EADDRINUSE``) the message
            names the port and the option to change it.
    """
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets of
    # that protocol, and without it every response pays a ~40 ms Nagle/delayed-ACK stall.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            option = "--port" if what == "AMS" else "--authn-port"
            raise OSError(
                exc.errno,
                f"{what} port {port} on {HOST} is already in use (another emulator or server?); "
                f"stop it, or choose another port ({option} N, or 0 for a free one)",
            ) from None
        raise
    return sock


def _import_runtime() -> None:
    """Import what a running emulator needs, or say which extra installs it.

    Raises:
        ModuleNotFoundError: a dependency of the ``[emulator]`` extra is missing (the message
            names it and :data:`EXTRA_HINT`).
    """
    try:
        import starlette  # noqa: F401
        import trustme  # noqa: F401
        import uvicorn  # noqa: F401
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"the AMS emulator needs {exc.name}, which is not installed: {EXTRA_HINT}",
            name=exc.name,
        ) from None


def _tls_extension(transport: asyncio.BaseTransport) -> Dict[str, Any]:
    """The ASGI TLS extension for a connection (client certificate chain and name)."""
    ssl_object = transport.get_extra_info("ssl_object")
    chain: List[str] = []
    name: Optional[str] = None
    if ssl_object is not None:
        der = ssl_object.getpeercert(binary_form=True)
        if der:
            from cryptography import x509

            chain = [ssl.DER_cert_to_PEM_cert(der)]
            name = x509.load_der_x509_certificate(der).subject.rfc4514_string()
    return {
        "server_cert": None,
        "client_cert_chain": chain,
        "client_cert_name": name,
        "client_cert_error": None,
        "tls_version": None,
        "cipher_suite": None,
    }


async def _with_connection(
    app: Any, extensions: Dict[str, Any], scope: Dict[str, Any], receive: Any, send: Any
) -> None:
    """ASGI wrapper adding the per-connection *extensions* to every HTTP scope."""
    if scope["type"] == "http":
        scope.setdefault("extensions", {}).update(extensions)
    await app(scope, receive, send)


@functools.cache
def _protocol_class() -> type:
    """uvicorn's HTTP protocol (httptools if installed, else h11), extended so that
    each request scope carries the connection (:data:`CONNECTION_EXTENSION`, used
    by fault injection to drop it) and the client certificate (``tls``, used by
    authn)."""
    base: type
    if importlib.util.find_spec("httptools") is not None:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        base = HttpToolsProtocol
    else:
        from uvicorn.protocols.http.h11_impl import H11Protocol

        base = H11Protocol

    class ConnectionInfoProtocol(base):  # type: ignore[misc]
        app: Any
        transport: Any

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            extensions = {
                CONNECTION_EXTENSION: {"abort": transport.abort, "close": transport.close},
                "tls": _tls_extension(transport),
            }
            self.app = functools.partial(_with_connection, self.app, extensions)

        def shutdown(self) -> None:
            super().shutdown()
            # An idle keep-alive connection is being closed: skip the TLS close_notify
            # exchange, which would wait for a client that is not reading.
            transport = getattr(self, "transport", None)
            if transport is not None and transport.is_closing():
                transport.abort()

    return ConnectionInfoProtocol


class Emulator:
    """A local AMS over HTTPS, for tests, demos and development.

    Use it as a context manager (or call :meth:`start` / :meth:`stop`)::

        with Emulator(project="DEMO") as emu:
            client = ArgoMessagingService(endpoint=emu.endpoint, token=emu.admin_token,
                                          project=emu.project, verify=emu.ca_path)

    :param project: project created at bootstrap. The admin user (:attr:`admin_name`)
        is a ``service_admin``, so it may do everything in every project.
    :param admin_token: the admin user's token; generated (64 hex) when ``None``.
        With *data_dir* a generated token is stored there and reused on restart.
    :param data_dir: ``None`` keeps all state in memory (and TLS files in a
        temporary directory removed on :meth:`stop`). Otherwise state lives in
        ``<data_dir>/ams.sqlite3`` and the CA in ``<data_dir>/tls/``, so a restart
        on the same directory keeps messages, offsets, the admin token and the CA.
    :param port: AMS port (0 = OS-chosen free port).
    :param authn_port: authn (x509 login) port (0 = OS-chosen free port).
    :param push_enabled: run the push worker; when ``False`` push configurations
        are refused as on a server without push support.
    :param max_message_bytes: largest accepted message (413 above it).
    :param faults: fault injection at start (see :class:`FaultConfig`); change it
        later with :meth:`set_faults` / :meth:`clear_faults`.
    :param log_level: uvicorn log level (``"warning"``, ``"info"``, ``"debug"``...).
        Records go to the ``uvicorn`` loggers; nothing is configured globally.
    :param push_ca: extra CA file trusted when verifying and delivering to push
        endpoints, besides the system trust store and the emulator's own CA.

    Attributes available once started: :attr:`host`, :attr:`port`,
    :attr:`endpoint`, :attr:`url`, :attr:`ca_path`, :attr:`admin_token`,
    :attr:`admin_name`, :attr:`project`, :attr:`authn_port`, :attr:`data_dir`,
    :attr:`store`.
    """

    host: str = HOST
    admin_name: str = ADMIN_NAME

    def __init__(
        self,
        *,
        project: str = "DEMO",
        admin_token: Optional[str] = None,
        data_dir: Optional[str | os.PathLike[str]] = None,
        port: int = 0,
        authn_port: int = 0,
        push_enabled: bool = True,
        max_message_bytes: int = 1_500_000,
        faults: Optional[FaultConfig] = None,
        log_level: str = "warning",
        push_ca: Optional[str | os.PathLike[str]] = None,
    ) -> None:
        self.project = project
        self.data_dir: Optional[str] = None if data_dir is None else os.fspath(data_dir)
        self.push_enabled = push_enabled
        self.max_message_bytes = max_message_bytes
        self.log_level = log_level
        self.push_ca: Optional[str] = None if push_ca is None else os.fspath(push_ca)
        self._requested_token = admin_token
        self._requested_port = port
        self._requested_authn_port = authn_port
        self._faults = FaultInjector(_NotStartedApp(), faults)

        self.port = port
        self.authn_port = authn_port
        self.admin_token: str = admin_token or ""
        self._ca: Optional[EmulatorCA] = None
        self._store: Optional[Store] = None
        self._tmpdir: Optional[str] = None
        self._issued = 0
        self._push_bundle = ""
        self._thread: Optional[threading.Thread] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._servers: List[Any] = []
        self._sockets: List[socket.socket] = []
        self._push: Any = None
        self._ready = threading.Event()
        self._error: Optional[BaseException] = None

    # -- public attributes ------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the servers are up."""
        return self._thread is not None and self._thread.is_alive() and self._ready.is_set()

    @property
    def endpoint(self) -> str:
        """``host:port`` – what the client takes as ``endpoint``."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """Base URL of the AMS API, e.g. ``https://127.0.0.1:8443`` (paths start with ``/v1``)."""
        return f"https://{self.endpoint}"

    @property
    def authn_url(self) -> str:
        """Base URL of the authn service."""
        return f"https://{self.host}:{self.authn_port}"

    @property
    def ca_path(self) -> str:
        """Path of the CA certificate (PEM) to trust (``verify=``)."""
        if self._ca is None:
            raise RuntimeError("the emulator has not been started")
        return self._ca.ca_path

    @property
    def store(self) -> Store:
        """The emulator's state (a :class:`pymod.emulator.store.Store`). Its methods are
        thread-safe; :meth:`call` runs code on the server thread when a sequence of
        calls must not interleave with requests."""
        if self._store is None:
            raise RuntimeError("the emulator has not been started")
        return self._store

    def env(self) -> Dict[str, str]:
        """The client settings as ``AMS_*`` environment variables: ``AMS_HOST``, ``AMS_TOKEN``,
        ``AMS_PROJECT``, ``AMS_CA`` (what :meth:`ArgoMessagingService.from_env
        <pymod.ams.ArgoMessagingService.from_env>` and the ``ams`` command read)."""
        return {
            "AMS_HOST": self.endpoint,
            "AMS_TOKEN": self.admin_token,
            "AMS_PROJECT": self.project,
            "AMS_CA": self.ca_path,
        }

    def write_env_file(self, path: str | os.PathLike[str]) -> str:
        """Write :meth:`env` as a shell file (``export AMS_HOST=... AMS_TOKEN=...``, readable by
        its owner only, mode 0600) and return its path. ``. PATH`` in a shell, or cron, loads it.

        Raises:
            OSError: the file cannot be written.
        """
        import shlex

        target = os.fspath(path)
        lines = [f"export {name}={shlex.quote(value)}" for name, value in self.env().items()]
        tmp = f"{target}.tmp{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write("# AMS emulator settings, written by 'ams emulator --env-file'\n")
                fh.write("\n".join(lines) + "\n")
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return target

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        where = self.endpoint if self.port else "unbound"
        return (
            f"<Emulator {state} endpoint={where} project={self.project!r} "
            f"data_dir={self.data_dir!r}>"
        )

    # -- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> Emulator:
        """Start both servers and return once they accept connections."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already started")
        try:
            self._prepare()
            self._thread = threading.Thread(
                target=self._thread_main, name=f"pymod-emulator-{self.port}", daemon=True
            )
            self._ready.clear()
            self._error = None
            self._thread.start()
            if not self._ready.wait(_START_TIMEOUT):
                raise RuntimeError("the emulator did not start in time")
            if self._error is not None:
                error = self._error
                raise RuntimeError(f"the emulator failed to start: {error!r}") from error
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the servers (in-flight requests get a short grace period) and release
        the store; idempotent."""
        thread, loop = self._thread, self._loop
        if thread is not None:
            if loop is not None and thread.is_alive():
                loop.call_soon_threadsafe(self._request_exit)
            thread.join(_STOP_TIMEOUT)
        self._thread = None
        self._loop = None
        self._servers = []
        self._push = None
        for sock in self._sockets:
            sock.close()
        self._sockets = []
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
            self._ca = None

    # -- runtime controls ---------------------------------------------------------------

    def set_faults(self, config: Optional[FaultConfig]) -> None:
        """Replace the fault configuration (``None`` = no faults); takes effect for the
        next request and restarts the seeded random source."""
        self._faults.configure(config)

    def clear_faults(self) -> None:
        """Stop injecting faults (the counters are kept)."""
        self._faults.configure(None)

    @property
    def faults(self) -> FaultControl:
        """The active fault configuration (``emu.faults.rate``, ``emu.faults.describe()``);
        called, a context manager that injects faults for a block only::

            with emu.faults(rate=0.2, kinds=("503", "reset-before"), seed=1):
                ...                        # faults here
            ...                            # the previous configuration again (usually none)

        See :class:`FaultControl`."""
        return FaultControl(self)

    def fault_counts(self) -> Dict[str, int]:
        """Faults injected so far, by kind."""
        return self._faults.counts()

    def issue_client_cert(self, cn: str) -> Tuple[str, str]:
        """Issue a client certificate with subject CN *cn* from the emulator CA.

        Returns ``(cert_path, key_path)``. The authn service answers it with the token
        of the AMS user named *cn*.
        """
        if self._ca is None:
            raise RuntimeError("the emulator has not been started")
        return self._ca.issue_client_cert(cn)

    def issue_server_cert(self, *identities: str) -> Tuple[str, str]:
        """Issue a server certificate from the emulator CA (e.g. for a local push
        receiver, which push delivery then trusts); returns ``(cert_path, key_path)``.

        Each call overwrites the files of the previous one (the emulator's own
        server keeps its certificate loaded).
        """
        if self._ca is None:
            raise RuntimeError("the emulator has not been started")
        self._issued += 1
        return self._ca.issue_server_cert(
            identities or ("127.0.0.1", "localhost"), name=f"issued-{self._issued}"
        )

    def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``func(*args, **kwargs)`` on the server's event loop thread and return
        its result – the safe way to use :attr:`store` from a test."""
        loop = self._loop
        if loop is None or not self.running:
            raise RuntimeError("the emulator is not running")
        if threading.current_thread() is self._thread:
            return func(*args, **kwargs)

        async def run() -> T:
            return func(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), loop).result(_STOP_TIMEOUT)

    # -- internals ----------------------------------------------------------------------

    def _prepare(self) -> None:
        """Create TLS material, the store, the apps and the sockets (caller's thread)."""
        _import_runtime()
        import uvicorn

        from pymod.emulator.app import create_app
        from pymod.emulator.authn import create_authn_app
        from pymod.emulator.store import Store
        from pymod.emulator.tls import EmulatorCA

        if self.data_dir is not None:
            base = Path(self.data_dir)
            base.mkdir(mode=0o700, parents=True, exist_ok=True)
            if base.stat().st_mode & 0o077:
                log.warning("the emulator's data directory %s is open to other users; its "
                            "files are 0600, but chmod 700 it", base)
            self._ca = EmulatorCA(base / _TLS_DIR)
            self.admin_token = self._load_admin_token(base)
            store_path: Optional[str] = str(base / _STORE_FILE)
        else:
            self._tmpdir = tempfile.mkdtemp(prefix="pymod-emulator-")
            self._ca = EmulatorCA(self._tmpdir)
            self.admin_token = self._requested_token or self.admin_token or _new_token()
            store_path = None
        cert_path, key_path = self._ca.issue_server_cert()
        self._push_bundle = self._push_ca_bundle()

        main_sock = _bind(self._requested_port)
        self._sockets.append(main_sock)
        authn_sock = _bind(self._requested_authn_port, "authn")
        self._sockets.append(authn_sock)
        self.port = main_sock.getsockname()[1]
        self.authn_port = authn_sock.getsockname()[1]

        store = Store(store_path)
        self._store = store
        store.bootstrap(admin_name=ADMIN_NAME, admin_token=self.admin_token, project=self.project)
        app = create_app(
            store,
            push_enabled=self.push_enabled,
            max_message_bytes=self.max_message_bytes,
            push_verify_ca=self._push_bundle,
        )
        self._faults.app = app
        hosts = {f"{name}{port}" for name in (HOST, "localhost") for port in ("", f":{self.port}")}
        authn_app = create_authn_app(store.token_for_user, hosts=hosts)

        common: Dict[str, Any] = {
            "http": _protocol_class(),
            "ws": "none",
            "log_config": None,
            "log_level": self.log_level,
            "access_log": False,
            "server_header": False,
            "ssl_certfile": cert_path,
            "ssl_keyfile": key_path,
            "timeout_graceful_shutdown": _GRACEFUL_SHUTDOWN,
        }
        main = uvicorn.Server(uvicorn.Config(self._faults, lifespan="auto", **common))
        authn = uvicorn.Server(
            uvicorn.Config(
                authn_app,
                lifespan="off",
                ssl_cert_reqs=ssl.CERT_REQUIRED,
                ssl_ca_certs=self._ca.ca_path,
                **common,
            )
        )
        self._servers = [(main, main_sock), (authn, authn_sock)]

    def _load_admin_token(self, base: Path) -> str:
        """The admin token for a data directory: given > stored > new; stored after."""
        path = base / _TOKEN_FILE
        token = self._requested_token
        if token is None and path.is_file():
            token = path.read_text(encoding="ascii").strip() or None
        if token is None:
            token = _new_token()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # also when the file was already there
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(token + "\n")
        return token

    def _push_ca_bundle(self) -> str:
        """Write the CA bundle trusted for push endpoints and return its path: the
        emulator CA, :attr:`push_ca` and the system's default CA file (if any)."""
        assert self._ca is not None
        sources = [Path(self._ca.ca_path)]
        if self.push_ca is not None:
            sources.append(Path(self.push_ca))
        system = ssl.get_default_verify_paths().cafile
        if system and os.path.isfile(system):
            sources.append(Path(system))
        bundle = Path(self._ca.directory) / "push-ca.pem"
        bundle.write_bytes(b"\n".join(path.read_bytes() for path in sources))
        return str(bundle)

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # noqa: BLE001 - reported to start() / logged
            self._error = exc
        finally:
            self._ready.set()
            try:
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    async def _serve(self) -> None:
        """Serve until :meth:`_request_exit`; runs on the emulator's loop."""
        tasks = [
            asyncio.ensure_future(server.serve(sockets=[sock])) for server, sock in self._servers
        ]
        try:
            while not all(server.started for server, _ in self._servers):
                if any(task.done() for task in tasks):
                    raise RuntimeError("a server stopped during startup")
                await asyncio.sleep(0.005)
            if self.push_enabled:
                self._push = self._start_push()
            self._ready.set()
            await asyncio.gather(*tasks)
        finally:
            self._request_exit()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self._push is not None:
                await self._push.stop()

    def _start_push(self) -> Any:
        """Start the push worker on this loop, if the store supports push delivery."""
        from pymod.emulator.push import PushWorker

        worker = PushWorker(self.store, ca_file=self._push_bundle)
        worker.start()
        return worker

    def _request_exit(self) -> None:
        """Ask both servers to stop (loop thread)."""
        self._faults.shutdown()
        for server, _ in self._servers:
            server.should_exit = True


class FaultControl:
    """What :attr:`Emulator.faults` returns: the active :class:`FaultConfig` (its fields and
    methods read through, ``==`` compares it) and, called, a context manager.

    ``emu.faults(config)`` or ``emu.faults(rate=..., kinds=..., seed=..., ...)`` (the
    :class:`FaultConfig` fields) sets the faults when the ``with`` block starts, yields the
    :class:`FaultConfig`, and restores the previous configuration when the block ends, also on
    an exception.
    """

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator

    @property
    def config(self) -> FaultConfig:
        """The active configuration."""
        return self._emulator._faults.config

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # not a FaultConfig field (and no recursion before __init__)
            raise AttributeError(name)
        return getattr(self.config, name)

    def __eq__(self, other: object) -> bool:
        return self.config == (other.config if isinstance(other, FaultControl) else other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.config)

    @contextlib.contextmanager
    def __call__(self, config: Optional[FaultConfig] = None, **fields: Any) -> Iterator[FaultConfig]:
        if config is not None and fields:
            raise TypeError("give a FaultConfig or its fields, not both")
        active = config if config is not None else FaultConfig(**fields)
        previous = self.config
        self._emulator.set_faults(active)
        try:
            yield active
        finally:
            self._emulator.set_faults(previous)


class _NotStartedApp:
    """Placeholder ASGI app until :meth:`Emulator.start` builds the real one."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("the emulator has not been started")
