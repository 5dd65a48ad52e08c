"""Map columns to the canonical schema, type them, and report every rejected row.

A file is refused as a whole only when a required column is missing; otherwise each bad row is
rejected on its own with (file, row, column, value, reason) and every good row is kept.
Range and presence checks are declared as pandera schemas; type coercion is done here so the
failure can name the unparseable value.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

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
    encoding, delimiter : str
    mapping : dict
        ``{canonical: source column}`` that was applied.
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

    @property
    def rows_loaded(self) -> int:
        return len(self.valid)

    @property
    def rows_rejected(self) -> int:
        return int(self.rejects["row"].nunique()) if len(self.rejects) else 0


def _text(col: pd.Series) -> pd.Series:
    """Strip cells; blank and missing-value markers become missing (never the string 'nan')."""
    s = col.astype("string").str.strip()
    missing = s.isna() | s.str.lower().isin(_MISSING_MARKERS)
    return s.astype(object).where(~missing.to_numpy(dtype=bool), None)


def _number(col: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse numbers ('12.5', '1,234.50').

    Returns ``(values, unparseable, non_finite)``: float64 values (missing where a cell is blank,
    unparseable or non-finite) and two masks of present cells that are not a number, or that are
    'inf', 'Infinity', '1e400' (overflows to inf) and the like.
    """
    raw = _text(col)
    cleaned = pd.Series([None if v is None else v.replace(" ", "").replace("\u00a0", "") for v in raw],
                        index=raw.index, dtype=object)
    plain = pd.to_numeric(cleaned, errors="coerce")
    # thousands separators like 1,234.50 (comma before a dot)
    needs = plain.isna() & cleaned.notna()
    if needs.any():
        alt = pd.Series([v.replace(",", "") if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", v) else v
                         for v in cleaned[needs]], index=cleaned[needs].index, dtype=object)
        plain.loc[needs] = pd.to_numeric(alt, errors="coerce")
    plain = plain.astype("float64")
    non_finite = pd.Series(np.isinf(plain.to_numpy()), index=plain.index)
    plain = plain.mask(non_finite)
    bad = plain.isna() & cleaned.notna() & ~non_finite
    return plain, bad, non_finite


#: Dates are stored as naive UTC in nanoseconds; outside these bounds a date is a placeholder
#: ('0001-01-01', '9999-12-31') or a typo, and would overflow the nanosecond range anyway.
DATE_MIN, DATE_MAX = pd.Timestamp("1678-01-01"), pd.Timestamp("2261-12-31 23:59:59.999999")
# text whose meaning depends on when the file is imported: never a recorded date
_RELATIVE = re.compile(r"(?i)^(now|today|tomorrow|yesterday|\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([ap]\.?m\.?)?)$")


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


def _datetime(col: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse dates/times, each cell on its own format; stored as naive UTC.

    Cells with an offset or zone ('2024-01-05T10:00:00Z', '+02:00', '-0500') are converted to UTC;
    cells without one are taken as UTC already. The zone is then dropped, so the column is
    ``datetime64[ns]`` of UTC wall time.

    Returns ``(values, not_a_date, out_of_range)``: the two masks mark present cells that do not
    parse (relative words such as 'now' or 'today' and bare times included: their value would be the
    import time) and dates outside [:data:`DATE_MIN`, :data:`DATE_MAX`].
    """
    raw = _text(col)
    present = raw.notna()
    none = present & False
    if not present.any():
        return pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]"), none, none
    relative = pd.Series([v is not None and _RELATIVE.match(v) is not None for v in raw], index=raw.index)
    parsed = _parse_dates(raw.where(~relative, None)).dt.tz_localize(None)
    out_of_range = parsed.notna() & ((parsed < DATE_MIN) | (parsed > DATE_MAX))
    parsed = parsed.mask(out_of_range)
    bad = parsed.isna() & present & ~out_of_range
    return parsed.astype("datetime64[ns]"), bad, out_of_range


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
    parts = [p.strip() for p in re.split(r"\s*(?:>|/|\|)\s*", v) if p.strip()]
    return f" {S.CATEGORY_SEP} ".join(parts) if parts else None


def validate_table(read: ReadResult, kind: str, file: str, mapping: dict | None = None) -> ValidationResult:
    """Map, type and check a parsed file.

    Parameters
    ----------
    read : ReadResult
        From :func:`core.ingest.read.read_table`.
    kind : {'catalog', 'orders', 'reviews'}
    file : str
        File name used in every reject and message.
    mapping : dict, optional
        ``{canonical: source column}``; missing entries are filled by :func:`suggest_mapping`.

    Returns
    -------
    ValidationResult

    Raises
    ------
    MappingError
        The mapping names a column the file lacks or maps one column to two fields, or a required
        column is missing.
    """
    if kind not in S.COLUMNS:
        raise ValueError(f"kind must be one of {S.KINDS}, got {kind!r}")
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

    for canon in S.COLUMNS[kind]:
        if canon not in mapping:
            continue
        raw = frame[mapping[canon]]
        if canon in _NUMERIC:
            values, bad, non_finite = _number(raw)
            for i in bad[bad].index:
                problems.append((i, canon, raw[i], f"{canon} is not a number"))
            for i in non_finite[non_finite].index:
                problems.append((i, canon, raw[i], f"{canon} must be a finite number"))
        elif canon in _DATETIME:
            values, bad, out_of_range = _datetime(raw)
            for i in bad[bad].index:
                problems.append((i, canon, raw[i], f"{canon} is not a date/time"))
            for i in out_of_range[out_of_range].index:
                problems.append((i, canon, raw[i], f"{canon} is out of range (dates from "
                                                   f"{DATE_MIN:%Y-%m-%d} to {DATE_MAX:%Y-%m-%d})"))
        else:
            values = _text(raw)
            if canon == S.CATEGORY:
                values = pd.Series([_category_path(v) for v in values], index=values.index, dtype=object)
        typed[canon] = values
    if kind == S.ORDERS:
        if S.QUANTITY not in typed:
            typed[S.QUANTITY] = 1.0
        else:
            typed[S.QUANTITY] = typed[S.QUANTITY].fillna(1.0)

    try:
        _SCHEMAS[kind].validate(typed, lazy=True)
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

    warnings = []
    if len(frame) == 0 and not read.malformed:
        warnings.append(f"{file}: no data rows (only a header)")
    warnings += [f"{file}: {notes[c]}" for c in mapping if c in notes]
    unmapped = [c for c in frame.columns if c not in mapping.values()]
    if unmapped:
        warnings.append(f"{file}: column(s) not used: {', '.join(map(str, unmapped))}")
    return ValidationResult(kind, file, valid, rejects.reset_index(drop=True), len(frame) + len(read.malformed),
                            read.encoding, read.delimiter, mapping, warnings)


def _rejects_frame(rows: list[tuple]) -> pd.DataFrame:
    """The reject report as a frame: ``row`` int64, the rest object so a missing column/value stays
    ``None`` (pandas' string inference would turn it into NaN, printed as 'nan')."""
    cols = list(zip(*rows)) if rows else [()] * len(S.REJECT_COLUMNS)
    return pd.DataFrame({name: pd.Series(list(vals), dtype="int64" if name == "row" else object)
                         for name, vals in zip(S.REJECT_COLUMNS, cols)})


def load_table(data: bytes, name: str, kind: str, mapping: dict | None = None) -> ValidationResult:
    """Read and validate in one call (see :func:`read_table` and :func:`validate_table`)."""
    return validate_table(read_table(data, name), kind, name, mapping)
