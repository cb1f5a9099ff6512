"""The store methods a push worker uses (pull, acknowledge, active subscriptions)."""

from __future__ import annotations

import pytest
from ams_testkit import Ams, FakeClock

from pymod.emulator.errors import AmsError


def test_store_pull_and_acknowledge(ams: Ams, clock: FakeClock) -> None:
    ams.topic()
    ams.sub("mm", pushConfig={"type": "mattermost", "mattermostUrl": "https://mm"})
    ams.publish("YQ==", "Yg==", "Yw==")
    store = ams.store
    [sub] = store.active_push_subscriptions()
    assert (sub.full_name, sub.push.max_messages) == ("/projects/DEMO/subscriptions/mm", 1)
    with pytest.raises(AmsError, match="no ack pending"):
        store.acknowledge("DEMO", "mm", 0)
    batch = store.pull("DEMO", "mm", 2)
    assert [m.offset for m in batch] == [0, 1]
    assert batch[0].to_json()["data"] == "YQ=="
    clock.advance(11)
    with pytest.raises(AmsError) as timeout:
        store.acknowledge("DEMO", "mm", 1)
    assert (timeout.value.code, timeout.value.message) == (408, "ack timeout")
    assert [m.offset for m in store.pull("DEMO", "mm", 5)] == [0, 1, 2]
    store.acknowledge("DEMO", "mm", 2)
    assert store.pull("DEMO", "mm", 5) == []
    store.set_push_status(sub.id, "Subscription /projects/DEMO/subscriptions/mm is active")
    shown = ams.call("GET", "/projects/DEMO/subscriptions/mm").json()
    assert shown["pushStatus"].endswith("is active")
    assert list(shown)[-2:] == ["pushStatus", "createdOn"]
    with pytest.raises(AmsError, match="Subscription doesn't exist"):
        store.pull("DEMO", "nope", 1)
    ams.call("DELETE", "/projects/DEMO/topics/alerts")
    with pytest.raises(AmsError, match="Subscription's topic doesn't exist"):
        store.pull("DEMO", "mm", 1)
