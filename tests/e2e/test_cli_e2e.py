"""The ``ams`` command against the embedded emulator over real HTTPS: publish a JSONL file,
consume it back, in-process (``main``) and as a real subprocess (the installed entry point)."""

from __future__ import annotations

import base64
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List

import pytest

from pymod import AmsMessage, ArgoMessagingService, cli
from pymod.emulator import Emulator

if TYPE_CHECKING:
    from conftest import AmsTarget


@pytest.fixture
def ams_env(ams_target: AmsTarget, monkeypatch: pytest.MonkeyPatch) -> Dict[str, str]:
    env = {"AMS_HOST": ams_target.endpoint, "AMS_TOKEN": ams_target.admin_token,
           "AMS_PROJECT": ams_target.project, "AMS_CA": ams_target.ca_path}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def _messages(n: int) -> List[Dict[str, Any]]:
    """n file records: text payloads (some non-ASCII), every fifth one binary."""
    records: List[Dict[str, Any]] = []
    for i in range(n):
        attributes = {"seq": str(i), "kind": "alert" if i % 3 == 0 else "metric"}
        if i % 5 == 4:
            raw = bytes([i % 256, 0xFF, 0x00, 0xFE])
            records.append({"data_b64": base64.b64encode(raw).decode(), "attributes": attributes})
        else:
            records.append({"data": f"message {i} – ünïcode", "attributes": attributes})
    return records


def _write_jsonl(path: Path, records: List[Dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")


def _check_round_trip(sent: List[Dict[str, Any]], output: str) -> None:
    got = [json.loads(line) for line in output.splitlines()]
    assert len(got) == len(sent)
    for i, (record, line) in enumerate(zip(sent, got)):
        assert line["messageId"] == str(i) and line["ackId"].endswith(f":{i}")
        assert line["attributes"] == record["attributes"]
        assert line["publishTime"].endswith("Z")
        if "data_b64" in record:
            assert line["data_b64"] == record["data_b64"] and "data" not in line
        else:
            assert line["data"] == record["data"]


def test_publish_file_then_consume_in_process(ams: ArgoMessagingService, names, ams_env,
                                              tmp_path, capsys):
    topic, sub = names["topic"], names["sub"]
    assert cli.main(["topics", "create", topic]) == 0
    assert cli.main(["subs", "create", sub, "--topic", topic, "--ack-deadline", "30"]) == 0
    sent = _messages(40)
    path = tmp_path / "msgs.jsonl"
    _write_jsonl(path, sent)
    capsys.readouterr()

    assert cli.main(["publish", topic, "--file", str(path), "--batch", "15"]) == 0
    assert capsys.readouterr().out == f"published 40 message(s) to {topic} (ids 0..39)\n"

    assert cli.main(["consume", sub, "--max", "40", "--ack"]) == 0
    captured = capsys.readouterr()
    _check_round_trip(sent, captured.out)
    assert "acknowledged 40" in captured.err
    assert ams.getoffsets_sub(sub) == {"max": 40, "min": 0, "current": 40}

    assert cli.main(["offsets", sub, "--move", "38", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["current"] == 38
    assert cli.main(["pull", sub, "--max", "5"]) == 0  # a peek: not acknowledged
    assert [json.loads(x)["messageId"] for x in capsys.readouterr().out.splitlines()] == \
        ["38", "39"]
    assert ams.getoffsets_sub(sub, "current") == 38

    assert cli.main(["subs", "list", "--topic", topic, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["name"].rsplit("/", 1)[-1] for s in listed] == [sub]


def test_service_errors_are_one_line(ams_env, capsys):
    assert cli.main(["topics", "show", "does-not-exist"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Topic doesn't exist" in err
    assert ams_env["AMS_TOKEN"] not in err

    assert cli.main(["--token", "0" * 64, "topics", "list"]) == 1
    err = capsys.readouterr().err
    assert "Unauthorized" in err and "0" * 64 not in err


def test_entry_points_as_real_processes(ams: ArgoMessagingService, names, ams_env, tmp_path):
    topic, sub = names["topic"], names["sub"]
    ams.create_topic(topic)
    ams.create_sub(sub, topic, ackdeadline=30)
    sent = _messages(12)
    path = tmp_path / "msgs.jsonl"
    _write_jsonl(path, sent)
    env = dict(os.environ, **ams_env)
    script = Path(sys.executable).with_name("ams")
    publish_cmd = [str(script)] if script.exists() else [sys.executable, "-m", "pymod.cli"]
    published = subprocess.run([*publish_cmd, "publish", topic, "--file", str(path)], env=env,
                               capture_output=True, text=True, timeout=60)
    assert published.returncode == 0, published.stderr
    assert "published 12 message(s)" in published.stdout

    consumed = subprocess.run(
        [sys.executable, "-m", "pymod.cli", "consume", sub, "--max", "12", "--ack"],
        env=env, capture_output=True, text=True, timeout=60, encoding="utf-8")
    assert consumed.returncode == 0, consumed.stderr
    _check_round_trip(sent, consumed.stdout)
    assert ams.getoffsets_sub(sub, "current") == 12

    failed = subprocess.run([sys.executable, "-m", "pymod.cli", "topics", "show", "nope"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1
    assert failed.stderr.startswith("ams: error: ") and "Traceback" not in failed.stderr


@pytest.mark.emulator_only("run_demo drives an Emulator object")
def test_demo_against_the_shared_emulator(emulator: Emulator):
    import io

    from pymod.demo import run_demo

    out = io.StringIO()
    assert run_demo(n=300, batch=70, size=16, emulator=emulator, out=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("pymod demo: running an embedded AMS emulator over HTTPS at "
                               f"{emulator.endpoint}")
    figures = {line.split(":")[0].strip(): line.split(":", 1)[1].strip() for line in lines[2:]}
    assert figures["published"].startswith("300 in ") and figures["consumed"].startswith("300 in ")
    assert figures["mismatched"] == "0" and figures["missing"] == "0"
    assert figures["result"].startswith("OK")


@pytest.mark.emulator_only("starts its own emulator")
def test_ams_demo_command_starts_its_own_emulator(capsys):
    assert cli.main(["demo", "-n", "50", "--batch", "20"]) == 0
    out = capsys.readouterr().out
    assert "missing:     0" in out and "result:      OK" in out


def test_demo_check_detects_mismatched_and_missing_messages(ams: ArgoMessagingService, names):
    from pymod.demo import DemoReport, _consume, _publish

    ams.create_topic(names["topic"])
    ams.create_sub(names["sub"], names["topic"], ackdeadline=30)
    report = DemoReport(20)
    expected = _publish(ams, names["topic"], 20, 8, 4, report)
    assert report.published == 20 and set(expected) == {str(i) for i in range(20)}
    payload, attributes = expected["5"]
    expected["5"] = (payload + b"!", attributes)  # what arrives will differ from this
    expected["20"] = (b"never published", {"seq": "20", "kind": "log"})
    report.n = 21
    _consume(ams, names["sub"], expected, 8, 30.0, report)
    assert (report.consumed, report.mismatched, report.missing) == (20, 1, 1)
    assert not report.ok


# ---- ams publish reads every kind of input exactly once (real processes) --------------------
def _ams_cmd() -> List[str]:
    script = Path(sys.executable).with_name("ams")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pymod"]


def _jsonl(n: int, tag: str = "m") -> str:
    return "".join(json.dumps({"data": f"{tag}{i}", "attributes": {"seq": str(i)}}) + "\n"
                   for i in range(n))


def _stored(ams: ArgoMessagingService, topic: str, sub: str, n: int) -> List[str]:
    """The payloads of the first ``n`` messages stored in ``topic`` (through ``sub``)."""
    got: List[str] = []
    while len(got) < n:
        batch = ams.pull_sub(sub, num=n - len(got), return_immediately=True)
        if not batch:
            break
        got.extend(m.get_data().decode() for _, m in batch)
        ams.ack_sub(sub, [batch[-1][0]])
    return got


@pytest.fixture
def topic_sub(ams: ArgoMessagingService, names) -> Dict[str, str]:
    ams.create_topic(names["topic"])
    ams.create_sub(names["sub"], names["topic"], ackdeadline=30)
    return names


@pytest.mark.parametrize("kind", ["pipe", "dash", "dev-stdin", "fifo", "process-substitution"])
def test_publish_reads_each_input_kind_once(ams, topic_sub, ams_env, tmp_path, kind):
    topic, sub = topic_sub["topic"], topic_sub["sub"]
    env = dict(os.environ, **ams_env)
    data = _jsonl(300)
    cmd = _ams_cmd()
    if kind in ("pipe", "dash", "dev-stdin"):
        source = {"pipe": "-", "dash": "-", "dev-stdin": "/dev/stdin"}[kind]
        done = subprocess.run([*cmd, "publish", topic, "--file", source, "--batch", "64"],
                              input=data, env=env, capture_output=True, text=True, timeout=60)
    elif kind == "fifo":
        fifo = tmp_path / "msgs.fifo"
        os.mkfifo(fifo)
        proc = subprocess.Popen([*cmd, "publish", topic, "--file", str(fifo), "--batch", "64"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with open(fifo, "w", encoding="utf-8") as writer:  # blocks until ams opens it
            writer.write(data)
        out, err = proc.communicate(timeout=60)
        done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    else:
        path = tmp_path / "msgs.jsonl"
        path.write_text(data)
        line = " ".join(shlex.quote(c) for c in cmd)
        done = subprocess.run(["bash", "-c", f"{line} publish {shlex.quote(topic)} "
                               f"--file <(cat {shlex.quote(str(path))}) --batch 64"],
                              env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"published 300 message(s) to {topic}" in done.stdout
    assert _stored(ams, topic, sub, 400) == [f"m{i}" for i in range(300)]


def test_consume_piped_into_publish_copies_a_subscription(ams, names, ams_env):
    src, src_sub = names["topic"], names["sub"]
    dst, dst_sub = f"{src}-copy", f"{src_sub}-copy"
    for topic, sub in ((src, src_sub), (dst, dst_sub)):
        ams.create_topic(topic)
        ams.create_sub(sub, topic, ackdeadline=30)
    ams.publish(src, [AmsMessage(data=f"c{i}", attributes={"i": str(i)}) for i in range(250)])
    line = " ".join(shlex.quote(c) for c in _ams_cmd())
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c",
         f"{line} consume {src_sub} --batch 100 | {line} publish {dst} --file - --keep-ids"],
        env=dict(os.environ, **ams_env), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "consumed 250 message(s)" in done.stderr and "published 250 message(s)" in done.stdout
    copied = ams.pull_sub(dst_sub, num=300, return_immediately=True)
    assert [m.get_data().decode() for _, m in copied] == [f"c{i}" for i in range(250)]
    assert copied[7][1].get_attr("i") == "7" and copied[7][1].get_attr("original_messageId") == "7"


def test_publish_under_faults_retries_or_resumes_without_loss(ams, topic_sub, emulator, ams_env,
                                                              tmp_path, capsys):
    topic, sub = topic_sub["topic"], topic_sub["sub"]
    path = tmp_path / "msgs.jsonl"
    path.write_text(_jsonl(400))
    # faults that store nothing, so that the count is exact; seed 1 lets 8 requests through
    kinds = ("502", "503", "504", "reset-before")
    with emulator.faults(rate=0.1, kinds=kinds, seed=1):
        first = cli.main(["publish", topic, "--file", str(path), "--batch", "10"])
    err = capsys.readouterr().err
    assert first == 1 and "published 80 message(s) (lines up to 80)" in err
    resume = int(err.split("resume with --skip ")[1].split()[0])
    assert resume == 80
    with emulator.faults(rate=0.3, kinds=kinds, seed=4):
        assert cli.main(["publish", topic, "--file", str(path), "--batch", "10",
                         "--skip", str(resume), "--retry", "8", "--retry-backoff", "0"]) == 0
    assert emulator.fault_counts()  # faults were injected
    assert _stored(ams, topic, sub, 500) == [f"m{i}" for i in range(400)]


# ---- hints, resource names, exit codes -------------------------------------------------------
def test_hint_for_an_untrusted_certificate(ams_env, monkeypatch, capsys):
    monkeypatch.delenv("AMS_CA")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert cli.main(["topics", "list"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert "CERTIFICATE_VERIFY_FAILED" in err[0] and err[1].startswith("ams: hint: ")
    assert "AMS_CA" in err[1]


def test_hint_for_a_host_that_does_not_resolve(ams_env, capsys):
    assert cli.main(["--host", "no-such-host.invalid", "topics", "list"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[1].startswith("ams: hint: ") and "does not resolve" in err[1]


def test_hint_for_a_refused_connection(ams_env, capsys):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert cli.main(["--host", f"127.0.0.1:{port}", "topics", "list"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[1].startswith("ams: hint: ") and "nothing listens" in err[1]


def test_topic_already_exists_names_the_topic(ams_env, names, capsys):
    assert cli.main(["topics", "create", names["topic"]]) == 0
    assert cli.main(["topics", "create", names["topic"]]) == 1
    err = capsys.readouterr().err
    assert f"topic '{names['topic']}'" in err and "already exists" in err


def test_ctrl_c_on_consume_follow_exits_130(ams, topic_sub, ams_env):
    ams.publish(topic_sub["topic"], [AmsMessage(data="one")])
    proc = subprocess.Popen([*_ams_cmd(), "consume", topic_sub["sub"], "--follow",
                             "--interval", "0.1"], env=dict(os.environ, **ams_env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline())["data"] == "one"  # it is running
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "stopped: signal" in err


# ---- ams emulator: --env-file, port in use ---------------------------------------------------
def test_emulator_env_file_then_ams_reads_it(tmp_path):
    env_file = tmp_path / "ams.env"
    proc = subprocess.Popen([*_ams_cmd(), "emulator", "--env-file", str(env_file)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("Press Ctrl+C"):
                break
        assert (env_file.stat().st_mode & 0o777) == 0o600
        text = env_file.read_text()
        assert all(f"export {name}=" in text for name in
                   ("AMS_HOST", "AMS_TOKEN", "AMS_PROJECT", "AMS_CA"))
        line = " ".join(shlex.quote(c) for c in _ams_cmd())
        clean = {k: v for k, v in os.environ.items() if not k.startswith("AMS_")}
        used = subprocess.run(["bash", "-c", f". {shlex.quote(str(env_file))} && "
                               f"{line} topics create from-env && {line} topics list"],
                              env=clean, capture_output=True, text=True, timeout=60)
        assert used.returncode == 0, used.stderr
        assert used.stdout.splitlines()[-1] == "from-env"
        child = subprocess.run(
            ["bash", "-c", f". {shlex.quote(str(env_file))} && {shlex.quote(sys.executable)} -c "
             "'from pymod import ArgoMessagingService as A; print(A.from_env().list_topics())'"],
            env=clean, capture_output=True, text=True, timeout=60)
        assert child.returncode == 0 and "from-env" in child.stdout, child.stderr
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0


def test_emulator_port_in_use_names_the_port(emulator: Emulator):
    done = subprocess.run([*_ams_cmd(), "emulator", "--port", str(emulator.port)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"port {emulator.port}" in done.stderr and "already in use" in done.stderr
    assert "Traceback" not in done.stderr


def test_publish_from_a_live_stream_does_not_wait_for_a_full_batch(ams, topic_sub, ams_env):
    proc = subprocess.Popen([*_ams_cmd(), "publish", topic_sub["topic"], "--file", "-"],
                            env=dict(os.environ, **ams_env), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdin is not None
        proc.stdin.write(_jsonl(3))  # far less than a batch (500), and the stream stays open
        proc.stdin.flush()
        got: List[str] = []
        for _ in range(200):  # the writer pauses: what arrived is published meanwhile
            got += _stored(ams, topic_sub["topic"], topic_sub["sub"], 3 - len(got))
            if len(got) == 3:
                break
            time.sleep(0.05)
        assert got == ["m0", "m1", "m2"] and proc.poll() is None
        out, err = proc.communicate("", timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "published 3 message(s)" in out
