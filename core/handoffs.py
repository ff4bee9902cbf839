"""Objects parts hand each other inside one process, under typed keys.

In ``inferwatch up`` the collector hands the drift engine its window store, and the
drift engine hands the collector its baselines and the actions receiver its latest
results. Core knows none of these types: a part declares a ``Handoff[P]`` key next
to the protocol ``P`` it offers, the producer ``publish``es an object under it and a
consumer ``get``s a ``P`` or None (the producer may not run in this process, or not
yet: consumers look up at use time, so start order does not matter). The key's type
parameter is what mypy checks on both sides; no string keys, no duck typing.

Example:
    >>> from typing import Protocol
    >>> class Greeter(Protocol):
    ...     def greet(self) -> str: ...
    >>> GREETER: Handoff[Greeter] = Handoff("greeter")
    >>> class English:
    ...     def greet(self) -> str:
    ...         return "hello"
    >>> handoffs = Handoffs()
    >>> handoffs.get(GREETER) is None
    True
    >>> handoffs.publish(GREETER, English())
    >>> handoffs.get(GREETER).greet()
    'hello'
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


class Handoff(Generic[T]):
    """A typed key: what one part offers the others under it (compared by identity)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name
        """For messages only; two keys with one name are still two keys."""

    def __repr__(self) -> str:
        return f"Handoff({self.name!r})"


class HandoffError(RuntimeError):
    """Two objects were published under one key (two producers in one process)."""


class Handoffs:
    """The objects published in one process, one per key."""

    def __init__(self) -> None:
        self._values: dict[Handoff[Any], object] = {}
        self._fallbacks: dict[Handoff[Any], Callable[[], object]] = {}
        self._lock = threading.Lock()

    def publish(self, key: Handoff[T], value: T) -> None:
        """Offer ``value`` under ``key``; a second, different object is refused."""
        with self._lock:
            current = self._values.get(key)
            if current is not None and current is not value:
                raise HandoffError(
                    f"{key.name!r} is already published in this process "
                    f"(by {type(current).__name__}); one producer per process"
                )
            self._values[key] = value

    def fallback(self, key: Handoff[T], build: Callable[[], T]) -> None:
        """What ``get(key)`` builds (once, on first use) when no part publishes ``key``.

        Core uses it for the readers over the shared state store: a drift engine in a
        process without a collector reads the collector's windows from the store.
        """
        with self._lock:
            self._fallbacks[key] = build

    def get(self, key: Handoff[T]) -> T | None:
        """The object published under ``key``, else its fallback's, else None."""
        # publish() and fallback() only take a T under a Handoff[T]: the value is a T.
        with self._lock:
            value = self._values.get(key)
            if value is None and key in self._fallbacks:
                value = self._values[key] = self._fallbacks.pop(key)()
            return cast("T | None", value)
