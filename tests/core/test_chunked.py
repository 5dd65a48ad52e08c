"""Streamed import (issue 3 item 6): any chunk size gives what the whole file in one chunk gives.

Reports (rows, rejects with their physical rows, warnings, formats, cleaning counts), import outcomes
and the stored tables are compared between ``chunk_rows=None`` and tiny chunk sizes, on inline files
with rejected rows, quoted multi-line fields, malformed records, cancellations, duplicates, and format
evidence that only the last records carry.
"""
from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from core import schema as S
from core.errors import SchemaError
from core.ingest.clean import CleaningTally, classify_lines, cleaning_report
from core.ingest.read import read_chunks, read_table
from core.ingest.validate import TableValidator, validate_table
from core.store import load_workspace, make_engine
from core.workspace import import_files

CATALOG = (
    'product_id,title,category,description,price\n'
    'A1,Apple,fruit,"crisp,\nred",1\n'         # 2-3: quoted multi-line field
    'B2,Banana,fruit,plain,"1,5"\n'             # 4
    'A1,Apple again,fruit,dup,2\n'              # 5: duplicate of line 2
    'C3,Cherry,fruit,plain,abc\n'               # 6: price not a number
    'C3,Cherry,fruit,fixed,3\n'                 # 7: C3 kept here (line 6 was rejected)
    'D4,Date,fruit,too,many,fields\n'           # 8: malformed
    '\n'                                        # 9: blank
    'POST,Postage,fees,,0\n'                    # 10
    'E5,"Elder\nflower",drinks,x,"2,25"\n'      # 11-12: multi-line title; '2,25' proves the decimal comma
    'B2,Banana,fruit,dup again,1\n'             # 13: duplicate of line 4
).encode()

ORDERS = (
    'order_id,product_id,customer_id,quantity,price,ordered_at,note\n'
    '1,A1,ann@example.com,2,"1,0",01/02/2024,"two\nlines"\n'   # 2-3
    '1,B2,ann@example.com,1,"1,5",01/02/2024,x\n'              # 4
    'C1,A1,ann@example.com,-2,"1,0",02/02/2024,x\n'            # 5 cancellation
    '2,POST,,1,"4,95",03/02/2024,x\n'                          # 6 non-product
    '2,A1,bob,1.5,1,03/02/2024,x\n'                            # 7 quantity not whole
    '2,C3,bob,1,abc,03/02/2024,x\n'                            # 8 price not a number
    '2,C3,bob,0,1,03/02/2024,x\n'                              # 9 non-positive quantity
    '3,A1,bob,1,1,04/02/2024,x,extra\n'                        # 10 malformed
    '3,A1,bob,1,"2,5",04/02/2024,x\n'                          # 11
    '3,A1,bob,2,"2,5",04/02/2024,x\n'                          # 12 repeated in order 3
    '1,A1,ann@example.com,1,"1,0",01/02/2024,"again\nand"\n'   # 13-14 repeated in order 1, far apart
    '4,ZZ,,1,"3,0",25/02/2024,x\n'                             # 15 not in catalog; only day-first proof
    '4,E5,cid,1,,13/13/2024,x\n'                               # 16 not a date
).encode()

# a second version of the orders: order 1 unchanged (same lines), order 2 changed, order 5 new
ORDERS_V2 = (
    'order_id,product_id,customer_id,quantity,price,ordered_at,note\n'
    '1,A1,ann@example.com,2,"1,0",01/02/2024,n\n'
    '1,B2,ann@example.com,1,"1,5",01/02/2024,n\n'
    '2,B2,bob,3,"1,5",03/02/2024,n\n'
    '1,A1,ann@example.com,1,"1,0",01/02/2024,n\n'
    '5,A1,cid,1,"1,0",26/02/2024,n\n'
).encode()

SIZES = [1, 2, 3, 5]


def _stored(engine, ws="shop"):
    data = load_workspace(engine, ws)
    return data.catalog, data.orders, data.reviews


def _summary(rep):
    v, o = rep.validation, rep.outcome
    return {"rows": (v.rows_read, v.rows_loaded, v.rows_rejected), "rejects": v.rejects.to_dict("records"),
            "warnings": v.warnings, "formats": (v.number_format, v.date_format, v.notes),
            "encoding": (v.encoding, v.delimiter), "cleaning": rep.cleaning,
            "outcome": (o.skipped, o.rows_loaded, o.replaced, o.added, o.changed, o.unchanged,
                        o.unknown_products.to_dict("records"))}


def _import_all(tmp_path, chunk_rows, steps, monkeypatch):
    monkeypatch.setenv("CROSS_SELL_SALT", "fixed-salt-for-the-test")
    engine = make_engine(f"sqlite:///{tmp_path / f'db_{chunk_rows}.sqlite'}")
    out = []
    for files in steps:
        out += [_summary(r) for r in import_files(engine, "shop", files, chunk_rows=chunk_rows)]
    return out, _stored(engine)


@pytest.mark.parametrize("size", SIZES)
def test_any_chunk_size_gives_the_reports_and_rows_of_the_whole_file(tmp_path, monkeypatch, size):
    steps = [{S.CATALOG: ("c.csv", CATALOG), S.ORDERS: ("o.csv", ORDERS)},
             {S.ORDERS: ("o2.csv", ORDERS_V2)},          # re-import: orders reconciled
             {S.ORDERS: ("o2.csv", ORDERS_V2)}]          # same bytes again: skipped
    whole, stored_whole = _import_all(tmp_path, None, steps, monkeypatch)
    chunked, stored_chunked = _import_all(tmp_path, size, steps, monkeypatch)
    assert chunked == whole
    for a, b in zip(stored_chunked, stored_whole):
        pd.testing.assert_frame_equal(a, b)


def test_the_whole_file_figures_are_the_expected_ones(tmp_path, monkeypatch):
    """The reference the chunked runs are compared with, checked by hand."""
    steps = [{S.CATALOG: ("c.csv", CATALOG), S.ORDERS: ("o.csv", ORDERS)}, {S.ORDERS: ("o2.csv", ORDERS_V2)},
             {S.ORDERS: ("o2.csv", ORDERS_V2)}]
    (cat, orders, v2, again), (catalog, lines, _) = _import_all(tmp_path, 1, steps, monkeypatch)
    assert cat["rows"] == (9, 5, 4)
    assert [(r["row"], r["column"]) for r in cat["rejects"]] == [
        (5, "product_id"), (6, "price"), (8, None), (13, "product_id")]
    assert "first seen on row 2" in cat["rejects"][0]["reason"] and "row 4" in cat["rejects"][3]["reason"]
    assert "no data rows" not in " ".join(cat["warnings"])
    assert cat["formats"][0]["price"] == {"decimal": ",", "thousands": None}
    assert sorted(catalog[S.PRODUCT_ID]) == ["A1", "B2", "C3", "E5", "POST"]
    assert catalog.set_index(S.PRODUCT_ID).loc["C3", S.DESCRIPTION] == "fixed"
    assert catalog.set_index(S.PRODUCT_ID).loc["E5", S.TITLE] == "Elder\nflower"
    assert catalog.set_index(S.PRODUCT_ID).loc["E5", S.PRICE] == 2.25

    assert orders["rows"] == (13, 9, 4)
    assert [(r["row"], r["column"]) for r in orders["rejects"]] == [
        (7, "quantity"), (8, "price"), (10, None), (16, "ordered_at")]
    assert orders["formats"][1] == {"ordered_at": "day-first"}
    assert any("row 15 ('25/02/2024') can only be day-first" in w for w in orders["warnings"])
    assert orders["cleaning"] == {"lines": 9, "product": 5, "cancellation": 1, "non_positive_quantity": 1,
                                  "non_product": 1, "not_in_catalog": 1, "lines_without_customer": 0,
                                  "repeated_in_order": 2, "baskets": 2}
    assert orders["outcome"][3] == 5  # orders 1, C1, 2, 3, 4
    # order 2's two stored lines (POST, C3 x 0) replaced; added order 5, changed 2, unchanged 1
    assert v2["outcome"][2:6] == (2, 1, 1, 1)
    assert again["outcome"][0] is True
    assert sorted(set(lines[S.ORDER_ID])) == ["1", "2", "3", "4", "5", "C1"]
    assert lines[S.CUSTOMER_ID].str.contains("@").sum() == 0  # e-mail addresses hashed in every chunk


def test_outcome_counts_of_the_first_orders_import(tmp_path, monkeypatch):
    steps = [{S.CATALOG: ("c.csv", CATALOG), S.ORDERS: ("o.csv", ORDERS)}]
    (_, orders), _ = _import_all(tmp_path, 2, steps, monkeypatch)
    skipped, loaded, replaced, added, changed, unchanged, unknown = orders["outcome"]
    assert (skipped, loaded, replaced, added, changed, unchanged) == (False, 9, 0, 5, 0, 0)
    assert unknown == [{"product_id": "ZZ", "lines": 1}]


@pytest.mark.parametrize("size", [1, 2, 4])
def test_validator_chunks_equal_the_whole_file_also_when_the_proof_comes_last(size):
    data = ("product_id,title,price\n" + "".join(f"P{i},T{i},{i}.250\n" for i in range(1, 8)) + "Q,q,\"9,5\"\n").encode()
    whole = validate_table(read_table(data, "c.csv"), S.CATALOG, "c.csv")
    table = read_chunks(data, "c.csv", size)
    v = TableValidator(table.columns, S.CATALOG, "c.csv")
    for chunk in table:
        v.scan(chunk)
    v.decide()
    parts = [v.validate(chunk) for chunk in table]
    got = v.result(pd.concat(parts, ignore_index=True), table.encoding, table.delimiter)
    assert whole.number_format["price"]["decimal"] == ","  # '9,5' on the last line decides it
    assert whole.valid[S.PRICE].tolist()[:2] == [1250.0, 2250.0]  # '1.250' read with thousands '.'
    pd.testing.assert_frame_equal(got.valid, whole.valid)
    pd.testing.assert_frame_equal(got.rejects, whole.rejects)
    assert got.warnings == whole.warnings and got.notes == whole.notes
    assert max(len(p) for p in parts) <= size


def test_dates_undecidable_over_the_whole_file_are_refused_before_anything_is_written(tmp_path):
    data = b"order_id,product_id,ordered_at\n1,A,01/02/2024\n2,B,25/02/2024\n3,C,02/25/2024\n"
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with pytest.raises(SchemaError, match="mix day-first and month-first"):
        import_files(engine, "shop", {S.ORDERS: ("o.csv", data)}, chunk_rows=1)
    assert load_workspace(engine, "shop").orders.empty if _has_workspace(engine, "shop") else True


def _has_workspace(engine, name):
    from core.store import list_workspaces
    return name in set(list_workspaces(engine)["name"])


@pytest.mark.parametrize("size", [1, 2, 3])
def test_read_chunks_keep_true_line_numbers_and_malformed_reports(size):
    data = (b'product_id,description\nA1,"one\ntwo"\nB2,x,y\n\nC3,plain\nD4,"open\nE5,lost\n')
    whole = read_table(data, "c.csv")
    parts = list(read_chunks(data, "c.csv", size))
    assert np.concatenate([p.line_numbers for p in parts]).tolist() == whole.line_numbers.tolist() == [2, 6]
    assert [m for p in parts for m in p.malformed] == whole.malformed
    assert [m[0] for m in whole.malformed] == [4, 7]
    assert "never closed" in whole.malformed[-1][1]
    pd.testing.assert_frame_equal(pd.concat([p.frame for p in parts], ignore_index=True), whole.frame)


def test_gz_files_stream_and_spreadsheets_come_whole():
    data = b"order_id,product_id\n" + b"".join(b"%d,P%d\n" % (i, i % 7) for i in range(10))
    table = read_chunks(gzip.compress(data), "o.csv.gz", 3)
    parts = list(table)
    assert table.streams and [len(p.frame) for p in parts] == [3, 3, 3, 1]
    assert parts[-1].line_numbers.tolist() == [11]


def test_a_swallowing_quote_is_found_with_the_whole_files_record_shapes():
    # the multi-line record B2 swallows 'C3,Three' (a line shaped like the single-line records' ids);
    # the shapes come from A1 and D4, which sit in other chunks
    data = b'product_id,title\nA1,One\nB2,"Two\nC3,Three\nx"\nD4,Four\n'
    whole = read_table(data, "c.csv")
    assert [m[0] for m in whole.malformed] == [3]
    for size in (1, 2):
        parts = list(read_chunks(data, "c.csv", size))
        assert [m for p in parts for m in p.malformed] == whole.malformed
        assert [r for p in parts for r in p.frame["product_id"]] == ["A1", "D4"]


def test_cleaning_tally_equals_cleaning_report_on_all_lines():
    rng = np.random.default_rng(7)
    n = 300
    orders = pd.DataFrame({
        S.ORDER_ID: [("C" if rng.random() < 0.05 else "") + str(rng.integers(0, 40)) for _ in range(n)],
        S.PRODUCT_ID: [str(rng.integers(0, 25)) if rng.random() > 0.03 else "POST" for _ in range(n)],
        S.CUSTOMER_ID: [None if rng.random() < 0.2 else str(rng.integers(0, 9)) for _ in range(n)],
        S.QUANTITY: rng.integers(-1, 4, n)})
    expected = cleaning_report(classify_lines(orders), orders)
    for size in (1, 7, 64, n):
        tally = CleaningTally()
        for i in range(0, n, size):
            part = orders.iloc[i:i + size]
            tally.add(classify_lines(part), part)
        assert tally.report() == expected
    assert expected["repeated_in_order"] > 0 and expected["cancellation"] > 0


def test_chunked_import_on_each_database_matches_the_whole_file(engine, tmp_path, monkeypatch):
    """SQLite and PostgreSQL (``engine`` fixture): chunks of 2 give what one chunk gives on SQLite."""
    steps = [{S.CATALOG: ("c.csv", CATALOG), S.ORDERS: ("o.csv", ORDERS)}, {S.ORDERS: ("o2.csv", ORDERS_V2)}]
    whole, stored_whole = _import_all(tmp_path, None, steps, monkeypatch)
    got = []
    for files in steps:
        got += [_summary(r) for r in import_files(engine, "shop", files, chunk_rows=2)]
    assert got == whole
    for a, b in zip(_stored(engine), stored_whole):
        pd.testing.assert_frame_equal(a, b)


def test_cleaning_tally_classify_equals_classify_lines_and_cleaning_report():
    orders = pd.DataFrame({S.ORDER_ID: ["1", " 1", "C2", "3", "3", None, "4"],
                           S.PRODUCT_ID: ["A", "A ", "A", "POST", "B", "B", None],
                           S.CUSTOMER_ID: ["x", None, "y", "z", "z", "z", "w"],
                           S.QUANTITY: [1, 2, 1, 1, 0, 1, 1],
                           S.TITLE: ["Apple", "Apple", "Apple", "Postage", "Bread", "Bread", "x"]})
    catalog = pd.DataFrame({S.PRODUCT_ID: ["A", "B", "G"], S.TITLE: ["Apple", "Bread", "Gift voucher"]})
    expected = classify_lines(orders, catalog)
    tally = CleaningTally()
    got = pd.concat([tally.classify(orders.iloc[:3], catalog), tally.classify(orders.iloc[3:], catalog)])
    pd.testing.assert_series_equal(got, expected)
    assert tally.report() == cleaning_report(expected, orders)
    assert tally.report()["repeated_in_order"] == 1 and tally.report()["baskets"] == 1  # order None is no basket


def test_a_ragged_file_found_out_during_the_write_is_read_again_by_the_stdlib_reader(tmp_path):
    # as many delimiters as three regular lines, but one line has a field too many and one too few:
    # pass 1 reads only the quantity column and passes; pass 2 sees the extra column, rolls back and
    # starts again with the stdlib reader
    data = b"order_id,product_id,quantity\n1,A,2,9\n2,B\n3,C,1\n"
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    rep = import_files(engine, "w", {S.ORDERS: ("o.csv", data)}, chunk_rows=2)[0]
    assert rep.validation.rows_read == 3 and rep.validation.rows_loaded == 1
    assert rep.validation.rejects[["row", "reason"]].values.tolist() == [
        [2, "expected 3 fields, found 4"], [3, "expected 3 fields, found 2"]]
    assert load_workspace(engine, "w").orders[S.PRODUCT_ID].tolist() == ["C"]


@pytest.mark.parametrize("chunk_rows, error, match", [
    (0, ValueError, "chunk_rows must be >= 1, got 0"),
    (-5, ValueError, "chunk_rows must be >= 1"),
    (2.5, TypeError, "chunk_rows must be an int or None, got float"),
    (True, TypeError, "chunk_rows must be an int or None, got bool"),
    ("10", TypeError, "chunk_rows must be an int or None, got str"),
])
def test_bad_chunk_sizes_are_refused(chunk_rows, error, match):
    with pytest.raises(error, match=match):
        read_chunks(b"order_id,product_id\n1,A\n", "o.csv", chunk_rows)


def test_a_spreadsheet_comes_as_one_chunk_whatever_the_chunk_size():
    import io

    buf = io.BytesIO()
    pd.DataFrame({"order_id": ["1", "2", "3"], "product_id": ["A", "B", "C"]}).to_excel(buf, index=False)
    table = read_chunks(buf.getvalue(), "o.xlsx", 1)
    parts = list(table)
    assert not table.streams and len(parts) == 1 and parts[0].line_numbers.tolist() == [2, 3, 4]
