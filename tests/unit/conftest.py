"""Fixtures of the unit tests: a client with a recording (never sleeping) retry policy, a
``responses`` mock, and an environment without proxies or CA-bundle variables."""

from __future__ import annotations

from typing import Iterator

import pytest
import requests
import responses

from pymod import ArgoMessagingService

from ._support import SleepRecorder, make_client

_ENV_VARS = (
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
    "http_proxy", "https_proxy", "all_proxy", "no_proxy",
    "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proxy and CA-bundle variables of the machine must not leak into the tests."""
    for name in _ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def ams(sleeps: SleepRecorder) -> Iterator[ArgoMessagingService]:
    client = make_client(sleeps)
    yield client
    client.close()


@pytest.fixture(params=["owned-session", "injected-session"])
def any_ams(request: pytest.FixtureRequest, sleeps: SleepRecorder) -> Iterator[ArgoMessagingService]:
    """The client with its own session, and with an injected one (the transport takes a
    different path for each)."""
    if request.param == "owned-session":
        client = make_client(sleeps)
    else:
        client = make_client(sleeps, session=requests.Session())
    yield client
    client.close()


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """A strict mock: every registered reply must be used, unknown requests fail."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def nonet() -> Iterator[responses.RequestsMock]:
    """A mock with nothing registered: any request is recorded (and refused)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
