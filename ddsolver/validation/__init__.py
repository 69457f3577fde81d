"""Validation of the distributional dynamics against particle SGD (docs/validation.md).

    >>> from ddsolver.validation import validate
    >>> report = validate(["validation/quick/mmn_9_1.toml"], report_dir="validation-report")
    >>> print(report.table); report.passed
"""

from .metrics import (
    cdf_spread,
    finite_n_correction,
    fit_slope,
    mean_gap,
    risk_gap,
    wasserstein1,
    wasserstein1_densities,
)
from .report import ValidationReport
from .runner import validate

__all__ = ["validate", "ValidationReport", "wasserstein1", "wasserstein1_densities", "cdf_spread",
           "finite_n_correction", "risk_gap", "mean_gap", "fit_slope"]
