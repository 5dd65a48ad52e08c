"""Retail cleaning: which order lines are product purchases, which are not, and why (counted).

Every order line is stored; cleaning only decides which lines make baskets. Each line gets one
class, the first rule that matches in this order of precedence:

1. ``"cancellation"``: the order id starts with a cancellation prefix (UCI Online Retail ``C536379``).
2. ``"non_positive_quantity"``: quantity <= 0 (returns, stock adjustments such as ``damaged``).
3. ``"non_product"``: the product id or the title matches a non-product pattern (postage, fees,
   discounts, manual lines, vouchers, bank charges, samples, ...).
4. ``"not_in_catalog"``: a catalog is given and does not list the product id.
5. ``"product"``: everything else; these lines make baskets.

A cancelled postage line is therefore counted once, as a cancellation. Lines without a customer id
are product lines like any other (they count for baskets); :func:`cleaning_report` counts them
because they cannot feed customer recommendations. A product repeated in one order counts once per
basket (:func:`basket_lines`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core import schema as S

PRODUCT = "product"
CANCELLATION = "cancellation"
NON_POSITIVE_QUANTITY = "non_positive_quantity"
NON_PRODUCT = "non_product"
NOT_IN_CATALOG = "not_in_catalog"
#: Line classes, in order of precedence after ``"product"`` (the first matching rule wins).
LINE_CLASSES = (PRODUCT, CANCELLATION, NON_POSITIVE_QUANTITY, NON_PRODUCT, NOT_IN_CATALOG)

#: Regular expressions (``re.search``, case-insensitive) matched against the product id and the title.
#: The anchored codes are the non-product StockCodes of the UCI Online Retail file (postage, dotcom
#: postage, manual, discount, carriage, samples, bad-debt adjustment, bank charges, Amazon fee, charity
#: commission, pads, gift vouchers); the title patterns catch the same kinds of line in other shops.
#: Title patterns are anchored where a product name could contain the word: "BLACK BAROQUE CARRIAGE
#: CLOCK" and "FRENCH CARRIAGE LANTERN" are products, "CARRIAGE" and "Next Day Carriage" are not.
#: Checked against all 4,070 StockCodes of the real file: no product title is caught except per-line
#: warehouse notes ("adjustment", "samples") and the voucher/carriage/packing lines sold under
#: numeric codes (22016, 23444, 23574). ``DCGS...`` codes are not listed: the priced ones are real
#: products (GIRLS PARTY BAG, BOXED GLASS ASHTRAY, CAMOUFLAGE DOG COLLAR). The one-letter codes (M, D,
#: S, B) are a UCI convention: a shop whose real products have one-letter ids should remove them.
DEFAULT_NON_PRODUCT_PATTERNS = (
    # codes
    r"^POST$", r"^DOT$", r"^M$", r"^D$", r"^C2$", r"^S$", r"^B$", r"^BANK CHARGES$", r"^AMAZONFEE$",
    r"^CRUK$", r"^PADS$", r"^gift_\d+",
    # titles
    r"\bpostage\b", r"^(next day )?carriage$", r"\bdiscount\b", r"^manual$", r"\bvouchers?\b",
    r"\bgift ?cards?\b", r"^(bank|packing) charges?$", r"^amazon ?fee$", r"\badjust(ment)?\b",
    r"^samples?$", r"^tips?$",
)


def _str_tuple(value, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a tuple of str, got {type(value).__name__} ({value!r})")
    items = tuple(value)
    for v in items:
        if not isinstance(v, str):
            raise TypeError(f"{name} must hold only str, got {type(v).__name__} ({v!r})")
    return items


@dataclass(frozen=True)
class CleaningSettings:
    """What keeps an order line out of baskets.

    Parameters
    ----------
    cancellation_prefixes : tuple of str, default ("C",)
        An order id starting with one of these (case-insensitive, after stripping blanks) is a
        cancellation, provided the prefix is not followed by a letter: ``C536379`` and ``c-1001`` are
        cancellations, ``CA-2016-152156`` (a Superstore order id) is not. ``()`` disables the rule.
    exclude_non_positive_quantity : bool, default True
        Lines with quantity <= 0 are not purchases (returns, adjustments). A missing quantity counts
        as 1.
    non_product_patterns : tuple of str, default :data:`DEFAULT_NON_PRODUCT_PATTERNS`
        Regular expressions searched (case-insensitive) in the product id and in the title (the
        order line's ``title`` column when there is one, and the catalog's title).
    catalog_only : bool, default True
        When a catalog is given, lines whose product id it does not list are not products.

    Raises
    ------
    TypeError
        A field has the wrong type (a bare string where a tuple is expected included).
    ValueError
        An empty or blank prefix, or a pattern that is not a valid regular expression.

    Examples
    --------
    >>> CleaningSettings(non_product_patterns=DEFAULT_NON_PRODUCT_PATTERNS + (r"^FREIGHT$",)).catalog_only
    True
    """

    cancellation_prefixes: tuple = ("C",)
    exclude_non_positive_quantity: bool = True
    non_product_patterns: tuple = DEFAULT_NON_PRODUCT_PATTERNS
    catalog_only: bool = True
    _pattern: re.Pattern | None = field(default=None, init=False, repr=False, compare=False)
    _memo: dict | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        prefixes = _str_tuple(self.cancellation_prefixes, "cancellation_prefixes")
        for p in prefixes:
            if not p.strip() or p != p.strip():
                raise ValueError(f"cancellation_prefixes must be non-empty without surrounding blanks, got {p!r}")
        patterns = _str_tuple(self.non_product_patterns, "non_product_patterns")
        for p in patterns:
            if not p:
                raise ValueError("non_product_patterns must not hold an empty pattern (it would match every line)")
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"non_product_patterns: {p!r} is not a valid regular expression ({exc})") from exc
        for name in ("exclude_non_positive_quantity", "catalog_only"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {type(getattr(self, name)).__name__}")
        object.__setattr__(self, "cancellation_prefixes", prefixes)
        object.__setattr__(self, "non_product_patterns", patterns)
        combined = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE) if patterns else None
        object.__setattr__(self, "_pattern", combined)
        object.__setattr__(self, "_memo", {})  # text -> is_non_product, filled by classify_lines

    def is_non_product(self, text) -> bool:
        """Whether one product id or title matches a non-product pattern (missing text never does)."""
        if self._pattern is None or text is None or (isinstance(text, float) and np.isnan(text)):
            return False
        return self._pattern.search(str(text).strip()) is not None


def _require(frame, name: str, columns) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} must have column(s) {', '.join(columns)}; missing: {', '.join(missing)}")


def _cell_text(v):
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
        return None
    return str(v).strip() or None


def _text_codes(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, texts)`` with ``texts[codes]`` the stripped text of each cell (missing -> None; the
    last entry of ``texts`` is None, for missing cells).

    A column of text is converted once per distinct cell (a million order lines hold far fewer
    order ids, products and customers); other objects cell by cell first (1 and 1.0 must stay apart).
    Two distinct cells may give the same text (' A' and 'A').
    """
    values = col.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        values = np.array([_cell_text(v) for v in values], dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = np.empty(len(uniques) + 1, dtype=object)
    texts[:-1] = [v.strip() or None for v in uniques]  # every present value is a str here
    texts[-1] = None
    codes = np.where(codes < 0, len(uniques), codes)
    return codes, texts


def _as_text(col: pd.Series) -> pd.Series:
    """Stripped text, missing (None/NaN/blank) as None (see :func:`_text_codes`)."""
    codes, texts = _text_codes(col)
    return pd.Series(texts[codes], index=col.index, dtype=object)


def _non_product_texts(texts: np.ndarray, settings: "CleaningSettings") -> np.ndarray:
    """Bool per text: it matches a non-product pattern (None never does); verdicts are remembered by
    ``settings`` for the next chunk of the same import."""
    memo = settings._memo
    if len(memo) > _MEMO_LIMIT:
        memo.clear()
    return np.fromiter((memo[u] if u in memo else memo.setdefault(u, settings.is_non_product(u)) for u in texts),
                       dtype=bool, count=len(texts))


def _matches(values: pd.Series, settings: CleaningSettings) -> np.ndarray:
    """``(len(values),)`` bool: the text matches a non-product pattern (once per distinct value)."""
    codes, texts = _text_codes(values)
    return _non_product_texts(texts, settings)[codes]


#: distinct texts whose non-product verdict a CleaningSettings remembers (then it starts over)
_MEMO_LIMIT = 1_000_000


def _check_settings(settings) -> CleaningSettings:
    if settings is None:
        return CleaningSettings()
    if not isinstance(settings, CleaningSettings):
        raise TypeError(f"settings must be a CleaningSettings, got {type(settings).__name__}")
    return settings


def classify_lines(orders: pd.DataFrame, catalog: pd.DataFrame | None = None,
                   settings: CleaningSettings | None = None, *, order_col: str = S.ORDER_ID,
                   item_col: str = S.PRODUCT_ID, quantity_col: str = S.QUANTITY,
                   title_col: str = S.TITLE) -> pd.Series:
    """Classify each order line as a product purchase or the reason it is not one.

    Precedence (first matching rule): cancellation, non_positive_quantity, non_product,
    not_in_catalog, otherwise product. A missing product id is ``"non_product"``.

    Parameters
    ----------
    orders : DataFrame
        One row per order line; columns ``order_col`` and ``item_col`` (text), optionally
        ``quantity_col`` (number or numeric text; missing counts as 1) and ``title_col`` (per-line
        description, e.g. the Online Retail ``Description``).
    catalog : DataFrame, optional
        Columns ``product_id`` and optionally ``title`` (searched by the non-product patterns).
    settings : CleaningSettings, optional
        Defaults to ``CleaningSettings()``.

    Returns
    -------
    pandas.Series
        ``(len(orders),)`` categorical with categories :data:`LINE_CLASSES`, same index as ``orders``,
        named ``"line_class"``.

    Raises
    ------
    TypeError
        ``orders`` or ``catalog`` is not a DataFrame, or ``settings`` is not CleaningSettings.
    ValueError
        A required column is missing.

    Examples
    --------
    >>> orders = pd.DataFrame({"order_id": ["1", "C2", "3", "3"], "product_id": ["A", "A", "POST", "B"],
    ...                        "quantity": [1, -1, 1, 0]})
    >>> classify_lines(orders).tolist()
    ['product', 'cancellation', 'non_product', 'non_positive_quantity']
    """
    settings = _check_settings(settings)
    _require(orders, "orders", [order_col, item_col])
    codes, _, _ = _classify(orders, catalog, settings, order_col, item_col, quantity_col, title_col)
    return _classes(codes, orders.index)


def _classes(codes: np.ndarray, index) -> pd.Series:
    return pd.Series(pd.Categorical.from_codes(codes, categories=LINE_CLASSES), index=index, name="line_class")


def _classify(orders, catalog, settings, order_col, item_col, quantity_col, title_col):
    """``(class codes into LINE_CLASSES, (order codes, order texts), (item codes, item texts))`` (see
    :func:`_text_codes`)."""
    n = len(orders)
    o_codes, o_texts = _text_codes(orders[order_col])
    i_codes, i_texts = _text_codes(orders[item_col])

    cancelled = np.zeros(n, dtype=bool)
    if settings.cancellation_prefixes and n:
        # decided once per distinct order id, then spread to its lines: the id starts with a prefix
        # (case-insensitive) and goes on with something other than a letter
        prefixes = [p.upper() for p in settings.cancellation_prefixes]

        def is_cancellation(text) -> bool:
            if not text:
                return False
            up = text.upper()
            return any(up.startswith(p) and len(up) > len(p) and not up[len(p)].isalpha() for p in prefixes)

        per_order = np.fromiter(map(is_cancellation, o_texts), dtype=bool, count=len(o_texts))
        cancelled = per_order[o_codes]

    non_positive = np.zeros(n, dtype=bool)
    if settings.exclude_non_positive_quantity and quantity_col in orders.columns:
        q = pd.to_numeric(orders[quantity_col], errors="coerce").to_numpy(dtype=float)
        non_positive = ~np.isnan(q) & (q <= 0)

    missing_item = np.fromiter((t is None for t in i_texts), dtype=bool, count=len(i_texts))
    non_product_item = missing_item | _non_product_texts(i_texts, settings)
    not_in_catalog_item = np.zeros(len(i_texts), dtype=bool)
    if catalog is not None:
        _require(catalog, "catalog", [S.PRODUCT_ID])
        cat_ids = _as_text(catalog[S.PRODUCT_ID])
        if S.TITLE in catalog.columns:
            bad = set(cat_ids[_matches(catalog[S.TITLE], settings)].dropna())
            non_product_item |= np.fromiter((t in bad for t in i_texts), dtype=bool, count=len(i_texts))
        if settings.catalog_only:
            known = set(cat_ids.dropna())
            not_in_catalog_item = np.fromiter((t not in known for t in i_texts), dtype=bool, count=len(i_texts))
    non_product = non_product_item[i_codes]
    if title_col in orders.columns:
        non_product |= _matches(orders[title_col], settings)
    not_in_catalog = not_in_catalog_item[i_codes]

    # the first matching rule wins; codes index LINE_CLASSES
    codes = np.select([cancelled, non_positive, non_product, not_in_catalog], [1, 2, 3, 4], default=0).astype(np.int8)
    return codes, (o_codes, o_texts), (i_codes, i_texts)


def _check_classes(classes, orders: pd.DataFrame | None) -> pd.Series:
    if not isinstance(classes, pd.Series):
        raise TypeError(f"classes must be a pandas Series (from classify_lines), got {type(classes).__name__}")
    unknown = set(pd.unique(classes.astype(object))) - set(LINE_CLASSES)
    if unknown:
        raise ValueError(f"classes holds unknown value(s) {sorted(map(str, unknown))}; expected {LINE_CLASSES}")
    if orders is not None and (len(classes) != len(orders) or not classes.index.equals(orders.index)):
        raise ValueError(f"classes must be aligned with orders (same length and index); got {len(classes)} "
                         f"classes for {len(orders)} order lines")
    return classes


def _missing(col: pd.Series) -> np.ndarray:
    return _as_text(col).isna().to_numpy()


def cleaning_report(classes: pd.Series, orders: pd.DataFrame | None = None, *, order_col: str = S.ORDER_ID,
                    item_col: str = S.PRODUCT_ID, customer_col: str = S.CUSTOMER_ID) -> dict:
    """Counts of order lines by class, plus what happens to the product lines.

    Parameters
    ----------
    classes : pandas.Series
        From :func:`classify_lines`.
    orders : DataFrame, optional
        The classified order lines (aligned with ``classes``). Without it only the class counts are
        returned.

    Returns
    -------
    dict of str to int
        ``lines`` (all lines), one key per class in :data:`LINE_CLASSES` (0 when none), and, when
        ``orders`` is given:

        * ``lines_without_customer``: product lines with no customer id (a missing customer column
          counts every product line). They make baskets but no customer history.
        * ``repeated_in_order``: product lines whose (order, product) pair appeared on an earlier
          line; the product counts once for that basket.
        * ``baskets``: orders with at least one product line.

        Values are plain ``int`` (JSON-ready).

    Raises
    ------
    TypeError, ValueError
        ``classes`` is not a Series of line classes, or is not aligned with ``orders``.

    Examples
    --------
    >>> orders = pd.DataFrame({"order_id": ["1", "1", "C2"], "product_id": ["A", "A", "A"],
    ...                        "customer_id": [None, None, "7"]})
    >>> r = cleaning_report(classify_lines(orders), orders)
    >>> r["product"], r["cancellation"], r["repeated_in_order"], r["lines_without_customer"], r["baskets"]
    (2, 1, 1, 2, 1)
    """
    classes = _check_classes(classes, orders)
    counts = classes.astype(object).value_counts()
    report = {"lines": int(len(classes))}
    report.update({c: int(counts.get(c, 0)) for c in LINE_CLASSES})
    if orders is not None:
        _require(orders, "orders", [order_col, item_col])
        is_product = (classes.astype(object) == PRODUCT).to_numpy()
        kept = orders[is_product]
        if customer_col in orders.columns:
            report["lines_without_customer"] = int(_missing(kept[customer_col]).sum())
        else:
            report["lines_without_customer"] = int(is_product.sum())
        pairs = pd.DataFrame({"o": _as_text(kept[order_col]), "i": _as_text(kept[item_col])})
        report["repeated_in_order"] = int(pairs.duplicated().sum())
        report["baskets"] = int(pairs["o"].nunique())
    return report


class _MissingKey:
    """Stands for a missing id among the texts CleaningTally gives codes to (never equal to a text)."""

    def __repr__(self):
        return "<missing id>"


_MISSING_KEY = _MissingKey()


class CleaningTally:
    """:func:`cleaning_report` over order lines classified chunk by chunk: the same dict as one call on
    all the lines, with memory bounded by the distinct orders and products, not the lines.

    Parameters
    ----------
    order_col, item_col, customer_col : str
        As :func:`cleaning_report`.

    Examples
    --------
    >>> orders = pd.DataFrame({"order_id": ["1", "1", "C2"], "product_id": ["A", "A", "A"],
    ...                        "customer_id": [None, None, "7"]})
    >>> tally = CleaningTally()
    >>> for part in (orders.iloc[:1], orders.iloc[1:]):
    ...     tally.add(classify_lines(part), part)
    >>> tally.report() == cleaning_report(classify_lines(orders), orders)
    True
    """

    def __init__(self, *, order_col: str = S.ORDER_ID, item_col: str = S.PRODUCT_ID,
                 customer_col: str = S.CUSTOMER_ID):
        self.order_col, self.item_col, self.customer_col = order_col, item_col, customer_col
        self._counts = dict.fromkeys(LINE_CLASSES, 0)
        self._lines = self._without_customer = self._repeated = 0
        # order / product id texts seen so far; a text's position is its code
        self._known = {"order": pd.Index([], dtype=object), "item": pd.Index([], dtype=object)}
        self._baskets: set = set()  # codes of orders with a product line
        self._pairs = np.empty(0, dtype=np.int64)  # sorted (order code << 32 | item code) seen so far

    def _global(self, texts: np.ndarray, which: str) -> np.ndarray:
        """Codes shared by all chunks for a chunk's distinct texts (None is a text too)."""
        texts = texts.copy()
        texts[pd.isna(texts)] = _MISSING_KEY  # an Index does not find None reliably
        known = self._known[which]
        pos = known.get_indexer(texts)
        if (pos < 0).any():
            known = self._known[which] = known.append(pd.Index(pd.unique(texts[pos < 0]), dtype=object))
            pos = known.get_indexer(texts)
        return pos.astype(np.int64)

    def add(self, classes: pd.Series, orders: pd.DataFrame) -> None:
        """Count one chunk: ``classes`` from :func:`classify_lines` on ``orders`` (chunks in file order)."""
        classes = _check_classes(classes, orders)
        _require(orders, "orders", [self.order_col, self.item_col])
        self._count(classes, orders, _text_codes(orders[self.order_col]), _text_codes(orders[self.item_col]))

    def classify(self, orders: pd.DataFrame, catalog: pd.DataFrame | None = None,
                 settings: CleaningSettings | None = None, *, quantity_col: str = S.QUANTITY,
                 title_col: str = S.TITLE) -> pd.Series:
        """:func:`classify_lines` on one chunk, counted as :meth:`add` counts it (the id texts are
        worked out once for both)."""
        settings = _check_settings(settings)
        _require(orders, "orders", [self.order_col, self.item_col])
        codes, o, i = _classify(orders, catalog, settings, self.order_col, self.item_col, quantity_col, title_col)
        classes = _classes(codes, orders.index)
        self._count(classes, orders, o, i)
        return classes

    def _count(self, classes: pd.Series, orders: pd.DataFrame, o, i) -> None:
        counts = classes.value_counts()
        for c in LINE_CLASSES:
            self._counts[c] += int(counts.get(c, 0))
        self._lines += len(classes)
        is_product = (classes.cat.codes == LINE_CLASSES.index(PRODUCT)).to_numpy()
        if self.customer_col in orders.columns:
            self._without_customer += int(_missing(orders[self.customer_col][is_product]).sum())
        else:
            self._without_customer += int(is_product.sum())
        (o_codes, o_texts), (i_codes, i_texts) = o, i
        o_ids = self._global(o_texts, "order")[o_codes[is_product]]
        i_ids = self._global(i_texts, "item")[i_codes[is_product]]
        keys = (o_ids << 32) | i_ids
        # repeated: an earlier line of this chunk, or of an earlier chunk (binary search in the sorted keys)
        again = pd.Series(keys).duplicated().to_numpy()
        first = keys[~again]
        pos = np.searchsorted(self._pairs, first)
        seen = np.zeros(len(first), dtype=bool)
        inside = pos < len(self._pairs)
        seen[inside] = self._pairs[pos[inside]] == first[inside]
        self._repeated += int(again.sum() + seen.sum())
        self._pairs = np.sort(np.concatenate([self._pairs, first[~seen]]))
        present = np.fromiter((t is not None for t in o_texts), dtype=bool, count=len(o_texts))[o_codes[is_product]]
        self._baskets.update(np.unique(o_ids[present]).tolist())

    def report(self) -> dict:
        """The :func:`cleaning_report` dict (with ``orders``) of all lines added so far."""
        out = {"lines": self._lines}
        out.update(self._counts)
        out.update(lines_without_customer=self._without_customer, repeated_in_order=self._repeated,
                   baskets=len(self._baskets))
        return out


def basket_lines(orders: pd.DataFrame, classes: pd.Series, *, order_col: str = S.ORDER_ID,
                 item_col: str = S.PRODUCT_ID, quantity_col: str = S.QUANTITY) -> pd.DataFrame:
    """The product lines, one row per (order, product): what baskets are built from.

    A product repeated in an order keeps its first line; that line's quantity becomes the sum over
    the repeats (when there is a quantity column). Orders with no product line have no row, so
    their basket disappears.

    Parameters
    ----------
    orders : DataFrame
        Columns ``order_col``, ``item_col``; any others are kept (values of the first line).
    classes : pandas.Series
        From :func:`classify_lines` on ``orders``.

    Returns
    -------
    DataFrame
        Same columns as ``orders``; the index holds the label of each pair's first line in ``orders``
        (so line numbers can be traced). ``orders`` is not modified.

    Raises
    ------
    TypeError, ValueError
        As :func:`cleaning_report`.

    Examples
    --------
    >>> orders = pd.DataFrame({"order_id": ["1", "1", "2"], "product_id": ["A", "A", "POST"],
    ...                        "quantity": [2, 1, 1]})
    >>> basket_lines(orders, classify_lines(orders)).values.tolist()
    [['1', 'A', 3]]
    """
    _require(orders, "orders", [order_col, item_col])
    classes = _check_classes(classes, orders)
    kept = orders[(classes.astype(object) == PRODUCT).to_numpy()]
    key = pd.DataFrame({"o": _as_text(kept[order_col]), "i": _as_text(kept[item_col])}, index=kept.index)
    first = ~key.duplicated()
    out = kept[first.to_numpy()].copy()
    if quantity_col in kept.columns and not first.all():
        q = pd.to_numeric(kept[quantity_col], errors="coerce").fillna(1)
        totals = q.groupby([key["o"], key["i"]], sort=False).sum()
        summed = totals.reindex(pd.MultiIndex.from_frame(key[first.to_numpy()])).to_numpy()
        if pd.api.types.is_integer_dtype(out[quantity_col]):
            summed = summed.astype(out[quantity_col].dtype)
        out[quantity_col] = summed
    return out
