"""import_files end to end: presets, cleaning, e-mail hashing, on a real database (SQLite and PostgreSQL)."""
import json

import pytest
from sqlalchemy import text

from core import schema as S
from core.baskets import build_baskets
from core.pipeline import BuildSettings, build_model
from core.store import load_workspace
from core.workspace import import_files


def test_online_retail_case_keeps_every_line_and_builds_the_expected_baskets(engine, shared_case):
    case = shared_case("11-online-retail-quirks")
    expect = json.loads((case / "case.json").read_text())["expect"]
    files = {S.CATALOG: ("catalog.csv", (case / "catalog.csv").read_bytes()),
             S.ORDERS: ("orders_online_retail.csv", (case / "orders_online_retail.csv").read_bytes())}
    reports = import_files(engine, "retail", files)
    orders_rep = reports[1]
    data = load_workspace(engine, "retail")
    # nothing lost: all 37 lines stored, each with its class
    assert len(data.orders) == expect["order_lines_in_file"] == 37
    excluded = expect["lines_excluded_by_reason"]
    counts = orders_rep.cleaning
    assert counts["cancellation"] == excluded["cancellation_invoice"]
    assert counts["non_positive_quantity"] == excluded["non_positive_quantity"]
    assert counts["non_product"] + counts["not_in_catalog"] == excluded["not_a_catalog_product"]
    assert counts["product"] == expect["product_lines_kept"]
    # the baskets the affinity stage sees
    model = build_model(data.catalog, data.orders, settings=BuildSettings(use_text=False))
    assert model.baskets.n_baskets == expect["n_baskets"]
    assert sorted(model.baskets.basket_ids) == sorted(expect["basket_ids"])
    for bid, items in expect["baskets"].items():
        row = list(model.baskets.basket_ids).index(bid)
        got = model.baskets.item_ids[model.baskets.basket_items.getrow(row).indices]
        assert sorted(got) == sorted(items), bid
    # lines without a customer count for baskets, not for customers
    assert set(model.customer_ids) <= set(data.orders[S.CUSTOMER_ID].dropna())


def test_email_customer_ids_are_stored_only_as_salted_hashes(engine):
    orders = (b"order_id,product_id,customer_id\n"
              b"1,P1,Jane.Doe@Example.com\n1,P2,Jane.Doe@Example.com\n2,P1,c-42\n")
    import_files(engine, "w", {S.ORDERS: ("o.csv", orders)})
    data = load_workspace(engine, "w")
    ids = set(data.orders[S.CUSTOMER_ID])
    assert "c-42" in ids
    hashed = ids - {"c-42"}
    assert len(hashed) == 1 and next(iter(hashed)).startswith("email:")
    with engine.connect() as conn:  # the address is nowhere in the database
        for table in ("order_lines", "imports"):
            dump = " ".join(str(r) for r in conn.execute(text(f"SELECT * FROM {table}")).all())
            assert "jane" not in dump.lower() and "example.com" not in dump.lower()


def test_shopify_product_preset_turns_variant_rows_into_one_product(engine):
    export = (b"Handle,Title,Body (HTML),Vendor,Type,Option1 Value,Variant SKU,Variant Price\n"
              b"oak-board,Oak Cutting Board,<p>Solid oak</p>,Holzwerk,Kitchen,Small,OB-S,24.00\n"
              b"oak-board,,,,,Large,OB-L,34.00\n"
              b"tea-tin,Tea Tin,<p>Airtight</p>,Leafy,Tea,,TT-1,9.50\n")
    rep = import_files(engine, "shop", {S.CATALOG: ("products_export.csv", export)},
                       presets={S.CATALOG: "Shopify product export"})[0]
    cat = load_workspace(engine, "shop").catalog.set_index(S.PRODUCT_ID)
    assert sorted(cat.index) == ["oak-board", "tea-tin"]
    assert cat.loc["oak-board", S.TITLE] == "Oak Cutting Board"
    assert cat.loc["oak-board", S.BRAND] == "Holzwerk"
    assert rep.validation.rows_loaded == 2


def test_lines_of_unknown_products_join_the_baskets_once_the_catalog_lists_them(engine):
    import_files(engine, "w", {S.CATALOG: ("c.csv", b"product_id,title\nAPL,Apple\n")})
    import_files(engine, "w", {S.ORDERS: ("o.csv", b"order_id,product_id\n1,APL\n1,BAN\n2,APL\n2,BAN\n")})
    data = load_workspace(engine, "w")
    assert set(data.orders[S.LINE_TYPE]) == {"product", "not_in_catalog"}
    assert data.unknown_products()[S.PRODUCT_ID].tolist() == ["BAN"]
    import_files(engine, "w", {S.CATALOG: ("c2.csv", b"product_id,title\nAPL,Apple\nBAN,Banana\n")})
    data = load_workspace(engine, "w")
    model = build_model(data.catalog, data.orders, settings=BuildSettings(use_text=False))
    assert int(model.item_counts[list(model.item_ids).index("BAN")]) == 2
    assert data.unknown_products().empty


def test_unknown_kind_is_refused(engine):
    with pytest.raises(ValueError, match="file kinds must be among"):
        import_files(engine, "w", {"invoices": ("x.csv", b"a\n1\n")})
