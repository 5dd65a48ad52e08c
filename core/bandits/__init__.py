"""Bandit experiments: policies (select/update), a simulator, and statistics.

Three parts that never reach into each other:

- :mod:`core.bandits.policies`: A/B split, epsilon-greedy, UCB1, Thompson sampling, Beta
  posteriors and P(best arm).
- :mod:`core.bandits.simulator`: replays a policy on held-out customers (or known rates) and
  measures regret from the true arm means.
- :mod:`core.bandits.stats`: Wilson intervals, per-arm summary table, two-proportion z-test.
"""
from core.bandits.policies import (
    POLICIES,
    EpsilonGreedy,
    FixedSplit,
    Policy,
    ThompsonSampling,
    UCB1,
    beta_posterior,
    prob_best,
)
from core.bandits.simulator import FRAME_COLUMNS, SimulationResult, simulate, simulate_bernoulli
from core.bandits.stats import ARM_TABLE_COLUMNS, arm_table, two_proportion_z_test, wilson_interval

__all__ = [
    "Policy",
    "FixedSplit",
    "EpsilonGreedy",
    "UCB1",
    "ThompsonSampling",
    "POLICIES",
    "beta_posterior",
    "prob_best",
    "SimulationResult",
    "simulate",
    "simulate_bernoulli",
    "FRAME_COLUMNS",
    "wilson_interval",
    "arm_table",
    "two_proportion_z_test",
    "ARM_TABLE_COLUMNS",
]
