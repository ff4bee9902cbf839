"""A synthetic model and its traffic, for the demo and the end-to-end tests.

The "fraud" model scores card payments from a handful of numeric, categorical and
boolean features. ``traffic(n, shift=0)`` draws requests like the reference;
``shift`` > 0 moves the payment amount up, the customer age down and the country
mix towards one market, as a real upstream change would. Whether a payment was fraud
(the label, known days later in real life, seconds later here) follows the model's own
score before the shift; the shift also changes who commits fraud, so the model's
accuracy drops with it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MODEL = "fraud"
COUNTRIES = ("DE", "FR", "ES", "IT", "NL", "PL", "SE", "US")
CHANNELS = ("web", "app", "pos")


def traffic(n: int, *, shift: float = 0.0, seed: int | None = None) -> pd.DataFrame:
    """``n`` requests' features; ``shift`` in [0, 1] is the strength of the drift.

    Example:
        >>> frame = traffic(1000, seed=1)
        >>> sorted(frame.columns)[:3], len(frame)
        (['account_age_days', 'age', 'amount'], 1000)
    """
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(mean=3.5 + 1.2 * shift, sigma=0.8, size=n)
    age = rng.normal(loc=41 - 12 * shift, scale=12, size=n).clip(18, 95)
    base_mix = np.array([0.22, 0.18, 0.14, 0.12, 0.1, 0.1, 0.08, 0.06])
    shifted_mix = np.array([0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.65])
    mix = (1 - shift) * base_mix + shift * shifted_mix
    country = rng.choice(COUNTRIES, size=n, p=mix / mix.sum())
    channel = rng.choice(CHANNELS, size=n, p=[0.5, 0.35, 0.15])
    account_age = rng.exponential(scale=700, size=n).round()
    new_customer = account_age < 30
    items = rng.poisson(lam=2.5, size=n) + 1
    hour = rng.integers(0, 24, size=n)
    frame = pd.DataFrame(
        {
            "amount": amount.round(2),
            "age": age.round(),
            "country": country,
            "channel": channel,
            "account_age_days": account_age,
            "new_customer": new_customer,
            "items": items,
            "hour": hour,
        }
    )
    # A few values go missing, as they do in production.
    missing = rng.random(n) < 0.01
    frame.loc[missing, "age"] = np.nan
    return frame


def score(frame: pd.DataFrame) -> np.ndarray:
    """The model: a fixed logistic score in [0, 1]."""
    z = (
        0.9 * np.log1p(frame["amount"].to_numpy(dtype=float))
        - 0.03 * frame["age"].fillna(40).to_numpy(dtype=float)
        + 1.1 * frame["new_customer"].to_numpy(dtype=float)
        + 0.6 * (frame["channel"] == "web").to_numpy(dtype=float)
        - 3.2
    )
    return np.asarray(1 / (1 + np.exp(-z)))


def scored_traffic(n: int, *, shift: float = 0.0, seed: int | None = None) -> pd.DataFrame:
    """Features plus the model's ``prediction`` column."""
    frame = traffic(n, shift=shift, seed=seed)
    frame["prediction"] = score(frame).round(4)
    return frame


THRESHOLD = 0.5
"""The model flags a payment as fraud (``"1"``) above this score."""


def flagged(scores: np.ndarray) -> list[str]:
    """The model's predicted class per score."""
    return ["1" if s > THRESHOLD else "0" for s in scores]


def fraud_labels(scores: np.ndarray, *, shift: float, seed: int | None = None) -> list[str]:
    """Whether each payment was fraud: drawn from the model's score when nothing moved;
    after a shift the true probability departs from the score (concept drift)."""
    rng = np.random.default_rng(seed)
    truth = (1 - 0.8 * shift) * scores + 0.8 * shift * (1 - scores)
    return ["1" if r < p else "0" for r, p in zip(rng.random(scores.size), truth, strict=True)]


def labelled_reference(n: int, *, seed: int = 1) -> pd.DataFrame:
    """Reference traffic with the model's outcome: score, predicted class and label."""
    frame = scored_traffic(n, seed=seed)
    scores = frame["prediction"].to_numpy(dtype=float)
    frame["fraud_score"] = scores
    frame["flagged"] = flagged(scores)
    frame["fraud"] = fraud_labels(scores, shift=0.0, seed=seed + 1)
    return frame
