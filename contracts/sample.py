"""The one bounded uniform sample: a reservoir (Algorithm R) that can also be merged.

A reservoir of capacity ``k`` that has seen ``n`` items holds ``min(k, n)`` of them, each
``k``-subset equally likely. Item number ``g`` (from 0) fills slot ``g`` while the
reservoir is not full, else replaces a uniform slot ``j <= g`` when ``j < k``. Two
reservoirs of disjoint streams merge into a uniform sample of their union: the number of
items drawn from the first side is hypergeometric, then that many are taken uniformly
from each side. The recorder samples each flush interval with ``Reservoir``; the
collector keeps its windows' reservoirs in the store, slot by slot, with
``reservoir_slots``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")

_HYPERGEOMETRIC_LIMIT = 10**9
"""numpy's hypergeometric draw takes at most this many items per side."""


def reservoir_slots(
    seen: int, count: int, capacity: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Algorithm R over items ``seen .. seen+count-1``: ``(slots, batch indices)``.

    Vectorised: one random number per item, and only the items that enter the reservoir
    come back. When two items of the batch win the same slot the later one is kept, as
    in the sequential algorithm; slots come back in ascending order, so the slots not yet
    filled are appended in order.
    """
    g = np.arange(seen, seen + count, dtype=np.int64)
    j = np.where(g < capacity, g, np.floor(rng.random(count) * (g + 1)).astype(np.int64))
    chosen = np.flatnonzero(j < capacity)
    slots = j[chosen]
    _, last_from_end = np.unique(slots[::-1], return_index=True)
    keep = chosen[len(chosen) - 1 - last_from_end]
    return j[keep], keep


def merge_samples(
    first: Sequence[T],
    first_seen: int,
    second: Sequence[T],
    second_seen: int,
    *,
    capacity: int,
    rng: np.random.Generator,
) -> list[T]:
    """A uniform sample of the union of two disjoint streams, from their uniform samples.

    ``first`` is a uniform sample of the ``first_seen`` items of one stream (all of them
    when it holds that many), likewise ``second``. The result holds ``min(capacity,
    first_seen + second_seen)`` items, or fewer when a side's sampling rate cannot give
    its share of that many: at most ``len(side) / seen(side)`` of the union.

    When each side can give any split of the result (it holds at least as many items as
    the result will), the split is hypergeometric: exactly a simple random sample of the
    union. Otherwise (a pod shipping 200 rows of the 1,000 it saw into a window that keeps
    5,000) the split is proportional to the sides' streams, rounded at random: every item
    of the union is still kept with the same probability (stratified sampling), and the
    window fills up to ``capacity`` as pods ship, instead of shrinking to one pod's sample.
    """
    a, b = _pick(len(first), first_seen, len(second), second_seen, capacity=capacity, rng=rng)
    return [first[i] for i in a.tolist()] + [second[i] for i in b.tolist()]


@dataclass(frozen=True)
class SlotMerge:
    """How a stored sample (one item per slot, slots ``0..held-1``) takes in another
    sample: ``merge_samples``'s draw as writes. Apply in this order: ``delete``, then
    ``move``, then ``write``; afterwards the slots are ``0..size-1`` again."""

    delete: np.ndarray
    """Slots whose items leave the sample and are not overwritten."""
    move: tuple[tuple[int, int], ...]
    """(from, to): kept items above the new size moved down into emptied slots."""
    write: np.ndarray
    """Slots that get an incoming item (overwritten, or new), ascending."""
    take: np.ndarray
    """Indices into the incoming sample, one per ``write`` slot."""
    size: int
    """Items held afterwards."""


def merge_slots(
    held: int,
    seen: int,
    incoming: int,
    incoming_seen: int,
    *,
    capacity: int,
    rng: np.random.Generator,
) -> SlotMerge:
    """``merge_samples`` for a sample kept slot by slot in a store, without reading it.

    The stored side holds ``held`` items (slots ``0..held-1``) drawn from ``seen``; the
    incoming side ``incoming`` items drawn from ``incoming_seen``. The same draw as
    ``merge_samples`` (the split, then uniform choices on each side) decides which stored
    items stay and which incoming ones enter; the plan says which slots to delete, move
    and write so the slots stay ``0..size-1``. A writer touches only what changes (into a
    full window, about ``capacity * incoming_seen / (seen + incoming_seen)`` rows) and
    never reads the stored items.
    """
    kept, taken = _pick(held, seen, incoming, incoming_seen, capacity=capacity, rng=rng)
    size = len(kept) + len(taken)
    stays = np.zeros(max(held, size), dtype=bool)  # boolean masks: no sorting of sets
    stays[kept] = True
    high = np.flatnonzero(stays[size:held]) + size
    holes = np.flatnonzero(~stays[:size])
    move_to, write = holes[: len(high)], holes[len(high) :]
    rewritten = np.zeros(max(held, size), dtype=bool)
    rewritten[write] = True
    return SlotMerge(
        delete=np.flatnonzero(~stays[:held] & ~rewritten[:held]),
        move=tuple(zip(high.tolist(), move_to.tolist(), strict=True)),
        write=write,
        take=np.asarray(taken, dtype=np.int64),
        size=size,
    )


def _pick(
    first_len: int,
    first_seen: int,
    second_len: int,
    second_seen: int,
    *,
    capacity: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Indices kept from each side by the merge (see ``merge_samples``)."""
    for kept, seen in ((first_len, first_seen), (second_len, second_seen)):
        if kept > seen or seen < 0:
            raise ValueError(f"a sample of {kept} items cannot come from {seen} seen")
    total = first_seen + second_seen
    size = min(capacity, total)
    truncated = [(k, s) for k, s in ((first_len, first_seen), (second_len, second_seen)) if k < s]
    nothing = np.zeros(0, dtype=np.int64)
    if size <= 0:
        return nothing, nothing
    if all(size <= kept for kept, _ in truncated):  # any split fits: hypergeometric
        if max(first_seen, second_seen) < _HYPERGEOMETRIC_LIMIT:
            from_first = int(rng.hypergeometric(first_seen, second_seen, size))
        else:  # very large streams: the binomial limit of the same draw
            from_first = int(rng.binomial(size, first_seen / total))
    else:  # a side's rate bounds the union's: proportional split, randomly rounded
        rate = min([size / total, *(kept / seen for kept, seen in truncated)])
        size = min(size, int(rate * total + 1e-9))
        if size <= 0:
            return nothing, nothing
        share = size * first_seen / total
        from_first = int(share) + int(rng.random() < share - int(share))
    from_first = min(max(from_first, size - second_len), first_len)
    a = rng.choice(first_len, size=from_first, replace=False)
    b = rng.choice(second_len, size=size - from_first, replace=False)
    return a, b


class Reservoir(Generic[T]):
    """A uniform sample of at most ``capacity`` items of a stream; not thread-safe (the
    owner holds its own lock)."""

    def __init__(self, capacity: int, *, seed: int | None = None) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self.items: list[T] = []
        self.seen = 0
        self._rng = np.random.default_rng(seed)
        # The per-item path draws from Python's generator: a numpy scalar draw costs
        # about ten times more, and ``add`` runs once per prediction.
        self._random = random.Random(int(self._rng.integers(2**63)))

    def add(self, item: T) -> None:
        """Offer one item."""
        self.seen += 1
        if len(self.items) < self.capacity:
            self.items.append(item)
            return
        j = int(self._random.random() * self.seen)
        if j < self.capacity:
            self.items[j] = item

    def add_batch(self, count: int, take: Callable[[np.ndarray], Sequence[T]]) -> None:
        """Offer ``count`` items at once; ``take(indices)`` builds only the items that enter."""
        slots, index = reservoir_slots(self.seen, count, self.capacity, self._rng)
        self.seen += count
        for slot, item in zip(slots.tolist(), take(index), strict=True):
            if slot < len(self.items):
                self.items[slot] = item
            else:
                self.items.append(item)

    def take(self) -> tuple[list[T], int]:
        """Hand over the sample and how many items it was drawn from, and start afresh."""
        items, seen = self.items, self.seen
        self.items, self.seen = [], 0
        return items, seen

    def merge(self, other: Reservoir[T]) -> Reservoir[T]:
        """A new reservoir holding a uniform sample of both streams (neither is changed)."""
        items = merge_samples(
            self.items, self.seen, other.items, other.seen, capacity=self.capacity, rng=self._rng
        )
        merged: Reservoir[T] = Reservoir(self.capacity)
        merged._rng = self._rng
        merged._random = random.Random(int(self._rng.integers(2**63)))
        merged.seen = self.seen + other.seen
        merged.items = items
        if len(items) < min(self.capacity, merged.seen):
            # One side kept fewer than this capacity: going on with Algorithm R would
            # over-weight new items, so the merged reservoir stays at what it holds.
            merged.capacity = len(items)
        return merged
