"""Start the real AMS server (``../shared/ams-oracle``) on loopback over TLS, for tests.

The oracle is a reference, never a dependency: :func:`oracle_unavailable` says why it
cannot be used here (no ``shared/`` beside the checkout, no Debian ``apt``, a failed
build), and the tests that need it skip with that reason.

Environment:

``AMS_ORACLE_DIR``
    the ams-oracle folder (default: ``shared/ams-oracle`` beside the checkout or beside the
    nearest parent folder that has one, e.g. for a git worktree).
``AMS_ORACLE_BUILD``
    ``0`` to never build (use it only if it is already built and cached).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from typing import IO, List, Optional

import requests

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _default_oracle_dir() -> pathlib.Path:
    """``shared/ams-oracle`` beside the checkout or beside one of its parents (worktrees)."""
    for base in ROOT.parents:
        candidate = base / "shared" / "ams-oracle"
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared" / "ams-oracle"


ORACLE_DIR = pathlib.Path(os.environ.get("AMS_ORACLE_DIR") or _default_oracle_dir())
ADMIN_TOKEN = "ADMIN-TOKEN"
EXTRA_USERS = ORACLE_DIR / "extra-users.example.json"

_build_lock = threading.Lock()
_build_result: Optional[str] = None  # the binary path, or "!reason"


def _build() -> str:
    """Build (or find cached) the oracle binary; return its path or ``"!reason"``."""
    global _build_result
    with _build_lock:
        if _build_result is not None:
            return _build_result
        if not (ORACLE_DIR / "build.sh").is_file():
            _build_result = f"!no ams-oracle at {ORACLE_DIR}"
        elif shutil.which("apt-get") is None and shutil.which("go") is None:
            _build_result = "!ams-oracle needs Debian's apt-get or a Go toolchain"
        elif os.environ.get("AMS_ORACLE_BUILD") == "0" and not _cached():
            _build_result = "!AMS_ORACLE_BUILD=0 and no cached oracle build"
        else:
            proc = subprocess.run(
                ["bash", str(ORACLE_DIR / "build.sh")],
                capture_output=True, text=True, timeout=900,
            )
            lines = proc.stdout.strip().splitlines()
            if proc.returncode != 0 or not lines or not os.path.isfile(lines[-1]):
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
                _build_result = f"!ams-oracle build failed (exit {proc.returncode}): {' | '.join(tail)}"
            else:
                _build_result = lines[-1]
        return _build_result


def _cached() -> bool:
    cache = pathlib.Path(os.environ.get("AMS_ORACLE_CACHE", pathlib.Path.home() / ".cache" / "ams-oracle"))
    return any(cache.glob("build-*/ams-oracle"))


def oracle_unavailable() -> Optional[str]:
    """``None`` when the oracle can be started here, else the reason it cannot."""
    result = _build()
    return result[1:] if result.startswith("!") else None


@dataclass
class Oracle:
    """A running oracle: ``endpoint`` is ``127.0.0.1:PORT``, ``ca_path`` the CA to verify it with."""

    endpoint: str
    ca_path: str
    admin_token: str
    proc: subprocess.Popen  # type: ignore[type-arg]
    tmpdir: str
    stderr_lines: List[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"https://{self.endpoint}"

    def reset(self) -> None:
        """Put back the fixture and an empty broker (``POST /__oracle/reset``)."""
        r = requests.post(f"{self.url}/__oracle/reset", verify=self.ca_path, timeout=10)
        r.raise_for_status()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    def __enter__(self) -> Oracle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _drain(stream: IO[str], sink: List[str]) -> None:
    for line in stream:
        sink.append(line.rstrip("\n"))
        del sink[:-200]


def start_oracle(*extra_args: str, extra_users: bool = True) -> Oracle:
    """Start an oracle over HTTPS with a fresh trustme CA.

    ``extra_users`` adds ``extra-users.example.json`` (a project_admin of ARGO with token
    ``S3CR3T-PA`` and an admin_viewer ``S3CR3T-AV``). Raises ``RuntimeError`` when it cannot
    start; call :func:`oracle_unavailable` first to skip instead.
    """
    import trustme

    binary = _build()
    if binary.startswith("!"):
        raise RuntimeError(binary[1:])
    tmp = tempfile.mkdtemp(prefix="ams-oracle-")
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    leaf.private_key_pem.write_to_path(f"{tmp}/server.key")
    with open(f"{tmp}/server.pem", "wb") as f:
        f.write(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    ca.cert_pem.write_to_path(f"{tmp}/ca.pem")
    args = [binary, "-cert", f"{tmp}/server.pem", "-key", f"{tmp}/server.key", "-admin-token", ADMIN_TOKEN]
    if extra_users and EXTRA_USERS.is_file():
        args += ["-extra-users", str(EXTRA_USERS)]
    args += list(extra_args)
    env = dict(os.environ, SSL_CERT_FILE=f"{tmp}/ca.pem")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    errs: List[str] = []
    threading.Thread(target=_drain, args=(proc.stderr, errs), daemon=True).start()
    line = proc.stdout.readline()
    if not line.startswith("LISTENING "):
        proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError(f"ams-oracle did not start (exit {proc.wait()}): {' | '.join(errs[-3:])}")
    return Oracle(line.split()[1], f"{tmp}/ca.pem", ADMIN_TOKEN, proc, tmp, errs)
