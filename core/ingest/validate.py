"""Map columns to the canonical schema, type them, and report every rejected row.

A file is refused as a whole only when a required column is missing; otherwise each bad row is
rejected on its own with (file, row, column, value, reason) and every good row is kept.
Range and presence checks are declared as pandera schemas; type coercion is done here so the
failure can name the unparseable value.
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
import pandera.pandas as pa

from core import schema as S
from core.errors import MappingError, SchemaError
from core.ingest.read import ReadResult, read_table

# header synonyms (lower-case, spaces/underscores/dashes folded) -> canonical column, per kind
_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    S.CATALOG: {
        S.PRODUCT_ID: ("productid", "sku", "itemid", "id", "stockcode", "handle", "variantsku"),
        S.TITLE: ("name", "productname", "producttitle", "itemname"),
        S.CATEGORY: ("categorypath", "producttype", "productcategory", "categories", "department"),
        S.DESCRIPTION: ("bodyhtml", "body", "productdescription", "longdescription"),
        S.PRICE: ("unitprice", "variantprice", "regularprice"),
        S.BRAND: ("vendor", "manufacturer"),
    },
    S.ORDERS: {
        S.ORDER_ID: ("orderid", "invoiceno", "invoice", "ordernumberid", "basketid", "transactionid"),
        S.PRODUCT_ID: ("productid", "sku", "itemid", "stockcode", "lineitemsku"),
        S.CUSTOMER_ID: ("customerid", "userid", "customer", "householdkey", "clientid"),
        S.QUANTITY: ("qty", "lineitemquantity", "units"),
        S.PRICE: ("unitprice", "lineitemprice", "salesvalue"),
        S.ORDERED_AT: ("orderdate", "invoicedate", "createdat", "date", "timestamp", "orderedat"),
        S.ORDER_NUMBER: ("ordernumber", "sequence", "ordersequence"),
    },
    S.REVIEWS: {
        S.PRODUCT_ID: ("productid", "sku", "itemid", "clothingid"),
        S.TEXT: ("reviewtext", "review", "body", "comment", "content"),
        S.RATING: ("stars", "score", "reviewrating"),
        S.CUSTOMER_ID: ("customerid", "userid", "reviewerid", "customer"),
        S.CREATED_AT: ("date", "reviewdate", "createdat", "timestamp"),
    },
}
_MISSING_MARKERS = {"", "nan", "none", "null", "na", "n/a", "<na>"}


def _fold(name: str) -> str:
    return re.sub(r"[\s_\-().]+", "", name.lower())


def _suggest(columns, kind: str, skip=()) -> tuple[dict[str, str], dict[str, str]]:
    """``({canonical: source column}, {canonical: warning})`` for the canonical columns not in ``skip``.

    An exact header (case-insensitive, stripped: 'Product_ID ') wins over folded names and synonyms
    ('Product ID', 'SKU'), whatever the column order. When two headers fold to the same key and
    neither is exact, the first is used and a warning names both.
    """
    cols = [str(c) for c in columns]
    exact: dict[str, str] = {}
    folded: dict[str, list[str]] = {}
    for c in cols:
        exact.setdefault(c.strip().lower(), c)
        folded.setdefault(_fold(c), []).append(c)
    wanted = [c for c in S.COLUMNS[kind] if c not in skip]
    chosen = {canon: exact[canon] for canon in wanted if canon in exact}
    used = set(chosen.values())
    notes: dict[str, str] = {}
    for canon in wanted:
        if canon in chosen:
            continue
        for cand in (canon, *_SYNONYMS[kind].get(canon, ())):
            srcs = [c for c in folded.get(_fold(cand), []) if c not in used]
            if srcs:
                chosen[canon] = srcs[0]
                used.add(srcs[0])
                if len(srcs) > 1:
                    notes[canon] = (f"columns {', '.join(map(repr, srcs))} all read as {canon}; used "
                                    f"{srcs[0]!r} (map {canon} explicitly if another one is meant)")
                break
    return {c: chosen[c] for c in S.COLUMNS[kind] if c in chosen}, notes


def suggest_mapping(columns, kind: str) -> dict[str, str]:
    """Suggest ``{canonical: source column}``: exact names first, then folded names and header synonyms.

    An exact header (case-insensitive, stripped) always wins: in ``product_id, Product ID`` the
    first is product_id. Each source column is suggested for at most one canonical column.
    """
    if kind not in S.COLUMNS:
        raise ValueError(f"kind must be one of {S.KINDS}, got {kind!r}")
    return _suggest(columns, kind)[0]


@dataclass(frozen=True)
class ValidationResult:
    """Outcome of validating one file.

    Attributes
    ----------
    valid : pandas.DataFrame
        Typed canonical columns of the kind plus ``_line`` (physical line number of the record).
    rejects : pandas.DataFrame
        One row per problem: ``file, row, column, value, reason`` (:data:`core.schema.REJECT_COLUMNS`).
    rows_read : int
        Records found in the file (malformed ones included).
    warnings : list of str
        Everything the user should read, ``notes`` included.
    encoding, delimiter : str
    mapping : dict
        ``{canonical: source column}`` that was applied.
    number_format : dict
        ``{canonical numeric column: {"decimal": "." | "," | None, "thousands": "," | "." | " " | "'" | None}}``
        as detected from all the column's values (or chosen with ``decimal=``). ``decimal`` is None
        when the column could not be decided (values not stored, see ``warnings``); ``thousands``
        is None when no value used a thousands separator.
    date_format : dict
        ``{canonical date column: "day-first" | "month-first"}`` for the columns holding numeric
        dates such as ``03/04/2026`` (inferred from the values that can only be read one way, or
        chosen with ``dayfirst=``). ISO 8601 and month-name dates need no decision and are not listed.
    notes : list of str
        The warnings that only report a detected format different from the plain default (decimal
        comma, thousands separators, day-first dates); they are in ``warnings`` too.
    loaded : int or None
        Rows loaded when ``valid`` was not kept (a streamed import: ``valid`` is then empty with the
        columns); None when ``valid`` holds them all.
    """

    kind: str
    file: str
    valid: pd.DataFrame
    rejects: pd.DataFrame
    rows_read: int
    encoding: str
    delimiter: str
    mapping: dict
    warnings: list = field(default_factory=list)
    number_format: dict = field(default_factory=dict)
    date_format: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    loaded: int | None = None

    @property
    def rows_loaded(self) -> int:
        return len(self.valid) if self.loaded is None else self.loaded

    @property
    def rows_rejected(self) -> int:
        return int(self.rejects["row"].nunique()) if len(self.rejects) else 0


def _strip_missing(col: pd.Series) -> pd.Series:
    """Cell by cell: strip; blank and missing-value markers become None (never the string 'nan')."""
    s = col.astype("string").str.strip()
    missing = s.isna() | s.str.lower().isin(_MISSING_MARKERS)
    return s.astype(object).where(~missing.to_numpy(dtype=bool), None)


def _text(col: pd.Series) -> pd.Series:
    """Strip cells; blank and missing-value markers become missing (never the string 'nan')."""
    d = _Distinct.of_text(col)
    return d.take(d.values)


class _Distinct:
    """The distinct values of a text column, and for each cell the position of its value (-1: missing).

    Parsing decisions are made once per distinct value (a price column of 500,000 cells has a few
    thousand) and spread back to the cells with :meth:`take` and :meth:`mask`.
    """

    def __init__(self, s: pd.Series):
        self.index = s.index
        self.codes, uniques = pd.factorize(s.to_numpy(dtype=object), use_na_sentinel=True)
        self.values = list(uniques)

    @classmethod
    def of_text(cls, col: pd.Series) -> "_Distinct":
        """The distinct values of ``col`` after :func:`_strip_missing`, computed once per distinct raw cell.

        Same values, in the same order (first appearance), as ``_Distinct(_strip_missing(col))``; a
        million-cell id column has far fewer distinct cells, and its cells share their string objects.
        """
        values = col.to_numpy(dtype=object)
        if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
            return cls(_strip_missing(col))  # numbers or other objects: 1 and 1.0 must not be merged
        out = cls.__new__(cls)
        out.index = col.index
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        if all(v and v == v.strip() and v.lower() not in _MISSING_MARKERS for v in uniques):
            # nothing to strip, nothing missing (Python's whitespace includes every character the
            # string dtype's strip removes): the distinct cells are the distinct values
            out.codes = codes
            out.values = list(uniques)
            return out
        stripped = _strip_missing(pd.Series(uniques, dtype=object)).to_numpy(dtype=object)
        # distinct cells may strip to one value (' 5' and '5') or to missing ('', 'NULL')
        merged, out_values = pd.factorize(stripped, use_na_sentinel=True)
        out.codes = np.append(merged, -1)[codes]
        out.values = list(out_values)
        return out

    def take(self, per_value, default=None) -> pd.Series:
        """An object Series with ``per_value[i]`` for the cells holding value i, ``default`` for missing cells."""
        vals = np.empty(len(self.values) + 1, dtype=object)
        vals[:-1] = per_value
        vals[-1] = default
        return pd.Series(vals[self.codes], index=self.index, dtype=object)

    def mask(self, per_value, default: bool = False) -> pd.Series:
        """A bool Series: ``per_value[i]`` for the cells holding value i, ``default`` for missing cells."""
        vals = np.empty(len(self.values) + 1, dtype=bool)
        vals[:-1] = per_value
        vals[-1] = default
        return pd.Series(vals[self.codes], index=self.index, dtype=bool)

    def floats(self, per_value) -> pd.Series:
        """A float64 Series: ``per_value[i]`` for the cells holding value i, NaN for missing cells."""
        vals = np.append(np.asarray(per_value, dtype="float64"), np.nan)
        return pd.Series(vals[self.codes], index=self.index, dtype="float64")


# --- numbers: one decimal convention per column -------------------------------------------------

# whitespace of any kind (thousands groups written '1 234,56', NBSP, narrow NBSP, thin space) is removed;
# an apostrophe is removed only between a digit and a group of three ('1'234.50', Swiss)
_NUM_SPACE = re.compile(r"[\s\u00a0\u202f\u2009]+")
_NUM_SPACE_GROUP = re.compile(r"\d[\s\u00a0\u202f\u2009]+\d{3}(?!\d)")
_NUM_APOSTROPHE = re.compile(r"(?<=\d)['\u2019](?=\d{3}(?!\d))")
_ONE_SEP = re.compile(r"[+-]?(\d*)([.,])(\d*)")
_DOT_GROUPS_COMMA_DEC = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+,\d*")
_COMMA_GROUPS_DOT_DEC = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+\.\d*")
_DOT_GROUPS = re.compile(r"[+-]?\d{1,3}(?:\.\d{3}){2,}")
_COMMA_GROUPS = re.compile(r"[+-]?\d{1,3}(?:,\d{3}){2,}")
_EXPONENT = re.compile(r"[+-]?\d*([.,])\d+[eE][+-]?\d+")
_GROUPED = {".": re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"),   # decimal '.', thousands ','
            ",": re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d*)?")}   # decimal ',', thousands '.'
_OTHER = {".": ",", ",": "."}


def _clean_number(v: str) -> tuple[str, str | None]:
    """``(cell without spaces/apostrophe groups, the thousands separator removed or None)``."""
    th = " " if _NUM_SPACE_GROUP.search(v) else None
    w = _NUM_APOSTROPHE.sub("", v)
    if w != v:
        th = "'"
    return _NUM_SPACE.sub("", w), th


def _number_shape(v: str) -> tuple[str, str | None]:
    """What one cleaned cell proves about the column's decimal separator.

    Returns ``(kind, thousands)``: kind ``'.'`` or ``','`` when the cell can only be read with that
    decimal separator ('12.99', '1,234.50', '1.234,56', '0,750', '9,5'), ``'?'`` when it reads as a
    different number with either ('1,250': 1.25 or 1250; '1.234'), ``''`` when it holds no separator;
    ``thousands`` is the grouping separator the cell proves (',' in '1,234.50'), else None.
    """
    if _COMMA_GROUPS_DOT_DEC.fullmatch(v) or _COMMA_GROUPS.fullmatch(v):
        return ".", ","
    if _DOT_GROUPS_COMMA_DEC.fullmatch(v) or _DOT_GROUPS.fullmatch(v):
        return ",", "."
    m = _ONE_SEP.fullmatch(v)
    if m and (m.group(1) or m.group(3)):
        whole, sep, frac = m.groups()
        if len(frac) == 3 and 1 <= len(whole) <= 3 and not whole.startswith("0"):
            return "?", None
        return sep, None
    m = _EXPONENT.fullmatch(v)
    if m:
        return m.group(1), None
    return "", None


def _number_text(v: str, decimal: str) -> str | None:
    """A cleaned cell rewritten for ``float()`` under the column's decimal separator; None when the
    cell has a separator that does not fit that convention ('12.99' in a decimal-comma column)."""
    if _GROUPED[decimal].fullmatch(v):
        v = v.replace(_OTHER[decimal], "")
    elif _OTHER[decimal] in v:
        return None
    return v.replace(",", ".") if decimal == "," else v


class _NumberColumn:
    """Evidence gathered from every value of one numeric column (see :func:`_number_evidence`).

    Attributes
    ----------
    distinct : _Distinct
        Of the stripped text.
    cleaned, shapes : list
        Per distinct value: without spaces / apostrophe groups; its :func:`_number_shape` kind.
    thousands : set
        Separators proven by some cell.
    proofs : dict
        ``{'.': first index proving it, ',': ...}``.

    ``raw`` (stripped text, None when missing), ``clean`` and ``shape`` (``''`` for missing cells too)
    are the per-cell views, built on first use.
    """

    def __init__(self, distinct: _Distinct, cleaned: list, shapes: list, thousands: set, proofs: dict):
        self.distinct, self.cleaned, self.shapes = distinct, cleaned, shapes
        self.thousands, self.proofs = thousands, proofs
        self._cells: dict = {}

    def _cell(self, name: str, per_value, default):
        if name not in self._cells:
            self._cells[name] = self.distinct.take(per_value, default)
        return self._cells[name]

    @property
    def raw(self) -> pd.Series:
        return self._cell("raw", self.distinct.values, None)

    @property
    def clean(self) -> pd.Series:
        return self._cell("clean", self.cleaned, None)

    @property
    def shape(self) -> pd.Series:
        return self._cell("shape", self.shapes, "")

    def is_shape(self, *kinds: str) -> pd.Series:
        """Bool per cell: its shape is one of ``kinds`` (missing cells: False)."""
        return self.distinct.mask([k in kinds for k in self.shapes])

    @property
    def present(self) -> pd.Series:
        return pd.Series(self.distinct.codes >= 0, index=self.distinct.index)

    @property
    def ambiguous(self) -> pd.Series:
        return self.is_shape("?")


def _number_evidence(col: pd.Series) -> _NumberColumn:
    distinct = _Distinct.of_text(col)
    cleaned, shapes, thousands = [], [], set()
    for v in distinct.values:
        c, th = _clean_number(v)
        kind, th2 = _number_shape(c)
        cleaned.append(c)
        shapes.append(kind)
        thousands.update(t for t in (th, th2) if t)
    proofs = {}
    for sep in (".", ","):
        if sep in shapes:  # the first cell holding any value of that shape
            hit = np.flatnonzero(np.isin(distinct.codes, [i for i, k in enumerate(shapes) if k == sep]))
            proofs[sep] = distinct.index[hit[0]]
    return _NumberColumn(distinct, cleaned, shapes, thousands, proofs)


class _Parsed(NamedTuple):
    values: pd.Series       # float64, missing where blank, unparseable, non-finite or withheld
    unparseable: pd.Series  # present cells that are not a number
    mismatch: pd.Series     # numbers only with the other decimal separator ('12.99' in a decimal-comma column)
    non_finite: pd.Series   # 'inf', 'Infinity', '1e400' and the like
    withheld: pd.Series     # not stored because the separator is undecided
    thousands: set          # the thousands separators the parsed cells used (empty: none)


def _number(ev: _NumberColumn, decimal: str | None) -> _Parsed:
    """Parse a numeric column with one decimal separator for all its cells.

    Parameters
    ----------
    ev : _NumberColumn
    decimal : {'.', ','} or None
        The column's decimal separator; None when it could not be decided: the cells whose value
        depends on it (any cell with a '.' or ',') are then withheld, never guessed.
    """
    present = ev.present
    none = present & False
    used: set = set()
    if decimal is None:
        withheld = ev.is_shape(".", ",", "?")
        texts = [None if k in (".", ",", "?") else c for c, k in zip(ev.cleaned, ev.shapes)]
    else:
        withheld = none
        texts = [_number_text(c, decimal) for c in ev.cleaned]
        used = ev.thousands - {",", "."}
        if any(_GROUPED[decimal].fullmatch(c) for c in ev.cleaned):
            used.add(_OTHER[decimal])
    # parsed once per distinct value, then spread to the cells
    per_value = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").astype("float64")
    values = ev.distinct.floats(per_value.to_numpy())
    non_finite = pd.Series(np.isinf(values.to_numpy()), index=values.index)
    values = values.mask(non_finite)
    failed = values.isna() & present & ~non_finite & ~withheld
    mismatch = failed & ev.is_shape(_OTHER[decimal]) if decimal else none
    return _Parsed(values, failed & ~mismatch, mismatch, non_finite, withheld, used)


def _rows_text(lines, limit: int = 10, total: int | None = None) -> str:
    """'row 3', 'rows 2, 3, 4' or 'rows 2, 3, ... (25 rows)' for physical line numbers (``lines``: all of
    them, or the first ``limit`` or more of ``total``)."""
    lines = [int(x) for x in lines]
    total = len(lines) if total is None else total
    shown = ", ".join(str(x) for x in lines[:limit])
    return ("row " if total == 1 else "rows ") + shown + (f", ... ({total:,} rows)" if total > limit else "")


# --- dates: one day/month order per column -------------------------------------------------------

#: Dates are stored as naive UTC in nanoseconds; outside these bounds a date is a placeholder
#: ('0001-01-01', '9999-12-31') or a typo, and would overflow the nanosecond range anyway.
DATE_MIN, DATE_MAX = pd.Timestamp("1678-01-01"), pd.Timestamp("2261-12-31 23:59:59.999999")
# text whose meaning depends on when the file is imported: never a recorded date
_RELATIVE = re.compile(r"(?i)^(now|today|tomorrow|yesterday|\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([ap]\.?m\.?)?)$")
# a numeric date with the year last: 03/04/2026, 3.4.26, 03-04-2026 10:00, 3/4/2026 9:15 AM
_NUMERIC_DATE = re.compile(r"(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})((?:[ T].*)?)", re.S)
DAY_FIRST, MONTH_FIRST = "day-first", "month-first"
_PATTERN = {DAY_FIRST: "DD/MM/YYYY", MONTH_FIRST: "MM/DD/YYYY"}


def _parse_dates(raw: pd.Series) -> pd.Series:
    """``to_datetime(utc=True)`` per column; if pandas raises anyway, cell by cell (never a crash)."""
    try:
        return pd.to_datetime(raw, errors="coerce", format="mixed", utc=True)
    except (ValueError, TypeError, OverflowError):
        def one(v):
            try:
                return pd.to_datetime(v, errors="coerce", format="mixed", utc=True)
            except (ValueError, TypeError, OverflowError):
                return pd.NaT
        return pd.Series([one(v) for v in raw], index=raw.index, dtype="datetime64[us, UTC]")


def _date_shape(v: str) -> str:
    """``DAY_FIRST`` / ``MONTH_FIRST`` when a numeric date can only be read that way (25/03, 03/25),
    '?' when both readings are valid and differ (01/02), '=' when they are the same (05/05), 'x' when
    neither is valid (13/13), '' when the cell is not a numeric date with the year last (ISO 8601,
    month names)."""
    m = _NUMERIC_DATE.fullmatch(v)
    if not m:
        return ""
    a, b, y = int(m.group(1)), int(m.group(3)), _year(m.group(4))
    day_first, month_first = _is_date(y, b, a), _is_date(y, a, b)
    if day_first and month_first:
        return "=" if a == b else "?"
    return DAY_FIRST if day_first else MONTH_FIRST if month_first else "x"


def _year(y: str) -> int:
    """A 4-digit year, or a 2-digit one the way strptime's %y reads it (69-99 -> 19xx, 00-68 -> 20xx)."""
    return int(y) if len(y) == 4 else (2000 + int(y) if int(y) < 69 else 1900 + int(y))


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def _iso_text(v: str, order: str) -> str | None:
    """A numeric date rewritten as ISO 8601 (time part kept) under the column's order; None when it
    is no calendar date in that order (25/03/2026 month-first, 31/02/2026)."""
    a, sep, b, y, rest = _NUMERIC_DATE.fullmatch(v).groups()
    day, month = (int(a), int(b)) if order == DAY_FIRST else (int(b), int(a))
    year = _year(y)
    if not _is_date(year, month, day):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}{rest}"


# --- ids -----------------------------------------------------------------------------------------

_ID_COLUMNS = (S.PRODUCT_ID, S.ORDER_ID, S.CUSTOMER_ID)
# a number Excel displayed in scientific notation and exported that way: 6.93E+12, 1.23e+05, 6,93E+12
_SCIENTIFIC_ID = re.compile(r"\d(?:[.,]\d+[eE][+-]?\d+|[eE][+-]\d+)")


#: PostgreSQL INTEGER, the column type of quantity and order_number
INT_MAX = 2_147_483_647

_SCHEMAS = {
    S.CATALOG: pa.DataFrameSchema({
        S.PRODUCT_ID: pa.Column(object, nullable=False),
        S.TITLE: pa.Column(object, nullable=False),
        S.PRICE: pa.Column(float, pa.Check.ge(0, error="price must be >= 0"), nullable=True, required=False),
    }),
    S.ORDERS: pa.DataFrameSchema({
        S.ORDER_ID: pa.Column(object, nullable=False),
        S.PRODUCT_ID: pa.Column(object, nullable=False),
        # zero and negative quantities (returns, cancellations, stock adjustments) are stored; the
        # cleaning step keeps them out of baskets
        S.QUANTITY: pa.Column(float, [pa.Check(lambda s: (s % 1) == 0, element_wise=False,
                                               error="quantity must be a whole number"),
                                      pa.Check.le(INT_MAX, error=f"quantity must be <= {INT_MAX:,}"),
                                      pa.Check.ge(-INT_MAX, error=f"quantity must be >= -{INT_MAX:,}")],
                              nullable=False),
        S.PRICE: pa.Column(float, pa.Check.ge(0, error="price must be >= 0"), nullable=True, required=False),
        S.ORDER_NUMBER: pa.Column(float, [pa.Check.ge(1, error="order_number must be >= 1"),
                                          pa.Check(lambda s: (s % 1) == 0, error="order_number must be a "
                                                   "whole number"),
                                          pa.Check.le(INT_MAX, error=f"order_number must be <= {INT_MAX:,}")],
                                  nullable=True, required=False),
    }),
    S.REVIEWS: pa.DataFrameSchema({
        S.PRODUCT_ID: pa.Column(object, nullable=False),
        S.TEXT: pa.Column(object, nullable=False),
        S.RATING: pa.Column(float, pa.Check.in_range(1, 5, error="rating must be between 1 and 5"),
                            nullable=True, required=False),
    }),
}
_NUMERIC = {S.PRICE, S.QUANTITY, S.RATING, S.ORDER_NUMBER}
_DATETIME = {S.ORDERED_AT, S.CREATED_AT}


def _category_path(v: str | None) -> str | None:
    if v is None:
        return None
    # only '>' separates levels: '/' and '|' occur inside real names ("ICE - CRUSHED/CUBED", "AC/DC")
    parts = [p.strip() for p in v.split(S.CATEGORY_SEP) if p.strip()]
    return f" {S.CATEGORY_SEP} ".join(parts) if parts else None


class _Rows:
    """The first physical lines (up to ``keep``) of the cells of some kind across a file, with their
    texts when given, and their count: enough for :func:`_rows_text` and examples in a message."""

    def __init__(self, keep: int = 20):
        self.keep, self.lines, self.values, self.count = keep, [], [], 0

    def add(self, lines: np.ndarray, values=None) -> None:
        """Cells of one chunk, in file order: their lines and (optionally) the texts of the first few."""
        need = self.keep - len(self.lines)
        if need > 0 and len(lines):
            self.lines += [int(x) for x in lines[:need]]
            if values is not None:
                self.values += list(values[:need])
        self.count += len(lines)

    @property
    def first(self):
        return self.values[0] if self.values else None

    def text(self, limit: int = 10) -> str:
        return _rows_text(self.lines, limit=limit, total=self.count)


class _NumberSummary:
    """What every value of one numeric column proves about its decimal separator (all chunks).

    ``proofs``: ``{sep: (line, text)}`` of the first cell that can only be read with that separator;
    ``ambiguous``: ``(line, text, cleaned)`` of the first cell that reads two ways; ``grouped`` and
    ``present``: ``(line, text)`` of the first cell written with space/apostrophe groups and of the
    first present cell; ``thousands``: separators other than ',' and '.' some cell proves.
    """

    def __init__(self):
        self.proofs: dict = {}
        self.ambiguous = self.grouped = self.present = None
        self.thousands: set = set()

    def add(self, ev: "_NumberColumn", lines: np.ndarray) -> None:
        codes = ev.distinct.codes

        def first(per_value) -> int | None:
            ids = [i for i, hit in enumerate(per_value) if hit]
            if not ids:
                return None
            return int(np.flatnonzero(np.isin(codes, ids))[0])

        for sep in (".", ","):
            if sep not in self.proofs and sep in ev.proofs:
                i = ev.distinct.index.get_loc(ev.proofs[sep])
                self.proofs[sep] = (int(lines[i]), ev.distinct.values[codes[i]])
        if self.ambiguous is None and "?" in ev.shapes:
            i = first([k == "?" for k in ev.shapes])
            self.ambiguous = (int(lines[i]), ev.distinct.values[codes[i]], ev.cleaned[codes[i]])
        if self.grouped is None:
            i = first([v != c for v, c in zip(ev.distinct.values, ev.cleaned)])
            if i is not None:
                self.grouped = (int(lines[i]), ev.distinct.values[codes[i]])
        if self.present is None and (codes >= 0).any():
            i = int(np.argmax(codes >= 0))
            self.present = (int(lines[i]), ev.distinct.values[codes[i]])
        self.thousands |= ev.thousands - {",", "."}

    def decide(self, file_proofs: set) -> tuple[str | None, str]:
        """``(decimal, how)``: how is 'column' (its own cells prove it), 'file' (its cells are all
        ambiguous and the file's other numeric columns agree on one separator), 'default' (no cell has a
        separator that matters), 'conflict' or 'ambiguous' (decimal None)."""
        if len(self.proofs) == 2:
            return None, "conflict"
        if self.proofs:
            return next(iter(self.proofs)), "column"
        if self.ambiguous is None:
            return ".", "default"
        if len(file_proofs) == 1:
            return next(iter(file_proofs)), "file"
        return None, "ambiguous"


class _DateSummary:
    """The numeric dates (year last) of one date column across all chunks, by what they can be."""

    def __init__(self):
        self.numeric = False  # any cell is a numeric date
        self.day, self.month, self.either = _Rows(), _Rows(), _Rows()

    def add(self, distinct: "_Distinct", shapes: list, lines: np.ndarray) -> None:
        if not any(shapes):
            return
        self.numeric = True
        for kind, rows in ((DAY_FIRST, self.day), (MONTH_FIRST, self.month), ("?", self.either)):
            if kind in shapes:
                hit = distinct.mask([sh == kind for sh in shapes]).to_numpy()
                rows.add(lines[hit], [distinct.values[c] for c in distinct.codes[hit][:rows.keep]])

    def decide(self, dayfirst: bool | None, file: str, source: str, canon: str):
        """``(order, proof)``: the column's order (None when nothing needs deciding) and ``(line, text)``
        of the first cell proving an inferred order (None when chosen)."""
        if not self.numeric:
            return None, None
        label = f"{source!r}" + (f" ({canon})" if canon and canon != source else "")
        if dayfirst is not None:
            return (DAY_FIRST if dayfirst else MONTH_FIRST), None
        if self.day.count and self.month.count:
            raise SchemaError(
                f"the dates in {label} mix day-first and month-first: day-first only on "
                f"{self.day.text()} (e.g. {self.day.first!r}), month-first only on "
                f"{self.month.text()} (e.g. {self.month.first!r}); one format per column: fix those rows, or "
                f"choose the order (day-first DD/MM/YYYY or month-first MM/DD/YYYY) and import again",
                file=file, column=source)
        if self.day.count or self.month.count:
            rows, order = (self.day, DAY_FIRST) if self.day.count else (self.month, MONTH_FIRST)
            return order, (rows.lines[0], rows.first)
        if self.either.count:
            raise SchemaError(
                f"the dates in {label} could be day-first or month-first (e.g. {self.either.first!r}): no value "
                f"shows which, on {self.either.text(limit=20)}; choose the order (day-first "
                f"DD/MM/YYYY or month-first MM/DD/YYYY) and import again", file=file, column=source)
        return None, None


def _date_shapes(col: pd.Series) -> tuple["_Distinct", list]:
    distinct = _Distinct.of_text(col)
    return distinct, [_date_shape(v) for v in distinct.values]


def _date_values(distinct: "_Distinct", shapes: list, order: str | None, index):
    """Parse one chunk of a date column under the column's ``order`` (see :class:`TableValidator`).

    Returns ``(values, not_a_date, wrong_order, out_of_range)``: ``datetime64[ns]`` naive UTC, and
    masks of the present cells that do not parse (relative words such as 'now' or 'today' and bare
    times included: their value would be the import time), numeric dates that are dates only in the
    other order (``03/26/2026`` in a day-first column), and dates outside [:data:`DATE_MIN`,
    :data:`DATE_MAX`].
    """
    present = pd.Series(distinct.codes >= 0, index=index)
    none = present & False
    if not present.any():
        empty = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
        return empty, none, none, none
    # one ISO text per distinct value (None: no date in the column's order; relative words: None too);
    # without an order only cells that read the same both ways (05/05) or neither way (31/02) remain
    reading = order or DAY_FIRST
    texts = [(_iso_text(v, reading) if sh else v) for v, sh in zip(distinct.values, shapes)]
    other = MONTH_FIRST if reading == DAY_FIRST else DAY_FIRST
    wrong = [sh == other and t is None for sh, t in zip(shapes, texts)]
    texts = [None if t is None or _RELATIVE.match(t) else t for t in texts]
    # parsed, range-checked and judged once per distinct value, then spread to the cells
    parsed = pd.Series(_parse_dates(pd.Series(texts, dtype=object)).dt.tz_localize(None).to_numpy())
    out_of_range = parsed.notna() & ((parsed < DATE_MIN) | (parsed > DATE_MAX))
    parsed = parsed.mask(out_of_range).astype("datetime64[ns]")
    bad = parsed.isna() & ~out_of_range & ~np.asarray(wrong, dtype=bool)
    values = np.append(parsed.to_numpy(), np.array(["NaT"], dtype="datetime64[ns]"))[distinct.codes]
    return (pd.Series(values, index=index), distinct.mask(bad.to_numpy()), distinct.mask(wrong),
            distinct.mask(out_of_range.to_numpy()))


class TableValidator:
    """Validate a file chunk by chunk with the decisions of the whole file.

    Two passes over the same chunks (:class:`core.ingest.read.ChunkedTable`, or one
    :class:`ReadResult` for a whole file):

    1. :meth:`scan` every chunk: the evidence that decides each numeric column's decimal separator
       and each date column's day/month order, gathered from all values of the file (the same
       decisions as on the whole file at once); then :meth:`decide`.
    2. :meth:`validate` every chunk, in file order: typed valid rows (bounded by the chunk) and their
       rejects with true physical line numbers; catalog product ids are checked for duplicates
       across chunks. :meth:`result` then gives the :class:`ValidationResult` with the warnings of
       the whole file.

    :func:`validate_table` is this with one chunk; any chunking gives the same valid rows, rejects,
    counts and warnings.

    Parameters
    ----------
    columns : sequence of str
        The file's header.
    kind, file, mapping, decimal, dayfirst
        As :func:`validate_table`.

    Raises
    ------
    As :func:`validate_table`: TypeError and ValueError for bad arguments and MappingError here;
    SchemaError from :meth:`decide` (dates that cannot be decided).
    """

    def __init__(self, columns, kind: str, file: str, mapping: dict | None = None, *,
                 decimal: str | None = None, dayfirst: bool | None = None):
        if kind not in S.COLUMNS:
            raise ValueError(f"kind must be one of {S.KINDS}, got {kind!r}")
        if decimal not in (None, ",", "."):
            raise ValueError(f"decimal must be ',' or '.' (or None to detect it), got {decimal!r}")
        if dayfirst is not None and not isinstance(dayfirst, (bool, np.bool_)):
            raise TypeError(f"dayfirst must be a bool or None, got {type(dayfirst).__name__}")
        columns = list(columns)
        explicit = {k: v for k, v in (mapping or {}).items() if v}
        targets: dict[str, list[str]] = {}
        for canon, src in explicit.items():
            targets.setdefault(src, []).append(canon)
        twice = {src: canons for src, canons in targets.items() if len(canons) > 1}
        if twice:
            src, canons = next(iter(twice.items()))
            raise MappingError(f"column {src!r} is mapped to more than one field ({', '.join(canons)}); map each "
                               f"field to its own column", file=file, column=src)
        # suggestions fill the fields not mapped explicitly, from the columns not mapped explicitly
        auto, notes = _suggest([c for c in columns if c not in targets], kind, skip=explicit)
        mapping = {**auto, **explicit}
        for canon, src in mapping.items():
            if canon not in S.COLUMNS[kind]:
                raise MappingError(f"{canon!r} is not a {kind} field; fields are {', '.join(S.COLUMNS[kind])}",
                                   file=file)
            if src not in columns:
                raise MappingError(f"mapped column {src!r} is not in the file; columns are "
                                   f"{', '.join(map(str, columns))}", file=file, column=src)
        missing = [c for c in S.REQUIRED[kind] if c not in mapping]
        if missing:
            raise MappingError(f"required column(s) missing: {', '.join(missing)}; the file has "
                               f"{', '.join(map(str, columns))}", file=file, column=missing[0])
        self.kind, self.file, self.columns, self.mapping = kind, file, columns, mapping
        self._mapping_notes = notes
        self._decimal, self._dayfirst = decimal, dayfirst
        self._canons = [c for c in S.COLUMNS[kind] if c in mapping]
        self._numbers = {c: _NumberSummary() for c in self._canons if c in _NUMERIC}
        self._dates = {c: _DateSummary() for c in self._canons if c in _DATETIME}
        self._decided = self._provisional = False
        # pass 2 state
        self._withheld = {c: _Rows() for c in self._numbers}
        self._used_thousands: dict[str, set] = {c: set() for c in self._numbers}
        self._scientific = {c: _Rows(keep=5) for c in self._canons if c in _ID_COLUMNS}
        self._first_id_line: dict = {}  # catalog: product_id -> line of the row that keeps it
        self._records = self._malformed = self._loaded = 0
        self._rejects: list[tuple] = []
        self._empty_valid = None

    def label(self, canon: str) -> str:
        src = str(self.mapping[canon])
        return f"column {src!r}" + (f" ({canon})" if src != canon else "")

    # -- pass 1 --------------------------------------------------------------------------------------
    @property
    def scan_columns(self) -> list:
        """The source columns pass 1 reads (numeric and date columns); none: :meth:`scan` may be skipped."""
        return [self.mapping[c] for c in self._canons if c in self._numbers or c in self._dates]

    def scan(self, chunk: ReadResult) -> None:
        """Gather the evidence of one chunk (pass 1; chunks in file order)."""
        if self._decided and not self._provisional:
            raise RuntimeError("scan() after decide(): start a new TableValidator for another pass 1")
        frame, lines = chunk.frame, np.asarray(chunk.line_numbers)
        for canon, summary in self._numbers.items():
            summary.add(_number_evidence(frame[self.mapping[canon]]), lines)
        for canon, summary in self._dates.items():
            summary.add(*_date_shapes(frame[self.mapping[canon]]), lines)

    def decide(self, provisional: bool = False) -> None:
        """Fix each numeric column's decimal separator and each date column's order from the evidence.

        ``provisional``: from the evidence so far (say the first chunk), so that pass 2 can start
        while :meth:`scan` goes on over every chunk; :meth:`decide` again after the last one, and
        compare :attr:`parsing` with its provisional value: when they differ, the chunks validated so
        far were read differently from the whole file's decision and must be validated again.

        Raises SchemaError when a date column's order cannot be decided (see :func:`validate_table`).
        """
        self._provisional = provisional
        # a column whose cells are all ambiguous can take the separator the rest of the file proves
        file_proofs = {sep for s in self._numbers.values() for sep in s.proofs}
        self.decimals = {c: ((self._decimal, "chosen") if self._decimal else s.decide(file_proofs))
                         for c, s in self._numbers.items()}
        self.orders = {c: s.decide(self._dayfirst, self.file, str(self.mapping[c]), c)
                       for c, s in self._dates.items()}
        self._decided = True

    @property
    def parsing(self) -> tuple:
        """What pass 2 reads the cells with: ``({numeric column: decimal}, {date column: order})``."""
        return ({c: d[0] for c, d in self.decimals.items()}, {c: o[0] for c, o in self.orders.items()})

    # -- pass 2 --------------------------------------------------------------------------------------
    def validate(self, chunk: ReadResult) -> pd.DataFrame:
        """Type and check one chunk (pass 2; every chunk once, in file order).

        Returns the chunk's valid rows: the typed canonical columns plus ``_line``, index 0..n-1. Its
        rejects are kept for :meth:`result`.
        """
        if not self._decided:
            self.decide()
        frame = chunk.frame.reset_index(drop=True)
        lines = pd.Series(np.asarray(chunk.line_numbers, dtype=np.int64), index=frame.index)
        mapping, kind, file = self.mapping, self.kind, self.file
        typed = pd.DataFrame(index=frame.index)
        problems: list[tuple[int, str, object, str]] = []  # (frame index, canonical column, value, reason)
        for canon in self._canons:
            raw = frame[mapping[canon]]
            if canon in _NUMERIC:
                dec = self.decimals[canon][0]
                parsed = _number(_number_evidence(raw), dec)
                values = parsed.values
                self._used_thousands[canon] |= parsed.thousands
                for mask, reason in ((parsed.unparseable, f"{canon} is not a number"),
                                     (parsed.mismatch, f"{canon} is not a number with the decimal separator "
                                                       f"{dec!r} of this column"),
                                     (parsed.non_finite, f"{canon} must be a finite number")):
                    for i in mask[mask].index:
                        problems.append((i, canon, raw[i], reason))
                withheld = parsed.withheld
                if withheld.any():
                    self._withheld[canon].add(lines[withheld].to_numpy())
                    if canon == S.QUANTITY:  # a missing quantity would default to 1: reject, never guess
                        for i in withheld[withheld].index:
                            problems.append((i, canon, raw[i], f"{canon} {raw[i]!r} reads as a different number "
                                                               f"with a decimal comma or a decimal point; choose "
                                                               f"the decimal separator"))
            elif canon in _DATETIME:
                order = self.orders[canon][0]
                if self._dates[canon].numeric:
                    distinct, shapes = _date_shapes(raw)
                else:  # pass 1 found no numeric date in the column: no shape to work out
                    distinct = _Distinct.of_text(raw)
                    shapes = [""] * len(distinct.values)
                values, bad, wrong_order, out_of_range = _date_values(distinct, shapes, order, raw.index)
                for i in bad[bad].index:
                    problems.append((i, canon, raw[i], f"{canon} is not a date/time"))
                for i in wrong_order[wrong_order].index:
                    problems.append((i, canon, raw[i], f"{canon} is not a {order} date ({_PATTERN[order]}, the "
                                                       f"order of this column)"))
                for i in out_of_range[out_of_range].index:
                    problems.append((i, canon, raw[i], f"{canon} is out of range (dates from "
                                                       f"{DATE_MIN:%Y-%m-%d} to {DATE_MAX:%Y-%m-%d})"))
            else:
                distinct = _Distinct.of_text(raw)
                if canon == S.CATEGORY:
                    values = distinct.take([_category_path(v) for v in distinct.values])
                else:
                    values = distinct.take(distinct.values)
                if canon in _ID_COLUMNS:
                    sci = [bool(_SCIENTIFIC_ID.fullmatch(v)) for v in distinct.values]
                    if any(sci):
                        cells = distinct.mask(sci).to_numpy()
                        self._scientific[canon].add(lines[cells].to_numpy(), values[cells].iloc[:5].tolist())
            typed[canon] = values
        if kind == S.ORDERS:
            if S.QUANTITY not in typed:
                typed[S.QUANTITY] = 1.0
            else:  # blank -> 1 (a cell rejected above is filled too; its row is dropped anyway)
                typed[S.QUANTITY] = typed[S.QUANTITY].fillna(1.0)

        try:
            # inplace: these schemas neither coerce nor add columns, so nothing is written; pandera's
            # defensive copy of a million-row frame is skipped
            _SCHEMAS[kind].validate(typed, lazy=True, inplace=True)
        except pa.errors.SchemaErrors as exc:
            fc = exc.failure_cases
            fc = fc[fc["index"].notna()]
            for _, r in fc.iterrows():
                col = r["column"]
                check = str(r["check"])
                reason = (f"{col} is required but empty" if "not_nullable" in check else check)
                idx = int(r["index"])
                value = frame.at[idx, mapping[col]] if col in mapping else r["failure_case"]
                problems.append((idx, col, value, reason))

        if kind == S.CATALOG:
            # only rows that pass every other check compete for an id: the first valid row (in the whole
            # file) keeps it (a bad price on row 2 must not make the corrected row 3 a "duplicate" of a row
            # never stored)
            rejected = {p[0] for p in problems}
            ids = typed[S.PRODUCT_ID][~typed.index.isin(list(rejected))]
            ids = ids[ids.notna()]
            first_line = self._first_id_line
            for i, pid in zip(ids.index, ids.to_numpy()):
                if pid in first_line:
                    problems.append((i, S.PRODUCT_ID, pid, f"duplicate product_id (first seen on row "
                                                           f"{first_line[pid]})"))
                else:
                    first_line[pid] = int(lines[i])

        self._rejects += [(file, int(lines[i]), mapping.get(col, col),
                           None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v), reason)
                          for i, col, v, reason in problems]
        self._rejects += [(file, line, None, None, reason) for line, reason in chunk.malformed]
        self._records += len(frame)
        self._malformed += len(chunk.malformed)
        bad_idx = {p[0] for p in problems}
        valid = typed.drop(index=list(bad_idx)) if bad_idx else typed
        valid = valid.assign(_line=lines[valid.index].to_numpy()).reset_index(drop=True)
        if kind == S.ORDERS:
            valid[S.QUANTITY] = valid[S.QUANTITY].astype("int64")
            if S.ORDER_NUMBER in valid:
                valid[S.ORDER_NUMBER] = valid[S.ORDER_NUMBER].astype("Int64")
        self._loaded += len(valid)
        if self._empty_valid is None:
            self._empty_valid = valid.iloc[:0]
        return valid

    def result(self, valid: pd.DataFrame | None, encoding: str, delimiter: str) -> ValidationResult:
        """The file's :class:`ValidationResult` after pass 2.

        ``valid``: the concatenated valid rows, or None when the caller kept none of them (a streamed
        import): ``valid`` is then an empty frame with the columns and ``rows_loaded`` the count.
        """
        file = self.file
        warnings: list[str] = []
        format_notes: list[str] = []
        number_format: dict[str, dict] = {}
        date_format: dict[str, str] = {}
        for canon in self._canons:
            if canon in self._numbers:
                summary = self._numbers[canon]
                dec, how = self.decimals[canon]
                used = self._used_thousands[canon]
                th = min(used) if used else None
                number_format[canon] = {"decimal": dec, "thousands": th}
                withheld = self._withheld[canon]
                if withheld.count:
                    warnings.append(_undecided_warning(file, canon, self.label(canon), summary, withheld, how))
                elif dec and (dec != "." or th) and summary.present is not None:
                    note = _format_note(file, self.label(canon), summary, dec, th, how)
                    warnings.append(note)
                    format_notes.append(note)
            elif canon in self._dates:
                order, proof = self.orders[canon]
                if order is not None:
                    date_format[canon] = order
                    why = (f"row {proof[0]} ({str(proof[1]).strip()!r}) can only be {order}"
                           if proof is not None else "as chosen")
                    note = f"{file}: dates in {self.label(canon)} read {order} ({_PATTERN[order]}): {why}"
                    warnings.append(note)
                    format_notes.append(note)
            elif canon in self._scientific and self._scientific[canon].count:
                warnings.append(_scientific_ids(file, self.label(canon), self._scientific[canon]))
        head = []
        if self._records == 0 and not self._malformed:
            head.append(f"{file}: no data rows (only a header)")
        head += [f"{file}: {self._mapping_notes[c]}" for c in self.mapping if c in self._mapping_notes]
        unmapped = [c for c in self.columns if c not in self.mapping.values()]
        if unmapped:
            head.append(f"{file}: column(s) not used: {', '.join(map(str, unmapped))}")
        rejects = _rejects_frame(self._rejects).sort_values(["row", "column"], na_position="first", kind="stable")
        loaded = None
        if valid is None:
            valid, loaded = self._empty_valid, self._loaded
        return ValidationResult(self.kind, file, valid, rejects.reset_index(drop=True),
                                self._records + self._malformed, encoding, delimiter, self.mapping,
                                head + warnings, number_format, date_format, format_notes, loaded)


def validate_table(read: ReadResult, kind: str, file: str, mapping: dict | None = None, *,
                   decimal: str | None = None, dayfirst: bool | None = None) -> ValidationResult:
    """Map, type and check a parsed file (one chunk of :class:`TableValidator`).

    Numbers are read with one decimal separator per column, decided from all its values: a cell
    that can only be read one way ('12,99', '1.234,56', '1,299.00') decides it; when every cell
    with a separator is ambiguous ('1,250': 1.25 or 1250) the other numeric columns of the file
    decide, and when they cannot either, those cells are not stored (an optional column is left
    empty, a row with such a quantity is rejected) and a warning asks for the separator. Numeric
    dates (``03/04/2026 10:00``, year last) are read day-first or month-first for the whole column:
    the order is proven by the cells that can only be read one way (``25/03`` is day-first) or given
    by ``dayfirst``. ISO 8601 dates and dates with month names are never ambiguous. Cells with an
    offset or zone ('2024-01-05T10:00:00Z', '+02:00') are converted to UTC; cells without one are
    taken as UTC already; dates are stored as naive UTC.

    Parameters
    ----------
    read : ReadResult
        From :func:`core.ingest.read.read_table`.
    kind : {'catalog', 'orders', 'reviews'}
    file : str
        File name used in every reject and message.
    mapping : dict, optional
        ``{canonical: source column}``; missing entries are filled by :func:`suggest_mapping`.
    decimal : {',', '.'}, optional
        The decimal separator of every numeric column, as the user chose it; the other of ',' and
        '.' is then the thousands separator. Detected per column when None.
    dayfirst : bool, optional
        Numeric dates (``03/04/2026``) are day-first (True) or month-first (False), as the user
        chose it. Inferred per column when None.

    Returns
    -------
    ValidationResult

    Raises
    ------
    TypeError
        ``dayfirst`` is not a bool or None.
    ValueError
        Unknown ``kind``, or ``decimal`` is not ',', '.' or None.
    MappingError
        The mapping names a column the file lacks or maps one column to two fields, or a required
        column is missing.
    SchemaError
        Without ``dayfirst``, a date column's numeric dates are all ambiguous (every value could be
        day-first or month-first) or conflict (some only day-first, others only month-first); the
        message names the file and column and lists the rows.
    """
    v = TableValidator(read.frame.columns, kind, file, mapping, decimal=decimal, dayfirst=dayfirst)
    v.scan(read)
    v.decide()
    valid = v.validate(read)
    return v.result(valid, read.encoding, read.delimiter)


def _format_note(file: str, label: str, s: _NumberSummary, dec: str, th: str | None, how: str) -> str:
    """The note for a column not read the plain way, e.g. "numbers in column 'price' read with decimal ','
    and thousands separator '.' (row 2: '12,99')"."""
    name = {",": "','", ".": "'.'", " ": "a space", "'": "an apostrophe"}
    what = f"decimal {name[dec]}" + (f" and thousands separator {name[th]}" if th else "")
    if how == "chosen":
        why = "as chosen"
    elif how == "file":
        why = "as the other numeric columns of the file show; every value here reads either way"
    else:
        # decimal '.' by default, with spaces or apostrophes as thousands separators
        line, text = s.proofs[dec] if dec in s.proofs else (s.grouped or s.present)
        why = f"row {line}: {text!r}"
    return f"{file}: numbers in {label} read with {what} ({why})"


def _undecided_warning(file: str, canon: str, label: str, s: _NumberSummary, withheld: _Rows, how: str) -> str:
    rows = withheld.text(limit=20)
    n = withheld.count
    if how == "conflict":
        (dot_line, dot), (comma_line, comma) = s.proofs["."], s.proofs[","]
        why = (f"its values mix a decimal point (row {dot_line}: {dot!r}) and a decimal comma "
               f"(row {comma_line}: {comma!r})")
    else:
        _, text, v = s.ambiguous
        a, b = float(_number_text(v, ",")), float(_number_text(v, "."))
        why = (f"every value with a separator reads two ways ({text!r} is {a:g} with a decimal comma, "
               f"{b:g} with a thousands comma)" if "," in v else
               f"every value with a separator reads two ways ({text!r} is {b:g} with a decimal point, "
               f"{a:g} with a thousands point)")
    fate = "those rows were rejected" if canon == S.QUANTITY else f"{canon} was left empty on those rows"
    return (f"{file}: {label}: the decimal separator cannot be decided: {why}; {n:,} value(s) on {rows} "
            f"were not stored ({fate}). Choose the decimal separator (',' or '.') and import again")


def _scientific_ids(file: str, label: str, hits: _Rows) -> str:
    """A warning when ids look like numbers Excel wrote in scientific notation (6.93E+12): their digits
    are lost. The rows are kept (the value is still an id, only a wrong one)."""
    first = ", ".join(f"{line} ({v!r})" for line, v in zip(hits.lines, hits.values))
    rows = ("row " if hits.count == 1 else "rows ") + first + (", ..." if hits.count > 5 else "")
    return (f"{file}: {label}: {hits.count:,} id(s) look like numbers Excel turned into scientific notation "
            f"({rows}); their digits are lost, so they will not match "
            f"the other files: format the column as text in the spreadsheet, export again and re-import")


def _rejects_frame(rows: list[tuple]) -> pd.DataFrame:
    """The reject report as a frame: ``row`` int64, the rest object so a missing column/value stays
    ``None`` (pandas' string inference would turn it into NaN, printed as 'nan')."""
    cols = list(zip(*rows)) if rows else [()] * len(S.REJECT_COLUMNS)
    return pd.DataFrame({name: pd.Series(list(vals), dtype="int64" if name == "row" else object)
                         for name, vals in zip(S.REJECT_COLUMNS, cols)})


def load_table(data: bytes, name: str, kind: str, mapping: dict | None = None, *, decimal: str | None = None,
               dayfirst: bool | None = None) -> ValidationResult:
    """Read and validate in one call (see :func:`read_table` and :func:`validate_table`)."""
    return validate_table(read_table(data, name), kind, name, mapping, decimal=decimal, dayfirst=dayfirst)
