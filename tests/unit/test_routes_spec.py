"""The client's route table agrees with the spec's table of all 64 AMS routes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pymod.routes import ROUTES

SPEC = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "ams-v1.md"
ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*([\w:]+)\s*\|\s*(GET|POST|PUT|DELETE)\s*\|\s*`([^`]+)`\s*\|", re.M)


@pytest.fixture(scope="module")
def spec_routes() -> list[tuple[str, str, str]]:
    if not SPEC.exists():
        pytest.skip(f"the spec is not beside the checkout ({SPEC})")
    rows = ROW.findall(SPEC.read_text(encoding="utf-8"))
    return [(name, method, path) for _, name, method, path in rows]


def test_spec_lists_64_routes(spec_routes: list[tuple[str, str, str]]) -> None:
    assert len(spec_routes) == 64
    assert len({name for name, _, _ in spec_routes}) == 64


def test_route_table_matches_spec(spec_routes: list[tuple[str, str, str]]) -> None:
    ours = [(r.name, r.method, r.path) for r in ROUTES.values()]
    assert ours == spec_routes
