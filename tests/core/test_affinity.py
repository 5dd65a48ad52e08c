"""core.affinity: pair statistics, category pairs, hybrid affinity, graph; figures worked by hand.

Five baskets {a,b}, {a,b}, {a}, {b,c}, {c}: N = 5, n_a = 3, n_b = 3, n_c = 2, n_ab = 2, n_bc = 1, n_ac = 0.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import schema as S
from core.affinity import (AffinitySettings, affinity_graph, category_pair_stats, hybrid_affinity, pair_counts,
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
    for key, f in figures.items():            # leverage, conviction, jaccard: not computed yet
        a, b = key.split("|")
        ab, ba = got[a, b], got[b, a]
        assert (ab.pair_count, ab.antecedent_count, ab.consequent_count) == (f["n_ab"], f["n_a"], f["n_b"]), key
        assert ab.support == pytest.approx(f["support"], abs=1e-6), key
        assert ab.confidence == pytest.approx(f["confidence_a_to_b"], abs=1e-6), key
        assert ba.confidence == pytest.approx(f["confidence_b_to_a"], abs=1e-6), key
        assert ab.lift == ba.lift == pytest.approx(f["lift"], abs=1e-6), key
        assert ab.npmi == pytest.approx(f["npmi"], abs=1e-6), key
    # every pair the data holds is in the case: 15 unordered pairs, 30 directed rows
    assert len(got) == 30


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
])
def test_affinity_settings_validation_names_the_argument(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        AffinitySettings(**kwargs)


def test_affinity_settings_defaults_and_numpy_ints():
    s = AffinitySettings(min_pair_count=np.int64(3))
    assert (s.min_pair_count, s.evidence_k, s.text_weight) == (3, 5.0, 0.5)
    assert AffinitySettings().min_pair_count == 2


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
