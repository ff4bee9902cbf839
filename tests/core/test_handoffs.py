"""Hand-offs between parts in one process: typed keys, one producer per key."""

from typing import Protocol

import pytest

from inferwatch.handoffs import Handoff, HandoffError, Handoffs


class Counter(Protocol):
    def count(self) -> int: ...


class Three:
    def count(self) -> int:
        return 3


COUNTER: Handoff[Counter] = Handoff("counter")


def test_a_consumer_gets_the_published_object_or_none() -> None:
    handoffs = Handoffs()
    assert handoffs.get(COUNTER) is None  # the producer does not run in this process
    three = Three()
    handoffs.publish(COUNTER, three)
    found = handoffs.get(COUNTER)
    assert found is three
    assert found.count() == 3


def test_keys_are_compared_by_identity_not_by_name() -> None:
    other: Handoff[Counter] = Handoff("counter")
    handoffs = Handoffs()
    handoffs.publish(COUNTER, Three())
    assert handoffs.get(other) is None
    assert "counter" in repr(other)


def test_a_second_producer_of_one_key_is_refused_naming_the_key() -> None:
    handoffs = Handoffs()
    first = Three()
    handoffs.publish(COUNTER, first)
    handoffs.publish(COUNTER, first)  # the same object again is harmless
    with pytest.raises(HandoffError, match=r"'counter' is already published.*Three"):
        handoffs.publish(COUNTER, Three())
    assert handoffs.get(COUNTER) is first
