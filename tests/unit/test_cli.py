"""Unit tests of the ``ams`` command (pymod.cli) with ``responses``: argument parsing, settings
from flags and environment variables, one-line errors, JSON Lines formats."""

from __future__ import annotations

import base64
import datetime
import io
import json
import os
import re
from typing import Any, Dict, Iterator, List
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from pymod import cli

from ._support import BASE, HOST, PROJECT, TOKEN

P = f"{BASE}/projects/{PROJECT}"
ENV = {"AMS_HOST": HOST, "AMS_TOKEN": TOKEN, "AMS_PROJECT": PROJECT}


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    from pymod.envconfig import ENV_VARS

    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as m:
        yield m


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def body_of(call: Any) -> Any:
    return json.loads(call.request.body)


def error_lines(err: str) -> List[str]:
    return [line for line in err.splitlines() if line.strip()]


def received(*items: Dict[str, Any]) -> str:
    return json.dumps({"receivedMessages": list(items)}, indent=3)


def wire(offset: int, data: str, attributes: Dict[str, str] | None = None) -> Dict[str, Any]:
    message: Dict[str, Any] = {"messageId": str(offset), "data": data,
                               "publishTime": "2024-05-02T09:50:01.5Z"}
    if attributes:
        message["attributes"] = attributes
    return {"ackId": f"projects/{PROJECT}/subscriptions/s:{offset}", "message": message}


# ---- settings and errors -------------------------------------------------------------------
def test_settings_flags_win_over_environment(monkeypatch):
    monkeypatch.setenv("AMS_CA", "/env/ca.pem")
    args = cli.build_parser().parse_args(
        ["topics", "list", "--host", "other:8443", "--project", "P2", "--authn-port", "9443"])
    settings = cli.settings_from(args, {"AMS_HOST": HOST, "AMS_TOKEN": "t", "AMS_PROJECT": "X",
                                        "AMS_CA": "/env/ca.pem"})
    assert (settings.host, settings.token, settings.project, settings.ca) == \
        ("other:8443", "t", "P2", "/env/ca.pem")
    assert settings.authn_port == 9443 and settings.timeout is None


def test_global_options_before_the_command(mock, capsys):
    mock.get(re.compile(r"https://h2:1234/v1/projects/P3/topics.*"),
             json={"topics": [{"name": "/projects/P3/topics/a"}], "nextPageToken": "",
                   "totalSize": 1})
    assert cli.main(["--host", "h2:1234", "--project", "P3", "topics", "list"]) == 0
    assert capsys.readouterr().out == "a\n"
    assert mock.calls[0].request.headers["x-api-key"] == TOKEN


@pytest.mark.parametrize("missing, text", [
    ("AMS_HOST", "no AMS host"), ("AMS_TOKEN", "no token"), ("AMS_PROJECT", "no project"),
])
def test_missing_settings_are_one_line_usage_errors(monkeypatch, capsys, missing, text):
    monkeypatch.delenv(missing)
    assert cli.main(["topics", "list"]) == 2
    err = capsys.readouterr().err
    assert error_lines(err) == [error_lines(err)[0]] and err.startswith(f"ams: error: {text}")


def test_invalid_names_are_usage_errors_and_send_nothing(mock, capsys):
    assert cli.main(["topics", "show", "../users"]) == 2
    assert cli.main(["--host", "https://x/", "topics", "list"]) == 2
    err = capsys.readouterr().err
    assert len(error_lines(err)) == 2 and len(mock.calls) == 0


def test_publish_empty_file_sends_nothing(mock, tmp_path, capsys):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n")
    assert cli.main(["publish", "t", "--file", str(path)]) == 0
    assert "nothing published" in capsys.readouterr().out and len(mock.calls) == 0


def test_missing_ca_file_is_reported(capsys):
    assert cli.main(["--ca", "/nonexistent/ca.pem", "topics", "list"]) == 2
    assert "CA file '/nonexistent/ca.pem' does not exist" in capsys.readouterr().err


def test_users_commands_do_not_need_a_project(monkeypatch, mock, capsys):
    monkeypatch.delenv("AMS_PROJECT")
    mock.get(re.compile(re.escape(f"{BASE}/users") + r"(\?.*)?$"),
             json={"users": [{"name": "root"}, {"name": "bob"}], "nextPageToken": "",
                   "totalSize": 2})
    assert cli.main(["users", "list"]) == 0
    assert capsys.readouterr().out == "root\nbob\n"


def test_service_error_is_one_line_exit_1_without_token(mock, capsys):
    # a (hypothetical) server that echoes the token must not make the CLI print it
    mock.get(f"{P}/topics/nope", status=404, json={"error": {
        "code": 404, "message": f"Topic doesn't exist ({TOKEN})", "status": "NOT_FOUND"}})
    assert cli.main(["topics", "show", "nope"]) == 1
    captured = capsys.readouterr()
    lines = error_lines(captured.err)
    assert len(lines) == 1 and lines[0].startswith("ams: error: ")
    assert "Topic doesn't exist" in lines[0] and TOKEN not in captured.err + captured.out
    assert "Traceback" not in captured.err


def test_connection_error_is_one_line(mock, capsys):
    import requests

    mock.get(f"{P}/topics/t", body=requests.ConnectionError("refused"))
    assert cli.main(["topics", "show", "t"]) == 1
    assert len(error_lines(capsys.readouterr().err)) == 1


def test_usage_errors_exit_2(capsys):
    assert cli.main(["bogus"]) == 2
    assert cli.main(["publish"]) == 2
    assert cli.main([]) == 2
    assert cli.main(["subs", "create", "s"]) == 2  # --topic is required
    assert "Traceback" not in capsys.readouterr().err


def test_help_exits_0(capsys):
    assert cli.main(["--help"]) == 0
    assert "publish" in capsys.readouterr().out


def test_emulator_and_demo_are_delegated(monkeypatch):
    seen: Dict[str, Any] = {}

    def fake_emulator(argv, prog):
        seen["emulator"] = (argv, prog)
        return 0

    def fake_demo(n, batch, size, out):
        seen["demo"] = (n, batch, size)
        return 3

    monkeypatch.setattr("pymod.emulator.__main__.main", fake_emulator)
    monkeypatch.setattr("pymod.demo.run_demo", fake_demo)
    assert cli.main(["emulator", "--port", "8443", "--no-push"]) == 0
    assert seen["emulator"] == (["--port", "8443", "--no-push"], "ams emulator")
    assert cli.main(["demo", "-n", "20", "--batch", "5"]) == 3
    assert seen["demo"] == (20, 5, 64)


# ---- topics / subs / offsets / users / projects --------------------------------------------
def test_topics_list_json(mock, capsys):
    topics = [{"name": f"/projects/{PROJECT}/topics/a", "created_on": "2024-05-02T09:41:07Z"}]
    mock.get(f"{P}/topics", json={"topics": topics, "nextPageToken": "", "totalSize": 1})
    assert cli.main(["topics", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == topics


def test_topic_acl_set_and_clear(mock, capsys):
    topic = {"name": f"/projects/{PROJECT}/topics/t"}
    mock.get(f"{P}/topics/t", json=topic)  # the ACL calls fetch the topic first
    mock.post(f"{P}/topics/t:modifyAcl", body="")
    mock.get(f"{P}/topics/t", json=topic)
    mock.get(f"{P}/topics/t:acl", json={"authorized_users": ["bob", "carol"]})
    assert cli.main(["topics", "acl", "t", "--set", "bob", "carol"]) == 0
    assert body_of(mock.calls[1]) == {"authorized_users": ["bob", "carol"]}
    assert capsys.readouterr().out == "bob\ncarol\n"
    mock.post(f"{P}/topics/t:modifyAcl", body="")
    mock.get(f"{P}/topics/t:acl", json={"authorized_users": []})
    assert cli.main(["topics", "acl", "t", "--set"]) == 0
    assert body_of(mock.calls[5]) == {"authorized_users": []}


def test_subs_create_body(mock, capsys):
    mock.get(f"{P}/topics/t", json={"name": f"/projects/{PROJECT}/topics/t"})  # fetched first
    mock.put(f"{P}/subscriptions/s", json={"name": f"/projects/{PROJECT}/subscriptions/s",
                                           "topic": f"/projects/{PROJECT}/topics/t",
                                           "ackDeadlineSeconds": 30})
    assert cli.main(["subs", "create", "s", "--topic", "t", "--ack-deadline", "30"]) == 0
    body = body_of(mock.calls[1])
    assert body["topic"] == f"projects/{PROJECT}/topics/t" and body["ackDeadlineSeconds"] == 30
    assert "created subscription s" in capsys.readouterr().out


def test_subs_list_filtered_by_topic(mock, capsys):
    subs = [{"name": f"/projects/{PROJECT}/subscriptions/{n}",
             "topic": f"/projects/{PROJECT}/topics/{t}"} for n, t in (("s1", "a"), ("s2", "b"))]
    mock.get(f"{P}/subscriptions", json={"subscriptions": subs, "nextPageToken": "",
                                         "totalSize": 2})
    assert cli.main(["subs", "list", "--topic", "b"]) == 0
    assert capsys.readouterr().out == "s2\tb\n"


def test_offsets_show_move_and_to_time(mock, capsys):
    offsets = {"max": 43, "min": 0, "current": 41}
    mock.get(f"{P}/subscriptions/s:offsets", json=offsets)
    assert cli.main(["offsets", "s", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == offsets

    mock.post(f"{P}/subscriptions/s:modifyOffset", body="")
    mock.get(f"{P}/subscriptions/s:offsets", json=offsets)
    assert cli.main(["offsets", "s", "--move", "7"]) == 0
    assert body_of(mock.calls[1]) == {"offset": 7}
    assert "moved s to offset 7" in capsys.readouterr().out

    mock.get(re.compile(re.escape(f"{P}/subscriptions/s:timeToOffset") + r"\?.*"),
             body='{"offset":12}')
    mock.post(f"{P}/subscriptions/s:modifyOffset", body="")
    mock.get(f"{P}/subscriptions/s:offsets", json=offsets)
    assert cli.main(["offsets", "s", "--to-time", "2024-05-02T11:39:11.5+02:00"]) == 0
    assert parse_qs(urlsplit(mock.calls[3].request.url).query)["time"] == \
        ["2024-05-02T09:39:11.500Z"]
    assert body_of(mock.calls[4]) == {"offset": 12}


def test_offsets_bad_time_is_a_usage_error(capsys):
    assert cli.main(["offsets", "s", "--to-time", "yesterday"]) == 2
    assert "not an ISO 8601 time" in capsys.readouterr().err


@pytest.mark.parametrize("text, expected", [
    ("2024-05-02T09:41:07Z", datetime.datetime(2024, 5, 2, 9, 41, 7, tzinfo=datetime.timezone.utc)),
    ("2024-05-02T09:41:07.123456789Z",
     datetime.datetime(2024, 5, 2, 9, 41, 7, 123456, tzinfo=datetime.timezone.utc)),
    ("2024-05-02 09:41:07", datetime.datetime(2024, 5, 2, 9, 41, 7, tzinfo=datetime.timezone.utc)),
])
def test_parse_time(text, expected):
    assert cli.parse_time(text) == expected


def test_users_create_members_and_token_shown(mock, capsys):
    mock.post(f"{BASE}/users/dave", json={"name": "dave", "uuid": "u1", "token": "newtoken",
                                          "projects": [{"project": "DEMO",
                                                        "roles": ["publisher", "consumer"]}]})
    assert cli.main(["users", "create", "dave", "--member", "DEMO:publisher,consumer",
                     "--email", "d@example.org", "--json"]) == 0
    body = body_of(mock.calls[0])
    assert body["projects"] == [{"project": "DEMO", "roles": ["publisher", "consumer"],
                                 "topics": [], "subscriptions": []}]
    assert body["email"] == "d@example.org"
    assert json.loads(capsys.readouterr().out)["token"] == "newtoken"


def test_users_show_hides_token_by_default(mock, capsys):
    mock.get(f"{BASE}/users/dave", json={"name": "dave", "token": "sekrit"})
    assert cli.main(["users", "show", "dave"]) == 0
    assert "sekrit" not in capsys.readouterr().out


def test_projects_create_and_list(mock, capsys, monkeypatch):
    monkeypatch.delenv("AMS_PROJECT")
    mock.post(f"{BASE}/projects/NEW", json={"name": "NEW"})
    mock.get(f"{BASE}/projects", json={"projects": [{"name": "DEMO"}, {"name": "NEW"}]})
    assert cli.main(["projects", "create", "NEW", "--description", "a test"]) == 0
    assert body_of(mock.calls[0]) == {"description": "a test"}
    assert cli.main(["projects", "list"]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == ["DEMO", "NEW"]


# ---- publish -------------------------------------------------------------------------------
def test_publish_arguments_with_attributes(mock, capsys):
    mock.post(f"{P}/topics/t:publish", json={"messageIds": ["5", "6"]})
    assert cli.main(["publish", "t", "hello", "wörld", "--attr", "host=node7"]) == 0
    messages = body_of(mock.calls[0])["messages"]
    assert messages == [{"attributes": {"host": "node7"}, "data": b64("hello")},
                        {"attributes": {"host": "node7"}, "data": b64("wörld")}]
    assert capsys.readouterr().out == "published 2 message(s) to t (ids 5..6)\n"


def test_publish_stdin_lines(mock, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("one\ntwo\r\n"))
    mock.post(f"{P}/topics/t:publish", json={"messageIds": ["0", "1"]})
    assert cli.main(["publish", "t", "-"]) == 0
    assert [m["data"] for m in body_of(mock.calls[0])["messages"]] == [b64("one"), b64("two")]


def test_publish_file_in_batches(mock, tmp_path, capsys):
    path = tmp_path / "msgs.jsonl"
    lines = [json.dumps({"data": f"m{i}", "attributes": {"i": str(i)}}) for i in range(4)]
    lines.insert(2, "")  # blank lines are ignored
    lines.append(json.dumps({"data_b64": base64.b64encode(b"\x00\xff").decode()}))
    path.write_text("\n".join(lines) + "\n")
    mock.post(f"{P}/topics/t:publish", json={"messageIds": ["0", "1"]})
    mock.post(f"{P}/topics/t:publish", json={"messageIds": ["2", "3"]})
    mock.post(f"{P}/topics/t:publish", json={"messageIds": ["4"]})
    assert cli.main(["publish", "t", "--file", str(path), "--batch", "2", "--json"]) == 0
    sent = [m for c in mock.calls for m in body_of(c)["messages"]]
    assert [m["data"] for m in sent] == [b64(f"m{i}") for i in range(4)] + ["AP8="]
    assert sent[3]["attributes"] == {"i": "3"} and "attributes" not in sent[4]
    assert json.loads(capsys.readouterr().out) == {"topic": "t", "published": 5,
                                                    "firstId": "0", "lastId": "4"}


@pytest.mark.parametrize("content, text", [
    ('{"data": "ok"}\nnot json\n', "line 2: not JSON"),
    ('{"data": 5}\n', "line 1: data must be a string"),
    ('{"data_b64": "%%%"}\n', "line 1: data_b64 is not valid Base64"),
    ('{"data": "x", "attributes": {"k": 1}}\n', "line 1: attribute"),
    ('["x"]\n', "line 1: expected a JSON object"),
    ('{"payload": "x"}\n', "line 1: unknown key(s) payload"),
])
def test_publish_bad_file_sends_nothing(mock, tmp_path, capsys, content, text):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    assert cli.main(["publish", "t", "--file", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(error_lines(err)) == 1 and text in err
    assert len(mock.calls) == 0


def test_publish_missing_file(capsys):
    assert cli.main(["publish", "t", "--file", "/nonexistent.jsonl"]) == 2
    assert "cannot read /nonexistent.jsonl" in capsys.readouterr().err


def test_publish_failure_midway_says_where_to_resume(mock, tmp_path, capsys):
    path = tmp_path / "msgs.jsonl"
    path.write_text("".join(json.dumps({"data": f"m{i}"}) + "\n" for i in range(4)))
    mock.post(f"{P}/topics/t:publish", json={"messageIds": ["0", "1"]})
    mock.post(f"{P}/topics/t:publish", status=403, json={"error": {
        "code": 403, "message": "Access to this resource is forbidden", "status": "FORBIDDEN"}})
    assert cli.main(["publish", "t", "--file", str(path), "--batch", "2"]) == 1
    err = capsys.readouterr().err
    assert "topic 't': " in err and "HTTP 403" in err
    assert "published 2 message(s) (lines up to 2); not published: line 3 and everything" in err
    assert "resume with --skip 2" in err
    assert len(error_lines(err)) == 1


def test_publish_progress_bar_on_request(mock, tmp_path, capsys):
    path = tmp_path / "msgs.jsonl"
    path.write_text('{"data": "a"}\n{"data": "b"}\n')
    mock.post(f"{P}/topics/t:publish", json={"messageIds": ["0", "1"]})
    assert cli.main(["publish", "t", "--file", str(path), "--progress"]) == 0
    assert "published: 2 msg" in capsys.readouterr().err


# ---- pull / consume ------------------------------------------------------------------------
def test_pull_prints_json_lines_and_does_not_ack(mock, capsys):
    mock.post(f"{P}/subscriptions/s:pull", body=received(
        wire(0, b64("héllo"), {"k": "v"}), wire(1, base64.b64encode(b"\xff\x00").decode())))
    assert cli.main(["pull", "s", "--max", "5"]) == 0
    assert body_of(mock.calls[0]) == {"maxMessages": "5", "returnImmediately": "true"}
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records[0] == {"ackId": f"projects/{PROJECT}/subscriptions/s:0", "messageId": "0",
                          "publishTime": "2024-05-02T09:50:01.5Z", "attributes": {"k": "v"},
                          "data": "héllo"}
    assert records[1]["data_b64"] == "/wA=" and "data" not in records[1]
    assert records[1]["attributes"] == {}


def test_pull_ack_acknowledges_last_id_until_empty(mock, capsys):
    mock.post(f"{P}/subscriptions/s:pull", body=received(wire(0, b64("a")), wire(1, b64("b"))))
    mock.post(f"{P}/subscriptions/s:acknowledge", body="{}")
    mock.post(f"{P}/subscriptions/s:pull", body=received())
    assert cli.main(["pull", "s", "--ack"]) == 0
    assert body_of(mock.calls[1]) == {"ackIds": [f"projects/{PROJECT}/subscriptions/s:1"]}
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_pull_follow_needs_ack(capsys):
    assert cli.main(["pull", "s", "--follow"]) == 2
    assert "--follow needs --ack" in capsys.readouterr().err


def test_consume_uses_the_consumer_and_acks(mock, capsys):
    mock.get(f"{P}/subscriptions/s", json={"name": f"/projects/{PROJECT}/subscriptions/s",
                                           "ackDeadlineSeconds": 10})
    mock.post(f"{P}/subscriptions/s:pull", body=received(
        wire(0, b64("a"), {"type": "x"}), wire(1, b64("b"), {"type": "y"}),
        wire(2, b64("c"), {"type": "x"})))
    mock.post(f"{P}/subscriptions/s:acknowledge", body="{}")
    assert cli.main(["consume", "s", "--max", "3", "--ack", "--filter", "type=x"]) == 0
    ack = [c for c in mock.calls if c.request.url.endswith(":acknowledge")]
    assert body_of(ack[0]) == {"ackIds": [f"projects/{PROJECT}/subscriptions/s:2"]}
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["data"] for r in records] == ["a", "c"]
    assert records[1]["ackId"] == f"projects/{PROJECT}/subscriptions/s:2"
    assert "consumed 2 message(s), acknowledged 3, skipped 1" in captured.err


def test_consume_checkpoint_file(mock, tmp_path, capsys):
    cursor = tmp_path / "cursor"
    cursor.write_text("1\n")
    mock.get(f"{P}/subscriptions/s", json={"name": "x", "ackDeadlineSeconds": 10})
    mock.post(f"{P}/subscriptions/s:modifyOffset", body="")
    mock.post(f"{P}/subscriptions/s:pull", body=received(wire(1, b64("b"))))
    mock.post(f"{P}/subscriptions/s:acknowledge", body="{}")
    mock.post(f"{P}/subscriptions/s:pull", body=received())
    assert cli.main(["consume", "s", "--checkpoint", str(cursor)]) == 0
    assert body_of(mock.calls[1]) == {"offset": 1}
    assert cursor.read_text().strip() == "2"


def test_message_record_for_message_without_data():
    from pymod import AmsMessage

    msg = AmsMessage._from_wire({"messageId": "3", "attributes": {"a": "b"}})
    record = cli.message_record("projects/P/subscriptions/s:3", msg)
    assert record["data"] == "" and record["attributes"] == {"a": "b"}


# ---- publish: input read once, consume records, --skip, --retry ----------------------------
def _pipe_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """Make sys.stdin the read end of a real pipe holding ``data`` (a stream, not a file)."""
    import os
    import sys

    read_fd, write_fd = os.pipe()
    os.write(write_fd, data)
    os.close(write_fd)
    monkeypatch.setattr(sys, "stdin", open(read_fd, encoding="utf-8"))  # noqa: SIM115


def _ok(mock: responses.RequestsMock, *ids: str) -> None:
    mock.post(f"{P}/topics/t:publish", json={"messageIds": list(ids)})


def test_publish_file_dash_reads_stdin_once(mock, monkeypatch, capsys):
    _pipe_stdin(monkeypatch, b'{"data": "a"}\n{"data": "b", "attributes": {"k": "v"}}\n')
    _ok(mock, "0", "1")
    assert cli.main(["publish", "t", "--file", "-"]) == 0
    sent = body_of(mock.calls[0])["messages"]
    assert [m["data"] for m in sent] == [b64("a"), b64("b")] and sent[1]["attributes"] == {"k": "v"}
    assert "published 2 message(s) to t" in capsys.readouterr().out


def test_publish_accepts_consume_records(mock, tmp_path):
    record = {"ackId": "projects/X/subscriptions/s:4", "messageId": "4",
              "publishTime": "2024-05-02T09:50:01.5Z", "attributes": {"k": "v"}, "data": "hi"}
    path = tmp_path / "saved.jsonl"
    path.write_text(json.dumps(record) + "\n")
    _ok(mock, "0")
    _ok(mock, "1")
    assert cli.main(["publish", "t", "--file", str(path)]) == 0
    assert body_of(mock.calls[0])["messages"] == [{"data": b64("hi"), "attributes": {"k": "v"}}]
    assert cli.main(["publish", "t", "--file", str(path), "--keep-ids"]) == 0
    assert body_of(mock.calls[1])["messages"][0]["attributes"] == {
        "k": "v", "original_ackId": "projects/X/subscriptions/s:4", "original_messageId": "4",
        "original_publishTime": "2024-05-02T09:50:01.5Z"}


def test_publish_skip_resumes_after_n_lines(mock, tmp_path, capsys):
    path = tmp_path / "msgs.jsonl"
    path.write_text("".join(json.dumps({"data": f"m{i}"}) + "\n" for i in range(5)))
    _ok(mock, "3", "4")
    assert cli.main(["publish", "t", "--file", str(path), "--skip", "3", "--json"]) == 0
    assert [m["data"] for m in body_of(mock.calls[0])["messages"]] == [b64("m3"), b64("m4")]
    assert json.loads(capsys.readouterr().out)["skipped"] == 3


def test_publish_bad_line_after_a_sent_batch_says_what_was_published(mock, tmp_path, capsys):
    path = tmp_path / "msgs.jsonl"
    path.write_text('{"data": "a"}\n{"data": "b"}\n{"data": "c"}\nnot json\n')
    _ok(mock, "0", "1")
    assert cli.main(["publish", "t", "--file", str(path), "--batch", "2"]) == 2
    err = capsys.readouterr().err
    assert "line 4: not JSON" in err and "published 2 message(s) (lines up to 2)" in err
    assert "not published: line 3 and everything after it; resume with --skip 2" in err
    assert len(mock.calls) == 1 and len(error_lines(err)) == 1


def test_publish_dry_run_sends_nothing(mock, tmp_path, capsys):
    path = tmp_path / "msgs.jsonl"
    path.write_text('{"data": "a"}\n\n{"data": "b"}\n')
    assert cli.main(["publish", "t", "--file", str(path), "--dry-run"]) == 0
    assert "dry run: 2 valid message(s)" in capsys.readouterr().out and len(mock.calls) == 0


@pytest.mark.parametrize("how", [["--retry", "2", "--retry-backoff", "0"], "env"])
def test_publish_retry_goes_through_the_client_policy(mock, tmp_path, monkeypatch, capsys, how):
    if how == "env":
        monkeypatch.setenv("AMS_RETRY", "2")
        monkeypatch.setenv("AMS_RETRY_BACKOFF", "0")
        how = []
    path = tmp_path / "msgs.jsonl"
    path.write_text('{"data": "a"}\n')
    mock.post(f"{P}/topics/t:publish", status=503, body="<html>503</html>", content_type="text/html")
    mock.post(f"{P}/topics/t:publish", status=503, body="<html>503</html>", content_type="text/html")
    _ok(mock, "0")
    assert cli.main(["publish", "t", "--file", str(path), *how]) == 0
    assert len(mock.calls) == 3


def test_publish_without_retry_stops_at_the_first_fault(mock, tmp_path, capsys):
    path = tmp_path / "msgs.jsonl"
    path.write_text('{"data": "a"}\n')
    mock.post(f"{P}/topics/t:publish", status=503, body="<html>503</html>", content_type="text/html")
    assert cli.main(["publish", "t", "--file", str(path)]) == 1
    err = capsys.readouterr().err
    assert "nothing was published" in err and "topic 't'" in err and "HTTP 503" in err


# ---- settings: --token-file, AMS_TIMEOUT, --version -----------------------------------------
def test_token_file_flag_replaces_the_token_variable(mock, tmp_path, capsys):
    path = tmp_path / "token"
    path.write_text("FiLeToKeN\n")
    mock.get(re.compile(rf"{re.escape(P)}/topics.*"), json={"topics": [], "nextPageToken": ""})
    assert cli.main(["--token-file", str(path), "topics", "list"]) == 0
    assert mock.calls[0].request.headers["x-api-key"] == "FiLeToKeN"


def test_missing_token_file_is_named(capsys):
    assert cli.main(["--token-file", "/nonexistent/token", "topics", "list"]) == 2
    err = capsys.readouterr().err
    assert "cannot read the token file '/nonexistent/token'" in err and TOKEN not in err


def test_timeout_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("AMS_TIMEOUT", "2.5")
    args = cli.build_parser().parse_args(["topics", "list"])
    assert cli.make_client(cli.settings_from(args, dict(os.environ))).timeout == 2.5
    monkeypatch.setenv("AMS_TIMEOUT", "never")
    assert cli.main(["topics", "list"]) == 2
    assert "AMS_TIMEOUT (--timeout) must be a number > 0" in capsys.readouterr().err


def test_version(capsys):
    from pymod import __version__

    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ams (pymod-ams) {__version__}"


def test_python_dash_m_pymod_runs_the_command():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "pymod", "--version"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("ams (pymod-ams) ")


# ---- resource names, hints, missing extras, Ctrl+C -------------------------------------------
def test_errors_name_the_resource(mock, capsys):
    mock.put(f"{P}/topics/alerts", status=409, json={"error": {
        "code": 409, "message": "Topic already exists", "status": "ALREADY_EXISTS"}})
    mock.get(f"{P}/topics/nope", status=404, json={"error": {  # create_sub looks the topic up
        "code": 404, "message": "Topic doesn't exist", "status": "NOT_FOUND"}})
    assert cli.main(["topics", "create", "alerts"]) == 1
    assert cli.main(["subs", "create", "s1", "--topic", "nope"]) == 1
    err = error_lines(capsys.readouterr().err)
    assert err[0].startswith("ams: error: topic 'alerts': ") and "Topic already exists" in err[0]
    assert err[1].startswith("ams: error: subscription 's1' (topic 'nope'): ")


@pytest.mark.parametrize("error, hint", [
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", "set AMS_CA"),
    ("NameResolutionError: Failed to resolve 'nohost' ([Errno -2] Name or service not known)",
     "does not resolve"),
    ("NewConnectionError: Failed to establish a new connection: [Errno 111] Connection refused",
     "nothing listens"),
])
def test_connection_failures_get_a_one_line_hint(mock, capsys, error, hint):
    import requests

    mock.get(f"{P}/topics/t", body=requests.ConnectionError(error))
    assert cli.main(["topics", "show", "t"]) == 1
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 2 and lines[1].startswith("ams: hint: ") and hint in lines[1]


def test_other_errors_get_no_hint(mock, capsys):
    mock.get(f"{P}/topics/t", status=404, json={"error": {"code": 404, "message": "no",
                                                          "status": "NOT_FOUND"}})
    assert cli.main(["topics", "show", "t"]) == 1
    assert "hint" not in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["demo", "-n", "5"], ["emulator"]])
def test_missing_emulator_extra_is_a_hint(monkeypatch, capsys, argv):
    import sys

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if [emulator] were not installed
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "pip install 'pymod-ams[emulator]'" in err and "uvicorn" in err
    assert "Traceback" not in err


def test_consume_interrupted_by_sigint_exits_130(mock, monkeypatch, capsys):
    import signal

    from pymod.consumer import Consumer, ConsumeResult

    def run(self: Consumer) -> ConsumeResult:
        return ConsumeResult(stop_reason="signal", signal=signal.Signals.SIGINT.name)

    monkeypatch.setattr(Consumer, "run", run)
    assert cli.main(["consume", "s", "--follow"]) == 130
    assert "stopped: signal" in capsys.readouterr().err


def test_consume_progress_counter(mock, capsys):
    mock.get(f"{P}/subscriptions/s", json={"name": "x", "ackDeadlineSeconds": 10})
    mock.post(f"{P}/subscriptions/s:pull", body=received(wire(0, b64("a")), wire(1, b64("b"))))
    mock.post(f"{P}/subscriptions/s:acknowledge", body="{}")
    mock.post(f"{P}/subscriptions/s:pull", body=received())
    assert cli.main(["consume", "s", "--progress"]) == 0
    assert "consumed: 2 msg" in capsys.readouterr().err


def test_progress_redraws_at_most_once_per_interval():
    from pymod.cli.progress import Progress

    now = [0.0]
    stream = io.StringIO()
    progress = Progress("published", stream, True, interval=1.0, clock=lambda: now[0])
    for step in range(10):  # 10 updates within 0.9 s: no redraw yet
        now[0] = step * 0.1
        progress.update(5)
    assert stream.getvalue() == ""
    now[0] = 2.0
    progress.update(50)
    progress.close()
    assert stream.getvalue().splitlines() == ["published: 100 msg (50 msg/s)"] * 2
    quiet = io.StringIO()
    off = Progress("x", quiet, False, clock=lambda: now[0])
    off.update(3)
    off.close()
    assert quiet.getvalue() == "" and off.count == 3


def test_keep_ids_refuses_to_overwrite_an_attribute(mock, tmp_path, capsys):
    path = tmp_path / "saved.jsonl"
    path.write_text(json.dumps({"messageId": "4", "data": "x",
                                "attributes": {"original_messageId": "mine"}}) + "\n")
    assert cli.main(["publish", "t", "--file", str(path), "--keep-ids"]) == 2
    assert "line 1: --keep-ids: the attribute original_messageId exists" in capsys.readouterr().err
    assert len(mock.calls) == 0


def test_publish_stdin_lines_that_are_not_utf8(mock, monkeypatch, capsys):
    _pipe_stdin(monkeypatch, b"fine\n\xff\xfe\n")
    assert cli.main(["publish", "t", "-"]) == 2
    assert "stdin line 2: not UTF-8 text; nothing was published" in capsys.readouterr().err
    assert len(mock.calls) == 0


def test_errors_of_project_wide_commands_name_the_project(mock, capsys):
    mock.get(re.compile(rf"{re.escape(P)}/topics.*"), status=403, json={"error": {
        "code": 403, "message": "Access to this resource is forbidden", "status": "FORBIDDEN"}})
    assert cli.main(["topics", "list"]) == 1
    assert capsys.readouterr().err.startswith(f"ams: error: project '{PROJECT}': ")
