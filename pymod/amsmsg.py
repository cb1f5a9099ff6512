"""AmsMessage: one AMS message, with Base64 handling of its payload."""

from __future__ import annotations

import binascii
import re
from base64 import b64decode
from binascii import b2a_base64
from typing import Any, Dict, Mapping, Optional, Union

from pymod.amsexceptions import AmsMessageException, AmsResponseException, malformed_reply

__all__ = ["AmsMessage", "check_attributes", "wire_message"]

Data = Union[str, bytes, bytearray, memoryview]


def check_attributes(attributes: object) -> Dict[str, str]:
    """Return ``attributes`` as a ``dict[str, str]``.

    ``None`` and ``""`` mean no attributes.

    Raises:
        AmsMessageException: not a mapping, or a key or value is not a ``str``, or contains ``"``,
            ``\\`` or a control character (AMS stores attributes unescaped and such a message could
            never be pulled again).
    """
    if type(attributes) is dict:  # the usual case, checked in one pass
        for key, value in attributes.items():
            if type(key) is not str or type(value) is not str or _unsafe(key) or _unsafe(value):
                break  # the checks below say what is wrong
        else:
            return attributes.copy()
    if attributes is None or attributes == "":
        return {}
    if type(attributes) is not dict and not isinstance(attributes, Mapping):
        raise AmsMessageException(
            f"attributes must be a dict of str to str, got {type(attributes).__name__}"
        )
    for key, value in attributes.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise AmsMessageException(
                f"attribute {key!r}: keys and values must be str, got "
                f"{type(key).__name__} -> {type(value).__name__}"
            )
        if _needs_escaping(key) or _needs_escaping(value):
            raise AmsMessageException(
                f"attribute {key!r}: '\"', '\\\\' and control characters are not allowed in "
                "attribute keys or values"
            )
    return dict(attributes)


# '"', '\\' and the control characters U+0000..U+001F. One regex search instead of a Python loop
# over the characters: AmsMessage() with one attribute went from 5.5 to 2.4 us (benchmarks/README.md).
_NEEDS_ESCAPING = re.compile(r'["\\\x00-\x1f]')


_unsafe = _NEEDS_ESCAPING.search


def _needs_escaping(text: str) -> bool:
    return _unsafe(text) is not None


def _encode(data: Data) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    elif not isinstance(data, (bytes, bytearray, memoryview)):
        raise AmsMessageException(f"data must be str or bytes, got {type(data).__name__}")
    return b2a_base64(data, newline=False).decode("ascii")  # = b64encode(), one call less


class AmsMessage:
    """One message: ``data`` (Base64 on the wire) and string ``attributes``.

    Args:
        b64enc: True (publishing): ``data`` is the raw payload and is Base64-encoded here.
            False (pulled messages): ``data`` is already the Base64 text from the wire.
        attributes: ``dict[str, str]``; ``''`` or ``None`` means none (stored as ``{}``).
        data: the payload: ``str`` (encoded as UTF-8) or ``bytes``; None for no data.
        messageId: the id given by AMS (the message's offset, as a decimal string).
        publishTime: the publish time given by AMS (``YYYY-MM-DDTHH:MM:SS[.fffffffff]Z``).

    Raises:
        AmsMessageException: ``data`` is neither str nor bytes, or ``attributes`` is not a
            ``dict[str, str]``.

    Example::

        msg = AmsMessage(data="disk full on node7", attributes={"host": "node7"})
        ams.publish("alerts", msg)

    Calling the object builds the wire form (``{"attributes": ..., "data": ...}``), as
    ``msg(data=..., attributes=...)``.
    """

    __slots__ = ("_attributes", "_data", "_b64enc", "_messageId", "_publishTime")

    def __init__(
        self,
        b64enc: bool = True,
        attributes: Union[Mapping[str, str], str, None] = "",
        data: Optional[Data] = None,
        messageId: str = "",
        publishTime: str = "",
    ) -> None:
        self._attributes: Dict[str, str] = check_attributes(attributes)
        self._messageId = messageId
        self._publishTime = publishTime
        self._b64enc = b64enc
        self._data: Optional[str] = None
        self.set_data(data, b64enc)

    @classmethod
    def _from_wire(cls, message: Mapping[str, Any]) -> AmsMessage:
        """A pulled message from its wire form; only the JSON types are checked (the Base64
        text is decoded by :meth:`get_data`).

        Raises:
            AmsResponseException: ``message`` is not an object, or ``data``, ``messageId`` or
                ``publishTime`` is not a string, or ``attributes`` not an object of strings.
        """
        if type(message) is not dict:
            raise _bad_pulled("the message is not an object")
        get = message.get
        attributes = get("attributes") or {}
        data = get("data")
        message_id = get("messageId", "")
        publish_time = get("publishTime", "")
        # one test for the usual case (checked per pulled message: kept cheap)
        if not (
            (type(data) is str or data is None)
            and type(message_id) is str
            and type(publish_time) is str
            and type(attributes) is dict
        ):
            raise _bad_pulled(
                "its 'data', 'messageId' or 'publishTime' is not a string, or its "
                "'attributes' not an object"
            )
        for key, value in attributes.items():
            if type(key) is not str or type(value) is not str:
                raise _bad_pulled("its 'attributes' is not an object of strings")
        obj = cls.__new__(cls)
        obj._attributes = attributes
        obj._data = data
        obj._b64enc = False
        obj._messageId = message_id
        obj._publishTime = publish_time
        return obj

    def __call__(self, **kwargs: Any) -> Dict[str, Any]:
        """Set ``data`` (and ``attributes``, ``b64enc``) from keywords and return the wire form."""
        if "attributes" in kwargs:
            self._attributes = check_attributes(kwargs["attributes"])
        self.set_data(kwargs.get("data", ""), kwargs.get("b64enc", True))
        return self.dict()

    def set_attr(self, key: str, value: str) -> None:
        """Set attribute ``key`` to ``value`` (both str).

        Raises:
            AmsMessageException: key or value is not an acceptable str.
        """
        self._attributes.update(check_attributes({key: value}))

    def set_data(self, data: Optional[Data], b64enc: bool = True) -> None:
        """Set the payload.

        Args:
            data: raw payload (str or bytes) when ``b64enc`` is True; the Base64 text otherwise.
            b64enc: whether to Base64-encode ``data`` here.

        Raises:
            AmsMessageException: ``data`` is not str or bytes.
        """
        self._b64enc = b64enc
        if data is None:
            self._data = None
        elif b64enc:
            self._data = _encode(data)
        elif isinstance(data, str):
            self._data = data
        elif isinstance(data, (bytes, bytearray)):
            self._data = bytes(data).decode("ascii", "replace")
        else:
            raise AmsMessageException(f"data must be str or bytes, got {type(data).__name__}")

    def get_data(self) -> Optional[bytes]:
        """The payload, Base64-decoded (``bytes``), or None if the message has no data.

        Raises:
            AmsMessageException: the data is not valid Base64.
        """
        if self._data is None:
            return None
        try:
            return b64decode(self._data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise AmsMessageException(f"b64decode() {exc}") from exc

    def get_msgid(self) -> str:
        """The message id given by AMS (``""`` for a message not yet published)."""
        return self._messageId

    def get_publishtime(self) -> str:
        """The publish time given by AMS (``""`` for a message not yet published)."""
        return self._publishTime

    def get_attr(self, key: Optional[str] = None) -> Union[Dict[str, str], str, None]:
        """All attributes (``dict``), or the value of ``key`` (None if absent)."""
        if key is None:
            return self._attributes
        return self._attributes.get(key)

    @property
    def attributes(self) -> Dict[str, str]:
        """The attributes (a live ``dict``)."""
        return self._attributes

    @property
    def data_b64(self) -> Optional[str]:
        """The payload as the Base64 text sent on the wire."""
        return self._data

    def dict(self) -> Dict[str, Any]:
        """The wire form sent by publish: ``{"attributes": {...}, "data": "<base64>"}``."""
        out: Dict[str, Any] = {"attributes": self._attributes}
        if self._data is not None:
            out["data"] = self._data
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AmsMessage):
            return NotImplemented
        return (self._data, self._attributes, self._messageId) == (
            other._data,
            other._attributes,
            other._messageId,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        data = self._data or ""
        shown = data if len(data) <= 40 else data[:37] + "..."
        ident = f"messageId={self._messageId!r}, " if self._messageId else ""
        return f"AmsMessage({ident}attributes={self._attributes!r}, data={shown!r})"


def _bad_pulled(what: str) -> AmsResponseException:
    return malformed_reply("subscriptions:pull", f"malformed pulled message: {what}")


def wire_message(msg: object) -> Dict[str, Any]:
    """The wire form of one message given to publish.

    Accepts an :class:`AmsMessage` or a ``dict`` with ``data`` (a ``str``, already Base64-encoded)
    and/or ``attributes`` (``dict[str, str]``).

    Raises:
        AmsMessageException: anything else, or a dict with neither key, or wrong types.
    """
    if isinstance(msg, AmsMessage):
        return _check_not_empty(msg.dict())
    if not isinstance(msg, Mapping):
        raise AmsMessageException(
            f"a message must be an AmsMessage or a dict, got {type(msg).__name__}"
        )
    if "data" not in msg and "attributes" not in msg:
        raise AmsMessageException("a message dict needs 'data' and/or 'attributes'")
    data = msg.get("data")
    if data is not None and not isinstance(data, str):
        raise AmsMessageException(
            f"message 'data' must be a Base64 str, got {type(data).__name__}; use AmsMessage "
            "to encode raw payloads"
        )
    out: Dict[str, Any] = {"attributes": check_attributes(msg.get("attributes"))}
    if data is not None:
        out["data"] = data
    return _check_not_empty(out)


def _check_not_empty(wire: Dict[str, Any]) -> Dict[str, Any]:
    if "data" not in wire and not wire["attributes"]:
        raise AmsMessageException("a message needs data and/or at least one attribute")
    return wire
