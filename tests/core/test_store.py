"""core.store on a real SQLite file (fixture ``engine``): imports, dedupe, upserts, rollback, cache."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core import schema as S
from core.errors import WorkspaceError
from core.ingest import ValidationResult, load_table
from core.store import (delete_workspace, ensure_workspace, get_cached_vectors, import_result, list_imports,
                        list_workspaces, load_workspace, put_cached_vectors)
from core.store.models import ImportLog, OrderLine, Product
from core.store.repo import content_hash

CATALOG = (b"product_id,title,category,price\n"
           b"007,Oak Board,Home > Kitchen,34.90\n"
           b"B2,Colander,Home > Kitchen,\n"
           b"C3,Towel,Home > Bath,18.50\n")
ORDERS = (b"order_id,product_id,customer_id,quantity,ordered_at\n"
          b"SO-1,007,c1,2,2024-01-02 10:00\n"
          b"SO-1,B2,c1,1,2024-01-02 10:00\n"
          b"SO-2,C3,,1,\n"
          b"SO-2,ZZ9,,1,\n")
REVIEWS = b"product_id,text,rating\n007,Heavy and flat.,5\nC3,Soft.,4\n"


def _import(engine, data: bytes, kind: str, workspace: str = "shop", name: str | None = None):
    result = load_table(data, name or f"{kind}.csv", kind)
    return import_result(engine, workspace, result, content_hash(data))


def _count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


# --- imports ----------------------------------------------------------------------------------------

def test_import_and_load_round_trip(engine):
    out = _import(engine, CATALOG, S.CATALOG)
    assert (out.skipped, out.rows_loaded, out.replaced) == (False, 3, 0)
    _import(engine, ORDERS, S.ORDERS)
    _import(engine, REVIEWS, S.REVIEWS)
    ws = load_workspace(engine, "shop")
    assert ws.catalog[S.PRODUCT_ID].tolist() == ["007", "B2", "C3"]          # leading zero kept
    assert ws.catalog[S.PRICE].iloc[0] == pytest.approx(34.90) and np.isnan(ws.catalog[S.PRICE].iloc[1])
    assert ws.orders[[S.ORDER_ID, S.PRODUCT_ID, S.QUANTITY]].values.tolist() == [
        ["SO-1", "007", 2], ["SO-1", "B2", 1], ["SO-2", "C3", 1], ["SO-2", "ZZ9", 1]]
    assert ws.orders[S.QUANTITY].dtype == "int64"
    assert ws.orders[S.ORDERED_AT].iloc[0] == pd.Timestamp("2024-01-02 10:00")
    assert pd.isna(ws.orders[S.ORDERED_AT].iloc[2]) and pd.isna(ws.orders[S.CUSTOMER_ID].iloc[2])
    assert ws.reviews[[S.PRODUCT_ID, S.TEXT, S.RATING]].values.tolist() == [
        ["007", "Heavy and flat.", 5.0], ["C3", "Soft.", 4.0]]
    assert ws.fingerprint.startswith("shop:")


def test_same_bytes_twice_is_skipped_and_counts_unchanged(engine):
    first = _import(engine, ORDERS, S.ORDERS)
    _import(engine, CATALOG, S.CATALOG)
    fp = load_workspace(engine, "shop").fingerprint
    again = _import(engine, ORDERS, S.ORDERS, name="renamed.csv")
    assert (first.skipped, first.rows_loaded) == (False, 4)
    assert (again.skipped, again.rows_loaded, again.replaced) == (True, 0, 0)
    assert _count(engine, OrderLine) == 4
    assert _count(engine, ImportLog) == 2                     # orders + catalog, not the skipped one
    assert load_workspace(engine, "shop").fingerprint == fp  # nothing changed, same cache key
    # the same bytes as another kind, or into another workspace, are not the same import
    assert _import(engine, ORDERS, S.ORDERS, workspace="other").skipped is False


def test_catalog_reimport_with_a_changed_row_upserts(engine):
    _import(engine, CATALOG, S.CATALOG)
    fp = load_workspace(engine, "shop").fingerprint
    changed = (b"product_id,title,category,price\n"
               b"007,Oak Board XL,Home > Kitchen,39.00\n"   # changed
               b"D4,Soap Dish,Home > Bath,9.90\n")          # new
    out = _import(engine, changed, S.CATALOG)
    assert (out.skipped, out.rows_loaded, out.replaced) == (False, 2, 1)   # only 007 existed before
    ws = load_workspace(engine, "shop")
    assert sorted(ws.catalog[S.PRODUCT_ID]) == ["007", "B2", "C3", "D4"]   # 3 + 1 new, no duplicates
    row = ws.catalog.set_index(S.PRODUCT_ID).loc["007"]
    assert (row[S.TITLE], row[S.PRICE]) == ("Oak Board XL", 39.0)
    assert ws.fingerprint != fp


def test_orders_reupload_of_the_same_order_replaces_its_lines(engine):
    _import(engine, ORDERS, S.ORDERS)
    corrected = (b"order_id,product_id,customer_id,quantity\n"
                 b"SO-1,007,c1,3\n"      # SO-1 now has one line (was two)
                 b"SO-3,B2,c2,1\n")      # new order
    out = _import(engine, corrected, S.ORDERS)
    assert (out.rows_loaded, out.replaced) == (2, 2)                      # both stored SO-1 lines replaced
    ws = load_workspace(engine, "shop")
    # 4 - 2 (SO-1 replaced) + 2 = 4 lines, SO-1 once
    assert len(ws.orders) == 4
    got = ws.orders.groupby(S.ORDER_ID).size().to_dict()
    assert got == {"SO-1": 1, "SO-2": 2, "SO-3": 1}
    assert ws.orders.loc[ws.orders[S.ORDER_ID] == "SO-1", S.QUANTITY].tolist() == [3]


def test_reviews_append(engine):
    _import(engine, REVIEWS, S.REVIEWS)
    _import(engine, b"product_id,text\n007,Still flat a year on.\n", S.REVIEWS)
    ws = load_workspace(engine, "shop")
    # stored order is not part of the contract for reviews (only order lines keep file order)
    assert sorted(ws.reviews[S.TEXT]) == ["Heavy and flat.", "Soft.", "Still flat a year on."]


def test_unknown_products_reported_by_import_and_workspace(engine):
    _import(engine, CATALOG, S.CATALOG)
    more = b"order_id,product_id\nSO-7,ZZ9\nSO-8,ZZ9\nSO-8,YY1\nSO-9,007\n"
    _import(engine, ORDERS, S.ORDERS)
    out = _import(engine, more, S.ORDERS)
    # ZZ9: 1 line in ORDERS + 2 here = 3; YY1: 1; 007 is in the catalog
    expected = [["ZZ9", 3], ["YY1", 1]]
    assert out.unknown_products.values.tolist() == expected
    ws = load_workspace(engine, "shop")
    assert ws.unknown_products().values.tolist() == expected
    assert list(ws.unknown_products().columns) == [S.PRODUCT_ID, "lines"]
    # adding ZZ9 to the catalog resolves it
    out = _import(engine, b"product_id,title\nZZ9,Mystery\n", S.CATALOG)
    assert out.unknown_products.values.tolist() == [["YY1", 1]]


def test_failed_insert_rolls_back_the_whole_import(engine):
    _import(engine, CATALOG, S.CATALOG)
    before = load_workspace(engine, "shop")
    # a catalog file whose second row has no title: products.title is NOT NULL, so the INSERT fails
    # after the upsert has already deleted the stored row 007 in the same transaction
    bad = pd.DataFrame({S.PRODUCT_ID: ["007", "E5"], S.TITLE: ["Oak Board v2", None], "_line": [2, 3]})
    result = ValidationResult(S.CATALOG, "bad.csv", bad, pd.DataFrame(columns=list(S.REJECT_COLUMNS)), 2,
                              "utf-8", ",", {S.PRODUCT_ID: S.PRODUCT_ID, S.TITLE: S.TITLE})
    with pytest.raises(IntegrityError, match="(?i)not[ -]null"):
        import_result(engine, "shop", result, "deadbeef")
    after = load_workspace(engine, "shop")
    pd.testing.assert_frame_equal(after.catalog, before.catalog)      # 007 still there, unchanged
    assert after.fingerprint == before.fingerprint
    assert len(list_imports(engine, "shop")) == 1                     # no import log row for bad.csv
    with engine.connect() as conn:
        assert conn.execute(select(Product.title).where(Product.product_id == "007")).scalar_one() == "Oak Board"


def test_dates_with_offsets_round_trip_as_naive_utc(engine):
    data = (b"order_id,product_id,ordered_at\n"
            b"O1,P1,2024-01-05T10:00:00Z\nO2,P1,2024-01-05T10:00:00+02:00\nO3,P1,2024-01-05T10:00:00-0500\n"
            b"O4,P1,now\nO5,P1,0001-01-01\n")
    out = _import(engine, data, S.ORDERS)
    assert out.rows_loaded == 3                                   # 'now' and year 1 are rejected, not stored
    ws = load_workspace(engine, "shop")
    assert ws.orders[S.ORDERED_AT].tolist() == [pd.Timestamp("2024-01-05 10:00"), pd.Timestamp("2024-01-05 08:00"),
                                                 pd.Timestamp("2024-01-05 15:00")]
    assert ws.orders[S.ORDERED_AT].dt.tz is None


def test_largest_integer_quantity_round_trips_and_bigger_ones_are_never_stored(engine):
    data = b"order_id,product_id,quantity,order_number\nO1,P1,2147483647,2147483647\nO2,P1,1e20,1\nO3,P1,2,1e20\n"
    out = _import(engine, data, S.ORDERS)
    assert out.rows_loaded == 1
    ws = load_workspace(engine, "shop")
    assert ws.orders[[S.ORDER_ID, S.QUANTITY]].values.tolist() == [["O1", 2_147_483_647]]
    assert ws.orders[S.ORDER_NUMBER].tolist() == [2_147_483_647]


# --- workspaces ---------------------------------------------------------------------------------

def test_list_imports_newest_first(engine):
    _import(engine, CATALOG, S.CATALOG, name="cat.csv")
    bad = CATALOG + b"E5,Plate,Home,abc\n"
    _import(engine, bad, S.CATALOG, name="cat-v2.csv")
    log = list_imports(engine, "shop")
    assert log["file"].tolist() == ["cat-v2.csv", "cat.csv"]
    assert log[["rows_read", "rows_loaded", "rows_rejected"]].values.tolist() == [[4, 3, 1], [3, 3, 0]]
    assert log["content_hash"].tolist() == [content_hash(bad), content_hash(CATALOG)]
    assert log["encoding"].tolist() == ["utf-8", "utf-8"] and log["delimiter"].tolist() == [",", ","]


def test_delete_workspace_removes_only_that_workspace(engine):
    _import(engine, CATALOG, S.CATALOG, workspace="a")
    _import(engine, ORDERS, S.ORDERS, workspace="a")
    _import(engine, CATALOG, S.CATALOG, workspace="b")
    delete_workspace(engine, "a")
    ws = list_workspaces(engine)
    assert ws[["name", "products", "order_lines", "reviews"]].values.tolist() == [["b", 3, 0, 0]]
    assert _count(engine, OrderLine) == 0 and _count(engine, ImportLog) == 1
    with pytest.raises(WorkspaceError, match="workspace 'a' does not exist"):
        load_workspace(engine, "a")
    # the same bytes can be imported into a re-created workspace (the dedupe log went with it)
    assert _import(engine, CATALOG, S.CATALOG, workspace="a").skipped is False


@pytest.mark.parametrize("name", ["", "   ", "a/b", "semi;colon", "x" * 101, None, 7])
def test_invalid_workspace_names(engine, name):
    with pytest.raises(WorkspaceError, match="workspace name must be 1-100 letters"):
        ensure_workspace(engine, name)


def test_valid_workspace_names_and_idempotent_creation(engine):
    a = ensure_workspace(engine, "Spring sale_2024-v1.2")
    assert ensure_workspace(engine, "Spring sale_2024-v1.2") == a
    assert ensure_workspace(engine, "x" * 100) != a
    assert sorted(list_workspaces(engine)["name"]) == ["Spring sale_2024-v1.2", "x" * 100]


@pytest.mark.parametrize("call", [load_workspace, list_imports, delete_workspace])
def test_missing_workspace(engine, call):
    with pytest.raises(WorkspaceError, match="workspace 'nope' does not exist"):
        call(engine, "nope")


# --- embedding cache ------------------------------------------------------------------------------

def test_embedding_cache_round_trip_is_float32_exact(engine):
    rng = np.random.default_rng(7)
    vecs = rng.standard_normal((3, 384)).astype(np.float32)
    hashes = ["h0", "h1", "h2"]
    put_cached_vectors(engine, "model-a", hashes, vecs)
    got = get_cached_vectors(engine, "model-a", ["h2", "h0", "missing"])
    assert set(got) == {"h0", "h2"}
    assert got["h0"].dtype == np.float32 and got["h0"].shape == (384,)
    assert np.array_equal(got["h0"], vecs[0]) and np.array_equal(got["h2"], vecs[2])  # bit-exact
    assert get_cached_vectors(engine, "model-b", hashes) == {}                       # keyed by model


def test_embedding_cache_keeps_the_first_vector_for_a_key(engine):
    put_cached_vectors(engine, "m", ["h"], np.ones((1, 4), dtype=np.float32))
    put_cached_vectors(engine, "m", ["h", "h"], np.zeros((2, 4), dtype=np.float32))   # ignored: key exists
    put_cached_vectors(engine, "m", [], np.zeros((0, 4), dtype=np.float32))          # no-op
    assert get_cached_vectors(engine, "m", ["h"])["h"].tolist() == [1.0, 1.0, 1.0, 1.0]


# ---- issue 3: nothing doubled, nothing stale ---------------------------------------------------------

def _imp(engine, ws, kind, data: bytes, name="f.csv"):
    from core.workspace import import_files
    return import_files(engine, ws, {kind: (name, data)})[0].outcome


def test_reimporting_an_older_file_after_a_newer_one_applies_it_again(engine):
    # case 18 step 3: A, then B, then A again must show A's data, not B's
    a = b"product_id,title,price\nP1,One,1\n"
    b = b"product_id,title,price\nP1,One,2\n"
    assert not _imp(engine, "w", S.CATALOG, a).skipped
    assert not _imp(engine, "w", S.CATALOG, b).skipped
    again = _imp(engine, "w", S.CATALOG, a)
    assert not again.skipped and again.changed == 1
    assert load_workspace(engine, "w").catalog[S.PRICE].tolist() == [1.0]
    assert _imp(engine, "w", S.CATALOG, a).skipped  # now it is the latest: skipped


def test_catalog_upsert_counts_added_changed_unchanged(engine):
    _imp(engine, "w", S.CATALOG, b"product_id,title,price\nP1,One,1\nP2,Two,2\nP3,Three,3\n")
    out = _imp(engine, "w", S.CATALOG, b"product_id,title,price\nP1,One,1\nP2,Two v2,2\nP4,Four,4\n")
    assert (out.added, out.changed, out.unchanged) == (1, 1, 1)   # P4 new, P2 renamed, P1 same
    cat = load_workspace(engine, "w").catalog.set_index(S.PRODUCT_ID)
    assert sorted(cat.index) == ["P1", "P2", "P3", "P4"]           # P3 kept: a catalog update never deletes
    assert cat.loc["P2", S.TITLE] == "Two v2"


def test_same_reviews_in_another_file_are_not_doubled(engine):
    lf = b"product_id,text,rating\nP1,Great board,5\nP2,Too small,2\n"
    crlf = lf.replace(b"\n", b"\r\n")                                # other bytes, same rows
    _imp(engine, "w", S.REVIEWS, lf)
    out = _imp(engine, "w", S.REVIEWS, crlf)
    assert (out.added, out.unchanged) == (0, 2)
    assert len(load_workspace(engine, "w").reviews) == 2
    out = _imp(engine, "w", S.REVIEWS, b"product_id,text,rating\nP1,Great board,5\nP3,New one,4\n")
    assert (out.added, out.unchanged) == (1, 1)


def test_an_older_database_gets_the_new_columns(tmp_path):
    import sqlite3

    from core.store import make_engine

    db = tmp_path / "old.sqlite"
    con = sqlite3.connect(db)  # the order_lines table as the first release made it (no line_type)
    con.execute("CREATE TABLE order_lines (id INTEGER PRIMARY KEY, workspace_id INTEGER, order_id VARCHAR(200), "
                "product_id VARCHAR(200), customer_id VARCHAR(200), quantity INTEGER, price FLOAT, "
                "ordered_at DATETIME, order_number INTEGER)")
    con.commit()
    con.close()
    make_engine(f"sqlite:///{db}")
    cols = [r[1] for r in sqlite3.connect(db).execute("PRAGMA table_info(order_lines)")]
    assert "line_type" in cols


def test_presets_round_trip_per_workspace(engine):
    from core.store.repo import list_presets, save_preset

    save_preset(engine, "w", S.CATALOG, "my shop", {S.PRODUCT_ID: "Handle", S.TITLE: "Title"})
    save_preset(engine, "w", S.CATALOG, "my shop", {S.PRODUCT_ID: "SKU", S.TITLE: "Title"})  # overwrite
    assert list_presets(engine, "w") == {"my shop": {"kind": S.CATALOG, "mapping": {S.PRODUCT_ID: "SKU",
                                                                                     S.TITLE: "Title"}}}
    assert list_presets(engine, "other") == {}
    with pytest.raises(ValueError, match="kind must be one of"):
        save_preset(engine, "w", "invoices", "x", {})
