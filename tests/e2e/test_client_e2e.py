"""The client against the embedded emulator over real HTTPS: the seed API end to end."""

from __future__ import annotations

import datetime
import subprocess
import sys
import textwrap
import time

import pytest

from pymod import (
    AmsArgumentException,
    AmsMessage,
    AmsMessageException,
    AmsServiceException,
    AmsSubscription,
    AmsTimeoutException,
    AmsTopic,
    ArgoMessagingService,
)


def _setup(ams: ArgoMessagingService, names: dict[str, str]) -> tuple[str, str]:
    ams.create_topic(names["topic"])
    ams.create_sub(names["sub"], names["topic"], ackdeadline=60)
    return names["topic"], names["sub"]


def test_publish_pull_ack_round_trip(ams: ArgoMessagingService, names: dict[str, str]) -> None:
    topic, sub = _setup(ams, names)
    sent = [AmsMessage(data=f"payload {i} ü", attributes={"seq": str(i)}) for i in range(25)]
    sent.append(AmsMessage(data=b"\x00\xffbinary"))  # no attributes, binary data

    ids = ams.publish(topic, sent)["messageIds"]

    assert ids == [str(i) for i in range(26)]
    pulled = ams.pull_sub(sub, num=100, return_immediately=True)
    assert [m.get_msgid() for _, m in pulled] == ids
    assert [m.get_data() for _, m in pulled] == [m.get_data() for m in sent]
    assert [m.get_attr() for _, m in pulled] == [m.get_attr() for m in sent]
    assert pulled[-1][1].get_attr() == {}
    assert all(m.get_publishtime().endswith("Z") for _, m in pulled)
    assert pulled[0][0] == f"projects/{ams.project}/subscriptions/{sub}:0"

    assert ams.ack_sub(sub, [pulled[-1][0]]) is True
    assert ams.getoffsets_sub(sub) == {"max": 26, "min": 0, "current": 26}
    assert ams.pull_sub(sub, num=10, return_immediately=True) == []


def test_unacked_messages_come_again_and_cumulative_ack(
    ams: ArgoMessagingService, names: dict[str, str]
) -> None:
    topic, sub = _setup(ams, names)
    ams.publish(topic, [AmsMessage(data=str(i)) for i in range(10)])

    first = ams.pull_sub(sub, num=4, return_immediately=True)
    again = ams.pull_sub(sub, num=4, return_immediately=True)  # not acked: same window again
    assert [m.get_data() for _, m in again] == [m.get_data() for _, m in first]

    ams.ack_sub(sub, [again[2][0]])  # acks messages 0..2 only
    assert ams.getoffsets_sub(sub, "current") == 3
    rest = ams.pull_sub(sub, num=10, return_immediately=True)
    assert [m.get_data() for _, m in rest] == [str(i).encode() for i in range(3, 10)]


def test_ack_of_an_old_window_is_refused(ams: ArgoMessagingService, names: dict[str, str]) -> None:
    topic, sub = _setup(ams, names)
    ams.publish(topic, [AmsMessage(data=str(i)) for i in range(4)])
    old = ams.pull_sub(sub, num=2, return_immediately=True)
    ams.ack_sub(sub, [old[-1][0]])
    with pytest.raises(AmsServiceException) as info:
        ams.ack_sub(sub, [old[-1][0]])  # that window is gone
    assert info.value.code == 500
    assert info.value.error_message == "no ack pending"


def test_ack_after_deadline_is_a_timeout(ams: ArgoMessagingService, names: dict[str, str]) -> None:
    topic, sub = _setup(ams, names)
    ams.modifyackdeadline_sub(sub, 0)
    assert ams.get_sub(sub)["ackDeadlineSeconds"] == 0
    ams.publish(topic, AmsMessage(data="late"))
    msgs = ams.pull_sub(sub, num=1, return_immediately=True)
    time.sleep(1.05)  # the deadline is counted in whole seconds
    with pytest.raises(AmsTimeoutException) as info:
        ams.ack_sub(sub, [msgs[0][0]])
    assert info.value.code == 408
    assert ams.pull_sub(sub, num=1, return_immediately=True)[0][1].get_data() == b"late"


def test_pullack(ams: ArgoMessagingService, names: dict[str, str]) -> None:
    topic, sub = _setup(ams, names)
    ams.publish(topic, [AmsMessage(data=f"m{i}") for i in range(5)])
    got = ams.pullack_sub(sub, num=3, return_immediately=True)
    assert [m.get_data() for m in got] == [b"m0", b"m1", b"m2"]
    assert ams.getoffsets_sub(sub, "current") == 3
    got = ams.pullack_sub(sub, num=10, return_immediately=True)
    assert [m.get_data() for m in got] == [b"m3", b"m4"]
    assert ams.pullack_sub(sub, num=10, return_immediately=True) == []


def test_offsets_modify_and_time_to_offset(
    ams: ArgoMessagingService, names: dict[str, str]
) -> None:
    topic, sub = _setup(ams, names)
    ams.publish(topic, [AmsMessage(data=f"early{i}") for i in range(3)])
    time.sleep(0.01)
    boundary = datetime.datetime.now(datetime.timezone.utc)
    time.sleep(0.01)
    ams.publish(topic, [AmsMessage(data=f"late{i}") for i in range(2)])

    assert ams.time_to_offset_sub(sub, boundary) == 3
    # The same instant in another time zone gives the same offset.
    athens = boundary.astimezone(datetime.timezone(datetime.timedelta(hours=3)))
    assert ams.time_to_offset_sub(sub, athens) == 3

    ams.modifyoffset_sub(sub, 3)
    assert ams.getoffsets_sub(sub, "current") == 3
    assert [m.get_data() for _, m in ams.pull_sub(sub, 10, True)] == [b"late0", b"late1"]

    ams.modifyoffset_sub(sub, 0)  # replay from the start
    assert ams.pull_sub(sub, 1, True)[0][1].get_data() == b"early0"

    with pytest.raises(AmsServiceException) as info:
        ams.modifyoffset_sub(sub, 99)
    assert (info.value.code, info.value.error_message) == (400, "Offset out of bounds")
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    with pytest.raises(AmsServiceException) as info:
        ams.time_to_offset_sub(sub, later)
    assert info.value.code == 409


def test_acls(ams: ArgoMessagingService, names: dict[str, str]) -> None:
    topic, sub = _setup(ams, names)
    user = names["user"]
    ams.create_project_member(user, roles=["publisher", "consumer"])

    assert ams.getacl_topic(topic) == {"authorized_users": []}
    assert ams.modifyacl_topic(topic, [user]) is True
    assert ams.getacl_topic(topic) == {"authorized_users": [user]}
    assert ams.modifyacl_sub(sub, [user]) is True
    assert ams.getacl_sub(sub) == {"authorized_users": [user]}
    ams.modifyacl_topic(topic, [])
    assert ams.getacl_topic(topic)["authorized_users"] == []

    with pytest.raises(AmsServiceException) as info:
        ams.modifyacl_topic(topic, ["nobody-here"])
    assert info.value.code == 404
    assert "nobody-here" in info.value.error_message


def test_push_config(ams: ArgoMessagingService, names: dict[str, str]) -> None:
    topic, sub = _setup(ams, names)
    ams.pushconfig_sub(sub, push_endpoint="https://receiver.example.org/ams",
                       retry_policy_type="linear", retry_policy_period=3000)
    config = ams.get_sub(sub)["pushConfig"]
    assert config["type"] == "http_endpoint"
    assert config["pushEndpoint"] == "https://receiver.example.org/ams"
    assert config["retryPolicy"] == {"type": "linear", "period": 3000}
    assert config["verified"] is False
    assert len(config["verificationHash"]) == 64

    obj = ams.get_sub(sub, retobj=True)
    assert isinstance(obj, AmsSubscription)
    assert obj.push_endpoint == "https://receiver.example.org/ams"
    assert obj.retry_policy_type == "linear"

    ams.pushconfig_sub(sub)  # back to pull
    assert ams.get_sub(sub)["pushConfig"]["type"] == ""


def test_retobj_objects(ams: ArgoMessagingService, names: dict[str, str]) -> None:
    topic = ams.create_topic(names["topic"], retobj=True)
    assert isinstance(topic, AmsTopic)
    assert topic.fullname == f"/projects/{ams.project}/topics/{names['topic']}"
    sub = topic.subscription(names["sub"], ackdeadline=30)
    assert isinstance(sub, AmsSubscription)
    assert (sub.name, sub.topic.name, sub.ackdeadline) == (names["sub"], names["topic"], 30)
    assert ams.get_topic(names["topic"], retobj=True) == topic

    topic.publish([AmsMessage(data="via object", attributes={"k": "v"})])
    [(ack_id, msg)] = sub.pull(num=5, return_immediately=True)
    assert msg.get_data() == b"via object"
    assert sub.ack([ack_id]) is True
    assert sub.offsets() == {"max": 1, "min": 0, "current": 1}
    assert sub.offsets("current") == 1
    assert topic.acl() == {"authorized_users": []}

    # topic()/subscription() return existing resources as objects.
    assert ams.topic(names["topic"]) == topic
    assert topic.subscription(names["sub"]).fullname == sub.fullname

    sub.delete()
    topic.delete()
    assert not ams.has_sub(names["sub"])
    assert not ams.has_topic(names["topic"])


def test_iter_topics_and_subs(ams: ArgoMessagingService, names: dict[str, str]) -> None:
    base = names["topic"]
    made = [f"{base}-{i}" for i in range(5)]
    for t in made:
        ams.create_topic(t)
    for i, t in enumerate(made[:3]):
        ams.create_sub(f"{base}-s{i}", t)
    ams.create_sub(f"{base}-s-extra", made[0])

    listed = {t.name for t in ams.iter_topics(page_size=2)}
    assert set(made) <= listed
    subs_of_first = {s.name for s in ams.iter_subs(topic=made[0], page_size=2)}
    assert subs_of_first == {f"{base}-s0", f"{base}-s-extra"}
    assert {s.name for s in ams.get_topic(made[0], retobj=True).iter_subs()} == subs_of_first
    all_subs = {s.name for s in ams.iter_subs()}
    assert {f"{base}-s0", f"{base}-s1", f"{base}-s2", f"{base}-s-extra"} <= all_subs

    page = ams.list_topics(page_size=2)
    assert len(page["topics"]) == 2 and page["nextPageToken"]
    assert page["totalSize"] >= 5


def test_errors_from_the_server(ams: ArgoMessagingService, names: dict[str, str]) -> None:
    with pytest.raises(AmsServiceException) as info:
        ams.get_topic("does-not-exist")
    assert (info.value.code, info.value.status) == (404, "NOT_FOUND")
    ams.create_topic(names["topic"])
    with pytest.raises(AmsServiceException) as info:
        ams.create_topic(names["topic"])
    assert (info.value.code, info.value.status) == (409, "ALREADY_EXISTS")
    with pytest.raises(AmsArgumentException):
        ams.get_topic("../users")


def test_oversize_message_is_refused_before_sending(
    ams: ArgoMessagingService, names: dict[str, str]
) -> None:
    topic, sub = _setup(ams, names)
    with pytest.raises(AmsMessageException):
        ams.publish(topic, [AmsMessage(data="ok"), AmsMessage(data=b"x" * 1_200_000)])
    assert ams.getoffsets_sub(sub, "max") == 0  # nothing was published
    # The largest message that fits is accepted by the server.
    ids = ams.publish(topic, AmsMessage(data=b"y" * 1_100_000))["messageIds"]
    assert ids == ["0"]


def test_legacy_import_script_runs_unchanged(ams_target, names: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """A script written for argo-ams-library, unchanged, against the AMS under test."""
    script = textwrap.dedent(
        f"""
        from argo_ams_library import ArgoMessagingService, AmsMessage, AmsServiceException

        ams = ArgoMessagingService(endpoint="{ams_target.endpoint}", token="{ams_target.admin_token}",
                                   project="{ams_target.project}")
        try:
            ams.create_topic("{names['topic']}")
            ams.create_sub("{names['sub']}", "{names['topic']}")
        except AmsServiceException as e:
            raise SystemExit("setup failed: %s" % e)
        msg = AmsMessage(data="hello legacy", attributes={{"a": "b"}}).dict()
        print(ams.publish("{names['topic']}", msg)["messageIds"])
        ackids = []
        for id, m in ams.pull_sub("{names['sub']}", 1):
            print(m.get_data().decode(), m.get_attr())
            ackids.append(id)
        print(ams.ack_sub("{names['sub']}", ackids))
        """
    )
    env = {"REQUESTS_CA_BUNDLE": ams_target.ca_path, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["['0']", "hello legacy {'a': 'b'}", "True"]
