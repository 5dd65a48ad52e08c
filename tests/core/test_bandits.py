"""Tests for core.bandits: policies, simulator, stats.

Expected figures for the posterior and the Thompson-sampling regret come from case 20
(shared/cases/20-thompson-sampling-priors-regret-seeds, case.json and reference.py); they are
inlined here so the suite stands on its own.
"""
from __future__ import annotations

import ast
import functools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.bandits import (
    ARM_TABLE_COLUMNS,
    FRAME_COLUMNS,
    POLICIES,
    EpsilonGreedy,
    FixedSplit,
    SimulationResult,
    ThompsonSampling,
    UCB1,
    arm_table,
    beta_posterior,
    prob_best,
    simulate,
    simulate_bernoulli,
    two_proportion_z_test,
    wilson_interval,
)
from core.errors import CrossSellError, EmptyDataError

BANDITS_DIR = Path(__file__).resolve().parents[2] / "core" / "bandits"

# --- case 20 ----------------------------------------------------------------------------------
CASE20_POSTERIOR = {
    # name: (shown, successes, alpha, beta, mean, variance, wrong_mean_if_beta_is_1_plus_shown,
    #        prob_best)
    "bought_together": (250, 30, 31, 221, 0.123016, 0.000426, 0.109929, 0.0037),
    "same_category_bestseller": (180, 27, 28, 154, 0.153846, 0.000711, 0.133971, 0.0307),
    "text_similar": (40, 8, 9, 33, 0.214286, 0.003916, 0.18, 0.1863),
    "new_arm": (0, 0, 1, 1, 0.5, 0.083333, 0.5, 0.7793),
}
CASE20_RATES = [0.05, 0.08, 0.12]
CASE20_HORIZON = 2000
CASE20_SEED = 20261129
CASE20_MEAN_BAND = (13.647, 23.118)
CASE20_FULL = {"mean": 18.382, "sd": 10.243, "p05": 7.645, "p95": 38.561}  # 500 replicates


def case20_reference_run(rng, rates=CASE20_RATES, horizon=CASE20_HORIZON):
    """The oracle loop of case-20 reference.py (numpy, one replicate), returning arms and regret."""
    k = len(rates)
    s, f = np.zeros(k), np.zeros(k)
    arms, regret = np.empty(horizon, dtype=int), np.empty(horizon)
    best, acc = max(rates), 0.0
    for t in range(horizon):
        a = int(np.argmax(rng.beta(1 + s, 1 + f)))
        r = rng.random() < rates[a]
        s[a] += r
        f[a] += 1 - r
        acc += best - rates[a]
        arms[t], regret[t] = a, acc
    return arms, regret


@pytest.mark.parametrize("name", list(CASE20_POSTERIOR))
def test_beta_posterior_matches_case20(name):
    shown, succ, alpha, beta, mean, var, wrong_mean, _ = CASE20_POSTERIOR[name]
    post = beta_posterior(shown, succ)
    assert post["alpha"] == pytest.approx(alpha, abs=1e-6)
    assert post["beta"] == pytest.approx(beta, abs=1e-6)
    assert post["mean"] == pytest.approx(mean, abs=1e-6)
    assert post["variance"] == pytest.approx(var, abs=1e-6)
    if shown:  # Beta(1 + s, 1 + shown) is the classic mistake; make sure we are not making it
        assert post["mean"] != pytest.approx(wrong_mean, abs=1e-4)


def test_beta_posterior_vectorised_matches_scalar():
    shown = np.array([v[0] for v in CASE20_POSTERIOR.values()])
    succ = np.array([v[1] for v in CASE20_POSTERIOR.values()])
    post = beta_posterior(shown, succ)
    for i, (n, s) in enumerate(zip(shown, succ)):
        one = beta_posterior(int(n), int(s))
        for key in ("alpha", "beta", "mean", "variance"):
            assert post[key][i] == pytest.approx(one[key])


def test_prob_best_matches_case20():
    alphas = [v[2] for v in CASE20_POSTERIOR.values()]
    betas = [v[3] for v in CASE20_POSTERIOR.values()]
    expected = [v[7] for v in CASE20_POSTERIOR.values()]
    got = prob_best(alphas, betas, n_draws=100_000, seed=0)
    assert got.shape == (4,)
    assert got.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(got, expected, atol=0.005)
    # another seed is a different Monte Carlo estimate of the same numbers
    np.testing.assert_allclose(prob_best(alphas, betas, seed=7), expected, atol=0.005)
    np.testing.assert_array_equal(got, prob_best(alphas, betas, n_draws=100_000, seed=0))


def test_zero_data_arm_is_beta_1_1_never_beta_0_0():
    post = beta_posterior(0, 0)
    assert (post["alpha"], post["beta"]) == (1.0, 1.0)
    assert post["mean"] == 0.5 and post["variance"] == pytest.approx(1 / 12)

    class RecordingRng:
        """Wraps a Generator and records every Beta parameter Thompson sampling asks for."""

        def __init__(self, seed):
            self.rng = np.random.default_rng(seed)
            self.params = []

        def beta(self, a, b, *args, **kwargs):
            self.params.append((np.min(a), np.min(b)))
            return self.rng.beta(a, b, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(self.rng, name)

    policy = ThompsonSampling()
    policy.reset(4)
    rng = RecordingRng(1)
    for _ in range(50):
        arm = policy.select(rng)
        policy.update(arm, 0.0)
    assert rng.params and min(min(p) for p in rng.params) >= 1.0
    assert policy.counts.sum() == 50


def test_thompson_vector_path_consumes_rng_like_scalar_path(monkeypatch):
    scalar = simulate_bernoulli(CASE20_RATES, ThompsonSampling, 300, seed=5, replicates=2)
    monkeypatch.setattr(ThompsonSampling, "_VECTOR_MIN_ARMS", 1)
    vector = simulate_bernoulli(CASE20_RATES, ThompsonSampling, 300, seed=5, replicates=2)
    np.testing.assert_array_equal(scalar.arms, vector.arms)
    np.testing.assert_array_equal(scalar.rewards, vector.rewards)


def test_thompson_reproduces_case20_reference_draw_for_draw():
    res = simulate_bernoulli(CASE20_RATES, ThompsonSampling, CASE20_HORIZON, seed=CASE20_SEED,
                             replicates=3)
    children = np.random.SeedSequence(CASE20_SEED).spawn(3)
    for r, child in enumerate(children):
        arms, regret = case20_reference_run(np.random.default_rng(child))
        np.testing.assert_array_equal(res.arms[r], arms)
        np.testing.assert_allclose(res.regret[r], regret, rtol=0, atol=1e-9)


def test_thompson_mean_final_regret_in_case20_band():
    res = simulate_bernoulli(CASE20_RATES, ThompsonSampling, CASE20_HORIZON, seed=CASE20_SEED,
                             replicates=200)
    final = res.regret[:, -1]
    low, high = CASE20_MEAN_BAND
    assert low <= final.mean() <= high, final.mean()
    assert final.std(ddof=1) > 0


# --- regret -----------------------------------------------------------------------------------
def _regret_invariants(res: SimulationResult):
    p = res.true_means
    bound = res.horizon * (p.max() - p.min())
    assert np.all(np.diff(res.regret, axis=1) >= 0), "regret must be non-decreasing"
    assert np.all(res.regret >= 0)
    assert np.all(res.regret[:, -1] <= bound + 1e-9)
    # computed from the true means of the arms played, never from realised rewards
    np.testing.assert_allclose(res.regret, np.cumsum(p.max() - p[res.arms], axis=1))


@pytest.mark.parametrize("name", list(POLICIES))
def test_regret_invariants_bernoulli(name):
    res = simulate_bernoulli(CASE20_RATES, POLICIES[name], 1000, seed=3, replicates=10)
    _regret_invariants(res)
    assert res.regret[:, -1].max() <= 1000 * (0.12 - 0.05)
    reward_based = np.cumsum(max(CASE20_RATES) - res.rewards, axis=1)
    assert np.any(np.diff(reward_based, axis=1) < 0)   # what regret must NOT be


@pytest.mark.parametrize("name", list(POLICIES))
def test_regret_invariants_held_out(name, held_out):
    res = simulate(held_out, POLICIES[name], 800, seed=11, replicates=5)
    _regret_invariants(res)
    np.testing.assert_allclose(res.true_means, held_out.mean(axis=0))
    np.testing.assert_allclose(res.cumulative_reward, np.cumsum(res.rewards, axis=1))


# --- seeds ------------------------------------------------------------------------------------
@pytest.fixture
def held_out():
    """600 held-out customers x 3 arms; arm 2 converts about 60%, the others 5% and 10%."""
    rng = np.random.default_rng(2024)
    return (rng.random((600, 3)) < [0.05, 0.10, 0.60]).astype(np.int8)


@pytest.mark.parametrize("name", list(POLICIES))
def test_same_seed_identical_different_seed_different(name, held_out):
    a = simulate(held_out, POLICIES[name], 400, seed=42, replicates=4)
    b = simulate(held_out, POLICIES[name], 400, seed=42, replicates=4)
    for field in ("arms", "rewards", "cumulative_reward", "regret"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    c = simulate(held_out, POLICIES[name], 400, seed=43, replicates=4)
    assert not np.array_equal(a.arms, c.arms)
    # replicates use different child seeds, so they are not copies of one another
    assert len({row.tobytes() for row in a.arms}) == 4
    # child r depends only on (seed, r): a longer batch extends a shorter one
    d = simulate(held_out, POLICIES[name], 400, seed=42, replicates=2)
    np.testing.assert_array_equal(a.arms[:2], d.arms)


def test_bernoulli_seeds():
    a = simulate_bernoulli(CASE20_RATES, ThompsonSampling, 500, seed=1, replicates=3)
    b = simulate_bernoulli(CASE20_RATES, ThompsonSampling, 500, seed=1, replicates=3)
    c = simulate_bernoulli(CASE20_RATES, ThompsonSampling, 500, seed=2, replicates=3)
    np.testing.assert_array_equal(a.arms, b.arms)
    np.testing.assert_array_equal(a.regret, b.regret)
    assert not np.array_equal(a.arms, c.arms)
    assert not np.array_equal(a.arms[0], a.arms[1])


def test_factory_called_once_per_replicate_and_partial_works(held_out):
    made = []

    def factory():
        made.append(EpsilonGreedy(0.3))
        return made[-1]

    res = simulate(held_out, factory, 100, seed=0, replicates=3)
    assert len(made) == 3 and len({id(p) for p in made}) == 3
    assert all(p.counts.sum() == 100 for p in made)
    part = simulate(held_out, functools.partial(EpsilonGreedy, epsilon=0.3), 100, seed=0,
                    replicates=3)
    np.testing.assert_array_equal(res.arms, part.arms)
    assert part.policy_name == "epsilon-greedy (epsilon=0.3)"


def test_inputs_not_mutated(held_out):
    before = held_out.copy()
    rates = list(CASE20_RATES)
    simulate(held_out, UCB1, 200, seed=0, replicates=2)
    simulate_bernoulli(rates, UCB1, 200, seed=0)
    np.testing.assert_array_equal(held_out, before)
    assert rates == CASE20_RATES


# --- behaviour on a clear winner -------------------------------------------------------------
def test_adaptive_policies_find_the_best_arm_fixed_split_does_not(held_out):
    horizon, reps, late = 3000, 10, 500
    best = int(np.argmax(held_out.mean(axis=0)))
    shares = {}
    for name, cls in POLICIES.items():
        res = simulate(held_out, cls, horizon, seed=7, replicates=reps)
        shares[name] = res.traffic_share(window=late)[-1]
        np.testing.assert_allclose(res.traffic_share().sum(axis=1), 1.0)
    assert shares["UCB1"][best] > 0.8, shares["UCB1"]
    assert shares["Thompson sampling"][best] > 0.9, shares["Thompson sampling"]
    assert shares["epsilon-greedy"][best] > 0.85, shares["epsilon-greedy"]
    # A/B split: 1/3 each; over 10 x 500 late pulls the sd of a share is about 0.007
    np.testing.assert_allclose(shares["A/B split"], 1 / 3, atol=0.04)
    fixed = simulate(held_out, FixedSplit, horizon, seed=7, replicates=reps)
    np.testing.assert_allclose(fixed.traffic_share()[-1], 1 / 3, atol=0.02)


# --- policy interface (same checks for every policy) -----------------------------------------
@pytest.mark.parametrize("name", list(POLICIES))
def test_policy_interface(name):
    policy = POLICIES[name]()
    assert isinstance(policy.name, str) and policy.name
    policy.reset(3)
    rng = np.random.default_rng(0)
    for _ in range(60):
        arm = policy.select(rng)
        assert isinstance(arm, int) and 0 <= arm < 3
        policy.update(arm, 1.0 if arm == 1 else 0.0)
    assert policy.counts.dtype == np.int64 and policy.counts.shape == (3,)
    assert policy.counts.sum() == 60
    assert policy.successes[1] == policy.counts[1]
    assert policy.successes[[0, 2]].sum() == 0
    with pytest.raises(ValueError):
        policy.counts[0] = 5          # read-only snapshot
    policy.reset(2)                   # reset forgets everything
    assert policy.counts.tolist() == [0, 0] and policy.successes.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("cls", [EpsilonGreedy, UCB1])
def test_untried_arms_first(cls):
    policy = cls()
    policy.reset(5)
    rng = np.random.default_rng(3)
    first = []
    for _ in range(5):
        arm = policy.select(rng)
        first.append(arm)
        policy.update(arm, 0.0)
    assert sorted(first) == [0, 1, 2, 3, 4]


def test_ucb1_index_by_hand():
    policy = UCB1()
    policy.reset(2)
    policy.update(0, 0.0)
    policy.update(0, 0.0)
    policy.update(0, 0.0)
    policy.update(1, 0.0)
    # t = 4: arm 0 -> 0 + sqrt(2 ln 4 / 3) = 0.961; arm 1 -> 0 + sqrt(2 ln 4 / 1) = 1.665
    assert policy.select(np.random.default_rng(0)) == 1
    policy.update(1, 0.0)
    policy.update(1, 0.0)
    policy.update(0, 1.0)
    # t = 7: arm 0 -> 1/4 + sqrt(2 ln 7 / 4) = 1.236; arm 1 -> 0 + sqrt(2 ln 7 / 3) = 1.138
    assert 0.25 + math.sqrt(2 * math.log(7) / 4) > math.sqrt(2 * math.log(7) / 3)
    assert policy.select(np.random.default_rng(0)) == 0


def test_greedy_ties_broken_at_random_and_greedy_exploits():
    picks = set()
    for seed in range(40):
        policy = EpsilonGreedy(0.0)
        policy.reset(3)
        for arm in range(3):
            policy.update(arm, 0.0)          # all means 0: a three-way tie
        picks.add(policy.select(np.random.default_rng(seed)))
    assert picks == {0, 1, 2}
    policy = EpsilonGreedy(0.0)
    policy.reset(3)
    for arm, r in ((0, 0.0), (1, 1.0), (2, 0.0)):
        policy.update(arm, r)
    rng = np.random.default_rng(0)
    assert {policy.select(rng) for _ in range(50)} == {1}


def test_epsilon_one_is_uniform():
    res = simulate_bernoulli([0.1, 0.9], functools.partial(EpsilonGreedy, epsilon=1.0), 4000,
                             seed=0)
    assert res.traffic_share()[-1] == pytest.approx([0.5, 0.5], abs=0.03)


def test_registry():
    assert list(POLICIES) == ["A/B split", "epsilon-greedy", "UCB1", "Thompson sampling"]
    assert POLICIES["A/B split"] is FixedSplit and POLICIES["Thompson sampling"] is ThompsonSampling
    assert EpsilonGreedy().epsilon == 0.1


# --- result helpers ---------------------------------------------------------------------------
def _hand_result():
    # 2 replicates x 4 steps, 2 arms with true means 0.2 (arm 0) and 0.5 (arm 1)
    arms = np.array([[0, 0, 1, 1], [0, 1, 1, 1]])
    rewards = np.array([[0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]])
    p = np.array([0.2, 0.5])
    return SimulationResult(arms=arms, rewards=rewards, true_means=p,
                            cumulative_reward=np.cumsum(rewards, axis=1),
                            regret=np.cumsum(p.max() - p[arms], axis=1), policy_name="hand")


def test_traffic_share_by_hand():
    res = _hand_result()
    share = res.traffic_share()
    # step 1: both on arm 0; step 2: arm 0 in (2/2, 1/2) -> mean 0.75; step 4: (2/4, 1/4) -> 0.375
    np.testing.assert_allclose(share[:, 0], [1.0, 0.75, 0.5, 0.375])
    np.testing.assert_allclose(share.sum(axis=1), 1.0)
    win = res.traffic_share(window=2)
    # last two steps: all arm 1; steps 2-3: replicate 0 (0, 1), replicate 1 (1, 1) -> arm 0 = 0.25
    np.testing.assert_allclose(win[:, 0], [1.0, 0.75, 0.25, 0.0])
    np.testing.assert_allclose(res.traffic_share(window=10), share)


def test_to_frame():
    res = _hand_result()
    frame = res.to_frame(arm_names=["bought together", "similar"])
    assert tuple(frame.columns) == FRAME_COLUMNS
    assert len(frame) == 8
    assert frame["step"].tolist() == [1, 2, 3, 4] * 2
    assert frame["replicate"].tolist() == [0] * 4 + [1] * 4
    assert frame["arm"].iloc[4:].tolist() == ["bought together"] + ["similar"] * 3
    np.testing.assert_allclose(frame["regret"].iloc[:4], [0.3, 0.6, 0.6, 0.6])
    assert res.to_frame()["arm"].tolist() == [0, 0, 1, 1, 0, 1, 1, 1]


def test_result_is_immutable():
    res = _hand_result()
    with pytest.raises(AttributeError):
        res.arms = np.zeros((2, 4), dtype=int)
    with pytest.raises(ValueError):
        res.regret[0, 0] = -1.0


def test_arm_table_by_hand():
    table = arm_table(_hand_result(), ["A", "B"])
    assert tuple(table.columns) == ARM_TABLE_COLUMNS
    # arm 0: pulls 2 + 1 = 3, conversions 1 + 0 = 1; arm 1: pulls 2 + 3 = 5, conversions 1 + 2 = 3
    a, b = table.iloc[0], table.iloc[1]
    assert (a["arm"], b["arm"]) == ("A", "B")
    assert a["true_conversion"] == 0.2 and b["true_conversion"] == 0.5
    assert a["visits"] == 1.5 and b["visits"] == 2.5
    assert a["conversions"] == 0.5 and b["conversions"] == 1.5
    assert a["conversion_rate"] == pytest.approx(1 / 3) and b["conversion_rate"] == 0.6
    assert a["traffic_share"] == 3 / 8 and b["traffic_share"] == 5 / 8
    low, high = wilson_interval([1, 3], [3, 5])
    np.testing.assert_allclose(table["ci_low"], low)
    np.testing.assert_allclose(table["ci_high"], high)


def test_arm_table_unplayed_arm():
    res = simulate_bernoulli([0.5, 0.5, 0.5], FixedSplit, 1, seed=0)
    table = arm_table(res)
    unplayed = table[table["visits"] == 0]
    assert len(unplayed) == 2 and unplayed["conversion_rate"].isna().all()
    assert (unplayed["ci_low"] == 0).all() and (unplayed["ci_high"] == 1).all()
    assert table["arm"].tolist() == ["arm 0", "arm 1", "arm 2"]


# --- stats ------------------------------------------------------------------------------------
def test_wilson_known_values():
    z = 1.959963984540054
    z2 = z * z    # 3.841459
    # 0 of 10: p = 0, so centre = half = (z2 / 20) / (1 + z2 / 10); low = 0,
    # high = z2 / (10 + z2) = 3.841459 / 13.841459 = 0.277533
    low, high = wilson_interval(0, 10)
    assert low == pytest.approx(0.0, abs=1e-12)
    assert high == pytest.approx(z2 / (10 + z2), abs=1e-9)
    assert high == pytest.approx(0.277533, abs=1e-6)
    # 5 of 10: (s + z2/2 -+ z sqrt(s (n - s) / n + z2 / 4)) / (n + z2)
    #   = (6.920729 -+ 1.959964 * sqrt(2.5 + 0.960365)) / 13.841459
    #   = (6.920729 -+ 3.645937) / 13.841459 = (0.236593, 0.763407)
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.236593, abs=1e-6)
    assert high == pytest.approx(0.763407, abs=1e-6)
    # 10 of 10 mirrors 0 of 10
    low, high = wilson_interval(10, 10)
    assert (low, high) == pytest.approx((1 - 0.277533, 1.0), abs=1e-6)
    # no trials: the whole range
    assert wilson_interval(0, 0) == (0.0, 1.0)
    # vectorised, scalar-for-scalar the same
    lows, highs = wilson_interval([0, 5, 0], [10, 10, 0])
    np.testing.assert_allclose(lows, [0.0, 0.236593, 0.0], atol=1e-6)
    np.testing.assert_allclose(highs, [0.277533, 0.763407, 1.0], atol=1e-6)
    # wider at 99%
    assert wilson_interval(5, 10, 0.99)[0] < 0.236593


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.floats(0.5, 0.999))
def test_wilson_contains_the_estimate(sn, confidence):
    s, n = sn
    low, high = wilson_interval(s, n, confidence)
    assert 0.0 <= low <= high <= 1.0
    if n:
        assert low - 1e-12 <= s / n <= high + 1e-12


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 5_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_beta_posterior_properties(sn):
    s, n = sn
    post = beta_posterior(n, s)
    assert post["alpha"] >= 1 and post["beta"] >= 1
    assert 0 < post["mean"] < 1 and 0 < post["variance"] <= 1 / 12 + 1e-15
    assert post["alpha"] + post["beta"] == n + 2


def test_two_proportion_z_test_known_values():
    # 12% of 1000 vs 9% of 1000: pooled 0.105, se = sqrt(0.105 * 0.895 * 0.002)
    # = sqrt(0.00018795) = 0.0137095, z = 0.03 / 0.0137095 = 2.18827,
    # p = 2 (1 - Phi(2.18827)) = 0.02865
    z, p = two_proportion_z_test(120, 1000, 90, 1000)
    assert z == pytest.approx(2.18827, abs=1e-5)
    assert p == pytest.approx(0.02865, abs=1e-5)
    z2, p2 = two_proportion_z_test(90, 1000, 120, 1000)
    assert (z2, p2) == pytest.approx((-z, p))
    assert two_proportion_z_test(30, 100, 30, 100) == (0.0, 1.0)
    assert two_proportion_z_test(0, 50, 0, 80) == (0.0, 1.0)      # pooled rate 0


def test_two_proportion_z_squared_is_pearson_chi_square():
    from scipy.stats import chi2_contingency

    for s1, n1, s2, n2 in ((120, 1000, 90, 1000), (8, 40, 30, 250), (3, 17, 1, 60)):
        z, p = two_proportion_z_test(s1, n1, s2, n2)
        chi2, p_chi, _, _ = chi2_contingency([[s1, n1 - s1], [s2, n2 - s2]], correction=False)
        assert z * z == pytest.approx(chi2)
        assert p == pytest.approx(p_chi)


# --- argument validation ----------------------------------------------------------------------
def _reset(n):
    policy = UCB1()
    policy.reset(n)


def _update(arm, reward):
    policy = ThompsonSampling()
    policy.reset(2)
    policy.update(arm, reward)


class BadPolicy:
    name = "bad"

    def reset(self, n_arms):
        pass

    def select(self, rng):
        return 7

    def update(self, arm, reward):
        pass


HELD = np.array([[1, 0], [0, 1], [1, 1]])

BAD_CALLS = [
    (lambda: EpsilonGreedy(1.5), ValueError, r"epsilon must be in \[0, 1\], got 1.5"),
    (lambda: EpsilonGreedy(-0.1), ValueError, r"epsilon must be in \[0, 1\]"),
    (lambda: EpsilonGreedy(float("nan")), ValueError, r"epsilon must be in \[0, 1\]"),
    (lambda: EpsilonGreedy("0.1"), TypeError, r"epsilon must be a real number"),
    (lambda: EpsilonGreedy(True), TypeError, r"epsilon must be a real number"),
    (lambda: _reset(0), ValueError, r"n_arms must be >= 1, got 0"),
    (lambda: _reset(2.0), TypeError, r"n_arms must be an integer"),
    (lambda: _update(2, 1.0), ValueError, r"arm must be in \[0, 2\), got 2"),
    (lambda: _update(-1, 1.0), ValueError, r"arm must be in \[0, 2\)"),
    (lambda: _update(0, 2.0), ValueError, r"reward must be in \[0, 1\], got 2.0"),
    (lambda: _update(0, float("nan")), ValueError, r"reward must be in \[0, 1\]"),
    (lambda: UCB1().select(np.random.default_rng(0)), RuntimeError, r"reset\(n_arms\)"),
    (lambda: beta_posterior(-1, 0), ValueError, r"shown must be >= 0"),
    (lambda: beta_posterior(10, 11), ValueError, r"successes must be <= shown"),
    (lambda: beta_posterior("ten", 1), TypeError, r"shown must be numeric"),
    (lambda: beta_posterior([1, 2], [1, 1, 1]), ValueError, r"matching shapes"),
    (lambda: prob_best([0, 1], [1, 1]), ValueError, r"alphas must be finite and > 0"),
    (lambda: prob_best([1, 1], [1, -1]), ValueError, r"betas must be finite and > 0"),
    (lambda: prob_best([1, 1], [1, 1, 1]), ValueError, r"alphas and betas must have the same"),
    (lambda: prob_best([], []), ValueError, r"alphas must be a non-empty 1-D"),
    (lambda: prob_best([1, 1], [1, 1], n_draws=0), ValueError, r"n_draws must be >= 1"),
    (lambda: prob_best([1, 1], [1, 1], seed=1.5), TypeError, r"seed must be an integer"),
    (lambda: simulate([1, 0, 1], UCB1, 10, 0), ValueError, r"rewards must be 2-D"),
    (lambda: simulate([[1, 2]], UCB1, 10, 0), ValueError, r"rewards must contain only 0 and 1"),
    (lambda: simulate(np.zeros((3, 0)), UCB1, 10, 0), ValueError, r"rewards must have at least"),
    (lambda: simulate(np.zeros((0, 3)), UCB1, 10, 0), EmptyDataError, r"no held-out customers"),
    (lambda: simulate(HELD, UCB1(), 10, 0), TypeError, r"policy must be a zero-argument factory"),
    (lambda: simulate(HELD, dict, 10, 0), TypeError, r"policy factory must build an object"),
    (lambda: simulate(HELD, UCB1, 0, 0), ValueError, r"horizon must be >= 1, got 0"),
    (lambda: simulate(HELD, UCB1, 10.0, 0), TypeError, r"horizon must be an integer"),
    (lambda: simulate(HELD, UCB1, 10, -1), ValueError, r"seed must be >= 0"),
    (lambda: simulate(HELD, UCB1, 10, None), TypeError, r"seed must be an integer"),
    (lambda: simulate(HELD, UCB1, 10, 0, replicates=0), ValueError, r"replicates must be >= 1"),
    (lambda: simulate(HELD, BadPolicy, 10, 0), ValueError, r"'bad' selected arm 7"),
    (lambda: simulate_bernoulli([0.1, 1.2], UCB1, 10, 0), ValueError, r"true_rates must be in"),
    (lambda: simulate_bernoulli([], UCB1, 10, 0), ValueError, r"true_rates must be a non-empty"),
    (lambda: simulate_bernoulli([0.1], BadPolicy, 10, 0), ValueError, r"selected arm 7"),
    (lambda: wilson_interval(11, 10), ValueError, r"successes must be <= trials"),
    (lambda: wilson_interval(-1, 10), ValueError, r"successes must be >= 0"),
    (lambda: wilson_interval(1, 10, 1.0), ValueError, r"confidence must be in \(0, 1\)"),
    (lambda: wilson_interval(1, 10, "95%"), TypeError, r"confidence must be a real number"),
    (lambda: two_proportion_z_test(1, 0, 1, 10), ValueError, r"s1 must be <= n1"),
    (lambda: two_proportion_z_test(0, 0, 1, 10), ValueError, r"n1 must be >= 1"),
    (lambda: two_proportion_z_test(1, 10, 0, 0), ValueError, r"n2 must be >= 1"),
    (lambda: _hand_result().traffic_share(window=0), ValueError, r"window must be >= 1"),
    (lambda: _hand_result().traffic_share(window=1.5), TypeError, r"window must be an integer"),
    (lambda: _hand_result().to_frame(arm_names=["x"]), ValueError, r"arm_names must have 2"),
    (lambda: arm_table(_hand_result(), ["x"]), ValueError, r"arm_names must have 2 entries"),
]


@pytest.mark.parametrize("call, exc, match", BAD_CALLS,
                         ids=[m for _, _, m in BAD_CALLS])
def test_bad_arguments_raise_naming_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_empty_data_error_is_a_cross_sell_error():
    with pytest.raises(CrossSellError):
        simulate(np.zeros((0, 2)), UCB1, 5, 0)


# --- architecture -----------------------------------------------------------------------------
def _imports(path: Path) -> set[str]:
    """Modules imported at run time (imports under ``if TYPE_CHECKING:`` are skipped)."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()

    def visit(node, type_checking=False):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_checking = True
        if not type_checking:
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        for child in ast.iter_child_nodes(node):
            visit(child, type_checking)

    visit(tree)
    return names


@pytest.mark.parametrize("part", ["policies", "simulator", "stats"])
def test_parts_do_not_reach_into_each_other(part):
    imported = _imports(BANDITS_DIR / f"{part}.py")
    siblings = {"core.bandits", *(f"core.bandits.{p}" for p in ("policies", "simulator", "stats"))}
    assert not imported & siblings, imported & siblings
    assert not any(name.split(".")[0] == "streamlit" for name in imported)


def test_no_streamlit_anywhere_in_bandits():
    for path in BANDITS_DIR.glob("*.py"):
        assert "streamlit" not in _imports(path), path
