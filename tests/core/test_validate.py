"""core.ingest.validate: column mapping, typing, per-row rejects (file, row, column, value, reason)."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from core import schema as S
from core.errors import MappingError, SchemaError
from core.ingest import load_table, read_table, validate_table
from core.ingest.validate import suggest_mapping


def rejects(result) -> list[tuple]:
    """Rejects as (row, column, value, reason) tuples, in report order."""
    return [tuple(r) for r in result.rejects[["row", "column", "value", "reason"]].itertuples(index=False)]


# --- required columns and mapping -----------------------------------------------------------------

@pytest.mark.parametrize("data, kind, match, column", [
    (b"title,price\nMug,3\n", S.CATALOG, r"file 'cat.csv', column 'product_id': required column\(s\) missing: "
                                         r"product_id; the file has title, price", "product_id"),
    (b"product_id,price\nA,3\n", S.CATALOG, r"required column\(s\) missing: title", "title"),
    (b"order_id,qty\n1,2\n", S.ORDERS, r"required column\(s\) missing: product_id", "product_id"),
    (b"product_id,quantity\nA,2\n", S.ORDERS, r"required column\(s\) missing: order_id", "order_id"),
    (b"product_id,rating\nA,5\n", S.REVIEWS, r"required column\(s\) missing: text", "text"),
    (b"price,brand\n3,X\n", S.CATALOG, r"required column\(s\) missing: product_id, title", "product_id"),
])
def test_missing_required_column_raises_mapping_error(data, kind, match, column):
    with pytest.raises(MappingError, match=match) as exc:
        load_table(data, "cat.csv", kind)
    assert exc.value.file == "cat.csv"
    assert exc.value.column == column


@pytest.mark.parametrize("mapping, match", [
    ({S.TITLE: "Name"}, r"column 'Name': mapped column 'Name' is not in the file; columns are product_id, title"),
    ({"colour": "title"}, r"'colour' is not a catalog field"),
])
def test_bad_explicit_mapping_raises_mapping_error(mapping, match):
    with pytest.raises(MappingError, match=match):
        load_table(b"product_id,title\nA,Mug\n", "cat.csv", S.CATALOG, mapping=mapping)


def test_unknown_kind_is_a_value_error():
    with pytest.raises(ValueError, match=r"kind must be one of .*got 'products'"):
        load_table(b"product_id,title\nA,Mug\n", "cat.csv", "products")


def test_header_synonyms_sku_and_name():
    r = load_table(b"SKU,Name,Unit Price,Vendor\nA1,Mug,3.5,Clay\n", "cat.csv", S.CATALOG)
    assert r.mapping == {S.PRODUCT_ID: "SKU", S.TITLE: "Name", S.PRICE: "Unit Price", S.BRAND: "Vendor"}
    assert r.valid[[S.PRODUCT_ID, S.TITLE, S.PRICE, S.BRAND]].values.tolist() == [["A1", "Mug", 3.5, "Clay"]]


def test_category_levels_split_on_greater_than_only():
    data = b"product_id,title,category\nI1,Ice,GROCERY>FRZN ICE >  ICE - CRUSHED/CUBED\nR1,Record,Music > AC/DC\n"
    cats = load_table(data, "c.csv", S.CATALOG).valid[S.CATEGORY].tolist()
    assert cats == ["GROCERY > FRZN ICE > ICE - CRUSHED/CUBED", "Music > AC/DC"]


def test_shopify_style_headers_and_category_path_normalised():
    data = b'Handle,Title,Body (HTML),Product Type,Variant Price\nmug-1,Mug,<p>x</p>,Home / Kitchen,"1,234.50"\n'
    r = load_table(data, "products_export.csv", S.CATALOG)
    assert r.mapping == {S.PRODUCT_ID: "Handle", S.TITLE: "Title", S.CATEGORY: "Product Type",
                         S.DESCRIPTION: "Body (HTML)", S.PRICE: "Variant Price"}
    row = r.valid.iloc[0]
    assert row[S.CATEGORY] == "Home / Kitchen"        # only '>' separates levels ('/' is part of names)
    assert row[S.PRICE] == 1234.5                     # thousands separator '1,234.50'
    assert row[S.DESCRIPTION] == "<p>x</p>"          # HTML kept in storage


def test_explicit_mapping_wins_over_suggestion():
    data = b"id,name,label\nA1,internal,Mug\n"
    r = load_table(data, "cat.csv", S.CATALOG, mapping={S.TITLE: "label"})
    assert r.valid[S.TITLE].tolist() == ["Mug"]
    assert r.warnings == ["cat.csv: column(s) not used: name"]


def test_suggest_mapping_orders_synonyms():
    cols = ["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"]
    assert suggest_mapping(cols, S.ORDERS) == {
        S.ORDER_ID: "InvoiceNo", S.PRODUCT_ID: "StockCode", S.CUSTOMER_ID: "CustomerID",
        S.QUANTITY: "Quantity", S.PRICE: "UnitPrice", S.ORDERED_AT: "InvoiceDate"}


@pytest.mark.parametrize("columns, expected", [
    (["product_id", "Product ID", "title"], "product_id"),       # exact name wins over a folded one...
    (["Product ID", "product_id", "title"], "product_id"),       # ...whatever the column order
    (["SKU", " Product_ID ", "title"], " Product_ID "),          # and over a synonym (case/space-insensitive)
])
def test_exact_canonical_header_wins_over_folded_and_synonym_matches(columns, expected):
    assert suggest_mapping(columns, S.CATALOG)[S.PRODUCT_ID] == expected


def test_exact_header_wins_when_loading():
    r = load_table(b"product_id,Product ID,title\nA1,B1,t\n", "c.csv", S.CATALOG)
    assert r.mapping == {S.PRODUCT_ID: "product_id", S.TITLE: "title"}
    assert r.valid[S.PRODUCT_ID].tolist() == ["A1"]
    assert r.warnings == ["c.csv: column(s) not used: Product ID"]


def test_two_headers_folding_to_one_field_keep_the_first_and_warn():
    r = load_table(b"Product-ID,product id,title\nA1,B1,t\n", "c.csv", S.CATALOG)
    assert r.mapping[S.PRODUCT_ID] == "Product-ID"
    assert r.valid[S.PRODUCT_ID].tolist() == ["A1"]
    assert r.warnings == ["c.csv: columns 'Product-ID', 'product id' all read as product_id; used 'Product-ID' "
                          "(map product_id explicitly if another one is meant)",
                          "c.csv: column(s) not used: product id"]
    # mapped explicitly: no warning about the guess
    r = load_table(b"Product-ID,product id,title\nA1,B1,t\n", "c.csv", S.CATALOG,
                   mapping={S.PRODUCT_ID: "product id"})
    assert r.valid[S.PRODUCT_ID].tolist() == ["B1"]
    assert r.warnings == ["c.csv: column(s) not used: Product-ID"]


@pytest.mark.parametrize("mapping, match", [
    ({S.PRODUCT_ID: "sku", S.TITLE: "sku"},
     r"column 'sku': column 'sku' is mapped to more than one field \(product_id, title\)"),
    ({S.TITLE: "sku", S.BRAND: "name", S.CATEGORY: "sku"}, r"column 'sku' is mapped to more than one field"),
])
def test_one_column_mapped_to_two_fields_raises_mapping_error(mapping, match):
    with pytest.raises(MappingError, match=match) as exc:
        load_table(b"sku,name\nA,b\n", "c.csv", S.CATALOG, mapping=mapping)
    assert exc.value.column == "sku"


def test_explicit_mapping_takes_its_column_away_from_the_suggestions():
    # title -> 'sku' explicitly: 'sku' is no longer guessed as product_id, so product_id is missing
    with pytest.raises(MappingError, match=r"required column\(s\) missing: product_id"):
        load_table(b"sku,name\nA,b\n", "c.csv", S.CATALOG, mapping={S.TITLE: "sku"})


# --- ids and text keep their spelling -------------------------------------------------------------

def test_leading_zeros_kept_and_numbers_keep_their_spelling():
    data = b"product_id,title,brand\n007,Bond,5\n5,Five,0\n0042,Answer,\n"
    r = load_table(data, "cat.csv", S.CATALOG)
    assert r.valid[S.PRODUCT_ID].tolist() == ["007", "5", "0042"]      # never 7, 5.0 or 42
    assert r.valid[S.BRAND].tolist() == ["5", "0", None]                # '5' not '5.0'; blank -> missing
    assert r.valid["_line"].tolist() == [2, 3, 4]


def test_orders_ids_stay_text():
    r = load_table(b"order_id,product_id,customer_id\n0001,007,00347\n", "o.csv", S.ORDERS)
    assert r.valid[[S.ORDER_ID, S.PRODUCT_ID, S.CUSTOMER_ID]].values.tolist() == [["0001", "007", "00347"]]


# --- per-row rejects ------------------------------------------------------------------------------

def test_bad_prices_rejected_with_row_column_and_original_value_good_rows_kept():
    # line 1 header; 2 ok; 3 'abc'; 4 -1; 5 ok (blank price allowed); 6 ok
    data = b"SKU,Name,Price\nA1,Mug,3.50\nA2,Cup,abc\nA3,Bowl,-1\nA4,Jug,\nA5,Plate,0\n"
    r = load_table(data, "cat.csv", S.CATALOG)
    assert rejects(r) == [(3, "Price", "abc", "price is not a number"),
                          (4, "Price", "-1", "price must be >= 0")]
    assert r.valid[S.PRODUCT_ID].tolist() == ["A1", "A4", "A5"]
    assert r.valid["_line"].tolist() == [2, 5, 6]
    assert math.isnan(r.valid[S.PRICE].iloc[1]) and r.valid[S.PRICE].iloc[2] == 0.0
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (5, 3, 2)
    assert list(r.rejects.columns) == list(S.REJECT_COLUMNS)
    assert set(r.rejects["file"]) == {"cat.csv"}


@pytest.mark.parametrize("rating, ok", [("1", True), ("5", True), ("3.5", True), ("0", False), ("6", False),
                                        ("5.01", False), ("-2", False)])
def test_rating_must_be_between_1_and_5(rating, ok):
    r = load_table(f"product_id,text,rating\nA,fine,{rating}\n".encode(), "rev.csv", S.REVIEWS)
    if ok:
        assert r.valid[S.RATING].tolist() == [float(rating)] and len(r.rejects) == 0
    else:
        assert rejects(r) == [(2, "rating", rating, "rating must be between 1 and 5")]
        assert r.rows_loaded == 0


def test_blank_review_text_rejected_never_stored_as_nan():
    # lines: 2 ok; 3 empty; 4 literal 'nan'; 5 spaces only; 6 'NULL'; 7 ok; 8 rating 'x'
    data = b'product_id,text,rating\nA,good,5\nB,,4\nC,nan,3\nD,"   ",2\nE,NULL,1\nF,"fine, really",\nG,ok,x\n'
    r = load_table(data, "rev.csv", S.REVIEWS)
    assert rejects(r) == [(3, "text", "", "text is required but empty"),
                          (4, "text", "nan", "text is required but empty"),
                          (5, "text", "   ", "text is required but empty"),
                          (6, "text", "NULL", "text is required but empty"),
                          (8, "rating", "x", "rating is not a number")]
    assert r.valid[S.TEXT].tolist() == ["good", "fine, really"]
    assert "nan" not in [str(t).lower() for t in r.valid[S.TEXT]]


def test_duplicate_product_id_rejected_naming_the_first_row():
    # header 1; A 2; B 3; A 4; A 5 (blank line on 6 skipped); B 7
    data = b"product_id,title\nA,Mug\nB,Cup\nA,Mug again\nA,Mug thrice\n\nB,Cup again\n"
    r = load_table(data, "cat.csv", S.CATALOG)
    assert rejects(r) == [(4, "product_id", "A", "duplicate product_id (first seen on row 2)"),
                          (5, "product_id", "A", "duplicate product_id (first seen on row 2)"),
                          (7, "product_id", "B", "duplicate product_id (first seen on row 3)")]
    assert r.valid[[S.PRODUCT_ID, S.TITLE]].values.tolist() == [["A", "Mug"], ["B", "Cup"]]


def test_duplicate_check_keeps_the_first_valid_row_not_the_first_row():
    # row 2 is rejected for its price, so the corrected row 3 is the one kept
    r = load_table(b"product_id,title,price\nA1,Old,abc\nA1,Fixed,5\n", "c.csv", S.CATALOG)
    assert r.rows_loaded == 1
    assert r.valid[[S.PRODUCT_ID, S.TITLE, S.PRICE]].values.tolist() == [["A1", "Fixed", 5.0]]
    assert rejects(r) == [(2, "price", "abc", "price is not a number")]


def test_later_valid_duplicates_name_the_kept_row():
    # 2 bad price, 3 no title, 4 kept, 5 duplicate of 4, 6 bad price and a duplicate: one reason only
    data = b"product_id,title,price\nA1,Old,abc\nA1,,1\nA1,Kept,2\nA1,Again,3\nA1,Bad,-1\n"
    r = load_table(data, "c.csv", S.CATALOG)
    assert rejects(r) == [(2, "price", "abc", "price is not a number"),
                          (3, "title", "", "title is required but empty"),
                          (5, "product_id", "A1", "duplicate product_id (first seen on row 4)"),
                          (6, "price", "-1", "price must be >= 0")]
    assert r.valid[S.TITLE].tolist() == ["Kept"]


def test_required_value_empty_is_rejected():
    r = load_table(b"product_id,title\nA,Mug\n,Nameless\nC,\n", "cat.csv", S.CATALOG)
    assert rejects(r) == [(3, "product_id", "", "product_id is required but empty"),
                          (4, "title", "", "title is required but empty")]
    assert r.valid[S.PRODUCT_ID].tolist() == ["A"]


def test_orders_quantity_default_and_checks():
    # 2 blank -> 1; 3 '2'; 4 '0' (an adjustment); 5 '1.5'; 6 'x'; 7 '-1' (a return)
    # issue 3 item 4: zero and negative quantities are stored (cleaning keeps them out of baskets)
    data = b"order_id,product_id,qty\n1,A,\n1,B,2\n2,A,0\n2,C,1.5\n3,D,x\n3,E,-1\n"
    r = load_table(data, "o.csv", S.ORDERS)
    assert r.valid[[S.ORDER_ID, S.PRODUCT_ID, S.QUANTITY]].values.tolist() == [
        ["1", "A", 1], ["1", "B", 2], ["2", "A", 0], ["3", "E", -1]]
    assert r.valid["_line"].tolist() == [2, 3, 4, 7]
    assert r.valid[S.QUANTITY].dtype == "int64"
    got = rejects(r)
    assert [g[:3] for g in got] == [(5, "qty", "1.5"), (6, "qty", "x")]
    assert got[0][3] == "quantity must be a whole number"
    assert got[1][3] == "quantity is not a number"


def test_orders_without_quantity_column_get_quantity_1():
    r = load_table(b"order_id,product_id\n1,A\n1,B\n", "o.csv", S.ORDERS)
    assert r.valid[S.QUANTITY].tolist() == [1, 1]


def test_orders_dates_and_order_numbers():
    data = (b"order_id,product_id,customer_id,order_number,order date\n"
            b"1,A,c1,1,2024-01-02\n2,A,c1,0,2024-01-03\n3,A,c1,2.5,2024-01-04\n4,A,c1,,not a date\n5,A,c1,3,\n")
    r = load_table(data, "o.csv", S.ORDERS)
    assert rejects(r) == [(3, "order_number", "0", "order_number must be >= 1"),
                          (4, "order_number", "2.5", "order_number must be a whole number"),
                          (5, "order date", "not a date", "ordered_at is not a date/time")]
    assert r.valid[S.ORDER_ID].tolist() == ["1", "5"]
    assert r.valid[S.ORDERED_AT].tolist()[0] == pd.Timestamp("2024-01-02")
    assert pd.isna(r.valid[S.ORDERED_AT].tolist()[1])
    assert r.valid[S.ORDER_NUMBER].tolist()[0] == 1 and str(r.valid[S.ORDER_NUMBER].dtype) == "Int64"


def test_malformed_rows_from_the_reader_are_rejects_with_their_line():
    data = b"product_id,title\nA,Mug\nB,Cup,extra\nC,Bowl\n"
    r = validate_table(read_table(data, "cat.csv"), S.CATALOG, "cat.csv")
    assert rejects(r) == [(3, None, None, "expected 2 fields, found 3")]
    assert r.valid[S.PRODUCT_ID].tolist() == ["A", "C"]
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (3, 2, 1)


def test_header_only_file_validates_to_no_rows():
    r = load_table(b"product_id,title\n", "cat.csv", S.CATALOG)
    assert r.rows_loaded == 0 and r.rows_rejected == 0 and r.rows_read == 0


# --- shared case 01 -------------------------------------------------------------------------------

@pytest.mark.parametrize("file", ["catalog.csv", "reviews.csv", "orders.csv"])
def test_case01_values(shared_case, file):
    folder = shared_case("01-bom-quoted-headers")
    spec = json.loads((folder / "case.json").read_text())
    kind = next(f["kind"] for f in spec["files"] if f["path"] == file)
    expect = spec["expect"]["per_file"][file]
    r = load_table((folder / file).read_bytes(), file, kind)
    assert (r.rows_loaded, r.rows_rejected) == (expect["rows_loaded"], expect["rows_rejected"])
    assert [c for c in r.valid.columns if c != "_line"] == expect["columns"]
    for key, value in expect["values"].items():
        where, field = key.rsplit(".", 1)
        mask = pd.Series(True, index=r.valid.index)
        for cond in where.split("&"):
            col, val = cond.split("=", 1)
            mask &= r.valid[col] == val
        assert mask.sum() == 1, key
        got = r.valid.loc[mask, field].iloc[0]
        assert got == pytest.approx(value, abs=1e-6) if isinstance(value, (int, float)) else got == value, key
    if file == "catalog.csv":  # PT-3002 has an empty description: missing, never the text 'nan'
        assert r.valid.loc[r.valid[S.PRODUCT_ID] == "PT-3002", S.DESCRIPTION].iloc[0] is None


# --- dates: time zones, range, relative words -----------------------------------------------------

def test_dates_with_offsets_are_stored_as_naive_utc():
    # Z, +02:00 and -0500 in one column (pandas alone raises on mixed offsets); no offset = UTC already
    data = (b"order_id,product_id,ordered_at\n"
            b"O1,P1,2024-01-05T10:00:00Z\n"
            b"O2,P1,2024-01-05T10:00:00+02:00\n"
            b"O3,P1,2024-01-05T10:00:00-0500\n"
            b"O4,P1,2024-01-05 10:00\n"
            b"O5,P1,\n")
    r = load_table(data, "o.csv", S.ORDERS)
    assert len(r.rejects) == 0
    assert str(r.valid[S.ORDERED_AT].dtype) == "datetime64[ns]"          # naive
    got = r.valid[S.ORDERED_AT].tolist()
    assert got[:4] == [pd.Timestamp("2024-01-05 10:00"), pd.Timestamp("2024-01-05 08:00"),
                       pd.Timestamp("2024-01-05 15:00"), pd.Timestamp("2024-01-05 10:00")]
    assert pd.isna(got[4])


def test_single_utc_date_loads():
    r = load_table(b"order_id,product_id,ordered_at\nO1,P1,2024-01-05T10:00:00Z\n", "o.csv", S.ORDERS)
    assert r.valid[S.ORDERED_AT].tolist() == [pd.Timestamp("2024-01-05 10:00")]


@pytest.mark.parametrize("kind, header, value, reason", [
    (S.ORDERS, "order_id,product_id,ordered_at", "0001-01-01", "ordered_at is out of range"),
    (S.ORDERS, "order_id,product_id,ordered_at", "9999-12-31", "ordered_at is out of range"),
    (S.ORDERS, "order_id,product_id,ordered_at", "1500-06-01T00:00:00+01:00", "ordered_at is out of range"),
    (S.ORDERS, "order_id,product_id,ordered_at", "now", "ordered_at is not a date/time"),
    (S.ORDERS, "order_id,product_id,ordered_at", "Today", "ordered_at is not a date/time"),
    (S.ORDERS, "order_id,product_id,ordered_at", "tomorrow", "ordered_at is not a date/time"),
    (S.ORDERS, "order_id,product_id,ordered_at", "yesterday", "ordered_at is not a date/time"),
    (S.ORDERS, "order_id,product_id,ordered_at", "10:30", "ordered_at is not a date/time"),  # a time, no date
    (S.REVIEWS, "product_id,text,created_at", "0001-01-01", "created_at is out of range"),
    (S.REVIEWS, "product_id,text,created_at", "NOW", "created_at is not a date/time"),
])
def test_out_of_range_and_relative_dates_reject_the_row(kind, header, value, reason):
    data = f"{header}\nA,B,{value}\nA,C,2024-03-01T12:00:00+01:00\n".encode()
    r = load_table(data, "f.csv", kind)
    (row, column, got, why), = rejects(r)
    assert (row, column, got) == (2, header.split(",")[2], value)
    assert why.startswith(reason)
    col = S.ORDERED_AT if kind == S.ORDERS else S.CREATED_AT
    assert r.valid[col].tolist() == [pd.Timestamp("2024-03-01 11:00")]


# --- numbers: 32-bit integers and finite values ---------------------------------------------------

@pytest.mark.parametrize("column, value, reason", [
    ("order_number", "1e20", "order_number must be <= 2,147,483,647"),
    ("order_number", "2147483648", "order_number must be <= 2,147,483,647"),
    ("quantity", "1e20", "quantity must be <= 2,147,483,647"),           # used to wrap to -2**63
    ("quantity", "2147483648", "quantity must be <= 2,147,483,647"),
    ("quantity", "inf", "quantity must be a finite number"),
    ("order_number", "Infinity", "order_number must be a finite number"),
])
def test_integers_above_postgres_integer_or_non_finite_reject_the_row(column, value, reason):
    data = f"order_id,product_id,{column}\nO1,P1,{value}\nO2,P1,2147483647\n".encode()
    r = load_table(data, "o.csv", S.ORDERS)
    assert rejects(r) == [(2, column, value, reason)]
    assert r.valid[S.ORDER_ID].tolist() == ["O2"]
    assert r.valid[column].tolist() == [2_147_483_647]


@pytest.mark.parametrize("kind, header, value", [
    (S.CATALOG, "product_id,title,price", "inf"),
    (S.CATALOG, "product_id,title,price", "Infinity"),
    (S.CATALOG, "product_id,title,price", "-inf"),
    (S.CATALOG, "product_id,title,price", "1e400"),                        # overflows to inf
    (S.ORDERS, "order_id,product_id,price", "INF"),
    (S.REVIEWS, "product_id,text,rating", "inf"),
])
def test_non_finite_numbers_reject_the_row(kind, header, value):
    col = header.split(",")[2]
    r = load_table(f"{header}\nA,B,{value}\nC,D,3\n".encode(), "f.csv", kind)
    assert rejects(r) == [(2, col, value, f"{col} must be a finite number")]
    assert r.valid[col].tolist() == [3.0]


# --- report: empty files and missing values in rejects --------------------------------------------

@pytest.mark.parametrize("data", [b"product_id,title\n", b"product_id,title\r\n\r\n\r\n"])
def test_header_without_data_rows_warns(data):
    r = load_table(data, "cat.csv", S.CATALOG)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (0, 0, 0)      # a warning, not an error
    assert r.warnings == ["cat.csv: no data rows (only a header)"]


def test_file_whose_rows_are_all_malformed_does_not_claim_no_data_rows():
    r = load_table(b"product_id,title\nA,B,C\n", "cat.csv", S.CATALOG)
    assert not any("no data rows" in w for w in r.warnings) and r.rows_rejected == 1


def test_rejects_keep_missing_column_and_value_as_none_never_nan():
    # pandas 3 infers a string dtype for columns of str/None and turns None into NaN
    r = load_table(b"product_id,title,price\nA,Mug,abc\nB,Cup,1,extra\n", "cat.csv", S.CATALOG)
    assert rejects(r) == [(2, "price", "abc", "price is not a number"), (3, None, None, "expected 3 fields, found 4")]
    assert r.rejects.loc[1, "column"] is None and r.rejects.loc[1, "value"] is None
    assert str(r.rejects["row"].dtype) == "int64"
    only_malformed = load_table(b"product_id,title\nA,B,C\n", "cat.csv", S.CATALOG)
    assert only_malformed.rejects.loc[0, "value"] is None
    empty = load_table(b"product_id,title\nA,B\n", "cat.csv", S.CATALOG).rejects
    assert list(empty.columns) == list(S.REJECT_COLUMNS) and len(empty) == 0


# --- numbers: one decimal separator per column, from the evidence of all its values ---------------

def _prices(data: bytes, **choice):
    r = load_table(data, "cat.csv", S.CATALOG, **choice)
    return r, r.valid[S.PRICE].tolist()


@pytest.mark.parametrize("cells, expected, fmt", [
    # decimal comma, proven by a cell that cannot be a thousands group ('12,99', '1.234,56')
    (["12,99", "1.234,56", "9,5", "89", "2.499,00"], [12.99, 1234.56, 9.5, 89.0, 2499.0], (",", ".")),
    (["12,99", "1,250"], [12.99, 1.25], (",", None)),                  # '1,250' follows the column: 1.25
    (["1.234.567", "1.250"], [1234567.0, 1250.0], (",", ".")),         # two dot groups: dot is thousands
    (["0,750", "1,250"], [0.75, 1.25], (",", None)),                   # '0,750' is no thousands group
    # decimal point
    (["1,299.00", "12.99", "2,345.10"], [1299.0, 12.99, 2345.1], (".", ",")),
    (["12.99", "1,250"], [12.99, 1250.0], (".", ",")),                 # '1,250' follows the column: 1250
    (["1,234,567", "1.250"], [1234567.0, 1.25], (".", ",")),
    (["1234.567", "1.250"], [1234.567, 1.25], (".", None)),            # 4 digits before '.': a decimal point
    (["5", "12", ""], [5.0, 12.0, None], (".", None)),                 # nothing to decide
    (["1 234.50", "0.5"], [1234.5, 0.5], (".", " ")),                  # space groups
    (["1\u00a0234,50", "7"], [1234.5, 7.0], (",", " ")),               # no-break space groups
    (["1'234.50"], [1234.5], (".", "'")),                              # Swiss apostrophe groups
])
def test_decimal_separator_is_decided_per_column(cells, expected, fmt):
    data = "product_id;title;price\n" + "".join(f'P{i};t;"{c}"\n' for i, c in enumerate(cells))
    r, got = _prices(data.encode())
    assert got == pytest.approx([float("nan") if e is None else e for e in expected], abs=1e-9, nan_ok=True)
    assert r.number_format == {S.PRICE: {"decimal": fmt[0], "thousands": fmt[1]}}
    assert r.rows_rejected == 0
    plain = fmt == (".", None)
    assert (r.notes == []) == plain and all(n in r.warnings for n in r.notes)
    if not plain:
        assert r.notes[0].startswith("cat.csv: numbers in column 'price' read with decimal")


@pytest.mark.parametrize("cells", [
    ["1,250", "2,400", "3,999"],            # 1.25 or 1250?
    ["1.250", "2.400"],                     # 1.25 or 1250?
    ["1,250", "7"],                         # the plain 7 proves nothing
])
def test_ambiguous_price_column_is_never_guessed(cells):
    data = ("product_id\ttitle\tprice\n" + "".join(f"P{i}\tt\t{c}\n" for i, c in enumerate(cells))).encode()
    r, got = _prices(data)
    assert r.rows_loaded == len(cells) and r.rows_rejected == 0       # rows kept, nothing lost
    for c, v in zip(cells, got):
        assert (v == 7.0) if c == "7" else math.isnan(v)
    assert r.number_format[S.PRICE] == {"decimal": None, "thousands": None}
    warning, = r.warnings
    n = sum(c != "7" for c in cells)
    rows = "row 2" if n == 1 else "rows " + ", ".join(str(i + 2) for i in range(n))
    assert warning.startswith("cat.csv: column 'price': the decimal separator cannot be decided: every value "
                              "with a separator reads two ways")
    assert f"{n} value(s) on {rows} were not stored" in warning
    assert warning.endswith("Choose the decimal separator (',' or '.') and import again")
    # the user's choice then applies to every cell: the other separator groups thousands
    _, comma = _prices(data, decimal=",")
    _, point = _prices(data, decimal=".")
    assert comma == pytest.approx([float(c.replace(".", "").replace(",", ".")) for c in cells])
    assert point == pytest.approx([float(c.replace(",", "")) for c in cells])


def test_price_column_mixing_decimal_point_and_comma_is_not_stored_naming_both_rows():
    r, got = _prices(b"product_id;title;price\nA;t;3,50\nB;t;12.99\nC;t;7\n")
    assert got[:2] == [pytest.approx(float("nan"), nan_ok=True)] * 2 and got[2] == 7.0
    warning, = r.warnings
    assert ("its values mix a decimal point (row 3: '12.99') and a decimal comma (row 2: '3,50'); "
            "2 value(s) on rows 2, 3 were not stored (price was left empty on those rows)") in warning


def test_chosen_decimal_separator_rejects_the_cells_that_do_not_fit():
    r, got = _prices(b"product_id;title;price\nA;t;3,50\nB;t;12.99\nC;t;1.234,5\n", decimal=",")
    assert got == [3.5, 1234.5]
    assert rejects(r) == [(3, "price", "12.99", "price is not a number with the decimal separator ',' of this column")]
    assert r.notes == ["cat.csv: numbers in column 'price' read with decimal ',' and thousands separator '.' "
                       "(as chosen)"]


def test_ambiguous_column_takes_the_separator_the_rest_of_the_file_proves():
    # quantity '1.000' alone is 1 or 1000; the price column of the same file proves a decimal comma
    r = load_table(b"order_id;product_id;quantity;price\n1;A;1.000;12,99\n2;B;2;1,00\n", "o.csv", S.ORDERS)
    assert r.valid[S.QUANTITY].tolist() == [1000, 2]
    assert r.number_format[S.QUANTITY] == {"decimal": ",", "thousands": "."}
    assert any("column 'quantity' read with decimal ',' and thousands separator '.' (as the other numeric columns"
               in w for w in r.warnings)


def test_ambiguous_quantity_rejects_the_row_never_defaults_to_1():
    r = load_table(b'order_id,product_id,quantity\n1,A,"1,000"\n2,B,2\n3,C,\n', "o.csv", S.ORDERS)
    assert r.valid[[S.ORDER_ID, S.QUANTITY]].values.tolist() == [["2", 2], ["3", 1]]   # blank is still 1
    (row, col, value, reason), = rejects(r)
    assert (row, col, value) == (2, "quantity", "1,000")
    assert reason.startswith("quantity '1,000' reads as a different number")
    assert any("those rows were rejected" in w for w in r.warnings)


def test_rating_with_decimal_comma():
    r = load_table(b'product_id,text,rating\nA,fine,"4,5"\nB,ok,5\n', "rev.csv", S.REVIEWS)
    assert r.valid[S.RATING].tolist() == [4.5, 5.0]
    assert r.number_format == {S.RATING: {"decimal": ",", "thousands": None}}


def test_decimal_comma_is_detected_under_a_mapped_header_and_named_both_ways():
    r = load_table(b"SKU;Name;Variant Price\nA;t;1.234,56\n", "cat.csv", S.CATALOG)
    assert r.valid[S.PRICE].tolist() == [1234.56]
    assert r.notes == ["cat.csv: numbers in column 'Variant Price' (price) read with decimal ',' and thousands "
                       "separator '.' (row 2: '1.234,56')"]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"decimal": ";"}, ValueError, r"decimal must be ',' or '\.' \(or None to detect it\), got ';'"),
    ({"decimal": 1}, ValueError, r"decimal must be ',' or '\.'"),
    ({"dayfirst": "yes"}, TypeError, r"dayfirst must be a bool or None, got str"),
    ({"dayfirst": 1}, TypeError, r"dayfirst must be a bool or None, got int"),
])
def test_bad_format_choices(kwargs, error, match):
    with pytest.raises(error, match=match):
        load_table(b"product_id,title\nA,t\n", "cat.csv", S.CATALOG, **kwargs)


# --- ids mangled to scientific notation -----------------------------------------------------------

def test_ids_in_scientific_notation_are_flagged_and_kept():
    data = (b"order_id,product_id,customer_id\n"
            b"1.5E+10,6.93E+12,C1\n2,6.93E+12,1.23e+05\n3,P007,C2\n4,12E4X,C3\n5,2E5,C4\n6,6.93E+12,C5\n"
            b"7,6.93E+12,C6\n8,6.93E+12,C7\n9,6.93E+12,C8\n")
    r = load_table(data, "o.csv", S.ORDERS)
    assert r.rows_loaded == 9 and r.rows_rejected == 0                  # nothing lost
    assert r.valid[S.PRODUCT_ID].tolist()[:3] == ["6.93E+12", "6.93E+12", "P007"]
    sci = [w for w in r.warnings if "scientific notation" in w]
    assert sci == [
        "o.csv: column 'order_id': 1 id(s) look like numbers Excel turned into scientific notation "
        "(row 2 ('1.5E+10')); their digits are lost, so they will not match the other files: format the column "
        "as text in the spreadsheet, export again and re-import",
        "o.csv: column 'product_id': 6 id(s) look like numbers Excel turned into scientific notation "
        "(rows 2 ('6.93E+12'), 3 ('6.93E+12'), 7 ('6.93E+12'), 8 ('6.93E+12'), 9 ('6.93E+12'), ...); their digits "
        "are lost, so they will not match the other files: format the column as text in the spreadsheet, "
        "export again and re-import",
        "o.csv: column 'customer_id': 1 id(s) look like numbers Excel turned into scientific notation "
        "(row 3 ('1.23e+05')); their digits are lost, so they will not match the other files: format the column "
        "as text in the spreadsheet, export again and re-import"]


def test_catalog_id_in_scientific_notation_named_with_its_header():
    r = load_table(b"SKU,title\n4.01E+11,Mug\nA-1,Cup\n", "cat.csv", S.CATALOG)
    assert r.valid[S.PRODUCT_ID].tolist() == ["4.01E+11", "A-1"]
    assert r.warnings[0].startswith("cat.csv: column 'SKU' (product_id): 1 id(s) look like numbers Excel")


# --- dates: one day/month order per column --------------------------------------------------------

def _dates(cells, **choice):
    data = "order_id,product_id,ordered_at\n" + "".join(f"O{i},P,{c}\n" for i, c in enumerate(cells))
    r = load_table(data.encode(), "o.csv", S.ORDERS, **choice)
    return r, r.valid[S.ORDERED_AT].tolist()


@pytest.mark.parametrize("cells, expected, order", [
    (["03/04/2026 09:15", "25/03/2026 14:02"], ["2026-04-03 09:15", "2026-03-25 14:02"], "day-first"),
    (["3/4/2026 9:15 AM", "3/25/2026 2:02 PM"], ["2026-03-04 09:15", "2026-03-25 14:02"], "month-first"),
    (["03.04.2026", "25.03.2026"], ["2026-04-03", "2026-03-25"], "day-first"),             # German dots
    (["03-04-26", "13-04-26"], ["2026-04-03", "2026-04-13"], "day-first"),                  # 2-digit years
    (["01/02/2026", "2026-01-30", "13/02/2026T10:00Z"], ["2026-02-01", "2026-01-30", "2026-02-13 10:00"],
     "day-first"),
])
def test_one_day_month_order_per_column(cells, expected, order):
    r, got = _dates(cells)
    assert got == [pd.Timestamp(e) for e in expected]
    assert r.date_format == {S.ORDERED_AT: order} and r.rows_rejected == 0
    note, = r.notes
    assert note.startswith(f"o.csv: dates in column 'ordered_at' read {order}")


def test_numeric_dates_that_read_alike_both_ways_need_no_decision():
    r, got = _dates(["05/05/2026", "2026-01-02", "12/12/26 10:00"])
    assert got == [pd.Timestamp("2026-05-05"), pd.Timestamp("2026-01-02"), pd.Timestamp("2026-12-12 10:00")]
    assert r.date_format == {} and r.notes == [] and r.rows_rejected == 0


def test_iso_and_month_name_dates_need_no_decision():
    r, got = _dates(["2026-01-02", "Mar 4 2026", "4 March 2026 10:00"])
    assert got == [pd.Timestamp("2026-01-02"), pd.Timestamp("2026-03-04"), pd.Timestamp("2026-03-04 10:00")]
    assert r.date_format == {} and r.notes == [] and r.warnings == []


@pytest.mark.parametrize("cells, match, rows", [
    (["01/02/2026", "03/04/2026", "2026-05-06"],
     r"could be day-first or month-first \(e\.g\. '01/02/2026'\): no value shows which, on rows 2, 3;", [2, 3]),
    (["02/03/2026", "25/03/2026", "03/26/2026", "28/03/2026"],
     r"mix day-first and month-first: day-first only on rows 3, 5 \(e\.g\. '25/03/2026'\), month-first only on "
     r"row 4 \(e\.g\. '03/26/2026'\)", [3, 5, 4]),
])
def test_undecidable_dates_refuse_the_file_naming_column_and_rows(cells, match, rows):
    with pytest.raises(SchemaError, match=match) as exc:
        _dates(cells)
    assert (exc.value.file, exc.value.column) == ("o.csv", "ordered_at")
    assert str(exc.value).startswith("file 'o.csv', column 'ordered_at': the dates in 'ordered_at'")
    assert "choose the order (day-first DD/MM/YYYY or month-first MM/DD/YYYY)" in str(exc.value)


def test_undecidable_dates_under_a_mapped_header_name_the_field_too():
    with pytest.raises(SchemaError, match=r"column 'InvoiceDate': the dates in 'InvoiceDate' \(ordered_at\)"):
        load_table(b"InvoiceNo,StockCode,InvoiceDate\n1,A,01/02/2026\n", "o.csv", S.ORDERS)


def test_chosen_order_applies_and_rejects_the_dates_it_cannot_read():
    r, got = _dates(["01/02/2026", "25/03/2026", "03/26/2026"], dayfirst=True)
    assert got == [pd.Timestamp("2026-02-01"), pd.Timestamp("2026-03-25")]
    assert rejects(r) == [(4, "ordered_at", "03/26/2026",
                           "ordered_at is not a day-first date (DD/MM/YYYY, the order of this column)")]
    r, got = _dates(["01/02/2026", "11/12/2026 08:05"], dayfirst=False)
    assert got == [pd.Timestamp("2026-01-02"), pd.Timestamp("2026-11-12 08:05")]
    assert r.notes == ["o.csv: dates in column 'ordered_at' read month-first (MM/DD/YYYY): as chosen"]


@pytest.mark.parametrize("cell", ["31/02/2026", "32/01/2026", "13/13/2026", "00/01/2026"])
def test_impossible_numeric_dates_are_not_dates(cell):
    r, got = _dates(["25/03/2026", cell])
    assert got == [pd.Timestamp("2026-03-25")]
    assert rejects(r) == [(3, "ordered_at", cell, "ordered_at is not a date/time")]


def test_numeric_dates_out_of_range_are_rejected_as_before():
    r, got = _dates(["25/03/2026", "01/01/1500"])
    assert rejects(r)[0][:3] == (3, "ordered_at", "01/01/1500") and rejects(r)[0][3].startswith(
        "ordered_at is out of range")


def test_dayfirst_applies_to_review_dates_too():
    r = load_table(b"product_id,text,created_at\nA,x,01/02/2026\n", "rev.csv", S.REVIEWS, dayfirst=True)
    assert r.valid[S.CREATED_AT].tolist() == [pd.Timestamp("2026-02-01")]


# --- quantity: returns, cancellations and adjustments are stored -----------------------------------

@pytest.mark.parametrize("value, stored", [("0", 0), ("-1", -1), ("-12", -12), ("-2147483647", -2_147_483_647),
                                           ("2147483647", 2_147_483_647), ("-0", 0), ("3.0", 3)])
def test_zero_and_negative_whole_quantities_are_stored(value, stored):
    r = load_table(f"order_id,product_id,quantity\nC1,P,{value}\n".encode(), "o.csv", S.ORDERS)
    assert r.valid[S.QUANTITY].tolist() == [stored] and r.rows_rejected == 0


@pytest.mark.parametrize("value, reason", [
    ("-2147483648", "quantity must be >= -2,147,483,647"),
    ("-1e20", "quantity must be >= -2,147,483,647"),
    ("-1.5", "quantity must be a whole number"),
    ("-inf", "quantity must be a finite number"),
    ("nope", "quantity is not a number"),
])
def test_quantities_still_rejected(value, reason):
    r = load_table(f"order_id,product_id,quantity\nC1,P,{value}\nC2,P,-3\n".encode(), "o.csv", S.ORDERS)
    assert rejects(r) == [(2, "quantity", value, reason)]
    assert r.valid[S.QUANTITY].tolist() == [-3]
