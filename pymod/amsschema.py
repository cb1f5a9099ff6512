"""AmsSchema: a schema of the client's project, bound to a client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

if TYPE_CHECKING:
    from pymod.ams import ArgoMessagingService
    from pymod.types import Schema

__all__ = ["AmsSchema"]


class AmsSchema:
    """A schema that topics can validate published messages against.

    Get one with :meth:`ArgoMessagingService.schema`; its methods delegate to the client with this
    schema's name and take the same ``**reqkwargs``.

    Args:
        data: the schema object as AMS returns it (``uuid``, ``name``
            ``projects/P/schemas/S``, ``type``, ``schema``).
        init: the client.

    Attributes:
        name (str): the short name; fullname (str): ``projects/P/schemas/S``; uuid (str);
        type (str): ``"json"`` or ``"avro"``; schema (dict): the schema document.
    """

    def __init__(self, data: Mapping[str, Any], init: ArgoMessagingService) -> None:
        self.init = init
        self._load(data)

    def _load(self, data: Mapping[str, Any]) -> None:
        self.fullname: str = str(data.get("name", ""))
        self.name: str = self.fullname.rsplit("/", 1)[-1]
        self.uuid: str = str(data.get("uuid", ""))
        self.type: str = str(data.get("type", ""))
        self.schema: Dict[str, Any] = dict(data.get("schema") or {})

    def __repr__(self) -> str:
        return f"AmsSchema({self.fullname!r}, type={self.type!r})"

    def validate(self, message: Mapping[str, Any], **reqkwargs: Any) -> Dict[str, Any]:
        """Check ``message`` against the schema (``POST ...schemas/{schema}:validate``); see
        :meth:`ArgoMessagingService.validate_schema_message`."""
        return dict(self.init.validate_schema_message(self.name, message, **reqkwargs))

    def update(
        self,
        new_name: Optional[str] = None,
        schema_type: Optional[str] = None,
        schema: Optional[Mapping[str, Any]] = None,
        **reqkwargs: Any,
    ) -> AmsSchema:
        """Change the name, type and/or document (``PUT .../schemas/{schema}``); this object
        takes the new values. Returns self."""
        updated: Schema = self.init.update_schema(self.name, new_name, schema_type, schema,
                                                  **reqkwargs)
        self._load(updated)
        return self

    def attach(self, topic: str, **reqkwargs: Any) -> None:
        """Validate every future publish to ``topic`` against this schema
        (``POST .../topics/{topic}:attachSchema``)."""
        self.init.attachschema_topic(topic, self.fullname, **reqkwargs)

    def delete(self, **reqkwargs: Any) -> None:
        """Delete the schema; topics using it are detached (``DELETE .../schemas/{schema}``)."""
        self.init.delete_schema(self.name, **reqkwargs)
