"""Fault injection over a real socket: balancer pages, dropped connections, slow and cut responses."""

from __future__ import annotations

import itertools
from typing import Any, Dict, Iterator, List

import pytest
import requests

from pymod.emulator import FAULT_KINDS, Emulator, FaultConfig
from pymod.emulator.faults import balancer_page, parse_kinds

_names = (f"t{n}" for n in itertools.count())


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def no_faults_afterwards(emu: Emulator) -> Iterator[None]:
    yield
    emu.clear_faults()


def _api(emu: Emulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("timeout", 5)
    return requests.request(
        method,
        f"{emu.url}/v1/projects/{emu.project}{path}",
        headers={"x-api-key": emu.admin_token},
        verify=emu.ca_path,
        **kwargs,
    )


def _new_topic(emu: Emulator) -> str:
    name = next(_names)
    assert _api(emu, "PUT", f"/topics/{name}").status_code == 200
    return name


def _stored(emu: Emulator, topic: str) -> int:
    """Messages stored in *topic* (read from the store on the server thread)."""

    def end_offset() -> int:
        project = emu.store.project_by_name(emu.project)
        assert project is not None
        found = emu.store.topic(project.id, topic)
        assert found is not None
        return found.end_offset

    return emu.call(end_offset)


def _publish(emu: Emulator, topic: str, **kwargs: Any) -> requests.Response:
    body = {"messages": [{"data": "aGVsbG8="}]}
    return _api(emu, "POST", f"/topics/{topic}:publish", json=body, **kwargs)


@pytest.mark.parametrize("status", [502, 503, 504, 408])
def test_balancer_error_pages(emu: Emulator, status: int) -> None:
    topic = _new_topic(emu)
    emu.set_faults(FaultConfig(rate=1.0, kinds=(str(status),)))
    response = _publish(emu, topic)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "text/html"
    assert response.content == balancer_page(status)
    assert response.text.startswith(f"<html><body><h1>{status} ")
    emu.clear_faults()
    assert _stored(emu, topic) == 0


def test_reset_before_drops_the_connection_and_stores_nothing(emu: Emulator) -> None:
    topic = _new_topic(emu)
    emu.set_faults(FaultConfig(rate=1.0, kinds=("reset-before",)))
    with pytest.raises(requests.exceptions.ConnectionError):
        _publish(emu, topic)
    emu.clear_faults()
    assert _stored(emu, topic) == 0


def test_reset_after_drops_the_connection_after_storing(emu: Emulator) -> None:
    topic = _new_topic(emu)
    emu.set_faults(FaultConfig(rate=1.0, kinds=("reset-after",)))
    with pytest.raises(requests.exceptions.ConnectionError):
        _publish(emu, topic)
    emu.clear_faults()
    assert _stored(emu, topic) == 1
    shown = _api(emu, "GET", f"/topics/{topic}:metrics")
    assert shown.status_code == 200


def test_delay_exceeds_the_client_timeout(emu: Emulator) -> None:
    topic = _new_topic(emu)
    emu.set_faults(FaultConfig(rate=1.0, kinds=("delay",), delay=30))
    with pytest.raises(requests.exceptions.ReadTimeout):
        _publish(emu, topic, timeout=0.3)
    emu.clear_faults()
    assert _stored(emu, topic) == 1, "the request was handled, only the response is late"


def test_short_delay_still_answers(emu: Emulator) -> None:
    topic = _new_topic(emu)
    emu.set_faults(FaultConfig(rate=1.0, kinds=("delay",), delay=0.05))
    response = _publish(emu, topic)
    assert response.status_code == 200
    assert response.json()["messageIds"] == ["0"]


def test_truncate_cuts_the_body(emu: Emulator) -> None:
    topic = _new_topic(emu)
    emu.set_faults(FaultConfig(rate=1.0, kinds=("truncate",)))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        _publish(emu, topic)
    emu.clear_faults()
    assert _stored(emu, topic) == 1


def test_status_route_is_not_faulted_by_default(emu: Emulator) -> None:
    emu.set_faults(FaultConfig(rate=1.0, kinds=("503",)))
    response = requests.get(f"{emu.url}/v1/status", verify=emu.ca_path, timeout=5)
    assert response.status_code == 200
    emu.set_faults(FaultConfig(rate=1.0, kinds=("503",), paths=("/v1/",)))
    response = requests.get(f"{emu.url}/v1/status", verify=emu.ca_path, timeout=5)
    assert response.status_code == 503


def test_counts_by_kind(emu: Emulator) -> None:
    topic = _new_topic(emu)
    before = emu.fault_counts()
    emu.set_faults(FaultConfig(rate=1.0, kinds=("502",)))
    for _ in range(3):
        assert _publish(emu, topic).status_code == 502
    emu.set_faults(FaultConfig(rate=1.0, kinds=("reset-before",)))
    with pytest.raises(requests.exceptions.ConnectionError):
        _publish(emu, topic)
    after = emu.fault_counts()
    assert after.get("502", 0) - before.get("502", 0) == 3
    assert after.get("reset-before", 0) - before.get("reset-before", 0) == 1


def test_limit_fails_only_the_first_requests(emu: Emulator) -> None:
    topic = _new_topic(emu)
    emu.set_faults(FaultConfig(rate=1.0, kinds=("503",), limit=2))
    statuses = [_publish(emu, topic).status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    assert _stored(emu, topic) == 2


def _statuses(emu: Emulator, topic: str, seed: int) -> List[int]:
    emu.set_faults(FaultConfig(rate=0.5, kinds=("502", "503", "504"), seed=seed))
    return [_publish(emu, topic).status_code for _ in range(16)]


def test_the_same_seed_replays_the_same_faults(emu: Emulator) -> None:
    topic = _new_topic(emu)
    first = _statuses(emu, topic, seed=7)
    again = _statuses(emu, topic, seed=7)
    other = _statuses(emu, topic, seed=8)
    assert first == again
    assert first != other
    assert 200 in first and set(first) - {200}


def test_faults_given_at_start() -> None:
    with Emulator(faults=FaultConfig(rate=1.0, kinds=("504",))) as emulator:
        response = requests.get(
            f"{emulator.url}/v1/projects/DEMO",
            headers={"x-api-key": emulator.admin_token},
            verify=emulator.ca_path,
            timeout=5,
        )
        assert response.status_code == 504
        assert emulator.fault_counts() == {"504": 1}
        assert emulator.faults.rate == 1.0


def test_parse_kinds() -> None:
    assert parse_kinds("all") == FAULT_KINDS
    assert parse_kinds(" 502, reset-after ") == ("502", "reset-after")
    with pytest.raises(ValueError, match="bogus"):
        parse_kinds("502,bogus")


@pytest.mark.parametrize(
    "kwargs",
    [{"rate": 1.5}, {"rate": -0.1}, {"kinds": ()}, {"kinds": ("500",)}, {"delay": -1.0}],
)
def test_invalid_fault_config(kwargs: Dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        FaultConfig(**kwargs)


def test_describe() -> None:
    assert FaultConfig().describe() == "off"
    text = FaultConfig(rate=0.25, kinds=("503", "delay"), seed=3, delay=2).describe()
    assert "rate=0.25" in text and "503,delay" in text and "seed=3" in text and "2s" in text


def test_ams_408_answers_acknowledgements_only(emu: Emulator) -> None:
    topic = _new_topic(emu)
    sub = f"{topic}-sub"
    body = {"topic": f"projects/{emu.project}/topics/{topic}"}
    assert _api(emu, "PUT", f"/subscriptions/{sub}", json=body).status_code == 200
    before = emu.fault_counts().get("ams-408", 0)
    emu.set_faults(FaultConfig(rate=1.0, kinds=("ams-408",)))
    assert _publish(emu, topic).status_code == 200  # not an acknowledgement: no fault
    pulled = _api(emu, "POST", f"/subscriptions/{sub}:pull",
                  json={"maxMessages": "1", "returnImmediately": "true"})
    ack_id = pulled.json()["receivedMessages"][0]["ackId"]
    refused = _api(emu, "POST", f"/subscriptions/{sub}:acknowledge", json={"ackIds": [ack_id]})
    assert refused.status_code == 408
    assert refused.json() == {"error": {"code": 408, "message": "ack timeout", "status": "TIMEOUT"}}
    assert emu.fault_counts().get("ams-408", 0) == before + 1
    emu.clear_faults()
    offsets = _api(emu, "GET", f"/subscriptions/{sub}:offsets").json()
    assert offsets["current"] == 0  # the refused acknowledgement was not stored
