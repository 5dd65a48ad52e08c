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

    @property
    def rows_loaded(self) -> int:
        return len(self.valid)

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
    thousands: str | None   # the thousands separator the parsed cells used


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
    thousands = None
    if decimal is None:
        withheld = ev.is_shape(".", ",", "?")
        texts = [None if k in (".", ",", "?") else c for c, k in zip(ev.cleaned, ev.shapes)]
    else:
        withheld = none
        texts = [_number_text(c, decimal) for c in ev.cleaned]
        used = ev.thousands - {",", "."}
        if any(_GROUPED[decimal].fullmatch(c) for c in ev.cleaned):
            used.add(_OTHER[decimal])
        thousands = min(used) if used else None
    # parsed once per distinct value, then spread to the cells
    per_value = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").astype("float64")
    values = ev.distinct.floats(per_value.to_numpy())
    non_finite = pd.Series(np.isinf(values.to_numpy()), index=values.index)
    values = values.mask(non_finite)
    failed = values.isna() & present & ~non_finite & ~withheld
    mismatch = failed & ev.is_shape(_OTHER[decimal]) if decimal else none
    return _Parsed(values, failed & ~mismatch, mismatch, non_finite, withheld, thousands)


def _decide_decimal(ev: _NumberColumn, file_proofs: set) -> tuple[str | None, str]:
    """``(decimal, how)``: how is 'column' (its own cells prove it), 'file' (its cells are all ambiguous
    and the file's other numeric columns agree on one separator), 'default' (no cell has a
    separator that matters), 'conflict' or 'ambiguous' (decimal None)."""
    if len(ev.proofs) == 2:
        return None, "conflict"
    if ev.proofs:
        return next(iter(ev.proofs)), "column"
    if not ev.ambiguous.any():
        return ".", "default"
    if len(file_proofs) == 1:
        return next(iter(file_proofs)), "file"
    return None, "ambiguous"


def _rows_text(lines, limit: int = 10) -> str:
    """'row 3', 'rows 2, 3, 4' or 'rows 2, 3, ... (25 rows)' for physical line numbers."""
    lines = [int(x) for x in lines]
    shown = ", ".join(str(x) for x in lines[:limit])
    return ("row " if len(lines) == 1 else "rows ") + shown + (f", ... ({len(lines):,} rows)" if len(lines) > limit
                                                               else "")


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


def _datetime(col: pd.Series, *, dayfirst: bool | None = None, file: str = "", source: str = "",
              canon: str = "", lines: pd.Series | None = None):
    """Parse dates/times with one day/month order for the whole column; stored as naive UTC.

    Numeric dates with the year last (``03/04/2026 10:00``) are read day-first or month-first for
    the whole column: the order is proven by the cells that can only be read one way (``25/03``
    is day-first) or given by ``dayfirst``. ISO 8601 dates (``2026-03-04``) and dates with month
    names are never ambiguous. Cells with an offset or zone ('2024-01-05T10:00:00Z', '+02:00',
    '-0500') are converted to UTC; cells without one are taken as UTC already. The zone is then
    dropped, so the column is ``datetime64[ns]`` of UTC wall time.

    Returns
    -------
    ``(values, not_a_date, wrong_order, out_of_range, order, proof)``: the masks mark present cells
    that do not parse (relative words such as 'now' or 'today' and bare times included: their value
    would be the import time), numeric dates that are dates only in the other order (``03/26/2026``
    in a day-first column chosen with ``dayfirst``), and dates outside [:data:`DATE_MIN`,
    :data:`DATE_MAX`]; ``order`` is ``DAY_FIRST`` / ``MONTH_FIRST`` when the column's order was
    inferred or chosen, None when nothing needed deciding (no numeric dates, or only ones like
    ``05/05/2026`` that read the same both ways), and ``proof`` the index of the first cell that
    proves the inferred order.

    Raises
    ------
    SchemaError
        Without ``dayfirst``: every numeric date could be read both ways, or some cells can only be
        day-first and others only month-first. The message names the column and lists the rows.
    """
    distinct = _Distinct.of_text(col)
    present = pd.Series(distinct.codes >= 0, index=col.index)
    none = present & False
    if not present.any():
        empty = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]")
        return empty, none, none, none, None, None
    shapes = [_date_shape(v) for v in distinct.values]
    order, proof = None, None
    if any(shapes):
        def cells(kind):
            return col.index[distinct.mask([sh == kind for sh in shapes]).to_numpy()]

        raw = distinct.take(distinct.values)
        day, month = cells(DAY_FIRST), cells(MONTH_FIRST)
        label = f"{source!r}" + (f" ({canon})" if canon and canon != source else "")
        if dayfirst is not None:
            order = DAY_FIRST if dayfirst else MONTH_FIRST
        elif len(day) and len(month):
            raise SchemaError(
                f"the dates in {label} mix day-first and month-first: day-first only on "
                f"{_rows_text(lines[day])} (e.g. {raw[day[0]]!r}), month-first only on "
                f"{_rows_text(lines[month])} (e.g. {raw[month[0]]!r}); one format per column: fix those rows, or "
                f"choose the order (day-first DD/MM/YYYY or month-first MM/DD/YYYY) and import again",
                file=file, column=source)
        elif len(day) or len(month):
            order, proof = (DAY_FIRST, day[0]) if len(day) else (MONTH_FIRST, month[0])
        elif "?" in shapes:
            amb = cells("?")
            raise SchemaError(
                f"the dates in {label} could be day-first or month-first (e.g. {raw[amb[0]]!r}): no value "
                f"shows which, on {_rows_text(lines[amb], limit=20)}; choose the order (day-first "
                f"DD/MM/YYYY or month-first MM/DD/YYYY) and import again", file=file, column=source)
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
    return (pd.Series(values, index=col.index), distinct.mask(bad.to_numpy()), distinct.mask(wrong),
            distinct.mask(out_of_range.to_numpy()), order, proof)


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


def validate_table(read: ReadResult, kind: str, file: str, mapping: dict | None = None, *,
                   decimal: str | None = None, dayfirst: bool | None = None) -> ValidationResult:
    """Map, type and check a parsed file.

    Numbers are read with one decimal separator per column, decided from all its values: a cell
    that can only be read one way ('12,99', '1.234,56', '1,299.00') decides it; when every cell
    with a separator is ambiguous ('1,250': 1.25 or 1250) the other numeric columns of the file
    decide, and when they cannot either, those cells are not stored (an optional column is left
    empty, a row with such a quantity is rejected) and a warning asks for the separator. Numeric
    dates are read with one day/month order per column in the same way (see :func:`_datetime`).

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
    if kind not in S.COLUMNS:
        raise ValueError(f"kind must be one of {S.KINDS}, got {kind!r}")
    if decimal not in (None, ",", "."):
        raise ValueError(f"decimal must be ',' or '.' (or None to detect it), got {decimal!r}")
    if dayfirst is not None and not isinstance(dayfirst, (bool, np.bool_)):
        raise TypeError(f"dayfirst must be a bool or None, got {type(dayfirst).__name__}")
    frame = read.frame
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
    auto, notes = _suggest([c for c in frame.columns if c not in targets], kind, skip=explicit)
    mapping = {**auto, **explicit}
    for canon, src in mapping.items():
        if canon not in S.COLUMNS[kind]:
            raise MappingError(f"{canon!r} is not a {kind} field; fields are {', '.join(S.COLUMNS[kind])}",
                               file=file)
        if src not in frame.columns:
            raise MappingError(f"mapped column {src!r} is not in the file; columns are "
                               f"{', '.join(map(str, frame.columns))}", file=file, column=src)
    missing = [c for c in S.REQUIRED[kind] if c not in mapping]
    if missing:
        raise MappingError(f"required column(s) missing: {', '.join(missing)}; the file has "
                           f"{', '.join(map(str, frame.columns))}", file=file, column=missing[0])

    lines = pd.Series(read.line_numbers, index=frame.index)
    typed = pd.DataFrame(index=frame.index)
    problems: list[tuple[int, str, object, str]] = []  # (frame index, canonical column, value, reason)
    warnings: list[str] = []
    format_notes: list[str] = []
    number_format: dict[str, dict] = {}
    date_format: dict[str, str] = {}

    def label(canon: str) -> str:
        src = str(mapping[canon])
        return f"column {src!r}" + (f" ({canon})" if src != canon else "")

    # numbers: evidence from every numeric column first, so that a column whose cells are all
    # ambiguous can take the separator the rest of the file proves
    evidence = {canon: _number_evidence(frame[mapping[canon]]) for canon in S.COLUMNS[kind]
                if canon in mapping and canon in _NUMERIC}
    file_proofs = {sep for ev in evidence.values() for sep in ev.proofs}

    for canon in S.COLUMNS[kind]:
        if canon not in mapping:
            continue
        raw = frame[mapping[canon]]
        if canon in _NUMERIC:
            ev = evidence[canon]
            dec, how = (decimal, "chosen") if decimal else _decide_decimal(ev, file_proofs)
            parsed = _number(ev, dec)
            values, th = parsed.values, parsed.thousands
            number_format[canon] = {"decimal": dec, "thousands": th}
            for mask, reason in ((parsed.unparseable, f"{canon} is not a number"),
                                 (parsed.mismatch, f"{canon} is not a number with the decimal separator {dec!r} "
                                                   f"of this column"),
                                 (parsed.non_finite, f"{canon} must be a finite number")):
                for i in mask[mask].index:
                    problems.append((i, canon, raw[i], reason))
            withheld = parsed.withheld
            if withheld.any():
                warnings.append(_undecided_warning(file, canon, label(canon), ev, withheld, lines, how))
                if canon == S.QUANTITY:  # a missing quantity would default to 1: reject, never guess
                    for i in withheld[withheld].index:
                        problems.append((i, canon, raw[i], f"{canon} {raw[i]!r} reads as a different number with "
                                                           f"a decimal comma or a decimal point; choose the "
                                                           f"decimal separator"))
            elif dec and (dec != "." or th) and ev.present.any():
                note = _format_note(file, label(canon), ev, dec, th, how, lines)
                warnings.append(note)
                format_notes.append(note)
        elif canon in _DATETIME:
            values, bad, wrong_order, out_of_range, order, proof = _datetime(
                raw, dayfirst=dayfirst, file=file, source=str(mapping[canon]), canon=canon, lines=lines)
            for i in bad[bad].index:
                problems.append((i, canon, raw[i], f"{canon} is not a date/time"))
            for i in wrong_order[wrong_order].index:
                problems.append((i, canon, raw[i], f"{canon} is not a {order} date ({_PATTERN[order]}, the "
                                                   f"order of this column)"))
            for i in out_of_range[out_of_range].index:
                problems.append((i, canon, raw[i], f"{canon} is out of range (dates from "
                                                   f"{DATE_MIN:%Y-%m-%d} to {DATE_MAX:%Y-%m-%d})"))
            if order is not None:
                date_format[canon] = order
                why = (f"row {int(lines[proof])} ({str(raw[proof]).strip()!r}) can only be {order}"
                       if proof is not None else "as chosen")
                note = f"{file}: dates in {label(canon)} read {order} ({_PATTERN[order]}): {why}"
                warnings.append(note)
                format_notes.append(note)
        else:
            distinct = _Distinct.of_text(raw)
            if canon == S.CATEGORY:
                values = distinct.take([_category_path(v) for v in distinct.values])
            else:
                values = distinct.take(distinct.values)
            if canon in _ID_COLUMNS:
                warnings += _scientific_ids(file, label(canon), distinct, lines)
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
        # only rows that pass every other check compete for an id: the first valid row keeps it
        # (a bad price on row 2 must not make the corrected row 3 a "duplicate" of a row never stored)
        rejected = {p[0] for p in problems}
        ids = typed[S.PRODUCT_ID][~typed.index.isin(list(rejected))]
        ids = ids[ids.notna()]
        dup = ids.duplicated(keep="first")
        first_line = dict(zip(ids[~dup], lines[ids[~dup].index]))
        for i in dup[dup].index:
            problems.append((i, S.PRODUCT_ID, ids[i], f"duplicate product_id (first seen on row {first_line[ids[i]]})"))

    source = {canon: mapping[canon] for canon in mapping}
    rej_rows = [(file, int(lines[i]), source.get(col, col), None if v is None or (isinstance(v, float) and np.isnan(v))
                 else str(v), reason) for i, col, v, reason in problems]
    rej_rows += [(file, line, None, None, reason) for line, reason in read.malformed]
    rejects = _rejects_frame(rej_rows).sort_values(["row", "column"], na_position="first", kind="stable")
    bad_idx = {p[0] for p in problems}
    valid = typed.drop(index=list(bad_idx)) if bad_idx else typed
    valid = valid.assign(_line=lines[valid.index].to_numpy()).reset_index(drop=True)
    if kind == S.ORDERS:
        valid[S.QUANTITY] = valid[S.QUANTITY].astype("int64")
        if S.ORDER_NUMBER in valid:
            valid[S.ORDER_NUMBER] = valid[S.ORDER_NUMBER].astype("Int64")

    head = []
    if len(frame) == 0 and not read.malformed:
        head.append(f"{file}: no data rows (only a header)")
    head += [f"{file}: {notes[c]}" for c in mapping if c in notes]
    unmapped = [c for c in frame.columns if c not in mapping.values()]
    if unmapped:
        head.append(f"{file}: column(s) not used: {', '.join(map(str, unmapped))}")
    return ValidationResult(kind, file, valid, rejects.reset_index(drop=True), len(frame) + len(read.malformed),
                            read.encoding, read.delimiter, mapping, head + warnings, number_format, date_format,
                            format_notes)


def _format_note(file: str, label: str, ev: _NumberColumn, dec: str, th: str | None, how: str, lines) -> str:
    """The note for a column not read the plain way, e.g. "numbers in column 'price' read with decimal ','
    and thousands separator '.' (row 2: '12,99')"."""
    name = {",": "','", ".": "'.'", " ": "a space", "'": "an apostrophe"}
    what = f"decimal {name[dec]}" + (f" and thousands separator {name[th]}" if th else "")
    if how == "chosen":
        why = "as chosen"
    elif how == "file":
        why = "as the other numeric columns of the file show; every value here reads either way"
    else:
        if dec in ev.proofs:
            i = ev.proofs[dec]
        else:  # decimal '.' by default, with spaces or apostrophes as thousands separators
            grouped = ev.distinct.mask([v != c for v, c in zip(ev.distinct.values, ev.cleaned)])
            i = grouped[grouped].index[0] if grouped.any() else ev.raw.first_valid_index()
        why = f"row {int(lines[i])}: {ev.raw[i]!r}"
    return f"{file}: numbers in {label} read with {what} ({why})"


def _undecided_warning(file: str, canon: str, label: str, ev: _NumberColumn, withheld, lines, how: str) -> str:
    rows = _rows_text(lines[withheld[withheld].index], limit=20)
    n = int(withheld.sum())
    if how == "conflict":
        dot, comma = ev.proofs["."], ev.proofs[","]
        why = (f"its values mix a decimal point (row {int(lines[dot])}: {ev.raw[dot]!r}) and a decimal comma "
               f"(row {int(lines[comma])}: {ev.raw[comma]!r})")
    else:
        i = ev.ambiguous[ev.ambiguous].index[0]
        v = ev.clean[i]
        a, b = float(_number_text(v, ",")), float(_number_text(v, "."))
        why = (f"every value with a separator reads two ways ({ev.raw[i]!r} is {a:g} with a decimal comma, "
               f"{b:g} with a thousands comma)" if "," in v else
               f"every value with a separator reads two ways ({ev.raw[i]!r} is {b:g} with a decimal point, "
               f"{a:g} with a thousands point)")
    fate = "those rows were rejected" if canon == S.QUANTITY else f"{canon} was left empty on those rows"
    return (f"{file}: {label}: the decimal separator cannot be decided: {why}; {n:,} value(s) on {rows} "
            f"were not stored ({fate}). Choose the decimal separator (',' or '.') and import again")


def _scientific_ids(file: str, label: str, distinct: _Distinct, lines) -> list[str]:
    """A warning when ids look like numbers Excel wrote in scientific notation (6.93E+12): their digits
    are lost. The rows are kept (the value is still an id, only a wrong one)."""
    sci = [bool(_SCIENTIFIC_ID.fullmatch(v)) for v in distinct.values]
    if not any(sci):
        return []
    cells = distinct.mask(sci)
    hit = distinct.take(distinct.values)[cells.to_numpy()]
    first = ", ".join(f"{int(lines[i])} ({hit[i]!r})" for i in hit.index[:5])
    rows = ("row " if len(hit) == 1 else "rows ") + first + (", ..." if len(hit) > 5 else "")
    return [f"{file}: {label}: {len(hit):,} id(s) look like numbers Excel turned into scientific notation "
            f"({rows}); their digits are lost, so they will not match "
            f"the other files: format the column as text in the spreadsheet, export again and re-import"]


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
