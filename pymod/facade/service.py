"""Schemas and the operational routes (status, version, metrics, reports)."""

from __future__ import annotations

import datetime
from typing import Any, Dict, List, Literal, Mapping, Optional, Union, overload

from pymod.amsexceptions import AmsArgumentException
from pymod.amsschema import AmsSchema
from pymod.facade.base import FacadeBase, JSONDict, check_str_list, iso_date
from pymod.routes import validate_name
from pymod.types import MessageReply, MetricList, Schema, Status, UsageReport, VaReport, Version

__all__ = ["ServiceAPI"]

_SCHEMA_TYPES = ("json", "avro")


def _check_schema_type(schema_type: str) -> str:
    if not isinstance(schema_type, str) or schema_type.lower() not in _SCHEMA_TYPES:
        raise AmsArgumentException(f"schema_type must be 'json' or 'avro', got {schema_type!r}")
    return schema_type.lower()


def _check_document(name: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise AmsArgumentException(f"{name} must be a dict (a JSON object), got {type(value).__name__}")
    return value


class ServiceAPI(FacadeBase):
    """Schema and operational methods of :class:`~pymod.ams.ArgoMessagingService`."""

    # ---- schemas ---------------------------------------------------------------------------
    def create_schema(
        self, name: str, schema_type: str, schema: Mapping[str, Any], **reqkwargs: Any
    ) -> Schema:
        """Create schema ``name`` (``POST /v1/projects/{project}/schemas/{schema}``).

        Args:
            name: the schema name.
            schema_type: ``"json"`` (JSON Schema) or ``"avro"`` (an Avro record schema).
            schema: the schema document (a dict).

        Returns:
            ``{"uuid", "name": "projects/P/schemas/S", "type", "schema"}``.

        Raises:
            AmsServiceException: 409 exists, 400 the document does not compile.
        """
        body = {"type": _check_schema_type(schema_type),
                "schema": _check_document("schema", schema)}
        result: Schema = self._call("schemas:create", body, params=self._p(schema=name),
                                      **reqkwargs)
        return result

    @overload
    def get_schema(self, name: str, retobj: Literal[False] = ..., **reqkwargs: Any) -> Schema: ...

    @overload
    def get_schema(self, name: str, retobj: Literal[True], **reqkwargs: Any) -> AmsSchema: ...

    def get_schema(
        self, name: str, retobj: bool = False, **reqkwargs: Any
    ) -> Union[Schema, AmsSchema]:
        """Schema ``name`` (``GET /v1/projects/{project}/schemas/{schema}``).

        Args:
            retobj: return an :class:`~pymod.amsschema.AmsSchema` instead of the JSON object.

        Raises:
            AmsServiceException: 404 if it does not exist.
        """
        result: Schema = self._call("schemas:show", params=self._p(schema=name), **reqkwargs)
        return AmsSchema(result, init=self) if retobj else result  # type: ignore[arg-type]

    def list_schemas(self, **reqkwargs: Any) -> List[Schema]:
        """The project's schemas (``GET /v1/projects/{project}/schemas``), as a list."""
        reply = self._call("schemas:list", params=self._p(), **reqkwargs)
        return list(reply.get("schemas") or [])

    def update_schema(
        self,
        name: str,
        new_name: Optional[str] = None,
        schema_type: Optional[str] = None,
        schema: Optional[Mapping[str, Any]] = None,
        **reqkwargs: Any,
    ) -> Schema:
        """Change schema ``name``'s name, type and/or document
        (``PUT /v1/projects/{project}/schemas/{schema}``). Returns the updated schema."""
        body: Dict[str, Any] = {}
        if new_name is not None:
            body["name"] = f"projects/{self._project_or_default(None)}/schemas/" + validate_name(
                "schema", new_name
            )
        if schema_type is not None:
            body["type"] = _check_schema_type(schema_type)
        if schema is not None:
            body["schema"] = _check_document("schema", schema)
        result: Schema = self._call("schemas:update", body, params=self._p(schema=name),
                                      **reqkwargs)
        return result

    def delete_schema(self, name: str, **reqkwargs: Any) -> JSONDict:
        """Delete schema ``name``; topics using it are detached
        (``DELETE /v1/projects/{project}/schemas/{schema}``). ``{}``."""
        result: JSONDict = self._call("schemas:delete", params=self._p(schema=name), **reqkwargs)
        return result

    def validate_schema_message(
        self, name: str, message: Mapping[str, Any], **reqkwargs: Any
    ) -> MessageReply:
        """Check ``message`` against schema ``name``
        (``POST /v1/projects/{project}/schemas/{schema}:validate``).

        Args:
            message: for a JSON schema, the document itself; for an AVRO schema,
                ``{"data": "<Base64 of the Avro binary encoding>"}``.

        Returns:
            ``{"message": "Message validated successfully"}``.

        Raises:
            AmsServiceException: 400 with the validation error.
        """
        result: MessageReply = self._call("schemas:validateMessage",
                                      _check_document("message", message),
                                      params=self._p(schema=name), **reqkwargs)
        return result

    # ---- operations ------------------------------------------------------------------------
    def status(self, details: bool = False, **reqkwargs: Any) -> Status:
        """Health of the service (``GET /v1/status``; ``details=True`` needs an admin token).

        Returns:
            ``{"status": "ok", "push_servers"?: [...], "push_functionality"?: str}``.
        """
        query = {"details": "true"} if details else None
        result: Status = self._call("ams:healthStatus", query=query, params={}, **reqkwargs)
        return result

    def version(self, **reqkwargs: Any) -> Version:
        """Build information of the service (``GET /v1/version``)."""
        result: Version = self._call("version:list", params={}, **reqkwargs)
        return result

    def metrics(self, **reqkwargs: Any) -> MetricList:
        """Operational metrics of the service nodes (``GET /v1/metrics``): ``{"metrics": [...]}``."""
        result: MetricList = self._call("ams:metrics", params={}, **reqkwargs)
        return result

    def va_metrics(
        self,
        projects: Optional[List[str]] = None,
        start_date: Optional[datetime.date] = None,
        end_date: Optional[datetime.date] = None,
        **reqkwargs: Any,
    ) -> VaReport:
        """The VA report for ``projects`` (default: all) between two dates, inclusive
        (``GET /v1/metrics/va_metrics?projects=&start_date=&end_date=``)."""
        result: VaReport = self._call(
            "ams:vaMetrics", query=_report_query(projects, start_date, end_date), params={},
            **reqkwargs,
        )
        return result

    def usage_report(
        self,
        projects: Optional[List[str]] = None,
        start_date: Optional[datetime.date] = None,
        end_date: Optional[datetime.date] = None,
        **reqkwargs: Any,
    ) -> UsageReport:
        """The VA report and operational metrics of the projects the caller administers
        (``GET /v1/users/usageReport``): ``{"va_metrics": {...}, "operational_metrics": {...}}``."""
        result: UsageReport = self._call(
            "users:usageReport", query=_report_query(projects, start_date, end_date), params={},
            **reqkwargs,
        )
        return result


def _report_query(
    projects: Optional[List[str]], start_date: object, end_date: object
) -> Dict[str, Optional[str]]:
    return {  # in the original's order
        "start_date": iso_date("start_date", start_date),
        "end_date": iso_date("end_date", end_date),
        "projects": ",".join(check_str_list("projects", projects)) if projects else None,
    }
