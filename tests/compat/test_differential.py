"""pymod against argo-ams-library 1.0.0: every case of cases.py through both libraries.

Requests (method, URL with its query string as sent, body, x-api-key, order), return values and
the attributes of returned objects, exceptions (class, msg, code, status, str()), log records
(logger name and level) and retry sleeps must be the same -- except for the cases that name a
deliberate difference, which must be listed in docs/migration.rst and assert pymod's behaviour.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Set

import pytest
from diff_cases import CASES, Case
from differential import FIGURES, ORIG_NAME, differences, load_original, run

import argo_ams_library

MIGRATION = (Path(__file__).resolve().parents[2] / "docs" / "migration.rst").read_text()


@pytest.fixture(scope="module")
def orig() -> Any:
    module = load_original()
    if isinstance(module, str):
        pytest.skip(f"argo-ams-library 1.0.0 is not available: {module}")
    return module


def _figures() -> None:
    FIGURES.setdefault("cases", 0)
    FIGURES.setdefault("requests", 0)
    FIGURES.setdefault("same", 0)
    FIGURES.setdefault("differs", 0)
    FIGURES.setdefault("methods", 0)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_as_the_original(orig: Any, case: Case) -> None:
    _figures()
    original = run(orig, case.replies, case.call, ORIG_NAME)
    ours = run(argo_ams_library, case.replies, case.call, "argo_ams_library")
    FIGURES["cases"] += 1
    FIGURES["requests"] += len(original.requests)
    if case.differs is None:
        assert differences(original, ours) == []
        FIGURES["same"] += 1
    else:
        assert case.differs in MIGRATION, f"docs/migration.rst does not explain {case.differs!r}"
        assert differences(original, ours), "no longer differs: drop the 'differs' mark"
        assert case.check is not None
        case.check(original, ours)
        FIGURES["differs"] += 1


def _public(cls: type) -> Set[str]:
    return {name for name, _ in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_")} | {"__init__"} if cls.__name__ == "ArgoMessagingService" \
        else {name for name, _ in inspect.getmembers(cls, inspect.isfunction)
              if not name.startswith("_")}


def test_every_public_method_of_the_original_is_compared(orig: Any) -> None:
    _figures()
    wanted = set()
    for cls_name in ("ArgoMessagingService", "AmsTopic", "AmsSubscription", "AmsMessage",
                     "AmsUser", "AmsUserProject"):
        wanted |= {f"{cls_name}.{m}" for m in _public(getattr(orig, cls_name))}
    wanted |= {n for n in dir(orig.amsexceptions) if n.startswith("Ams") and n != "AmsException"}
    covered = {m for case in CASES for m in case.methods}
    assert sorted(wanted - covered) == []
    FIGURES["methods"] = len(wanted)
