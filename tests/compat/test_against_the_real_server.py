"""The deliberate differences that fix the original, checked on the real AMS (tests/oracle.py).

For each, argo-ams-library 1.0.0 fails against the real server and pymod succeeds. Skipped, with
the reason, when the oracle or the original wheel is not available.
"""

from __future__ import annotations

import datetime
from typing import Any, Iterator, Tuple

import pytest
from differential import load_original

import argo_ams_library
from tests.oracle import oracle_unavailable, start_oracle

PUSH = "https://127.0.0.1:5000/receive"


@pytest.fixture(scope="module")
def server(monkeypatch_module: Any) -> Iterator[Any]:
    why = oracle_unavailable()
    if why:
        pytest.skip(f"the real AMS is not available: {why}")
    with start_oracle() as oracle:
        # the original verifies with requests' defaults: point them at the oracle's CA
        monkeypatch_module.setenv("REQUESTS_CA_BUNDLE", oracle.ca_path)
        yield oracle


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture
def clients(server: Any) -> Tuple[Any, Any]:
    orig = load_original()
    if isinstance(orig, str):
        pytest.skip(f"argo-ams-library 1.0.0 is not available: {orig}")
    server.reset()
    make = [lib.ArgoMessagingService(endpoint=server.endpoint, token=server.admin_token,
                                     project="ARGO") for lib in (orig, argo_ams_library)]
    make[1].create_topic("t-real")
    return make[0], make[1]


def test_push_configuration_needs_its_type(clients: Tuple[Any, Any]) -> None:
    orig, ours = clients
    with pytest.raises(Exception, match="Push configuration type can only be"):
        orig.create_sub("s-orig", "t-real", push_endpoint=PUSH)
    created = ours.create_sub("s-ours", "t-real", push_endpoint=PUSH)
    assert created["pushConfig"]["type"] == "http_endpoint"
    assert created["pushConfig"]["pushEndpoint"] == PUSH


def test_time_to_offset_of_a_whole_second(clients: Tuple[Any, Any]) -> None:
    orig, ours = clients
    ours.create_sub("s-time", "t-real")
    ours.publish("t-real", argo_ams_library.AmsMessage(data="x"))
    when = datetime.datetime(2019, 9, 2)
    with pytest.raises(Exception, match="Time is not in valid Zulu format"):
        orig.time_to_offset_sub("s-time", when)
    assert ours.time_to_offset_sub("s-time", when) == 0


def test_user_listing_with_details(clients: Tuple[Any, Any]) -> None:
    orig, ours = clients
    assert not any(u.projects for u in orig.list_users().users)  # details=True is not "true"
    assert any(u.projects for u in ours.list_users().users)
