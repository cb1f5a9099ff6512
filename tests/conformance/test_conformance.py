"""Differential conformance: every case runs on the real AMS and on the emulator; they must agree.

Cases are data (``cases_*.py``); the allow-list of kept divergences is ``harness.ALLOWED``.
Without the oracle (no ``shared/ams-oracle``, no Debian Go toolchain) the suite skips with the
reason; the coverage test runs everywhere.
"""

from __future__ import annotations

from typing import Tuple

import pytest
from cases import CASES
from harness import ALLOWED, Server, route_of, run_case

from pymod.emulator.api.routing import ROUTES

# The first case also builds the oracle when it is not cached yet (Debian packages, then about a
# minute of compiling): allow for that in the per-test timeout.
pytestmark = pytest.mark.timeout(1200)


@pytest.mark.parametrize("item", CASES, ids=[c.name for c in CASES])
def test_emulator_answers_as_the_real_ams(item, servers: Tuple[Server, Server]) -> None:
    problems, kept = run_case(item, *servers)
    assert not problems, "\n".join(problems)
    # an allow-list entry must still be needed (docs/emulator.rst lists it as a difference)
    entry = ALLOWED.get(item.name)
    if entry is None or not entry.sometimes:
        assert bool(kept) == (entry is not None), kept or f"{item.name}: allowed but no difference"


def test_every_route_is_covered() -> None:
    covered = {route_of(step.method, step.path) for item in CASES for step in item.steps
               if step.compare}
    missing = [r.route_id for r in ROUTES if r.route_id not in covered]
    assert not missing, f"routes without a compared conformance step: {missing}"


def test_case_names_are_unique_and_allow_list_names_cases() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert set(ALLOWED) <= set(names)
    assert all(entry.reason and entry.paths for entry in ALLOWED.values())
