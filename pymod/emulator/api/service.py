"""Service operations (spec 10): node metrics, VA metrics, usage report, status, version."""

from __future__ import annotations

import datetime as dt
import functools
import os
import platform
import re
import socket
import sys
from collections.abc import Sequence
from typing import Any, Optional

from starlette.responses import Response

from pymod.emulator.api.context import (
    Ctx,
    ServiceBase,
    json_response,
    metric,
)
from pymod.emulator.errors import (
    AmsError,
    forbidden,
    invalid,
    unauthorized,
)
from pymod.emulator.formatting import fmt_seconds, go_float
from pymod.emulator.roles import (
    ADMIN_VIEWER,
    PROJECT_ADMIN,
    SERVICE_ADMIN,
)
from pymod.emulator.store import (
    Project,
)


class ServiceOps(ServiceBase):
    """Routes ``ams:*``, ``users:usageReport`` and ``version:list``."""

    async def op_ams_metrics(self, ctx: Ctx) -> Response:
        """``GET /v1/metrics`` (spec 10.1)."""
        return json_response({"metrics": self._node_metrics()}, floats=True)

    def _node_metrics(self) -> list[dict[str, Any]]:
        now = fmt_seconds(self.store.now_s())
        host = socket.gethostname()
        cpu, memory = _node_usage()
        return [metric("ams_node.cpu_usage", "ams_node", host, [(now, cpu)]),
                metric("ams_node.memory_usage", "ams_node", host, [(now, memory)])]

    async def op_ams_vaMetrics(self, ctx: Ctx) -> Response:
        """``GET /v1/metrics/va_metrics`` (spec 10.3)."""
        start, end = _report_period(ctx.query, self._today())
        names = ctx.query.get("projects", "")
        projects = self._report_projects(names)
        return json_response(self._va_report(projects, start, end, count_users=not names), "1", floats=True)

    async def op_users_usageReport(self, ctx: Ctx) -> Response:
        """``GET /v1/users/usageReport`` (spec 10.4)."""
        caller = self.store.user_by_token(ctx.token) if ctx.token else None
        if caller is None:
            raise unauthorized()
        start, end = _report_period(ctx.query, self._today())
        names = ctx.query.get("projects", "")
        wanted = names.split(",") if names else None  # unknown names are simply not matched
        projects = [p for p in (self.store.project_by_id(m.project_id)
                                for m in self.store.memberships(caller.id)
                                if PROJECT_ADMIN in (m.roles or []))
                    if p is not None and (wanted is None or p.name in wanted)]
        if not projects:
            return json_response({"va_metrics": self._va_report([], start, end),
                                  "operational_metrics": {"metrics": []}}, floats=True)
        return json_response({"va_metrics": self._va_report(projects, start, end),
                              "operational_metrics": {"metrics": self._node_metrics()}}, floats=True)

    def _today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.store.now_s(), dt.timezone.utc).date()

    def _report_projects(self, names: str) -> list[Project]:
        if not names:
            return self.store.list_projects()
        projects: list[Project] = []
        for name in names.split(","):
            project = self.store.project_by_name(name)
            if project is None:
                raise AmsError(404, "NOT_FOUND", f"Project {name} doesn't exist")
            projects.append(project)
        return projects

    def _va_report(self, projects: Sequence[Project], start: dt.date, end: dt.date,
                   count_users: bool = False) -> dict[str, Any]:
        """The VA report. ``users_count`` is only counted without a project filter
        (``count_users``): the real server's query then matches nothing (a server bug)."""
        days = (end - start).days + 1
        first = int(dt.datetime(start.year, start.month, start.day,
                                tzinfo=dt.timezone.utc).timestamp())
        last = int(dt.datetime(end.year, end.month, end.day, 23, 59, 59,
                               tzinfo=dt.timezone.utc).timestamp())
        entries: list[dict[str, Any]] = []
        for project in projects:
            counts = [count for day, count in self.store.daily_counts(project.id)
                      if start.isoformat() <= day <= end.isoformat()]
            if not counts:
                continue
            message_count = sum(counts)
            entries.append({
                "project": project.name,
                "message_count": message_count,
                "average_daily_messages": go_float(-(-message_count * 100 // days) / 100),
                "topics_count": self.store.count_created("topics", project.id, first, last),
                "subscriptions_count": self.store.count_created("subscriptions", project.id,
                                                                first, last),
                "users_count": self.store.count_created("members", project.id, first, last)
                if count_users else 0,
            })
        return {
            "projects_metrics": {
                "projects": entries,
                "total_message_count": sum(e["message_count"] for e in entries),
                "average_daily_messages": go_float(
                    round(sum(e["average_daily_messages"] for e in entries), 2)),
            },
            "total_users_count": sum(e["users_count"] for e in entries),
            "total_topics_count": sum(e["topics_count"] for e in entries),
            "total_subscriptions_count": sum(e["subscriptions_count"] for e in entries),
        }

    # ------------------------------------------------------------------ status and version

    def _is_operator(self, token: str) -> Optional[bool]:
        """``None`` for an unknown token, else whether it holds service_admin/admin_viewer."""
        user = self.store.user_by_token(token) if token else None
        if user is None:
            return None
        return bool({SERVICE_ADMIN, ADMIN_VIEWER} & set(user.service_roles or []))

    async def op_ams_healthStatus(self, ctx: Ctx) -> Response:
        """``GET /v1/status`` (spec 10.2)."""
        if ctx.query.get("details") == "true":
            operator = self._is_operator(ctx.token)
            if operator is None:
                raise forbidden()
            if not operator:
                raise unauthorized()
        if not self.push_enabled:
            return json_response({"status": "ok", "push_functionality": "disabled"}, "1")
        worker = self.store.user_by_name(self.push_worker_name)
        return json_response({
            "status": "ok" if worker is not None else "warning",
            "push_servers": [{"endpoint": self.push_server_endpoint,
                              "status": self.push_server_status}],
        }, "1")

    async def op_version_list(self, ctx: Ctx) -> Response:
        """``GET /v1/version`` (spec 10.5)."""
        body: dict[str, Any] = {
            "build_time": "2024-04-30T12:00:00Z",
            "golang": "go1.21.9",
            "compiler": "gc",
            "os": sys.platform if sys.platform != "win32" else "windows",
            "architecture": _GO_ARCH.get(platform.machine().lower(), platform.machine().lower()),
        }
        if self._is_operator(ctx.token):
            body["release"] = RELEASE
        body["distro"] = _distro()
        return json_response(body, "1")



def _parse_day(text: str, message: str) -> dt.date:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) is None:
        raise invalid(message)
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise invalid(message) from exc


def _report_period(query: dict[str, str], today: dt.date) -> tuple[dt.date, dt.date]:
    """``start_date``/``end_date`` of the VA and usage reports (spec 10.3)."""
    start = dt.date(1970, 1, 1)
    end = today
    if query.get("start_date"):
        start = _parse_day(query["start_date"], "Start date is not in valid format")
    if query.get("end_date"):
        end = _parse_day(query["end_date"], "End date is not in valid format")
    if start > end:
        raise invalid("Start date cannot be after the end date")
    return start, end



def _node_usage() -> tuple[float, float]:
    """CPU (load average per core) and memory (peak RSS) usage of this node, in percent."""
    try:
        import resource

        cpu = min(100.0, round(100 * os.getloadavg()[0] / (os.cpu_count() or 1), 1))
        total_kb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024
        rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return cpu, round(100 * rss_kb / total_kb, 1)
    except (ImportError, ValueError, OSError, AttributeError):
        return 0.0, 0.0


_GO_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
#: The ``release`` shown by ``/v1/version`` to operators.
RELEASE = "1.7.0"




@functools.lru_cache(maxsize=1)
def _distro() -> str:
    """The host's distribution as the real server finds it (``/etc/redhat-release`` or
    ``lsb_release -ds``, here read from ``/etc/os-release``); ``""`` when unknown."""
    if not sys.platform.startswith("linux"):
        return ""
    for path, key in (("/etc/redhat-release", None), ("/etc/os-release", "PRETTY_NAME=")):
        try:
            with open(path, encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        except OSError:
            continue
        if key is None:
            return lines[0] if lines else ""
        for line in lines:
            if line.startswith(key):
                return line[len(key):].strip().strip('"')
    return ""
