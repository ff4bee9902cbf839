"""Window summaries: what a recorder saw in one interval, small enough to ship and mergeable.

A ``WindowSummary`` holds, for one model and one interval, per baseline feature the
counts over the baseline's bins (numeric: ``len(edges) + 1``; categorical and boolean:
vocabulary then ``__other__``), the missing count, the count and sum of the values that
were present, and a bounded uniform sample of the rows with the number of rows it was
drawn from. It is binned against one baseline version and says which.

Summaries of disjoint traffic merge: counts add, samples merge with the contract's
weighted reservoir merge (``sample.merge_samples``), so merging the pods' summaries
equals summarising all their rows (counts exactly, the sample in distribution).

The wire form is gzip-compressed JSON (``to_wire``/``from_wire``), the sample column by
column; ``from_wire`` bounds what it inflates and ``check`` refuses a summary whose bins
are not the baseline's. Sample numbers travel at float32 precision, written as the
shortest decimal that reads back as the same float32 (``0.12573022``, not
``0.12573022368550818``): about half the compressed bytes of float64, and no statistic
notices (``wire_number``). Readers take any JSON number, so older senders still fit.
"""

from __future__ import annotations

import gzip
import json
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np

from inferwatch.contracts.binning import bin_numbers, to_number
from inferwatch.contracts.categories import category_key, count_categories, is_missing
from inferwatch.contracts.sample import Reservoir, merge_samples
from inferwatch.contracts.spec import BaselineSpec, FeatureSpec

WIRE_CONTENT_TYPE = "application/json"
WIRE_CONTENT_ENCODING = "gzip"


class SummaryError(ValueError):
    """A summary that cannot be read or does not fit its baseline; the message says why."""


class BaselineMismatchError(SummaryError):
    """A summary binned against another baseline version than the reader's."""


@dataclass(frozen=True)
class FeatureSummary:
    """One feature's counts in one interval."""

    name: str
    counts: tuple[int, ...]
    """Per bin, in ``FeatureSpec.bin_labels`` order."""
    missing: int
    total: float = 0.0
    """Sum of the present values (numeric features; 0 for categorical)."""

    @property
    def count(self) -> int:
        """Values present (binned)."""
        return sum(self.counts)

    def merge(self, other: FeatureSummary) -> FeatureSummary:
        """Counts added bin by bin."""
        if other.name != self.name or len(other.counts) != len(self.counts):
            raise SummaryError(f"feature {self.name!r}: bins differ, cannot merge")
        return FeatureSummary(
            self.name,
            tuple(a + b for a, b in zip(self.counts, other.counts, strict=True)),
            self.missing + other.missing,
            self.total + other.total,
        )


@dataclass(frozen=True)
class WindowSummary:
    """A model's traffic in ``[start, end)`` (epoch seconds), binned against one baseline."""

    model: str
    baseline_version: int
    start: float
    end: float
    rows: int
    features: tuple[FeatureSummary, ...]
    sample: tuple[Mapping[str, Any], ...]
    """A uniform sample of the ``sampled_from`` rows (baseline features only)."""
    sampled_from: int

    def feature(self, name: str) -> FeatureSummary:
        """The summary of feature ``name``; ``KeyError`` if there is none."""
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)

    def merge(
        self, other: WindowSummary, *, capacity: int, rng: np.random.Generator
    ) -> WindowSummary:
        """The summary of both (disjoint) traffics: counts add, samples merge uniformly."""
        if (other.model, other.baseline_version) != (self.model, self.baseline_version):
            raise BaselineMismatchError(
                f"cannot merge {other.model!r} v{other.baseline_version} into "
                f"{self.model!r} v{self.baseline_version}"
            )
        mine = {f.name: f for f in self.features}
        if set(mine) != {f.name for f in other.features}:
            raise SummaryError("summaries hold different features, cannot merge")
        sample = merge_samples(
            self.sample,
            self.sampled_from,
            other.sample,
            other.sampled_from,
            capacity=capacity,
            rng=rng,
        )
        return WindowSummary(
            model=self.model,
            baseline_version=self.baseline_version,
            start=min(self.start, other.start),
            end=max(self.end, other.end),
            rows=self.rows + other.rows,
            features=tuple(mine[f.name].merge(f) for f in other.features),
            sample=tuple(sample),
            sampled_from=self.sampled_from + other.sampled_from,
        )

    # -- wire form ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the sample column by column, numbers at float32 precision)."""
        names = [f.name for f in self.features]
        return {
            "model": self.model,
            "baseline_version": self.baseline_version,
            "start": self.start,
            "end": self.end,
            "rows": self.rows,
            "features": [
                {"name": f.name, "counts": list(f.counts), "missing": f.missing, "sum": f.total}
                for f in self.features
            ],
            "sample": {
                "sampled_from": self.sampled_from,
                "columns": {n: [wire_number(row.get(n)) for row in self.sample] for n in names},
            },
        }

    def to_wire(self) -> bytes:
        """gzip-compressed JSON."""
        text = json.dumps(self.to_dict(), separators=(",", ":"), default=_json_value)
        return gzip.compress(text.encode(), compresslevel=6)


_FLOAT32_MAX = float(np.finfo(np.float32).max)
_FLOAT32_TINY = float(np.finfo(np.float32).tiny)


def wire_number(value: Any) -> Any:
    """A sample number at float32 precision, as the shortest decimal of that float32.

    Why the sample statistics do not notice: float32 keeps a relative error below
    ``2**-24`` (6e-8). KS and the sample forms of the other methods depend on the order
    of the live values among the reference values; rounding moves a value by at most
    6e-8 of itself, so the order (and the statistic) changes only where a live and a
    reference value are that close, and by one rank each. Wasserstein moves by at most
    6e-8 times the mean absolute value. Values float32 cannot hold to that precision
    (beyond its range, or subnormal) and anything not a float go as they are.
    """
    if not isinstance(value, float) or not _FLOAT32_TINY <= abs(value) <= _FLOAT32_MAX:
        return value
    return float(str(np.float32(value)))


def summarise(
    baseline: BaselineSpec,
    rows: Sequence[Mapping[str, Any]],
    *,
    start: float,
    end: float,
    capacity: int,
    rng: np.random.Generator,
) -> WindowSummary:
    """Summarise ``rows`` against ``baseline`` with the contract's counting and sampling."""
    features = tuple(
        feature_summary(spec, [r.get(spec.name) for r in rows]) for spec in baseline.features
    )
    reservoir: Reservoir[Mapping[str, Any]] = Reservoir(capacity, seed=int(rng.integers(2**63)))
    reservoir.add_batch(
        len(rows), lambda index: [sample_row(baseline, rows[i]) for i in index.tolist()]
    )
    return WindowSummary(
        model=baseline.model,
        baseline_version=baseline.version,
        start=start,
        end=end,
        rows=len(rows),
        features=features,
        sample=tuple(reservoir.items),
        sampled_from=reservoir.seen,
    )


def feature_summary(spec: FeatureSpec, values: Sequence[Any] | np.ndarray) -> FeatureSummary:
    """One feature's counts, missing count and sum, by the contract's rules."""
    if spec.kind == "numeric":
        counts, missing, total = bin_numbers(spec.edges, values)
        return FeatureSummary(spec.name, tuple(int(c) for c in counts.tolist()), missing, total)
    counts, missing = count_categories(spec.vocabulary, values)
    return FeatureSummary(spec.name, tuple(int(c) for c in counts.tolist()), missing)


def sample_row(baseline: BaselineSpec, row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as the sample keeps it: baseline features only, JSON values (numbers as
    floats, categories by name, missing as None)."""
    out: dict[str, Any] = {}
    for spec in baseline.features:
        value = row.get(spec.name)
        if spec.kind == "numeric":
            x = to_number(value)
            out[spec.name] = None if math.isnan(x) else x
        else:
            out[spec.name] = None if is_missing(value) else category_key(value)
    return out


# -- reading a received summary -------------------------------------------------------------


def from_wire(body: bytes, *, max_decoded_bytes: int, compressed: bool = True) -> WindowSummary:
    """Read a summary from its wire form, inflating at most ``max_decoded_bytes``."""
    if compressed:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            text = inflater.decompress(body, max_decoded_bytes + 1)
        except zlib.error as exc:
            raise SummaryError(f"body is not gzip: {exc}") from None
        if len(text) > max_decoded_bytes or inflater.unconsumed_tail:
            raise SummaryError(f"summary inflates past {max_decoded_bytes} bytes")
        if not inflater.eof:
            raise SummaryError("body is not gzip: it ends before the gzip stream does")
    else:
        text = body
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SummaryError(f"summary is not JSON: {exc}") from None
    except RecursionError:  # the admission scan skips compressed bodies: bound depth here
        raise SummaryError("summary JSON nests too deep") from None
    return from_dict(data)


def from_dict(data: Any) -> WindowSummary:
    """Inverse of ``WindowSummary.to_dict``; a clear ``SummaryError`` for a wrong shape."""
    if not isinstance(data, dict):
        raise SummaryError("summary must be a JSON object")
    try:
        features = tuple(
            FeatureSummary(
                name=_str(f["name"], "features[].name"),
                counts=tuple(_count(c, f"features[{f.get('name')!r}].counts") for c in f["counts"]),
                missing=_count(f.get("missing", 0), f"features[{f.get('name')!r}].missing"),
                total=_float(f.get("sum", 0.0), f"features[{f.get('name')!r}].sum"),
            )
            for f in _list(data["features"], "features")
        )
        sample_part = data.get("sample") or {"sampled_from": 0, "columns": {}}
        if not isinstance(sample_part, dict):
            raise SummaryError("sample must be an object {sampled_from, columns}")
        columns = sample_part.get("columns") or {}
        if not isinstance(columns, dict):
            raise SummaryError("sample.columns must be an object {feature: [values]}")
        lengths = {len(_list(v, f"sample.columns[{k!r}]")) for k, v in columns.items()}
        if len(lengths) > 1:
            raise SummaryError("sample.columns have different lengths")
        names = list(columns)  # lengths are equal (checked): rows by C-level zips
        sample = tuple(
            dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)
        )
        return WindowSummary(
            model=_str(data["model"], "model"),
            baseline_version=_count(data["baseline_version"], "baseline_version"),
            start=_float(data["start"], "start"),
            end=_float(data["end"], "end"),
            rows=_count(data["rows"], "rows"),
            features=features,
            sample=sample,
            sampled_from=_count(sample_part.get("sampled_from", 0), "sample.sampled_from"),
        )
    except KeyError as exc:
        raise SummaryError(f"summary lacks field {exc.args[0]!r}") from None
    except TypeError as exc:
        raise SummaryError(f"summary has a wrong shape: {exc}") from None


def check(summary: WindowSummary, baseline: BaselineSpec, *, max_sample: int) -> None:
    """Refuse a summary that does not fit ``baseline`` (``BaselineMismatchError`` for
    another version) or whose sizes are out of bounds; the message names what is wrong."""
    if summary.model != baseline.model:
        raise SummaryError(f"summary is for model {summary.model!r}, not {baseline.model!r}")
    if summary.baseline_version != baseline.version:
        raise BaselineMismatchError(
            f"summary was binned against baseline version {summary.baseline_version} of "
            f"{baseline.model!r}; the current version is {baseline.version}: re-read the "
            "baseline and bin again"
        )
    if not summary.end >= summary.start:
        raise SummaryError(f"interval end {summary.end} is before its start {summary.start}")
    got = [f.name for f in summary.features]
    if sorted(got) != sorted(baseline.feature_names) or len(set(got)) != len(got):
        missing = sorted(set(baseline.feature_names) - set(got))
        extra = sorted(set(got) - set(baseline.feature_names))
        raise SummaryError(
            f"features do not match the baseline's (missing {missing}, unknown {extra}"
            f"{', duplicated' if len(set(got)) != len(got) else ''})"
        )
    for f in summary.features:
        spec = baseline.feature(f.name)
        if len(f.counts) != _bin_count(spec):
            raise SummaryError(
                f"feature {f.name!r} has {len(f.counts)} bins; baseline version "
                f"{baseline.version} has {_bin_count(spec)}"
            )
        if f.count + f.missing != summary.rows:
            raise SummaryError(
                f"feature {f.name!r}: {f.count} binned + {f.missing} missing is not "
                f"the summary's {summary.rows} rows"
            )
    if summary.sampled_from != summary.rows:
        raise SummaryError(
            f"sample drawn from {summary.sampled_from} rows; the summary has {summary.rows}"
        )
    if len(summary.sample) > min(max_sample, summary.sampled_from):
        raise SummaryError(
            f"sample of {len(summary.sample)} rows is over the bound "
            f"min({max_sample}, {summary.sampled_from})"
        )
    if summary.sample and set(summary.sample[0]) != set(baseline.feature_names):
        raise SummaryError("sample columns are not the baseline's features")
    for spec in baseline.features:
        numeric = spec.kind == "numeric"
        kinds = set(map(type, map(itemgetter(spec.name), summary.sample)))  # C speed
        if kinds <= (_NUMBER_TYPES if numeric else _CATEGORY_TYPES):
            continue  # what JSON gives: no value to look at one by one
        for i, row in enumerate(summary.sample):
            value = row[spec.name]
            if value is None or (
                isinstance(value, int | float) and not isinstance(value, bool)
                if numeric
                else isinstance(value, str)
            ):
                continue
            wanted = "a number or null" if numeric else "a string or null"
            raise SummaryError(
                f"sample row {i}, feature {spec.name!r}: {value!r:.40} is not {wanted}"
            )


def _bin_count(spec: FeatureSpec) -> int:
    """``len(spec.bin_labels)`` without formatting the labels."""
    return len(spec.edges if spec.kind == "numeric" else spec.vocabulary) + 1


_NUMBER_TYPES = frozenset({type(None), float, int})
_CATEGORY_TYPES = frozenset({type(None), str})


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise SummaryError(f"{where} must be a list")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise SummaryError(f"{where} must be a string")
    return value


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SummaryError(f"{where} must be a non-negative integer, got {value!r:.40}")
    return value


def _float(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SummaryError(f"{where} must be a number, got {value!r:.40}")
    return float(value)
