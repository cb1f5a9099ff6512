"""The emulated x509 authn service: certificate → AMS token over client-certificate TLS."""

from __future__ import annotations

from typing import Iterator, Tuple

import pytest
import requests
from cryptography import x509
from cryptography.x509.oid import NameOID

from pymod.emulator import Emulator


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def _authx509(emu: Emulator, host: str, cert: Tuple[str, str]) -> requests.Response:
    url = f"{emu.authn_url}/v1/service-types/ams/hosts/{host}:authx509"
    return requests.get(url, cert=cert, verify=emu.ca_path, timeout=5)


@pytest.mark.parametrize("with_port", [False, True])
def test_admin_certificate_gets_the_admin_token(emu: Emulator, with_port: bool) -> None:
    host = emu.endpoint if with_port else emu.host
    response = _authx509(emu, host, emu.issue_client_cert("admin"))
    assert response.status_code == 200
    assert response.json() == {"token": emu.admin_token}


def test_certificate_of_a_new_user_gets_that_users_token(emu: Emulator) -> None:
    user = emu.call(emu.store.create_user, "carol")
    response = _authx509(emu, "localhost", emu.issue_client_cert("carol"))
    assert response.status_code == 200
    assert response.json()["token"] == user.token != emu.admin_token


def test_the_issued_certificate_carries_the_common_name(emu: Emulator) -> None:
    cert_path, key_path = emu.issue_client_cert("dave smith")
    with open(cert_path, "rb") as fh:
        cert = x509.load_pem_x509_certificate(fh.read())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "dave smith"
    with open(key_path, "rb") as fh:
        assert b"PRIVATE KEY" in fh.read()


def test_unknown_user_is_rejected_with_a_json_error(emu: Emulator) -> None:
    response = _authx509(emu, emu.host, emu.issue_client_cert("mallory"))
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == 404 and "mallory" in error["message"]
    assert "token" not in response.json()


@pytest.mark.parametrize(
    "path",
    [
        "/v1/service-types/ams/hosts/ams.example.org:authx509",
        "/v1/service-types/web-api/hosts/127.0.0.1:authx509",
        "/v1/service-types/ams/hosts/127.0.0.1",
    ],
)
def test_wrong_host_service_or_path_is_404(emu: Emulator, path: str) -> None:
    response = requests.get(
        emu.authn_url + path, cert=emu.issue_client_cert("admin"), verify=emu.ca_path, timeout=5
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == 404


def test_a_client_certificate_is_required(emu: Emulator) -> None:
    url = f"{emu.authn_url}/v1/service-types/ams/hosts/127.0.0.1:authx509"
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url, verify=emu.ca_path, timeout=5)


def test_a_certificate_from_another_ca_is_refused(emu: Emulator) -> None:
    with Emulator() as other:
        foreign = other.issue_client_cert("admin")
        url = f"{emu.authn_url}/v1/service-types/ams/hosts/127.0.0.1:authx509"
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(url, cert=foreign, verify=emu.ca_path, timeout=5)
