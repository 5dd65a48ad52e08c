"""Bernoulli-reward bandit policies that share one interface, plus Beta-posterior helpers.

Each policy picks one arm (a recommendation strategy) per visit and learns from a 0/1 reward
(the visitor bought from that arm's slate, or did not). All policies have the same verbs:

``reset(n_arms)``
    Forget everything and get ready for ``n_arms`` arms.
``select(rng) -> int``
    Pick the arm to show. All randomness comes from ``rng`` (a ``numpy.random.Generator``),
    so a seeded generator makes the whole run reproducible.
``update(arm, reward)``
    Record the reward in ``[0, 1]`` that ``arm`` earned.

and expose ``name`` (a label for charts), ``counts`` (pulls per arm, ``(n_arms,)`` int) and
``successes`` (summed rewards per arm, ``(n_arms,)`` float).

This module knows nothing about the simulator or the statistics module; they only rely on the
verbs above.

Speed note: the per-step work runs on small Python lists rather than numpy arrays, because
for a handful of arms a numpy call costs more in overhead (about 1-8 us) than the arithmetic
it saves. ``counts`` and ``successes`` are returned as read-only numpy snapshots.
"""
from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod

import numpy as np

__all__ = [
    "Policy",
    "FixedSplit",
    "EpsilonGreedy",
    "UCB1",
    "ThompsonSampling",
    "POLICIES",
    "beta_posterior",
    "prob_best",
]


# --- argument checks --------------------------------------------------------------------------
def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _randint(rng: np.random.Generator, n: int) -> int:
    """Uniform integer in ``[0, n)`` from one ``rng.random()`` draw.

    ``floor(U * n)`` with a 53-bit uniform ``U``: bias below ``n / 2**53``, and about three
    times cheaper than ``rng.integers(n)`` for a scalar. ``min`` guards the rounding edge.
    """
    return min(int(rng.random() * n), n - 1)


def _random_choice(rng: np.random.Generator, options: list[int]) -> int:
    """One element of ``options``, uniformly; no rng draw when there is a single option."""
    if len(options) == 1:
        return options[0]
    return options[_randint(rng, len(options))]


# --- the interface ----------------------------------------------------------------------------
class Policy(ABC):
    """Base class: the shared state (pull counts, summed rewards) and ``reset``/``update``.

    Subclasses implement :meth:`select`. A policy must be ``reset`` before its first
    ``select``; ``reset`` may be called again to start over.

    Attributes
    ----------
    name : str
        Label for tables and charts.
    counts : numpy.ndarray, shape (n_arms,), int64
        Times each arm was updated (shown). Read-only snapshot.
    successes : numpy.ndarray, shape (n_arms,), float64
        Summed rewards per arm (conversions). Read-only snapshot.
    """

    name: str = "policy"

    def __init__(self) -> None:
        self._counts: list[int] = []
        self._successes: list[float] = []
        self._n_arms = 0
        self._t = 0            # total updates so far
        self._n_tried = 0      # arms with at least one update

    # state ------------------------------------------------------------------------------------
    def reset(self, n_arms: int) -> None:
        """Forget all rewards and prepare for ``n_arms`` arms.

        Parameters
        ----------
        n_arms : int
            Number of arms, >= 1.

        Raises
        ------
        TypeError
            If ``n_arms`` is not an integer.
        ValueError
            If ``n_arms < 1``.
        """
        n_arms = _check_int(n_arms, "n_arms", 1)
        self._n_arms = n_arms
        self._counts = [0] * n_arms
        self._successes = [0.0] * n_arms
        self._t = 0
        self._n_tried = 0

    @property
    def n_arms(self) -> int:
        """Number of arms set by the last :meth:`reset` (0 before the first)."""
        return self._n_arms

    @property
    def counts(self) -> np.ndarray:
        out = np.array(self._counts, dtype=np.int64)
        out.flags.writeable = False
        return out

    @property
    def successes(self) -> np.ndarray:
        out = np.array(self._successes, dtype=np.float64)
        out.flags.writeable = False
        return out

    def update(self, arm: int, reward: float) -> None:
        """Record that ``arm`` was shown and earned ``reward``.

        Parameters
        ----------
        arm : int
            Arm index in ``[0, n_arms)``.
        reward : float
            Reward in ``[0, 1]`` (1 = converted).

        Raises
        ------
        ValueError
            If ``arm`` is out of range or ``reward`` is outside ``[0, 1]`` (or NaN).
        """
        counts = self._counts
        if not 0 <= arm < self._n_arms:
            if not self._n_arms:
                raise RuntimeError(f"{self.name}: call reset(n_arms) before update()")
            raise ValueError(f"arm must be in [0, {self._n_arms}), got {arm!r}")
        if not 0.0 <= reward <= 1.0:
            raise ValueError(f"reward must be in [0, 1], got {reward!r}")
        if counts[arm] == 0:
            self._n_tried += 1
        counts[arm] += 1
        self._successes[arm] += reward
        self._t += 1

    def _untried(self) -> list[int]:
        return [i for i, c in enumerate(self._counts) if c == 0]

    def _require_reset(self) -> None:
        if not self._n_arms:
            raise RuntimeError(f"{self.name}: call reset(n_arms) before select()")

    @abstractmethod
    def select(self, rng: np.random.Generator) -> int:
        """Pick the arm to show next.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of all randomness.

        Returns
        -------
        int
            Arm index in ``[0, n_arms)``.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class FixedSplit(Policy):
    """A/B(/n) test: every visit goes to a uniformly random arm, whatever the rewards.

    Each arm gets ``1 / n_arms`` of the traffic in expectation. This is the baseline the
    adaptive policies are compared with; it never learns, so its regret grows linearly,
    ``E[R_T] = T * (p* - mean(p))``.

    Examples
    --------
    >>> import numpy as np
    >>> policy = FixedSplit()
    >>> policy.reset(3)
    >>> arm = policy.select(np.random.default_rng(0))
    >>> 0 <= arm < 3
    True
    """

    name = "A/B split"

    def select(self, rng: np.random.Generator) -> int:
        self._require_reset()
        return _randint(rng, self._n_arms)


class EpsilonGreedy(Policy):
    r"""Epsilon-greedy: explore a random arm with probability epsilon, else exploit the best mean.

    Untried arms are played first (in random order). Afterwards, at each step, with probability
    :math:`\varepsilon` an arm is drawn uniformly at random; otherwise the arm with the highest
    empirical mean :math:`\hat\mu_i = s_i / n_i` is played, ties broken uniformly at random.

    Parameters
    ----------
    epsilon : float, default 0.1
        Exploration probability, in ``[0, 1]``. ``0`` is pure greedy, ``1`` is an A/B split.

    Raises
    ------
    TypeError
        If ``epsilon`` is not a real number.
    ValueError
        If ``epsilon`` is outside ``[0, 1]``.

    References
    ----------
    .. [1] R. S. Sutton and A. G. Barto, *Reinforcement Learning: An Introduction*, 2nd ed.,
       MIT Press, 2018, section 2.2-2.4 (action-value methods, epsilon-greedy).

    Examples
    --------
    >>> EpsilonGreedy(0.2).name
    'epsilon-greedy (epsilon=0.2)'
    """

    def __init__(self, epsilon: float = 0.1) -> None:
        super().__init__()
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real):
            raise TypeError(f"epsilon must be a real number, got {type(epsilon).__name__}")
        epsilon = float(epsilon)
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        self._epsilon = epsilon
        self.name = f"epsilon-greedy (epsilon={epsilon:g})"

    @property
    def epsilon(self) -> float:
        """Exploration probability, in ``[0, 1]``."""
        return self._epsilon

    def select(self, rng: np.random.Generator) -> int:
        self._require_reset()
        k = self._n_arms
        if self._n_tried < k:
            return _random_choice(rng, self._untried())
        if rng.random() < self._epsilon:
            return _randint(rng, k)
        means = [s / n for s, n in zip(self._successes, self._counts)]
        best = max(means)
        return _random_choice(rng, [i for i, m in enumerate(means) if m == best])

    def __repr__(self) -> str:
        return f"EpsilonGreedy(epsilon={self._epsilon!r})"


class UCB1(Policy):
    r"""UCB1: play the arm with the highest upper confidence bound on its mean.

    Each arm is played once first (untried arms in random order). Then, after :math:`t` pulls
    in total, the policy plays

    .. math:: \arg\max_i \; \hat\mu_i + \sqrt{\frac{2 \ln t}{n_i}}

    where :math:`\hat\mu_i = s_i / n_i` is arm *i*'s empirical mean over its :math:`n_i` pulls.
    Ties are broken uniformly at random. Expected regret is :math:`O(\log T)` for rewards in
    ``[0, 1]``.

    References
    ----------
    .. [1] P. Auer, N. Cesa-Bianchi and P. Fischer, "Finite-time Analysis of the Multiarmed
       Bandit Problem", *Machine Learning* 47, 235-256 (2002), figure 1 (UCB1).

    Examples
    --------
    >>> import numpy as np
    >>> policy = UCB1()
    >>> policy.reset(2)
    >>> rng = np.random.default_rng(0)
    >>> first = policy.select(rng); policy.update(first, 0.0)
    >>> policy.select(rng) == 1 - first     # the untried arm comes next
    True
    """

    name = "UCB1"

    def select(self, rng: np.random.Generator) -> int:
        self._require_reset()
        if self._n_tried < self._n_arms:
            return _random_choice(rng, self._untried())
        c = 2.0 * math.log(self._t)
        sqrt = math.sqrt
        index = [s / n + sqrt(c / n) for s, n in zip(self._successes, self._counts)]
        best = max(index)
        return _random_choice(rng, [i for i, v in enumerate(index) if v == best])


class ThompsonSampling(Policy):
    r"""Beta-Bernoulli Thompson sampling with a uniform Beta(1, 1) prior.

    At each step draw one plausible conversion rate per arm from its posterior and play the
    arm with the largest draw:

    .. math:: \theta_i \sim \mathrm{Beta}(1 + s_i,\; 1 + f_i), \qquad a = \arg\max_i \theta_i

    with :math:`s_i` successes and :math:`f_i = n_i - s_i` failures (shown minus successes).
    A never-shown arm draws from Beta(1, 1), the uniform distribution; it is never Beta(0, 0).
    No separate "play each arm once" phase is needed. The draws are made arm by arm, in arm
    order, from ``rng`` (``rng.beta(alpha_i, beta_i)``), which consumes the generator exactly
    as ``rng.beta(alphas, betas)`` on arrays would.

    References
    ----------
    .. [1] W. R. Thompson, "On the Likelihood that One Unknown Probability Exceeds Another in
       View of the Evidence of Two Samples", *Biometrika* 25(3/4), 285-294 (1933).
    .. [2] O. Chapelle and L. Li, "An Empirical Evaluation of Thompson Sampling", *Advances in
       Neural Information Processing Systems* 24 (2011), algorithm 2.

    Examples
    --------
    >>> import numpy as np
    >>> policy = ThompsonSampling()
    >>> policy.reset(3)
    >>> policy.update(2, 1.0)
    >>> beta_posterior(policy.counts, policy.successes)["alpha"].tolist()
    [1.0, 1.0, 2.0]
    """

    name = "Thompson sampling"

    # Above this many arms one vectorised rng.beta call beats the per-arm loop. Both consume
    # the generator identically, so the switch never changes results.
    _VECTOR_MIN_ARMS = 24

    def select(self, rng: np.random.Generator) -> int:
        self._require_reset()
        s, n = self._successes, self._counts
        if self._n_arms >= self._VECTOR_MIN_ARMS:
            s_arr = np.asarray(s)
            draws = rng.beta(1.0 + s_arr, 1.0 + np.asarray(n) - s_arr)
            return int(np.argmax(draws))
        beta = rng.beta
        draws = [beta(1.0 + si, 1.0 + ni - si) for si, ni in zip(s, n)]
        return draws.index(max(draws))


POLICIES: dict[str, type[Policy]] = {
    "A/B split": FixedSplit,
    "epsilon-greedy": EpsilonGreedy,
    "UCB1": UCB1,
    "Thompson sampling": ThompsonSampling,
}
"""Display name -> policy class (each class is a zero-argument factory with its defaults)."""


# --- posterior helpers -----------------------------------------------------------------------
def _as_counts(value, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numeric, got {type(value).__name__}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return arr


def beta_posterior(shown, successes) -> dict:
    r"""Beta posterior of an arm's conversion rate under a uniform Beta(1, 1) prior.

    With :math:`s` successes out of :math:`n` shown and :math:`f = n - s` failures:

    .. math::

        \alpha = 1 + s, \quad \beta = 1 + f, \quad
        \text{mean} = \frac{\alpha}{\alpha + \beta}, \quad
        \text{variance} = \frac{\alpha\beta}{(\alpha + \beta)^2 (\alpha + \beta + 1)}

    An arm with no data gets Beta(1, 1) (mean 0.5, variance 1/12), never Beta(0, 0).

    Parameters
    ----------
    shown : int or array_like
        Times each arm was shown, >= 0.
    successes : int or array_like
        Conversions per arm, in ``[0, shown]``. Broadcast against ``shown``.

    Returns
    -------
    dict
        ``alpha``, ``beta``, ``mean``, ``variance``: floats for scalar inputs, arrays of the
        broadcast shape otherwise.

    Raises
    ------
    TypeError
        If an argument is not numeric.
    ValueError
        If an argument is negative, not finite, or ``successes > shown``.

    References
    ----------
    .. [1] O. Chapelle and L. Li, "An Empirical Evaluation of Thompson Sampling", NeurIPS 2011.

    Examples
    --------
    >>> post = beta_posterior(250, 30)
    >>> post["alpha"], post["beta"], round(post["mean"], 6)
    (31.0, 221.0, 0.123016)
    """
    n = _as_counts(shown, "shown")
    s = _as_counts(successes, "successes")
    try:
        n, s = np.broadcast_arrays(n, s)
    except ValueError:
        raise ValueError(f"shown and successes must have matching shapes, got {np.shape(n)} "
                         f"and {np.shape(s)}") from None
    if np.any(s > n):
        raise ValueError(f"successes must be <= shown, got successes={successes!r}, "
                         f"shown={shown!r}")
    alpha = 1.0 + s
    beta = 1.0 + (n - s)
    total = alpha + beta
    out = {"alpha": alpha, "beta": beta, "mean": alpha / total,
           "variance": alpha * beta / (total ** 2 * (total + 1.0))}
    if out["alpha"].ndim == 0:
        return {k: float(v) for k, v in out.items()}
    return out


def prob_best(alphas, betas, n_draws: int = 100_000, seed: int = 0) -> np.ndarray:
    r"""Monte Carlo probability that each arm has the largest conversion rate.

    .. math:: P(\text{best}_i) = P\big(\theta_i = \max_j \theta_j\big), \quad
              \theta_j \sim \mathrm{Beta}(\alpha_j, \beta_j) \text{ independently}

    estimated as the share of ``n_draws`` joint draws in which arm *i* has the largest sample.
    The standard error of each entry is at most :math:`0.5 / \sqrt{n\_draws}` (0.0016 for
    100,000 draws).

    Parameters
    ----------
    alphas, betas : array_like, shape (n_arms,)
        Beta parameters, > 0 (e.g. from :func:`beta_posterior`).
    n_draws : int, default 100_000
        Number of joint draws, >= 1.
    seed : int, default 0
        Seed of the generator (``numpy.random.default_rng(seed)``); same seed, same answer.

    Returns
    -------
    numpy.ndarray, shape (n_arms,)
        Probabilities in ``[0, 1]`` that sum to 1.

    Raises
    ------
    TypeError
        If ``n_draws`` or ``seed`` is not an integer.
    ValueError
        If ``alphas``/``betas`` are empty, not 1-D, of different lengths, or not all > 0.

    References
    ----------
    .. [1] O. Chapelle and L. Li, "An Empirical Evaluation of Thompson Sampling", NeurIPS 2011.

    Examples
    --------
    >>> prob_best([31, 28, 9, 1], [221, 154, 33, 1]).round(2).tolist()
    [0.0, 0.03, 0.19, 0.78]
    """
    a = np.asarray(alphas, dtype=np.float64)
    b = np.asarray(betas, dtype=np.float64)
    for arr, name in ((a, "alphas"), (b, "betas")):
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
        if not np.all(np.isfinite(arr) & (arr > 0)):
            raise ValueError(f"{name} must be finite and > 0, got {arr.tolist()}")
    if a.shape != b.shape:
        raise ValueError(f"alphas and betas must have the same length, got {a.size} and {b.size}")
    n_draws = _check_int(n_draws, "n_draws", 1)
    seed = _check_int(seed, "seed", 0)
    rng = np.random.default_rng(seed)
    k = a.size
    wins = np.zeros(k, dtype=np.int64)
    # Chunked to bound memory; consecutive chunks consume the generator exactly like one
    # (n_draws, k) draw, so the answer does not depend on the chunk size.
    chunk = max(1, 2_000_000 // k)
    done = 0
    while done < n_draws:
        m = min(chunk, n_draws - done)
        draws = rng.beta(a, b, size=(m, k))
        wins += np.bincount(draws.argmax(axis=1), minlength=k)
        done += m
    return wins / n_draws
