"""core.customers analysis: RFM worked out by hand on a five-customer shop, segments, shares, price bands,
per-customer sentiment and clusters."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import schema as S
from core.customers import (RFM_SEGMENTS, category_share_matrix, category_shares_over_time, cluster_customers,
                            customer_analysis, customer_sentiment, price_bands, quintile_scores, rfm_scores,
                            rfm_table)

CATALOG = pd.DataFrame({"product_id": ["p1", "p2", "p3"], "title": ["Tee", "Socks", "Coat"],
                        "category": ["A > x", "A > y", "B > z"], "price": [10.0, 5.0, 100.0]})


def _line(order, product, customer, day, qty=1, price=None, line_type="product"):
    return {"order_id": order, "product_id": product, "customer_id": customer, "quantity": qty,
            "price": price, "ordered_at": pd.Timestamp(day), "line_type": line_type}


@pytest.fixture
def shop() -> pd.DataFrame:
    rows = [
        _line("o1", "p1", "a", "2024-01-01", 2, 10.0), _line("o1", "p2", "a", "2024-01-01", 1, 5.0),
        _line("o2", "p1", "a", "2024-03-01", 1, 10.0),
        _line("o2c", "p3", "a", "2024-03-05", 1, 999.0, "cancellation"),       # never counts
        _line("o3", "p3", "b", "2024-03-10", 1, 100.0),
        *[_line(f"c{i}", "p2", "c", d, 1, 5.0) for i, d in enumerate(["2024-01-05", "2024-02-01", "2024-02-20"])],
        # d's lines carry price 0: the catalog price (10) is used instead
        *[_line(f"d{i}", "p1", "d", d, 1, 0.0) for i, d in
          enumerate(["2023-12-01", "2023-12-10", "2023-12-20", "2024-01-10"])],
        *[_line(f"e{i}", "p3", "e", f"2024-02-{i + 6:02d}", 1, 100.0) for i in range(5)],
    ]
    return pd.DataFrame(rows)


def test_rfm_by_hand(shop):
    r = rfm_scores(rfm_table(shop, CATALOG, as_of="2024-03-10")).set_index("customer_id")
    # last orders: a 03-01, b 03-10, c 02-20, d 01-10, e 02-10
    assert r["recency"].to_dict() == {"a": 9.0, "b": 0.0, "c": 19.0, "d": 60.0, "e": 29.0}
    assert r["frequency"].to_dict() == {"a": 2, "b": 1, "c": 3, "d": 4, "e": 5}
    assert r["monetary"].to_dict() == {"a": 35.0, "b": 100.0, "c": 15.0, "d": 40.0, "e": 500.0}
    assert r["R"].tolist() == [4, 5, 3, 1, 2]
    assert r["F"].tolist() == [2, 1, 3, 4, 5]
    assert r["M"].tolist() == [2, 4, 1, 3, 5]
    assert r["rfm"].tolist() == ["422", "514", "331", "143", "255"]
    assert r["segment"].to_dict() == {"a": "Potential loyalists", "b": "New", "c": "Need attention",
                                      "d": "At risk", "e": "Can't lose them"}
    assert r.attrs["recency_unit"] == "days"


def test_rfm_default_reference_is_latest_order(shop):
    r = rfm_table(shop).set_index("customer_id")   # latest product order: 2024-03-10 (b)
    assert r.loc["b", "recency"] == 0 and r.loc["d", "recency"] == 60
    with pytest.raises(ValueError, match="before the latest order"):
        rfm_table(shop, as_of="2024-03-09")


def test_monetary_unknown_without_prices(shop):
    r = rfm_scores(rfm_table(shop.drop(columns=["price"]), CATALOG.drop(columns=["price"])))
    assert r["monetary"].isna().all() and r["M"].isna().all()
    assert "NaN" in r.attrs["monetary"]
    assert r["rfm"].str.endswith("-").all()
    assert (r["segment"] != "").all()


def test_recency_proxy_without_dates():
    o = pd.DataFrame({"order_id": ["1", "3", "2", "5", "4"], "product_id": "p1",
                      "customer_id": ["x", "x", "y", "y", "z"]})
    r = rfm_table(o).set_index("customer_id")
    assert r.attrs["recency_unit"] == "orders" and "numeric order ids" in r.attrs["recency_basis"]
    assert r["recency"].to_dict() == {"x": 2.0, "y": 0.0, "z": 1.0}     # shop orders placed after their last
    o2 = o.assign(order_id=["#b", "#d", "#a", "#e", "#c"])               # not numbers: first appearance
    r2 = rfm_table(o2).set_index("customer_id")
    assert "first appearance" in r2.attrs["recency_basis"]
    # file order #b #d #a #e #c: last orders x #d (2nd), y #e (4th), z #c (5th) of 5
    assert r2["recency"].to_dict() == {"x": 3.0, "y": 1.0, "z": 0.0}


@pytest.mark.parametrize("kwargs, match", [(dict(recency_basis="weeks"), "recency_basis"),
                                           (dict(recency_basis="days"), "needs ordered_at")])
def test_rfm_bad_arguments(kwargs, match):
    o = pd.DataFrame({"order_id": ["1"], "product_id": ["p"], "customer_id": ["x"]})
    with pytest.raises(ValueError, match=match):
        rfm_table(o, **kwargs)


def test_quintile_scores_equal_groups_and_ties():
    assert quintile_scores(np.arange(1, 11)).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert quintile_scores(np.arange(1, 11), higher_is_better=False).tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    s = quintile_scores([1, 1, 1, 1, 1, 1, 2, 3, 4, 5])   # tied values share one score
    assert len(set(s[:6])) == 1 and s[-1] == 5
    assert np.isnan(quintile_scores([1.0, np.nan, 3.0])[1])


def test_segment_grid_covers_every_cell_once():
    cells = [(r, f) for _, rs, fs in RFM_SEGMENTS for r in rs for f in fs]
    assert sorted(cells) == sorted((str(r), str(f)) for r in range(1, 6) for f in range(1, 6))


def test_shares_by_month_sum_to_one(shop):
    sh = category_shares_over_time(shop, CATALOG, level=1)
    assert sh.attrs["period_kind"] == "month"
    sums = sh.groupby("period")["share"].sum()
    np.testing.assert_allclose(sums, 1.0)
    mar = sh[sh["period"] == "2024-03"].set_index("category")
    # March product lines: a's p1 (A), b's p3 (B); the cancelled coat is not a purchase
    assert mar["lines"].to_dict() == {"A": 1, "B": 1}
    per_c = category_shares_over_time(shop, CATALOG, level=2, by_customer=True, customer_ids=["a"])
    assert set(per_c["customer_id"]) == {"a"}
    np.testing.assert_allclose(per_c.groupby("period")["share"].sum(), 1.0)
    jan = per_c[per_c["period"] == "2024-01"].set_index("category")["share"].to_dict()
    assert jan == {"A > x": 0.5, "A > y": 0.5}


def test_shares_by_order_number_buckets():
    o = pd.DataFrame({"order_id": list("abcdefg"), "product_id": ["p1", "p3", "p1", "p2", "p3", "p3", "p1"],
                      "customer_id": ["u"] * 7, "order_number": [1, 2, 3, 4, 5, 6, 7]})
    sh = category_shares_over_time(o, CATALOG, orders_per_bucket=3)
    assert sh.attrs["period_kind"] == "order_number"
    assert sh["period"].unique().tolist() == ["orders 1-3", "orders 4-6", "orders 7-9"]
    first = sh[sh["period"] == "orders 1-3"].set_index("category")["share"]
    assert first["A"] == pytest.approx(2 / 3) and first["B"] == pytest.approx(1 / 3)
    np.testing.assert_allclose(sh.groupby("period")["share"].sum(), 1.0)
    with pytest.raises(ValueError, match="orders_per_bucket"):
        category_shares_over_time(o, CATALOG, orders_per_bucket=0)


def test_share_matrix_rows_sum_to_one(shop):
    m = category_share_matrix(shop, CATALOG, level=1)
    assert list(m.columns) == ["A", "B"] and list(m.index) == list("abcde")
    np.testing.assert_allclose(m.sum(axis=1), 1.0, rtol=1e-6)
    assert m.loc["a", "A"] == pytest.approx(1.0)       # a's cancelled coat does not count


def test_price_band_by_hand(shop):
    pb = price_bands(shop, CATALOG, level=1).set_index("customer_id")
    # a pays 10, 5, 10: IQR 7.5 .. 10 (linear interpolation); category A median item price = median(10, 5) = 7.5
    assert pb.loc["a", ["price_p25", "price_median", "price_p75"]].tolist() == [7.5, 10.0, 10.0]
    assert pb.loc["a", "relative_price"] == pytest.approx(10 / 7.5)
    assert pb["price_position"].to_dict() == {"a": "premium", "b": "mid", "c": "budget", "d": "premium",
                                              "e": "mid"}
    assert pb.loc["d", "price_median"] == 10.0          # price 0 on the line: the catalog price
    with pytest.raises(ValueError, match="budget_below"):
        price_bands(shop, CATALOG, budget_below=2, premium_above=1)


def test_price_band_without_prices_is_empty(shop):
    pb = price_bands(shop.drop(columns=["price"]), CATALOG.drop(columns=["price"]))
    assert pb.empty and "price_position" in pb


def test_customer_sentiment_and_analysis(shop):
    reviews = pd.DataFrame({"product_id": ["p1", "p3", "p1", "p2"], "text": ["t"] * 4, "rating": [5, 1, 4, 2],
                            "customer_id": ["a", "b", "a", None]})
    sent = np.array([0.9, -0.8, 0.5, -0.2])
    cs = customer_sentiment(reviews, sent).set_index("customer_id")
    assert cs["reviews"].to_dict() == {"a": 2, "b": 1}
    assert cs.loc["a", "mean_sentiment"] == pytest.approx(0.7) and cs.loc["b", "mean_rating"] == 1
    assert customer_sentiment(reviews.drop(columns=["customer_id"]), sent).empty

    out = customer_analysis(shop, CATALOG, reviews=reviews, sentiment=sent, as_of="2024-03-10").set_index(
        "customer_id")
    assert out.loc["e", "segment"] == "Can't lose them" and out.loc["a", "price_position"] == "premium"
    assert out.loc["a", "mean_sentiment"] == pytest.approx(0.7) and out.loc["c", "reviews"] == 0
    assert out.loc["a", "orders"] == 2 and out.attrs["recency_unit"] == "days"


def test_clusters_recover_planted_groups():
    rng = np.random.default_rng(0)
    cats = ["bakery", "dairy", "produce", "snacks"]
    rows, truth = [], []
    for g, sizes in enumerate([40, 30, 20]):
        for _ in range(sizes):
            v = rng.dirichlet(np.full(4, 0.3)) * 0.2
            v[g] += 0.8
            rows.append(v / v.sum())
            truth.append(g)
    shares = pd.DataFrame(rows, columns=cats, index=[f"c{i}" for i in range(len(rows))])
    res = cluster_customers(shares, k_range=(2, 6), seed=1)
    assert res.k == 3
    assert res.silhouette["silhouette"].max() == res.silhouette.set_index("k").loc[3, "silhouette"]
    # clusters are numbered by size, so cluster i is planted group i (40, 30, 20 customers)
    assert (res.labels.to_numpy() == np.array(truth)).all()
    assert res.profiles["customers"].tolist() == [40, 30, 20]
    assert [t.split(" ")[0] for t in res.profiles["top_categories"]] == ["bakery", "dairy", "produce"]
    np.testing.assert_allclose(res.centers.sum(axis=1), 1.0, rtol=1e-5)
    fixed = cluster_customers(shares, k=2, seed=1)
    assert fixed.k == 2 and fixed.labels.nunique() == 2


@pytest.mark.parametrize("kwargs, match", [(dict(k=1), "k must be"), (dict(k_range=(1, 4)), "k_range"),
                                           (dict(sample_size=10), "sample_size"), (dict(k=50), "more customers")])
def test_cluster_bad_arguments(kwargs, match):
    shares = pd.DataFrame(np.eye(3)[np.arange(30) % 3], columns=list("abc"))
    with pytest.raises(ValueError, match=match):
        cluster_customers(shares, **kwargs)


def test_instacart_fixture_buckets_and_segments(instacart_dir):
    orders = pd.read_csv(instacart_dir / "orders.csv", dtype={"order_id": str, "product_id": str,
                                                                "customer_id": str})
    catalog = pd.read_csv(instacart_dir / "catalog.csv", dtype={"product_id": str})
    sh = category_shares_over_time(orders, catalog, level=1, by_customer=True, orders_per_bucket=5)
    assert sh.attrs["period_kind"] == "order_number"
    np.testing.assert_allclose(sh.groupby(["customer_id", "period"])["share"].sum(), 1.0)
    # every customer has one bucket per 5 order numbers they reached (ceil(max order_number / 5) here, as the
    # fixture keeps whole histories)
    n_buckets = sh.groupby("customer_id")["period"].nunique()
    expect = np.ceil(orders.groupby("customer_id")["order_number"].max() / 5).astype(int)
    assert n_buckets.sort_index().tolist() == expect.sort_index().tolist()
    r = rfm_scores(rfm_table(orders, catalog))
    assert r.attrs["recency_unit"] == "orders" and r["monetary"].isna().all()
    assert set(r["segment"]) <= {name for name, _, _ in RFM_SEGMENTS} and (r["segment"] != "").all()
    assert r["frequency"].sum() == orders["order_id"].nunique()


def test_online_retail_rfm_matches_a_plain_computation():
    """RFM on the real UCI Online Retail invoices (Chen, Sain & Guo 2012 segment this very data by RFM),
    checked customer by customer against a plain per-customer computation."""
    from core.paths import shared_dir

    path = shared_dir() / "datasets/online_retail/online_retail.parquet"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    d = pd.read_parquet(path)
    d = d[d["CustomerID"].notna() & (d["Quantity"] > 0) & ~d["InvoiceNo"].str.startswith("C")]
    keep = d["CustomerID"].drop_duplicates().sample(300, random_state=0)
    d = d[d["CustomerID"].isin(keep)]
    orders = pd.DataFrame({"order_id": d["InvoiceNo"], "product_id": d["StockCode"],
                           "customer_id": d["CustomerID"].astype(int).astype(str), "quantity": d["Quantity"],
                           "price": d["UnitPrice"], "ordered_at": d["InvoiceDate"]})
    r = rfm_scores(rfm_table(orders, as_of="2011-12-10")).set_index("customer_id")
    assert len(r) == 300
    for cid in r.index[::30]:
        mine = orders[orders["customer_id"] == cid]
        priced = mine[mine["price"] > 0]
        assert r.loc[cid, "frequency"] == mine["order_id"].nunique()
        assert r.loc[cid, "monetary"] == pytest.approx((priced["quantity"] * priced["price"]).sum())
        days = (pd.Timestamp("2011-12-10") - mine["ordered_at"].max()).total_seconds() / 86400
        assert r.loc[cid, "recency"] == pytest.approx(days)
    # quintiles: about a fifth of the customers in each recency score (recency has few ties)
    counts = r["R"].value_counts().sort_index()
    assert counts.index.tolist() == [1, 2, 3, 4, 5] and counts.between(50, 70).all()
    # champions bought more recently and more often than hibernating customers, on average
    g = r.groupby("segment")[["recency", "frequency"]].mean()
    assert g.loc["Champions", "recency"] < g.loc["Hibernating", "recency"]
    assert g.loc["Champions", "frequency"] > g.loc["Hibernating", "frequency"]


def test_shares_by_position_without_dates_or_numbers():
    # u's orders in table order: b, a, c (first appearance), v's: z
    o = pd.DataFrame({"order_id": ["b", "b", "a", "c", "z"], "product_id": ["p1", "p3", "p3", "p2", "p1"],
                      "customer_id": ["u", "u", "u", "u", "v"]})
    sh = category_shares_over_time(o, CATALOG, by_customer=True, orders_per_bucket=2)
    assert sh.attrs["period_kind"] == "order_position"
    u = sh[sh["customer_id"] == "u"].set_index(["period", "category"])["lines"].to_dict()
    assert u == {("orders 1-2", "A"): 1, ("orders 1-2", "B"): 2, ("orders 3-4", "A"): 1}
    assert sh[sh["customer_id"] == "v"]["period"].tolist() == ["orders 1-2"]


def test_shares_by_week(shop):
    sh = category_shares_over_time(shop, CATALOG, freq="W")
    assert sh.attrs["period_kind"] == "W"
    np.testing.assert_allclose(sh.groupby("period")["share"].sum(), 1.0)
    assert sh["lines"].sum() == (shop["line_type"] == "product").sum()


def test_customer_segments(shop):
    from core.customers import customer_segments

    rfm = customer_segments(shop, CATALOG, by="rfm", as_of="2024-03-10")
    assert rfm.to_dict() == {"a": "Potential loyalists", "b": "New", "c": "Need attention", "d": "At risk",
                             "e": "Can't lose them"}
    cl = customer_segments(shop, CATALOG, by="cluster", level=1, k=2)
    # a, c, d buy only category A; b, e only B: two clusters, each named by its category
    assert cl["a"] == cl["c"] == cl["d"] != cl["b"] == cl["e"]
    assert cl["a"].endswith(": A") and cl["b"].endswith(": B")
    with pytest.raises(ValueError, match="by must be"):
        customer_segments(shop, CATALOG, by="age")
