"""core.complement (the two-tower complement model) and core.evaluation.complement_eval.

Synthetic unit vectors stand in for sentence embeddings in the unit parts (the model only ever
sees vectors); the evaluation runs on the real Instacart fixture with those vectors.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from core import schema as S
from core.complement import (ComplementModel, ComplementSettings, category_prior, cross_category_pairs,
                             popularity_features)
from core.evaluation.complement_eval import (COLUMNS, METHODS, SLICES, ComplementEvalSettings, evaluate_complements,
                                             instacart_split, ranking_hits, summarise, week_split)

FAST = ComplementSettings(dim=32, hidden=64, epochs=20, batch_size=64, lr=1e-2, max_pairs=20_000, seed=0)


def _unit(rng, n, d):
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _planted(n_per_group=40, d=48, reps=6, seed=0):
    """Group 0 item i is always bought with group 1 item partner[i] (and the other way round)."""
    rng = np.random.default_rng(seed)
    emb = _unit(rng, 2 * n_per_group, d)
    partner = n_per_group + rng.permutation(n_per_group)
    a = np.repeat(np.arange(n_per_group), reps)
    b = partner[a]
    groups = np.repeat([0, 1], n_per_group)
    pairs_a, pairs_b = np.concatenate([a, b]), np.concatenate([b, a])
    pop = np.bincount(pairs_a, minlength=2 * n_per_group).astype(float)
    return emb, pairs_a, pairs_b, pop, groups, partner


# --- the model ---------------------------------------------------------------------------------

def test_learns_planted_partners_far_above_random_ones():
    emb, a, b, pop, groups, partner = _planted()
    n = len(partner)
    model = ComplementModel(FAST).fit(emb, a, b, pop, groups)
    scores = model.score(np.arange(n), np.arange(n, 2 * n))  # group 0 queries, group 1 candidates
    assert scores.shape == (n, n) and scores.dtype == np.float32
    rank = (scores > scores[np.arange(n), partner - n][:, None]).sum(axis=1)  # 0 = partner ranked first
    assert np.mean(rank == 0) >= 0.9          # random guessing: 1/40
    assert np.mean(rank) < 1.0                # random guessing: 19.5
    # before training the towers know nothing: the raw cosine ranks partners at random
    raw = emb[:n] @ emb[n:].T
    assert np.mean((raw > raw[np.arange(n), partner - n][:, None]).sum(axis=1) == 0) < 0.3


def test_generalises_to_items_never_bought_by_their_text():
    """Items are noisy copies of 5 type vectors; type t of group 0 goes with type t of group 1.
    Items never seen in a pair (popularity 0) still get their type's partners from their vector."""
    rng = np.random.default_rng(1)
    d, types, per = 48, 5, 12
    proto = _unit(rng, 2 * types, d)
    item_type = np.repeat(np.arange(2 * types), per)            # 0..4 in group 0, 5..9 in group 1
    emb = proto[item_type] + 0.35 * _unit(rng, len(item_type), d)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    groups = (item_type >= types).astype(int)
    seen = np.arange(len(item_type)) % per < per - 3          # 3 items of each type never bought
    a_list, b_list = [], []
    for t in range(types):
        left = np.flatnonzero((item_type == t) & seen)
        right = np.flatnonzero((item_type == t + types) & seen)
        for _ in range(40):
            i, j = rng.choice(left), rng.choice(right)
            a_list += [i, j]
            b_list += [j, i]
    a, b = np.array(a_list), np.array(b_list)
    pop = np.bincount(a, minlength=len(item_type)).astype(float)
    model = ComplementModel(FAST).fit(emb.astype(np.float32), a, b, pop, groups)
    new_q = np.flatnonzero(~seen & (groups == 0))
    cand = np.flatnonzero(seen & (groups == 1))
    top = cand[np.argsort(-model.score(new_q, cand), axis=1)[:, :5]]
    right_type = item_type[top] == item_type[new_q][:, None] + types
    assert right_type.mean() >= 0.9                            # random: 1/5


def test_same_seed_gives_identical_scores_and_another_seed_differs():
    emb, a, b, pop, groups, _ = _planted(n_per_group=20, reps=3)
    s = ComplementSettings(dim=16, hidden=32, epochs=3, batch_size=32, max_pairs=1000, seed=7)
    one = ComplementModel(s).fit(emb, a, b, pop, groups).score(np.arange(40))
    two = ComplementModel(s).fit(emb, a, b, pop, groups).score(np.arange(40))
    np.testing.assert_array_equal(one, two)
    from dataclasses import replace

    other = ComplementModel(replace(s, seed=8)).fit(emb, a, b, pop, groups).score(np.arange(40))
    assert not np.array_equal(one, other)


def test_towers_are_unit_norm_and_score_is_their_scaled_dot_plus_bias():
    emb, a, b, pop, groups, _ = _planted(n_per_group=10, reps=2)
    s = ComplementSettings(dim=8, hidden=16, epochs=1, batch_size=8, temperature=0.1, bias="learned")
    m = ComplementModel(s).fit(emb, a, b, pop, groups)
    u = m.transform_query([0, 1])
    v, beta = m.transform_candidate([10, 11, 12])
    np.testing.assert_allclose(np.linalg.norm(u, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(m.score([0, 1], [10, 11, 12]), u @ v.T / 0.1 + beta, rtol=1e-5, atol=1e-5)
    assert m.score([3]).shape == (1, 20)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"dim": 1}, ValueError, "dim must be >= 2, got 1"),
    ({"dim": 8.0}, TypeError, "dim must be an int"),
    ({"epochs": 0}, ValueError, "epochs must be >= 1, got 0"),
    ({"batch_size": 1}, ValueError, "batch_size must be >= 2"),
    ({"lr": 0}, ValueError, r"lr must be in \(0"),
    ({"lr": "fast"}, TypeError, "lr must be a number"),
    ({"temperature": 0}, ValueError, r"temperature must be in \(0.0, 1.0\]"),
    ({"temperature": 2.0}, ValueError, "temperature must be in"),
    ({"max_pairs": 0}, ValueError, "max_pairs must be >= 1"),
    ({"weight_decay": -1e-3}, ValueError, r"weight_decay must be in \[0.0"),
    ({"seed": -1}, ValueError, "seed must be >= 0"),
    ({"seed": True}, TypeError, "seed must be an int"),
    ({"logq_correction": 1}, TypeError, "logq_correction must be a bool"),
    ({"bias": "zero"}, ValueError, "bias must be 'category', 'log_q' or 'learned'"),
    ({"threads": 0}, ValueError, "threads must be >= 1"),
])
def test_settings_are_validated(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ComplementSettings(**kwargs)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"k": 0}, ValueError, "k must be >= 1"),
    ({"max_queries": 0}, ValueError, "max_queries must be >= 1"),
    ({"bins": (0, 5)}, ValueError, "bins must be strictly increasing"),
    ({"bins": (5, 5)}, ValueError, "bins must be strictly increasing"),
    ({"bins": [1, 5]}, TypeError, "bins must be a tuple of ints"),
    ({"grid_step": 0.3}, ValueError, "1/grid_step an integer"),
    ({"shortlist": 5}, ValueError, r"shortlist must be >= k \(10\)"),
    ({"model": {}}, TypeError, "model must be a ComplementSettings"),
])
def test_eval_settings_are_validated(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ComplementEvalSettings(**kwargs)


def test_fit_rejects_bad_inputs():
    emb, a, b, pop, groups, _ = _planted(n_per_group=5, reps=1)
    m = ComplementModel(ComplementSettings(epochs=1))
    with pytest.raises(ValueError, match="pairs_a is empty"):
        m.fit(emb, a[:0], b[:0], pop)
    with pytest.raises(ValueError, match=r"pair indices must be in \[0, 10\)"):
        m.fit(emb, a, b + 10, pop)
    with pytest.raises(ValueError, match=r"item_popularity must have shape \(10,\)"):
        m.fit(emb, a, b, pop[:3])
    with pytest.raises(RuntimeError, match="not fitted"):
        m.score([0])


def test_cross_category_pairs_counts_each_basket_once_per_ordered_pair():
    # baskets {0,1,2}, {0,2}, {1,3}; groups 0:A 1:A 2:B 3:B
    x = sp.csr_matrix(np.array([[1, 1, 1, 0], [1, 0, 1, 0], [0, 1, 0, 1]], dtype=np.float32))
    a, b = cross_category_pairs(x, np.array([0, 0, 1, 1]))
    got = sorted(zip(a.tolist(), b.tolist()))
    assert got == sorted([(0, 2), (2, 0), (1, 2), (2, 1), (0, 2), (2, 0), (1, 3), (3, 1)])
    a2, _ = cross_category_pairs(x, np.array([0, 0, 1, 1]), max_pairs=3, seed=1)
    assert len(a2) <= 3


def test_popularity_features():
    f = popularity_features(np.array([0, 1, 3]))
    np.testing.assert_allclose(f[:, 0], [0, np.log(2) / np.log(4), 1])
    np.testing.assert_array_equal(f[:, 1], [1, 0, 0])


# --- metrics ----------------------------------------------------------------------------------

def test_hit_rate_and_recall_at_10_by_hand():
    # q0: truth {1, 2}, top has 1 -> hit 1, recall 1/2
    # q1: truth {5},    top misses   -> hit 0, recall 0
    # q2: truth {0, 3, 4}, top has 3 and 4 -> hit 1, recall 2/3
    top = np.array([[1, 7, 8], [0, 1, 2], [3, 9, 4]])
    truth = sp.csr_matrix(np.array([[0, 1, 1, 0, 0, 0, 0, 0, 0, 0],
                                    [0, 0, 0, 0, 0, 1, 0, 0, 0, 0],
                                    [1, 0, 0, 1, 1, 0, 0, 0, 0, 0]]))
    hit, rec = ranking_hits(top, truth, k=10)
    np.testing.assert_array_equal(hit, [1, 0, 1])
    np.testing.assert_allclose(rec, [0.5, 0.0, 2 / 3])
    assert summarise(hit)[0] == pytest.approx(2 / 3)
    assert summarise(rec)[0] == pytest.approx((0.5 + 2 / 3) / 3)
    # SE = std(ddof=1) / sqrt(3) of [1, 0, 1]
    assert summarise(hit)[1] == pytest.approx(np.std([1, 0, 1], ddof=1) / np.sqrt(3))
    # only the first k count
    hit2, rec2 = ranking_hits(top, truth, k=1)
    np.testing.assert_array_equal(hit2, [1, 0, 1])
    np.testing.assert_allclose(rec2, [0.5, 0, 1 / 3])


# --- splits ------------------------------------------------------------------------------------

def test_instacart_split_never_leaks_test_into_training_or_validation(instacart_tables):
    _, orders = instacart_tables
    sp_ = instacart_split(orders)
    test, train, fit, valid = (set(f[S.ORDER_ID]) for f in (sp_.test, sp_.train, sp_.fit, sp_.valid))
    assert test and valid and fit
    assert not test & train and not test & fit and not test & valid
    assert not fit & valid and valid <= train and fit <= train and fit | valid == train
    # each customer's test order comes after every one of their training orders
    last_train = sp_.train.groupby(S.CUSTOMER_ID)[S.ORDER_NUMBER].max()
    first_test = sp_.test.groupby(S.CUSTOMER_ID)[S.ORDER_NUMBER].min()
    assert (first_test > last_train.reindex(first_test.index)).all()
    last_fit = sp_.fit.groupby(S.CUSTOMER_ID)[S.ORDER_NUMBER].max()
    first_valid = sp_.valid.groupby(S.CUSTOMER_ID)[S.ORDER_NUMBER].min()
    assert (first_valid > last_fit.reindex(first_valid.index)).all()


def test_week_split_by_hand():
    lines = pd.DataFrame({S.ORDER_ID: ["a", "b", "c", "d", "e"], S.PRODUCT_ID: ["1"] * 5,
                          "week": [1, 38, 39, 44, 45]})
    s = week_split(lines, last_train_week=44, valid_weeks=6)
    assert list(s.fit[S.ORDER_ID]) == ["a", "b"]
    assert list(s.valid[S.ORDER_ID]) == ["c", "d"]
    assert list(s.test[S.ORDER_ID]) == ["e"]
    with pytest.raises(ValueError, match="valid_weeks must be in"):
        week_split(lines, valid_weeks=50)


# --- the evaluation ----------------------------------------------------------------------------

def test_every_method_returns_the_documented_columns(instacart_tables):
    catalog, orders = instacart_tables
    rng = np.random.default_rng(0)
    emb = _unit(rng, len(catalog), 24)
    settings = ComplementEvalSettings(max_queries=150, max_valid_queries=60, grid_step=0.5, shortlist=20,
                                      model=ComplementSettings(dim=8, hidden=8, epochs=1, max_pairs=2000))
    out = evaluate_complements(catalog, instacart_split(orders), emb, settings)
    assert tuple(out.columns) == COLUMNS
    assert list(out["method"].unique()) == list(METHODS)
    assert set(zip(out["method"], out["slice"])) == {(m, s) for m in METHODS for s in SLICES}
    assert (out["queries"] > 0).all() and (out["queries"] <= 150).all()
    for col in ("hit_rate_at_10", "recall_at_10"):
        assert out[col].between(0, 1).all()
    assert (out["recall_at_10"] <= out["hit_rate_at_10"] + 1e-12).all()  # recall <= hit per query
    w = out.attrs["weights"]
    assert set(w["method"]) == {"cooccurrence_prior", "blended"}
    assert np.allclose(w[["w_cooccurrence", "w_model", "w_prior"]].sum(axis=1), 1)
    assert (w.loc[w["method"] == "cooccurrence_prior", "w_model"] == 0).all()
    # the same queries for every method: counts agree per slice
    assert out.groupby("slice")["queries"].nunique().eq(1).all()
    with pytest.raises(ValueError, match="methods must be among"):
        evaluate_complements(catalog, instacart_split(orders), emb, settings, methods=("magic",))


# --- category prior, exact pair sampling --------------------------------------------------------

def test_category_prior_by_hand():
    # items 0,1 in group 0 (categories 0, 1); items 2,3 in group 1 (category 2); item 4 has none
    # pairs (a -> b): 0->2, 0->2, 1->3, 2->0
    a, b = np.array([0, 0, 1, 2]), np.array([2, 2, 3, 0])
    groups, cats = np.array([0, 0, 1, 1, -1]), np.array([0, 1, 2, 2, -1])
    m = 2.0
    table, rows = category_prior(a, b, 5, groups, cats, strength=m)
    q = (np.array([1, 0, 2, 1, 0]) + 0.5) / (4 + 2.5)             # Q(b)
    np.testing.assert_allclose(table[0], q, rtol=1e-6)
    g0 = (np.array([0, 0, 2, 1, 0]) + m * q) / (3 + m)            # group 0 holds the queries 0, 0, 1
    g1 = (np.array([1, 0, 0, 0, 0]) + m * q) / (1 + m)
    c0 = (np.array([0, 0, 2, 0, 0]) + m * g0) / (2 + m)           # category 0: queries 0, 0
    c1 = (np.array([0, 0, 0, 1, 0]) + m * g0) / (1 + m)           # category 1: query 1
    c2 = (np.array([1, 0, 0, 0, 0]) + m * g1) / (1 + m)           # category 2 (parent group 1)
    np.testing.assert_allclose(table[1:], np.stack([g0, g1, c0, c1, c2]), rtol=1e-6)
    np.testing.assert_allclose(table.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(rows[:, 2], [3, 4, 5, 5, 0])    # item 4: no category -> Q
    np.testing.assert_array_equal(rows[:, 1], [1, 1, 2, 2, 0])
    np.testing.assert_array_equal(rows[:, 0], 0)
    # another base distribution at the top of the hierarchy
    tb, _ = category_prior(a, b, 5, groups, cats, strength=m, base=np.array([1.0, 1, 1, 1, 4]))
    np.testing.assert_allclose(tb[0], [0.125, 0.125, 0.125, 0.125, 0.5])
    with pytest.raises(ValueError, match="base must be a positive"):
        category_prior(a, b, 5, base=np.zeros(5))
    # strength 0: the category's own empirical distribution
    t0, _ = category_prior(a, b, 5, groups, cats, strength=0.0)
    np.testing.assert_allclose(t0[3], [0, 0, 1, 0, 0])


def test_category_bias_is_the_log_prior_row_of_the_query():
    emb, a, b, pop, groups, _ = _planted(n_per_group=10, reps=2)
    cats = np.arange(20) % 4 + 4 * groups                          # 4 categories per group
    s = ComplementSettings(dim=8, hidden=16, epochs=1, batch_size=8, temperature=0.1, prior_strength=5.0)
    m = ComplementModel(s).fit(emb, a, b, pop, groups, cats)
    table, rows = category_prior(a, b, 20, groups, cats, strength=5.0, base=pop + 0.5)
    for col, level in enumerate(("base", "group", "category")):
        np.testing.assert_allclose(m.bias([0, 13], [2, 15], level=level),
                                   np.log(table[rows[[0, 13], col]][:, [2, 15]]), rtol=1e-5)
    # text_weight 0: the prior alone; 'base' level: ranks by popularity
    np.testing.assert_allclose(m.score([0, 13], text_weight=0.0, level="base"), m.bias([0, 13], level="base"))
    assert (np.argsort(-m.score([0], text_weight=0.0, level="base")[0], kind="stable")[:5]
            == np.argsort(-(pop + 0.5), kind="stable")[:5]).all()
    with pytest.raises(ValueError, match="level must be one of"):
        m.bias([0], level="aisle")
    u = m.transform_query([0, 13])
    v, zero = m.transform_candidate([2, 15])
    np.testing.assert_array_equal(zero, 0)
    np.testing.assert_allclose(m.score([0, 13], [2, 15]), u @ v.T / 0.1 + m.bias([0, 13], [2, 15]), rtol=1e-5,
                               atol=1e-5)
    with pytest.raises(ValueError, match=r"item_categories must have shape \(20,\)"):
        ComplementModel(s).fit(emb, a, b, pop, groups, cats[:3])


def test_pair_sample_reaches_max_pairs_when_baskets_hold_many_same_group_items():
    # 200 baskets of 10 group-0 items and 2 group-1 items: 2 * 10 * 2 = 40 ordered cross pairs each
    # (8,000 in all), while k (k - 1) = 132 per basket would count 26,400
    rows = np.repeat(np.arange(200), 12)
    cols = np.tile(np.arange(12), 200)
    x = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(200, 12))
    groups = np.array([0] * 10 + [1] * 2)
    a, b = cross_category_pairs(x, groups)
    assert len(a) == 8000 and (groups[a] != groups[b]).all()
    a2, b2 = cross_category_pairs(x, groups, max_pairs=4000, seed=3)
    assert len(a2) == 4000 and (groups[a2] != groups[b2]).all()   # the old keep rate kept ~1,330
