"""Throwaway TLS material for the emulator.

:class:`EmulatorCA` wraps a :mod:`trustme` certificate authority and keeps every
file a client or server needs on disk:

* ``ca.pem`` – the CA certificate; clients pass its path as ``verify=`` (requests)
  or as the client's CA bundle.
* ``ca-key.pem`` – the CA private key (mode 0600), kept so that a restarted
  emulator on the same directory reuses the same CA and certificates that clients
  already trust stay valid.
* ``server.pem`` / ``server-key.pem`` – the server certificate (SANs ``127.0.0.1``,
  ``localhost`` and ``::1``) and its key, re-issued on every start (other names
  can be issued too, e.g. for a local push receiver).
* ``clients/<name>.pem`` / ``clients/<name>-key.pem`` – client certificates issued
  with :meth:`EmulatorCA.issue_client_cert` for x509 login (spec section 11).

Everything here is for local testing only: the CA key sits next to the CA
certificate, unencrypted.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Sequence, Tuple

import trustme

__all__ = ["SERVER_IDENTITIES", "EmulatorCA"]

#: Names the server certificate is valid for.
SERVER_IDENTITIES: Tuple[str, ...] = ("127.0.0.1", "localhost", "::1")

_CA_CERT = "ca.pem"
_CA_KEY = "ca-key.pem"
_CLIENTS = "clients"
_SAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9_.-]")


def _write_private(path: Path, data: bytes) -> None:
    """Write *data* to *path* readable by the owner only (the file holds a key)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # also when the file was already there
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _write_public(path: Path, data: bytes) -> None:
    """Write *data* to *path* atomically (readers never see a half-written file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class EmulatorCA:
    """A certificate authority whose files live in *directory*.

    If *directory* already holds ``ca.pem`` and ``ca-key.pem`` they are loaded;
    otherwise a new CA is created and written there. The directory is created if
    needed.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        cert_path = self.directory / _CA_CERT
        key_path = self.directory / _CA_KEY
        if cert_path.is_file() and key_path.is_file():
            self._ca = trustme.CA.from_pem(cert_path.read_bytes(), key_path.read_bytes())
        else:
            self._ca = trustme.CA(organization_name="pymod AMS emulator")
            _write_private(key_path, self._ca.private_key_pem.bytes())
            _write_public(cert_path, self._ca.cert_pem.bytes())

    @property
    def ca_path(self) -> str:
        """Path of the CA certificate (PEM) to trust."""
        return str(self.directory / _CA_CERT)

    def issue_server_cert(
        self, identities: Sequence[str] = SERVER_IDENTITIES, *, name: str = "server"
    ) -> Tuple[str, str]:
        """Issue a server certificate for *identities* (host names or IP addresses).

        The files are ``<name>.pem`` and ``<name>-key.pem`` in the CA directory
        (replaced if present); returns ``(cert_path, key_path)``.
        """
        if not identities:
            raise ValueError("a server certificate needs at least one identity")
        if _SAFE_FILE_CHARS.search(name) or name.startswith("ca"):
            raise ValueError(f"invalid certificate file name {name!r}")
        leaf = self._ca.issue_cert(*identities, common_name=identities[0])
        cert_path = self.directory / f"{name}.pem"
        key_path = self.directory / f"{name}-key.pem"
        _write_private(key_path, leaf.private_key_pem.bytes())
        _write_public(cert_path, b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        return str(cert_path), str(key_path)

    def issue_client_cert(self, common_name: str) -> Tuple[str, str]:
        """Issue a client certificate whose subject CN is *common_name*.

        Returns ``(cert_path, key_path)``, suitable for ``requests``'
        ``cert=(cert_path, key_path)``. Issuing again for the same name replaces the
        files with a fresh certificate and key.
        """
        if not common_name:
            raise ValueError("common_name must not be empty")
        clients = self.directory / _CLIENTS
        clients.mkdir(mode=0o700, exist_ok=True)
        stem = _SAFE_FILE_CHARS.sub("_", common_name)[:64]
        if stem != common_name:
            # Keep distinct names in distinct files even when sanitising collides.
            stem += "-" + hashlib.sha256(common_name.encode()).hexdigest()[:8]
        # An empty subjectAltName extension is invalid (RFC 5280), so give the
        # certificate one harmless e-mail identity besides the CN.
        identity = f"{stem}@pymod-emulator.invalid"
        leaf = self._ca.issue_cert(identity, common_name=common_name)
        cert_path = clients / f"{stem}.pem"
        key_path = clients / f"{stem}-key.pem"
        _write_private(key_path, leaf.private_key_pem.bytes())
        _write_public(cert_path, b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        return str(cert_path), str(key_path)
