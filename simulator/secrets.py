"""Every credential the simulator has handed out, so that tests can check none of them leaks.

Tokens are recorded with what they are ("access token", "refresh token", ...). The registry only
grows; `version` changes whenever something new is remembered, so a reader can cache what it
derives from `known()`.
"""

from __future__ import annotations

from typing import Final

_KNOWN: Final[dict[object, tuple[object, str]]] = {}
_state: dict[str, int] = {"version": 0}


def _identity(value: object) -> object:
    """Strings and bytes are told apart by value; anything else (a key object) by identity."""
    return value if isinstance(value, str | bytes) else ("object", id(value))


def remember(value: object, kind: str = "secret") -> None:
    """Record a credential (a string, bytes or a key object) and what kind of secret it is."""
    if value is None or value in ("", b""):
        return
    identity = _identity(value)
    if identity in _KNOWN and _KNOWN[identity][1] == kind:
        return
    _KNOWN[identity] = (value, kind)
    _state["version"] += 1


def known() -> list[tuple[object, str]]:
    """Return every credential remembered so far, with its kind, oldest first."""
    return list(_KNOWN.values())


def version() -> int:
    """Return a number that changes whenever a new credential is remembered."""
    return _state["version"]
