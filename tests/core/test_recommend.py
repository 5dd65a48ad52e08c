"""core.recommend: the shared behaviour of every strategy, on the real Instacart fixture model, plus a
tiny shop with answers worked out by hand.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from core import schema as S
from core.pipeline import BuildSettings, build_model
from core.recommend import (STRATEGIES, CrossCategoryHybrid, HybridWeights, LiftOnly, PopularUnseenCategories,
                            TextNeighbours)

K = 10


@pytest.fixture(scope="module")
def fitted(instacart_model):
    return {name: factory().fit(instacart_model) for name, factory in STRATEGIES.items()}


@pytest.fixture(scope="module")
def slates(fitted, instacart_model):
    """{strategy name: {customer id: Recommendations}} for all 60 customers."""
    return {name: {c: s.recommend(c, K) for c in instacart_model.customer_ids} for name, s in fitted.items()}


@pytest.fixture(scope="module")
def raw_baskets(instacart_dir) -> pd.Series:
    raw = pd.read_csv(instacart_dir / "orders.csv", dtype=str)
    return raw.groupby("order_id")["product_id"].agg(set)


def test_the_strategies_are_registered():
    assert set(STRATEGIES) == {"popular overall", "popular in unseen categories", "item co-occurrence (SAR)",
                               "ALS (implicit)", "content profile", "lift only", "text neighbours", "hybrid",
                               "hybrid + MMR"}
    assert all(STRATEGIES[name].name == name for name in STRATEGIES)


# --- behaviour every strategy shares --------------------------------------------------------------

@pytest.mark.parametrize("name", list(STRATEGIES))
def test_shared_behaviour(name, slates, fitted, instacart_model):
    m = instacart_model
    non_empty = 0
    for c, rec in slates[name].items():
        hist, _ = m.history(c)
        bought = set(m.item_ids[hist])
        assert len(rec) <= K and len(rec.scores) == len(rec.ids) == len(rec.reasons)
        assert rec.customer_id == c
        assert not bought & set(rec.ids), (name, c)                        # never what they bought
        assert len(set(rec.ids)) == len(rec.ids)                            # no repeats
        assert all(isinstance(r, str) and r.strip() for r in rec.reasons)   # a reason per item
        if fitted[name].diversity is None:                                  # best first (MMR: its own order)
            assert np.all(np.diff(rec.scores) <= 0), (name, c)
        assert np.all(np.isfinite(rec.scores)) and np.all(rec.scores > 0)
        non_empty += len(rec) > 0
    assert non_empty >= 50, name                                           # it recommends to most customers
    # deterministic: a second call (and a second fit) gives the same slate
    c = m.customer_ids[0]
    again = STRATEGIES[name]().fit(m).recommend(c, K)
    first = slates[name][c]
    assert again.ids.tolist() == first.ids.tolist() and again.reasons == first.reasons
    np.testing.assert_array_equal(again.scores, first.scores)
    assert fitted[name].recommend(c, K).ids.tolist() == first.ids.tolist()


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_smaller_k_is_a_prefix(name, fitted, slates, instacart_model):
    c = instacart_model.customer_ids[5]
    full = slates[name][c]
    top3 = fitted[name].recommend(c, 3)
    assert len(top3) == min(3, len(full))
    assert top3.ids.tolist() == full.ids.tolist()[:3]


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_customer_without_history_gets_nothing(name, fitted):
    rec = fitted[name].recommend("no-such-customer", K)
    assert len(rec) == 0 and rec.reasons == [] and rec.customer_id == "no-such-customer"


@pytest.mark.parametrize("name", list(STRATEGIES))
@pytest.mark.parametrize("k", [0, -1, 2.0, "3"])
def test_bad_k(name, fitted, instacart_model, k):
    with pytest.raises(ValueError, match=r"k must be a positive int"):
        fitted[name].recommend(instacart_model.customer_ids[0], k)


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_recommend_before_fit(name):
    with pytest.raises(RuntimeError, match="called before fit"):
        STRATEGIES[name]().recommend("347", K)


def test_recommend_frame(fitted, slates, instacart_model):
    m = instacart_model
    customers = list(m.customer_ids[:3])
    frame = fitted["hybrid"].recommend_frame(customers, K)
    assert list(frame.columns) == list(S.RECOMMENDATION_COLUMNS)
    first = frame[frame[S.CUSTOMER_ID] == customers[0]]
    assert first["rank"].tolist() == list(range(1, len(first) + 1))
    assert first[S.PRODUCT_ID].tolist() == slates["hybrid"][customers[0]].ids.tolist()
    assert first[S.CATEGORY].tolist() == m.categories[m.item_index(first[S.PRODUCT_ID])].tolist()


# --- what each strategy guarantees ----------------------------------------------------------------

def test_popular_unseen_categories(slates, instacart_model):
    m = instacart_model
    for c, rec in slates["popular in unseen categories"].items():
        hist, _ = m.history(c)
        seen = set(m.categories[hist])
        idx = m.item_index(rec.ids)
        if len(seen) < len(set(m.categories)):
            assert not seen & set(m.categories[idx]), c                    # only categories never bought
        np.testing.assert_array_equal(rec.scores, m.item_counts[idx])      # score = baskets holding it
        for j, why in zip(idx, rec.reasons):
            assert f"in {m.item_counts[j]:,} of 864 baskets" in why


def test_lift_only(slates, instacart_model):
    m = instacart_model
    for c, rec in slates["lift only"].items():
        hist, _ = m.history(c)
        for pid, score, why in zip(rec.ids, rec.scores, rec.reasons):
            j = m.item_index([pid])[0]
            # score = the best lift from a bought item of another category, over pairs with n >= 2
            lifts = [(m.lift[h, j], h) for h in hist if m.categories[h] != m.categories[j] and m.pair_count[h, j] >= 2]
            assert lifts and score == pytest.approx(max(lifts)[0]), (c, pid)
            n = int(re.search(r"; (\d+) baskets hold both, lift", why).group(1))
            assert n >= 2


def test_text_neighbours(slates, instacart_model):
    m = instacart_model
    for c, rec in slates["text neighbours"].items():
        hist, _ = m.history(c)
        anchors = hist[:20]                                   # the 20 most-bought items
        for pid, score in zip(rec.ids, rec.scores):
            j = m.item_index([pid])[0]
            sims = [float(m.embeddings[h] @ m.embeddings[j]) for h in anchors if m.categories[h] != m.categories[j]]
            assert sims and score == pytest.approx(max(sims), abs=1e-5), (c, pid)


def test_hybrid_items_are_cross_category(slates, instacart_model):
    m = instacart_model
    for c, rec in slates["hybrid"].items():
        hist, _ = m.history(c)
        for pid in rec.ids:
            j = m.item_index([pid])[0]
            # reachable from a bought item of another category (an affinity edge or a text anchor)
            assert any(m.categories[h] != m.categories[j] for h in hist), (c, pid)


@pytest.fixture(scope="module")
def complement_slates(instacart_model):
    """The hybrid with only its cross-category terms (HybridWeights.complements_only)."""
    s = CrossCategoryHybrid(HybridWeights.complements_only()).fit(instacart_model)
    return {c: s.recommend(c, K) for c in instacart_model.customer_ids}


def test_complements_only_hybrid_items_are_reachable_cross_category(complement_slates, instacart_model):
    m = instacart_model
    for c, rec in complement_slates.items():
        hist, _ = m.history(c)
        for pid in rec.ids:
            j = m.item_index([pid])[0]
            edge = any(m.affinity[h, j] > 0 for h in hist)
            text = any(m.categories[h] != m.categories[j] for h in hist[:20])
            assert edge or text, (c, pid)


def test_default_hybrid_reasons_name_their_evidence(slates, instacart_model, raw_baskets):
    m = instacart_model
    kinds = set()
    for c, rec in slates["hybrid"].items():
        for pid, why in zip(rec.ids, rec.reasons):
            assert why.endswith(f"in {m.item_counts[m.item_index([pid])[0]]:,} baskets overall"), why
            if "matrix factorisation" in why:
                found = re.match(r"bought (.+) \d+ times?; shoppers who buy it also buy this \(matrix factorisation"
                                 r"[^)]*\); (\d+|no) baskets? holds? both", why)
                assert found, why
                if found.group(2) != "no":
                    title = found.group(1).rsplit(" (", 1)[0]
                    a = m.item_ids[[i for i in range(m.n_items) if m.titles[i] == title][0]]
                    assert int(raw_baskets.map(lambda s: a in s and pid in s).sum()) == int(found.group(2)), why
                kinds.add("collaborative")
            elif re.match(r"bought (.+) \d+ times?; (\d+) baskets? holds? both, jaccard", why):
                found = re.match(r"bought (.+) \d+ times?; (\d+) baskets? holds? both", why)
                title = found.group(1).rsplit(" (", 1)[0]
                a = m.item_ids[[i for i in range(m.n_items) if m.titles[i] == title][0]]
                assert int(raw_baskets.map(lambda s: a in s and pid in s).sum()) == int(found.group(2)), why
                kinds.add("cooccurrence")
            elif re.match(r"bought (.+); (\d+) baskets hold both, lift", why):
                kinds.add("affinity")
    assert {"collaborative", "cooccurrence"} <= kinds


def test_hybrid_reason_counts_match_the_baskets(complement_slates, instacart_model, raw_baskets):
    m = instacart_model
    checked = 0
    for c, rec in complement_slates.items():
        hist, _ = m.history(c)
        by_description = {}
        for h in hist:
            by_description.setdefault(m.describe_item(h), []).append(h)
        for pid, why in zip(rec.ids, rec.reasons):
            found = re.match(r"bought (.+); (\d+) baskets hold both, lift ([\d.]+)", why)
            if not found:
                assert why.startswith("similar text to ") or why.startswith("in "), why
                continue
            j = m.item_index([pid])[0]
            anchors = by_description[found.group(1)]                 # the bought item it names
            n = int(found.group(2))
            assert any(int(m.pair_count[h, j]) == n for h in anchors), why
            h = next(h for h in anchors if int(m.pair_count[h, j]) == n)
            assert f"{m.lift[h, j]:.1f}" == found.group(3)
            # and the count is true: recount the baskets holding both in the raw orders
            a, b = m.item_ids[h], pid
            assert int(raw_baskets.map(lambda s: a in s and b in s).sum()) == n, why
            assert f"in {m.item_counts[j]:,} baskets overall" in why
            checked += 1
    assert checked >= 100                                            # most hybrid reasons cite baskets


# --- settings -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, exc, match", [
    ({"affinity": -1}, ValueError, r"affinity weight must be in \[0, 10\], got -1"),
    ({"text": 11}, ValueError, r"text weight must be in \[0, 10\], got 11"),
    ({"popularity": "1"}, TypeError, r"popularity weight must be a number, got str"),
    ({"affinity": True}, TypeError, r"affinity weight must be a number, got bool"),
    ({"affinity": 0, "text": 0, "popularity": 0, "collaborative": 0, "cooccurrence": 0, "unseen_category": 0},
     ValueError, r"at least one weight must be > 0"),
    ({"collaborative": 10.5}, ValueError, r"collaborative weight must be in \[0, 10\], got 10.5"),
])
def test_hybrid_weights_validation(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        HybridWeights(**kwargs)


def test_text_neighbours_max_anchors():
    with pytest.raises(ValueError, match=r"max_anchors must be >= 1, got 0"):
        TextNeighbours(max_anchors=0)


# --- a tiny shop with known answers ---------------------------------------------------------------
#
# baskets (customer): o1 (c1) Y1 G1 | o2 (c2) Y1 G1 | o3 (c3) Y1 G1 H1 | o4 (c4) Y2 H1 | o5 (c5) Y2 H1 |
#                     o6 (c6) O1    | o7 (c7) Y1
# N = 7; n_Y1 = 4, n_G1 = 3, n_H1 = 3, n_Y2 = 2, n_O1 = 1
# pairs: Y1|G1 = 3, Y2|H1 = 2, Y1|H1 = 1, G1|H1 = 1 (the last two are below min_pair_count 2)

TINY_CATALOG = pd.DataFrame({
    S.PRODUCT_ID: ["Y1", "Y2", "G1", "H1", "O1"],
    S.TITLE: ["Greek yogurt", "Plain yogurt", "Crunchy oat granola", "Wildflower honey", "Synthetic motor oil 5W-30"],
    S.CATEGORY: ["Dairy > Yogurt", "Dairy > Yogurt", "Breakfast > Cereal", "Pantry > Spreads", "Auto > Oil"],
})
TINY_ORDERS = pd.DataFrame(
    [("o1", "Y1", "c1"), ("o1", "G1", "c1"), ("o2", "Y1", "c2"), ("o2", "G1", "c2"), ("o3", "Y1", "c3"),
     ("o3", "G1", "c3"), ("o3", "H1", "c3"), ("o4", "Y2", "c4"), ("o4", "H1", "c4"), ("o5", "Y2", "c5"),
     ("o5", "H1", "c5"), ("o6", "O1", "c6"), ("o7", "Y1", "c7")],
    columns=[S.ORDER_ID, S.PRODUCT_ID, S.CUSTOMER_ID]).assign(**{S.QUANTITY: 1})


@pytest.fixture(scope="module")
def tiny():
    return build_model(TINY_CATALOG, TINY_ORDERS, settings=BuildSettings(use_text=False))


@pytest.fixture(scope="module")
def tiny_text(encoder):
    return build_model(TINY_CATALOG, TINY_ORDERS, embed=lambda texts, progress: encoder.encode(texts))


def test_tiny_popular(tiny):
    rec = PopularUnseenCategories().fit(tiny).recommend("c7", K)
    # c7 bought Dairy; unseen: G1 (3 baskets), H1 (3), O1 (1); ties by catalog order
    assert rec.ids.tolist() == ["G1", "H1", "O1"] and rec.scores.tolist() == [3, 3, 1]
    assert rec.reasons[0] == "popular in Breakfast (a category not bought yet): in 3 of 7 baskets (42.9%)"


def test_tiny_popular_when_every_category_is_bought(tiny):
    orders = pd.concat([TINY_ORDERS, pd.DataFrame(
        [("o8", p, "c8") for p in ["Y1", "G1", "H1", "O1"]], columns=[S.ORDER_ID, S.PRODUCT_ID, S.CUSTOMER_ID])
    ]).assign(**{S.QUANTITY: 1})
    m = build_model(TINY_CATALOG, orders, settings=BuildSettings(use_text=False))
    rec = PopularUnseenCategories().fit(m).recommend("c8", K)
    # every category bought: the most popular item not bought, Y2 (2 baskets)
    assert rec.ids.tolist() == ["Y2"] and "already a category of theirs" in rec.reasons[0]


def test_tiny_lift(tiny):
    rec = LiftOnly().fit(tiny).recommend("c7", K)
    # from Y1: G1 lift 7*3/(4*3) = 1.75; Y1|H1 has n = 1 < 2; Y2 is the same category
    assert rec.ids.tolist() == ["G1"] and rec.scores.tolist() == [1.75]
    assert rec.reasons == ["bought Greek yogurt (Dairy); 3 baskets hold both, lift 1.8"]
    # c4 bought Y2 and H1: their only pair is each other, nothing left to show
    assert len(LiftOnly().fit(tiny).recommend("c4", K)) == 0


def test_tiny_hybrid_without_text(tiny):
    rec = CrossCategoryHybrid(HybridWeights.complements_only(1.0, 0.3, 0.5)).fit(tiny).recommend("c7", K)
    # only G1 is reachable (affinity edge from Y1). A_G1 / max A = 1, popularity log1p(3)/log1p(4)
    #   = 1.386294 / 1.609438 = 0.861353; score = 1 * 1 + 0.5 * 0.861353 = 1.430677
    assert rec.ids.tolist() == ["G1"]
    assert rec.scores[0] == pytest.approx(1 + 0.5 * math.log1p(3) / math.log1p(4))
    assert rec.reasons == ["bought Greek yogurt (Dairy); 3 baskets hold both, lift 1.8; in 3 baskets overall"]
    # the pair's affinity: w = 3/8, npmi = ln(1.75) / -ln(3/7) = 0.559616 / 0.847298 = 0.660471
    i, j = tiny.item_index(["Y1", "G1"])
    assert tiny.affinity[i, j] == pytest.approx(3 / 8 * math.log(1.75) / -math.log(3 / 7))


def test_tiny_text_neighbours_skip_the_own_category(tiny_text):
    rec = TextNeighbours().fit(tiny_text).recommend("c7", K)
    # c7 bought Greek yogurt: plain yogurt is the same category, never shown
    assert "Y2" not in rec.ids
    assert set(rec.ids) <= {"G1", "H1", "O1"}
    order = rec.ids.tolist()
    assert "G1" in order and "H1" in order
    if "O1" in order:                                         # motor oil, if shown at all, comes last
        assert order.index("O1") == len(order) - 1


def test_text_neighbours_need_embeddings(tiny):
    with pytest.raises(RuntimeError, match="text neighbours need embeddings"):
        TextNeighbours().fit(tiny).recommend("c7", K)


def test_tiny_hybrid_with_text_reaches_items_without_baskets(tiny_text):
    rec = CrossCategoryHybrid(HybridWeights.complements_only()).fit(tiny_text).recommend("c7", K)
    assert rec.ids[0] == "G1"                                 # the co-purchase evidence wins
    assert "Y2" not in rec.ids
    # H1 shares no basket with Y1 above the minimum, so its reason is the text
    reasons = dict(zip(rec.ids, rec.reasons))
    assert "H1" in reasons and reasons["H1"].startswith("similar text to Greek yogurt (Dairy), which they bought")


def test_als_and_the_hybrid_do_not_depend_on_the_catalog_order(instacart_tables):
    """The app reads the catalog from the database, the CLI from the file, in different orders: the same data
    must give the same ALS factors and the same slates."""
    from core.recommend import ImplicitALS
    cat, orders = instacart_tables
    settings = BuildSettings(use_text=False)
    a = build_model(cat, orders, None, settings)
    b = build_model(cat.iloc[::-1].reset_index(drop=True), orders, None, settings)
    assert list(a.item_ids) != list(b.item_ids)
    fa, fb = ImplicitALS().fit(a), ImplicitALS().fit(b)
    np.testing.assert_allclose(fa.item_factors_, fb.item_factors_[b.item_index(a.item_ids)], rtol=1e-6, atol=1e-9)
    ha, hb = CrossCategoryHybrid(HybridWeights(text=0)).fit(a), CrossCategoryHybrid(HybridWeights(text=0)).fit(b)
    for c in a.customer_ids[:20]:
        ra, rb = ha.recommend(c, K), hb.recommend(c, K)
        np.testing.assert_allclose(ra.scores, rb.scores, rtol=1e-6)
        assert list(ra.ids) == list(rb.ids) or sorted(ra.ids) == sorted(rb.ids)  # ties may swap, nothing else
