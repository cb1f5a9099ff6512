"""Per-call ``verify=True`` honours REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, as ``requests.get`` does."""

from __future__ import annotations

from typing import Iterator

import pytest

from pymod import AmsConnectionException, ArgoMessagingService
from pymod.emulator import Emulator


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_per_call_verify_true_reads_the_bundle_variable(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with ArgoMessagingService(emu.endpoint, token=emu.admin_token, project=emu.project,
                              verify=emu.ca_path) as ams:
        with pytest.raises(AmsConnectionException):  # the system bundle does not know the CA
            ams.list_topics(verify=True)
        monkeypatch.setenv(variable, emu.ca_path)
        assert "topics" in ams.list_topics(verify=True)
