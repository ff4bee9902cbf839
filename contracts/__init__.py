"""The contract between inferwatch's parts: what the recorder, collector and drift engine
must agree on, written once.

- ``spec``: the baseline spec (``FeatureSpec``, ``BaselineSpec``);
- ``defaults``: the baseline defaults (bins, top-K, sample size);
- ``binning``: a value to a numeric bin (missing, ``±inf``, edges);
- ``categories``: a value to a vocabulary bin or ``__other__``;
- ``sample``: the bounded, mergeable uniform sample (reservoir);
- ``names``: metric and label names, the model-name rule;
- ``results``: the drift results the engine hands the other parts;
- ``quality``: mergeable quality summaries (confusion counts, score bins, error sums).

It imports only the standard library and numpy, so it runs inside customers' model pods
with the recorder, next to whatever pandas (or none) the model server has. This file
imports nothing: ``defaults`` and ``names`` stay free of numpy, for settings and CLI
start-up; import names from the modules.
"""

__all__ = ["binning", "categories", "defaults", "names", "quality", "results", "sample", "spec"]
