"""Multivariate drift: changes that no single feature shows.

- ``domain_classifier_test``: a gradient-boosted classifier tries to tell live rows from
  reference rows; cross-validated AUC, a Mann-Whitney p-value on the out-of-fold scores,
  and per feature the AUC lost when it is shuffled;
- ``PCAReconstruction`` / ``pca_reconstruction_test``: the reconstruction error of live
  rows through the reference's principal components, against the reference's band, and
  per feature its share of the excess error;
- ``MultivariatePolicy``: thresholds and the row cap that bounds an evaluation's cost.

scikit-learn is imported when a test runs, not with this package.
"""

from inferwatch.drift.multivariate._domain import domain_classifier_test
from inferwatch.drift.multivariate._pca import PCAReconstruction, pca_reconstruction_test
from inferwatch.drift.multivariate._policy import MultivariatePolicy
from inferwatch.drift.multivariate._result import MultivariateInputError, MultivariateResult

__all__ = [
    "MultivariateInputError",
    "MultivariatePolicy",
    "MultivariateResult",
    "PCAReconstruction",
    "domain_classifier_test",
    "pca_reconstruction_test",
]
