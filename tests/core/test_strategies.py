"""core.recommend, issue 5 items 1 and 6: every strategy on one tiny hand-made shop whose answers are
worked out below by hand, MMR re-ranking, and the merchandiser rules hook.

The shop (catalog order = item index; hand-made unit embeddings instead of the language model):

    idx id  title    category  embedding        baskets (customer)
    0   M1  Milk     Dairy     (1, 0, 0)        o1 (u1) M1 B1 J1 | o2 (u1) M1 B1 | o3 (u2) M1 M2
    1   M2  Yogurt   Dairy     (0.8, 0.6, 0)    o4 (u3) B1 J1    | o5 (u3) B2 J1 | o6 (u4) M1 B1 C1
    2   B1  Bread    Bakery    (0, 1, 0)        o7 (u5) C1       | o8 (u6) O1
    3   B2  Bagels   Bakery    (0, 0.6, 0.8)
    4   J1  Jam      Pantry    (0, 0, 1)        N = 8; n_M1 = 4, n_B1 = 4, n_J1 = 3, n_C1 = 2, n_M2 = n_B2 = n_O1 = 1
    5   C1  Coffee   Drinks    (0.6, 0, 0.8)    pairs: M1|B1 3, B1|J1 2, M1|M2 1, M1|J1 1, M1|C1 1, B1|C1 1, B2|J1 1
    6   O1  Oil      Auto      (-1, 0, 0)

Order lines per customer: u1 bought M1 twice, B1 twice, J1 once; u2 M1, M2; u5 C1.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core import schema as S
from core.pipeline import BuildSettings, build_model
from core.recommend import (MMR, STRATEGIES, ContentProfile, CrossCategoryHybrid, ImplicitALS, ItemCooccurrence,
                            LiftOnly, PopularityGlobal, PopularUnseenCategories, TextNeighbours)

K = 10
IDS = ["M1", "M2", "B1", "B2", "J1", "C1", "O1"]
CATALOG = pd.DataFrame({
    S.PRODUCT_ID: IDS,
    S.TITLE: ["Milk", "Yogurt", "Bread", "Bagels", "Jam", "Coffee", "Oil"],
    S.CATEGORY: ["Dairy", "Dairy", "Bakery", "Bakery", "Pantry", "Drinks", "Auto"],
})
VECTORS = {"Milk": (1, 0, 0), "Yogurt": (0.8, 0.6, 0), "Bread": (0, 1, 0), "Bagels": (0, 0.6, 0.8),
           "Jam": (0, 0, 1), "Coffee": (0.6, 0, 0.8), "Oil": (-1, 0, 0)}
ORDERS = pd.DataFrame(
    [(o, p, c) for o, c, items in [("o1", "u1", "M1 B1 J1"), ("o2", "u1", "M1 B1"), ("o3", "u2", "M1 M2"),
                                   ("o4", "u3", "B1 J1"), ("o5", "u3", "B2 J1"), ("o6", "u4", "M1 B1 C1"),
                                   ("o7", "u5", "C1"), ("o8", "u6", "O1")]
     for p in items.split()],
    columns=[S.ORDER_ID, S.PRODUCT_ID, S.CUSTOMER_ID]).assign(**{S.QUANTITY: 1})
CUSTOMERS = ["u1", "u2", "u3", "u4", "u5", "u6"]


def hand_embed(texts, progress):
    """The text starts with the title (core.embeddings.product_texts): look its vector up."""
    return np.asarray([VECTORS[t.split(".")[0]] for t in texts], dtype=np.float32)


@pytest.fixture(scope="module")
def shop():
    return build_model(CATALOG, ORDERS, embed=hand_embed)


@pytest.fixture(scope="module")
def shop_no_text():
    return build_model(CATALOG, ORDERS, settings=BuildSettings(use_text=False))


def test_the_hand_made_shop_is_what_the_docstring_says(shop):
    assert shop.item_counts.tolist() == [4, 1, 4, 1, 3, 2, 1] and shop.baskets.n_baskets == 8
    np.testing.assert_allclose(np.linalg.norm(shop.embeddings, axis=1), 1, rtol=1e-6)
    hist, counts = shop.history("u1")
    assert dict(zip(shop.item_ids[hist], counts)) == {"M1": 2, "B1": 2, "J1": 1}


# --- one behaviour test for every strategy ---------------------------------------------------------

@pytest.mark.parametrize("name", list(STRATEGIES))
def test_every_strategy_behaves_alike(name, shop):
    s1, s2 = STRATEGIES[name]().fit(shop), STRATEGIES[name]().fit(shop)
    shown = 0
    for c in CUSTOMERS:
        hist, _ = shop.history(c)
        rec = s1.recommend(c, K)
        assert rec.customer_id == c
        assert not set(shop.item_ids[hist]) & set(rec.ids), (name, c)      # never what they bought
        assert len(rec) <= K and len(set(rec.ids)) == len(rec.ids)
        assert len(rec.scores) == len(rec.reasons) == len(rec)
        assert all(isinstance(r, str) and r.strip() for r in rec.reasons)   # a reason per item
        assert np.all(np.isfinite(rec.scores)) and np.all(rec.scores > 0)
        if s1.diversity is None:                                            # best first (MMR: its own order)
            assert np.all(np.diff(rec.scores) <= 0)
        # k is respected: k = 1 gives the first item, k = 2 the first two
        assert s1.recommend(c, 1).ids.tolist() == rec.ids.tolist()[:1]
        assert s1.recommend(c, 2).ids.tolist() == rec.ids.tolist()[:2]
        # deterministic across two fits, and the batched path gives the same slate
        again = s2.recommend(c, K)
        assert again.ids.tolist() == rec.ids.tolist() and again.reasons == rec.reasons
        np.testing.assert_array_equal(again.scores, rec.scores)
        shown += len(rec)
    assert shown > 0, name
    many = s1.recommend_many(CUSTOMERS + ["nobody"], K, batch_size=4)
    for c, rec in zip(CUSTOMERS, many):
        single = s1.recommend(c, K)
        assert rec.ids.tolist() == single.ids.tolist() and rec.reasons == single.reasons
        np.testing.assert_allclose(rec.scores, single.scores, rtol=1e-6)
    assert len(many[-1]) == 0
    unknown = s1.recommend("nobody", K)
    assert len(unknown) == 0 and unknown.reasons == [] and unknown.customer_id == "nobody"


# known answers, worked out in the module docstring's shop
KNOWN = {
    # u2 bought M1, M2 (Dairy). Baskets holding each item: B1 4, J1 3, C1 2, B2 1, O1 1 (ties: catalog order)
    ("popular overall", "u2"): (["B1", "J1", "C1", "B2", "O1"], [4, 3, 2, 1, 1]),
    # u1 bought Dairy, Bakery, Pantry: unseen categories Drinks (C1 2) and Auto (O1 1)
    ("popular in unseen categories", "u1"): (["C1", "O1"], [2, 1]),
    # SAR jaccard from M1: B1 3/(4+4-3) = 0.6, C1 1/(4+2-1) = 0.2, J1 1/(4+3-1) = 1/6
    ("item co-occurrence (SAR)", "u2"): (["B1", "C1", "J1"], [0.6, 0.2, 1 / 6]),
    # u1 (M1 x2, B1 x2, J1 x1): C1 2*0.2 + 2*0.2 = 0.8, M2 2*1/(4+1-1) = 0.5, B2 1*1/(3+1-1) = 1/3
    ("item co-occurrence (SAR)", "u1"): (["C1", "M2", "B2"], [0.8, 0.5, 1 / 3]),
    # profile of u1 = (2 e_M1 + 2 e_B1 + e_J1) / 5 = (0.4, 0.4, 0.2), unit (2, 2, 1) / 3:
    # M2 (1.6 + 1.2) / 3 = 14/15, B2 (1.2 + 0.8) / 3 = 2/3, C1 (1.2 + 0.8) / 3 = 2/3 (tie: B2 first); O1 < 0
    ("content profile", "u1"): (["M2", "B2", "C1"], [14 / 15, 2 / 3, 2 / 3]),
    # lift from M1, other categories, n >= 2: only B1, 8*3/(4*4) = 1.5
    ("lift only", "u2"): (["B1"], [1.5]),
}


@pytest.mark.parametrize("name, customer", list(KNOWN))
def test_known_answers(name, customer, shop):
    ids, scores = KNOWN[(name, customer)]
    rec = STRATEGIES[name]().fit(shop).recommend(customer, K)
    assert rec.ids.tolist() == ids
    np.testing.assert_allclose(rec.scores, scores, rtol=1e-6)


def test_every_registered_strategy_has_a_known_answer_or_its_own_test():
    covered = {name for name, _ in KNOWN} | {"ALS (implicit)", "text neighbours", "hybrid",   # tests below / in
                                             "hybrid + MMR"}
    assert set(STRATEGIES) <= covered                                                     # test_recommend.py


# --- popularity -----------------------------------------------------------------------------------

def test_popularity_global_reason(shop):
    rec = PopularityGlobal().fit(shop).recommend("u2", 2)
    # M1 and B1 both sit in 4 baskets: M1, earlier in the catalog, is #1 (and bought by u2)
    assert rec.reasons == ["bestseller #2 of the shop: in 4 of 8 baskets (50.0%)",
                           "bestseller #3 of the shop: in 3 of 8 baskets (37.5%)"]


def test_popularity_global_skips_items_nobody_bought():
    catalog = pd.concat([CATALOG, pd.DataFrame({S.PRODUCT_ID: ["Z9"], S.TITLE: ["Never sold"],
                                                S.CATEGORY: ["Auto"]})])
    m = build_model(catalog, ORDERS, settings=BuildSettings(use_text=False))
    assert "Z9" not in PopularityGlobal().fit(m).recommend("u2", K).ids


# --- SAR co-occurrence ----------------------------------------------------------------------------

def test_sar_reason_names_the_biggest_contributor(shop):
    rec = ItemCooccurrence().fit(shop).recommend("u1", K)
    # C1: M1 and B1 contribute 0.4 each; the first in catalog order is named
    assert rec.reasons[0] == "bought Milk (Dairy) 2 times; 1 basket holds both, jaccard 0.20"
    assert rec.reasons[1] == "bought Milk (Dairy) 2 times; 1 basket holds both, jaccard 0.25"
    assert rec.reasons[2] == "bought Jam (Pantry) 1 time; 1 basket holds both, jaccard 0.33"


@pytest.mark.parametrize("similarity, ids, scores", [
    # u1: lift = 8 n_hj / (n_h n_j): C1 2*(8/8) + 2*(8/8) = 4, M2 2*8/4 = 4, B2 1*8/3
    ("lift", ["M2", "C1", "B2"], [4, 4, 8 / 3]),
    # counts: C1 2*1 + 2*1 = 4, M2 2*1 = 2, B2 1*1 = 1
    ("counts", ["C1", "M2", "B2"], [4, 2, 1]),
])
def test_sar_other_similarities(shop, similarity, ids, scores):
    rec = ItemCooccurrence(similarity=similarity).fit(shop).recommend("u1", K)
    assert rec.ids.tolist() == ids
    np.testing.assert_allclose(rec.scores, scores, rtol=1e-12)


def test_sar_counts_every_pair_not_only_the_cross_category_ones(shop):
    # M1|M2 is a same-category pair with n = 1: absent from ShopModel.pair_count, present in SAR's C
    i, j = shop.item_index(["M1", "M2"])
    assert shop.pair_count[i, j] == 0
    sar = ItemCooccurrence().fit(shop)
    assert sar.cooccurrence_[i, j] == 1 and sar.cooccurrence_[i, i] == 4
    assert sar.similarity_[i, j] == pytest.approx(0.25) and sar.similarity_[i, i] == 0


def test_sar_threshold_drops_rare_pairs(shop):
    # threshold 2: only M1|B1 (3) and B1|J1 (2) remain; u2 (M1, M2) reaches B1 alone, 3/(4+4-3)
    rec = ItemCooccurrence(threshold=2).fit(shop).recommend("u2", K)
    assert rec.ids.tolist() == ["B1"] and rec.scores.tolist() == [pytest.approx(0.6)]


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"similarity": "cosine"}, ValueError, r"similarity must be one of \('jaccard', 'lift', 'counts'\), got 'cosine'"),
    ({"threshold": 0}, ValueError, r"threshold must be >= 1, got 0"),
    ({"threshold": 1.5}, TypeError, r"threshold must be an int, got float"),
])
def test_sar_bad_settings(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ItemCooccurrence(**kwargs)


# --- ALS (implicit) -------------------------------------------------------------------------------

def test_als_scores_are_implicits_own_and_split_into_contributions(shop):
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    ours = ImplicitALS(factors=3, regularization=0.1, iterations=10, alpha=2.0, random_state=7).fit(shop)
    with threadpool_limits(1, "blas"):
        ref = AlternatingLeastSquares(factors=3, regularization=0.1, iterations=10, alpha=2.0, random_state=7,
                                      num_threads=1)
        # ImplicitALS fits in a canonical order (customers and products sorted by id); so does the reference
        users = np.argsort(np.asarray(shop.customer_ids, dtype=str), kind="stable")
        items = np.argsort(np.asarray(shop.item_ids, dtype=str), kind="stable")
        ref.fit(shop.user_items.tocsr()[users][:, items].tocsr().astype(np.float32), show_progress=False)
    ref_items = np.empty((shop.n_items, 3))
    ref_items[items] = ref.item_factors
    np.testing.assert_array_equal(ours.item_factors_, ref_items)  # same seed, same run
    for c in CUSTOMERS:
        r = shop.customer_row(c)
        row = shop.user_items[r].tocsr()[:, items].tocsr().astype(np.float32)
        x = ref.recalculate_user(int(np.nonzero(users == r)[0][0]), row)              # implicit's exact solve
        expected = np.asarray(x, dtype=np.float64).ravel() @ ref_items.T
        hist, counts = shop.history(c)
        rec = ours.recommend(c, K)
        idx = shop.item_index(rec.ids)
        np.testing.assert_allclose(rec.scores, expected[idx], rtol=1e-3, atol=1e-6)
        g, scores = ours._prepare([(hist, counts)])[0]
        for j, why in zip(idx, rec.reasons):
            contrib = ours.item_factors_[j] @ g                      # one term per bought item
            assert contrib.sum() == pytest.approx(scores[j], rel=1e-9)
            b = int(np.argmax(contrib))
            assert why.startswith(f"bought {shop.describe_item(hist[b])} {int(counts[b])} time")
            assert f"its factors add {contrib[b]:+.3f} to the score {scores[j]:.3f}" in why
            if len(hist) > 1:
                assert f"{scores[j] - contrib[b]:+.3f})" in why


def test_als_learns_the_two_blocks():
    # two disjoint groups of customers: A buy a1..a3, B buy b1..b3; each customer misses one item of their block
    items = ["a1", "a2", "a3", "b1", "b2", "b3"]
    catalog = pd.DataFrame({S.PRODUCT_ID: items, S.TITLE: items, S.CATEGORY: [i[0] for i in items]})
    rows = []
    for n in range(12):
        block = "a" if n < 6 else "b"
        for i in range(1, 4):
            if i != n % 3 + 1:
                rows.append((f"o{n}", f"{block}{i}", f"c{n}"))
    orders = pd.DataFrame(rows, columns=[S.ORDER_ID, S.PRODUCT_ID, S.CUSTOMER_ID]).assign(**{S.QUANTITY: 1})
    m = build_model(catalog, orders, settings=BuildSettings(use_text=False))
    als = ImplicitALS(factors=2, regularization=0.01, iterations=20, alpha=5.0).fit(m)
    for n in range(12):
        block = "a" if n < 6 else "b"
        rec = als.recommend(f"c{n}", 1)
        assert rec.ids.tolist() == [f"{block}{n % 3 + 1}"], n          # the missing item of their own block


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"factors": 0}, ValueError, r"factors must be >= 1, got 0"),
    ({"iterations": 2.5}, TypeError, r"iterations must be an int, got float"),
    ({"regularization": 0}, ValueError, r"regularization must be > 0, got 0"),
    ({"alpha": "1"}, TypeError, r"alpha must be a number, got str"),
    ({"num_threads": 0}, ValueError, r"num_threads must be >= 1, got 0"),
    ({"random_state": None}, TypeError, r"random_state must be an int, got NoneType"),
])
def test_als_bad_settings(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ImplicitALS(**kwargs)


# --- content profile ------------------------------------------------------------------------------

def test_content_profile_reason(shop):
    rec = ContentProfile().fit(shop).recommend("u1", K)
    # M2 = (0.8, 0.6, 0): terms 2*0.8 (M1), 2*0.6 (B1), 1*0 (J1) -> Milk is the contributor
    assert rec.reasons[0] == ("close to what they buy: cosine 0.93 to the profile of their 3 bought items; "
                              "nearest contributor Milk (Dairy) (text similarity 0.80, bought 2x)")


def test_content_profile_needs_embeddings(shop_no_text):
    with pytest.raises(RuntimeError, match="the content profile needs embeddings"):
        ContentProfile().fit(shop_no_text).recommend("u1", K)


# --- MMR re-ranking -------------------------------------------------------------------------------

def with_mmr(strategy, **kwargs):
    strategy.diversity = MMR(**kwargs)
    return strategy


def test_mmr_known_answer_without_embeddings(shop_no_text):
    # u2, popularity B1 4, J1 3, C1 2, B2 1, O1 1; relevance (s - 1) / 3 = 1, 2/3, 1/3, 0, 0;
    # similarity = same category. lam = 0.5: B1; then B2 (Bakery) costs 0.5: J1 (1/3), C1 (1/6), O1 (0), B2
    plain = PopularityGlobal().fit(shop_no_text).recommend("u2", K)
    assert plain.ids.tolist() == ["B1", "J1", "C1", "B2", "O1"]
    rec = with_mmr(PopularityGlobal(), lam=0.5).fit(shop_no_text).recommend("u2", K)
    assert rec.ids.tolist() == ["B1", "J1", "C1", "O1", "B2"]
    assert rec.scores.tolist() == [4, 3, 2, 1, 1]                      # the strategy's own scores
    assert rec.reasons[3] == plain.reasons[4]


def test_mmr_cap_per_category_is_respected(shop, shop_no_text):
    for m in (shop, shop_no_text):
        for name, factory in STRATEGIES.items():
            for cap in (1, 2):
                s = with_mmr(factory(), lam=0.7, max_per_category=cap).fit(m)
                if name in ("content profile", "text neighbours") and m.embeddings is None:
                    continue
                for c in CUSTOMERS:
                    rec = s.recommend(c, K)
                    cats = m.categories[m.item_index(rec.ids)].tolist()
                    assert max((cats.count(x) for x in cats), default=0) <= cap, (name, c, cats)
                    # nothing is lost beyond what the cap forces: one item per category still shown
                    plain = factory()
                    plain.diversity = None
                    plain = plain.fit(m).recommend(c, K)
                    assert set(cats) == set(m.categories[m.item_index(plain.ids)].tolist()), (name, c)


def test_mmr_cap_of_one_on_popularity(shop_no_text):
    rec = with_mmr(PopularityGlobal(), lam=1.0, max_per_category=1).fit(shop_no_text).recommend("u2", K)
    assert rec.ids.tolist() == ["B1", "J1", "C1", "O1"]                 # B2 (second Bakery) is capped


def test_mmr_lambda_one_without_cap_is_the_plain_order(shop):
    for name, factory in STRATEGIES.items():
        for c in CUSTOMERS:
            plain = factory()
            plain.diversity = None                          # "hybrid + MMR" re-ranks by default
            plain = plain.fit(shop).recommend(c, K)
            rec = with_mmr(factory(), lam=1.0).fit(shop).recommend(c, K)
            assert rec.ids.tolist() == plain.ids.tolist(), (name, c)


def test_mmr_with_embeddings_uses_cosine(shop, shop_no_text):
    # u2, popularity B1 4, J1 3, C1 2, B2 1, O1 1 -> relevance 1, 2/3, 1/3, 0, 0; lam = 0.5.
    # B1, then J1 (cos(J1, B1) = 0). Third: C1 1/6 - 0.5 cos(C1, J1) = 1/6 - 0.4 = -0.233,
    # B2 0 - 0.5 max(0.6, 0.8) = -0.4, O1 0 - 0.5 max(0, 0) = 0 -> O1 (oil is unlike everything bought so far);
    # then C1 (-0.233) before B2 (-0.4). By category alone C1 would come third (test above).
    rec = with_mmr(PopularityGlobal(), lam=0.5).fit(shop).recommend("u2", K)
    assert rec.ids.tolist() == ["B1", "J1", "O1", "C1", "B2"]
    rec = with_mmr(PopularityGlobal(), lam=0.5).fit(shop_no_text).recommend("u2", K)
    assert rec.ids.tolist() == ["B1", "J1", "C1", "O1", "B2"]


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"lam": 1.5}, ValueError, r"lam must be in \[0, 1\], got 1.5"),
    ({"lam": "0.5"}, TypeError, r"lam must be a number, got str"),
    ({"max_per_category": 0}, ValueError, r"max_per_category must be >= 1, got 0"),
    ({"max_per_category": 2.0}, TypeError, r"max_per_category must be an int, got float"),
    ({"pool": 0}, ValueError, r"pool must be >= 1, got 0"),
])
def test_mmr_bad_settings(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        MMR(**kwargs)


# --- rules hook -----------------------------------------------------------------------------------

class ExplicitRules:
    """The interface of core.rules' compiled rule sets, written out by hand: exclude a category,
    boost one item x2, pin items at positions."""

    def __init__(self, model, exclude_category=None, boost=None, pins=(), name="test rules"):
        self.name = name
        self.model = model
        self.exclude_category = exclude_category
        self.boost = boost
        self._pins = list(pins)

    def adjust(self, customer_id, hist, scores):
        scores = scores.copy()
        notes = {}
        if self.exclude_category is not None:
            for j in np.nonzero(self.model.categories == self.exclude_category)[0]:
                scores[j] = -np.inf
                notes[int(j)] = f"excluded: category '{self.exclude_category}'"
        if self.boost is not None:
            j = int(self.model.item_index([self.boost])[0])
            scores[j] *= 2
            notes[j] = "boosted: item x2"
        return scores, notes

    def pins(self, customer_id, hist):
        """Like core.rules: pins of excluded items are the rule set's to drop (bought ones the hook drops too)."""
        out = []
        for pid, pos in self._pins:
            j = int(self.model.item_index([pid])[0])
            if self.model.categories[j] != self.exclude_category:
                out.append((j, pos))
        return out


def test_rules_exclusion_and_boost(shop):
    s = PopularityGlobal().fit(shop)
    s.rules = ExplicitRules(shop, exclude_category="Pantry", boost="C1")
    rec = s.recommend("u2", K)
    # J1 (Pantry) excluded; C1 2 -> 4 ties B1 (4), earlier catalog item first
    assert rec.ids.tolist() == ["B1", "C1", "B2", "O1"]
    assert rec.scores.tolist() == [4, 4, 1, 1]
    assert rec.reasons[1] == "bestseller #4 of the shop: in 2 of 8 baskets (25.0%); rule: boosted: item x2"
    assert "rule:" not in rec.reasons[0]


def test_rules_pins_land_at_their_positions(shop):
    s = ItemCooccurrence().fit(shop)                       # u1: C1, M2, B2
    s.rules = ExplicitRules(shop, pins=[("O1", 1), ("M2", 3)], name="spring")
    rec = s.recommend("u1", K)
    assert rec.ids.tolist() == ["O1", "C1", "M2", "B2"]
    assert rec.reasons[0] == "pinned at position 1 by rule set 'spring'"
    assert rec.reasons[2] == "pinned at position 3 by rule set 'spring'"
    assert rec.reasons[1].startswith("bought Milk (Dairy)")
    # O1 is no candidate of SAR (score 0): shown with score 0; M2 keeps its score
    assert rec.scores[0] == 0 and rec.scores[2] == pytest.approx(0.5)
    # still k items: with k = 2 the pins push the rest out
    top2 = s.recommend("u1", 2)
    assert top2.ids.tolist() == ["O1", "C1"]
    # a pin beyond k is not shown; one past the end of a short slate lands at the end
    s.rules = ExplicitRules(shop, pins=[("O1", 3)])
    assert s.recommend("u1", 2).ids.tolist() == ["C1", "M2"]
    assert s.recommend("u1", K).ids.tolist() == ["C1", "M2", "O1", "B2"]
    s.rules = ExplicitRules(shop, pins=[("O1", 9)])
    rec = s.recommend("u1", K)
    assert rec.ids.tolist() == ["C1", "M2", "B2", "O1"]
    assert rec.reasons[3] == "pinned at position 4 by rule set 'test rules'"


def test_rules_pins_never_repeat_or_show_bought_or_excluded_items(shop):
    s = ItemCooccurrence().fit(shop)
    s.rules = ExplicitRules(shop, exclude_category="Drinks", pins=[("C1", 1), ("M1", 2), ("B2", 1), ("B2", 3)])
    rec = s.recommend("u1", K)
    # C1 excluded (Drinks: the rule set drops its pin), M1 bought (the hook drops it), B2 pinned once (position 1)
    assert rec.ids.tolist() == ["B2", "M2"]
    assert rec.reasons[0] == "pinned at position 1 by rule set 'test rules'"


def test_rules_excluded_items_never_appear_in_any_strategy(shop):
    for name, factory in STRATEGIES.items():
        s = factory().fit(shop)
        s.rules = ExplicitRules(shop, exclude_category="Bakery", pins=[("B2", 1)])
        s.diversity = MMR(lam=0.5, max_per_category=1)
        for c in CUSTOMERS:
            rec = s.recommend(c, K)
            assert "Bakery" not in shop.categories[shop.item_index(rec.ids)].tolist(), (name, c)


def test_ties_at_the_cut_go_to_the_earlier_catalog_item(shop):
    # u2: B2 and O1 both sit in 1 basket; k = 4 cuts between them: B2 (index 3) stays, O1 (6) goes
    s = PopularityGlobal().fit(shop)
    for _ in range(3):
        assert s.recommend("u2", 4).ids.tolist() == ["B1", "J1", "C1", "B2"]


def test_column_argmax_matches_numpy_first_on_ties():
    import scipy.sparse as sp

    from core.recommend.base import column_argmax

    rng = np.random.default_rng(5)
    dense = rng.integers(0, 4, size=(30, 40)).astype(float)     # many ties, some empty columns
    dense[:, 7] = 0
    got = column_argmax(sp.csr_matrix(dense))
    want = np.where(dense.max(axis=0) > 0, np.argmax(dense, axis=0), -1)
    np.testing.assert_array_equal(got, want)


def test_csr_value_matches_scipy_indexing():
    import scipy.sparse as sp

    from core.recommend.base import csr_value

    rng = np.random.default_rng(3)
    dense = rng.integers(0, 3, size=(12, 15)).astype(float)
    sorted_m = sp.csr_matrix(dense)
    unsorted = sorted_m.copy()                    # the same matrix with each row's entries stored backwards
    spans = list(zip(sorted_m.indptr[:-1], sorted_m.indptr[1:]))
    unsorted.indices = np.concatenate([sorted_m.indices[a:b][::-1] for a, b in spans])
    unsorted.data = np.concatenate([sorted_m.data[a:b][::-1] for a, b in spans])
    unsorted.has_sorted_indices = False
    np.testing.assert_array_equal(unsorted.toarray(), dense)
    for i in range(12):
        for j in range(15):
            assert csr_value(sorted_m, i, j) == dense[i, j]
            assert csr_value(unsorted, i, j) == dense[i, j]


# --- the real rule sets (core.rules) --------------------------------------------------------------

def compiled(shop, **kwargs):
    from core.rules import RuleSet, compile_rules

    return compile_rules(RuleSet("spring", **kwargs), shop, CATALOG, ORDERS)


def test_real_rules_pin_exclude_and_boost(shop):
    s = ItemCooccurrence().fit(shop)                        # u1 plain: C1 0.8, M2 0.5, B2 1/3
    s.rules = compiled(shop, pins=[("O1", 2)], exclude_categories=["Bakery"], boosts=[("category", "Dairy", 2.0)])
    rec = s.recommend("u1", K)
    # B2 (Bakery) excluded; M2 boosted 0.5 -> 1.0 overtakes C1; O1 pinned at 2
    assert rec.ids.tolist() == ["M2", "O1", "C1"]
    np.testing.assert_allclose(rec.scores, [1.0, 0.0, 0.8])
    assert rec.reasons[0] == ("bought Milk (Dairy) 2 times; 1 basket holds both, jaccard 0.25; "
                              "rule: boosted: category 'Dairy' x2")
    assert rec.reasons[1] == "pinned at position 2 by rule set 'spring'"
    assert "rule:" not in rec.reasons[2]


def test_real_rules_on_every_strategy(shop):
    for name, factory in STRATEGIES.items():
        s = factory().fit(shop)
        s.rules = compiled(shop, pins=[("O1", 1)], exclude_categories=["Drinks"])
        for c in CUSTOMERS:
            rec = s.recommend(c, K)
            hist, _ = shop.history(c)
            assert "C1" not in rec.ids, (name, c)                           # Drinks never shown
            if "O1" not in shop.item_ids[hist]:
                assert rec.ids[0] == "O1" and rec.reasons[0] == "pinned at position 1 by rule set 'spring'"
            else:
                assert "O1" not in rec.ids                                  # u6 bought it
            assert len(rec) <= K and len(set(rec.ids)) == len(rec.ids)


def test_real_rules_only_other_categories(shop):
    s = PopularityGlobal().fit(shop)
    s.rules = compiled(shop, only_other_categories=True)
    # u2 bought Dairy only: every other category stays, by popularity
    assert s.recommend("u2", K).ids.tolist() == ["B1", "J1", "C1", "B2", "O1"]
    # u1 bought Dairy, Bakery, Pantry: Drinks and Auto remain
    assert s.recommend("u1", K).ids.tolist() == ["C1", "O1"]


def test_diverse_hybrid_is_the_hybrid_re_ranked(shop):
    from core.recommend import DiverseHybrid

    for c in CUSTOMERS:
        manual = CrossCategoryHybrid()
        manual.diversity = MMR(lam=0.7)
        want = manual.fit(shop).recommend(c, K)
        got = DiverseHybrid().fit(shop).recommend(c, K)
        assert got.ids.tolist() == want.ids.tolist() and got.reasons == want.reasons
        plain = CrossCategoryHybrid().fit(shop).recommend(c, K)
        assert sorted(got.ids.tolist()) == sorted(plain.ids.tolist())      # same items, other order
    with pytest.raises(TypeError, match="diversity must be an MMR, got float"):
        DiverseHybrid(diversity=0.7)
