"""AmsMessage: one AMS message, with Base64 handling of its payload."""

from __future__ import annotations

import binascii
import json as _json
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
        try:  # what the original tried, so that the message is the same
            data = bytearray(data, "utf-8")
        except Exception as exc:
            raise AmsMessageException(f"b64encode() {exc}") from None
    return b2a_base64(data, newline=False).decode("ascii")  # = b64encode(), one call less


_NO_CONTENT = "At least data field or one attribute needs to be defined"


class AmsMessage:
    """One message: ``data`` (Base64 on the wire) and string ``attributes``.

    Args:
        b64enc: True (publishing): ``data`` is the raw payload and is Base64-encoded here.
            False (pulled messages): ``data`` is already the Base64 text from the wire.
        attributes: ``dict[str, str]``; ``''`` or ``None`` means none (stored as ``{}``).
        data: the payload: ``str`` (encoded as UTF-8) or ``bytes``; None (or empty) for no data.
        messageId: the id given by AMS (the message's offset, as a decimal string).
        publishTime: the publish time given by AMS (``YYYY-MM-DDTHH:MM:SS[.fffffffff]Z``).

    Raises:
        AmsMessageException: ``data`` is neither str nor bytes (``b64encode() ...``), or
            ``attributes`` is not a ``dict[str, str]``.

    Example::

        msg = AmsMessage(data="disk full on node7", attributes={"host": "node7"})
        ams.publish("alerts", msg)

    As in argo-ams-library, calling the object sets fields from keywords and returns
    :meth:`dict`: ``msg(data="...")`` keeps the attributes, ``msg(attributes={...})`` keeps the data,
    and ``messageId``/``publishTime`` are reset unless given.
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
        """Set fields from keywords (``data``, ``attributes``, ``messageId``, ``publishTime``)
        and return :meth:`dict`. Data and attributes that are not given are kept.

        Raises:
            AmsMessageException: as the constructor, or the message has neither data nor
                attributes.
        """
        if "attributes" in kwargs:
            self._attributes = check_attributes(kwargs["attributes"])
        self._messageId = kwargs.get("messageId", "")
        self._publishTime = kwargs.get("publishTime", "")
        self.set_data(kwargs.get("data"), kwargs.get("b64enc", True))
        return self.dict()

    def _check_content(self) -> None:
        if self._data is None and not self._attributes:
            raise AmsMessageException(_NO_CONTENT)

    def set_attr(self, key: str, value: str) -> None:
        """Set attribute ``key`` to ``value`` (both str).

        Raises:
            AmsMessageException: key or value is not an acceptable str.
        """
        self._attributes.update(check_attributes({key: value}))

    def set_data(self, data: Optional[Data], b64enc: bool = True) -> None:
        """Set the payload; None leaves the payload as it was (as the original did).

        Args:
            data: raw payload (str or bytes) when ``b64enc`` is True; the Base64 text otherwise.
            b64enc: whether to Base64-encode ``data`` here.

        Raises:
            AmsMessageException: ``data`` is not str or bytes.
        """
        if data is None:
            return
        self._b64enc = b64enc
        if b64enc:
            self._data = _encode(data)
        elif isinstance(data, str):
            self._data = data
        elif isinstance(data, (bytes, bytearray)):
            self._data = bytes(data).decode("ascii", "replace")
        else:
            raise AmsMessageException(f"data must be str or bytes, got {type(data).__name__}")

    def get_data(self) -> bytes:
        """The payload, Base64-decoded (``bytes``).

        Raises:
            AmsMessageException: the message has neither data nor attributes, has no data
                (``b64decode() ...``), or the data is not Base64.
        """
        self._check_content()
        if self._data is None:
            raise AmsMessageException("b64decode() the message has no data")
        try:
            return b64decode(self._data)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise AmsMessageException(f"b64decode() {exc}") from exc

    def get_msgid(self) -> str:
        """The message id given by AMS (``""`` for a message not yet published)."""
        return self._messageId

    def get_publishtime(self) -> str:
        """The publish time given by AMS (``""`` for a message not yet published)."""
        return self._publishTime

    def get_attr(self, key: Optional[str] = None) -> Union[Dict[str, str], str, None]:
        """All attributes (``dict``), or the value of ``key`` (None if absent).

        Raises:
            AmsMessageException: the message has neither data nor attributes.
        """
        self._check_content()
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
        """The message as publish sends it: ``attributes`` (if any), ``data`` (if any),
        ``messageId`` and ``publishTime`` (if set), in that order.

        Raises:
            AmsMessageException: the message has neither data nor attributes.
        """
        self._check_content()
        out: Dict[str, Any] = {}
        if self._attributes:
            out["attributes"] = self._attributes
        if self._data is not None:
            out["data"] = self._data
        if self._messageId:
            out["messageId"] = self._messageId
        if self._publishTime:
            out["publishTime"] = self._publishTime
        return out

    def json(self) -> str:
        """:meth:`dict` as JSON text (``json.dumps``)."""
        return _json.dumps(self.dict())

    def __str__(self) -> str:
        return str(self.dict())

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

    Accepts an :class:`AmsMessage` (its :meth:`AmsMessage.dict`) or a ``dict`` with ``data`` (a
    ``str``, already Base64-encoded) and/or ``attributes`` (``dict[str, str]``), sent with its keys
    as given, as the original sent it.

    Raises:
        AmsMessageException: anything else, or a dict with neither key, or wrong types.
    """
    if isinstance(msg, AmsMessage):
        return msg.dict()
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
    out: Dict[str, Any] = dict(msg)
    if "attributes" in out:
        out["attributes"] = check_attributes(out["attributes"])
    if data is None and not out.get("attributes"):
        raise AmsMessageException("a message needs data and/or at least one attribute")
    return out
