"""The one decision "may this request bypass ``requests``?".

The client's own session normally sends straight to its adapter's urllib3 connection pool
(:meth:`pymod.transport.AmsHttpRequests._exchange`), skipping ``Session.request`` and
``HTTPAdapter.send``. HTTP mocking libraries hook exactly those layers:

* httmock and requests-mock replace ``requests.Session.send`` (requests-mock also
  ``Session.get_adapter``, to hand out its own adapter);
* responses patches ``requests.adapters.HTTPAdapter.send``;
* ``unittest.mock.patch`` may replace ``requests.Session.request``/``send``,
  ``requests.adapters.HTTPAdapter.send``, or the module functions ``requests.get`` ... that the
  original argo-ams-library called;
* any of them may be set on the session or adapter *instance* instead of the class.

So the direct path is taken only when every one of those is the object ``requests`` defined
(captured when this module is imported) and the session and adapter are the client's own, of the
exact classes it created. Anything else goes through ``requests`` as the original library did, so
the mock sees the request.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import requests
import requests.adapters

__all__ = ["may_bypass_requests", "patched_module_function", "trust_adapter_class"]

_Session = requests.Session
_HTTPAdapter = requests.adapters.HTTPAdapter
_SESSION_DICT = _Session.__dict__
_ADAPTER_DICT = _HTTPAdapter.__dict__
_MODULE_DICT = vars(requests)

#: adapter classes whose ``send`` is ``HTTPAdapter.send`` unchanged (see trust_adapter_class)
_TRUSTED_ADAPTERS = {_HTTPAdapter}

#: The hooks on a session a mocking library may replace (on the class or on the instance).
_SESSION_HOOKS = ("request", "send", "get_adapter", "prepare_request")
#: The module-level functions of requests, which the original library called for every request.
_MODULE_FUNCTIONS = {name: _MODULE_DICT[name] for name in ("get", "post", "put", "delete", "request")}
#: (namespace, name, the original object) for every hook, checked on each request.
_HOOKS = tuple(
    [(_SESSION_DICT, name, _SESSION_DICT[name]) for name in _SESSION_HOOKS]
    + [(_ADAPTER_DICT, "send", _ADAPTER_DICT["send"])]
    + [(_MODULE_DICT, name, fn) for name, fn in _MODULE_FUNCTIONS.items()]
)


def trust_adapter_class(cls: type) -> type:
    """Register ``cls``, a subclass of :class:`requests.adapters.HTTPAdapter` of pymod's own that
    leaves ``send`` alone (it only changes the connection pools), as one the direct path may use.
    Usable as a class decorator."""
    if not issubclass(cls, _HTTPAdapter) or "send" in cls.__dict__:
        raise TypeError(f"{cls.__name__} must be an HTTPAdapter that does not override send")
    _TRUSTED_ADAPTERS.add(cls)
    return cls


def may_bypass_requests(session: Any, adapter: Any, session_class: type) -> bool:
    """Whether a request of ``session`` through ``adapter`` may skip ``requests``.

    Args:
        session: the client's session.
        adapter: the adapter ``session`` would use for the URL.
        session_class: the exact class the client created ``session`` with (a subclass of
            :class:`requests.Session` that defines none of the hooks itself).

    Returns:
        True only if ``session`` is of ``session_class`` and ``adapter`` an
        :class:`~requests.adapters.HTTPAdapter` (exactly, or a class registered with
        :func:`trust_adapter_class`), neither they nor ``session_class``
        have a hook replaced, and ``Session.request``/``send``/``get_adapter``/``prepare_request``,
        ``HTTPAdapter.send`` and ``requests.get``/``post``/``put``/``delete``/``request`` are all
        the objects ``requests`` defined. False as soon as any of them was patched. About 1 us.
    """
    if type(session) is not session_class or type(adapter) not in _TRUSTED_ADAPTERS:
        return False
    own, mine = session.__dict__, session_class.__dict__
    for name in _SESSION_HOOKS:
        if name in own or name in mine:
            return False
    if "send" in adapter.__dict__:
        return False
    for namespace, name, original in _HOOKS:  # noqa: SIM110 - a loop: no generator per request
        if namespace.get(name) is not original:
            return False
    return True


def patched_module_function(method: str) -> Optional[Callable[..., Any]]:
    """``requests.get``/``post``/``put``/``delete`` for ``method`` if a test replaced it (as
    ``mock.patch("requests.post")`` does for code written against the original library), else
    None."""
    name = method.lower()
    original = _MODULE_FUNCTIONS.get(name)
    current = getattr(requests, name, None)
    if original is None or current is original:
        return None
    return current
