"""Column-mapping presets for the exports merchandisers actually have.

A preset turns the raw text frame of one export (``ReadResult.frame``: cells ``str`` or missing,
headers as written) into a frame with canonical column names (:mod:`core.schema`), ready for
:func:`core.ingest.validate.validate_table`. Simple formats are a header mapping; formats whose rows
are not one record each (Shopify variants, Shopify order lines with blank order fields) also have a
``transform``. Multi-file layouts (Instacart) have a ``combine`` that takes all the files at once.

Personal data: only the columns named in a preset's mapping ever leave :func:`apply_preset`, so
names, addresses and phone numbers are never carried (:data:`PERSONAL_DATA_COLUMNS` lists those of
the Shopify order export; :class:`Preset` refuses a mapping that names one). An e-mail address used
as the customer id is replaced by a salted SHA-256 hash (:func:`hash_email`).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from core import schema as S
from core.errors import MappingError, SchemaError

# --- personal data ------------------------------------------------------------------------------

#: Columns of the Shopify order export that identify or locate a person (checked against the 75
#: headers of a 2024 export: Name, Email, Financial Status, ... Payment References). None of them
#: is ever mapped; ``Email`` may be the customer id, and is then hashed.
SHOPIFY_ORDER_PERSONAL_COLUMNS = (
    "Email", "Phone",
    "Billing Name", "Billing Street", "Billing Address1", "Billing Address2", "Billing Company",
    "Billing City", "Billing Zip", "Billing Province", "Billing Province Name", "Billing Country",
    "Billing Phone",
    "Shipping Name", "Shipping Street", "Shipping Address1", "Shipping Address2", "Shipping Company",
    "Shipping City", "Shipping Zip", "Shipping Province", "Shipping Province Name", "Shipping Country",
    "Shipping Phone",
    "Notes", "Note Attributes", "Payment Reference", "Payment References", "Payment ID", "Receipt Number",
    "Employee", "Device ID",
)
#: Personal-data headers refused in any preset mapping (Shopify order and customer exports, WooCommerce
#: order exports). E-mail headers are allowed only as the customer id (hashed).
PERSONAL_DATA_COLUMNS = frozenset(h.lower() for h in SHOPIFY_ORDER_PERSONAL_COLUMNS + (
    "First Name", "Last Name", "Company", "Address1", "Address2", "City", "Province", "Province Code",
    "Country", "Country Code", "Zip", "Default Address Phone",
    "billing_first_name", "billing_last_name", "billing_email", "billing_phone", "billing_address_1",
    "billing_address_2", "billing_postcode", "billing_city", "billing_state", "billing_country",
    "billing_company", "shipping_first_name", "shipping_last_name", "shipping_address_1",
    "shipping_address_2", "shipping_postcode", "shipping_city", "shipping_state", "shipping_country",
    "shipping_company", "customer_note",
))
_EMAIL_HEADERS = frozenset({"email", "e-mail", "billing_email", "customer email"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def hash_email(value: str, salt: str) -> str:
    """Salted hash of an e-mail address, used as the customer id instead of the address.

    ``"email:" + sha256(salt + value.strip().lower())`` as 64 hex digits, so ``Ann@X.com `` and
    ``ann@x.com`` are the same customer. Without the salt the address could be recovered by hashing a
    list of known addresses; keep one salt per workspace, secret, and the same across imports.

    Parameters
    ----------
    value : str
        The e-mail address.
    salt : str
        Non-empty secret.

    Returns
    -------
    str
        ``"email:"`` followed by 64 lower-case hex digits.

    Raises
    ------
    TypeError
        ``value`` or ``salt`` is not a str.
    ValueError
        ``salt`` is empty.

    Examples
    --------
    >>> hash_email(" Ann@Example.com", "s") == hash_email("ann@example.com", "s")
    True
    >>> hash_email("ann@example.com", "s")[:6]
    'email:'
    """
    if not isinstance(value, str):
        raise TypeError(f"value must be a str, got {type(value).__name__}")
    _check_salt(salt)
    return "email:" + hashlib.sha256((salt + value.strip().lower()).encode("utf-8")).hexdigest()


def _check_salt(salt) -> None:
    if not isinstance(salt, str):
        raise TypeError(f"salt must be a str, got {type(salt).__name__}")
    if not salt:
        raise ValueError("salt must be a non-empty str (an unsalted hash of an e-mail can be reversed by "
                         "hashing known addresses)")


# --- the preset type ----------------------------------------------------------------------------

_ALL_CANONICAL = frozenset(c for cols in S.COLUMNS.values() for c in cols)


@dataclass(frozen=True)
class Preset:
    """How one export format maps onto a canonical table.

    Parameters
    ----------
    name : str
        Shown to the user.
    kind : {'catalog', 'orders', 'reviews'}
        The table this file fills (for a multi-file preset, the one its main file fills).
    mapping : mapping of str to str
        ``{canonical column: source header}``; stored read-only. With a ``transform`` it documents
        which headers are used (the transform may also use fallbacks, e.g. ``Lineitem name`` when
        ``Lineitem sku`` is blank).
    transform : callable, optional
        ``transform(raw_frame) -> frame`` applied before validation, returning canonical column names.
        Without one, :func:`apply_preset` renames the mapped columns and drops the others.
    description : str
    signatures : tuple of tuple of str, optional
        Header sets that identify the format (case-insensitive); :func:`suggest_preset` proposes the
        preset when every header of one set is present. Defaults to the mapping's headers.
    combine : callable, optional
        For multi-file layouts: ``combine({file name: bytes}) -> {kind: frame}``.

    Raises
    ------
    TypeError
        A field has the wrong type.
    ValueError
        Unknown kind or canonical column, or a personal-data header (name, address, phone) in the
        mapping; an e-mail header may only be mapped to ``customer_id``.
    """

    name: str
    kind: str
    mapping: Mapping[str, str]
    transform: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    description: str = ""
    signatures: tuple = ()
    combine: Callable[[dict], dict] | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"name must be a non-empty str, got {self.name!r}")
        if self.kind not in S.KINDS:
            raise ValueError(f"kind must be one of {S.KINDS}, got {self.kind!r}")
        if not isinstance(self.mapping, Mapping):
            raise TypeError(f"mapping must be a mapping of canonical column to header, got "
                            f"{type(self.mapping).__name__}")
        for canon, src in self.mapping.items():
            if canon not in _ALL_CANONICAL:
                raise ValueError(f"mapping: {canon!r} is not a canonical column ({', '.join(sorted(_ALL_CANONICAL))})")
            if not isinstance(src, str) or not src:
                raise TypeError(f"mapping: the source header of {canon!r} must be a non-empty str, got {src!r}")
            low = src.strip().lower()
            if low in _EMAIL_HEADERS and canon != S.CUSTOMER_ID:
                raise ValueError(f"mapping: e-mail column {src!r} may only be the customer_id (it is then hashed), "
                                 f"not {canon!r}")
            if low in PERSONAL_DATA_COLUMNS and low not in _EMAIL_HEADERS:
                raise ValueError(f"mapping: {src!r} is personal data (name, address or phone) and is never imported")
        for name in ("transform", "combine"):
            f = getattr(self, name)
            if f is not None and not callable(f):
                raise TypeError(f"{name} must be callable or None, got {type(f).__name__}")
        if not isinstance(self.description, str):
            raise TypeError(f"description must be a str, got {type(self.description).__name__}")
        sigs = tuple(tuple(s) for s in self.signatures) or (tuple(self.mapping.values()),)
        if any(isinstance(s, str) for s in self.signatures):
            raise TypeError("signatures must be a tuple of header tuples, e.g. (('Handle', 'Title'),)")
        object.__setattr__(self, "mapping", MappingProxyType(dict(self.mapping)))
        object.__setattr__(self, "signatures", sigs)


# --- helpers ------------------------------------------------------------------------------------

def _cell(v) -> str | None:
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
        return None
    return str(v).strip() or None


def _text(col: pd.Series) -> pd.Series:
    """Stripped text, object dtype; None (never NaN) for missing and blank cells."""
    return pd.Series([_cell(v) for v in col.astype(object)], index=col.index, dtype=object)


def _map(col: pd.Series, f) -> pd.Series:
    """``f`` over the present cells of a text column; None stays None (object dtype, no NaN)."""
    return pd.Series([None if v is None else f(v) for v in col], index=col.index, dtype=object)


def _find(frame: pd.DataFrame, *headers: str) -> str | None:
    """The frame's column matching the first of ``headers`` present (case-insensitive, stripped)."""
    by_lower = {}
    for c in frame.columns:
        by_lower.setdefault(str(c).strip().lower(), c)
    for h in headers:
        if h.lower() in by_lower:
            return by_lower[h.lower()]
    return None


def _need(frame: pd.DataFrame, preset: str, *headers: str) -> str:
    col = _find(frame, *headers)
    if col is None:
        raise MappingError(f"the {preset} needs a column {' or '.join(map(repr, headers))}; the file has "
                           f"{', '.join(map(str, frame.columns))}", column=headers[0])
    return col


def _col(frame: pd.DataFrame, *headers: str) -> pd.Series:
    col = _find(frame, *headers)
    return _text(frame[col]) if col is not None else pd.Series(None, index=frame.index, dtype=object)


def _first_non_empty(frame: pd.DataFrame, key: pd.Series) -> pd.DataFrame:
    """One row per key (order of first appearance): the first non-missing value of each column.

    The index of the result is the index label of each key's first row.
    """
    first_label = pd.Series(frame.index, index=frame.index).groupby(key.to_numpy(), sort=False).first()
    out = frame.groupby(key.to_numpy(), sort=False).first()  # skips None per column
    out.index = first_label.reindex(out.index).to_numpy()
    return out.astype(object).where(out.notna(), None)


def _frame(columns: dict, index) -> pd.DataFrame:
    return pd.DataFrame({k: pd.Series(v, index=index, dtype=object) if not isinstance(v, pd.Series)
                         else v.astype(object) for k, v in columns.items()}, index=index)


# --- Shopify ------------------------------------------------------------------------------------

def _shopify_products(frame: pd.DataFrame) -> pd.DataFrame:
    """Shopify product export -> one row per Handle (variant and image rows merged).

    Each field is the first non-empty value among the rows sharing the Handle (the first row holds
    the product fields, later rows only variant/image fields). Category: ``Type`` (``Product Type``
    in older exports) when the file fills it anywhere, else ``Product Category`` (Shopify's taxonomy).
    Rows with a blank Handle stay one row each, so validation reports them.
    """
    handle_col = _need(frame, "Shopify product export", "Handle")
    handle = _text(frame[handle_col])
    category = _col(frame, "Type", "Product Type")
    if category.isna().all():
        category = _col(frame, "Product Category")
    rows = _frame({
        S.PRODUCT_ID: handle,
        S.TITLE: _col(frame, "Title"),
        S.CATEGORY: category,
        S.DESCRIPTION: _col(frame, "Body (HTML)", "Body HTML"),
        S.PRICE: _col(frame, "Variant Price"),
        S.BRAND: _col(frame, "Vendor"),
    }, frame.index)
    key = handle.where(handle.notna(), pd.Series([f"\0row{i}" for i in range(len(frame))], index=frame.index))
    return _first_non_empty(rows, key)


def shopify_variant_aliases(frame: pd.DataFrame) -> dict[str, str]:
    """``{Variant SKU: Handle}`` from a raw Shopify product export.

    Shopify order exports name variants by ``Lineitem sku`` while the catalog (this preset) is keyed
    by Handle; pass these aliases to :func:`apply_preset` for the order file so its lines join the
    catalog. SKUs blank in the file are skipped.

    Raises
    ------
    MappingError
        The frame has no ``Handle`` column.
    """
    handle = _text(frame[_need(frame, "Shopify product export", "Handle")])
    sku = _col(frame, "Variant SKU")
    ok = handle.notna() & sku.notna()
    return dict(zip(sku[ok], handle[ok]))


def _shopify_orders(frame: pd.DataFrame) -> pd.DataFrame:
    """Shopify order export -> one row per line item, order-level fields filled on every line.

    Shopify writes the order-level fields (``Email``, ``Created at``, totals, addresses) on the first
    row of an order and leaves them blank on its other rows; they are taken from the order's first
    row that has them. The product is ``Lineitem sku``, or ``Lineitem name`` where the SKU is blank.
    """
    name_col = _need(frame, "Shopify order export", "Name")
    _need(frame, "Shopify order export", "Lineitem sku", "Lineitem name")
    order = _text(frame[name_col])
    product = _col(frame, "Lineitem sku")
    product = product.where(product.notna(), _col(frame, "Lineitem name"))

    def order_level(*headers):
        values = _col(frame, *headers)
        filled = values.groupby(order.to_numpy(), sort=False).transform("first")
        return filled.where(order.notna(), values).astype(object).where(lambda s: s.notna(), None)

    return _frame({
        S.ORDER_ID: order,
        S.PRODUCT_ID: product,
        S.CUSTOMER_ID: order_level("Email"),
        S.QUANTITY: _col(frame, "Lineitem quantity"),
        S.PRICE: _col(frame, "Lineitem price"),
        S.ORDERED_AT: order_level("Created at"),
    }, frame.index)


# --- WooCommerce --------------------------------------------------------------------------------

_CSV_INJECTION_GUARD = re.compile(r"^'(?=[=+\-@\t\r])")


def _woo_text(col: pd.Series) -> pd.Series:
    """Cells as WooCommerce meant them: its exporter prefixes ``'`` to values starting with = + - @."""
    return _map(_text(col), lambda v: _CSV_INJECTION_GUARD.sub("", v))


def woo_first_category(value: str | None) -> str | None:
    """First entry of a WooCommerce ``Categories`` cell: ``"Clothing > Tshirts, Clothing"`` -> ``"Clothing > Tshirts"``.

    Entries are separated by ``", "``; a comma inside a category name is written ``\\,``.
    """
    if value is None:
        return None
    for part in re.split(r"(?<!\\),", value):
        part = part.replace("\\,", ",").strip()
        if part:
            return part
    return None


def _woo_products(frame: pd.DataFrame) -> pd.DataFrame:
    """WooCommerce product export -> one row per product (variation rows folded into their parent).

    * product_id: ``SKU`` when every product row has one, else ``ID`` (one key for the whole file).
    * description: ``Description``, else ``Short description``.
    * category: the first of the ``Categories`` (paths use ``>``); brand: ``Brands`` when present.
    * price: ``Regular price``; a variable product without one takes its first variation's.
    * Rows whose ``Type`` includes ``variation`` are dropped: their ``Parent`` (``id:123`` or a SKU)
      is the product.
    """
    name_col = _need(frame, "WooCommerce product export", "Name")
    ids, skus = _woo_text(_col(frame, "ID")), _woo_text(_col(frame, "SKU"))
    if ids.isna().all() and skus.isna().all():
        raise MappingError("the WooCommerce product export needs an 'ID' or 'SKU' column with values; the file "
                           f"has {', '.join(map(str, frame.columns))}", column="ID")
    variation = np.array([v is not None and "variation" in {p.strip().lower() for p in v.split(",")}
                          for v in _col(frame, "Type")], dtype=bool)
    price = _woo_text(_col(frame, "Regular price"))
    parents = _woo_text(_col(frame, "Parent"))
    if variation.any():
        # variable products: borrow the first variation's regular price
        first_price: dict = {}
        for parent, p in zip(parents[variation], price[variation]):
            if parent is not None and p is not None:
                first_price.setdefault(parent, p)
        for i in np.flatnonzero(~variation & price.isna().to_numpy()):
            for ref in (f"id:{ids.iat[i]}", skus.iat[i]):
                if ref in first_price:
                    price.iat[i] = first_price[ref]
                    break
    keep = ~variation
    use_sku = bool(skus[keep].notna().all()) and len(skus[keep]) > 0
    description = _woo_text(_col(frame, "Description"))
    description = description.where(description.notna(), _woo_text(_col(frame, "Short description")))
    out = _frame({
        S.PRODUCT_ID: skus if use_sku else ids,
        S.TITLE: _woo_text(frame[name_col]),
        S.CATEGORY: _map(_woo_text(_col(frame, "Categories")), woo_first_category),
        S.DESCRIPTION: description,
        S.PRICE: price,
        S.BRAND: _map(_woo_text(_col(frame, "Brands")), woo_first_category),
    }, frame.index)
    return out[keep]


# --- invoice lines (UCI Online Retail) ----------------------------------------------------------

def _integral_ids(col: pd.Series) -> pd.Series:
    """``17850.0`` -> ``17850`` when every id of the column has that float spelling (pandas CSV dumps)."""
    values = _text(col)
    present = values.dropna()
    if len(present) and present.str.fullmatch(r"\d+\.0+").all():
        return _map(values, lambda v: v.split(".")[0])
    return values


def _invoice_lines(frame: pd.DataFrame) -> pd.DataFrame:
    """Invoice-line export -> canonical order lines, plus ``title`` (the per-line Description).

    The title is not an orders column (validation ignores it); it lets
    :func:`core.ingest.clean.classify_lines` see per-line notes such as ``adjustment``, and
    :func:`catalog_from_invoice_lines` build a catalog.
    """
    p = "invoice-line preset"
    out = _frame({
        S.ORDER_ID: _text(frame[_need(frame, p, "InvoiceNo", "Invoice")]),
        S.PRODUCT_ID: _text(frame[_need(frame, p, "StockCode")]),
        S.TITLE: _col(frame, "Description"),
        S.QUANTITY: _col(frame, "Quantity"),
        S.ORDERED_AT: _col(frame, "InvoiceDate"),
        S.PRICE: _col(frame, "UnitPrice", "Price"),
        S.CUSTOMER_ID: _integral_ids(_col(frame, "CustomerID", "Customer ID")),
    }, frame.index)
    return out


def _price_number(col: pd.Series) -> pd.Series:
    """Numbers from text or floats; a lone decimal comma (``2,55``) is read as a decimal point."""
    if pd.api.types.is_numeric_dtype(col):
        return col.astype(float)
    text = _map(_text(col), lambda v: v.replace(",", ".") if re.fullmatch(r"-?\d+,\d+", v) else v)
    return pd.to_numeric(text, errors="coerce")


def catalog_from_invoice_lines(frame: pd.DataFrame) -> pd.DataFrame:
    """A catalog built from invoice lines: one row per StockCode.

    title = the code's most frequent Description (ties: the one seen first; descriptions drift, e.g.
    647 codes of the UCI file have several); price = median UnitPrice over the code's lines with a
    price > 0 (zero-price lines are warehouse notes), missing when there is none.

    Parameters
    ----------
    frame : DataFrame
        Raw UCI columns ``StockCode``, ``Description``, ``UnitPrice`` (text or numbers), or the
        canonical ``product_id``, ``title``, ``price`` (the output of the invoice-line preset).

    Returns
    -------
    DataFrame
        Columns ``product_id, title, price`` as text (missing as None), in order of first appearance;
        ready for :func:`core.ingest.validate.validate_table` as a catalog. Codes whose every line
        lacks a description get title None (validation rejects them with the reason).

    Raises
    ------
    MappingError
        Neither naming is present.

    Examples
    --------
    >>> f = pd.DataFrame({"StockCode": ["A", "A", "A"], "Description": ["MUG", "mug?", "MUG"],
    ...                   "UnitPrice": ["2.5", "0", "3.5"]})
    >>> catalog_from_invoice_lines(f).values.tolist()
    [['A', 'MUG', '3']]
    """
    if _find(frame, "StockCode") is not None:
        pid, title, price = frame[_find(frame, "StockCode")], _col(frame, "Description"), \
            (frame[_find(frame, "UnitPrice")] if _find(frame, "UnitPrice") else None)
    elif S.PRODUCT_ID in frame.columns:
        pid, title, price = frame[S.PRODUCT_ID], _col(frame, S.TITLE), frame.get(S.PRICE)
    else:
        raise MappingError("catalog_from_invoice_lines needs StockCode (or product_id) column; the frame has "
                           f"{', '.join(map(str, frame.columns))}", column="StockCode")
    pid = _text(pid)
    ok = pid.notna()
    ids = pd.unique(pid[ok])
    # most frequent description, ties to the first seen
    t = pd.DataFrame({"p": pid[ok], "t": title[ok]}).dropna()
    t["pos"] = np.arange(len(t))
    stats = t.groupby(["p", "t"], sort=False).agg(n=("pos", "size"), first=("pos", "min")).reset_index()
    stats = stats.sort_values(["p", "n", "first"], ascending=[True, False, True], kind="stable")
    best_title = stats.drop_duplicates("p").set_index("p")["t"]
    if price is not None:
        values = _price_number(price)[ok]
        pos = values > 0
        med = values[pos].groupby(pid[ok][pos]).median()
    else:
        med = pd.Series(dtype=float)

    def fmt(x):
        return None if x is None or pd.isna(x) else np.format_float_positional(float(x), precision=6, trim="-")

    return pd.DataFrame({
        S.PRODUCT_ID: pd.Series(ids, dtype=object),
        S.TITLE: pd.Series([best_title.get(i) for i in ids], dtype=object),
        S.PRICE: pd.Series([fmt(med.get(i)) for i in ids], dtype=object),
    })


# --- Instacart ----------------------------------------------------------------------------------

_INSTACART_TABLES = {  # table -> headers that identify it
    "products": {"product_id", "product_name", "aisle_id", "department_id"},
    "aisles": {"aisle_id", "aisle"},
    "departments": {"department_id", "department"},
    "orders": {"order_id", "user_id", "order_number"},
    "order_lines": {"order_id", "product_id"},
}


def _instacart_table(columns) -> str | None:
    cols = {str(c).strip().lower() for c in columns}
    for table in ("products", "orders", "aisles", "departments"):
        if _INSTACART_TABLES[table] <= cols:
            return table
    if _INSTACART_TABLES["order_lines"] <= cols and "user_id" not in cols:
        return "order_lines"
    return None


def _read(data: bytes, name: str) -> pd.DataFrame:
    from core.ingest.read import read_table  # the project's reader: encodings, delimiters, .gz/.zip
    return read_table(data, name).frame


def instacart_frames(files: Mapping[str, bytes]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Join the Instacart multi-file layout into a catalog and order lines.

    Files are recognised by their headers, not their names: products (``product_id, product_name,
    aisle_id, department_id``), aisles, departments, orders (``order_id, user_id, order_number``)
    and one or more order-line files (``order_id, product_id``; Kaggle's ``order_products__prior`` and
    ``__train`` are concatenated).

    Parameters
    ----------
    files : mapping of str to bytes
        ``{file name: content}``; CSV, optionally .gz/.zip.

    Returns
    -------
    catalog : DataFrame
        ``product_id, title, category`` (``"department > aisle"``; None for Instacart's ``missing``
        department/aisle), text; ``\\"`` in product names unescaped to ``"``.
    orders : DataFrame
        ``order_id, product_id, customer_id`` (the user_id), ``order_number``; one row per order line,
        in file order. Orders without lines (Instacart's ``test`` orders) have no row; lines whose
        order is not in the orders file keep a missing customer.

    Raises
    ------
    SchemaError
        A file is unreadable, not recognised, or one of the five tables is missing.
    """
    if not isinstance(files, Mapping):
        raise TypeError(f"files must be a mapping of file name to bytes, got {type(files).__name__}")
    tables: dict[str, list[pd.DataFrame]] = {}
    for name, data in files.items():
        frame = _read(data, name)
        table = _instacart_table(frame.columns)
        if table is None:
            raise SchemaError(f"is not one of the Instacart files (products, aisles, departments, orders, order "
                              f"lines); its columns are {', '.join(map(str, frame.columns))}", file=name)
        frame.columns = [str(c).strip().lower() for c in frame.columns]
        tables.setdefault(table, []).append(frame)
    missing = [t for t in _INSTACART_TABLES if t not in tables]
    if missing:
        raise SchemaError(f"the Instacart layout needs {', '.join(_INSTACART_TABLES)} files; missing: "
                          f"{', '.join(missing)} (got {', '.join(files) or 'no files'})")
    for table in ("products", "aisles", "departments", "orders"):
        if len(tables[table]) > 1:
            raise SchemaError(f"the Instacart layout takes one {table} file, got {len(tables[table])}")

    products = tables["products"][0]
    aisles = dict(zip(_text(tables["aisles"][0]["aisle_id"]), _text(tables["aisles"][0]["aisle"])))
    departments = dict(zip(_text(tables["departments"][0]["department_id"]),
                           _text(tables["departments"][0]["department"])))

    def category(dep_id, aisle_id):
        dep, aisle = departments.get(dep_id), aisles.get(aisle_id)
        parts = [p for p in (dep, aisle) if p is not None and p.lower() != "missing"]
        return f" {S.CATEGORY_SEP} ".join(dict.fromkeys(parts)) if parts else None

    catalog = pd.DataFrame({
        S.PRODUCT_ID: _text(products["product_id"]).to_numpy(),
        S.TITLE: _map(_text(products["product_name"]), lambda v: v.replace('\\"', '"')).to_numpy(),
        S.CATEGORY: [category(d, a) for d, a in zip(_text(products["department_id"]), _text(products["aisle_id"]))],
    }, dtype=object)

    orders = tables["orders"][0]
    info = pd.DataFrame({"order_id": _text(orders["order_id"]).to_numpy(),
                         S.CUSTOMER_ID: _text(orders["user_id"]).to_numpy(),
                         S.ORDER_NUMBER: _text(orders["order_number"]).to_numpy()}).drop_duplicates("order_id")
    lines = pd.concat([pd.DataFrame({S.ORDER_ID: _text(f["order_id"]).to_numpy(),
                                     S.PRODUCT_ID: _text(f["product_id"]).to_numpy()})
                       for f in tables["order_lines"]], ignore_index=True)
    joined = lines.merge(info, how="left", left_on=S.ORDER_ID, right_on="order_id", sort=False)
    joined = joined[[S.ORDER_ID, S.PRODUCT_ID, S.CUSTOMER_ID, S.ORDER_NUMBER]].astype(object)
    return catalog, joined.where(joined.notna(), None)


def _instacart_joined(frame: pd.DataFrame) -> pd.DataFrame:
    """A single Instacart-style frame that already has order lines with ``user_id``."""
    p = "Instacart preset (one file: order lines joined with user_id; upload all five files otherwise)"
    return _frame({
        S.ORDER_ID: _text(frame[_need(frame, p, "order_id")]),
        S.PRODUCT_ID: _text(frame[_need(frame, p, "product_id")]),
        S.CUSTOMER_ID: _col(frame, "user_id"),
        S.ORDER_NUMBER: _col(frame, "order_number"),
    }, frame.index)


def _instacart_combine(files: Mapping[str, bytes]) -> dict:
    catalog, orders = instacart_frames(files)
    return {S.CATALOG: catalog, S.ORDERS: orders}


# --- clothing reviews ---------------------------------------------------------------------------

def _review_text(title, text):
    if title is None:
        return text
    if text is None:
        return title
    return f"{title} {text}" if re.search(r"[.!?\u2026]$", title) else f"{title}. {text}"


def _clothing_reviews(frame: pd.DataFrame) -> pd.DataFrame:
    """Review export -> reviews: text = ``Title. Review Text`` (either alone when the other is blank).

    ``Age`` is the reviewer's age, not a customer id, and is not imported; so are the unnamed row
    index, ``Recommended IND``, ``Positive Feedback Count`` and the Division/Department/Class names.
    """
    p = "clothing-reviews preset"
    text = _text(frame[_need(frame, p, "Review Text")])
    titles = _col(frame, "Title")
    return _frame({
        S.PRODUCT_ID: _text(frame[_need(frame, p, "Clothing ID")]),
        S.TEXT: pd.Series([_review_text(t, x) for t, x in zip(titles, text)], index=frame.index, dtype=object),
        S.RATING: _col(frame, "Rating"),
    }, frame.index)


# --- registry -----------------------------------------------------------------------------------

BUILTIN_PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("Shopify product export", S.CATALOG,
           {S.PRODUCT_ID: "Handle", S.TITLE: "Title", S.DESCRIPTION: "Body (HTML)", S.CATEGORY: "Type",
            S.BRAND: "Vendor", S.PRICE: "Variant Price"},
           _shopify_products,
           "Products > Export in Shopify admin. Variant and image rows sharing a Handle become one product.",
           signatures=(("Handle", "Title", "Variant Price"), ("Handle", "Title", "Body (HTML)"))),
    Preset("Shopify order export", S.ORDERS,
           {S.ORDER_ID: "Name", S.PRODUCT_ID: "Lineitem sku", S.QUANTITY: "Lineitem quantity",
            S.PRICE: "Lineitem price", S.ORDERED_AT: "Created at", S.CUSTOMER_ID: "Email"},
           _shopify_orders,
           "Orders > Export in Shopify admin. One order per Name; the e-mail is stored as a salted hash; "
           "names, addresses and phones are not imported.",
           signatures=(("Name", "Lineitem quantity", "Lineitem name"),)),
    Preset("WooCommerce product export", S.CATALOG,
           {S.PRODUCT_ID: "ID", S.TITLE: "Name", S.DESCRIPTION: "Description", S.CATEGORY: "Categories",
            S.PRICE: "Regular price", S.BRAND: "Brands"},
           _woo_products,
           "Products > Export in WooCommerce. First category of each product; variations fold into their parent.",
           signatures=(("ID", "Type", "Name", "Regular price", "Categories"), ("SKU", "Name", "Regular price",
                                                                              "Categories"))),
    Preset("Invoice lines (UCI Online Retail style)", S.ORDERS,
           {S.ORDER_ID: "InvoiceNo", S.PRODUCT_ID: "StockCode", S.TITLE: "Description", S.QUANTITY: "Quantity",
            S.ORDERED_AT: "InvoiceDate", S.PRICE: "UnitPrice", S.CUSTOMER_ID: "CustomerID"},
           _invoice_lines,
           "ERP invoice lines: one row per invoice line; cancellations (invoice 'C...') and non-product codes "
           "are classified by core.ingest.clean. A catalog can be built with catalog_from_invoice_lines.",
           signatures=(("InvoiceNo", "StockCode", "Quantity"), ("Invoice", "StockCode", "Quantity"))),
    Preset("Instacart multi-file", S.ORDERS,
           {S.ORDER_ID: "order_id", S.PRODUCT_ID: "product_id", S.CUSTOMER_ID: "user_id",
            S.ORDER_NUMBER: "order_number"},
           _instacart_joined,
           "products + aisles + departments + orders + order lines (upload all five): category is "
           "'department > aisle', customer is user_id, order sequence is order_number.",
           signatures=(("order_id", "user_id", "order_number"), ("product_id", "product_name", "aisle_id",
                                                                  "department_id"),
                       ("order_id", "product_id", "add_to_cart_order"), ("aisle_id", "aisle"),
                       ("department_id", "department")),
           combine=_instacart_combine),
    Preset("Clothing reviews export", S.REVIEWS,
           {S.PRODUCT_ID: "Clothing ID", S.TEXT: "Review Text", S.RATING: "Rating"},
           _clothing_reviews,
           "Review exports like Women's E-Commerce Clothing Reviews: the review Title is prepended to the text.",
           signatures=(("Clothing ID", "Review Text", "Rating"),)),
)}


# --- applying and suggesting --------------------------------------------------------------------

def _hash_customer_emails(out: pd.DataFrame, salt: str) -> pd.DataFrame:
    if S.CUSTOMER_ID not in out.columns:
        return out
    ids = out[S.CUSTOMER_ID].astype(object)
    looks = ids.map(lambda v: isinstance(v, str) and _EMAIL.match(v.strip()) is not None).to_numpy(dtype=bool)
    if looks.any():
        out = out.copy()
        hashed = ids.copy()
        hashed[looks] = [hash_email(v, salt) for v in ids[looks]]
        out[S.CUSTOMER_ID] = hashed
    return out


def apply_preset(frame: pd.DataFrame, preset: Preset | str, salt: str,
                 aliases: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Raw export frame -> frame with canonical column names, e-mails hashed.

    Parameters
    ----------
    frame : DataFrame
        ``ReadResult.frame`` of the file (text cells, headers as written). Not modified.
    preset : Preset or str
        A preset or the name of one of :data:`BUILTIN_PRESETS`.
    salt : str
        Non-empty secret for :func:`hash_email` (one per workspace, kept across imports).
    aliases : mapping of str to str, optional
        ``{product id in this file: catalog product id}`` applied to ``product_id`` (e.g.
        :func:`shopify_variant_aliases` for a Shopify order export).

    Returns
    -------
    DataFrame
        Only canonical columns (plus ``title`` for invoice lines), cells text or None. Every
        ``customer_id`` that looks like an e-mail address is replaced by :func:`hash_email`. The index
        holds the label, in ``frame``, of the source row (the first one when rows were merged), so
        ``ReadResult.line_numbers[out.index]`` gives the file lines of a 0..n-1 indexed frame.

    Raises
    ------
    TypeError, ValueError
        Wrong argument types, unknown preset name, empty salt.
    MappingError
        A header the preset needs is not in the file.

    Examples
    --------
    >>> raw = pd.DataFrame({"Clothing ID": ["767"], "Title": ["Love it"], "Review Text": ["soft"],
    ...                     "Rating": ["5"]})
    >>> apply_preset(raw, "Clothing reviews export", salt="s").values.tolist()
    [['767', 'Love it. soft', '5']]
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if isinstance(preset, str):
        if preset not in BUILTIN_PRESETS:
            raise ValueError(f"preset must be a Preset or one of {list(BUILTIN_PRESETS)}, got {preset!r}")
        preset = BUILTIN_PRESETS[preset]
    if not isinstance(preset, Preset):
        raise TypeError(f"preset must be a Preset or a preset name, got {type(preset).__name__}")
    _check_salt(salt)
    if preset.transform is not None:
        out = preset.transform(frame)
    else:
        cols = {}
        for canon, src in preset.mapping.items():
            col = _find(frame, src)
            if col is None:
                raise MappingError(f"preset {preset.name!r} maps {canon} to column {src!r}, which is not in the "
                                   f"file; columns are {', '.join(map(str, frame.columns))}", column=src)
            cols[canon] = _text(frame[col])
        out = pd.DataFrame(cols, index=frame.index)
    if aliases and S.PRODUCT_ID in out.columns:
        out = out.copy()
        out[S.PRODUCT_ID] = _map(_text(out[S.PRODUCT_ID]), lambda v: aliases.get(v, v))
    return _hash_customer_emails(out, salt)


def suggest_preset(columns) -> str | None:
    """The built-in preset whose identifying headers the file has, or None.

    A preset qualifies when all headers of one of its ``signatures`` are present (case-insensitive,
    stripped); among those, the one with the most of its mapped headers present wins (ties: registry
    order).

    Parameters
    ----------
    columns : iterable of str
        The file's headers.

    Examples
    --------
    >>> suggest_preset(["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice"])
    'Invoice lines (UCI Online Retail style)'
    >>> suggest_preset(["product_id", "title"]) is None
    True
    """
    have = {str(c).strip().lower() for c in columns}
    best, best_score = None, 0
    for name, preset in BUILTIN_PRESETS.items():
        matched = [sig for sig in preset.signatures if {h.lower() for h in sig} <= have]
        if not matched:
            continue
        score = max(len(s) for s in matched) * 100 + sum(h.lower() in have for h in preset.mapping.values())
        if score > best_score:
            best, best_score = name, score
    return best
