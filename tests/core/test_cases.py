"""Every reading/validation file case in shared/cases/ behaves as its case.json says.

One parametrized test per file: the file's bytes are checked against the sha256 in case.json
first (a mismatch means an editor or git altered the file), then the file is read and validated
and compared with ``expect``: outcome (or one of ``allowed_outcomes``), rows loaded and rejected,
the delimiter, stored values (``null`` = missing, numbers with abs tol 1e-6, datetimes in ISO 8601),
and the words and physical line numbers the user-facing message must contain.

Outcome of a file, as the user sees it:

* ``error``: :class:`~core.errors.SchemaError` (the file is refused; the message is the error);
* ``ok_with_warnings``: loaded, with rejected rows or a warning that asks for something;
* ``ok``: loaded, nothing rejected, and the only warnings are ``ValidationResult.notes`` (reports
  of a detected number or date format, e.g. "read with decimal ','"; they ask nothing of the user).

Cleaning (cancellations, non-product lines, baskets, affinities) is not checked here: for case 11
only what reading and validation do (mapping, lines read and stored) is asserted.
"""
from __future__ import annotations

import hashlib
import json
import re

import pandas as pd
import pytest

from core import schema as S
from core.errors import SchemaError
from core.ingest import load_table, read_table, validate_table

FILES = [
    ("01-bom-quoted-headers", "catalog.csv"),
    ("01-bom-quoted-headers", "reviews.csv"),
    ("01-bom-quoted-headers", "orders.csv"),
    ("02-delimiters-decimal-commas", "catalog_de_semicolon.csv"),
    ("02-delimiters-decimal-commas", "catalog_en_quoted.csv"),
    ("02-delimiters-decimal-commas", "catalog_ambiguous_price.csv"),
    ("02-delimiters-decimal-commas", "catalog_sep_hint.csv"),
    ("04-multiline-html-descriptions", "catalog_multiline_ok.csv"),
    ("04-multiline-html-descriptions", "catalog_bad_escaping.csv"),
    ("04-multiline-html-descriptions", "catalog_unterminated_quote.csv"),
    ("08-ambiguous-dates", "orders_dmy.csv"),
    ("08-ambiguous-dates", "orders_mdy.csv"),
    ("08-ambiguous-dates", "orders_ambiguous.csv"),
    ("08-ambiguous-dates", "orders_conflicting.csv"),
    ("11-online-retail-quirks", "catalog.csv"),
    ("11-online-retail-quirks", "orders_online_retail.csv"),
    ("12-rare-items-and-apriori-blowup", "catalog.csv"),
    ("12-rare-items-and-apriori-blowup", "orders_rare_pair.csv"),
    ("15-nan-numeric-empty-text", "reviews_mixed.csv"),
    ("15-nan-numeric-empty-text", "reviews_numeric_only.csv"),
    ("15-nan-numeric-empty-text", "reviews_header_only.csv"),
    ("18-cache-staleness-and-widget-state", "catalog.csv"),
    ("18-cache-staleness-and-widget-state", "upload_a/orders.csv"),
    ("18-cache-staleness-and-widget-state", "upload_b/orders.csv"),
]

# Files whose case.json states no per-file reading expectation: what its descriptions and figures imply.
IMPLIED = {
    # "10 products in 4 top-level categories"
    ("11-online-retail-quirks", "catalog.csv"): {"outcome": "ok", "rows_loaded": 10, "rows_rejected": 0},
    # the 9 products of the pair figures (TE-01/02, MU-01/02, ES-01/02, BK-01, GL-901/902)
    ("12-rare-items-and-apriori-blowup", "catalog.csv"): {"outcome": "ok", "rows_loaded": 9, "rows_rejected": 0},
    # KT-01/02, TE-01/02, GD-01/02, OD-01/02 (the ids the two uploads swap)
    ("18-cache-staleness-and-widget-state", "catalog.csv"): {"outcome": "ok", "rows_loaded": 8, "rows_rejected": 0},
    # "8 two-item orders"
    ("18-cache-staleness-and-widget-state", "upload_a/orders.csv"): {"outcome": "ok", "rows_loaded": 16,
                                                                     "rows_rejected": 0, "n_orders": 8},
    ("18-cache-staleness-and-widget-state", "upload_b/orders.csv"): {"outcome": "ok", "rows_loaded": 16,
                                                                     "rows_rejected": 0, "n_orders": 8},
}


def _spec(folder) -> dict:
    return json.loads((folder / "case.json").read_text(encoding="utf-8"))


def _checked_bytes(folder, spec: dict, file: str) -> bytes:
    entry = next(f for f in spec["files"] if f["path"] == file)
    data = (folder / file).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"] or len(data) != entry["bytes"]:
        pytest.fail(f"{spec['id']}/{file} was altered: sha256 {digest} ({len(data)} bytes), case.json says "
                    f"{entry['sha256']} ({entry['bytes']} bytes); restore it (build_cases.py) before testing")
    return data


def _expect(spec: dict, case: str, file: str) -> dict:
    exp = spec["expect"]
    if file in exp.get("per_file", {}):
        return exp["per_file"][file]
    if file in exp:                                   # case 12: expect[file]
        return exp[file]
    if (case, file) in IMPLIED:
        return IMPLIED[(case, file)]
    if "outcome" in exp:                              # case 11: the orders file's expectation is top-level
        return exp
    raise AssertionError(f"no expectation for {case}/{file}")


def _kind(spec: dict, file: str) -> str:
    return next(f["kind"] for f in spec["files"] if f["path"] == file)


class Outcome:
    """A file read and validated: the result, or the SchemaError that refused it."""

    def __init__(self, data: bytes, file: str, kind: str, **choice):
        self.read = read_table(data, file)
        self.result, self.error = None, None
        try:
            self.result = validate_table(self.read, kind, file, **choice)
        except SchemaError as exc:
            self.error = exc

    @property
    def outcome(self) -> str:
        if self.error is not None:
            return "error"
        r = self.result
        asks = [w for w in r.warnings if w not in r.notes]
        return "ok_with_warnings" if r.rows_rejected or asks else "ok"

    @property
    def message(self) -> str:
        """Everything the user reads about the file: the error, or the warnings and reject reasons."""
        if self.error is not None:
            return str(self.error)
        r = self.result
        return "\n".join([*r.warnings, *(f"row {x.row}: {x.reason}" for x in r.rejects.itertuples())])

    def lines_reported(self) -> set[int]:
        found = {int(n) for n in re.findall(r"\d+", self.message)}
        if self.result is not None:
            found |= set(int(x) for x in self.result.rejects["row"])
        return found


def _rows(valid: pd.DataFrame, where: str) -> pd.Series:
    mask = pd.Series(True, index=valid.index)
    for cond in where.split("&"):
        col, val = cond.split("=", 1)
        mask &= valid[col] == val
    return mask


def _assert_value(valid: pd.DataFrame, key: str, expected):
    where, col = key.rsplit(".", 1)
    mask = _rows(valid, where)
    assert mask.sum() == 1, f"{key}: {int(mask.sum())} stored rows match {where!r}"
    got = valid.loc[mask, col].iloc[0]
    if expected is None:
        assert got is None or pd.isna(got), f"{key}: expected missing, got {got!r}"
    elif col in (S.ORDERED_AT, S.CREATED_AT):
        assert got == pd.Timestamp(expected), f"{key}: {got!r} != {expected}"
    elif isinstance(expected, (int, float)) and not isinstance(expected, bool):
        assert got == pytest.approx(expected, abs=1e-6), f"{key}: {got!r} != {expected}"
    else:
        assert got == expected, f"{key}: {got!r} != {expected!r}"


@pytest.mark.parametrize("case, file", FILES, ids=[f"{c[:2]}/{f}" for c, f in FILES])
def test_file_case(shared_case, case, file):
    folder = shared_case(case)
    spec = _spec(folder)
    data = _checked_bytes(folder, spec, file)
    exp = _expect(spec, case, file)
    got = Outcome(data, file, _kind(spec, file))

    allowed = exp.get("allowed_outcomes", [exp["outcome"]])
    assert exp["outcome"] in allowed
    assert got.outcome in allowed, f"{file}: outcome {got.outcome!r}, case allows {allowed}: {got.message}"
    if "delimiter_detected" in exp:
        assert got.read.delimiter == exp["delimiter_detected"]

    message = got.message.lower()
    for word in exp.get("message_mentions", []):
        assert word.lower() in message, f"{word!r} not in {got.message!r}"
    if "message_mentions_any" in exp:
        assert any(w.lower() in message for w in exp["message_mentions_any"]), got.message
    missing_lines = set(exp.get("message_mentions_lines", [])) - got.lines_reported()
    assert not missing_lines, f"lines {sorted(missing_lines)} not reported: {got.message!r}"

    r = got.result
    if r is None:
        return
    loaded = {**exp, **exp.get("if_loaded", {})}
    valid = r.valid
    if "rows_loaded" in loaded:
        assert r.rows_loaded == loaded["rows_loaded"]
    if "rows_loaded_max" in loaded:
        assert r.rows_loaded <= loaded["rows_loaded_max"]
    if "rows_rejected" in loaded:
        assert r.rows_rejected == loaded["rows_rejected"]
    if "columns" in loaded:
        assert [c for c in valid.columns if c != "_line"] == loaded["columns"]
    if "loaded_ids" in loaded:
        assert valid[S.PRODUCT_ID].tolist() == loaded["loaded_ids"]
    if "may_load" in loaded:
        assert set(valid[S.PRODUCT_ID]) <= set(loaded["may_load"])
    for key, value in loaded.get("values", {}).items():
        _assert_value(valid, key, value)
    for rej in loaded.get("rejected", []):
        assert rej["line"] in set(r.rejects["row"])
        assert rej["product_id"] not in set(valid[S.PRODUCT_ID])
    if "column_mapping" in loaded:                    # case 11: {source: canonical}
        assert {src: canon for canon, src in r.mapping.items()} == loaded["column_mapping"]
    if "order_lines_in_file" in loaded:               # every line stored; cleaning decides about baskets
        assert r.rows_read == r.rows_loaded == loaded["order_lines_in_file"]
    if "n_orders" in loaded:
        assert valid[S.ORDER_ID].nunique() == loaded["n_orders"]
    if "format_inferred" in loaded:                   # 'day-first (%d/%m/%Y %H:%M)'
        assert r.date_format[S.ORDERED_AT] == loaded["format_inferred"].split(" ")[0]


# --- the "never" and "notes" of each case -------------------------------------------------------

def _load(shared_case, case: str, file: str, **choice):
    folder = shared_case(case)
    spec = _spec(folder)
    return load_table(_checked_bytes(folder, spec, file), file, _kind(spec, file), **choice), spec


def test_02_ambiguous_price_is_never_a_guessed_number(shared_case):
    r, spec = _load(shared_case, "02-delimiters-decimal-commas", "catalog_ambiguous_price.csv")
    exp = spec["expect"]["per_file"]["catalog_ambiguous_price.csv"]
    prices = r.valid[S.PRICE].dropna().tolist()
    for never in exp["never_stored_prices"]:
        assert never not in prices
    assert r.number_format[S.PRICE] == {"decimal": None, "thousands": None}
    warning, = [w for w in r.warnings if "price" in w]
    assert "decimal separator" in warning and "rows 2, 3, 4, 5, 6" in warning


@pytest.mark.parametrize("decimal, prices", [
    (",", [1.25, 2.4, 3.999, 1.0, 4.75]),             # case.json notes: decimal ','
    (".", [1250.0, 2400.0, 3999.0, 1000.0, 4750.0]),  # thousands ','
])
def test_02_ambiguous_price_with_the_users_decimal_separator(shared_case, decimal, prices):
    r, _ = _load(shared_case, "02-delimiters-decimal-commas", "catalog_ambiguous_price.csv", decimal=decimal)
    assert r.valid[S.PRICE].tolist() == pytest.approx(prices, abs=1e-6)
    assert r.rows_rejected == 0
    assert r.number_format[S.PRICE]["decimal"] == decimal


@pytest.mark.parametrize("file, fmt", [
    ("catalog_de_semicolon.csv", {"decimal": ",", "thousands": "."}),
    ("catalog_sep_hint.csv", {"decimal": ",", "thousands": "."}),
    ("catalog_en_quoted.csv", {"decimal": ".", "thousands": ","}),
])
def test_02_number_format_is_reported(shared_case, file, fmt):
    r, _ = _load(shared_case, "02-delimiters-decimal-commas", file)
    assert r.number_format == {S.PRICE: fmt}
    note, = r.notes
    assert note in r.warnings and "column 'price'" in note and f"decimal '{fmt['decimal']}'" in note


def test_02_commas_inside_titles_stay_text(shared_case):
    r, _ = _load(shared_case, "02-delimiters-decimal-commas", "catalog_sep_hint.csv")
    assert "Teekanne Gusseisen 0,8 l" in r.valid[S.TITLE].tolist()


def test_04_unterminated_quote_never_stores_swallowed_text(shared_case):
    r, _ = _load(shared_case, "04-multiline-html-descriptions", "catalog_unterminated_quote.csv")
    assert "WC-702" not in set(r.valid[S.PRODUCT_ID])
    for d in r.valid[S.DESCRIPTION].dropna():
        assert "WC-703" not in d and "WC-704" not in d


def test_04_bad_escaping_never_shifts_columns(shared_case):
    r, _ = _load(shared_case, "04-multiline-html-descriptions", "catalog_bad_escaping.csv")
    assert set(r.valid[S.BRAND]) == {"Ofenwerk"}
    assert r.valid[S.PRICE].notna().all()


@pytest.mark.parametrize("dayfirst, key", [(True, "day-first"), (False, "month-first")])
def test_08_ambiguous_dates_with_the_users_choice(shared_case, dayfirst, key):
    r, spec = _load(shared_case, "08-ambiguous-dates", "orders_ambiguous.csv", dayfirst=dayfirst)
    expected = spec["expect"]["per_file"]["orders_ambiguous.csv"]["with_user_choice"][key]
    got = r.valid.groupby(S.ORDER_ID)[S.ORDERED_AT].first()
    for order_id, iso in expected.items():
        assert got[order_id] == pd.Timestamp(iso)
    assert r.rows_loaded == 5 and r.rows_rejected == 0 and r.date_format == {S.ORDERED_AT: key}


@pytest.mark.parametrize("file", ["orders_dmy.csv", "orders_mdy.csv"])
def test_08_one_format_per_column(shared_case, file):
    # the invariant: rows of one file never use different conventions (03/04 and 3/4 read alike)
    r, spec = _load(shared_case, "08-ambiguous-dates", file)
    first = r.valid[S.ORDERED_AT].iloc[0]
    assert (first.month, first.day) == ((4, 3) if file == "orders_dmy.csv" else (3, 4))
    assert r.valid[S.ORDERED_AT].iloc[1] == first


def test_15_numeric_texts_keep_their_spelling(shared_case):
    r, spec = _load(shared_case, "15-nan-numeric-empty-text", "reviews_numeric_only.csv")
    texts = r.valid[S.TEXT].tolist()
    for never in spec["expect"]["per_file"]["reviews_numeric_only.csv"]["never"]:
        assert never not in texts


def test_15_blank_texts_are_rejected_and_the_rest_kept_in_order(shared_case):
    r, spec = _load(shared_case, "15-nan-numeric-empty-text", "reviews_mixed.csv")
    exp = spec["expect"]["per_file"]["reviews_mixed.csv"]
    assert sorted(set(r.rejects["row"])) == exp["blank_text_lines"]
    assert [(x[S.PRODUCT_ID], x[S.TEXT], x["_line"]) for _, x in r.valid.iterrows()] == [
        (e["product_id"], e["text"], e["line"]) for e in exp["embedded_in_order"]]


def test_11_negative_quantities_and_cancellations_are_stored_for_cleaning(shared_case):
    r, _ = _load(shared_case, "11-online-retail-quirks", "orders_online_retail.csv")
    q = dict(zip(zip(r.valid[S.ORDER_ID], r.valid[S.PRODUCT_ID]), r.valid[S.QUANTITY]))
    assert q[("C600105", "31002")] == -1 and q[("600111", "42003B")] == -12
    # lines without CustomerID are kept: 600103 (3 lines), 600107 (2), 600111, 600113
    assert r.valid[S.CUSTOMER_ID].isna().sum() == 7
    assert r.valid[S.CUSTOMER_ID].dropna().map(type).eq(str).all()


def test_18_same_name_and_size_different_content(shared_case):
    folder = shared_case("18-cache-staleness-and-widget-state")
    spec = _spec(folder)
    a = _checked_bytes(folder, spec, "upload_a/orders.csv")
    b = _checked_bytes(folder, spec, "upload_b/orders.csv")
    assert len(a) == len(b) and hashlib.sha256(a).digest() != hashlib.sha256(b).digest()
    va = load_table(a, "orders.csv", S.ORDERS).valid
    vb = load_table(b, "orders.csv", S.ORDERS).valid
    assert va[S.ORDER_ID].tolist() == vb[S.ORDER_ID].tolist()
    assert va[S.PRODUCT_ID].tolist() != vb[S.PRODUCT_ID].tolist()


def test_an_altered_case_file_fails_naming_it(tmp_path):
    (tmp_path / "a.csv").write_bytes(b"product_id,title\nA,x\n")
    spec = {"id": "99-x", "files": [{"path": "a.csv", "bytes": 21, "sha256": hashlib.sha256(b"other").hexdigest()}]}
    with pytest.raises(pytest.fail.Exception, match=r"99-x/a.csv was altered: sha256 [0-9a-f]{64} \(21 bytes\)"):
        _checked_bytes(tmp_path, spec, "a.csv")
