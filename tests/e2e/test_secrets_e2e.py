"""Tokens never reach a log line, an exception message or a repr, across a full run at DEBUG."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

from pymod import AmsException, AmsMessage, AmsUser, AmsUserProject, ArgoMessagingService

if TYPE_CHECKING:
    from conftest import AmsTarget


@pytest.mark.service_admin("creates a user")
def test_no_token_in_debug_logs_exceptions_or_reprs(
    ams_target: AmsTarget, names: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: pymod, urllib3, the emulator, uvicorn
    seen_texts: list[str] = []
    with ArgoMessagingService(ams_target.endpoint, token=ams_target.admin_token,
                              project=ams_target.project, verify=ams_target.ca_path) as ams:
        user = ams.create_user(AmsUser(name=names["user"],
                                       projects=[AmsUserProject(ams_target.project, ["consumer"])]))
        assert user.token
        seen_texts += [repr(ams), repr(user), str(user)]
        ams.create_topic(names["topic"])
        ams.create_sub(names["sub"], names["topic"])
        ams.publish(names["topic"], [AmsMessage(data="secret run", attributes={"a": "b"})])
        pulled = ams.pull_sub(names["sub"], 10, True)
        ams.ack_sub(names["sub"], [pulled[-1][0]])
        assert ams.get_user_by_token(user.token).name == user.name  # token in the URL path
        for call in (
            lambda: ams.get_user_by_token("f" * 64),  # 404 with a token in the path
            lambda: ams.get_topic("missing-topic"),
            lambda: ArgoMessagingService("127.0.0.1:9", token=user.token, project="DEMO",
                                         timeout=1).get_user_by_token(user.token),
        ):
            with pytest.raises(AmsException) as info:
                call()
            seen_texts += [str(info.value), repr(info.value)]

    log_text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert len(caplog.records) > 10  # DEBUG logging really happened
    assert any("users:byToken/***" in r.getMessage() for r in caplog.records)
    for token in (ams_target.admin_token, user.token, "f" * 64):
        assert token not in log_text
        for text in seen_texts:
            assert token not in text
