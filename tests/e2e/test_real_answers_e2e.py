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


@pytest.mark.xfail_on_emulator("modifyOffset out of bounds stores nothing; AMS stores the offset")
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


@pytest.mark.xfail_on_emulator("modifyAcl of a missing topic or subscription is 404; AMS: 200")
def test_acl_of_a_missing_topic_or_subscription_can_be_set(ams: ArgoMessagingService,
                                                           names: dict[str, str]) -> None:
    ams.create_project_member(names["user"], roles=["publisher", "consumer"])
    assert ams.modifyacl_topic(names["topic"], [names["user"]]) is True
    assert ams.modifyacl_sub(names["sub"], [names["user"]]) is True
    with pytest.raises(AmsServiceException) as info:
        ams.getacl_topic(names["topic"])  # it still does not exist
    assert info.value.code == 404


@pytest.mark.xfail_on_emulator("an existing user with an invalid project is 400; AMS: 409 first")
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


@pytest.mark.xfail_on_emulator(":refreshToken sets modified_on; AMS leaves it")
@pytest.mark.service_admin("refreshes a user's token")
def test_refreshing_a_token_leaves_modified_on(ams: ArgoMessagingService,
                                               names: dict[str, str]) -> None:
    before = ams.create_project_member(names["user"], roles=["consumer"])
    time.sleep(1.05)  # timestamps have whole seconds
    after = ams.refresh_user_token(names["user"])
    assert after.token and after.token != before.token
    assert after.modified_on == before.modified_on


@pytest.mark.xfail_on_emulator("/v1/version has no distro; AMS always has one")
def test_version_has_its_fields(ams: ArgoMessagingService) -> None:
    version = ams.version()
    for key in ("build_time", "golang", "compiler", "os", "architecture", "distro"):
        assert isinstance(version[key], str), key


@pytest.mark.xfail_on_emulator("a deleted project leaves no entry; AMS: project \"\", roles kept")
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
