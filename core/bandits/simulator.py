"""Replay a bandit policy against held-out customers (or known Bernoulli rates) and score it.

The simulator only uses a policy's verbs (``reset``, ``select``, ``update``, ``name``); it
never imports the policy module, and the statistics module never imports this one.

Regret is always computed from the TRUE arm means, never from realised rewards:

.. math:: R_t = \\sum_{s \\le t} \\big(p^* - p_{a_s}\\big), \\qquad p^* = \\max_i p_i

so every curve is non-decreasing, ``>= 0`` and at most ``t (p* - min p)``. (A "regret" built
from realised rewards goes down whenever the best arm would have failed, and can be negative.)

Seeding: ``numpy.random.SeedSequence(seed).spawn(replicates)`` gives one child seed per
replicate; each child seeds one ``numpy.random.Generator`` that drives everything in that
replicate (the visits and the policy), so the same ``seed`` reproduces every replicate exactly.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from core.errors import EmptyDataError

__all__ = ["SimulationResult", "simulate", "simulate_bernoulli", "FRAME_COLUMNS"]

# Long-format columns of SimulationResult.to_frame()
STEP, REPLICATE, ARM, REWARD, CUMULATIVE_REWARD, REGRET = (
    "step", "replicate", "arm", "reward", "cumulative_reward", "regret")
FRAME_COLUMNS = (STEP, REPLICATE, ARM, REWARD, CUMULATIVE_REWARD, REGRET)


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr = np.ascontiguousarray(arr)
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Outcome of :func:`simulate` / :func:`simulate_bernoulli`; arrays are read-only.

    Attributes
    ----------
    arms : numpy.ndarray, shape (replicates, horizon), int64
        Arm played at each step.
    rewards : numpy.ndarray, shape (replicates, horizon), float64
        Reward (0 or 1) received at each step.
    true_means : numpy.ndarray, shape (n_arms,), float64
        True conversion rate of each arm (the held-out rate, or the Bernoulli rate).
    cumulative_reward : numpy.ndarray, shape (replicates, horizon), float64
        Conversions so far, ``cumsum(rewards)``.
    regret : numpy.ndarray, shape (replicates, horizon), float64
        Cumulative regret ``R_t = sum_{s<=t} (p* - true_means[arms[:, s]])``.
    policy_name : str
        The policy's ``name``.
    seed : int or None
        The run seed.
    """

    arms: np.ndarray
    rewards: np.ndarray
    true_means: np.ndarray
    cumulative_reward: np.ndarray
    regret: np.ndarray
    policy_name: str = ""
    seed: int | None = None

    def __post_init__(self) -> None:
        shape = np.shape(self.arms)
        if len(shape) != 2:
            raise ValueError(f"arms must be 2-D (replicates, horizon), got shape {shape}")
        for name in ("rewards", "cumulative_reward", "regret"):
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(f"{name} must have shape {shape}, got "
                                 f"{np.shape(getattr(self, name))}")
        if np.ndim(self.true_means) != 1:
            raise ValueError(f"true_means must be 1-D, got shape {np.shape(self.true_means)}")
        object.__setattr__(self, "arms", _frozen(np.asarray(self.arms, dtype=np.int64)))
        for name in ("rewards", "true_means", "cumulative_reward", "regret"):
            object.__setattr__(self, name, _frozen(np.asarray(getattr(self, name),
                                                              dtype=np.float64)))

    @property
    def replicates(self) -> int:
        return self.arms.shape[0]

    @property
    def horizon(self) -> int:
        return self.arms.shape[1]

    @property
    def n_arms(self) -> int:
        return self.true_means.shape[0]

    def traffic_share(self, window: int | None = None) -> np.ndarray:
        """Share of pulls that went to each arm, averaged over replicates.

        Row ``t`` (0-based) is the share over steps ``1..t+1`` (``window=None``, cumulative)
        or over the last ``window`` steps up to ``t+1`` (fewer at the start).

        Parameters
        ----------
        window : int, optional
            Trailing window length in steps, >= 1. ``None`` (default) means cumulative.

        Returns
        -------
        numpy.ndarray, shape (horizon, n_arms)
            Shares in ``[0, 1]``; each row sums to 1.

        Raises
        ------
        TypeError, ValueError
            If ``window`` is not an integer >= 1.
        """
        if window is not None:
            if isinstance(window, bool) or not isinstance(window, numbers.Integral):
                raise TypeError(f"window must be an integer or None, got {type(window).__name__}")
            if window < 1:
                raise ValueError(f"window must be >= 1, got {window}")
            window = int(window)
        horizon = self.horizon
        # per step, the share of replicates that played each arm: (horizon, n_arms)
        frac = np.stack([(self.arms == a).mean(axis=0) for a in range(self.n_arms)], axis=1)
        csum = np.cumsum(frac, axis=0)
        steps = np.arange(1, horizon + 1, dtype=np.float64)
        if window is None or window >= horizon:
            return csum / steps[:, None]
        lagged = np.zeros_like(csum)
        lagged[window:] = csum[:-window]
        return (csum - lagged) / np.minimum(steps, window)[:, None]

    def to_frame(self, arm_names: Sequence[str] | None = None) -> pd.DataFrame:
        """Long-format frame for charts: one row per (replicate, step).

        Parameters
        ----------
        arm_names : sequence of str, optional
            Labels for the arms (length ``n_arms``); default: the arm indices.

        Returns
        -------
        pandas.DataFrame
            Columns ``step`` (1-based), ``replicate`` (0-based), ``arm``, ``reward``,
            ``cumulative_reward``, ``regret``; ``replicates * horizon`` rows, sorted by
            replicate then step.

        Raises
        ------
        ValueError
            If ``arm_names`` does not have ``n_arms`` entries.
        """
        r, h = self.arms.shape
        arm = self.arms.ravel()
        if arm_names is not None:
            names = list(arm_names)
            if len(names) != self.n_arms:
                raise ValueError(f"arm_names must have {self.n_arms} entries, got {len(names)}")
            arm = np.asarray(names, dtype=object)[arm]
        return pd.DataFrame({
            STEP: np.tile(np.arange(1, h + 1), r),
            REPLICATE: np.repeat(np.arange(r), h),
            ARM: arm,
            REWARD: self.rewards.ravel(),
            CUMULATIVE_REWARD: self.cumulative_reward.ravel(),
            REGRET: self.regret.ravel(),
        }, columns=list(FRAME_COLUMNS))


# --- argument checks --------------------------------------------------------------------------
def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_factory(policy) -> Callable:
    if callable(policy):
        return policy
    raise TypeError("policy must be a zero-argument factory (a policy class or "
                    f"functools.partial), got a {type(policy).__name__} instance")


def _new_policy(factory: Callable, n_arms: int):
    pol = factory()
    for verb in ("reset", "select", "update"):
        if not callable(getattr(pol, verb, None)):
            raise TypeError(f"policy factory must build an object with reset/select/update, "
                            f"got {type(pol).__name__} without {verb}()")
    pol.reset(n_arms)
    return pol


def _children(seed: int, replicates: int) -> list[np.random.Generator]:
    return [np.random.default_rng(ss) for ss in np.random.SeedSequence(seed).spawn(replicates)]


def _result(arms: np.ndarray, rewards: np.ndarray, true_means: np.ndarray, name: str,
            seed: int) -> SimulationResult:
    gaps = true_means.max() - true_means          # >= 0 exactly, so regret never decreases
    return SimulationResult(
        arms=arms, rewards=rewards, true_means=true_means,
        cumulative_reward=np.cumsum(rewards, axis=1),
        regret=np.cumsum(gaps[arms], axis=1),
        policy_name=name, seed=seed)


def _bad_arm(pol, arm, n_arms: int) -> ValueError:
    return ValueError(f"policy {getattr(pol, 'name', type(pol).__name__)!r} selected arm "
                      f"{arm!r}, outside [0, {n_arms})")


# --- simulators -------------------------------------------------------------------------------
def simulate(rewards, policy: Callable, horizon: int, seed: int,
             replicates: int = 1) -> SimulationResult:
    """Simulate a policy on visits drawn from held-out customers.

    Each step is one simulated visit: a held-out customer (row of ``rewards``) is drawn
    uniformly at random with replacement, the policy picks an arm, and the reward is
    ``rewards[customer, arm]``. The arms' true means are ``p = rewards.mean(axis=0)``
    (each strategy's held-out conversion rate) and regret is measured against them.

    In each replicate the generator first draws all ``horizon`` customers at once
    (``rng.integers(n_contexts, size=horizon)``), then drives the policy.

    Parameters
    ----------
    rewards : array_like, shape (n_contexts, n_arms)
        0/1 matrix: 1 when arm *j*'s slate would have converted held-out customer *i*.
    policy : callable
        Zero-argument factory returning a fresh policy (a policy class, or a
        ``functools.partial`` such as ``partial(EpsilonGreedy, epsilon=0.2)``); called once
        per replicate.
    horizon : int
        Visits per replicate, >= 1.
    seed : int
        Run seed, >= 0; replicate *r* uses child *r* of ``SeedSequence(seed).spawn(replicates)``.
    replicates : int, default 1
        Independent runs, >= 1.

    Returns
    -------
    SimulationResult

    Raises
    ------
    TypeError
        If ``policy`` is not a factory, or an integer argument is not an integer.
    ValueError
        If ``rewards`` is not a 2-D 0/1 matrix with at least one arm, or ``horizon``,
        ``seed``, ``replicates`` are out of range, or the policy picks an arm out of range.
    core.errors.EmptyDataError
        If ``rewards`` has no rows (no held-out customers).

    Examples
    --------
    >>> from core.bandits.policies import UCB1
    >>> res = simulate([[1, 0], [0, 0], [1, 1]], UCB1, horizon=50, seed=1, replicates=2)
    >>> res.regret.shape, res.true_means.round(3).tolist()
    ((2, 50), [0.667, 0.333])
    """
    try:
        table = np.asarray(rewards, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"rewards must be a numeric 0/1 matrix, got {type(rewards).__name__}") \
            from None
    if table.ndim != 2:
        raise ValueError(f"rewards must be 2-D (n_contexts, n_arms), got shape {table.shape}")
    n_contexts, n_arms = table.shape
    if n_arms == 0:
        raise ValueError("rewards must have at least one arm (column), got 0")
    if n_contexts == 0:
        raise EmptyDataError("no held-out customers to simulate visits from (rewards has 0 rows)")
    if not np.all((table == 0.0) | (table == 1.0)):
        raise ValueError("rewards must contain only 0 and 1")
    factory = _check_factory(policy)
    horizon = _check_int(horizon, "horizon", 1)
    seed = _check_int(seed, "seed", 0)
    replicates = _check_int(replicates, "replicates", 1)

    arms = np.empty((replicates, horizon), dtype=np.int64)
    got = np.empty((replicates, horizon), dtype=np.float64)
    name = ""
    for r, rng in enumerate(_children(seed, replicates)):
        pol = _new_policy(factory, n_arms)
        name = getattr(pol, "name", type(pol).__name__)
        visits = rng.integers(n_contexts, size=horizon)
        rows = table[visits].tolist()          # (horizon, n_arms) Python floats: cheap lookups
        select, update = pol.select, pol.update
        played = [0] * horizon
        earned = [0.0] * horizon
        for t in range(horizon):
            a = select(rng)
            if not 0 <= a < n_arms:
                raise _bad_arm(pol, a, n_arms)
            x = rows[t][a]
            update(a, x)
            played[t] = a
            earned[t] = x
        arms[r] = played
        got[r] = earned
    return _result(arms, got, table.mean(axis=0), name, seed)


def simulate_bernoulli(true_rates, policy: Callable, horizon: int, seed: int,
                       replicates: int = 1) -> SimulationResult:
    """Simulate a policy on arms with known Bernoulli conversion rates.

    At each step the policy picks arm *a*, then the reward is ``rng.random() < true_rates[a]``
    drawn from the replicate's generator (the same generator the policy uses). With
    :class:`~core.bandits.policies.ThompsonSampling` this consumes the generator exactly like
    the case-20 reference simulation, so the two agree draw for draw.

    Parameters
    ----------
    true_rates : array_like, shape (n_arms,)
        Conversion rate of each arm, in ``[0, 1]``.
    policy : callable
        Zero-argument policy factory (see :func:`simulate`).
    horizon : int
        Steps per replicate, >= 1.
    seed : int
        Run seed, >= 0 (child seeds via ``SeedSequence(seed).spawn(replicates)``).
    replicates : int, default 1
        Independent runs, >= 1.

    Returns
    -------
    SimulationResult
        ``true_means`` equals ``true_rates``.

    Raises
    ------
    TypeError, ValueError
        As :func:`simulate`; ``ValueError`` if ``true_rates`` is empty, not 1-D, or outside
        ``[0, 1]``.

    Examples
    --------
    >>> from core.bandits.policies import ThompsonSampling
    >>> res = simulate_bernoulli([0.05, 0.08, 0.12], ThompsonSampling, 2000, seed=20261129)
    >>> bool(res.regret[0, -1] <= 2000 * (0.12 - 0.05))
    True
    """
    try:
        p = np.asarray(true_rates, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"true_rates must be numeric, got {type(true_rates).__name__}") from None
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"true_rates must be a non-empty 1-D array, got shape {p.shape}")
    if not np.all((p >= 0.0) & (p <= 1.0)):
        raise ValueError(f"true_rates must be in [0, 1], got {p.tolist()}")
    factory = _check_factory(policy)
    horizon = _check_int(horizon, "horizon", 1)
    seed = _check_int(seed, "seed", 0)
    replicates = _check_int(replicates, "replicates", 1)
    n_arms = p.size
    rates = p.tolist()

    arms = np.empty((replicates, horizon), dtype=np.int64)
    got = np.empty((replicates, horizon), dtype=np.float64)
    name = ""
    for r, rng in enumerate(_children(seed, replicates)):
        pol = _new_policy(factory, n_arms)
        name = getattr(pol, "name", type(pol).__name__)
        select, update, draw = pol.select, pol.update, rng.random
        played = [0] * horizon
        earned = [0.0] * horizon
        for t in range(horizon):
            a = select(rng)
            if not 0 <= a < n_arms:
                raise _bad_arm(pol, a, n_arms)
            x = 1.0 if draw() < rates[a] else 0.0
            update(a, x)
            played[t] = a
            earned[t] = x
        arms[r] = played
        got[r] = earned
    return _result(arms, got, p.copy(), name, seed)
