"""Intervals, per-arm summary and an A/B test for bandit experiments.

Pure functions. :func:`arm_table` reads a simulation result only through its public arrays
(``arms``, ``rewards``, ``true_means``); this module never imports the simulator or the
policies.
"""
from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

if TYPE_CHECKING:  # annotation only; no runtime dependency on the simulator
    from core.bandits.simulator import SimulationResult

__all__ = ["wilson_interval", "arm_table", "two_proportion_z_test", "ARM_TABLE_COLUMNS"]

ARM, TRUE_CONVERSION, VISITS, CONVERSIONS, CONVERSION_RATE, CI_LOW, CI_HIGH, TRAFFIC_SHARE = (
    "arm", "true_conversion", "visits", "conversions", "conversion_rate", "ci_low", "ci_high",
    "traffic_share")
ARM_TABLE_COLUMNS = (ARM, TRUE_CONVERSION, VISITS, CONVERSIONS, CONVERSION_RATE, CI_LOW,
                     CI_HIGH, TRAFFIC_SHARE)


def _counts(value, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numeric, got {type(value).__name__}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return arr


def _successes_trials(successes, trials, s_name: str, n_name: str):
    s = _counts(successes, s_name)
    n = _counts(trials, n_name)
    try:
        s, n = np.broadcast_arrays(s, n)
    except ValueError:
        raise ValueError(f"{s_name} and {n_name} must have matching shapes, got "
                         f"{np.shape(s)} and {np.shape(n)}") from None
    if np.any(s > n):
        raise ValueError(f"{s_name} must be <= {n_name}, got {s_name}={successes!r}, "
                         f"{n_name}={trials!r}")
    return s, n


def wilson_interval(successes, trials, confidence: float = 0.95):
    r"""Wilson score interval for a binomial proportion.

    With :math:`\hat p = s / n` and :math:`z` the :math:`1 - (1 - c)/2` normal quantile:

    .. math::

        \frac{\hat p + \frac{z^2}{2n}}{1 + \frac{z^2}{n}} \;\pm\;
        \frac{z}{1 + \frac{z^2}{n}} \sqrt{\frac{\hat p (1 - \hat p)}{n} + \frac{z^2}{4 n^2}}

    Unlike the normal (Wald) interval it stays inside ``[0, 1]`` and is sensible for 0 or
    ``n`` successes and small ``n``. With no trials the interval is ``(0, 1)``.

    Parameters
    ----------
    successes : int or array_like
        Successes (conversions), in ``[0, trials]``.
    trials : int or array_like
        Trials (visits), >= 0. Broadcast against ``successes``.
    confidence : float, default 0.95
        Coverage, in ``(0, 1)``.

    Returns
    -------
    (low, high)
        Floats for scalar inputs, arrays of the broadcast shape otherwise; within ``[0, 1]``.

    Raises
    ------
    TypeError
        If an argument is not numeric.
    ValueError
        If counts are negative or not finite, ``successes > trials``, or ``confidence`` is
        outside ``(0, 1)``.

    References
    ----------
    .. [1] E. B. Wilson, "Probable Inference, the Law of Succession, and Statistical
       Inference", *Journal of the American Statistical Association* 22(158), 209-212 (1927).
    .. [2] A. Agresti and B. A. Coull, "Approximate Is Better than 'Exact' for Interval
       Estimation of Binomial Proportions", *The American Statistician* 52(2), 119-126 (1998).

    Examples
    --------
    >>> low, high = wilson_interval(0, 10)
    >>> round(low, 4), round(high, 4)
    (0.0, 0.2775)
    """
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real):
        raise TypeError(f"confidence must be a real number, got {type(confidence).__name__}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    s, n = _successes_trials(successes, trials, "successes", "trials")
    z = norm.ppf(0.5 + confidence / 2.0)
    z2 = z * z
    empty = n == 0
    n_safe = np.where(empty, 1.0, n)
    p = s / n_safe
    denom = 1.0 + z2 / n_safe
    centre = (p + z2 / (2.0 * n_safe)) / denom
    half = z / denom * np.sqrt(p * (1.0 - p) / n_safe + z2 / (4.0 * n_safe ** 2))
    # the bounds are exactly 0 with no successes and exactly 1 with no failures (no 1e-17 rounding dust)
    low = np.where(empty | (s == 0), 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(empty | (s == n), 1.0, np.clip(centre + half, 0.0, 1.0))
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def arm_table(result: "SimulationResult", arm_names: Sequence[str] | None = None,
              confidence: float = 0.95) -> pd.DataFrame:
    """One row per arm summarising a simulation: true rate, traffic, realised conversion.

    Parameters
    ----------
    result : SimulationResult
        Anything with ``arms`` and ``rewards`` arrays of shape (replicates, horizon) and
        ``true_means`` of shape (n_arms,).
    arm_names : sequence of str, optional
        Arm labels, length ``n_arms``; default ``"arm 0"``, ``"arm 1"``, ...
    confidence : float, default 0.95
        Coverage of the Wilson interval.

    Returns
    -------
    pandas.DataFrame
        ``n_arms`` rows, columns:

        - ``arm``: label.
        - ``true_conversion``: the arm's true (held-out) conversion rate.
        - ``visits``: pulls per replicate, averaged over replicates.
        - ``conversions``: rewards per replicate, averaged over replicates.
        - ``conversion_rate``: realised rate pooled over replicates,
          total conversions / total visits (NaN for an arm never played).
        - ``ci_low``, ``ci_high``: Wilson interval on the pooled counts ((0, 1) if never played).
        - ``traffic_share``: share of all pulls, in ``[0, 1]``.

    Notes
    -----
    The pooled interval describes the simulated traffic. Replicates re-use the same held-out
    customers, so it is narrower than the uncertainty about the held-out rate itself; for that
    use ``wilson_interval(rewards.sum(axis=0), rewards.shape[0])`` on the held-out matrix.

    Raises
    ------
    ValueError
        If ``arm_names`` does not have ``n_arms`` entries, or the arrays do not line up.
    """
    arms = np.asarray(result.arms)
    rewards = np.asarray(result.rewards, dtype=np.float64)
    true_means = np.asarray(result.true_means, dtype=np.float64)
    if arms.ndim != 2 or rewards.shape != arms.shape:
        raise ValueError(f"result.arms and result.rewards must be 2-D of one shape, got "
                         f"{arms.shape} and {rewards.shape}")
    k = true_means.shape[0]
    if arm_names is None:
        names = [f"arm {i}" for i in range(k)]
    else:
        names = list(arm_names)
        if len(names) != k:
            raise ValueError(f"arm_names must have {k} entries, got {len(names)}")
    replicates = arms.shape[0]
    flat = arms.ravel()
    visits = np.bincount(flat, minlength=k).astype(np.float64)
    conversions = np.bincount(flat, weights=rewards.ravel(), minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(visits > 0, conversions / np.where(visits > 0, visits, 1.0), np.nan)
    low, high = wilson_interval(conversions, visits, confidence)
    return pd.DataFrame({
        ARM: names,
        TRUE_CONVERSION: true_means,
        VISITS: visits / replicates,
        CONVERSIONS: conversions / replicates,
        CONVERSION_RATE: rate,
        CI_LOW: low,
        CI_HIGH: high,
        TRAFFIC_SHARE: visits / flat.size,
    }, columns=list(ARM_TABLE_COLUMNS))


def two_proportion_z_test(s1, n1, s2, n2):
    r"""Two-sided two-proportion z-test with pooled variance (is arm 1's rate != arm 2's?).

    .. math::

        \hat p_i = \frac{s_i}{n_i}, \quad \hat p = \frac{s_1 + s_2}{n_1 + n_2}, \quad
        z = \frac{\hat p_1 - \hat p_2}{\sqrt{\hat p (1 - \hat p)
            \left(\frac{1}{n_1} + \frac{1}{n_2}\right)}}, \quad
        p\text{-value} = 2\,(1 - \Phi(|z|))

    When the pooled rate is 0 or 1 both arms have the same rate and the result is
    ``(0.0, 1.0)``. The test assumes each visit was assigned independently of earlier results
    (a fixed A/B split). On traffic allocated by an adaptive policy (epsilon-greedy, UCB1,
    Thompson sampling) the p-value is not valid; compare arms on A/B-split data.

    Parameters
    ----------
    s1, n1 : int or array_like
        Conversions and visits of arm 1; ``n1 >= 1``, ``0 <= s1 <= n1``.
    s2, n2 : int or array_like
        Conversions and visits of arm 2; ``n2 >= 1``, ``0 <= s2 <= n2``.

    Returns
    -------
    (z, p_value)
        Floats for scalar inputs (arrays otherwise); ``z > 0`` when arm 1 converts better.

    Raises
    ------
    TypeError
        If an argument is not numeric.
    ValueError
        If counts are negative, ``s > n``, or ``n1``/``n2`` is 0.

    References
    ----------
    .. [1] A. Agresti, *Categorical Data Analysis*, 3rd ed., Wiley, 2013, section 3.1
       (comparing two proportions; score test with the pooled estimate).
    .. [2] J. L. Fleiss, B. Levin and M. C. Paik, *Statistical Methods for Rates and
       Proportions*, 3rd ed., Wiley, 2003, section 2.2.

    Examples
    --------
    >>> z, p = two_proportion_z_test(120, 1000, 90, 1000)
    >>> round(z, 3), round(p, 4)
    (2.188, 0.0287)
    """
    s1, n1 = _successes_trials(s1, n1, "s1", "n1")
    s2, n2 = _successes_trials(s2, n2, "s2", "n2")
    if np.any(n1 == 0):
        raise ValueError("n1 must be >= 1, got 0")
    if np.any(n2 == 0):
        raise ValueError("n2 must be >= 1, got 0")
    pooled = (s1 + s2) / (n1 + n2)
    se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    diff = s1 / n1 - s2 / n2
    degenerate = se == 0
    z = np.where(degenerate, 0.0, diff / np.where(degenerate, 1.0, se))
    p_value = np.where(degenerate, 1.0, 2.0 * norm.sf(np.abs(z)))
    if z.ndim == 0:
        return float(z), float(p_value)
    return z, p_value
