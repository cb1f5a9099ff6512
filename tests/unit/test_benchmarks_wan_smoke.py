"""Smoke test of the WAN-latency benchmark (benchmarks/wan.py, benchmarks/latency_proxy.py) with
tiny sizes and a tiny delay, so that it cannot rot; and the streaming publish's flat memory,
measured in a fresh process. Nothing about speed is asserted."""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from types import ModuleType

import pytest

pytest.importorskip("trustme")

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_BENCH = os.path.join(_ROOT, "benchmarks")


def _load(name: str) -> ModuleType:
    if _BENCH not in sys.path:
        sys.path.insert(0, _BENCH)
    spec = importlib.util.spec_from_file_location(name, os.path.join(_BENCH, f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


wan = _load("wan")


@pytest.mark.timeout(120)
def test_the_wan_benchmark_runs_every_workload(capsys: pytest.CaptureFixture[str]) -> None:
    wan.main(["--rtt", "0.002", "--single-ops", "2", "--batch-ops", "1", "--messages", "300",
              "--consume", "120", "--handler-ms", "0", "--rss-messages", "3000"])
    out = capsys.readouterr().out
    for label in ("(a) publish 1 msg/request", "(b) publish 100", "(c) pull 100 + ack",
                  "(d) publish 300", "Publisher(max_in_flight=8)", "8 threads",
                  "Consumer(workers=8)", "(f) streaming publish of 3,000", "ratios"):
        assert label in out, label
    assert "3,000 ids" in out


def test_the_original_library_is_loaded_under_another_name() -> None:
    module, why = wan.load_original_library(os.path.join(tempfile.gettempdir(), "pymod-bench-cache"))
    if module is None:
        pytest.skip(f"argo-ams-library 1.0.0 not available: {why}")
    import pymod

    assert module.__name__ == "argo_ams_library_orig"
    assert module.ArgoMessagingService is not pymod.ArgoMessagingService
    assert "argo_ams_library" not in sys.modules or \
        sys.modules["argo_ams_library"].ArgoMessagingService is pymod.ArgoMessagingService


@pytest.mark.timeout(120)
def test_streaming_publish_memory_stays_flat() -> None:
    """50,000 x 1 KiB from a generator: materialised, the messages alone would take > 100 MiB."""
    with wan.bench.start_server() as server:
        topic = wan._topic(server, "rss")
        rss = wan.rss_of_streaming_publish(server, topic, 50_000, 1024)
    assert rss["ids"] == 50_000
    growth_mib = (rss["peak_kib"] - rss["before_kib"]) / 1024
    assert growth_mib < 50, rss
