"""Run one call through argo-ams-library 1.0.0 and through pymod against the same mocked replies,
and describe every difference.

The original is never installed: its wheel is fetched with ``pip download --no-deps`` into a cache
directory (``$PYMOD_COMPAT_CACHE``, default ``<repo>/.cache/compat``), unpacked there, and imported
as the package ``argo_ams_library_orig`` (its modules only use relative imports). Both libraries use
``requests``, so one ``responses`` mock serves both; every request is recorded.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from types import GeneratorType, ModuleType
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union
from unittest import mock

import requests
import responses

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("PYMOD_COMPAT_CACHE", ROOT / ".cache" / "compat"))
WHEEL = "argo_ams_library-1.0.0-py3-none-any.whl"
ORIG_NAME = "argo_ams_library_orig"
ENDPOINT = "mock_host"
TOKEN = "s3cr3t-token"
PROJECT = "TEST"

#: The closing figures of the differential suite, filled by test_differential.py and printed at
#: the end of the run (conftest.py).
FIGURES: Dict[str, Any] = {}


def load_original() -> Union[ModuleType, str]:
    """The original library as a module, or the reason it is not available."""
    if ORIG_NAME in sys.modules:
        return sys.modules[ORIG_NAME]
    unpacked = CACHE / "unpacked"
    package = unpacked / ORIG_NAME
    if not (package / "ams.py").is_file():
        wheel = CACHE / WHEEL
        if not wheel.is_file():
            CACHE.mkdir(parents=True, exist_ok=True)
            try:
                done = subprocess.run(
                    [sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                     "argo-ams-library==1.0.0", "-d", str(CACHE)],
                    capture_output=True, text=True, timeout=120,
                    # a test's CA bundle for a local server must not be pip's for the index
                    env={k: v for k, v in os.environ.items()
                         if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")},
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                return f"pip download argo-ams-library==1.0.0 failed: {exc}"
            if done.returncode != 0 or not wheel.is_file():
                return ("pip download argo-ams-library==1.0.0 failed: "
                        + (done.stderr.strip().splitlines() or ["no wheel"])[-1])
        tmp = unpacked / "tmp"
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(tmp)
        package.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / "argo_ams_library", package)
    spec = importlib.util.spec_from_file_location(
        ORIG_NAME, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[ORIG_NAME] = module
    spec.loader.exec_module(module)
    return module


# ---- mocked replies ---------------------------------------------------------------------------
@dataclass
class R:
    """One mocked reply (or, with ``raises``, a connection failure)."""

    status: int = 200
    json: Any = None
    body: Optional[str] = None
    raises: Optional[BaseException] = None

    def payload(self) -> str:
        if self.body is not None:
            return self.body
        return "" if self.json is None else json.dumps(self.json)


def html(status: int, title: str) -> R:
    """A load balancer's HTML error page."""
    return R(status, body=f"<html><body><h1>{title}</h1>\nThe server is unavailable.\n</body></html>\n")


def err(status: int, message: str, state: str) -> R:
    """An AMS JSON error envelope."""
    return R(status, json={"error": {"code": status, "message": message, "status": state}})


@dataclass
class Outcome:
    requests: List[Tuple[str, str, Any, Optional[str]]] = field(default_factory=list)
    value: Any = None
    error: Optional[BaseException] = None
    logs: List[Tuple[str, str]] = field(default_factory=list)
    sleeps: List[float] = field(default_factory=list)


def _body(raw: Any) -> Any:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    if raw in (None, ""):
        return None
    try:
        return ("json", json.loads(raw))
    except ValueError:
        return ("text", raw)


class _Keep(logging.Handler):
    def __init__(self, into: List[Tuple[str, str]], prefix: str) -> None:
        super().__init__(logging.DEBUG)
        self.into, self.prefix = into, prefix

    def emit(self, record: logging.LogRecord) -> None:
        name = "argo_ams_library" + record.name[len(self.prefix):]
        self.into.append((name, record.levelname))


def run(lib: ModuleType, replies: Sequence[R], call: Callable[[ModuleType, Any], Any],
        logger_prefix: str) -> Outcome:
    """``call(lib, client)`` with ``replies`` served in order to whatever is requested."""
    out = Outcome()
    queue = list(replies)

    def callback(request: Any) -> Tuple[int, Dict[str, str], str]:
        out.requests.append(
            (request.method, request.url, _body(request.body), request.headers.get("x-api-key"))
        )
        if not queue:
            return 599, {}, "no more mocked replies"
        reply = queue.pop(0)
        if reply.raises is not None:
            raise reply.raises
        return reply.status, {}, reply.payload()

    keep = _Keep(out.logs, logger_prefix)
    logger = logging.getLogger(logger_prefix)
    logger.addHandler(keep)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps, \
                mock.patch("time.sleep", side_effect=out.sleeps.append):
            for method in ("GET", "POST", "PUT", "DELETE"):
                rsps.add_callback(method, re.compile(r".*"), callback=callback)
            try:
                client = lib.ArgoMessagingService(endpoint=ENDPOINT, token=TOKEN, project=PROJECT)
                value = call(lib, client)
                if isinstance(value, GeneratorType):
                    value = list(value)
                out.value = value
            except Exception as exc:  # noqa: BLE001 - what is raised is part of the outcome
                out.error = exc
    finally:
        logger.removeHandler(keep)
        logger.setLevel(old_level)
    return out


# ---- comparison -------------------------------------------------------------------------------
_MISSING = object()
_SKIP_ATTRS = {"init"}


def compare(orig: Any, ours: Any, where: str = "value") -> List[str]:
    """Differences between a value the original returned and ours (empty list: the same)."""
    if isinstance(orig, (str, int, float, bool, bytes, type(None))):
        if type(orig) is not type(ours) or orig != ours:
            return [f"{where}: {orig!r} != {ours!r}"]
        return []
    if isinstance(orig, dict):
        if not isinstance(ours, dict):
            return [f"{where}: dict != {type(ours).__name__}"]
        diffs = []
        if list(orig) != list(ours):
            diffs.append(f"{where}: keys {list(orig)} != {list(ours)}")
        for key in orig:
            if key in ours:
                diffs += compare(orig[key], ours[key], f"{where}[{key!r}]")
        return diffs
    if isinstance(orig, (list, tuple)):
        if type(orig) is not type(ours) or len(orig) != len(ours):
            return [f"{where}: {type(orig).__name__}/{len(orig)} != "
                    f"{type(ours).__name__}/{len(ours) if hasattr(ours, '__len__') else '?'}"]
        diffs = []
        for i, (a, b) in enumerate(zip(orig, ours)):
            diffs += compare(a, b, f"{where}[{i}]")
        return diffs
    if type(orig).__name__ != type(ours).__name__:
        return [f"{where}: {type(orig).__name__} != {type(ours).__name__}"]
    diffs = []
    for attr, value in vars(orig).items():
        if attr in _SKIP_ATTRS:
            continue
        diffs += compare(value, getattr(ours, attr, _MISSING), f"{where}.{attr}")
    return diffs


def describe_error(exc: Optional[BaseException]) -> Any:
    if exc is None:
        return None
    return {
        "class": type(exc).__name__,
        "msg": getattr(exc, "msg", _MISSING),
        "code": getattr(exc, "code", _MISSING),
        "status": getattr(exc, "status", _MISSING),
        "str": str(exc),
    }


def differences(orig: Outcome, ours: Outcome) -> List[str]:
    """Every difference between two outcomes of the same call."""
    diffs = []
    if orig.requests != ours.requests:
        diffs.append(f"requests: {orig.requests} != {ours.requests}")
    a, b = describe_error(orig.error), describe_error(ours.error)
    if a is not None and b is not None:
        for key, value in a.items():  # an attribute the original lacks: code cannot rely on it
            if value is _MISSING:
                b[key] = _MISSING
    if a != b:
        diffs.append(f"error: {a} != {b}")
    if orig.error is None and ours.error is None:
        diffs += compare(orig.value, ours.value)
    if orig.logs != ours.logs:
        diffs.append(f"logs: {orig.logs} != {ours.logs}")
    if len(orig.sleeps) != len(ours.sleeps):
        diffs.append(f"sleeps: {orig.sleeps} != {ours.sleeps}")
    return diffs


def connection_error() -> R:
    return R(raises=requests.exceptions.ConnectionError("connection refused by mock"))
