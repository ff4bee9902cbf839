"""The reservoir stays a uniform sample, and merging two keeps it uniform over the union.

Statistical checks with fixed seeds: each can fail (a biased merge, say one that draws
evenly from the two samples whatever the streams' sizes, fails them by far), and with
these seeds a correct one passes; the thresholds are p < 0.001.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from inferwatch.contracts.sample import Reservoir, merge_samples, merge_slots, reservoir_slots

CAPACITY = 10
FIRST, SECOND = 30, 50
REPEATS = 4000


def merged_once(seed: int) -> list[int]:
    """Items 0..29 through the per-item path, 30..79 through the batch path, merged."""
    first: Reservoir[int] = Reservoir(CAPACITY, seed=seed)
    for item in range(FIRST):
        first.add(item)
    second: Reservoir[int] = Reservoir(CAPACITY, seed=seed + 1)
    second.add_batch(20, lambda index: [FIRST + int(i) for i in index])
    second.add_batch(SECOND - 20, lambda index: [FIRST + 20 + int(i) for i in index])
    merged = first.merge(second)
    assert merged.seen == FIRST + SECOND
    return merged.items


def test_merged_sample_includes_every_item_equally_often() -> None:
    included: Counter[int] = Counter()
    from_first = []
    for r in range(REPEATS):
        items = merged_once(2 * r)
        assert len(items) == CAPACITY and len(set(items)) == CAPACITY
        included.update(items)
        from_first.append(sum(1 for i in items if i < FIRST))
    total = FIRST + SECOND
    p = CAPACITY / total
    observed = np.array([included[i] for i in range(total)], dtype=float)
    expected = REPEATS * p
    # Inclusions are negatively correlated (a fixed sample size), which only makes this
    # chi-squared conservative.
    statistic = float(((observed - expected) ** 2 / (expected * (1 - p))).sum())
    assert stats.chi2.sf(statistic, df=total - 1) > 0.001, statistic
    # The split between the two sides is hypergeometric, as for one sample of the union.
    split = np.bincount(from_first, minlength=CAPACITY + 1)
    pmf = stats.hypergeom.pmf(np.arange(CAPACITY + 1), total, FIRST, CAPACITY)
    keep = pmf * REPEATS >= 5
    wanted = pmf[keep] * REPEATS
    got = split[keep]
    statistic = float(((got - wanted) ** 2 / wanted).sum())
    assert stats.chi2.sf(statistic, df=int(keep.sum()) - 1) > 0.001, (split, wanted)


def test_reservoir_includes_every_item_equally_often() -> None:
    included: Counter[int] = Counter()
    for r in range(REPEATS):
        reservoir: Reservoir[int] = Reservoir(CAPACITY, seed=r)
        for item in range(25):
            reservoir.add(item)
        reservoir.add_batch(35, lambda index: [25 + int(i) for i in index])
        included.update(reservoir.items)
    observed = np.array([included[i] for i in range(60)], dtype=float)
    p = CAPACITY / 60
    statistic = float(((observed - REPEATS * p) ** 2 / (REPEATS * p * (1 - p))).sum())
    assert stats.chi2.sf(statistic, df=59) > 0.001, statistic


@settings(max_examples=100, deadline=None)
@given(
    first_seen=st.integers(0, 200),
    second_seen=st.integers(0, 200),
    capacity=st.integers(1, 50),
    seed=st.integers(0, 2**32 - 1),
)
def test_merge_keeps_the_bound_and_the_items(
    first_seen: int, second_seen: int, capacity: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    first: Reservoir[int] = Reservoir(capacity, seed=seed)
    first.add_batch(first_seen, lambda index: [int(i) for i in index])
    second: Reservoir[int] = Reservoir(capacity, seed=seed + 1)
    second.add_batch(second_seen, lambda index: [1000 + int(i) for i in index])
    items = merge_samples(
        first.items, first.seen, second.items, second.seen, capacity=capacity, rng=rng
    )
    assert len(items) == min(capacity, first_seen + second_seen)
    assert len(set(items)) == len(items)
    assert set(items) <= set(first.items) | set(second.items)


@settings(max_examples=100, deadline=None)
@given(seen=st.integers(0, 100), count=st.integers(0, 100), capacity=st.integers(1, 30))
def test_batch_slots_are_algorithm_r(seen: int, count: int, capacity: int) -> None:
    """Empty slots are all filled; each slot is won by one item, never a later one's loser."""
    slots, index = reservoir_slots(seen, count, capacity, np.random.default_rng(seen))
    assert len(set(slots.tolist())) == len(slots)
    assert all(0 <= s < capacity for s in slots.tolist())
    assert slots.tolist() == sorted(slots.tolist())
    assert set(range(seen, min(capacity, seen + count))) <= set(slots.tolist())
    for s, i in zip(slots.tolist(), index.tolist(), strict=True):
        if seen + i < capacity:  # an item of the filling phase holds its own slot
            assert s == seen + i


def test_a_sample_larger_than_its_stream_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot come from"):
        merge_samples([1, 2, 3], 2, [], 0, capacity=5, rng=np.random.default_rng(0))


def _window_of(traffic: list[int], shipped: int, capacity: int, seed: int) -> list[tuple[int, int]]:
    """A collector window's sample after merging one summary per pod, in turn: pod ``p``
    saw ``traffic[p]`` rows and shipped a uniform ``shipped`` of them."""
    rng = np.random.default_rng(seed)
    window: list[tuple[int, int]] = []
    seen = 0
    for pod, rows in enumerate(traffic):
        picked = rng.choice(rows, size=min(shipped, rows), replace=False).tolist()
        window = merge_samples(
            window, seen, [(pod, i) for i in picked], rows, capacity=capacity, rng=rng
        )
        seen += rows
    return window


def test_small_pod_samples_fill_the_window_up_to_its_capacity() -> None:
    """Pods shipping 20 of their 100 rows each: the window holds 20 per pod until full."""
    assert len(_window_of([100] * 10, 20, 1000, 0)) == 200
    assert len(_window_of([100] * 80, 20, 1000, 1)) == 1000
    # every row is kept at the same rate, 1/5, the small pod's 5 rows too: 20 + 1 + 20
    assert len(_window_of([100, 5, 100], 20, 1000, 2)) == 41


def test_pods_with_unequal_traffic_are_sampled_in_proportion() -> None:
    """Every row of the union is kept equally often, whatever its pod's traffic."""
    traffic = [40, 400, 120, 800, 40, 200]
    kept: Counter[int] = Counter()
    sizes = []
    for r in range(REPEATS // 4):
        window = _window_of(traffic, 60, 150, r)
        sizes.append(len(window))
        kept.update(pod for pod, _ in window)
    assert min(sizes) >= 60  # never shrinks to one pod's sample
    total = sum(traffic)
    expected = np.array(traffic) / total * sum(sizes)
    observed = np.array([kept[p] for p in range(len(traffic))])
    statistic = float(((observed - expected) ** 2 / expected).sum())
    assert stats.chi2.sf(statistic, df=len(traffic) - 1) > 0.001, (observed, expected)


@settings(max_examples=200, deadline=None)
@given(
    seen=st.integers(0, 300),
    held_share=st.floats(0, 1),
    incoming_seen=st.integers(0, 300),
    incoming_share=st.floats(0, 1),
    capacity=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
)
def test_slot_plan_applied_to_a_store_gives_the_merged_sample(
    *,
    seen: int,
    held_share: float,
    incoming_seen: int,
    incoming_share: float,
    capacity: int,
    seed: int,
) -> None:
    """Deleting, moving and writing as planned leaves exactly ``merge_samples``'s items
    (same seed, same draw) in slots ``0..size-1``, touching only the slots that change."""
    held = min(capacity, round(seen * held_share))
    incoming = round(incoming_seen * incoming_share)
    stored = {slot: f"s{slot}" for slot in range(held)}
    arriving = [f"i{i}" for i in range(incoming)]
    expected = merge_samples(
        [stored[s] for s in range(held)],
        seen,
        arriving,
        incoming_seen,
        capacity=capacity,
        rng=np.random.default_rng(seed),
    )
    plan = merge_slots(
        held, seen, incoming, incoming_seen, capacity=capacity, rng=np.random.default_rng(seed)
    )
    for slot in plan.delete.tolist():
        del stored[slot]
    for source, target in plan.move:
        assert target not in stored  # moved into an emptied slot
        stored[target] = stored.pop(source)
    for slot, index in zip(plan.write.tolist(), plan.take.tolist(), strict=True):
        stored[slot] = arriving[index]
    assert sorted(stored) == list(range(plan.size))
    assert sorted(stored.values()) == sorted(expected)
    changed = len(plan.delete) + len(plan.move) + len(plan.write)
    assert changed <= 2 * (held - sum(1 for v in expected if v.startswith("s"))) + len(plan.take)
