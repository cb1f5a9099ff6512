# ruff: noqa: E501 - case tables read best one case per line
"""Conformance cases: service endpoints, routing, authentication and authorization (spec 1, 3, 10)."""

from __future__ import annotations

from harness import Step, case, get, post

T = "/v1/projects/ARGO/topics"
PREFLIGHT = {"Origin": "https://example.org", "Access-Control-Request-Method": "PUT",
             "Access-Control-Request-Headers": "x-api-key, content-type"}
CORS = ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
        "Access-Control-Allow-Credentials", "Access-Control-Max-Age", "Access-Control-Expose-Headers", "Vary")

CASES = [
    case("service-metrics", get("/v1/metrics")),
    case("service-metrics-as-member", get("/v1/metrics", "UserA")),
    case("service-status", get("/v1/status", None)),
    case("service-status-details", get("/v1/status?details=true")),
    case("service-status-details-no-token", get("/v1/status?details=true", None)),
    case("service-status-details-member", get("/v1/status?details=true", "UserA")),
    case("service-version", get("/v1/version", None), get("/v1/version")),
    case("service-va-metrics", get("/v1/metrics/va_metrics?start_date=2018-10-01&end_date=2018-10-02")),
    case("service-va-metrics-project", get("/v1/metrics/va_metrics?projects=ARGO&start_date=2018-10-01"
                                           "&end_date=2018-10-01")),
    case("service-va-metrics-missing-project", get("/v1/metrics/va_metrics?projects=NOPE")),
    case("service-va-metrics-bad-dates", get("/v1/metrics/va_metrics?start_date=2018-10-05&end_date=2018-10-01")),
    case("service-va-metrics-bad-format", get("/v1/metrics/va_metrics?start_date=01-10-2018")),
    case("service-va-metrics-as-member", get("/v1/metrics/va_metrics", "UserA")),
    case("routing-unknown-path", get("/v1/nothing")),
    case("routing-no-version", get("/projects")),
    case("routing-double-slash", get("//v1/projects", headers=("Location",))),
    case("routing-double-slash-inner", get("/v1//projects")),
    case("routing-patch-topic", Step("PATCH", f"{T}/topic1")),
    case("routing-head-topic", Step("HEAD", f"{T}/topic1")),
    case("routing-post-topic", post(f"{T}/topic1")),
    case("routing-post-topics-list", post(T)),
    case("routing-delete-users-list", Step("DELETE", "/v1/users")),
    case("routing-put-status", Step("PUT", "/v1/status")),
    case("routing-post-version", post("/v1/version"), Step("DELETE", "/v1/version")),
    case("routing-redirect-keeps-query", get("//v1/projects?x=1&y=2", headers=("Location",)),
         get("/v1/projects/ARGO/./topics", headers=("Location",)), get("/v1/projects/x/../ARGO", headers=("Location",))),
    case("routing-unknown-verb", get(f"{T}/topic1:unknownVerb"), post(f"{T}/topic1:unknownVerb")),
    case("auth-no-token", get(T, None)),
    case("auth-bad-token", get(T, "WRONG")),
    case("auth-key-param", get(f"{T}?key=S3CR3T1", None)),
    case("auth-missing-project", get("/v1/projects/NOPE/topics")),
    case("auth-missing-project-no-token", get("/v1/projects/NOPE/topics", None)),
    case("auth-missing-project-bad-token", get("/v1/projects/NOPE/topics", "WRONG")),
    case("auth-not-member", get(T, "UserAV")),
    case("auth-forbidden-route", Step("DELETE", f"{T}/topic1", "UserA")),
    case("auth-push-worker-on-topics", get(T, "push_worker_0")),
    case("auth-invalid-project-name", get("/v1/projects/AR.GO/topics")),
    case("auth-invalid-project-name-no-token", get("/v1/projects/AR.GO/topics", None)),
    case("auth-admin-viewer", get(T, "UserAV"), get("/v1/projects", "UserAV")),
    case("cors-preflight", Step("OPTIONS", f"{T}/topic1", None, request_headers=PREFLIGHT, headers=CORS)),
    case("cors-preflight-get", Step("OPTIONS", T, None, request_headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "GET"}, headers=CORS)),
    case("cors-preflight-bad-method", Step("OPTIONS", T, None, request_headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "PATCH"}, headers=CORS)),
    case("cors-preflight-bad-header", Step("OPTIONS", T, None, request_headers={
        **PREFLIGHT, "Access-Control-Request-Headers": "x-secret"}, headers=CORS)),
    case("cors-preflight-no-method", Step("OPTIONS", T, None, request_headers={"Origin": "https://example.org"},
                                          headers=CORS)),
    case("cors-options-no-origin", Step("OPTIONS", T, None, headers=CORS)),
    case("cors-error-answer", get(T, "WRONG", request_headers={"Origin": "https://example.org"}, headers=CORS)),
    case("cors-simple", get(T, request_headers={"Origin": "https://example.org"}, headers=CORS)),
]
