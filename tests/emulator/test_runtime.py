"""The emulator runtime: HTTPS server lifecycle, TLS material, data-dir persistence, CLI."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import requests

from pymod.emulator import Emulator

HEX64 = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def test_status_over_verified_https(emu: Emulator) -> None:
    response = requests.get(f"{emu.url}/v1/status", verify=emu.ca_path, timeout=5)
    assert response.status_code == 200
    assert response.json()["status"] in ("ok", "warning")


def test_connection_attributes(emu: Emulator) -> None:
    assert emu.running
    assert emu.host == "127.0.0.1"
    assert emu.port > 0 and emu.authn_port > 0 and emu.port != emu.authn_port
    assert emu.endpoint == f"127.0.0.1:{emu.port}"
    assert emu.url == f"https://127.0.0.1:{emu.port}"
    assert Path(emu.ca_path).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert HEX64.match(emu.admin_token)
    assert emu.admin_name == "admin"
    assert emu.project == "DEMO"
    assert emu.data_dir is None


def test_admin_token_works_for_the_project(emu: Emulator) -> None:
    url = f"{emu.url}/v1/projects/{emu.project}/topics"
    ok = requests.get(url, headers={"x-api-key": emu.admin_token}, verify=emu.ca_path, timeout=5)
    assert ok.status_code == 200
    bad = requests.get(url, headers={"x-api-key": "0" * 64}, verify=emu.ca_path, timeout=5)
    assert bad.status_code == 401


def test_the_server_certificate_is_not_trusted_by_default(emu: Emulator) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{emu.url}/v1/status", verify=True, timeout=5)


def test_keep_alive_connection_is_reused(emu: Emulator) -> None:
    with requests.Session() as session:
        for _ in range(20):
            response = session.get(f"{emu.url}/v1/status", verify=emu.ca_path, timeout=5)
            assert response.status_code == 200
        adapter = session.adapters["https://"]
        assert isinstance(adapter, requests.adapters.HTTPAdapter)
        pools = list(adapter.poolmanager.pools._container.values())
        assert len(pools) == 1 and pools[0].num_connections == 1


def test_repr_does_not_show_the_token(emu: Emulator) -> None:
    text = repr(emu)
    assert emu.admin_token not in text
    assert emu.endpoint in text and "running" in text


def test_call_runs_on_the_server_thread(emu: Emulator) -> None:
    name = emu.call(lambda: threading.current_thread().name)
    assert name != threading.current_thread().name
    assert emu.call(emu.store.token_for_user, "admin") == emu.admin_token


def test_start_twice_is_refused_and_stop_is_idempotent() -> None:
    emulator = Emulator(admin_token="a" * 64)
    with emulator:
        assert emulator.admin_token == "a" * 64
        with pytest.raises(RuntimeError):
            emulator.start()
        ca_path = emulator.ca_path
    assert not emulator.running
    assert "stopped" in repr(emulator)
    emulator.stop()  # a second stop is harmless
    assert not os.path.exists(ca_path), "the temporary TLS directory is removed"
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"https://127.0.0.1:{emulator.port}/v1/status", verify=False, timeout=2)


def test_restart_on_the_same_data_dir_keeps_token_ca_and_state(tmp_path: Path) -> None:
    topic_url = "/v1/projects/DEMO/topics/kept"
    with Emulator(data_dir=tmp_path) as first:
        token, ca_path = first.admin_token, first.ca_path
        ca_pem = Path(ca_path).read_bytes()
        created = requests.put(
            first.url + topic_url, headers={"x-api-key": token}, verify=ca_path, timeout=5
        )
        assert created.status_code == 200
    assert (tmp_path / "ams.sqlite3").is_file()
    with Emulator(data_dir=tmp_path) as second:
        assert second.admin_token == token
        assert second.ca_path == ca_path
        assert Path(second.ca_path).read_bytes() == ca_pem
        # A client holding the old CA path still verifies the restarted server.
        shown = requests.get(
            second.url + topic_url, headers={"x-api-key": token}, verify=ca_path, timeout=5
        )
        assert shown.status_code == 200
        assert shown.json()["name"] == "/projects/DEMO/topics/kept"


def test_explicit_token_replaces_the_stored_one(tmp_path: Path) -> None:
    with Emulator(data_dir=tmp_path):
        pass
    with Emulator(data_dir=tmp_path, admin_token="b" * 64) as emulator:
        assert emulator.admin_token == "b" * 64
        assert emulator.call(emulator.store.token_for_user, "admin") == "b" * 64
    with Emulator(data_dir=tmp_path) as emulator:
        assert emulator.admin_token == "b" * 64


def _read_connection_info(proc: subprocess.Popen[str], deadline: float) -> Dict[str, str]:
    """Read the CLI's stdout until the export line; return its variables."""
    assert proc.stdout is not None
    seen: List[str] = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith("export "):
            pairs = (item.split("=", 1) for item in line.split()[1:])
            return {key: value for key, value in pairs}
    raise AssertionError(f"no export line in the output: {''.join(seen)!r}")


def test_command_line_prints_connection_info_and_stops_on_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pymod.emulator", "--project", "CLI", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        env = _read_connection_info(proc, time.monotonic() + 15)
        assert env["AMS_PROJECT"] == "CLI"
        assert HEX64.match(env["AMS_TOKEN"])
        assert env["AMS_CA"] == str(tmp_path / "tls" / "ca.pem")
        assert (tmp_path / "admin-token").read_text().strip() == env["AMS_TOKEN"]
        response = requests.get(
            f"https://{env['AMS_HOST']}/v1/projects/CLI",
            headers={"x-api-key": env["AMS_TOKEN"]},
            verify=env["AMS_CA"],
            timeout=5,
        )
        assert response.status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_command_line_rejects_unknown_fault_kinds() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pymod.emulator", "--fault-kinds", "502,boom"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "boom" in result.stderr


def _pytest11_entry_points() -> List[Any]:
    found = entry_points()
    if hasattr(found, "select"):  # Python 3.10+
        return list(found.select(group="pytest11"))
    return list(found.get("pytest11", []))  # Python 3.9: a dict of groups


def test_pytest_plugin_provides_a_running_emulator(tmp_path: Path) -> None:
    test_file = tmp_path / "test_uses_plugin.py"
    test_file.write_text(
        textwrap.dedent(
            """
            import requests

            def test_status(ams_emulator):
                response = requests.get(
                    ams_emulator.url + "/v1/status", verify=ams_emulator.ca_path, timeout=5
                )
                assert response.status_code == 200
                assert ams_emulator.project == "DEMO"
            """
        )
    )
    plugin = "pymod.emulator.pytest_plugin"
    registered = any(ep.value == plugin for ep in _pytest11_entry_points())
    load_plugin = [] if registered else ["-p", plugin]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            *load_plugin,
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "-c",
            os.devnull,
            str(test_file),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_a_busy_port_fails_cleanly(emu: Emulator) -> None:
    emulator = Emulator(port=emu.port)
    with pytest.raises(OSError):
        emulator.start()
    assert not emulator.running
    with pytest.raises(RuntimeError):
        _ = emulator.ca_path  # the temporary TLS directory is gone again


def test_push_can_be_disabled() -> None:
    with Emulator(push_enabled=False) as emulator:
        status = requests.get(f"{emulator.url}/v1/status", verify=emulator.ca_path, timeout=5)
        assert status.json()["push_functionality"] == "disabled"
        headers = {"x-api-key": emulator.admin_token}
        base = f"{emulator.url}/v1/projects/DEMO"
        topic = requests.put(f"{base}/topics/t", headers=headers, verify=emulator.ca_path, timeout=5)
        assert topic.status_code == 200
        body = {
            "topic": "projects/DEMO/topics/t",
            "pushConfig": {"type": "http_endpoint", "pushEndpoint": "https://127.0.0.1/x"},
        }
        sub = requests.put(
            f"{base}/subscriptions/s", json=body, headers=headers, verify=emulator.ca_path, timeout=5
        )
        assert sub.status_code == 409
        assert sub.json()["error"]["message"] == "Push functionality is currently disabled"
