"""core.affinity: pair statistics, category pairs, significance, hybrid affinity, graph; figures worked by hand.

Five baskets {a,b}, {a,b}, {a}, {b,c}, {c}: N = 5, n_a = 3, n_b = 3, n_c = 2, n_ab = 2, n_bc = 1, n_ac = 0.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import core.affinity as affinity

from core import schema as S
from core.affinity import (PAIR_STAT_COLUMNS, AffinitySettings, BasketSizeReport, affinity_graph,
                           basket_size_report, category_pair_stats, fisher_greater, hybrid_affinity, pair_counts,
                           pair_stats, rowwise_cosine)
from core.baskets import build_baskets
from core.ingest import load_table
from core.model import category_at_level

FIVE = pd.DataFrame([("1", "a"), ("1", "b"), ("2", "a"), ("2", "b"), ("3", "a"), ("4", "b"), ("4", "c"),
                     ("5", "c")], columns=[S.ORDER_ID, S.PRODUCT_ID])


@pytest.fixture
def five():
    return build_baskets(FIVE, item_ids=["a", "b", "c"])


def _by_pair(stats: pd.DataFrame, ids) -> dict:
    return {(ids[r.antecedent], ids[r.consequent]): r for r in stats.itertuples(index=False)}


def test_five_baskets_pair_stats_by_hand(five):
    got = _by_pair(pair_stats(five.basket_items, min_pair_count=1), five.item_ids)
    assert set(got) == {("a", "b"), ("b", "a"), ("b", "c"), ("c", "b")}      # a and c never together
    ab, ba, bc, cb = got["a", "b"], got["b", "a"], got["b", "c"], got["c", "b"]
    assert (ab.pair_count, ab.antecedent_count, ab.consequent_count) == (2, 3, 3)
    assert ab.support == pytest.approx(2 / 5)                 # 0.4
    assert ab.confidence == pytest.approx(2 / 3)              # n_ab / n_a
    assert ba.confidence == pytest.approx(2 / 3)              # n_ab / n_b
    assert ab.lift == ba.lift == pytest.approx(10 / 9)        # 5 * 2 / (3 * 3) = 1.111111
    assert ab.npmi == pytest.approx(0.114986, abs=1e-6)       # ln(10/9) / -ln(0.4) = 0.105361 / 0.916291
    assert (bc.pair_count, bc.antecedent_count, bc.consequent_count) == (1, 3, 2)
    assert bc.support == pytest.approx(1 / 5)                 # 0.2
    assert bc.confidence == pytest.approx(1 / 3)              # n_bc / n_b
    assert cb.confidence == pytest.approx(1 / 2)              # n_bc / n_c
    assert bc.lift == pytest.approx(5 / 6)                    # 5 * 1 / (3 * 2) = 0.833333
    assert bc.npmi == pytest.approx(-0.113283, abs=1e-6)      # ln(5/6) / -ln(0.2) = -0.182322 / 1.609438
    # leverage = n_ab/N - n_a n_b / N^2
    assert ab.leverage == ba.leverage == pytest.approx(2 / 5 - 9 / 25)     # 0.04
    assert bc.leverage == cb.leverage == pytest.approx(1 / 5 - 6 / 25)     # -0.04
    # conviction(A->B) = (1 - n_b/N) / (1 - n_ab/n_a)
    assert ab.conviction == ba.conviction == pytest.approx((1 - 3 / 5) / (1 - 2 / 3))   # 1.2
    assert bc.conviction == pytest.approx((1 - 2 / 5) / (1 - 1 / 3))       # 0.9
    assert cb.conviction == pytest.approx((1 - 3 / 5) / (1 - 1 / 2))       # 0.8
    assert not (ab.conviction_infinite or bc.conviction_infinite or cb.conviction_infinite)
    # jaccard = n_ab / (n_a + n_b - n_ab)
    assert ab.jaccard == pytest.approx(2 / 4) and bc.jaccard == cb.jaccard == pytest.approx(1 / 4)
    # Fisher one-sided: X ~ Hypergeometric(5, 3, 3): P(X=1) = 3/10, P(X=2) = 6/10, P(X=3) = 1/10
    assert ab.p_value == ba.p_value == pytest.approx(0.7)              # P(X >= 2)
    # X ~ Hypergeometric(5, 3, 2): P(X=0) = C(2,2)/C(5,2) = 1/10
    assert bc.p_value == cb.p_value == pytest.approx(0.9)              # P(X >= 1)
    # BH over the 2 tested pairs: sorted 0.7, 0.9 -> min(0.7*2/1, 0.9*2/2) = 0.9, 0.9
    assert ab.q_value == bc.q_value == pytest.approx(0.9)


def test_min_pair_count_filters_pairs(five):
    st2 = pair_stats(five.basket_items)                      # default 2: only (a, b) has n_ab >= 2
    assert _by_pair(st2, five.item_ids).keys() == {("a", "b"), ("b", "a")}
    assert pair_stats(five.basket_items, min_pair_count=3).empty
    co = pair_counts(five.basket_items)
    # upper triangle only: (a,b) = 2, (b,c) = 1
    assert sorted(zip(co.row.tolist(), co.col.tolist(), co.data.tolist())) == [(0, 1, 2), (1, 2, 1)]


def test_pair_stats_sorted_by_antecedent_then_lift(five):
    st1 = pair_stats(five.basket_items, min_pair_count=1)
    # b's consequents: a (lift 1.111) before c (lift 0.833)
    assert list(zip(st1["antecedent"], st1["consequent"])) == [(0, 1), (1, 0), (1, 2), (2, 1)]


def test_pair_stats_rejects_min_pair_count_0(five):
    with pytest.raises(ValueError, match=r"min_pair_count must be >= 1, got 0"):
        pair_stats(five.basket_items, min_pair_count=0)


def test_npmi_is_1_when_every_basket_holds_both():
    b = build_baskets(pd.DataFrame([("1", "a"), ("1", "b"), ("2", "a"), ("2", "b")],
                                   columns=[S.ORDER_ID, S.PRODUCT_ID]))
    row = pair_stats(b.basket_items, 1).iloc[0]
    # support 1, lift 2*2/(2*2) = 1: log(1)/-log(1) is 0/0, defined as 1 (complete co-occurrence)
    assert (row.support, row.lift, row.npmi) == (1.0, 1.0, 1.0)


def test_five_baskets_category_pairs_by_hand(five):
    # a -> Dairy; b, c -> Bakery. Category baskets {D,B}, {D,B}, {D}, {B}, {B}: n_D = 3, n_B = 4, n_DB = 2
    cats = category_pair_stats(five, np.array(["Dairy", "Bakery", "Bakery"], dtype=object))
    rows = {(r.antecedent_category, r.consequent_category): r for r in cats.itertuples(index=False)}
    assert set(rows) == {("Dairy", "Bakery"), ("Bakery", "Dairy")}   # a category never pairs with itself
    db, bd = rows["Dairy", "Bakery"], rows["Bakery", "Dairy"]
    assert (db.pair_count, db.antecedent_count, db.consequent_count) == (2, 3, 4)   # {b,c} counts Bakery once
    assert db.support == pytest.approx(0.4)                       # 2/5
    assert db.confidence == pytest.approx(2 / 3)                  # 2/3
    assert bd.confidence == pytest.approx(0.5)                    # 2/4
    assert db.lift == pytest.approx(5 / 6)                        # 5*2/(3*4) = 0.833333
    assert db.npmi == pytest.approx(-0.198978, abs=1e-6)          # ln(5/6)/-ln(0.4) = -0.182322/0.916291


def test_category_pairs_with_three_categories_match_item_pairs(five):
    items = pair_stats(five.basket_items, 1)
    cats = category_pair_stats(five, np.array(["A", "B", "C"], dtype=object))
    assert sorted(cats["lift"].round(9)) == sorted(items["lift"].round(9))
    assert sorted(cats["support"].round(9)) == sorted(items["support"].round(9))


# --- shared case 12: rare items -------------------------------------------------------------------

@pytest.fixture
def case12(shared_case):
    folder = shared_case("12-rare-items-and-apriori-blowup")
    spec = json.loads((folder / "case.json").read_text())["expect"]
    catalog = load_table((folder / "catalog.csv").read_bytes(), "catalog.csv", S.CATALOG).valid
    orders = load_table((folder / "orders_rare_pair.csv").read_bytes(), "orders_rare_pair.csv", S.ORDERS).valid
    return spec, catalog, build_baskets(orders, item_ids=catalog[S.PRODUCT_ID].to_numpy())


def test_case12_rare_pair_with_min_pair_count_1(case12):
    spec, _, baskets = case12
    assert baskets.n_baskets == spec["orders_rare_pair.csv"]["n_baskets"] == 20
    got = _by_pair(pair_stats(baskets.basket_items, min_pair_count=1), baskets.item_ids)
    rare = got["GL-901", "GL-902"]
    # each item once, together once: support 1/20, confidence 1/1, lift 20*1/(1*1) = 20 = N
    assert rare.lift == pytest.approx(20.0)
    assert rare.support == pytest.approx(0.05)
    assert rare.confidence == pytest.approx(1.0)
    assert rare.npmi == pytest.approx(1.0)                # ln 20 / -ln 0.05 = 1
    values = spec["orders_rare_pair.csv"]["with_min_pair_count_1"]["values"]
    assert rare.lift == pytest.approx(values["GL-901|GL-902.lift"])
    assert rare.support == pytest.approx(values["GL-901|GL-902.support"])
    assert rare.confidence == pytest.approx(values["GL-901|GL-902.confidence_a_to_b"])


def test_case12_product_pairs_match_case_figures(case12):
    spec, _, baskets = case12
    got = _by_pair(pair_stats(baskets.basket_items, min_pair_count=1), baskets.item_ids)
    figures = spec["orders_rare_pair.csv"]["product_pairs"]
    assert len(figures) == 15
    for key, f in figures.items():
        a, b = key.split("|")
        ab, ba = got[a, b], got[b, a]
        assert (ab.pair_count, ab.antecedent_count, ab.consequent_count) == (f["n_ab"], f["n_a"], f["n_b"]), key
        assert ab.support == pytest.approx(f["support"], abs=1e-6), key
        assert ab.confidence == pytest.approx(f["confidence_a_to_b"], abs=1e-6), key
        assert ba.confidence == pytest.approx(f["confidence_b_to_a"], abs=1e-6), key
        assert ab.lift == ba.lift == pytest.approx(f["lift"], abs=1e-6), key
        assert ab.npmi == pytest.approx(f["npmi"], abs=1e-6), key
        _assert_case_figures(ab, ba, f, key)
    # every pair the data holds is in the case: 15 unordered pairs, 30 directed rows
    assert len(got) == 30


def _assert_case_figures(ab, ba, f: dict, key: str) -> None:
    """leverage, conviction both ways (None in the case = infinite), jaccard and npmi of a case figure."""
    assert ab.leverage == ba.leverage == pytest.approx(f["leverage"], abs=1e-6), key
    assert ab.jaccard == ba.jaccard == pytest.approx(f["jaccard"], abs=1e-6), key
    assert ab.npmi == ba.npmi == pytest.approx(f["npmi"], abs=1e-6), key
    for row, want in ((ab, f["conviction_a_to_b"]), (ba, f["conviction_b_to_a"])):
        if want is None:                                   # confidence 1: infinite, stored as NaN + flag
            assert row.conviction_infinite and math.isnan(row.conviction), key
        else:
            assert not row.conviction_infinite, key
            assert row.conviction == pytest.approx(want, abs=1e-6), key


def _assert_no_inf(frame: pd.DataFrame) -> None:
    """No inf anywhere; NaN only in ``conviction`` and exactly where ``conviction_infinite``."""
    num = frame.select_dtypes("number")
    assert not np.isinf(num.to_numpy(dtype=float)).any()
    assert not num.drop(columns="conviction").isna().any().any()
    assert (frame["conviction"].isna() == frame["conviction_infinite"]).all()


def test_case12_infinite_conviction_is_null_never_inf(case12):
    spec, _, baskets = case12
    stats1 = pair_stats(baskets.basket_items, min_pair_count=1)
    got = _by_pair(stats1, baskets.item_ids)
    inf = spec["orders_rare_pair.csv"]["infinite_conviction"]
    es = got["ES-01", "ES-02"]
    assert (es.pair_count, es.confidence) == (inf["n_ab"], inf["confidence_a_to_b"]) == (3, 1.0)
    # conviction(ES-01 -> ES-02) = (1 - 6/20) / (1 - 3/3) = 0.7 / 0: infinite -> NaN with the flag
    assert es.conviction_infinite and math.isnan(es.conviction)
    # the other way it is finite: (1 - 3/20) / (1 - 3/6) = 0.85 / 0.5 = 1.7
    assert got["ES-02", "ES-01"].conviction == pytest.approx(1.7) and not got["ES-02", "ES-01"].conviction_infinite
    # GL-901 and GL-902 only ever bought together: infinite both ways
    assert spec["orders_rare_pair.csv"]["with_min_pair_count_1"]["values"]["GL-901|GL-902.conviction_a_to_b"] is None
    for key in (("GL-901", "GL-902"), ("GL-902", "GL-901")):
        assert got[key].conviction_infinite and math.isnan(got[key].conviction)
    # exactly those three directed rows are infinite; nothing is inf; JSON has no Infinity/NaN for them
    assert {k for k, r in got.items() if r.conviction_infinite} == {("ES-01", "ES-02"), ("GL-901", "GL-902"),
                                                                    ("GL-902", "GL-901")}
    _assert_no_inf(stats1)
    text = stats1.to_json(orient="records")
    assert "Infinity" not in text and "inf" not in text.lower().replace("infinite", "")


def test_case12_rare_pair_absent_with_the_default_minimum(case12):
    spec, _, baskets = case12
    default = AffinitySettings().min_pair_count
    assert default >= 2
    got = _by_pair(pair_stats(baskets.basket_items, min_pair_count=default), baskets.item_ids)
    assert ("GL-901", "GL-902") not in got and ("GL-902", "GL-901") not in got
    # pairs seen in >= 2 baskets: ES-01|ES-02 (3), MU-01|TE-01 (3), MU-01|TE-02 (2)
    assert {tuple(sorted(k)) for k in got} == {("ES-01", "ES-02"), ("MU-01", "TE-01"), ("MU-01", "TE-02")}


@pytest.mark.parametrize("level, name", [(1, "top"), (99, "leaf")])
def test_case12_category_pairs(case12, level, name):
    spec, catalog, baskets = case12
    labels = category_at_level(catalog[S.CATEGORY], level)
    got = {(r.antecedent_category, r.consequent_category): r
           for r in category_pair_stats(baskets, labels, min_pair_count=1).itertuples(index=False)}
    figures = spec["orders_rare_pair.csv"]["category_level"][name]["pairs"]
    assert figures
    for key, f in figures.items():
        a, b = key.split("|")
        ab, ba = got[a, b], got[b, a]
        assert (ab.pair_count, ab.antecedent_count, ab.consequent_count) == (f["n_ab"], f["n_a"], f["n_b"]), key
        assert ab.support == pytest.approx(f["support"], abs=1e-6), key
        assert ab.confidence == pytest.approx(f["confidence_a_to_b"], abs=1e-6), key
        assert ba.confidence == pytest.approx(f["confidence_b_to_a"], abs=1e-6), key
        assert ab.lift == pytest.approx(f["lift"], abs=1e-6), key
        assert ab.npmi == pytest.approx(f["npmi"], abs=1e-6), key
        _assert_case_figures(ab, ba, f, key)


# --- shared case 18: category pairs of two uploads with the same name and size ---------------------

@pytest.fixture
def case18(shared_case):
    folder = shared_case("18-cache-staleness-and-widget-state")
    spec = json.loads((folder / "case.json").read_text())
    catalog = load_table((folder / "catalog.csv").read_bytes(), "catalog.csv", S.CATALOG).valid

    def cats(upload: str) -> pd.DataFrame:
        data = (folder / upload / "orders.csv").read_bytes()
        orders = load_table(data, "orders.csv", S.ORDERS).valid
        baskets = build_baskets(orders, item_ids=catalog[S.PRODUCT_ID].to_numpy())
        return category_pair_stats(baskets, category_at_level(catalog[S.CATEGORY], 1))
    return spec, cats


@pytest.mark.parametrize("step, upload, figures", [(1, "upload_a", "category_pairs_a"),
                                                   (2, "upload_b", "category_pairs_b")])
def test_case18_category_pairs_follow_the_file(case18, step, upload, figures):
    spec, cats = case18
    frame = cats(upload)
    got = {(r.antecedent_category, r.consequent_category): r for r in frame.itertuples(index=False)}
    expect = spec["scenario"][step - 1]["expect"]
    # the pair with the most baskets is the one the step names (Kitchen|Tea, then Garden|Outdoor)
    top = frame.loc[frame["pair_count"].idxmax()]
    assert f"{top.antecedent_category}|{top.consequent_category}" in (
        expect["top_category_pair"], "|".join(reversed(expect["top_category_pair"].split("|"))))
    assert top.pair_count == expect["n_ab"] == 6
    a, b = expect["top_category_pair"].split("|")
    v = expect["values"]
    ab, ba = got[a, b], got[b, a]
    assert (ab.pair_count, ab.antecedent_count, ab.consequent_count) == (v["n_ab"], v["n_a"], v["n_b"])
    # step values, by hand: 8 baskets, 6 with both: support 6/8, lift 8*6/(6*6) = 1.333333,
    # leverage 0.75 - 0.75^2 = 0.1875, confidence 1 both ways -> conviction infinite both ways
    assert ab.support == pytest.approx(v["support"]) == 0.75
    assert ab.confidence == ba.confidence == v["confidence_a_to_b"] == v["confidence_b_to_a"] == 1.0
    assert ab.lift == pytest.approx(v["lift"], abs=1e-6)
    _assert_case_figures(ab, ba, v, f"step {step} {a}|{b}")
    # both category pairs of the file, as case.json lists them
    for key, f in spec["expect"][figures].items():
        a, b = key.split("|")
        ab, ba = got[a, b], got[b, a]
        assert (ab.pair_count, ab.antecedent_count, ab.consequent_count) == (f["n_ab"], f["n_a"], f["n_b"]), key
        assert ab.support == pytest.approx(f["support"], abs=1e-6), key
        assert ab.lift == pytest.approx(f["lift"], abs=1e-6), key
        _assert_case_figures(ab, ba, f, key)
    _assert_no_inf(frame)


def test_case18_the_two_uploads_give_different_category_figures(case18):
    _, cats = case18
    a, b = (c.set_index(["antecedent_category", "consequent_category"]) for c in (cats("upload_a"), cats("upload_b")))
    assert a.loc[("Kitchen", "Tea"), "pair_count"] == 6 and b.loc[("Kitchen", "Tea"), "pair_count"] == 2
    assert a.loc[("Garden", "Outdoor"), "lift"] == pytest.approx(4.0)
    assert b.loc[("Garden", "Outdoor"), "lift"] == pytest.approx(4 / 3)


# --- significance: one-sided Fisher exact test and Benjamini-Hochberg ------------------------------

def _table(r) -> list:
    """The 2 x 2 table of a pair row: [[n_ab, n_a - n_ab], [n_b - n_ab, N - n_a - n_b + n_ab]]."""
    n = round(r.pair_count / r.support)
    return [[r.pair_count, r.antecedent_count - r.pair_count],
            [r.consequent_count - r.pair_count, n - r.antecedent_count - r.consequent_count + r.pair_count]]


def test_p_values_equal_scipy_fisher_exact_greater(case12):
    _, _, baskets = case12
    got = _by_pair(pair_stats(baskets.basket_items, min_pair_count=1), baskets.item_ids)
    for key in [("ES-01", "ES-02"), ("GL-901", "GL-902"), ("MU-01", "TE-01"), ("ES-02", "MU-01"),
                ("MU-01", "TE-02"), ("BK-01", "MU-02")]:
        r = got[key]
        want = stats.fisher_exact(_table(r), alternative="greater").pvalue
        assert r.p_value == pytest.approx(want, rel=1e-12), key
        assert r.p_value == pytest.approx(stats.hypergeom.sf(r.pair_count - 1, 20, r.antecedent_count,
                                                             r.consequent_count), rel=1e-12), key
        assert got[key[::-1]].p_value == r.p_value                   # the test is symmetric in A and B
    # by hand: GL-901 and GL-902 once each, together, N = 20: P(X >= 1) = 1/20
    assert got["GL-901", "GL-902"].p_value == pytest.approx(0.05)
    # ES-01 (3 baskets) always with ES-02 (6): P(X = 3) = C(6,3) C(14,0) / C(20,3) = 20/1140
    assert got["ES-01", "ES-02"].p_value == pytest.approx(20 / 1140)


# Ten baskets, four disjoint pairs whose p-values are fractions (X ~ Hypergeometric(10, n_A, n_B)):
#   a,b in baskets 1-2 (n 2, 2, both 2): P(X >= 2) = 1/C(10,2)           = 1/45
#   g,h in baskets 3-4 (same)                                             = 1/45
#   c,d: {c,d}, {c}     (n 2, 1, both 1): P(X >= 1) = 2/10                = 9/45
#   e,f: {e,f}, {e}, {f} (n 2, 2, both 1): 1 - C(8,2)/C(10,2) = 1 - 28/45 = 17/45
#   z alone in basket 10.
BH = pd.DataFrame([(o, i) for o, items in enumerate(["ab", "ab", "gh", "gh", "cd", "c", "ef", "e", "f", "z"])
                   for i in items], columns=[S.ORDER_ID, S.PRODUCT_ID])


def test_benjamini_hochberg_by_hand():
    b = build_baskets(BH)
    got = _by_pair(pair_stats(b.basket_items, min_pair_count=1), b.item_ids)
    assert {tuple(sorted(k)) for k in got} == {("a", "b"), ("g", "h"), ("c", "d"), ("e", "f")}
    p = {k: got[k].p_value for k in [("a", "b"), ("g", "h"), ("c", "d"), ("e", "f")]}
    assert p == pytest.approx({("a", "b"): 1 / 45, ("g", "h"): 1 / 45, ("c", "d"): 9 / 45, ("e", "f"): 17 / 45})
    for k, v in p.items():
        assert v == pytest.approx(stats.fisher_exact(_table(got[k]), alternative="greater").pvalue, rel=1e-12)
    # BH, m = 4, p sorted 1/45, 1/45, 9/45, 17/45; p_(i) * m / i = 4/45, 2/45, 12/45, 17/45;
    # q_(i) = min over j >= i: 2/45, 2/45, 12/45, 17/45 (the step-up lowers the first one)
    q = {k: got[k].q_value for k in p}
    assert q == pytest.approx({("a", "b"): 2 / 45, ("g", "h"): 2 / 45, ("c", "d"): 12 / 45, ("e", "f"): 17 / 45})
    assert got["b", "a"].q_value == q["a", "b"]
    # the family is the tested pairs: with min_pair_count 2 only a,b and g,h are tested -> m = 2
    got2 = _by_pair(pair_stats(b.basket_items, min_pair_count=2), b.item_ids)
    assert got2["a", "b"].q_value == pytest.approx(1 / 45)   # 1/45 * 2/1 = 2/45, 1/45 * 2/2 = 1/45 -> min 1/45


@settings(max_examples=300, deadline=None)
@given(n=st.integers(2, 2_000), data=st.data())
def test_fisher_greater_equals_scipy_on_any_table(n, data):
    n_a = data.draw(st.integers(1, n))
    n_b = data.draw(st.integers(1, n))
    lo, hi = max(1, n_a + n_b - n), min(n_a, n_b)
    n_ab = data.draw(st.integers(lo, hi)) if lo <= hi else None
    if n_ab is None:
        return
    got = float(fisher_greater(np.array([n_ab]), np.array([n_a]), np.array([n_b]), n)[0])
    want = stats.fisher_exact([[n_ab, n_a - n_ab], [n_b - n_ab, n - n_a - n_b + n_ab]], alternative="greater").pvalue
    assert 0.0 <= got <= 1.0
    assert got == pytest.approx(want, rel=1e-9, abs=1e-300)


def test_fisher_greater_matches_scipy_on_large_counts():
    # Complete-Journey-like margins: N = 155,848 baskets, items in up to 17k baskets
    rng = np.random.default_rng(7)
    n = 155_848
    n_a = rng.integers(5, 17_000, 3_000)
    n_b = rng.integers(5, 17_000, 3_000)
    mean = n_a * n_b / n
    n_ab = np.minimum(np.minimum(n_a, n_b), np.maximum(1, (mean * rng.uniform(0.5, 3, 3_000)).astype(int)))
    got = fisher_greater(n_ab, n_a, n_b, n)
    want = stats.hypergeom.sf(n_ab - 1, n, n_a, n_b)
    ok = want > 1e-290
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-8)
    assert (got[~ok] < 1e-280).all()


# --- very large baskets ----------------------------------------------------------------------------

def test_max_basket_size_drops_large_baskets_from_every_count(five):
    # the five baskets plus a sixth holding a, b and c
    big = sp.vstack([five.basket_items, sp.csr_matrix(np.ones((1, 3), dtype=np.float32))]).tocsr()
    uncapped = _by_pair(pair_stats(big, min_pair_count=1), five.item_ids)
    assert uncapped["a", "b"].pair_count == 3 and uncapped["a", "c"].pair_count == 1
    assert uncapped["a", "b"].support == pytest.approx(3 / 6)
    capped = pair_stats(big, min_pair_count=1, max_basket_size=2)
    # the 3-item basket is left out of N, n_A and n_AB: the figures of the five baskets come back
    expect = pair_stats(five.basket_items, min_pair_count=1)
    pd.testing.assert_frame_equal(capped, expect)
    report = capped.attrs["basket_size_report"]
    assert report == BasketSizeReport(n_baskets=6, n_counted=5, n_dropped=1, lines_dropped=3, largest_basket=3,
                                      max_basket_size=2)
    assert basket_size_report(big, 2) == report
    assert basket_size_report(big) == BasketSizeReport(6, 6, 0, 0, 3, None)
    assert basket_size_report(big, 3).n_dropped == 0                 # "more than" the cap, not "at least"
    assert pair_stats(big, 1).attrs["basket_size_report"].n_dropped == 0


def test_max_basket_size_in_category_pairs_counts_items_not_categories(five):
    big_orders = pd.concat([FIVE, pd.DataFrame([("6", "a"), ("6", "b"), ("6", "c")], columns=FIVE.columns)])
    b = build_baskets(big_orders, item_ids=["a", "b", "c"])
    labels = np.array(["Dairy", "Bakery", "Bakery"], dtype=object)
    capped = category_pair_stats(b, labels, max_basket_size=2)      # basket 6 has 3 items (2 categories)
    expect = category_pair_stats(five, labels)
    pd.testing.assert_frame_equal(capped, expect)
    assert capped.attrs["basket_size_report"].n_dropped == 1
    assert category_pair_stats(b, labels).iloc[0].pair_count == 3    # uncapped: Dairy|Bakery in 3 baskets


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"max_basket_size": 1}, ValueError, r"max_basket_size must be >= 2 or None, got 1"),
    ({"max_basket_size": 0}, ValueError, r"max_basket_size must be >= 2 or None, got 0"),
    ({"max_basket_size": 2.5}, TypeError, r"max_basket_size must be an int or None, got float"),
    ({"max_basket_size": True}, TypeError, r"max_basket_size must be an int or None, got bool"),
    ({"min_pair_count": 2.0}, TypeError, r"min_pair_count must be an int, got float"),
])
def test_pair_stats_argument_errors(five, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        pair_stats(five.basket_items, **kwargs)


def test_pair_stats_does_not_modify_its_input_and_counts_repeats_once():
    # a basket holding item 0 twice (duplicate entries), quantities as values, one stored zero
    x = sp.csr_matrix((np.array([2.0, 1.0, 3.0, 1.0, 0.0], dtype=np.float32),
                       (np.array([0, 0, 0, 1, 1]), np.array([0, 0, 1, 1, 2]))), shape=(2, 3))
    x.has_canonical_format = False
    before = (x.data.copy(), x.indices.copy(), x.indptr.copy())
    got = pair_stats(x, min_pair_count=1)
    assert list(zip(got["antecedent"], got["consequent"], got["pair_count"])) == [(0, 1, 1), (1, 0, 1)]
    assert got.loc[0, "antecedent_count"] == 1 and got.loc[0, "consequent_count"] == 2
    for a, b in zip(before, (x.data, x.indices, x.indptr)):
        np.testing.assert_array_equal(a, b)


def test_empty_result_has_every_column():
    x = sp.csr_matrix(np.eye(3, dtype=np.float32))                    # no basket holds two items
    got = pair_stats(x, 1)
    assert got.empty and tuple(got.columns) == PAIR_STAT_COLUMNS
    assert got["conviction_infinite"].dtype == bool and got["pair_count"].dtype == np.int64


# --- the sparse product: blocks, pruning, and the gen_wide figures -----------------------------------

def _dense_pair_stats(x: np.ndarray) -> dict:
    """Brute force from the definitions (tests only: a dense basket x item matrix)."""
    b = (x != 0).astype(np.int64)
    n = b.shape[0]
    co, cnt = b.T @ b, b.sum(axis=0)
    out = {}
    for i, j in zip(*np.nonzero(co)):
        if i == j:
            continue
        nab, na, nb = co[i, j], cnt[i], cnt[j]
        out[i, j] = dict(pair_count=nab, support=nab / n, confidence=nab / na, lift=n * nab / (na * nb),
                         leverage=nab / n - na * nb / n ** 2, jaccard=nab / (na + nb - nab),
                         conviction=None if nab == na else (1 - nb / n) / (1 - nab / na),
                         p_value=stats.hypergeom.sf(nab - 1, n, na, nb))
    return out


@pytest.mark.parametrize("blocks", [1, 3, 4, 7])
def test_block_product_equals_brute_force(monkeypatch, blocks):
    monkeypatch.setattr(affinity, "_PRODUCT_BLOCKS", blocks)
    monkeypatch.setattr(affinity, "_BLOCK_MIN_NNZ", 0)
    rng = np.random.default_rng(blocks)
    x = (rng.random((300, 40)) < rng.random(40) * 0.3).astype(np.float32)
    want = _dense_pair_stats(x)
    for m in (1, 3, 8):
        got = pair_stats(sp.csr_matrix(x), m)
        pairs = {(r.antecedent, r.consequent): r for r in got.itertuples(index=False)}
        assert set(pairs) == {k for k, v in want.items() if v["pair_count"] >= m}
        for k, r in pairs.items():
            w = want[k]
            assert r.pair_count == w["pair_count"]
            for col in ("support", "confidence", "lift", "leverage", "jaccard"):
                assert getattr(r, col) == pytest.approx(w[col], rel=1e-12, abs=1e-15), (k, col)
            assert r.p_value == pytest.approx(w["p_value"], rel=1e-9), k
            if w["conviction"] is None:
                assert r.conviction_infinite and math.isnan(r.conviction)
            else:
                assert r.conviction == pytest.approx(w["conviction"], rel=1e-12)


def test_a_higher_minimum_only_filters(five):
    rng = np.random.default_rng(3)
    x = sp.csr_matrix((rng.random((400, 60)) < 0.08).astype(np.float32))
    all_pairs = pair_stats(x, 1)
    for m in (2, 4):
        got = pair_stats(x, m)
        want = all_pairs[all_pairs["pair_count"] >= m].reset_index(drop=True)
        # the same rows in the same order; q-values differ (a smaller family)
        pd.testing.assert_frame_equal(got.drop(columns="q_value"), want.drop(columns="q_value"))
        assert (got["q_value"] <= want["q_value"] + 1e-15).all()


def test_case12_gen_wide_pair_counts(shared_case, tmp_path, monkeypatch):
    folder = shared_case("12-rare-items-and-apriori-blowup")
    figures = json.loads((folder / "case.json").read_text())["expect"]["gen_wide"]["figures"]
    spec = importlib.util.spec_from_file_location("gen_wide", folder / "gen_wide.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    baskets = gen.build(tmp_path)
    assert hashlib.sha256((tmp_path / "orders_wide.csv").read_bytes()).hexdigest() == \
        figures["sha256_orders_wide.csv"]
    rows = np.repeat(np.arange(len(baskets)), [len(b) for b in baskets])
    x = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, np.concatenate(baskets))),
                      shape=(len(baskets), figures["n_products"]))
    assert (x.shape[0], x.nnz) == (figures["n_orders"], figures["order_lines"])
    for blocks in (1, 4):                                       # the real product path, then forced blocks
        monkeypatch.setattr(affinity, "_PRODUCT_BLOCKS", blocks)
        monkeypatch.setattr(affinity, "_BLOCK_MIN_NNZ", 0)
        assert pair_counts(x, 1).nnz == figures["distinct_pairs"]
        assert pair_counts(x, 5).nnz == figures["pairs_with_count_ge_5"]
        co = pair_counts(x, 20)
        assert co.nnz == figures["pairs_with_count_ge_20"]
        counts = {(f"W{i:04d}", f"W{j:04d}"): int(v) for i, j, v in zip(co.row, co.col, co.data)}
        for key, n_ab in figures["top_pairs"].items():
            assert counts[tuple(key.split("|"))] == n_ab, key
        assert len(pair_stats(x, 5)) == 2 * figures["pairs_with_count_ge_5"]


# --- ranges (property test) -------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(2, 12), st.floats(0.05, 0.9), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_statistics_stay_in_their_ranges(n_baskets, n_items, density, m, seed):
    x = sp.csr_matrix((np.random.default_rng(seed).random((n_baskets, n_items)) < density).astype(np.float32))
    got = pair_stats(x, m)
    for col in ("support", "confidence", "jaccard", "p_value", "q_value"):
        assert got[col].between(0, 1).all(), col
    assert got["npmi"].between(-1, 1).all()
    assert got["leverage"].between(-0.25, 0.25).all()
    assert (got["lift"] >= 0).all() and (got["q_value"] >= got["p_value"] - 1e-15).all()
    assert ((got["conviction"] >= 0) | got["conviction_infinite"]).all()
    assert (got["conviction_infinite"] == (got["confidence"] == 1.0)).all()
    _assert_no_inf(got)


# --- hybrid affinity ------------------------------------------------------------------------------

def test_hybrid_affinity_by_hand():
    n = np.array([5, 15, 1, 2])
    npmi = np.array([0.6, -0.2, 1.0, 0.0])
    sim = np.array([0.8, 0.4, -0.3, 0.0])
    got = hybrid_affinity(n, npmi, sim)                      # evidence_k 5, text_weight 0.5
    # w = n / (n + 5)
    # 5:  w = 0.5   -> 0.5 * 0.6 + 0.5 * 0.5 * 0.8 = 0.3 + 0.2 = 0.5
    # 15: w = 0.75  -> 0.75 * max(-0.2, 0) + 0.25 * 0.5 * 0.4 = 0 + 0.05 = 0.05
    # 1:  w = 1/6   -> 1/6 * 1 + 5/6 * 0.5 * max(-0.3, 0) = 0.166667
    # 2:  w = 2/7   -> 0
    np.testing.assert_allclose(got, [0.5, 0.05, 1 / 6, 0.0], atol=1e-12)


def test_hybrid_affinity_settings_change_the_weights():
    s = AffinitySettings(min_pair_count=1, evidence_k=1.0, text_weight=1.0)
    # n = 1, k = 1: w = 0.5 -> 0.5 * 1 + 0.5 * 1 * 1 = 1.0 ; n = 3: w = 0.75 -> 0.75 * 0.2 + 0.25 * 0.6 = 0.3
    np.testing.assert_allclose(hybrid_affinity(np.array([1, 3]), np.array([1.0, 0.2]), np.array([1.0, 0.6]), s),
                               [1.0, 0.3], atol=1e-12)
    # text_weight 0: similarity never counts
    s0 = AffinitySettings(text_weight=0.0)
    np.testing.assert_allclose(hybrid_affinity(np.array([5]), np.array([0.0]), np.array([0.9]), s0), [0.0])


@given(n=st.integers(1, 10_000), npmi=st.floats(-1, 1), sim=st.floats(-1, 1),
       k=st.floats(0.01, 100), tw=st.floats(0, 1))
def test_hybrid_affinity_stays_in_unit_interval(n, npmi, sim, k, tw):
    s = AffinitySettings(evidence_k=k, text_weight=tw)
    v = float(hybrid_affinity(np.array([n]), np.array([npmi]), np.array([sim]), s)[0])
    assert 0.0 <= v <= 1.0 + 1e-12


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"min_pair_count": 0}, ValueError, r"min_pair_count must be >= 1, got 0"),
    ({"min_pair_count": -3}, ValueError, r"min_pair_count must be >= 1, got -3"),
    ({"min_pair_count": 1.5}, TypeError, r"min_pair_count must be an int, got float"),
    ({"min_pair_count": True}, TypeError, r"min_pair_count must be an int, got bool"),
    ({"min_pair_count": "2"}, TypeError, r"min_pair_count must be an int, got str"),
    ({"evidence_k": 0}, ValueError, r"evidence_k must be > 0, got 0"),
    ({"evidence_k": -1.5}, ValueError, r"evidence_k must be > 0, got -1.5"),
    ({"evidence_k": float("nan")}, ValueError, r"evidence_k must be > 0, got nan"),
    ({"evidence_k": "5"}, TypeError, r"evidence_k must be a number, got str"),
    ({"evidence_k": True}, TypeError, r"evidence_k must be a number, got bool"),
    ({"text_weight": None}, TypeError, r"text_weight must be a number, got NoneType"),
    ({"text_weight": 1.5}, ValueError, r"text_weight must be in \[0, 1\], got 1.5"),
    ({"text_weight": -0.1}, ValueError, r"text_weight must be in \[0, 1\], got -0.1"),
    ({"max_basket_size": 1}, ValueError, r"max_basket_size must be >= 2 or None, got 1"),
    ({"max_basket_size": 3.0}, TypeError, r"max_basket_size must be an int or None, got float"),
    ({"max_basket_size": "50"}, TypeError, r"max_basket_size must be an int or None, got str"),
])
def test_affinity_settings_validation_names_the_argument(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        AffinitySettings(**kwargs)


def test_affinity_settings_defaults_and_numpy_ints():
    s = AffinitySettings(min_pair_count=np.int64(3))
    assert (s.min_pair_count, s.evidence_k, s.text_weight) == (3, 5.0, 0.5)
    assert AffinitySettings().min_pair_count == 2
    assert AffinitySettings().max_basket_size is None
    assert AffinitySettings(max_basket_size=np.int64(50)).max_basket_size == 50


# --- cosine and graph -----------------------------------------------------------------------------

def test_rowwise_cosine():
    e = np.array([[1, 0], [0, 1], [math.sqrt(0.5), math.sqrt(0.5)]], dtype=np.float32)
    got = rowwise_cosine(e, np.array([0, 0, 2, 1]), np.array([1, 2, 2, 0]), chunk=3)   # chunked on purpose
    np.testing.assert_allclose(got, [0.0, math.sqrt(0.5), 1.0, 0.0], atol=1e-6)


def test_affinity_graph_one_edge_per_unordered_pair_and_top_n():
    pairs = pd.DataFrame({"antecedent_id": ["a", "b", "b", "c", "a", "d"],
                          "consequent_id": ["b", "a", "c", "b", "d", "a"],
                          "affinity": [0.5, 0.5, 0.2, 0.2, 0.9, 0.9], "lift": [1.1, 1.1, 0.8, 0.8, 3.0, 3.0]})
    g = affinity_graph(pairs, node_attrs=pd.DataFrame({"title": ["A", "B", "C", "D", "E"]},
                                                      index=["a", "b", "c", "d", "e"]))
    assert sorted(tuple(sorted(e)) for e in g.edges) == [("a", "b"), ("a", "d"), ("b", "c")]
    assert g["a"]["d"]["weight"] == 0.9 and g["a"]["d"]["lift"] == 3.0
    assert g.nodes["c"]["title"] == "C" and "e" not in g      # no node without an edge
    top = affinity_graph(pairs, top_n=2)
    assert sorted(tuple(sorted(e)) for e in top.edges) == [("a", "b"), ("a", "d")]


# --- distinct customers per pair ------------------------------------------------------------------

def _customers_brute(dense: np.ndarray, cust, a: int, b: int) -> int:
    rows = np.flatnonzero(dense[:, a] & dense[:, b])
    known = {cust[r] for r in rows if cust[r] is not None}
    return len(known) + sum(cust[r] is None for r in rows)


def test_pair_customers_by_hand(five):
    # baskets 1..5: {a,b} c1, {a,b} c1, {a} c2, {b,c} c2, {c} -; a|b: 2 baskets, one customer
    got = affinity.pair_customers(five.basket_items, ["c1", "c1", "c2", "c2", None], [0, 1, 0], [1, 2, 2])
    assert got.tolist() == [1, 1, 0]
    # without customer ids every basket is its own shopper: customers == pair_count
    assert affinity.pair_customers(five.basket_items, [None] * 5, [1], [0]).tolist() == [2]


@pytest.mark.parametrize("chunk", [1, 5, 10_000_000])
@pytest.mark.parametrize("cap", [None, 4])
def test_pair_customers_equals_brute_force(chunk, cap):
    rng = np.random.default_rng(3)
    x = sp.random(400, 15, density=0.25, random_state=4, format="csr")
    x.data[:] = 2.0                                         # any nonzero counts once
    cust = rng.integers(0, 50, 400).astype(object)
    cust[rng.random(400) < 0.1] = None
    a, b = np.triu_indices(15, 1)
    dense = x.toarray() > 0
    if cap is not None:
        dense[dense.sum(axis=1) > cap] = False               # a capped basket counts for nothing
    got = affinity.pair_customers(x, cust, b, a, max_basket_size=cap, chunk_pairs=chunk)
    assert got.tolist() == [_customers_brute(dense, cust, i, j) for i, j in zip(a, b)]
    st_ = pair_stats(x, 1, max_basket_size=cap).set_index(["antecedent", "consequent"])["pair_count"]
    assert (got <= st_.reindex(list(zip(b, a)), fill_value=0).to_numpy()).all()


def test_pair_customers_errors(five):
    with pytest.raises(ValueError, match=r"one entry per basket \(5\), got 2"):
        affinity.pair_customers(five.basket_items, ["x", "y"], [0], [1])
    with pytest.raises(ValueError, match="max_basket_size must be >= 2"):
        affinity.pair_customers(five.basket_items, [None] * 5, [0], [1], max_basket_size=1)


def test_bh_adjust_equals_scipy_bit_for_bit():
    rng = np.random.default_rng(5)
    p = np.concatenate([rng.random(2000), np.zeros(50), np.full(30, 0.5), rng.random(100) ** 8, [1.0]])
    rng.shuffle(p)
    np.testing.assert_array_equal(affinity._bh_adjust(p), stats.false_discovery_control(p, method="bh"))
