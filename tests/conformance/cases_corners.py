# ruff: noqa: E501 - case tables read best one case per line
"""Conformance cases: schemas and push in more shapes, metrics after traffic, views by role."""

from __future__ import annotations

from harness import Step, case, delete, get, post, put, setup

P = "/v1/projects/ARGO"
T = f"{P}/topics"
S = f"{P}/subscriptions"
SC = f"{P}/schemas"
U = "/v1/users"
TWO = {"messages": [{"data": "YQ=="}, {"data": "Yg=="}]}
RICH = {"type": "record", "name": "Rich", "namespace": "ns", "fields": [
    {"name": "b", "type": "boolean"}, {"name": "l", "type": "long"}, {"name": "d", "type": "double"},
    {"name": "e", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}},
    {"name": "a", "type": {"type": "array", "items": "string"}},
    {"name": "m", "type": {"type": "map", "values": "int"}},
    {"name": "u", "type": ["null", "string"]},
    {"name": "f", "type": {"type": "fixed", "name": "Two", "size": 2}}]}
# b=true, l=1, d=0.0, e=GREEN, a=["x"], m={"k": 1}, u="s", f=b"ab"
RICH_OK = "AQIAAAAAAAAAAAICAnhAgJrAgACAnNhYg=="

CASES = [
    case("avro-rich-schema", post(f"{SC}/rich", {"type": "avro", "schema": RICH}), get(f"{SC}/rich"),
         post(f"{SC}/rich:validate", {"data": "AQIAAAAAAAAAAAICAnhAgJrAgAACAnNhYg=="}),
         post(f"{SC}/rich:validate", {"data": "AgI="}), post(f"{SC}/rich:validate", {"data": "AQIAAAAAAAAAAAQ="}),
         post(f"{SC}/rich:validate", {"data": "AQIAAAAAAAAAAAICAnhAgJrAgAACBHNhYg=="})),
    case("avro-schema-errors", post(f"{SC}/x1", {"type": "avro", "schema": {"type": "enum", "name": "E", "symbols": ["1a"]}}),
         post(f"{SC}/x2", {"type": "avro", "schema": {"type": "fixed", "name": "F"}}),
         post(f"{SC}/x3", {"type": "avro", "schema": {"type": "record", "name": "R", "fields": []}}),
         post(f"{SC}/x4", {"type": "avro", "schema": {"type": "record", "name": "R", "fields": [{"type": "int"}]}}),
         post(f"{SC}/x5", {"type": "avro", "schema": {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}, {"name": "a", "type": "int"}]}}),
         post(f"{SC}/x6", {"type": "avro", "schema": {"type": "map"}}),
         post(f"{SC}/x7", {"type": "avro", "schema": {"type": ["int", {"type": "array"}]}}),
         post(f"{SC}/x8", {"type": "avro", "schema": {"type": 5}}),
         post(f"{SC}/x9", {"type": "avro", "schema": {"type": "record", "name": "9R", "fields": [{"name": "a", "type": "int"}]}}),
         post(f"{SC}/x10", {"type": "avro", "schema": {"type": "record", "name": "R", "namespace": "", "fields": [{"name": "a", "type": "int"}]}}),
         post(f"{SC}/x11", {"type": "avro", "schema": {}})),
    case("avro-no-schema", post(f"{SC}/x1", {"type": "avro"}), get(f"{SC}/x1")),
    case("json-schema-keywords", post(f"{SC}/js", {"type": "json", "schema": {
        "type": "object", "properties": {"s": {"type": "string", "minLength": 2, "maxLength": 3, "pattern": "^a"},
                                         "n": {"type": "number", "minimum": 1, "maximum": 2},
                                         "e": {"enum": ["x", "y"]}, "i": {"type": "integer"}}}}),
         post(f"{SC}/js:validate", {"s": "b"}), post(f"{SC}/js:validate", {"s": "abcd"}),
         post(f"{SC}/js:validate", {"n": 0}), post(f"{SC}/js:validate", {"n": 2.5}), post(f"{SC}/js:validate", {"e": "z"}),
         post(f"{SC}/js:validate", {"i": 1.5}), post(f"{SC}/js:validate", {"i": 2.0}), post(f"{SC}/js:validate", [1]),
         post(f"{SC}/js:validate", "7"), post(f"{SC}/js:validate", "null")),
    case("json-schema-empty", post(f"{SC}/js", {"type": "json", "schema": {}}), post(f"{SC}/js:validate", {"any": 1}),
         get(f"{SC}/js")),
    case("json-schema-nested", post(f"{SC}/js", {"type": "json", "schema": {
        "type": "object", "properties": {"o": {"type": "object", "required": ["x"], "properties": {"x": {"type": "string"}}}}}}),
         post(f"{SC}/js:validate", {"o": {}}), post(f"{SC}/js:validate", {"o": {"x": 1}}), post(f"{SC}/js:validate", {"o": 3})),
    case("schema-attach-then-publish", setup(post(f"{SC}/js", {"type": "json", "schema": {"type": "object", "required": ["k"]}})),
         post(f"{T}/topic1:attachSchema", {"schema": "projects/ARGO/schemas/js"}),
         post(f"{T}/topic1:publish", {"messages": [{"data": "e30="}]}), post(f"{T}/topic1:publish", {"messages": [{"data": "eyJrIjoxfQ=="}]}),
         post(f"{T}/topic1:detachSchema"), post(f"{T}/topic1:publish", {"messages": [{"data": "e30="}]})),
    case("schema-delete-attached", delete(f"{SC}/schema-3"), get(f"{T}/topic3"), post(f"{T}/topic3:publish", {"messages": [{"data": "AA=="}]})),
    case("schema-update-rename-attached", put(f"{SC}/schema-1", {"name": "projects/ARGO/schemas/renamed"}), get(f"{T}/topic2"),
         get(SC)),
    case("schema-update-avro-doc", put(f"{SC}/schema-3", {"schema": {"type": "record", "name": "U2", "fields": [{"name": "z", "type": "string"}]}}),
         get(f"{SC}/schema-3"), post(f"{SC}/schema-3:validate", {"data": "AnUC"})),
    case("schema-validate-avro-data-types", post(f"{SC}/schema-3:validate", {"data": 5}), post(f"{SC}/schema-3:validate", {"data": None}),
         post(f"{SC}/schema-3:validate", "[1]"), post(f"{SC}/schema-3:validate", "")),
    # push in more shapes
    case("push-create-full-body", put(f"{S}/p1", {"topic": "projects/ARGO/topics/topic1", "ackDeadlineSeconds": 30, "pushConfig": {
        "type": "http_endpoint", "pushEndpoint": "https://example.org/receive", "maxMessages": 3,
        "authorizationHeader": {"type": "autogen", "value": "ignored"}, "retryPolicy": {"type": "linear", "period": -5},
        "verificationHash": "mine", "verified": True, "mattermostUrl": "https://mm", "base64Decode": True}}),
         get(f"{S}/p1"), get(f"{S}/p1:acl")),
    case("push-modify-keeps-auth", setup(put(f"{S}/p1", {"topic": "projects/ARGO/topics/topic1", "pushConfig": {
        "type": "http_endpoint", "pushEndpoint": "https://example.org/a", "authorizationHeader": {"type": "disabled"}}})),
         post(f"{S}/p1:modifyPushConfig", {"pushConfig": {"type": "http_endpoint", "pushEndpoint": "https://example.org/b"}}),
         get(f"{S}/p1"), post(f"{S}/p1:modifyPushConfig", {"pushConfig": {"type": "http_endpoint", "pushEndpoint": "https://example.org/b",
                                                                          "authorizationHeader": {"type": "autogen"}, "retryPolicy": {"type": "slowstart"}}}),
         get(f"{S}/p1")),
    case("push-verified-sub-modify-endpoint", post(f"{S}/sub4:modifyPushConfig", {"pushConfig": {"type": "http_endpoint", "pushEndpoint": "endpoint.foo",
                                                                                                "maxMessages": 2}}),
         get(f"{S}/sub4"), get(f"{S}/sub4:acl"), get(f"{U}/push_worker_0")),
    case("push-delete-mattermost", setup(put(f"{S}/p1", {"topic": "projects/ARGO/topics/topic1", "pushConfig": {
        "type": "mattermost", "mattermostUrl": "https://mm.example.org/hooks/x"}})), delete(f"{S}/p1")),
    case("push-pull-mattermost-as-worker", setup(put(f"{S}/p1", {"topic": "projects/ARGO/topics/topic1", "pushConfig": {
        "type": "mattermost", "mattermostUrl": "https://mm.example.org/hooks/x"}})), setup(post(f"{T}/topic1:publish", TWO)),
         post(f"{S}/p1:pull", {"maxMessages": "1"}, "push_worker_0"), normalise=("publishTime",)),
    case("push-modify-unverified-to-pull", setup(post(f"{S}/sub1:modifyPushConfig", {"pushConfig": {
        "type": "http_endpoint", "pushEndpoint": "https://example.org/a"}})), post(f"{S}/sub1:modifyPushConfig", {"pushConfig": {}}),
         get(f"{S}/sub1"), get(f"{S}/sub1:acl")),
    # metrics after traffic
    case("metrics-after-traffic", setup(post(f"{T}/topic1:publish", TWO)), setup(post(f"{S}/sub1:pull", {"maxMessages": "2"})),
         get(f"{T}/topic1:metrics"), get(f"{S}/sub1:metrics"), get(f"{P}:metrics"), get("/v1/metrics/va_metrics")),
    case("metrics-topic-without-subs", setup(put(f"{T}/t5")), get(f"{T}/t5:metrics"), get(f"{P}:metrics", "UserPA")),
    # views by role
    case("views-member-lists", get(f"{P}/members?details=true", "UserPA"), get(f"{P}/members/UserPA", "UserPA"),
         get(f"{P}/members/push_worker_0")),
    case("views-users-list-filters", get(f"{U}?project=ARGO2"), get(f"{U}?details=false"), get(f"{U}?pageSize=100")),
    case("views-user-by-token-push-worker", get(f"{U}:byToken/push_token"), get(f"{U}:byUUID/uuid7"), get(f"{U}:byUUID/uuid_pa")),
    case("views-profile-project-admin-details", get(f"{U}/profile", "UserPA"), get(f"{U}/profile", "push_worker_0")),
    case("views-after-member-changes", setup(post(f"{P}/members/UserAV:add", {"roles": ["publisher"]})),
         setup(post(f"{T}/topic1:modifyAcl", {"authorized_users": ["UserAV"]})), get(f"{U}/UserAV"), get(f"{P}/members/UserAV", "UserPA"),
         get(f"{P}:metrics")),
]

CASES += [
    case("users-create-full-body", post(f"{U}/full", {"name": "ignored", "first_name": "F", "last_name": "L", "organization": "O",
                                                     "description": "D", "email": "e@x", "token": "mine", "uuid": "mine",
                                                     "service_roles": ["service_admin"], "created_on": "2000-01-01T00:00:00Z",
                                                     "projects": [{"project": "ARGO", "roles": ["publisher"], "topics": ["topic1"], "subscriptions": ["sub1"]},
                                                                  {"project": "ARGO2", "roles": []}]}),
         get(f"{U}/full"), get(f"{T}/topic1:acl")),
    case("users-create-body-types", post(f"{U}/a1", {"email": 5}), post(f"{U}/a2", {"service_roles": "admin"}),
         post(f"{U}/a3", {"projects": {"project": "ARGO"}}), post(f"{U}/a4", {"projects": [{"project": "ARGO", "roles": "publisher"}]}),
         post(f"{U}/a5", [])),
    case("users-update-keeps-fields", setup(post(f"{U}/u1", {"first_name": "F", "email": "e", "description": "D"})),
         put(f"{U}/u1", {"first_name": "", "email": "new"}), get(f"{U}/u1"), put(f"{U}/u1", {"projects": []}), get(f"{U}/u1")),
    case("users-update-token-field-ignored", put(f"{U}/UserB", {"token": "x", "uuid": "y"}), get(f"{U}/UserB")),
    case("users-delete-then-lists", delete(f"{U}/UserA"), get(f"{P}/members"), get(f"{S}/sub1:acl"), get(f"{P}:metrics"),
         get(f"{U}:byToken/S3CR3T1"), get(f"{T}", "UserA")),
    case("users-refresh-then-old-token", setup(post(f"{U}/UserB:refreshToken")), get(f"{U}/profile", "UserB"), get(T, "UserB")),
    case("members-create-roles-other-project", post(f"{P}/members/m1", {"projects": [{"project": "ARGO2", "roles": ["consumer"]}]}),
         get(f"{U}/m1")),
    case("members-create-service-roles-ignored", post(f"{P}/members/m1", {"service_roles": ["service_admin"], "email": "e"}, "UserPA"),
         get(f"{U}/m1")),
    case("members-update-roles-empty", put(f"{P}/members/UserA", {"projects": [{"project": "ARGO", "roles": []}]}), get(f"{P}/members/UserA")),
    case("members-update-roles-missing", put(f"{P}/members/UserA", {"projects": [{"project": "ARGO"}]}), get(f"{P}/members/UserA")),
    case("members-add-body-types", post(f"{P}/members/UserAV:add", {"roles": "publisher"}), post(f"{P}/members/UserAV:add", [])),
    case("members-remove-as-project-admin", post(f"{P}/members/UserA:remove", user="UserPA"), get(f"{P}/members", "UserPA")),
    case("projects-create-body-types", post("/v1/projects/N1", {"description": 5}), post("/v1/projects/N2", []),
         post("/v1/projects/N3", {"name": "Other", "description": "d"}), get("/v1/projects/N3")),
    case("projects-update-body-types", put("/v1/projects/ARGO2", {"name": 5}), put("/v1/projects/ARGO2", {"name": "bad name!"}),
         get("/v1/projects")),
    case("registrations-create-body-types", post("/v1/registrations", {"name": 5}, None), post("/v1/registrations", [], None),
         post("/v1/registrations", {"name": "n", "extra": 1}, None, capture={"id": "uuid"}), get("/v1/registrations/{id}")),
    case("registrations-decline-body-types", post("/v1/registrations/ur-uuid1:decline", {"comment": 5}),
         post("/v1/registrations/ur-uuid1:decline", "{")),
    case("registrations-after-accept-list", setup(post("/v1/registrations/ur-uuid1:accept")), get("/v1/registrations"),
         get("/v1/registrations?status=pending"), get(f"{U}/urname")),
    case("subs-list-by-topic-after-sub-delete", setup(delete(f"{S}/sub1")), get(f"{T}/topic1/subscriptions"), get(f"{T}/topic1:metrics")),
    case("topics-acl-after-user-removal", setup(post(f"{P}/members/UserB:remove")), get(f"{T}/topic1:acl"),
         post(f"{T}/topic1:modifyAcl", {"authorized_users": ["UserB"]})),
    case("ack-deadline-boundaries", post(f"{S}/sub1:modifyAckDeadline", {"ackDeadlineSeconds": 600}),
         post(f"{S}/sub1:modifyAckDeadline", {"ackDeadlineSeconds": -1}), post(f"{S}/sub1:modifyAckDeadline", {}),
         post(f"{S}/sub1:modifyAckDeadline", {"ackDeadlineSeconds": 1.5}), get(f"{S}/sub1")),
]

CASES += [
    case("json-schema-compiler-errors", post(f"{SC}/c1", {"type": "json", "schema": {"properties": 5}}),
         post(f"{SC}/c2", {"type": "json", "schema": {"required": "x"}}),
         post(f"{SC}/c3", {"type": "json", "schema": {"minLength": -1}}),
         post(f"{SC}/c4", {"type": "json", "schema": {"enum": []}}),
         post(f"{SC}/c5", {"type": "json", "schema": {"pattern": "("}}),
         post(f"{SC}/c6", {"type": "json", "schema": {"items": 5}}),
         post(f"{SC}/c7", {"type": "json", "schema": {"type": ["string", "bogus"]}}),
         post(f"{SC}/c8", {"type": "json", "schema": {"additionalProperties": 5}}),
         post(f"{SC}/c9", {"type": "json", "schema": {"minimum": "1"}})),
]

CASES += [
    case("pages-walk-topics", get(f"{T}?pageSize=3", capture={"n1": "nextPageToken"}), get(f"{T}?pageSize=3&pageToken={{n1}}"),
         get(f"{T}?pageSize=4"), get(f"{T}?pageSize=5"), get(f"{T}?pageToken=")),
    case("pages-walk-subs-consumer", get(f"{S}?pageSize=1", "UserB", capture={"n1": "nextPageToken"}),
         get(f"{S}?pageSize=1&pageToken={{n1}}", "UserB", capture={"n2": "nextPageToken"}),
         get(f"{S}?pageSize=1&pageToken={{n2}}", "UserB")),
    case("pages-walk-members", get(f"{P}/members?pageSize=5", "UserPA", capture={"n1": "nextPageToken"}),
         get(f"{P}/members?pageSize=5&pageToken={{n1}}", "UserPA")),
    case("pages-after-create", setup(put(f"{T}/t-late")), get(f"{T}?pageSize=2", capture={"n1": "nextPageToken"}),
         get(f"{T}?pageSize=2&pageToken={{n1}}")),
    case("pages-size-huge", get(f"{T}?pageSize=99999999999999999999"), get(f"{U}?pageSize=2147483648")),
    case("pages-size-plus", get(f"{T}?pageSize=+2"), get(f"{T}?pageSize=2&pageSize=1")),
]

CASES += [
    case("numbers-printed-as-go", post(f"{SC}/num", {"type": "json", "schema": {"type": "object", "properties": {
        "a": {"type": "number", "minimum": 0.0000001, "maximum": 1e21}, "b": {"type": "number", "multipleOf": 0.000001},
        "c": {"type": "number", "minimum": 4.18e-9, "maximum": 123456789.0}, "d": {"type": "number", "maximum": 2.5}}}}),
         get(f"{SC}/num"), get(SC), post(f"{SC}/num:validate", {"a": 0}), post(f"{SC}/num:validate", {"c": 1e30}),
         post(f"{SC}/num:validate", {"d": 3}), post(f"{SC}/num:validate", {"b": 0.0000015})),
]

CASES += [
    case("topic-create-schema-body-types", put(f"{T}/n1", {"schema": ""}), put(f"{T}/n2", {"schema": 5}), put(f"{T}/n3", []),
         put(f"{T}/n4", {"other": "x"}), get(f"{T}/n1"), get(f"{T}/n4")),
    case("attach-schema-body-types", post(f"{T}/topic1:attachSchema", {"schema": 5}), post(f"{T}/topic1:attachSchema", {}),
         post(f"{T}/topic1:attachSchema", {"schema": ""}), get(f"{T}/topic1")),
    case("publish-avro-bad-base64", post(f"{T}/topic3:publish", {"messages": [{"data": "AnUC"}, {"data": "A=nUC"}]})),
    case("project-rename-shows-everywhere", put("/v1/projects/ARGO", {"name": "ARGO9"}), get("/v1/projects/ARGO9/topics?pageSize=1"),
         get("/v1/projects/ARGO9/subscriptions/sub1"), get(f"{U}/UserA"), get("/v1/projects/ARGO9/schemas/schema-1"),
         get("/v1/projects/ARGO9/topics/topic2"), get(f"{T}")),
    case("user-rename-shows-everywhere", put(f"{U}/UserA", {"name": "UserA2"}), get(f"{T}/topic1:acl"), get(f"{P}/members/UserA2"),
         get(f"{P}:metrics"), get("/v1/registrations"), get("/v1/projects")),
    case("publish-then-project-metrics-daily", setup(post(f"{T}/topic1:publish", TWO)), setup(post(f"{T}/topic2:publish", {"messages": [
        {"data": "eyJuYW1lIjoibiIsImVtYWlsIjoiZSJ9"}]})), get(f"{P}:metrics"), get(f"{T}/topic1:metrics"),
         get("/v1/metrics/va_metrics?projects=ARGO")),
    case("delete-topic-keeps-daily-counts", setup(post(f"{T}/topic1:publish", TWO)), delete(f"{T}/topic1"), get(f"{P}:metrics"),
         get("/v1/metrics/va_metrics?projects=ARGO&start_date=2018-10-01")),
    case("sub-acl-after-push-modify", post(f"{S}/sub4:modifyPushConfig", {"pushConfig": {"type": "mattermost", "mattermostUrl": "https://m"}}),
         get(f"{S}/sub4:acl"), get(f"{S}/sub4"), post(f"{S}/sub4:verifyPushEndpoint")),
]

CASES += [
    case("auth-header-and-key", get(f"{T}?key=S3CR3T1", "WRONG"), get(f"{T}?key=WRONG", "UserA"),
         get(f"{T}?key=", None), get(f"{U}/profile?key=S3CR3T1", None), get("/v1/status?details=true&key=ADMIN-TOKEN", None),
         get(f"{T}", "", request_headers={"x-api-key": ""})),
    case("bodies-case-insensitive-keys", put(f"{S}/ci", {"TOPIC": "projects/ARGO/topics/topic1", "AckDeadlineSeconds": 20}),
         get(f"{S}/ci"), post(f"{S}/ci:modifyAckDeadline", {"ACKDEADLINESECONDS": 30}), get(f"{S}/ci")),
    case("bodies-duplicate-keys", put(f"{S}/dk", '{"topic": "projects/ARGO/topics/nope", "topic": "projects/ARGO/topics/topic1"}'),
         get(f"{S}/dk")),
    case("bodies-bom-and-junk", put(f"{S}/b1", b'\xef\xbb\xbf{"topic": "projects/ARGO/topics/topic1"}'),
         put(f"{S}/b2", '{"topic": "projects/ARGO/topics/topic1"} trailing'), put(f"{S}/b3", 'null'),
         post(f"{S}/sub1:pull", 'null'), post(f"{T}/topic1:publish", '{"messages": null}')),
    case("bodies-no-content-type", Step("PUT", f"{S}/nc", "admin", '{"topic": "projects/ARGO/topics/topic1"}',
                                        request_headers={"Content-Type": "text/plain"}), get(f"{S}/nc")),
]
