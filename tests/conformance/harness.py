"""The differential conformance harness: cases as data, run against the oracle and the emulator.

A :class:`Case` is a name and a sequence of :class:`Step` requests. Each step goes to the real
AMS (the oracle, ``tests/oracle.py``) and to our emulator, both started from the same data (the
oracle's fixture; the emulator is seeded with a copy of it by :func:`seed_fixture`). The two
answers are compared on status, content type, the body (JSON field by field and in key order,
plus its layout: indentation and spacing; or the exact text) and the headers a step names.
Only what really varies is normalised: uuids, generated tokens and hashes, timestamps near
"now", page tokens, measured values (see :func:`normalise`).

A divergence kept on purpose is an entry of :data:`ALLOWED`, keyed by case name, with the JSON
paths it covers and the reason; docs/emulator.rst lists the same entries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import sqlite3
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import requests

from pymod.emulator.api.routing import ROUTES
from pymod.emulator.store import SUBSCRIPTION, TOPIC, PushConfig, Store

# ---------------------------------------------------------------------------- the fixture

#: Tokens of the fixture's users (oracle/fixture.go and extra-users.example.json).
TOKENS = {
    "Test": "S3CR3T", "UserA": "S3CR3T1", "UserB": "S3CR3T2", "UserX": "S3CR3T3",
    "UserZ": "S3CR3T4", "UserSame1": "S3CR3T41", "UserSame2": "S3CR3T42",
    "push_worker_0": "push_token", "admin": "ADMIN-TOKEN", "UserPA": "S3CR3T-PA",
    "UserAV": "S3CR3T-AV",
}
PUSH_WORKER = "push_worker_0"

_FIXTURE_DAY = dt.datetime(2009, 11, 10, 23, tzinfo=dt.timezone.utc)
_JSON_SCHEMA = {"properties": {"address": {"type": "string"}, "email": {"type": "string"},
                               "name": {"type": "string"}, "telephone": {"type": "string"}},
                "required": ["name", "email"], "type": "object"}
_AVRO_SCHEMA = {"fields": [{"name": "username", "type": "string"},
                           {"name": "phone", "type": "int"}],
                "name": "User", "namespace": "user.avro", "type": "record"}


def _at(moment: dt.datetime) -> Callable[[], int]:
    ns = int(moment.timestamp()) * 10**9
    return lambda: ns


def seed_fixture(store: Store) -> None:
    """Replace everything in ``store`` by a copy of the oracle's fixture (same names, uuids,
    tokens, roles, ACLs, push settings, dates and creation order)."""
    with store._lock:  # noqa: SLF001 - test set-up of a private database
        db = store._db  # noqa: SLF001
        for table in ("users", "projects", "members", "topics", "messages", "daily_counts",
                      "subscriptions", "acls", "schemas", "registrations"):
            db.execute(f"DELETE FROM {table}")  # noqa: S608
        db.execute("DELETE FROM sqlite_sequence")
        db.commit()
    clock = store.clock
    try:
        store.clock = _at(_FIXTURE_DAY)
        argo = store.create_project("ARGO", description="simple project", created_by="uuid1")
        argo2 = store.create_project("ARGO2", description="simple project", created_by="uuid1")
        with store._lock:  # noqa: SLF001
            store._db.execute("UPDATE projects SET uuid = 'argo_uuid' WHERE id = ?", (argo.id,))
            store._db.execute("UPDATE projects SET uuid = 'argo_uuid2' WHERE id = ?", (argo2.id,))
            store._db.commit()
        ids: Dict[str, int] = {}
        member = [(argo.id, ["consumer", "publisher"])]
        member_rev = [(argo.id, ["publisher", "consumer"])]
        users: List[Tuple[str, str, str, Dict[str, Any]]] = [
            ("Test", "uuid0", "Test@test.com", {"memberships": member}),
            ("UserA", "uuid1", "foo-email", {"memberships": member, "first_name": "FirstA",
                                             "last_name": "LastA", "organization": "OrgA",
                                             "description": "DescA"}),
            ("UserB", "uuid2", "foo-email", {"memberships": member, "created_by": "uuid1"}),
            ("UserX", "uuid3", "foo-email", {"memberships": member_rev, "created_by": "uuid1"}),
            ("UserZ", "uuid4", "foo-email", {"memberships": member_rev, "created_by": "uuid1"}),
            ("UserSame1", "same_uuid", "foo-email",
             {"memberships": member_rev, "created_by": "uuid1"}),
            ("UserSame2", "same_uuid", "foo-email",
             {"memberships": member_rev, "created_by": "uuid1"}),
            (PUSH_WORKER, "uuid7", "foo-email", {"service_roles": ["push_worker"]}),
            ("admin", "uuid_admin", "admin@example.org", {"service_roles": ["service_admin"]}),
            ("UserPA", "uuid_pa", "pa-email", {"memberships": [(argo.id, ["project_admin"])],
                                               "created_by": "uuid1"}),
            ("UserAV", "uuid_av", "av-email", {"service_roles": ["admin_viewer"]}),
        ]
        for name, uuid, email, extra in users:
            extra.setdefault("service_roles", [])
            ids[name] = store.create_user(name, token=TOKENS[name], user_uuid=uuid, email=email,
                                          **extra).id
        schema_ids = {}
        for index, (name, kind, doc) in enumerate(
                (("schema-1", "json", _JSON_SCHEMA), ("schema-2", "json", _JSON_SCHEMA),
                 ("schema-3", "avro", _AVRO_SCHEMA)), 1):
            schema = store.create_schema(argo.id, name, kind, doc)
            with store._lock:  # noqa: SLF001
                store._db.execute("UPDATE schemas SET uuid = ? WHERE id = ?",
                                  (f"schema_uuid_{index}", schema.id))
                store._db.commit()
            schema_ids[name] = schema.id
        topics = {}
        for day, name, schema_name, acl in (
                (22, "topic1", None, ["UserA", "UserB"]),
                (21, "topic2", "schema-1", ["UserA", "UserB", "UserZ"]),
                (20, "topic3", "schema-3", ["UserX"]),
                (19, "topic4", None, [])):
            store.clock = _at(dt.datetime(2020, 11, day, tzinfo=dt.timezone.utc))
            topic = store.create_topic(argo.id, name, schema_ids.get(schema_name or ""))
            store.set_acl(TOPIC, topic.id, [ids[u] for u in acl])
            topics[name] = topic
        for day, name, topic_name, acl in (
                (19, "sub1", "topic1", ["UserA", "UserB"]),
                (20, "sub2", "topic2", ["UserA", "UserX"]),
                (21, "sub3", "topic3", ["UserZ", "UserB", "UserA"]),
                (22, "sub4", "topic4", ["UserB", "UserZ", PUSH_WORKER])):
            store.clock = _at(dt.datetime(2020, 11, day, tzinfo=dt.timezone.utc))
            sub = store.create_subscription(argo.id, name, topics[topic_name], 10, PushConfig())
            store.set_acl(SUBSCRIPTION, sub.id, [ids[u] for u in acl])
            if name == "sub4":
                store.set_push_config(sub.id, PushConfig(
                    type="http_endpoint", endpoint="endpoint.foo", max_messages=1,
                    auth_type="autogen", auth_value="auth-header-1", retry_type="linear",
                    retry_period=300, verification_hash="push-id-1", verified=True,
                    base64_decode=True))
        store.clock = _at(dt.datetime(2019, 5, 12, 22, 26, 58, tzinfo=dt.timezone.utc))
        reg = store.create_registration(name="urname", first_name="urfname",
                                        last_name="urlname", organization="urorg",
                                        description="urdesc", email="uremail")
        modified = int(dt.datetime(2020, 5, 15, 22, 26, 58, tzinfo=dt.timezone.utc).timestamp())
        with store._lock:  # noqa: SLF001
            db = store._db  # noqa: SLF001
            db.execute("UPDATE registrations SET uuid = 'ur-uuid1', activation_token = 'uratkn-1',"
                       " modified_by = 'uuid1', modified_at = ? WHERE id = ?", (modified, reg.id))
            db.executemany("INSERT INTO daily_counts (project_id, topic_name, day, count)"
                           " VALUES (?, ?, ?, ?)",
                           [(argo.id, "topic1", "2018-10-01", 40),
                            (argo.id, "topic1", "2018-10-02", 30),
                            (argo.id, "topic2", "2018-10-01", 70),
                            (argo.id, "topic3", "2018-10-01", 0)])
            for name, day, rate in (("topic1", 6, 10.0), ("topic2", 8, 5.45), ("topic3", 7, 8.99)):
                stamp = int(dt.datetime(2019, 5, day, tzinfo=dt.timezone.utc).timestamp()) * 10**9
                db.execute("UPDATE topics SET last_publish_ns = ?, publish_rate = ? WHERE name = ?",
                           (stamp, rate, name))
            for name, day, rate in (("sub1", 6, 10.0), ("sub2", 7, 8.99), ("sub3", 8, 5.45)):
                stamp = int(dt.datetime(2019, 5, day, tzinfo=dt.timezone.utc).timestamp()) * 10**9
                db.execute("UPDATE subscriptions SET last_consume_ns = ?, consume_rate = ?"
                           " WHERE name = ?", (stamp, rate, name))
            db.commit()
    finally:
        store.clock = clock


class Snapshot:
    """A copy of a store's database, put back with :meth:`restore` (sqlite's backup API)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.copy = sqlite3.connect(":memory:", check_same_thread=False)
        with store._lock:  # noqa: SLF001
            store._db.backup(self.copy)  # noqa: SLF001

    def restore(self) -> None:
        with self.store._lock:  # noqa: SLF001
            self.copy.backup(self.store._db)  # noqa: SLF001


# ---------------------------------------------------------------------------- cases as data

Body = Union[None, str, bytes, Mapping[str, Any], Sequence[Any]]


@dataclasses.dataclass(frozen=True)
class Step:
    """One request. ``path`` is below the server root (``/v1/...``) and may hold ``{var}``
    placeholders filled from earlier captures; ``user`` names the fixture user whose token goes
    in ``x-api-key`` (``None``: no token). ``body``: a JSON-able object (sent as JSON), ``str``/
    ``bytes`` (sent as is) or ``None``. ``capture``: ``{var: "dotted.path"}`` read from the
    oracle's JSON answer (the emulator's own answer fills its own copy). ``headers``: response
    headers to compare too. ``compare``: ``False`` to only run the step (set-up)."""

    method: str
    path: str
    user: Optional[str] = "admin"
    body: Body = None
    request_headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    capture: Mapping[str, str] = dataclasses.field(default_factory=dict)
    headers: Tuple[str, ...] = ()
    compare: bool = True
    wait: float = 0.0


@dataclasses.dataclass(frozen=True)
class Case:
    """A named sequence of steps (run after a reset of both servers)."""

    name: str
    steps: Tuple[Step, ...]
    #: extra JSON keys whose (non-empty) values are replaced by a placeholder
    normalise: Tuple[str, ...] = ()


def case(name: str, *steps: Step, normalise: Tuple[str, ...] = ()) -> Case:
    return Case(name, tuple(steps), normalise)


def get(path: str, user: Optional[str] = "admin", **kw: Any) -> Step:
    return Step("GET", path, user, **kw)


def post(path: str, body: Body = None, user: Optional[str] = "admin", **kw: Any) -> Step:
    return Step("POST", path, user, body, **kw)


def put(path: str, body: Body = None, user: Optional[str] = "admin", **kw: Any) -> Step:
    return Step("PUT", path, user, body, **kw)


def delete(path: str, user: Optional[str] = "admin", **kw: Any) -> Step:
    return Step("DELETE", path, user, **kw)


def setup(step: Step) -> Step:
    """The same step, run on both servers but not compared."""
    return dataclasses.replace(step, compare=False)


# ---------------------------------------------------------------------------- allow-list


@dataclasses.dataclass(frozen=True)
class Allowed:
    """A divergence kept on purpose: in ``case``, the JSON ``paths`` (dotted from ``body``,
    ``*`` for any list index or key; ``status``, ``content-type`` and ``layout`` for those) are not
    compared; ``reason`` says why (also in docs/emulator.rst)."""

    case: str
    paths: Tuple[str, ...]
    reason: str
    #: the real server's answer is random there: the difference shows in some runs only
    sometimes: bool = False


ALLOWED: Dict[str, Allowed] = {}


def allow(case_name: str, paths: Tuple[str, ...], reason: str, sometimes: bool = False) -> None:
    ALLOWED[case_name] = Allowed(case_name, paths, reason, sometimes)


# ---------------------------------------------------------------------------- running


@dataclasses.dataclass
class Answer:
    status: int
    content_type: str
    body: Any  # parsed JSON, or the text
    headers: Dict[str, str]
    raw: str = ""  # the body's text, for its layout


@dataclasses.dataclass
class Server:
    """One side of the comparison: a base URL and the CA to verify it with."""

    name: str
    url: str
    ca_path: str
    session: requests.Session = dataclasses.field(default_factory=requests.Session)
    vars: Dict[str, str] = dataclasses.field(default_factory=dict)

    def send(self, step: Step) -> Answer:
        path = _fill(step.path, self.vars)
        headers = {k: _fill(v, self.vars) for k, v in step.request_headers.items()}
        if step.user is not None:
            headers["x-api-key"] = _fill(TOKENS.get(step.user, step.user), self.vars)
        data: Optional[bytes] = None
        if isinstance(step.body, (bytes, str)):
            raw = step.body.encode() if isinstance(step.body, str) else step.body
            data = _fill(raw.decode("utf-8", "surrogateescape"), self.vars).encode(
                "utf-8", "surrogateescape")
        elif step.body is not None:
            data = _fill(json.dumps(step.body), self.vars).encode()
        if data is not None:
            headers.setdefault("Content-Type", "application/json")
        reply = self.session.request(step.method, self.url + path, data=data, headers=headers,
                                     verify=self.ca_path, timeout=30, allow_redirects=False)
        content_type = reply.headers.get("Content-Type", "")
        body: Any = reply.text
        if "json" in content_type and reply.content.strip():
            try:
                body = reply.json()
            except ValueError:
                body = reply.text
        answer = Answer(reply.status_code, content_type, body,
                        {k.lower(): v for k, v in reply.headers.items()}, reply.text)
        for var, dotted in step.capture.items():
            try:
                value = _lookup(body, dotted)
            except (KeyError, IndexError, TypeError, ValueError):
                continue  # the answers' comparison reports it
            self.vars[var] = value if isinstance(value, str) else json.dumps(value)
        return answer


def _fill(text: str, values: Mapping[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


def _lookup(body: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        body = body[int(part)] if isinstance(body, list) else body[part]
    return body


_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_STAMP_RE = re.compile(r"(\d{4}-\d\d-\d\d)(T\d\d:\d\d:\d\d(?:\.\d+)?Z)?")
#: keys whose non-empty values are generated (tokens, hashes) and replaced by a placeholder.
GENERATED = ("token", "verificationHash", "nextPageToken", "activation_token")


def _recent_day(text: str) -> bool:
    match = _STAMP_RE.fullmatch(text)
    if match is None:
        return False
    try:
        day = dt.date.fromisoformat(match.group(1))
    except ValueError:
        return False
    today = dt.datetime.now(dt.timezone.utc).date()
    return abs((day - today).days) <= 1


#: ``/v1/version`` values that describe the build and host, not the protocol.
BUILD_FACTS = ("build_time", "golang", "distro")


def _measured(metric: Mapping[str, Any]) -> bool:
    """Metrics whose values are measurements (host CPU/memory, rates that depend on timing)."""
    name = str(metric.get("metric", ""))
    return name.startswith("ams_node.") or name.endswith("_rate")


def normalise(value: Any, keys: Sequence[str] = (), key: str = "", parent: str = "") -> Any:
    """Replace what varies between two correct servers: uuid4s, generated tokens/hashes
    (``keys`` adds more), timestamps of today, page tokens, measured metric values
    and the build facts of ``/v1/version``."""
    if isinstance(value, dict):
        if _measured(value):
            value = {**value, "timeseries": [
                {**point, "value": "<measured>"}
                for point in value.get("timeseries", [])]}
        if "compiler" in value and "os" in value:
            value = {k: (f"<{k}>" if k in BUILD_FACTS and isinstance(v, str) else v)
                     for k, v in value.items()}
        return {k: normalise(v, keys, k, key) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, keys, key, parent) for v in value]
    if isinstance(value, str):
        if value and (key in GENERATED or key in keys
                      or (parent == "authorizationHeader" and key == "value")):
            return f"<{key}>"
        if _recent_day(value):
            return "<now>" if "T" in value else "<today>"
        return _UUID_RE.sub("<uuid>", value)
    return value


def diff(oracle: Any, emulator: Any, path: str = "") -> List[str]:
    """Differences between two JSON values, key order included, as ``path: a != b`` lines."""
    if isinstance(oracle, dict) and isinstance(emulator, dict):
        out: List[str] = []
        for k in oracle:
            if k not in emulator:
                out.append(f"{path}.{k}: missing in emulator (oracle {oracle[k]!r})")
            else:
                out += diff(oracle[k], emulator[k], f"{path}.{k}")
        for k in emulator:
            if k not in oracle:
                out.append(f"{path}.{k}: extra in emulator ({emulator[k]!r})")
        common_o = [k for k in oracle if k in emulator]
        common_e = [k for k in emulator if k in oracle]
        if not out and common_o != common_e:
            out.append(f"{path}: key order {common_o} != {common_e}")
        return out
    if isinstance(oracle, list) and isinstance(emulator, list):
        if len(oracle) != len(emulator):
            return [f"{path}: {len(oracle)} items != {len(emulator)}: {oracle!r} != {emulator!r}"]
        out = []
        for i, (a, b) in enumerate(zip(oracle, emulator)):
            out += diff(a, b, f"{path}.{i}")
        return out
    if type(oracle) is not type(emulator) or oracle != emulator:
        return [f"{path}: {oracle!r} != {emulator!r}"]
    return []


_TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?')


def layout(text: str) -> str:
    """A JSON text with every string and number replaced by ``S``/``N``: its indentation,
    spacing and structure (the values are compared field by field)."""
    return _TOKEN_RE.sub(lambda m: "S" if m.group(0).startswith('"') else "N", text)


def _numbers(text: str) -> List[str]:
    return [m.group(0) for m in _TOKEN_RE.finditer(text) if not m.group(0).startswith('"')]


def _allowed(path: str, patterns: Sequence[str]) -> bool:
    parts = path.strip(".").split(".")
    for pattern in patterns:
        pp = pattern.split(".")
        if len(pp) <= len(parts) and all(p in ("*", q) for p, q in zip(pp, parts)):
            return True
    return False


def compare(step: Step, oracle: Answer, emulator: Answer, keys: Sequence[str],
            allowed: Sequence[str]) -> Tuple[List[str], List[str]]:
    """The differences between the two answers to ``step``: ``(problems, allowed ones)``."""
    found: List[str] = []
    if oracle.status != emulator.status:
        found.append(f"status: {oracle.status} != {emulator.status}")
    if oracle.content_type != emulator.content_type:
        found.append(f"content-type: {oracle.content_type!r} != {emulator.content_type!r}")
    for header in step.headers:
        a, b = oracle.headers.get(header.lower()), emulator.headers.get(header.lower())
        if a != b:
            found.append(f"header {header}: {a!r} != {b!r}")
    found += diff(normalise(oracle.body, keys), normalise(emulator.body, keys), "body")
    if not isinstance(oracle.body, str) and not isinstance(emulator.body, str) and \
            layout(oracle.raw) != layout(emulator.raw):
        found.append(f"layout: {layout(oracle.raw)!r} != {layout(emulator.raw)!r}")
    elif not isinstance(oracle.body, str):
        found += [f"layout: number {a} != {b}" for a, b in zip(_numbers(oracle.raw),
                                                                 _numbers(emulator.raw))
                  if a != b and float(a) == float(b)]  # same value, not printed as Go does
    problems = [line for line in found if not _allowed(line.split(":", 1)[0], allowed)]
    return problems, [line for line in found if line not in problems]


def run_case(item: Case, oracle: Server, emulator: Server) -> Tuple[List[str], List[str]]:
    """Run every step on both servers; return ``(differences, allowed differences)``, each
    line prefixed by its step."""
    oracle.vars.clear()
    emulator.vars.clear()
    allowed = ALLOWED[item.name].paths if item.name in ALLOWED else ()
    problems: List[str] = []
    kept: List[str] = []
    for index, step in enumerate(item.steps):
        if step.wait:
            time.sleep(step.wait)
        a = oracle.send(step)
        b = emulator.send(step)
        if step.compare:
            bad, fine = compare(step, a, b, item.normalise, allowed)
            problems += [f"step {index} {step.method} {step.path}: {p}" for p in bad]
            kept += [f"step {index} {step.method} {step.path}: {p}" for p in fine]
    return problems, kept


def route_of(method: str, path: str) -> Optional[str]:
    """The route id a request reaches (the first route matching path and method), or None."""
    if not path.startswith("/v1/"):
        return None
    bare = _fill(path.split("?", 1)[0], {})[3:]
    bare = re.sub(r"\{\w+\}", "x", bare)
    for route in ROUTES:
        if route.method == method and route.regex.fullmatch(bare):
            return route.route_id
    return None
