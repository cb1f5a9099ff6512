"""What the real AMS answers where the emulator has differed, seen through the client.

Each test asserts argo-messaging's answer (checked against the real server built from
``../shared/ams-oracle``: ``pytest tests/e2e --ams-oracle``). Where the emulator still answers
otherwise, the test is marked ``xfail_on_emulator`` with the difference; the marker is not strict,
so a test that passes once the emulator is fixed shows as XPASS (then drop the marker).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from pymod import AmsMessage, AmsServiceException, AmsUser, AmsUserProject, ArgoMessagingService

if TYPE_CHECKING:
    from conftest import AmsTarget


def test_out_of_bounds_offset_is_refused_and_still_stored(ams: ArgoMessagingService,
                                                          names: dict[str, str]) -> None:
    ams.create_topic(names["topic"])
    ams.create_sub(names["sub"], names["topic"])
    ams.publish(names["topic"], [AmsMessage(data=str(i)) for i in range(3)])
    with pytest.raises(AmsServiceException) as info:
        ams.modifyoffset_sub(names["sub"], 99)
    assert (info.value.code, info.value.error_message) == (400, "Offset out of bounds")
    assert ams.getoffsets_sub(names["sub"]) == {"max": 3, "min": 0, "current": 99}
    assert ams.pull_sub(names["sub"], 10, True) == []
    ams.modifyoffset_sub(names["sub"], 1)
    assert [m.get_data() for _, m in ams.pull_sub(names["sub"], 10, True)] == [b"1", b"2"]


def test_acl_of_a_missing_topic_or_subscription_can_be_set(ams: ArgoMessagingService,
                                                           names: dict[str, str]) -> None:
    """AMS answers 200 to modifyAcl of a topic or subscription that does not exist (sent as is:
    ``modifyacl_topic``/``modifyacl_sub`` look the resource up first, as argo-ams-library did)."""
    ams.create_project_member(names["user"], roles=["publisher", "consumer"])
    body = {"authorized_users": [names["user"]]}
    for route, param in (("topics:modifyAcl", "topic"), ("subscriptions:modifyAcl", "sub")):
        url = ams.url_for(route, project=ams.project, **{
            ("topic" if param == "topic" else "subscription"): names[param]})
        assert ams.do_post(url, body, route) == {}
    with pytest.raises(AmsServiceException) as info:
        ams.modifyacl_topic(names["topic"], [names["user"]])  # the lookup first: 404
    assert info.value.code == 404
    with pytest.raises(AmsServiceException) as info:
        ams.getacl_topic(names["topic"])  # it still does not exist
    assert info.value.code == 404


@pytest.mark.service_admin("creates users")
def test_creating_an_existing_user_is_a_conflict_before_other_checks(
    ams: ArgoMessagingService, names: dict[str, str]
) -> None:
    ams.create_user(AmsUser(name=names["user"], email="someone@example.org"))
    with pytest.raises(AmsServiceException) as info:
        ams.create_user(AmsUser(name=names["user"], email="someone@example.org",
                                projects=[AmsUserProject(f"{names['topic']}-no-such-project",
                                                         ["no-such-role"])]))
    assert (info.value.code, info.value.status) == (409, "ALREADY_EXISTS")


@pytest.mark.service_admin("refreshes a user's token")
def test_refreshing_a_token_leaves_modified_on(ams: ArgoMessagingService,
                                               names: dict[str, str]) -> None:
    before = ams.create_project_member(names["user"], roles=["consumer"])
    time.sleep(1.05)  # timestamps have whole seconds
    after = ams.refresh_user_token(names["user"])
    assert after.token and after.token != before.token
    assert after.modified_on == before.modified_on


def test_version_has_its_fields(ams: ArgoMessagingService) -> None:
    version = ams.version()
    for key in ("build_time", "golang", "compiler", "os", "architecture", "distro"):
        assert isinstance(version[key], str), key


@pytest.mark.service_admin("creates a project")
def test_members_of_a_deleted_project_keep_an_empty_entry(ams_target: AmsTarget,
                                                          ams: ArgoMessagingService,
                                                          names: dict[str, str]) -> None:
    project = f"{names['topic']}-project"
    ams.create_project(project, "deleted by the test")
    ams.create_project_member(names["user"], project=project, roles=["consumer"])
    inside = ams_target.client(project=project)
    inside.create_topic("t")  # (the oracle's mock store cannot delete an empty project)
    inside.create_sub("s", "t")
    inside.publish("t", AmsMessage(data="x"))
    assert ams.delete_project(project) == {}
    member = ams.get_user(names["user"])
    assert [(p.project, p.roles) for p in member.projects] == [("", ["consumer"])]
