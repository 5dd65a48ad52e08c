"""core.pipeline.build_model on the real Instacart fixture (60 customers) with the real encoder.

The model is built once per session (conftest ``instacart_model``). Pair figures are recounted
here from the raw CSV with plain pandas, independently of core.baskets / core.affinity.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from core import schema as S
from core.affinity import AffinitySettings
from core.errors import EmptyDataError
from core.pipeline import BuildSettings, build_model, category_pairs_table, item_pairs_table
from core.workspace import DEMO_DIR

S_DEMO_ORDERS = DEMO_DIR / "orders.csv"


@pytest.fixture(scope="module")
def raw_orders(instacart_dir) -> pd.DataFrame:
    return pd.read_csv(instacart_dir / "orders.csv", dtype=str)


@pytest.fixture(scope="module")
def raw_catalog(instacart_dir) -> pd.DataFrame:
    return pd.read_csv(instacart_dir / "catalog.csv", dtype=str, keep_default_na=False)


def recount(raw: pd.DataFrame, a: str, b: str) -> dict:
    """n_a, n_b, n_ab, N from the raw order lines (a basket = the set of products of one order_id)."""
    baskets = raw.groupby("order_id")["product_id"].agg(set)
    has_a, has_b = baskets.map(lambda s: a in s), baskets.map(lambda s: b in s)
    return {"N": len(baskets), "n_a": int(has_a.sum()), "n_b": int(has_b.sum()), "n_ab": int((has_a & has_b).sum())}


def test_model_shape(instacart_model, raw_catalog, raw_orders):
    m = instacart_model
    # README: 2,385 products, 864 orders, 60 customers
    assert m.item_ids.tolist() == raw_catalog["product_id"].tolist()        # catalog order
    assert m.n_items == 2385 and m.baskets.n_baskets == 864 == raw_orders["order_id"].nunique()
    assert len(m.customer_ids) == 60 and m.user_items.shape == (60, 2385)
    assert set(m.customer_ids) == set(raw_orders["customer_id"])
    # 20 departments plus '(uncategorised)' for the 12 products of the 'missing' department
    assert len(set(m.categories)) == 21
    assert (m.categories == S.UNCATEGORISED).sum() == 12 == (raw_catalog["category"] == "").sum()
    assert m.categories[m.item_index(["45"])[0]] == "produce"                   # 'produce > fresh vegetables'
    assert m.category_paths[m.item_index(["45"])[0]] == "produce > fresh vegetables"


def test_embeddings_are_unit_rows(instacart_model):
    e = instacart_model.embeddings
    assert e.shape == (2385, 384) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)    # every product has a title


def test_user_items_count_lines_per_customer(instacart_model, raw_orders):
    m = instacart_model
    per_customer = raw_orders.groupby("customer_id").size()
    sums = np.asarray(m.user_items.sum(axis=1)).ravel()
    for c in ["347", "11471"]:                       # first and last customer of the fixture
        assert sums[m.customer_row(c)] == per_customer[c]
    # customer 347, product 27325 (line 2 of orders.csv): lines of that product for that customer
    n = ((raw_orders["customer_id"] == "347") & (raw_orders["product_id"] == "27325")).sum()
    assert m.user_items[m.customer_row("347"), m.item_index(["27325"])[0]] == n >= 1


@pytest.mark.parametrize("a, b, n_a, n_b, n_ab", [
    # Organic Sriracha Hummus (deli) | Organic Avocado (produce): cross-category
    ("46106", "47766", 47, 70, 43),
    # Pure Sparkling Water | Sparkling Water Grapefruit: both beverages, same category
    ("14947", "44632", 57, 57, 41),
    # Banana (produce) | Organic Reduced Fat Milk (dairy eggs): cross-category
    ("24852", "38689", 159, 32, 20),
])
def test_three_pairs_recounted_from_raw_orders(instacart_model, raw_orders, a, b, n_a, n_b, n_ab):
    m = instacart_model
    got = recount(raw_orders, a, b)
    assert got == {"N": 864, "n_a": n_a, "n_b": n_b, "n_ab": n_ab}            # the figures above, by pandas
    N = got["N"]
    # e.g. hummus|avocado: support 43/864 = 0.049769, conf 43/47 = 0.914894 and 43/70 = 0.614286,
    # lift 864*43/(47*70) = 37152/3290 = 11.292401
    pairs = m.pairs.set_index(["antecedent_id", "consequent_id"])
    ab, ba = pairs.loc[(a, b)], pairs.loc[(b, a)]
    assert ab["pair_count"] == ba["pair_count"] == n_ab
    assert (ab["antecedent_count"], ab["consequent_count"]) == (n_a, n_b)
    assert ab["support"] == pytest.approx(n_ab / N)
    assert ab["confidence"] == pytest.approx(n_ab / n_a)
    assert ba["confidence"] == pytest.approx(n_ab / n_b)
    assert ab["lift"] == ba["lift"] == pytest.approx(N * n_ab / (n_a * n_b))
    i, j = m.item_index([a, b])
    assert m.item_counts[i] == n_a and m.item_counts[j] == n_b
    cross = m.categories[i] != m.categories[j]
    assert cross == (a != "14947")
    # the cross-category matrices hold exactly the cross-category pairs
    assert m.pair_count[i, j] == (n_ab if cross else 0)
    assert m.lift[j, i] == (pytest.approx(N * n_ab / (n_a * n_b)) if cross else 0)


def test_pair_table_invariants(instacart_model):
    m = instacart_model
    p = m.pairs
    assert (p["pair_count"] >= 2).all()                                        # default min_pair_count
    assert p["support"].between(0, 1).all() and p["confidence"].between(0, 1).all()
    assert p["npmi"].between(-1, 1).all() and p["affinity"].between(0, 1).all()
    assert p["similarity"].between(-1, 1).all()
    # similarity is the cosine of the two product embeddings
    r = p.iloc[0]
    i, j = m.item_index([r["antecedent_id"], r["consequent_id"]])
    assert r["similarity"] == pytest.approx(float(m.embeddings[i] @ m.embeddings[j]), abs=1e-5)
    # every stored cross-category entry is a cross-category pair of the table, and vice versa
    coo = m.pair_count.tocoo()
    assert (m.categories[coo.row] != m.categories[coo.col]).all()
    n_cross = (p["antecedent_category"] != p["consequent_category"]).sum()
    assert coo.nnz == m.lift.nnz == m.affinity.nnz == n_cross > 0


def test_output_tables(instacart_model):
    items = item_pairs_table(instacart_model)
    assert list(items.columns) == list(S.ITEM_PAIR_COLUMNS)
    assert items["affinity"].is_monotonic_decreasing
    cross = item_pairs_table(instacart_model, cross_only=True)
    assert (cross["antecedent_category"] != cross["consequent_category"]).all() and len(cross) < len(items)
    cats = category_pairs_table(instacart_model)
    assert list(cats.columns) == list(S.CATEGORY_PAIR_COLUMNS)
    assert cats["lift"].is_monotonic_decreasing
    assert (cats["antecedent_category"] != cats["consequent_category"]).all()


def test_category_pair_recounted(instacart_model, raw_orders, raw_catalog):
    # department-level: baskets holding any 'deli' item and any 'produce' item
    dept = dict(zip(raw_catalog["product_id"], raw_catalog["category"].str.split(" > ").str[0]))
    depts = raw_orders.assign(d=raw_orders["product_id"].map(dept)).groupby("order_id")["d"].agg(set)
    n_deli, n_prod = depts.map(lambda s: "deli" in s).sum(), depts.map(lambda s: "produce" in s).sum()
    n_both = depts.map(lambda s: {"deli", "produce"} <= s).sum()
    row = instacart_model.category_pairs.set_index(["antecedent_category", "consequent_category"]).loc[
        ("deli", "produce")]
    assert (row["pair_count"], row["antecedent_count"], row["consequent_count"]) == (n_both, n_deli, n_prod)
    assert row["lift"] == pytest.approx(864 * n_both / (n_deli * n_prod))


# --- settings and errors --------------------------------------------------------------------------

def test_build_without_text_and_progress(instacart_tables):
    catalog, orders = instacart_tables
    seen = []
    m = build_model(catalog, orders, settings=BuildSettings(use_text=False),
                    progress=lambda f, msg: seen.append((f, msg)))
    assert m.embeddings is None
    assert (m.pairs["similarity"] == 0).all()
    # no text: affinity = w * max(npmi, 0), w = n / (n + 5)
    w = m.pairs["pair_count"] / (m.pairs["pair_count"] + 5.0)
    np.testing.assert_allclose(m.pairs["affinity"], w * m.pairs["npmi"].clip(lower=0), atol=1e-12)
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and seen[-1] == (1.0, "done")


def test_min_pair_count_and_category_level_settings(instacart_tables):
    catalog, orders = instacart_tables
    m = build_model(catalog, orders, settings=BuildSettings(AffinitySettings(min_pair_count=20),
                                                            category_level=2, use_text=False))
    assert (m.pairs["pair_count"] >= 20).all()
    # pairs with n_ab >= 20 in the raw data: hummus|avocado (43) is one, banana|milk (20) another
    ids = set(zip(m.pairs["antecedent_id"], m.pairs["consequent_id"]))
    assert ("46106", "47766") in ids and ("24852", "38689") in ids
    assert m.categories[m.item_index(["45"])[0]] == "produce > fresh vegetables"    # level 2 = aisle


def test_unknown_order_lines_are_left_out(instacart_tables):
    catalog, orders = instacart_tables
    extra = pd.DataFrame({S.ORDER_ID: ["X1", "X1"], S.PRODUCT_ID: ["NOT-IN-CATALOG", "24852"],
                          S.CUSTOMER_ID: ["new", "new"], S.QUANTITY: [1, 1]})
    m = build_model(catalog, pd.concat([orders, extra], ignore_index=True), settings=BuildSettings(use_text=False))
    assert m.baskets.n_baskets == 865                                       # X1 counts with its banana
    assert m.item_counts[m.item_index(["24852"])[0]] == 160                 # 159 + 1
    hist, _ = m.history("new")
    assert m.item_ids[hist].tolist() == ["24852"]


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"category_level": 0}, ValueError, r"category_level must be an int >= 1, got 0"),
    ({"category_level": 1.5}, ValueError, r"category_level must be an int >= 1, got 1.5"),
])
def test_build_settings_validation(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        BuildSettings(**kwargs)


def test_build_errors(instacart_tables):
    catalog, orders = instacart_tables
    with pytest.raises(EmptyDataError, match="the catalog is empty"):
        build_model(catalog.iloc[:0], orders, settings=BuildSettings(use_text=False))
    with pytest.raises(EmptyDataError, match="there are no orders"):
        build_model(catalog, orders.iloc[:0], settings=BuildSettings(use_text=False))
    with pytest.raises(ValueError, match="embed is required when settings.use_text is True"):
        build_model(catalog, orders)
    foreign = orders.assign(**{S.PRODUCT_ID: "nope"})
    with pytest.raises(EmptyDataError, match="no order line names a product of the catalog"):
        build_model(catalog, foreign, settings=BuildSettings(use_text=False))


# --- the demo's item_pairs.csv, three pairs recounted by hand (issue 4) -------------------------

@pytest.fixture(scope="module")
def demo_item_pairs_csv(tmp_path_factory):
    """item_pairs.csv of the bundled demo exactly as ``python -m core build --demo --no-text`` writes it."""
    from core.workspace import read_demo_tables

    catalog, orders, reviews = read_demo_tables()
    model = build_model(catalog, orders, reviews, BuildSettings(use_text=False))
    path = tmp_path_factory.mktemp("demo_build") / "item_pairs.csv"
    item_pairs_table(model).to_csv(path, index=False)
    return pd.read_csv(path, dtype={"antecedent_id": str, "consequent_id": str})


@pytest.mark.parametrize("a, b, n_a, n_b, n_ab, customers", [
    # the demo's top pair: one shopper's repeated baskets (43 baskets, 1 customer), and A always brings B
    ("6867", "33425", 43, 47, 43, 1),
    ("47029", "48726", 72, 74, 61, 7),
    # Banana | Organic Baby Spinach: a popular pair shared by many shoppers
    ("24852", "21903", 2458, 1057, 192, 84),
])
def test_demo_item_pairs_csv_three_pairs_by_hand(demo_item_pairs_csv, a, b, n_a, n_b, n_ab, customers):
    from scipy.stats import fisher_exact

    raw = pd.read_csv(S_DEMO_ORDERS, dtype=str)
    baskets = raw.groupby("order_id")["product_id"].agg(set)
    has_a, has_b = baskets.map(lambda s: a in s), baskets.map(lambda s: b in s)
    both = baskets.index[has_a & has_b]
    got = {"N": len(baskets), "n_a": int(has_a.sum()), "n_b": int(has_b.sum()), "n_ab": len(both),
           "customers": raw.loc[raw["order_id"].isin(both), "customer_id"].nunique()}
    assert got == {"N": 15968, "n_a": n_a, "n_b": n_b, "n_ab": n_ab, "customers": customers}
    N = 15968
    t = demo_item_pairs_csv.set_index(["antecedent_id", "consequent_id"])
    ab, ba = t.loc[(a, b)], t.loc[(b, a)]
    assert ab["pair_count"] == ba["pair_count"] == n_ab
    assert ab["customers"] == ba["customers"] == customers
    assert ab["support"] == pytest.approx(n_ab / N)
    assert ab["confidence"] == pytest.approx(n_ab / n_a) and ba["confidence"] == pytest.approx(n_ab / n_b)
    assert ab["lift"] == pytest.approx(N * n_ab / (n_a * n_b))
    assert ab["leverage"] == pytest.approx(n_ab / N - (n_a / N) * (n_b / N))
    assert ab["jaccard"] == pytest.approx(n_ab / (n_a + n_b - n_ab))
    assert ab["npmi"] == pytest.approx(np.log(N * n_ab / (n_a * n_b)) / -np.log(n_ab / N))
    if n_ab == n_a:      # confidence 1: conviction is infinite, written as an empty cell and a flag
        assert bool(ab["conviction_infinite"]) and pd.isna(ab["conviction"])
    else:
        assert not ab["conviction_infinite"]
        assert ab["conviction"] == pytest.approx((1 - n_b / N) / (1 - n_ab / n_a))
    assert ba["conviction"] == pytest.approx((1 - n_a / N) / (1 - n_ab / n_b))
    p = fisher_exact([[n_ab, n_a - n_ab], [n_b - n_ab, N - n_a - n_b + n_ab]], alternative="greater").pvalue
    assert ab["p_value"] == pytest.approx(p, rel=1e-9, abs=1e-300) and ab["q_value"] >= ab["p_value"]
    assert ab["similarity"] == 0 and ab["affinity"] == pytest.approx(n_ab / (n_ab + 5) * max(ab["npmi"], 0))


def test_demo_customers_never_exceed_pair_count(demo_item_pairs_csv):
    t = demo_item_pairs_csv
    assert tuple(t.columns) == S.ITEM_PAIR_COLUMNS
    assert (t["customers"] >= 1).all() and (t["customers"] <= t["pair_count"]).all()
    assert (t["customers"] < t["pair_count"]).any()        # repeat shoppers exist in the demo


# --- categories inferred for a catalog without any (issue 4 item 3) ---------------------------------

@pytest.fixture(scope="module")
def small_uncategorised(instacart_tables):
    catalog, orders = instacart_tables
    o = orders[orders[S.CUSTOMER_ID].isin(sorted(orders[S.CUSTOMER_ID].unique())[:8])]
    c = catalog[catalog[S.PRODUCT_ID].isin(set(o[S.PRODUCT_ID]))].reset_index(drop=True)
    return c, o


@pytest.fixture(scope="module")
def counting_embed(encoder, embedding_cache_engine):
    from core.embeddings import embed_cached

    calls = []

    def embed(texts, progress):
        calls.append(len(texts))
        return embed_cached(texts, encoder, embedding_cache_engine, progress)[0]
    return embed, calls


def test_catalog_without_categories_gets_inferred_ones(small_uncategorised, counting_embed):
    from core.pipeline import _INFERENCE_CACHE

    catalog, orders = small_uncategorised
    embed, calls = counting_embed
    _INFERENCE_CACHE.clear()
    m = build_model(catalog.drop(columns=S.CATEGORY), orders, embed=embed,
                    settings=BuildSettings(category_k=5))
    assert m.category_source == "inferred" and m.category_note == ""
    cl = m.category_clusters
    assert cl["cluster"].tolist() == [0, 1, 2, 3, 4] and cl["size"].sum() == len(catalog) == m.n_items
    assert cl["size"].is_monotonic_decreasing                      # ids ordered by size
    assert (cl["name"] == cl["inferred_name"]).all()
    # every product's category is its cluster's name; sizes agree with the labels
    inf = m.category_inference
    assert (m.categories == cl.set_index("cluster")["name"].reindex(inf.labels).to_numpy()).all()
    assert pd.Series(m.categories).value_counts().sort_values().tolist() == sorted(cl["size"])
    assert "set by the user" in inf.criterion
    # a rename relabels without clustering again (the title vectors are not asked for twice)
    n_calls = len(calls)
    first = cl["inferred_name"].iloc[0]
    m2 = build_model(catalog.drop(columns=S.CATEGORY), orders, embed=embed,
                     settings=BuildSettings(category_k=5, category_names=((first, "Renamed > Sub"),)))
    assert len(calls) == n_calls + 1                                # product texts only
    assert m2.category_clusters["name"].iloc[0] == "Renamed > Sub"
    assert (m2.categories == "Renamed").sum() == cl["size"].iloc[0]   # level 1 of the renamed path
    assert (m2.category_inference.labels == inf.labels).all()


def test_uncategorised_without_text_is_explained(small_uncategorised):
    catalog, orders = small_uncategorised
    m = build_model(catalog.drop(columns=S.CATEGORY), orders, settings=BuildSettings(use_text=False))
    assert m.category_source == "catalog" and "needs the language model" in m.category_note
    assert (m.categories == S.UNCATEGORISED).all()


def test_partly_labelled_catalog_labelled_on_request(small_uncategorised, counting_embed):
    catalog, orders = small_uncategorised
    embed, _ = counting_embed
    part = catalog.copy()
    # every eighth product blanked, plus the fixture's own uncategorised ones (its 'missing' department)
    blank = (part.index % 8 == 0) | part[S.CATEGORY].isna().to_numpy() | (part[S.CATEGORY] == "").to_numpy()
    part.loc[blank, S.CATEGORY] = None
    off = build_model(part, orders, embed=embed)
    assert off.category_source == "catalog" and (off.categories == S.UNCATEGORISED).sum() == blank.sum()
    on = build_model(part, orders, embed=embed, settings=BuildSettings(label_uncategorised=True))
    lab = on.category_labelling
    assert on.category_source == "partly inferred" and lab.predicted.sum() == blank.sum()
    assert not (on.categories == S.UNCATEGORISED).any()
    assert set(on.category_paths[blank]) <= set(catalog.loc[~blank, S.CATEGORY])
    assert 0 <= lab.baseline_accuracy < lab.accuracy <= 1
    # the given labels are kept as they were
    assert (on.category_paths[~blank] == catalog.loc[~blank, S.CATEGORY].to_numpy()).all()


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"category_k": 1}, ValueError, r"category_k must be an int >= 2 or None, got 1"),
    ({"category_names": (("a", 1),)}, TypeError, r"category_names must be a tuple of \(str, str\) pairs"),
])
def test_category_settings_validation(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        BuildSettings(**kwargs)


# --- review signals (issue 4 item 4) ------------------------------------------------------------------

REVIEWS = pd.DataFrame({
    S.PRODUCT_ID: ["24852", "24852", "24852", "21903", "21903", "nope"],
    S.TEXT: ["Perfectly ripe and sweet, I love these, will buy again", "Great taste, always fresh",
             "<p>Delicious</p>", "Wilted and slimy, went straight in the bin. Awful.", "", "orphan review"],
    S.RATING: [5, 4, 5, 1, 2, 3],
})


def test_review_signals_by_hand(instacart_tables, counting_embed):
    from core.pipeline import review_signals

    catalog, _ = instacart_tables
    ids = catalog[S.PRODUCT_ID].astype(str).to_numpy(dtype=object)
    embed, _ = counting_embed
    rv = review_signals(REVIEWS, ids, embed)
    i, j, k = pd.Index(ids).get_indexer(["24852", "21903", "45"])
    assert rv.shape == (len(ids), 3) and rv["reviews"].sum() == 5          # the orphan review is not a product's
    assert (rv.loc[i, "reviews"], rv.loc[i, "mean_rating"]) == (3, pytest.approx(14 / 3))
    assert (rv.loc[j, "reviews"], rv.loc[j, "mean_rating"]) == (2, pytest.approx(1.5))
    assert rv.loc[k, "reviews"] == 0 and np.isnan(rv.loc[k, "mean_rating"]) and np.isnan(rv.loc[k, "mean_sentiment"])
    # the sentiment classifier reads the praise as positive and the complaint as negative (a blank text is unscored)
    assert rv.loc[i, "mean_sentiment"] > 0.3 and rv.loc[j, "mean_sentiment"] < -0.3
    assert rv["mean_sentiment"].dropna().between(-1, 1).all()
    # without the language model only the ratings count
    plain = review_signals(REVIEWS, ids)
    assert plain["mean_sentiment"].isna().all() and plain.loc[i, "mean_rating"] == pytest.approx(14 / 3)
    assert review_signals(REVIEWS.iloc[:0], ids) is None


def test_model_carries_review_signals_into_explanations(small_uncategorised, counting_embed):
    from core.explain import neighbours, pair_details

    catalog, orders = small_uncategorised
    embed, _ = counting_embed
    m = build_model(catalog, orders, REVIEWS, embed=embed)
    i = m.item_index(["24852"])[0]
    assert i >= 0 and m.item_reviews.loc[i, "reviews"] == 3
    partner = m.pairs.loc[m.pairs["antecedent_id"] == "24852", "consequent_id"].iloc[0]
    d = pair_details(m, "24852", partner, REVIEWS)
    assert d.review_signals["24852"]["mean_rating"] == pytest.approx(14 / 3)
    nb = neighbours(m, partner, cross_only=False)
    assert {"customers", "reviews", "mean_rating", "mean_sentiment"} <= set(nb.columns)
    row = nb[nb["consequent_id"] == "24852"]
    assert len(row) == 1 and row["reviews"].iloc[0] == 3
