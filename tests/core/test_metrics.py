"""core.evaluation.metrics: hand-computed values for every metric, bad inputs, property tests."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from core.evaluation.metrics import (bootstrap_counts, bootstrap_summary, catalog_coverage, cross_category_recall_at_k,
                                     cross_category_truth, hit_rate_at_k, map_at_k, ndcg_at_k, new_item_recall_at_k,
                                     new_item_truth, novelty_at_k, precision_at_k, ranking_metrics, recall_at_k,
                                     self_information)

L2, L3, L4 = 1.0, 1 / math.log2(3), 1 / math.log2(4)     # discounts at ranks 1, 2, 3


def csr(rows, n_items=6):
    m = np.zeros((len(rows), n_items))
    for i, r in enumerate(rows):
        m[i, list(r)] = 1
    return sp.csr_matrix(m)


# customer 0 ranks [3, 1, 5], truth {1, 2}: one hit at rank 2
# customer 1 ranks [0, 2, -1] (two items only), truth {0, 2, 4, 5}: hits at ranks 1 and 2
# customer 2 ranks [4, 5, 0], truth {}: no information -> NaN
RANKED = np.array([[3, 1, 5], [0, 2, -1], [4, 5, 0]])
TRUTH = csr([{1, 2}, {0, 2, 4, 5}, set()])


def test_precision_recall_hit_by_hand():
    np.testing.assert_allclose(precision_at_k(RANKED, TRUTH, 3), [1 / 3, 2 / 3, np.nan])
    np.testing.assert_allclose(recall_at_k(RANKED, TRUTH, 3), [1 / 2, 2 / 4, np.nan])
    np.testing.assert_allclose(hit_rate_at_k(RANKED, TRUTH, 3), [1, 1, np.nan])
    # k = 1: customer 0's first item (3) misses, customer 1's (0) hits
    np.testing.assert_allclose(precision_at_k(RANKED, TRUTH, 1), [0, 1, np.nan])
    np.testing.assert_allclose(hit_rate_at_k(RANKED, TRUTH, 1), [0, 1, np.nan])


def test_ndcg_by_hand():
    # c0: DCG = 1/log2(3); ideal = min(3, 2) = 2 hits: 1 + 1/log2(3)
    # c1: DCG = 1 + 1/log2(3); ideal = min(3, 4) = 3 hits: 1 + 1/log2(3) + 1/2
    np.testing.assert_allclose(ndcg_at_k(RANKED, TRUTH, 3),
                               [L3 / (L2 + L3), (L2 + L3) / (L2 + L3 + L4), np.nan])
    assert ndcg_at_k(RANKED, TRUTH, 3)[0] == pytest.approx(0.386852807)


def test_map_by_hand():
    # c0: precision@2 = 1/2 at its hit, / min(3, 2) = 2 -> 0.25
    # c1: (1/1 + 2/2) / min(3, 4) = 2/3
    np.testing.assert_allclose(map_at_k(RANKED, TRUTH, 3), [0.25, 2 / 3, np.nan])
    # min(K, |T|): with K = 2, c1's perfect first two count as 1, not 2/4
    np.testing.assert_allclose(map_at_k(RANKED, TRUTH, 2), [0.25, 1.0, np.nan])


def test_k_wider_than_lists_counts_as_padding():
    m5 = ranking_metrics(RANKED, TRUTH, 5)
    np.testing.assert_allclose(m5["precision"], [1 / 5, 2 / 5, np.nan])
    # c1: ideal = min(5, 4) = 4 hits
    np.testing.assert_allclose(m5["ndcg"][1], (L2 + L3) / (L2 + L3 + L4 + 1 / math.log2(5)))


def test_new_item_and_cross_category_truth_by_hand():
    history = csr([{1}, {3}, {0}])
    cats = np.array(["a", "a", "b", "b", "c", "c"])
    # c0 bought 1 (a): new = {2}; cross = {2} (b never bought)
    # c1 bought 3 (b): new = {0, 2, 4, 5}; cross = {0 (a), 4, 5 (c)}; 2 is b
    assert new_item_truth(TRUTH, history).toarray().astype(int).tolist()[:2] == [[0, 0, 1, 0, 0, 0],
                                                                                  [1, 0, 1, 0, 1, 1]]
    assert cross_category_truth(TRUTH, history, cats).toarray().astype(int).tolist()[:2] == [[0, 0, 1, 0, 0, 0],
                                                                                              [1, 0, 0, 0, 1, 1]]
    # new-item recall@3: c0 ranks [3, 1, 5] -> 2 not found: 0; c1 ranks [0, 2]: 2 of 4
    np.testing.assert_allclose(new_item_recall_at_k(RANKED, TRUTH, history, 3), [0, 0.5, np.nan])
    # cross-category recall@3: c0 0 of {2}; c1 finds 0 of {0, 4, 5}: 1/3
    np.testing.assert_allclose(cross_category_recall_at_k(RANKED, TRUTH, history, cats, 3), [0, 1 / 3, np.nan])
    # a held-out item bought before drops out of the new-item truth: c0 held 1 and bought 1
    assert new_item_truth(csr([{1}]), csr([{1}])).nnz == 0


def test_coverage_and_novelty_by_hand():
    # items shown in the top 2: {3, 1, 0, 2, 4, 5} = 6 of 6; top 1: {3, 0, 4} = 3 of 6; 12 items: 6/12
    assert catalog_coverage(RANKED, 6, 2) == 1.0
    assert catalog_coverage(RANKED, 6, 1) == 0.5
    assert catalog_coverage(RANKED, 12, 3) == 0.5
    # N = 8 customers; k_i = [8, 4, 2, 1, 0, 8]: bits [0, 1, 2, 3, 3 (counted as 1 buyer), 0]
    info = self_information([8, 4, 2, 1, 0, 8], 8)
    np.testing.assert_allclose(info, [0, 1, 2, 3, 3, 0])
    # c0 [3, 1, 5]: (3 + 1 + 0)/3; c1 [0, 2]: (0 + 2)/2; c2 [4, 5, 0]: 1
    np.testing.assert_allclose(novelty_at_k(RANKED, info, 3), [4 / 3, 1.0, 1.0])
    assert np.isnan(novelty_at_k(np.array([[-1, -1]]), info, 2)[0])


def test_bootstrap_summary_by_hand():
    # one customer: every replicate is that customer, so the interval collapses on the value
    t = bootstrap_summary({"recall": np.array([0.4])}, n_boot=50)
    assert t[["value", "ci_low", "ci_high", "customers"]].values.tolist() == [[0.4, 0.4, 0.4, 1]]
    # NaN rows are not counted: mean of [1, 0] = 0.5
    t = bootstrap_summary({"m": np.array([1.0, np.nan, 0.0])}, n_boot=400, seed=1)
    row = t.iloc[0]
    assert row["value"] == 0.5 and row["customers"] == 2
    assert row["ci_low"] == 0.0 and row["ci_high"] == 1.0      # replicates of 2 binary values reach both ends
    # an all-NaN metric has no value
    empty = bootstrap_summary({"m": np.array([np.nan, np.nan])}, n_boot=5).iloc[0]
    assert empty[["value", "ci_low", "ci_high"]].isna().all() and empty["customers"] == 0


def test_bootstrap_is_seeded_and_shared():
    a = np.concatenate(list(bootstrap_counts(7, 30, seed=3, max_cells=20)))     # chunks of 2 replicates
    b = np.concatenate(list(bootstrap_counts(7, 30, seed=3, max_cells=20)))
    assert a.shape == (30, 7) and (a.sum(axis=1) == 7).all() and (a == b).all()
    assert not (a == np.concatenate(list(bootstrap_counts(7, 30, seed=4, max_cells=20)))).all()
    # two metrics that are the same numbers get the same interval: one set of resamples serves both
    v = np.random.default_rng(0).random(40)
    t = bootstrap_summary({"x": v, "y": v.copy()}, n_boot=300, seed=9)
    assert t.loc[0, ["ci_low", "ci_high"]].tolist() == t.loc[1, ["ci_low", "ci_high"]].tolist()


def test_coverage_interval_is_centred_on_the_value():
    rng = np.random.default_rng(0)
    ranked = np.array([rng.choice(200, 5, replace=False) for _ in range(60)])
    t = bootstrap_summary({}, n_boot=300, ranked=ranked, n_items=200, k=5).set_index("metric")
    value = catalog_coverage(ranked, 200, 5)
    assert t.loc["coverage", "value"] == value
    assert t.loc["coverage", "ci_low"] < value < t.loc["coverage", "ci_high"]


@pytest.mark.parametrize("call, exc, match", [
    (lambda: ranking_metrics(np.array([1, 2]), TRUTH, 3), ValueError, "2-D"),
    (lambda: ranking_metrics(RANKED.astype(float), TRUTH, 3), TypeError, "integer item indices"),
    (lambda: ranking_metrics(RANKED, TRUTH.toarray(), 3), TypeError, "truth must be a scipy sparse"),
    (lambda: ranking_metrics(RANKED, TRUTH, 0), ValueError, "k must be >= 1, got 0"),
    (lambda: ranking_metrics(RANKED, TRUTH, 2.0), TypeError, "k must be an int"),
    (lambda: ranking_metrics(RANKED[:2], TRUTH, 3), ValueError, "ranked has 2 rows but truth has 3"),
    (lambda: ranking_metrics(np.array([[1, 1, 0]] * 3), TRUTH, 3), ValueError, "must not repeat"),
    (lambda: ranking_metrics(np.array([[9, 1, 0]] * 3), TRUTH, 3), ValueError, "only 6 items"),
    (lambda: ranking_metrics(np.array([[-2, 1, 0]] * 3), TRUTH, 3), ValueError, "-1 is the only padding"),
    (lambda: new_item_truth(TRUTH, csr([{1}])), ValueError, "same shape"),
    (lambda: cross_category_truth(TRUTH, TRUTH, ["a"] * 5), ValueError, "5 entries but there are 6 items"),
    (lambda: catalog_coverage(RANKED, 0), ValueError, "n_items must be >= 1"),
    (lambda: self_information([1, 9], 8), ValueError, r"\[0, n_customers=8\]"),
    (lambda: bootstrap_summary({"a": np.ones(3), "b": np.ones(2)}), ValueError, "'b' has 2 values, expected 3"),
    (lambda: bootstrap_summary({"a": np.ones(3)}, level=1.0), ValueError, "level must be in"),
    (lambda: bootstrap_summary({"a": np.ones(3)}, n_boot=0), ValueError, "n_boot must be >= 1"),
    (lambda: bootstrap_summary({"a": np.ones(3)}, ranked=RANKED), ValueError, "coverage needs"),
])
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_inputs_not_mutated():
    t = sp.csr_matrix(np.array([[0, 2.0, 0, 5.0]]))
    r = np.array([[1, 3]])
    before = (t.data.copy(), r.copy())
    ranking_metrics(r, t, 2)
    cross_category_truth(t, t, ["a", "a", "b", "b"])
    assert (t.data == before[0]).all() and (r == before[1]).all()


# --- properties ---------------------------------------------------------------------------------------

@st.composite
def cases(draw):
    n_items = draw(st.integers(1, 12))
    n = draw(st.integers(1, 8))
    k = draw(st.integers(1, 6))
    rows, truth = [], []
    for _ in range(n):
        width = draw(st.integers(0, min(k, n_items)))
        items = draw(st.permutations(range(n_items)))[:width]
        rows.append(list(items) + [-1] * (k - width))
        truth.append(draw(st.sets(st.integers(0, n_items - 1), max_size=n_items)))
    return np.array(rows, dtype=np.int64).reshape(n, k), csr(truth, n_items), k, n_items


@settings(max_examples=150, deadline=None)
@given(cases())
def test_rates_are_in_unit_interval(case):
    ranked, truth, k, n_items = case
    for name, v in ranking_metrics(ranked, truth, k).items():
        v = v[~np.isnan(v)]
        assert ((v >= 0) & (v <= 1 + 1e-12)).all(), name
    assert 0 <= catalog_coverage(ranked, n_items, k) <= 1
    # NaN exactly where the truth is empty
    empty = np.diff(truth.indptr) == 0
    assert (np.isnan(ranking_metrics(ranked, truth, k)["recall"]) == empty).all()


@settings(max_examples=150, deadline=None)
@given(cases())
def test_perfect_ranking(case):
    _, truth, k, _ = case
    # the truth itself, ranked first, padded: NDCG 1, MAP 1, precision min(K, |T|)/K, recall min(K, |T|)/|T|
    perfect = np.full((truth.shape[0], k), -1, dtype=np.int64)
    for i in range(truth.shape[0]):
        items = truth.indices[truth.indptr[i]:truth.indptr[i + 1]][:k]
        perfect[i, :len(items)] = items
    m = ranking_metrics(perfect, truth, k)
    size = np.diff(truth.indptr)
    live = size > 0
    np.testing.assert_allclose(m["ndcg"][live], 1.0)
    np.testing.assert_allclose(m["map"][live], 1.0)
    np.testing.assert_allclose(m["precision"][live], np.minimum(k, size[live]) / k)
    np.testing.assert_allclose(m["recall"][live], np.minimum(k, size[live]) / size[live])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.floats(0, 1), st.just(float("nan"))), min_size=1, max_size=40),
       st.integers(0, 2**32 - 1))
def test_bootstrap_interval_contains_point(values, seed):
    v = np.array(values)
    t = bootstrap_summary({"m": v}, n_boot=200, seed=seed).iloc[0]
    if np.isnan(v).all():
        assert np.isnan(t["value"])
        return
    assert t["ci_low"] - 1e-12 <= t["value"] <= t["ci_high"] + 1e-12
    assert 0 - 1e-12 <= t["ci_low"] and t["ci_high"] <= 1 + 1e-12
