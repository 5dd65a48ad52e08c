"""Simulated A/B tuning grounded in held-out orders.

1. Hold out each customer's last order (``leave_last_order_out``); fit the strategies on the rest.
2. For each held-out customer and strategy (arm): does the top-k slate contain an item of the held-out
   order? That 0/1 matrix is the ground truth; an arm's true conversion rate is its column mean.
3. Replay bandit policies against it (``core.bandits.simulate``): each simulated visit is a held-out
   customer drawn at random; regret is computed from the true rates.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from core.bandits import POLICIES, SimulationResult, arm_table, simulate, wilson_interval
from core.bandits.policies import EpsilonGreedy
from core.evaluation.holdout import slate_hits


@dataclass(frozen=True)
class ExperimentSettings:
    """Settings of a simulated experiment.

    Parameters
    ----------
    horizon : int >= 10        simulated visits per replicate
    replicates : int in [1, 500]
    seed : int >= 0
    slate_size : int in [1, 100]   recommendations shown per visit (k)
    epsilon : float in [0, 1]   exploration rate of epsilon-greedy
    policies : tuple of names from core.bandits.POLICIES
    """

    horizon: int = 3000
    replicates: int = 10
    seed: int = 2026
    slate_size: int = 10
    epsilon: float = 0.1
    policies: tuple = tuple(POLICIES)

    def __post_init__(self):
        for name, lo, hi in (("horizon", 10, 1_000_000), ("replicates", 1, 500), ("slate_size", 1, 100),
                             ("seed", 0, 2**63 - 1)):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
                raise TypeError(f"{name} must be an int, got {type(v).__name__}")
            if not lo <= v <= hi:
                raise ValueError(f"{name} must be in [{lo}, {hi}], got {v}")
        if not 0 <= self.epsilon <= 1:
            raise ValueError(f"epsilon must be in [0, 1], got {self.epsilon}")
        unknown = [p for p in self.policies if p not in POLICIES]
        if unknown or not self.policies:
            raise ValueError(f"policies must be a non-empty subset of {list(POLICIES)}, got {list(self.policies)}")


@dataclass(frozen=True)
class ExperimentResult:
    """Ground truth and one simulation per policy.

    Attributes
    ----------
    hits : DataFrame (customers x arms) of 0/1.
    arms : DataFrame: arm, rate (held-out conversion), customers, conversions, ci_low, ci_high (Wilson 95%).
    runs : dict policy name -> SimulationResult.
    """

    hits: pd.DataFrame
    arms: pd.DataFrame
    runs: dict
    settings: ExperimentSettings

    def curves(self, value: str) -> pd.DataFrame:
        """Per step and policy: mean of ``value`` ('regret' or 'cumulative_reward') over replicates, with the
        2.5 and 97.5 percentiles as ``<value>_low``/``<value>_high``. Thinned to <= 400 points per policy."""
        rows = []
        for name, run in self.runs.items():
            arr = getattr(run, value)
            step = np.unique(np.linspace(0, arr.shape[1] - 1, min(400, arr.shape[1])).astype(int))
            rows.append(pd.DataFrame({"policy": name, "step": step + 1, value: arr[:, step].mean(axis=0),
                                      f"{value}_low": np.percentile(arr[:, step], 2.5, axis=0),
                                      f"{value}_high": np.percentile(arr[:, step], 97.5, axis=0)}))
        return pd.concat(rows, ignore_index=True)

    def traffic(self, policy: str) -> pd.DataFrame:
        """Cumulative share of visits per arm over time for one policy (step, arm, share)."""
        run = self.runs[policy]
        share = run.traffic_share()
        step = np.unique(np.linspace(0, share.shape[0] - 1, min(300, share.shape[0])).astype(int))
        names = list(self.hits.columns)
        return pd.DataFrame([(s + 1, names[a], share[s, a]) for s in step for a in range(share.shape[1])],
                            columns=["step", "arm", "share"])

    def policy_tables(self) -> pd.DataFrame:
        """Per policy and arm: visits, conversions, realised rate with Wilson 95% interval, traffic share."""
        frames = []
        for name, run in self.runs.items():
            t = arm_table(run, list(self.hits.columns))
            t.insert(0, "policy", name)
            frames.append(t)
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> pd.DataFrame:
        """Per policy: total conversions (mean over replicates), conversion rate, final regret (mean, 95% range)."""
        rows = []
        for name, run in self.runs.items():
            fin = run.regret[:, -1]
            rows.append({"policy": name, "conversions": run.cumulative_reward[:, -1].mean(),
                         "conversion_rate": run.rewards.mean(), "final_regret": fin.mean(),
                         "regret_p2.5": np.percentile(fin, 2.5), "regret_p97.5": np.percentile(fin, 97.5),
                         "best_arm_share_last_10pct": float((run.arms[:, -max(1, run.horizon // 10):]
                                                             == int(np.argmax(run.true_means))).mean())})
        return pd.DataFrame(rows)


def run_experiment(strategies: Sequence, test: pd.DataFrame, settings: ExperimentSettings = ExperimentSettings(),
                   progress: Callable[[float, str], None] | None = None) -> ExperimentResult:
    """Score every strategy's slates on held-out orders, then replay each policy.

    Parameters
    ----------
    strategies : fitted strategies (the arms), fit on the training orders only.
    test : held-out order lines (customer_id, product_id).
    settings : ExperimentSettings
    progress : callable(fraction, message), optional

    Raises
    ------
    EmptyDataError (from the simulator) when no held-out customer is known to the strategies.
    """
    p = progress or (lambda f, m: None)
    hits = slate_hits(strategies, test, settings.slate_size, progress=lambda f, m: p(0.8 * f, m))
    conv = hits.sum(axis=0).to_numpy()
    n = len(hits)
    lo, hi = wilson_interval(conv, np.full(len(conv), n))
    arms = pd.DataFrame({"arm": hits.columns, "rate": conv / max(n, 1), "customers": n, "conversions": conv,
                         "ci_low": lo, "ci_high": hi})
    runs = {}
    for i, name in enumerate(settings.policies):
        p(0.8 + 0.2 * i / len(settings.policies), f"simulating {name}")
        factory = (lambda: EpsilonGreedy(settings.epsilon)) if POLICIES[name] is EpsilonGreedy else POLICIES[name]
        runs[name] = simulate(hits.to_numpy(), factory, settings.horizon, settings.seed, settings.replicates)
    p(1.0, "done")
    return ExperimentResult(hits, arms, runs, settings)
