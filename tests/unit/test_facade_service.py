"""Schema and operational methods of ArgoMessagingService (status, version, metrics, reports)."""

from __future__ import annotations

import datetime
import json

import pytest

from pymod import AmsArgumentException

from ._support import (
    METRICS,
    SCHEMA,
    SCHEMA_DOC,
    STATUS,
    STATUS_DETAILS,
    USAGE_REPORT,
    VA_REPORT,
    VERSION,
    Case,
    exercise,
)

SC = "/v1/projects/DEMO/schemas"
AVRO_DOC = {"type": "record", "name": "Reading", "fields": [{"name": "temp", "type": "double"}]}


def one_space(obj) -> str:
    """1-space JSON, the layout of schema, status, version and VA replies."""
    return json.dumps(obj, indent=1)


CASES = [
    Case("create_schema", "create_schema",
         lambda c: c.create_schema("reading", "json", SCHEMA_DOC), "POST", SC + "/reading",
         body={"type": "json", "schema": SCHEMA_DOC}, reply=one_space(SCHEMA),
         check=lambda r, c: r == SCHEMA),
    Case("create_schema-avro-uppercase", "create_schema",
         lambda c: c.create_schema("reading", "AVRO", AVRO_DOC), "POST", SC + "/reading",
         body={"type": "avro", "schema": AVRO_DOC}, reply=one_space({**SCHEMA, "type": "avro"}),
         check=lambda r, c: r["type"] == "avro"),
    Case("get_schema", "get_schema", lambda c: c.get_schema("reading"), "GET", SC + "/reading",
         reply=one_space(SCHEMA), check=lambda r, c: r == SCHEMA),
    Case("list_schemas", "list_schemas", lambda c: c.list_schemas(), "GET", SC,
         reply=one_space({"schemas": [SCHEMA]}), check=lambda r, c: r == [SCHEMA]),
    Case("list_schemas-none", "list_schemas", lambda c: c.list_schemas(), "GET", SC,
         reply='{\n "schemas": []\n}', check=lambda r, c: r == []),
    Case("update_schema-rename", "update_schema",
         lambda c: c.update_schema("reading", new_name="reading2"), "PUT", SC + "/reading",
         body={"name": "projects/DEMO/schemas/reading2"},
         reply=one_space({**SCHEMA, "name": "projects/DEMO/schemas/reading2"}),
         check=lambda r, c: r["name"] == "projects/DEMO/schemas/reading2"),
    Case("update_schema-all", "update_schema",
         lambda c: c.update_schema("reading", "r2", "avro", AVRO_DOC), "PUT", SC + "/reading",
         body={"name": "projects/DEMO/schemas/r2", "type": "avro", "schema": AVRO_DOC},
         reply=one_space(SCHEMA), check=lambda r, c: isinstance(r, dict)),
    Case("delete_schema", "delete_schema", lambda c: c.delete_schema("reading"), "DELETE",
         SC + "/reading", check=lambda r, c: r == {}),
    Case("validate_schema_message", "validate_schema_message",
         lambda c: c.validate_schema_message("reading", {"temp": 21.5, "unit": "C"}), "POST",
         SC + "/reading:validate", body={"temp": 21.5, "unit": "C"},
         reply='{\n "message": "Message validated successfully"\n}',
         check=lambda r, c: r == {"message": "Message validated successfully"}),
    Case("status", "status", lambda c: c.status(), "GET", "/v1/status", reply=one_space(STATUS),
         check=lambda r, c: r == STATUS),
    Case("status-details", "status", lambda c: c.status(details=True), "GET", "/v1/status",
         query={"details": "true"}, reply=one_space(STATUS_DETAILS),
         check=lambda r, c: r == STATUS_DETAILS),
    Case("version", "version", lambda c: c.version(), "GET", "/v1/version",
         reply=one_space(VERSION), check=lambda r, c: r == VERSION),
    Case("metrics", "metrics", lambda c: c.metrics(), "GET", "/v1/metrics", reply=METRICS,
         check=lambda r, c: r == METRICS),
    Case("va_metrics", "va_metrics", lambda c: c.va_metrics(), "GET", "/v1/metrics/va_metrics",
         reply=one_space(VA_REPORT), check=lambda r, c: r == VA_REPORT),
    Case("va_metrics-filters", "va_metrics",
         lambda c: c.va_metrics(projects=["DEMO", "OTHER"], start_date=datetime.date(2024, 5, 1),
                                end_date=datetime.datetime(2024, 5, 31, 23, 59)),
         "GET", "/v1/metrics/va_metrics",
         query={"projects": "DEMO,OTHER", "start_date": "2024-05-01", "end_date": "2024-05-31"},
         reply=one_space(VA_REPORT), check=lambda r, c: r["total_topics_count"] == 2),
    Case("usage_report", "usage_report", lambda c: c.usage_report(), "GET",
         "/v1/users/usageReport", reply=USAGE_REPORT, check=lambda r, c: r == USAGE_REPORT),
    Case("usage_report-filters", "usage_report",
         lambda c: c.usage_report(["DEMO"], datetime.date(2024, 1, 1), datetime.date(2024, 1, 31)),
         "GET", "/v1/users/usageReport",
         query={"projects": "DEMO", "start_date": "2024-01-01", "end_date": "2024-01-31"},
         reply=USAGE_REPORT, check=lambda r, c: "operational_metrics" in r),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_service_route(any_ams, case):
    exercise(any_ams, case)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.create_schema("reading", "xml", SCHEMA_DOC),
        lambda c: c.create_schema("reading", "json", '{"type": "object"}'),
        lambda c: c.update_schema("reading", schema_type="yaml"),
        lambda c: c.update_schema("reading", new_name="bad/name"),
        lambda c: c.validate_schema_message("reading", "not a dict"),
        lambda c: c.va_metrics(start_date="2024-05-01"),
        lambda c: c.va_metrics(projects="DEMO"),
        lambda c: c.usage_report(end_date=20240531),
    ],
    ids=["type", "doc-str", "update-type", "update-name", "validate-str", "date-str",
         "projects-str", "date-int"],
)
def test_service_argument_errors_send_nothing(ams, nonet, call):
    with pytest.raises(AmsArgumentException):
        call(ams)
    assert len(nonet.calls) == 0
