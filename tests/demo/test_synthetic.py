import numpy as np

from inferwatch.demo.synthetic import scored_traffic, traffic


def test_same_seed_same_traffic() -> None:
    assert traffic(200, seed=3).equals(traffic(200, seed=3))


def test_shift_moves_amount_and_country_mix() -> None:
    calm = traffic(20_000, seed=1)
    shifted = traffic(20_000, shift=1.0, seed=2)
    assert shifted["amount"].median() > 2 * calm["amount"].median()
    assert (shifted["country"] == "US").mean() > 0.5 > (calm["country"] == "US").mean()


def test_predictions_are_probabilities_with_missing_ages() -> None:
    frame = scored_traffic(5_000, seed=4)
    assert frame["prediction"].between(0, 1).all()
    assert 0 < frame["age"].isna().mean() < 0.05
    assert np.isfinite(frame["prediction"]).all()
