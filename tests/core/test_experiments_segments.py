"""core.experiments with a segment context: per-segment conversion per arm, one bandit per segment compared with
the pooled bandit on the same visits, regret against the per-segment oracle."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import schema as S
from core.bandits import simulate
from core.bandits.policies import ThompsonSampling, UCB1
from core.errors import EmptyDataError
from core.experiments import (NO_SEGMENT, PER_SEGMENT, POOLED, ExperimentSettings, experiment_from_hits,
                              run_experiment, simulate_per_segment)
from core.pipeline import BuildSettings, build_model
from core.recommend import LiftOnly, PopularUnseenCategories


def _planted(n_per=600, seed=0):
    """Two segments of equal size: arm 'x' converts 30% in A and 5% in B, 'y' the reverse, 'z' 15% in both."""
    rng = np.random.default_rng(seed)
    rates = {"A": [0.30, 0.05, 0.15], "B": [0.05, 0.30, 0.15]}
    seg = np.repeat(["A", "B"], n_per)
    h = (rng.random((2 * n_per, 3)) < np.array([rates[s] for s in seg])).astype(int)
    idx = pd.Index([f"c{i}" for i in range(2 * n_per)], name=S.CUSTOMER_ID)
    return pd.DataFrame(h, index=idx, columns=["x", "y", "z"]), pd.Series(seg, index=idx)


def test_segment_arm_table_by_hand():
    hits = pd.DataFrame({"x": [1, 0, 0, 1, 1], "y": [0, 1, 1, 0, 0]},
                        index=pd.Index(["a", "b", "c", "d", "e"], name=S.CUSTOMER_ID))
    segs = pd.Series({"a": "loyal", "b": "new", "c": "new", "d": "loyal"})     # e has no segment
    r = experiment_from_hits(hits, ExperimentSettings(horizon=50, replicates=2, seed=3), segments=segs)
    t = r.segment_arms.set_index(["segment", "arm"])
    assert r.segments.to_dict() == {"a": "loyal", "b": "new", "c": "new", "d": "loyal", "e": NO_SEGMENT}
    assert t["customers"].to_dict() == {(NO_SEGMENT, "x"): 1, (NO_SEGMENT, "y"): 1, ("loyal", "x"): 2,
                                        ("loyal", "y"): 2, ("new", "x"): 2, ("new", "y"): 2}
    assert t["rate"].to_dict() == {(NO_SEGMENT, "x"): 1.0, (NO_SEGMENT, "y"): 0.0, ("loyal", "x"): 1.0,
                                   ("loyal", "y"): 0.0, ("new", "x"): 0.0, ("new", "y"): 1.0}
    assert t.loc[t["best"]].index.tolist() == [(NO_SEGMENT, "x"), ("loyal", "x"), ("new", "y")]
    assert ((t["ci_low"] <= t["rate"]) & (t["rate"] <= t["ci_high"])).all()
    # oracle: every visitor shown their segment's best arm converts; the best single arm converts 3/5
    s = r.segment_summary()
    assert s["oracle_rate"].iloc[0] == 1.0 and s["best_arm_rate"].iloc[0] == pytest.approx(0.6)


def test_per_segment_bandits_beat_pooled_when_segments_disagree():
    hits, segs = _planted()
    settings = ExperimentSettings(horizon=3000, replicates=6, seed=11, policies=("Thompson sampling", "UCB1"))
    r = experiment_from_hits(hits, settings, segments=segs)
    s = r.segment_summary().set_index(["policy", "variant"])
    for pol in ("Thompson sampling", "UCB1"):
        # the pooled bandit cannot do better than the best single arm (~17.5%); the per-segment one nears 30%
        assert s.loc[(pol, PER_SEGMENT), "conversion_rate"] > s.loc[(pol, POOLED), "conversion_rate"] + 0.05
        assert s.loc[(pol, PER_SEGMENT), "segment_regret_p97.5"] < s.loc[(pol, POOLED), "segment_regret_p2.5"]
    assert s.loc[("Thompson sampling", PER_SEGMENT), "conversion_rate"] > 0.25
    # the pooled runs are exactly those of the experiment without segments (existing API unchanged)
    plain = experiment_from_hits(hits, settings)
    assert plain.segments is None and not plain.has_segments
    np.testing.assert_array_equal(plain.runs["UCB1"].arms, r.runs["UCB1"].arms)
    with pytest.raises(ValueError, match="without segments"):
        plain.segment_summary()


def test_segment_regret_properties():
    hits, segs = _planted(200, seed=2)
    r = experiment_from_hits(hits, ExperimentSettings(horizon=500, replicates=3, seed=0), segments=segs)
    for key, arr in r.segment_regret.items():
        assert arr.shape == (3, 500)
        assert (arr >= -1e-12).all() and (np.diff(arr, axis=1) >= -1e-12).all(), key
    c = r.segment_curves()
    assert set(c["variant"]) == {POOLED, PER_SEGMENT} and (c["regret_low"] <= c["regret_high"]).all()


@pytest.mark.parametrize("policy", [ThompsonSampling, UCB1])
def test_one_segment_reproduces_the_pooled_simulation(policy):
    hits, _ = _planted(100, seed=4)
    table = hits.to_numpy()
    ctx, visits = simulate_per_segment(table, np.zeros(len(table), dtype=int), policy, 400, seed=9, replicates=3)
    pooled = simulate(table, policy, 400, seed=9, replicates=3)
    np.testing.assert_array_equal(ctx.arms, pooled.arms)
    np.testing.assert_array_equal(ctx.rewards, pooled.rewards)
    np.testing.assert_array_equal(ctx.regret, pooled.regret)
    assert ((visits >= 0) & (visits < len(table))).all()


def test_bad_segment_inputs():
    hits, segs = _planted(20)
    with pytest.raises(TypeError, match="segments must be a pandas Series"):
        experiment_from_hits(hits, ExperimentSettings(horizon=10, replicates=1), segments=segs.to_dict())
    with pytest.raises(ValueError, match="segment_codes must have shape"):
        simulate_per_segment(hits.to_numpy(), np.zeros(3, dtype=int), UCB1, 10, seed=0)
    with pytest.raises(EmptyDataError):
        experiment_from_hits(hits.iloc[0:0], ExperimentSettings(horizon=10, replicates=1), segments=segs)


def test_run_experiment_with_segments_on_a_tiny_shop():
    catalog = pd.DataFrame({S.PRODUCT_ID: ["Y1", "G1", "H1", "O1"], S.TITLE: ["Yogurt", "Granola", "Honey", "Oil"],
                            S.CATEGORY: ["Dairy", "Breakfast", "Pantry", "Auto"]})
    train = pd.DataFrame([("o1", "Y1", "c1"), ("o1", "G1", "c1"), ("o2", "Y1", "c2"), ("o2", "G1", "c2"),
                          ("o3", "Y1", "c3"), ("o3", "H1", "c3"), ("o4", "O1", "c4")],
                         columns=[S.ORDER_ID, S.PRODUCT_ID, S.CUSTOMER_ID]).assign(**{S.QUANTITY: 1})
    model = build_model(catalog, train, settings=BuildSettings(use_text=False))
    strategies = [PopularUnseenCategories().fit(model), LiftOnly().fit(model)]
    test = pd.DataFrame({S.CUSTOMER_ID: ["c3", "c3", "c4"], S.PRODUCT_ID: ["G1", "Y1", "H1"]})
    segs = pd.Series({"c3": "Champions", "c4": "Hibernating"})
    r = run_experiment(strategies, test, ExperimentSettings(horizon=20, replicates=1, seed=0), segments=segs)
    # slate_hits at k=10 (see test_holdout): c3 converts on both arms; c4 only on popular (its slate holds H1)
    t = r.segment_arms.set_index(["segment", "arm"])["rate"]
    assert t[("Champions", "lift only")] == 1.0 and t[("Hibernating", "lift only")] == 0.0
    assert t[("Hibernating", "popular in unseen categories")] == 1.0
    assert set(r.contextual_runs) == set(r.runs)


def test_segment_traffic_shows_where_each_variant_settles():
    hits, segs = _planted(seed=5)
    r = experiment_from_hits(hits, ExperimentSettings(horizon=3000, replicates=4, seed=2,
                                                      policies=("Thompson sampling",)), segments=segs)
    t = r.segment_traffic(last_share=0.2)
    assert (t.groupby(["policy", "variant", "segment"])["share"].sum() - 1).abs().max() < 1e-12
    # visits per segment in the window are the same for both variants (same visitors)
    v = t.groupby(["variant", "segment"])["visits"].sum().unstack()
    assert (v.loc[POOLED] == v.loc[PER_SEGMENT]).all() and v.loc[POOLED].sum() == 4 * 600
    ctx = t[(t["variant"] == PER_SEGMENT) & t["best"]].set_index("segment")
    assert ctx.loc["A", "arm"] == "x" and ctx.loc["B", "arm"] == "y"
    assert (ctx["share"] > 0.8).all()      # each segment's bandit has settled on its own best arm
    full = r.segment_traffic()
    assert full["visits"].sum() == 2 * 4 * 3000
    with pytest.raises(ValueError, match="last_share"):
        r.segment_traffic(0)
