"""The differential suite: pymod against argo-ams-library 1.0.0 (see differential.py)."""

from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

from differential import FIGURES  # noqa: E402  (filled by test_differential.py)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES.get("cases"):
        terminalreporter.write_line(
            "differential vs argo-ams-library 1.0.0: {cases} cases, {methods} public methods "
            "compared, {requests} requests compared, {same} cases identical, {differs} deliberate "
            "differences (docs/migration.rst)".format(**FIGURES)
        )
