"""core.ingest.read: decoding, delimiter sniffing, physical line numbers, header checks.

Line numbers are physical lines of the file with the header on line 1; a record spanning several
lines is reported at the line where it starts.
"""
from __future__ import annotations

import codecs
import gzip
import io
import json
import zipfile

import pytest

from core.errors import SchemaError
from core.ingest.read import _UTF8_MULTIBYTE, read_table


# --- delimiters -----------------------------------------------------------------------------------

@pytest.mark.parametrize("data, delimiter", [
    (b"product_id,title,price\nA1,Mug,3.50\nB2,Cup,4\n", ","),
    (b"product_id;title;price\nA1;Mug;3,50\nB2;Cup;4\n", ";"),
    (b"product_id\ttitle\tprice\nA1\tMug\t3.50\nB2\tCup\t4\n", "\t"),
    (b"product_id|title|price\nA1|Mug|3.50\nB2|Cup|4\n", "|"),
])
def test_delimiter_is_sniffed(data, delimiter):
    r = read_table(data, "catalog.csv")
    assert r.delimiter == delimiter
    assert list(r.frame.columns) == ["product_id", "title", "price"]
    assert r.frame.values.tolist() == [["A1", "Mug", "3.50" if delimiter != ";" else "3,50"], ["B2", "Cup", "4"]]
    assert r.line_numbers.tolist() == [2, 3]


def test_semicolon_file_with_commas_inside_values_is_still_semicolon():
    # 3 ';' on every line, commas only inside the (decimal-comma) prices and one title
    data = b"product_id;title;price;brand\nA1;Mug, large;3,50;Clay\nB2;Cup;4,00;Glass\n"
    r = read_table(data, "catalog.csv")
    assert r.delimiter == ";"
    assert r.frame.loc[0, "title"] == "Mug, large"
    assert r.frame.loc[1, "price"] == "4,00"


def test_excel_sep_line_sets_delimiter_and_is_not_a_header():
    # line 1: sep=;  line 2: header  line 3, 4: records
    data = b"sep=;\r\nproduct_id;title\r\nA1;Mug\r\nB2;Cup\r\n"
    r = read_table(data, "catalog.csv")
    assert r.delimiter == ";"
    assert list(r.frame.columns) == ["product_id", "title"]
    assert r.frame["product_id"].tolist() == ["A1", "B2"]
    assert r.line_numbers.tolist() == [3, 4]


def test_excel_sep_line_reports_malformed_rows_at_physical_lines():
    # sep line 1, header 2, good 3, bad (3 fields) 4, good 5
    data = b"sep=,\nproduct_id,title\nA1,Mug\nB2,Cup,extra\nC3,Bowl\n"
    r = read_table(data, "catalog.csv")
    assert r.frame["product_id"].tolist() == ["A1", "C3"]
    assert r.line_numbers.tolist() == [3, 5]
    assert r.malformed == [(4, "expected 2 fields, found 3")]


# --- encodings ------------------------------------------------------------------------------------

def test_utf8_bom_is_removed_from_the_first_header():
    data = codecs.BOM_UTF8 + "product_id,title\nA1,Crème brûlée set\n".encode("utf-8")
    r = read_table(data, "catalog.csv")
    assert r.encoding == "utf-8-sig"
    assert list(r.frame.columns) == ["product_id", "title"]
    assert r.frame.loc[0, "product_id"] == "A1"
    assert r.frame.loc[0, "title"] == "Crème brûlée set"


def test_plain_utf8_is_reported_as_utf8():
    r = read_table("title\nCrème\n".encode("utf-8"), "catalog.csv")
    assert r.encoding == "utf-8"
    assert r.frame.loc[0, "title"] == "Crème"


@pytest.mark.parametrize("data, expected", [
    (b"title\ncaf\xe9\n", "café"),          # 0xE9 is é in Windows-1252, invalid alone in UTF-8
    (b"title\n\x8010 off\n", "€10 off"),    # 0x80 is the euro sign in Windows-1252
    (b"title\nna\xefve \x96 crisp\n", "naïve – crisp"),  # 0xEF ï, 0x96 en dash
])
def test_cp1252_fallback(data, expected):
    r = read_table(data, "catalog.csv")
    assert r.encoding == "cp1252"
    assert r.frame.loc[0, "title"] == expected


@pytest.mark.parametrize("data, line, byte", [
    # UTF-8 'Café' on line 2, then a Windows-1252 0xE9 pasted into line 3
    ("product_id,title\nA1,Café\n".encode() + b"B2,Caf\xe9\n", 3, "0xE9"),
    # with a BOM; the stray byte (0x92, a cp1252 apostrophe) is on line 4
    (codecs.BOM_UTF8 + "product_id,title\nA1,Crème\nB2,ok\n".encode() + b"C3,It\x92s\n", 4, "0x92"),
    # the bad byte comes before the first valid multi-byte sequence: still UTF-8, still line 2
    (b"title\nna\xefve\n" + "déjà vu\n".encode(), 2, "0xEF"),
])
def test_utf8_file_with_a_stray_invalid_byte_is_refused_naming_line_and_byte(data, line, byte):
    # decoding the whole file as cp1252 would store 'CafÃ©' silently
    with pytest.raises(SchemaError, match=rf"row {line}: is UTF-8 text with an invalid byte {byte} on this line") as exc:
        read_table(data, "catalog.csv")
    assert (exc.value.file, exc.value.row) == ("catalog.csv", line)


def test_utf16_with_bom():
    data = "product_id\ttitle\nA1\tMug\n".encode("utf-16")  # BOM + UTF-16 (Excel "Unicode text")
    r = read_table(data, "catalog.txt")
    assert r.encoding == "utf-16"
    assert r.delimiter == "\t"
    assert r.frame.values.tolist() == [["A1", "Mug"]]


def test_bytes_that_are_neither_utf8_nor_cp1252_name_the_line():
    # 0x81 is undefined in Windows-1252 and invalid in UTF-8; it sits on physical line 3
    data = b"title\nfine\nbad \x81 byte\n"
    with pytest.raises(SchemaError, match=r"row 3: is neither UTF-8 nor Windows-1252") as exc:
        read_table(data, "catalog.csv")
    assert exc.value.row == 3
    assert exc.value.file == "catalog.csv"


# GB18030 is chosen by evidence only: Chinese text is runs of two-byte characters; cp1252 text has
# single accented bytes between ASCII letters (and 'naïve' is valid GB18030 too: \xef'v' is one character)
_GB = ("product_id,title,category,price\nCN-1,不锈钢保温杯 500毫升,厨房 > 水杯,59.00\n"
       "CN-2,竹制砧板（大号）,厨房 > 刀具,89.50\nCN-3,Cotton towel,家居,12\n")


def test_gb18030_chinese_text_is_decoded_and_reported():
    r = read_table(_GB.encode("gb18030"), "catalog.csv")
    assert r.encoding == "gb18030"
    assert r.frame["title"].tolist() == ["不锈钢保温杯 500毫升", "竹制砧板（大号）", "Cotton towel"]
    assert r.frame["category"].tolist() == ["厨房 > 水杯", "厨房 > 刀具", "家居"]
    assert "\ufffd" not in "".join(r.frame.to_numpy().ravel())


def test_gb18030_file_that_also_holds_accidental_utf8_sequences():
    # GB bytes such as \xce\xa2 (微) are valid UTF-8 two-byte sequences too; the file is still GB18030
    text = "product_id,title\nA1,微波炉专用饭盒\nA2,微型电风扇\n"
    assert _UTF8_MULTIBYTE.search(text.encode("gb18030"))
    r = read_table(text.encode("gb18030"), "catalog.csv")
    assert (r.encoding, r.frame["title"].tolist()) == ("gb18030", ["微波炉专用饭盒", "微型电风扇"])


@pytest.mark.parametrize("text", [
    "title\nnaïve – crisp\nCafé crème\n",       # single accented bytes: valid GB18030 bytes, not Chinese
    "title\nMÜLLER ÖL\nGRÖSSE XL\n",             # upper-case umlauts next to ASCII letters
    "title\nFaçade «été»\nÆble\n",
])
def test_western_cp1252_text_is_not_taken_for_gb18030(text):
    r = read_table(text.encode("cp1252"), "catalog.csv")
    assert r.encoding == "cp1252"
    assert "\n".join(r.frame["title"]) + "\n" == text.split("\n", 1)[1]


def test_utf8_with_a_stray_byte_is_still_refused_when_it_could_decode_as_gb18030():
    # every byte pair here is valid GB18030, but most non-ASCII bytes form valid UTF-8: a UTF-8 file
    data = "product_id,title\nA1,Crème brûlée\nA2,Pâté\n".encode() + b"A3,It\x92s\n"
    with pytest.raises(SchemaError, match=r"row 4: is UTF-8 text with an invalid byte 0x92"):
        read_table(data, "catalog.csv")


# --- line numbers, multi-line fields and malformed rows ----------------------------------------

def test_quoted_multiline_field_is_reported_at_its_starting_line():
    # line 1 header; record A1 spans lines 2-4; B2 on 5; C3 spans 6-7
    data = (b'product_id,title,description\n'
            b'A1,Mug,"<p>line one</p>\n<p>line two</p>\n<p>line three</p>"\n'
            b'B2,Cup,plain\n'
            b'C3,Bowl,"two\r\nlines"\n')
    r = read_table(data, "catalog.csv")
    assert r.frame["product_id"].tolist() == ["A1", "B2", "C3"]
    assert r.line_numbers.tolist() == [2, 5, 6]
    assert r.frame.loc[0, "description"] == "<p>line one</p>\n<p>line two</p>\n<p>line three</p>"
    assert r.frame.loc[2, "description"] == "two\r\nlines"
    assert r.malformed == []


def test_malformed_rows_are_reported_by_line_and_good_rows_kept():
    # header 1; A1 2; B2 has 4 fields on 3; C3 (multi-line) 4-5; D4 has 2 fields on 6; E5 on 7
    data = (b"product_id,title,price\n"
            b"A1,Mug,3\n"
            b"B2,Cup, large,4\n"
            b'C3,Bowl,"5\n"\n'
            b"D4,Plate\n"
            b"E5,Jug,7\n")
    r = read_table(data, "catalog.csv")
    assert r.frame["product_id"].tolist() == ["A1", "C3", "E5"]
    assert r.line_numbers.tolist() == [2, 4, 7]
    assert r.malformed == [(3, "expected 3 fields, found 4"), (6, "expected 3 fields, found 2")]


@pytest.mark.parametrize("data, kept, line", [
    # line 3 opens a quote that never closes: the rest of the file would become one cell
    (b'product_id,description\nA1,ok\nB2,"<p>never closed\nC3,lost\nD4,lost too\n', ["A1"], 3),
    (b'sep=;\nproduct_id;description\nA1;ok\nB2;"open\nC3;x\n', ["A1"], 4),
])
def test_unterminated_quote_in_the_last_record_is_reported_not_swallowed(data, kept, line):
    r = read_table(data, "catalog.csv")
    assert r.frame["product_id"].tolist() == kept
    assert [m[0] for m in r.malformed] == [line]
    assert "never closed" in r.malformed[0][1]
    assert not any("lost" in str(v) or "C3" in str(v) for v in r.frame.to_numpy().ravel())


def test_closed_multiline_quote_in_the_last_record_is_fine():
    r = read_table(b'product_id,description\nA1,ok\nB2,"two\nlines"\n', "catalog.csv")
    assert r.frame["description"].tolist() == ["ok", "two\nlines"] and r.malformed == []


def test_blank_lines_are_skipped_and_line_numbers_stay_physical():
    data = b"product_id,title\n\nA1,Mug\n\n\nB2,Cup\n"
    r = read_table(data, "catalog.csv")
    assert r.frame["product_id"].tolist() == ["A1", "B2"]
    assert r.line_numbers.tolist() == [3, 6]
    assert r.malformed == []


def test_cells_stay_text_leading_zeros_and_spelling_kept():
    r = read_table(b"product_id,price,rating\n007,5,4.0\n0042,1e3,\n", "catalog.csv")
    assert r.frame["product_id"].tolist() == ["007", "0042"]
    assert r.frame["price"].tolist() == ["5", "1e3"]
    assert r.frame["rating"].tolist() == ["4.0", ""]


def test_header_only_file_gives_an_empty_frame_with_the_columns():
    r = read_table(b"product_id,title\n", "catalog.csv")
    assert list(r.frame.columns) == ["product_id", "title"]
    assert len(r.frame) == 0 and len(r.line_numbers) == 0


# --- compressed uploads ---------------------------------------------------------------------------

def test_gzip_upload_is_unwrapped():
    r = read_table(gzip.compress(b"product_id;title\nA1;Mug\n"), "catalog.csv.gz")
    assert r.delimiter == ";"
    assert r.frame.values.tolist() == [["A1", "Mug"]]


def test_zip_upload_with_one_member_is_unwrapped():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("export/catalog.csv", "product_id,title\nA1,Mug\n")
    r = read_table(buf.getvalue(), "catalog.zip")
    assert r.frame.values.tolist() == [["A1", "Mug"]]


# --- bad inputs -----------------------------------------------------------------------------------

def _zip(*names):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n in names:
            zf.writestr(n, "a,b\n1,2\n")
    return buf.getvalue()


@pytest.mark.parametrize("data, name, match", [
    (b"", "catalog.csv", r"file 'catalog.csv': is empty"),
    (b"  \r\n\n\t\n", "catalog.csv", r"is empty"),
    (codecs.BOM_UTF8, "catalog.csv", r"is empty"),
    (b"product_id,title,product_id\nA,B,C\n", "catalog.csv", r"row 1: duplicated column name\(s\) in the header: product_id"),
    (b"SKU,title,sku\nA,B,C\n", "catalog.csv", r"duplicated column name\(s\) in the header: SKU, sku"),
    (b'"price" ,title, price\n1,B,2\n', "catalog.csv", r"duplicated column name\(s\) in the header: price"),
    (b"product_id,,title\nA,B,C\n", "catalog.csv", r"row 1: header has an empty column name at position\(s\) \[2\]"),
    (_zip("a.csv", "b.csv"), "both.zip", r"file 'both.zip': a .zip upload must hold exactly one file, found 2"),
])
def test_bad_inputs_raise_schema_error(data, name, match):
    with pytest.raises(SchemaError, match=match):
        read_table(data, name)


def test_duplicated_header_error_carries_file_and_row():
    with pytest.raises(SchemaError) as exc:
        read_table(b"title,Title\nA,B\n", "cat.csv")
    assert (exc.value.file, exc.value.row) == ("cat.csv", 1)
    assert "Title, title" in str(exc.value)


def test_text_instead_of_bytes_is_a_type_error():
    with pytest.raises(TypeError, match="data must be bytes, got str"):
        read_table("product_id\nA\n", "catalog.csv")


# --- shared case 01: BOM(s) and quoted headers ----------------------------------------------------

@pytest.mark.parametrize("file, first_column, first_value", [
    ("catalog.csv", "product_id", "HK-1001"),   # BOM directly before the first quote, CRLF
    ("reviews.csv", "SKU", "HK-1001"),          # quoted synonym header
    ("orders.csv", "order_id", "SO-501"),       # BOM written twice
])
def test_case01_headers_lose_bom_and_quotes(shared_case, file, first_column, first_value):
    folder = shared_case("01-bom-quoted-headers")
    r = read_table((folder / file).read_bytes(), file)
    for col in r.frame.columns:
        assert "\ufeff" not in col and '"' not in col and col == col.strip()
    assert r.frame.columns[0] == first_column
    assert r.frame.iloc[0, 0] == first_value
    assert r.delimiter == ","


# --- shared case 04: multi-line HTML, broken escaping, unterminated quote ------------------------

def test_case04_multiline_ok(shared_case):
    folder = shared_case("04-multiline-html-descriptions")
    expect = json.loads((folder / "case.json").read_text())["expect"]["per_file"]["catalog_multiline_ok.csv"]
    r = read_table((folder / "catalog_multiline_ok.csv").read_bytes(), "catalog_multiline_ok.csv")
    assert len(r.frame) == expect["rows_loaded"] == 6
    assert r.malformed == []
    # WC-501 lines 2-6, WC-502 7-8, WC-503 9, WC-504 10-13, WC-505 14, WC-506 15-16
    assert r.line_numbers.tolist() == [2, 7, 9, 10, 14, 15]
    desc = dict(zip(r.frame["product_id"], r.frame["description"]))
    assert desc["WC-502"] == expect["values"]["product_id=WC-502.description"]
    assert desc["WC-503"] == expect["values"]["product_id=WC-503.description"]
    for pid, needles in expect["description_contains"].items():
        for needle in needles:
            assert needle in desc[pid], (pid, needle)
    assert dict(zip(r.frame["product_id"], r.frame["title"]))["WC-502"] == "Walnut Spice Rack, 12 Jars"


def test_case04_bad_escaping_rejects_lines_5_and_7_without_shifting_columns(shared_case):
    folder = shared_case("04-multiline-html-descriptions")
    expect = json.loads((folder / "case.json").read_text())["expect"]["per_file"]["catalog_bad_escaping.csv"]
    r = read_table((folder / "catalog_bad_escaping.csv").read_bytes(), "catalog_bad_escaping.csv")
    assert r.frame["product_id"].tolist() == expect["loaded_ids"] == ["WC-601", "WC-602", "WC-604"]
    assert r.malformed == [(rej["line"], f"expected {rej['fields_expected']} fields, found {rej['fields_found']}")
                           for rej in expect["rejected"]]
    assert r.malformed == [(5, "expected 6 fields, found 7"), (7, "expected 6 fields, found 8")]
    assert r.frame["brand"].tolist() == ["Ofenwerk"] * 3
    assert r.frame["price"].tolist() == ["29.90", "6.90", "8.40"]


def test_case04_unterminated_quote_never_stores_swallowed_text(shared_case):
    folder = shared_case("04-multiline-html-descriptions")
    r = read_table((folder / "catalog_unterminated_quote.csv").read_bytes(), "catalog_unterminated_quote.csv")
    # WC-702 (line 3) opens a quote that swallows WC-703's line: one 7-field record starting on line 3
    assert [line for line, _ in r.malformed] == [3]
    ids = r.frame["product_id"].tolist()
    assert "WC-702" not in ids and len(ids) <= 3
    assert set(ids) <= {"WC-701", "WC-703", "WC-704"}
    for d in r.frame["description"]:
        assert "WC-703" not in d and "WC-704" not in d


# --- long cells and corrupt containers ------------------------------------------------------------

def test_cell_longer_than_the_csv_module_default_limit_loads():
    # csv's default field_size_limit (131,072 characters) used to refuse the whole file
    big = "<p>" + "x" * 200_000 + "</p>"
    data = f'product_id,description\nA1,{big}\nB2,"{big}\nsecond line"\nC3,short\n'.encode()
    r = read_table(data, "catalog.csv")
    assert r.frame["product_id"].tolist() == ["A1", "B2", "C3"] and r.malformed == []
    assert r.frame.loc[0, "description"] == big
    assert r.frame.loc[1, "description"] == big + "\nsecond line"


def _corrupt_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("catalog.csv", "product_id,title\n" + "A1,Mug\n" * 1000)
    data = bytearray(buf.getvalue())
    data[60:80] = b"\0" * 20  # inside the deflated member
    return bytes(data)


def _parquet_garbage() -> bytes:
    import pandas as pd

    buf = io.BytesIO()
    pd.DataFrame({"product_id": range(100)}).to_parquet(buf)
    data = bytearray(buf.getvalue())
    data[20:60] = b"\xff" * 40
    return bytes(data)


_GZ = gzip.compress(b"product_id,title\nA1,Mug\n")


@pytest.mark.parametrize("data, name, match", [
    (b"not gzip at all", "catalog.csv.gz", r"^file 'catalog.csv.gz': is not a valid gzip file: Not a gzipped file"),
    (_GZ[:-10], "catalog.csv.gz", r"is not a valid gzip file: Compressed file ended before"),   # truncated
    (_GZ[:-4] + b"\0\0\0\0", "catalog.csv.gz", r"is not a valid gzip file: Incorrect length"),  # bad trailer
    (b"PK\x03\x04garbage", "catalog.zip", r"^file 'catalog.zip': is not a valid zip file: File is not a zip file"),
    (_corrupt_zip(), "catalog.zip", r"is not a valid zip file: Error -3 while decompressing"),
    (b"garbage", "catalog.xlsx", r"^file 'catalog.xlsx': is not a valid Excel .xlsx file: File is not a zip file"),
    (_zip("a.csv"), "catalog.xlsx", r"is not a valid Excel .xlsx file: .*Content_Types"),        # zip, no workbook
    (b"garbage", "catalog.parquet", r"^file 'catalog.parquet': is not a valid Parquet file"),
    (_parquet_garbage(), "catalog.parquet", r"is not a valid Parquet file"),
])
def test_corrupt_container_bytes_raise_schema_error_naming_the_file(data, name, match):
    with pytest.raises(SchemaError, match=match) as exc:
        read_table(data, name)
    assert exc.value.file == name


# --- spreadsheet and Parquet numbers as text ------------------------------------------------------

def test_parquet_float_ids_with_nulls_keep_their_integer_spelling():
    import pandas as pd

    # a numeric id column with a null arrives as float64: 7.0 must read '7', never '7.0'
    frame = pd.DataFrame({"product_id": [7, None, 8, 7.5], "title": ["a", "b", "c", "d"],
                          "price": [1.0, 2.5, None, 3.0]})
    buf = io.BytesIO()
    frame.to_parquet(buf)
    r = read_table(buf.getvalue(), "catalog.parquet")
    assert r.frame.values.tolist() == [["7", "a", "1"], [None, "b", "2.5"], ["8", "c", None], ["7.5", "d", "3"]]


def test_parquet_float32_and_big_integral_floats():
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame({"a": np.array([0.1, 2.0], dtype=np.float32), "b": [1e20, -0.0]})
    buf = io.BytesIO()
    frame.to_parquet(buf)
    r = read_table(buf.getvalue(), "x.parquet")
    assert r.frame.values.tolist() == [["0.1", "100000000000000000000"], ["2", "0"]]


def test_xlsx_numeric_cells_read_as_their_integer_or_decimal_text():
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["product_id", "title", "price"])
    for row in ([7, "a", 7.5], [None, "b", None], [8.0, "c", 3], ["007", "d", 12.25]):
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    r = read_table(buf.getvalue(), "catalog.xlsx")
    assert r.frame.values.tolist() == [["7", "a", "7.5"], [None, "b", None], ["8", "c", "3"], ["007", "d", "12.25"]]
    assert r.line_numbers.tolist() == [2, 3, 4, 5]


# --- unclosed quote in the middle of the file ----------------------------------------------------

@pytest.mark.parametrize("data, kept, line, why", [
    # line 3 opens a quote; the lenient reader closes it at the '"' before Four, merging lines 3-5
    (b'product_id,title\nA1,One\nA2,"Two\nA3,Three\nA4,"Four"\nA5,Five\n', ["A1", "A5"], 3,
     "a closing quote is followed by more text"),
    # the merge is even valid RFC 4180 here; line 4 on its own is a record shaped like A1/A5
    (b'product_id,title\nA1,One\nA2,"Two\nA3,Three\nA4,Four"\nA5,Five\n', ["A1", "A5"], 3,
     "line 4 reads as a record of its own"),
    (b'product_id;title;price\nSKU-1;One;1\nSKU-2;"Two;2\nSKU-3;Three;3\nSKU-4;Four";4\nSKU-5;Five;5\n',
     ["SKU-1", "SKU-5"], 3, "line 4 reads as a record of its own"),
])
def test_unclosed_quote_mid_file_is_reported_not_merged(data, kept, line, why):
    r = read_table(data, "catalog.csv")
    assert r.frame["product_id"].tolist() == kept
    assert len(r.malformed) == 1 and r.malformed[0][0] == line
    assert r.malformed[0][1].startswith(f"possible unclosed quote starting on line {line}")
    assert why in r.malformed[0][1]
    assert not any("Three" in str(v) for v in r.frame.to_numpy().ravel())


def test_unclosed_quote_mid_file_via_load_table_counts():
    from core.ingest import load_table

    r = load_table(b'product_id,title\nA1,One\nA2,"Two\nA3,Three\nA4,"Four"\nA5,Five\n', "c.csv", "catalog")
    assert (r.rows_loaded, r.rows_rejected) == (2, 1)
    assert r.rejects["row"].tolist() == [3]


@pytest.mark.parametrize("data", [
    # legitimate multi-line cells: a continuation line with the header's field count but prose first
    b'product_id,description\nA1,"Dimensions, in cm\nHeight, 20\nWidth, 30"\nB2,plain\n',
    # a continuation line that starts like an id but has the wrong field count
    b'product_id,title,description\nA1,Mug,"see\nA2,too"\nA3,Cup,ok\n',
    # doubled quotes inside a multi-line cell
    b'product_id,description\nA1,"say ""hi""\nand ""bye"""\nB2,x\n',
])
def test_legitimate_multiline_cells_are_not_flagged(data):
    r = read_table(data, "catalog.csv")
    assert r.malformed == [] and r.frame["product_id"].tolist()[0] == "A1"
