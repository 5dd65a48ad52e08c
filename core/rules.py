"""Merchandiser controls: a named rule set (pin, boost / bury, exclude, price band, only other categories)
compiled once against a :class:`~core.model.ShopModel` and applied to every customer's scores.

A :class:`RuleSet` is plain data (frozen, validated, JSON round trip through :meth:`RuleSet.to_dict` /
:meth:`RuleSet.from_dict`); :func:`compile_rules` turns it into a :class:`CompiledRules` aligned to
``model.item_ids``: boolean masks and factor vectors built once, so :meth:`CompiledRules.adjust` costs a few
vector operations per customer (well under a millisecond on 15,000 items).

Rules, in the order they act on one customer's ``(n_items,)`` scores:

1. **exclude** (items by product id; categories by name at any level of the path) -> ``-inf``;
2. **price band** ``(low, high)``: items whose price lies outside ``[low * ref, high * ref]`` -> ``-inf``,
   ``ref`` being the customer's reference price (below);
3. **only other categories**: items in a category (at ``model.category_level``) the customer bought -> ``-inf``;
4. **boost / bury**: a positive score is multiplied by the product of the factors of every boost that matches
   the item (factor > 1 boosts, < 1 buries); zero, negative and ``-inf`` scores are left as they are;
5. **pins** are returned apart (:meth:`CompiledRules.pins`): the caller places them at their positions.

Prices
------
Item price: the catalog ``price`` when > 0, else the median order-line ``price`` (> 0) of the product, else
none. Customer reference price: the median unit price over the customer's product order lines (one value per
line; the line's own ``price`` when > 0, else the item price), from the ``orders`` given to
:func:`compile_rules`; a customer missing from those orders gets the median item price of ``hist``.
Zero prices (free gifts, warehouse notes) say nothing about what a customer pays and count as missing.
Items without a price are never removed by the band (it judges only what it can price), and customers
without a reference price get no band; :attr:`CompiledRules.warnings` counts the unpriced items and says when
the band is ignored because nothing has a price.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Real

import numpy as np
import pandas as pd

from core import schema as S
from core.model import ShopModel

BOOST_KINDS = ("category", "brand")
_FORMAT_VERSION = 1


def _norm(text: str) -> str:
    """Case- and space-insensitive form of a name (``casefold``, single spaces)."""
    return " ".join(str(text).split()).casefold()


def _path_parts(path: str) -> tuple[str, ...]:
    """``'Frozen >  Frozen Pizza'`` -> ``('frozen', 'frozen pizza')``."""
    return tuple(_norm(p) for p in str(path).split(S.CATEGORY_SEP) if p.strip())


def _contains_run(parts: tuple, run: tuple) -> bool:
    """True when ``run`` occurs as consecutive elements of ``parts``."""
    n = len(run)
    return any(parts[i:i + n] == run for i in range(len(parts) - n + 1))


def _check_str(value, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__} {value!r}")
    if not value.strip():
        raise ValueError(f"{what} must not be empty")
    return value.strip()


def _check_number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{what} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return value


def _seq(value, what: str) -> tuple:
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{what} must be a list or tuple, got {type(value).__name__} {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class RuleSet:
    """A merchandiser's named rules for what is shown (validated; lists are stored as tuples).

    Parameters
    ----------
    name : str
        1-100 characters (stripped).
    pins : tuple of ``(product_id: str, position: int >= 1)``
        Show the product at this 1-based position of every slate (when the customer has not bought it and it
        is not excluded). Product ids and positions are unique.
    boosts : tuple of ``(kind: 'category' | 'brand', value: str, factor: float > 0)``
        Multiply positive scores of matching items by ``factor`` (> 1 boosts, < 1 buries). A category value
        matches at any level of the path like ``exclude_categories``; a brand matches the whole brand
        (case-insensitive). One boost per (kind, value).
    exclude_items : tuple of str
        Product ids never shown (out of stock, restricted).
    exclude_categories : tuple of str
        Categories never shown. ``'frozen'`` matches every path with a level named *frozen*;
        ``'frozen > frozen pizza'`` matches paths holding those levels in a row. Case- and space-insensitive.
    price_band : None or ``(low, high)``, ``0 <= low < high``
        Keep items priced within ``[low, high]`` times the customer's reference price (see the module notes
        for items and customers without prices). None: no band.
    only_other_categories : bool
        Show only categories (at the model's category level) the customer has never bought.

    Raises
    ------
    TypeError for a value of the wrong type; ValueError for a wrong value (the field is named).

    Examples
    --------
    >>> r = RuleSet("summer", pins=[("P1", 1)], boosts=[("category", "snacks", 1.5)], exclude_categories=["frozen"])
    >>> RuleSet.from_dict(r.to_dict()) == r
    True
    """

    name: str
    pins: tuple = ()
    boosts: tuple = ()
    exclude_items: tuple = ()
    exclude_categories: tuple = ()
    price_band: tuple | None = None
    only_other_categories: bool = False

    def __post_init__(self):
        put = lambda attr, v: object.__setattr__(self, attr, v)  # noqa: E731 - frozen: normalise in place
        name = _check_str(self.name, "name")
        if len(name) > 100:
            raise ValueError(f"name must be at most 100 characters, got {len(name)}")
        put("name", name)

        pins = []
        for i, pin in enumerate(_seq(self.pins, "pins")):
            pin = _seq(pin, f"pins[{i}]")
            if len(pin) != 2:
                raise ValueError(f"pins[{i}] must be (product_id, position), got {pin!r}")
            pid = _check_str(pin[0], f"pins[{i}] product_id")
            pos = pin[1]
            if isinstance(pos, bool) or not isinstance(pos, (int, np.integer)):
                raise TypeError(f"pins[{i}] position must be an int, got {type(pos).__name__} {pos!r}")
            if pos < 1:
                raise ValueError(f"pins[{i}] position must be >= 1 (1 = first), got {pos}")
            pins.append((pid, int(pos)))
        for what, values in (("product_id", [p for p, _ in pins]), ("position", [q for _, q in pins])):
            dup = sorted({v for v in values if values.count(v) > 1}, key=str)
            if dup:
                raise ValueError(f"pins: {what} {dup[0]!r} is pinned more than once")
        put("pins", tuple(pins))

        boosts = []
        for i, b in enumerate(_seq(self.boosts, "boosts")):
            b = _seq(b, f"boosts[{i}]")
            if len(b) != 3:
                raise ValueError(f"boosts[{i}] must be (kind, value, factor), got {b!r}")
            kind, value, factor = b
            if kind not in BOOST_KINDS:
                raise ValueError(f"boosts[{i}] kind must be one of {BOOST_KINDS}, got {kind!r}")
            value = _check_str(value, f"boosts[{i}] value")
            factor = _check_number(factor, f"boosts[{i}] factor")
            if factor <= 0:
                raise ValueError(f"boosts[{i}] factor must be > 0 (> 1 boosts, < 1 buries), got {factor}")
            boosts.append((kind, value, factor))
        keys = [(k, _path_parts(v) if k == "category" else _norm(v)) for k, v, _ in boosts]
        for i, key in enumerate(keys):
            if key in keys[:i]:
                raise ValueError(f"boosts: {boosts[i][0]} {boosts[i][1]!r} is given more than once")
        put("boosts", tuple(boosts))

        for attr in ("exclude_items", "exclude_categories"):
            vals = tuple(_check_str(v, f"{attr}[{i}]") for i, v in enumerate(_seq(getattr(self, attr), attr)))
            put(attr, tuple(dict.fromkeys(vals)))  # duplicates dropped, order kept

        if self.price_band is not None:
            band = _seq(self.price_band, "price_band")
            if len(band) != 2:
                raise ValueError(f"price_band must be (low, high), got {band!r}")
            low, high = (_check_number(v, f"price_band {w}") for v, w in zip(band, ("low", "high")))
            if low < 0 or high <= low:
                raise ValueError(f"price_band must satisfy 0 <= low < high, got ({low}, {high})")
            put("price_band", (low, high))

        if not isinstance(self.only_other_categories, (bool, np.bool_)):
            raise TypeError(f"only_other_categories must be a bool, got {self.only_other_categories!r}")
        put("only_other_categories", bool(self.only_other_categories))

    # --- (de)serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-ready dict (``json.dumps`` works on it); :meth:`from_dict` reads it back."""
        return {
            "version": _FORMAT_VERSION,
            "name": self.name,
            "pins": [{"product_id": p, "position": q} for p, q in self.pins],
            "boosts": [{"kind": k, "value": v, "factor": f} for k, v, f in self.boosts],
            "exclude_items": list(self.exclude_items),
            "exclude_categories": list(self.exclude_categories),
            "price_band": None if self.price_band is None else list(self.price_band),
            "only_other_categories": self.only_other_categories,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> "RuleSet":
        """Inverse of :meth:`to_dict`. Missing fields take their defaults (``name`` is required).

        Raises
        ------
        TypeError if ``data`` is not a mapping; ValueError for an unknown field or version, or any value
        :class:`RuleSet` rejects.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"rule set data must be a dict, got {type(data).__name__}")
        known = {"version", "name", "pins", "boosts", "exclude_items", "exclude_categories", "price_band",
                 "only_other_categories"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown rule set field {unknown[0]!r} (known: {', '.join(sorted(known))})")
        if data.get("version", _FORMAT_VERSION) != _FORMAT_VERSION:
            raise ValueError(f"rule set version must be {_FORMAT_VERSION}, got {data.get('version')!r}")
        if "name" not in data:
            raise ValueError("rule set data needs a 'name'")

        def rows(key, fields):
            out = []
            for i, r in enumerate(_seq(data.get(key, ()), key)):
                if isinstance(r, Mapping):
                    missing = [f for f in fields if f not in r]
                    if missing:
                        raise ValueError(f"{key}[{i}] needs {missing[0]!r}")
                    r = tuple(r[f] for f in fields)
                out.append(r)
            return out

        return cls(name=data["name"], pins=rows("pins", ("product_id", "position")),
                   boosts=rows("boosts", ("kind", "value", "factor")),
                   exclude_items=data.get("exclude_items", ()), exclude_categories=data.get("exclude_categories", ()),
                   price_band=data.get("price_band"), only_other_categories=data.get("only_other_categories", False))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "RuleSet":
        return cls.from_dict(json.loads(text))

    @property
    def is_empty(self) -> bool:
        """True when no rule would change anything."""
        return not (self.pins or self.boosts or self.exclude_items or self.exclude_categories
                    or self.price_band is not None or self.only_other_categories)

    def summary(self) -> str:
        """One line for tables: ``'1 pin, 2 boosts, excludes 3 items and 1 category, price band 0.5x-2x'``."""
        def n(count, one, many=None):
            return f"{count} {one if count == 1 else (many or one + 's')}"
        parts = []
        if self.pins:
            parts.append(n(len(self.pins), "pin"))
        if self.boosts:
            parts.append(n(len(self.boosts), "boost"))
        ex = [n(len(x), *w) for x, w in ((self.exclude_items, ("item",)),
                                          (self.exclude_categories, ("category", "categories"))) if x]
        if ex:
            parts.append("excludes " + " and ".join(ex))
        if self.price_band is not None:
            parts.append(f"price band {self.price_band[0]:g}x-{self.price_band[1]:g}x")
        if self.only_other_categories:
            parts.append("only other categories")
        return ", ".join(parts) or "no rules"


def _boost_text(kind: str, value: str, factor: float) -> str:
    return f"{'boosted' if factor > 1 else 'buried'}: {kind} {value!r} x{factor:g}"


class _Notes(Mapping):
    """Lazy ``{item index: note}`` over one customer's adjusted scores: an item has a note when a boost
    changed its (finite, positive) score. Lookups are O(1); only iteration scans the ``(n_items,)`` vector."""

    def __init__(self, rules: "CompiledRules", adjusted: np.ndarray):
        self._rules, self._adjusted = rules, adjusted

    def _has(self, j) -> bool:
        try:
            j = int(j)
        except (TypeError, ValueError):
            return False
        if not 0 <= j < len(self._adjusted):
            return False
        s = self._adjusted[j]
        return bool(self._rules._changed[j] and s > 0 and np.isfinite(s))

    def __getitem__(self, j) -> str:
        if not self._has(j):
            raise KeyError(j)
        return self._rules.note(int(j))

    def __contains__(self, j) -> bool:
        return self._has(j)

    def _mask(self) -> np.ndarray:
        a = self._adjusted
        return self._rules._changed & np.isfinite(a) & (a > 0)

    def __iter__(self):
        return iter(np.flatnonzero(self._mask()).tolist())

    def __len__(self) -> int:
        return int(self._mask().sum())


@dataclass(eq=False)
class CompiledRules:
    """A :class:`RuleSet` aligned to a model's items (build with :func:`compile_rules`).

    Attributes
    ----------
    name : str
        The rule set's name.
    rules : RuleSet
    warnings : list of str
        What could not be applied (unknown product ids, a boost matching nothing, a rule needing brands or
        prices the data lacks). Empty when every rule found its items.
    excluded : ``(n_items,)`` bool
        Items no customer is shown (``exclude_items`` and ``exclude_categories``).
    factors : ``(n_items,)`` float64 > 0
        Product of the matching boosts' factors (1 where none matches).
    item_prices : ``(n_items,)`` float64
        Price of each item in shop currency (NaN: none), used by the price band.
    pinned : list of ``(item index, position)``
        Known pinned items, by position.
    """

    name: str
    rules: RuleSet
    warnings: list
    excluded: np.ndarray
    factors: np.ndarray
    item_prices: np.ndarray
    pinned: list
    category_codes: np.ndarray
    _reference_prices: dict = field(repr=False)
    _boost_notes: list = field(repr=False)          # note text per boost combination
    _boost_combo: np.ndarray = field(repr=False)    # (n_items,) index into _boost_notes, -1: no boost
    _excluded_idx: np.ndarray = field(init=False, repr=False)
    _changed: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self._excluded_idx = np.flatnonzero(self.excluded)
        self._changed = self.factors != 1.0
        self._has_boosts = bool(self._changed.any())
        self._band = self.rules.price_band if np.isfinite(self.item_prices).any() else None
        self._n_categories = int(self.category_codes.max()) + 1 if len(self.category_codes) else 0
        self._pin_idx = np.asarray([j for j, _ in self.pinned], dtype=np.int64)
        self._pin_pos = [q for _, q in self.pinned]

    @property
    def n_items(self) -> int:
        return len(self.factors)

    def reference_price(self, customer_id, hist: np.ndarray) -> float | None:
        """The customer's reference price (shop currency) or None when nothing they bought has a price.

        From the orders given to :func:`compile_rules`; a customer absent from them: the median item price
        of ``hist``.
        """
        ref = self._reference_prices.get(str(customer_id))
        if ref is None and len(hist):
            p = self.item_prices[np.asarray(hist, dtype=np.int64)]
            p = p[np.isfinite(p)]
            ref = float(np.median(p)) if len(p) else None
        return ref

    def adjust(self, customer_id, hist: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, Mapping]:
        """Apply the rules to one customer's scores.

        Parameters
        ----------
        customer_id : str
        hist : ``(n_bought,)`` int
            Item indices the customer bought (as ``model.history(customer_id)[0]``).
        scores : ``(n_items,)`` float
            A strategy's scores, higher is better; not modified.

        Returns
        -------
        adjusted : ``(n_items,)`` float64
            ``-inf`` for excluded items, items outside the price band and (with ``only_other_categories``)
            items in a category the customer bought; positive scores multiplied by :attr:`factors`.
        notes : Mapping ``{item index: str}``
            Lazy: for items whose finite, positive score a boost changed, e.g.
            ``"boosted: category 'snacks' x1.5"``. ``j in notes`` and ``notes[j]`` cost O(1); iterating scans
            the vector once. It reads ``adjusted``: later edits of that array show in it.

        Raises
        ------
        ValueError if ``scores`` does not have ``n_items`` entries.
        """
        out = np.array(scores, dtype=np.float64, copy=True)
        if out.shape != (self.n_items,):
            raise ValueError(f"scores must have shape ({self.n_items},), got {out.shape}")
        hist = np.asarray(hist, dtype=np.int64)
        if self._has_boosts:
            np.multiply(out, self.factors, out=out, where=out > 0)
        if len(self._excluded_idx):
            out[self._excluded_idx] = -np.inf
        if self._band is not None:
            ref = self.reference_price(customer_id, hist)
            if ref is not None:
                p = self.item_prices
                with np.errstate(invalid="ignore"):      # NaN prices compare False: kept
                    out[(p < self._band[0] * ref) | (p > self._band[1] * ref)] = -np.inf
        if self.rules.only_other_categories and len(hist):
            seen = np.zeros(self._n_categories, dtype=bool)
            seen[self.category_codes[hist]] = True
            out[seen[self.category_codes]] = -np.inf
        return out, _Notes(self, out)

    def note(self, j: int) -> str | None:
        """The boost note of item ``j`` (customer-independent), or None when no boost changes it."""
        c = self._boost_combo[j]
        return None if c < 0 else self._boost_notes[c]

    def pins(self, customer_id, hist: np.ndarray) -> list[tuple[int, int]]:
        """``[(item index, position), ...]`` by position: pinned items the customer has not bought and that are
        not excluded. Pins obey ``exclude_*`` only; the price band and ``only_other_categories`` do not
        remove a pin (the merchandiser chose that item by name).
        """
        if not len(self._pin_idx):
            return []
        bought = np.isin(self._pin_idx, np.asarray(hist, dtype=np.int64))
        return [(int(j), q) for j, q, b in zip(self._pin_idx, self._pin_pos, bought) if not b]

    @staticmethod
    def pin_note(position: int) -> str:
        """Reason text for a pinned item: ``'pinned: position 2'``."""
        return f"pinned: position {position}"


def _prices(model: ShopModel, catalog: pd.DataFrame, orders: pd.DataFrame) -> tuple[np.ndarray, dict]:
    """(item prices aligned to ``model.item_ids``, {customer id: reference price}); see the module notes."""
    n = model.n_items
    item_prices = np.full(n, np.nan)
    if S.PRICE in catalog:
        idx = model.item_index(catalog[S.PRODUCT_ID].astype(str))
        p = pd.to_numeric(catalog[S.PRICE], errors="coerce").to_numpy(dtype=np.float64)
        ok = (idx >= 0) & (p > 0)
        item_prices[idx[ok]] = p[ok]
    refs: dict = {}
    if orders is None or len(orders) == 0 or S.PRODUCT_ID not in orders:
        return item_prices, refs
    o = orders
    if S.LINE_TYPE in o:
        o = o[o[S.LINE_TYPE].isin([S.PRODUCT_LINE, "not_in_catalog"]).to_numpy()]
    cols = model.item_index(o[S.PRODUCT_ID].astype(str))
    keep = cols >= 0
    cols = cols[keep]
    line_price = (pd.to_numeric(o[S.PRICE], errors="coerce").to_numpy(dtype=np.float64)[keep]
                  if S.PRICE in o else np.full(len(cols), np.nan))
    line_price = np.where(line_price > 0, line_price, np.nan)
    # items the catalog does not price: the median price paid for them
    fill = np.isnan(item_prices[cols]) & np.isfinite(line_price)
    if fill.any():
        med = pd.Series(line_price[fill]).groupby(cols[fill]).median()
        item_prices[med.index.to_numpy()] = med.to_numpy()
    if S.CUSTOMER_ID in o:
        unit = np.where(np.isfinite(line_price), line_price, item_prices[cols])
        cust = o[S.CUSTOMER_ID].to_numpy()[keep]
        ok = np.isfinite(unit) & pd.notna(cust)
        if ok.any():
            med = pd.Series(unit[ok]).groupby(pd.Series(cust[ok]).astype(str).to_numpy()).median()
            refs = dict(zip(med.index.tolist(), med.to_numpy().tolist()))
    return item_prices, refs


def compile_rules(rules: RuleSet, model: ShopModel, catalog: pd.DataFrame, orders: pd.DataFrame) -> CompiledRules:
    """Align a rule set to ``model.item_ids``: exclusion mask, boost factors, prices, pins.

    Parameters
    ----------
    rules : RuleSet
    model : ShopModel
        Supplies ``item_ids``, ``category_paths`` (matched by ``exclude_categories`` and category boosts) and
        ``category_codes`` (``only_other_categories``, at ``model.category_level``).
    catalog : DataFrame
        Columns ``product_id`` and, when present, ``brand`` and ``price`` (core.schema names).
    orders : DataFrame
        Order lines with ``product_id`` and, when present, ``customer_id``, ``price`` and ``line_type`` (only
        product lines count); used for the price band. Pass the orders the model was built from.

    Returns
    -------
    CompiledRules
        With a warning for each pinned or excluded product id not in the model, each exclusion or boost that
        matches no item, each pin that is also excluded, a brand boost when the catalog has no brands, and a
        price band when no item has a price (the band is then ignored) or some items lack one.

    Raises
    ------
    TypeError if ``rules`` is not a RuleSet; ValueError if ``catalog`` lacks ``product_id``.
    """
    if not isinstance(rules, RuleSet):
        raise TypeError(f"rules must be a RuleSet, got {type(rules).__name__}")
    if S.PRODUCT_ID not in catalog:
        raise ValueError(f"catalog must have a {S.PRODUCT_ID!r} column")
    n = model.n_items
    warnings: list[str] = []

    # categories: match each distinct path once
    path_codes, uniq_paths = pd.factorize(pd.Series(model.category_paths, dtype=object).astype(str))
    parts = [_path_parts(p) for p in uniq_paths]

    def category_mask(value: str) -> np.ndarray:
        run = _path_parts(value)
        hit = np.fromiter((_contains_run(p, run) for p in parts), dtype=bool, count=len(parts))
        return hit[path_codes] if n else np.zeros(0, dtype=bool)

    excluded = np.zeros(n, dtype=bool)
    if rules.exclude_items:
        idx = model.item_index(list(rules.exclude_items))
        unknown = [p for p, j in zip(rules.exclude_items, idx) if j < 0]
        if unknown:
            warnings.append(f"excluded product ids not in the catalog: {', '.join(unknown)}")
        excluded[idx[idx >= 0]] = True
    for value in rules.exclude_categories:
        m = category_mask(value)
        if not m.any():
            warnings.append(f"excluded category {value!r} matches no product")
        excluded |= m

    # brands aligned to the model's items
    brands = None
    if any(k == "brand" for k, _, _ in rules.boosts):
        if S.BRAND not in catalog or catalog[S.BRAND].isna().all():
            warnings.append("brand boosts ignored: the catalog has no brands")
        else:
            brands = np.full(n, "", dtype=object)
            idx = model.item_index(catalog[S.PRODUCT_ID].astype(str))
            b = catalog[S.BRAND].to_numpy(dtype=object)
            ok = (idx >= 0) & pd.notna(b)
            brands[idx[ok]] = [_norm(x) for x in b[ok]]

    factors = np.ones(n, dtype=np.float64)
    hits = []
    for kind, value, factor in rules.boosts:
        if kind == "brand" and brands is None:       # already warned: the catalog has no brands
            m = np.zeros(n, dtype=bool)
        else:
            m = category_mask(value) if kind == "category" else brands == _norm(value)
            if not m.any():
                warnings.append(f"{kind} boost {value!r} matches no product")
        factors[m] *= factor
        hits.append(m)
    # one note per distinct combination of matching boosts, where the factors do change the score
    combo = np.full(n, -1, dtype=np.int64)
    notes: list[str] = []
    if hits:
        matrix = np.column_stack(hits)
        changed = factors != 1.0
        if changed.any():
            rows, inverse = np.unique(matrix[changed], axis=0, return_inverse=True)
            combo[changed] = np.asarray(inverse).reshape(-1)
            notes = ["; ".join(_boost_text(*rules.boosts[b]) for b in np.flatnonzero(r)) for r in rows]

    pinned = []
    if rules.pins:
        idx = model.item_index([p for p, _ in rules.pins])
        unknown = [p for (p, _), j in zip(rules.pins, idx) if j < 0]
        if unknown:
            warnings.append(f"pinned product ids not in the catalog: {', '.join(unknown)}")
        for (pid, pos), j in sorted(zip(rules.pins, idx), key=lambda t: t[0][1]):
            if j < 0:
                continue
            if excluded[j]:
                warnings.append(f"pinned product {pid!r} is also excluded: it is never shown")
                continue
            pinned.append((int(j), pos))

    item_prices, refs = (np.full(n, np.nan), {})
    if rules.price_band is not None:
        item_prices, refs = _prices(model, catalog, orders)
        priced = int(np.isfinite(item_prices).sum())
        if priced == 0:
            warnings.append("price band ignored: neither the catalog nor the orders have prices")
        elif priced < n:
            warnings.append(f"price band: {n - priced:,} of {n:,} products have no price and are never "
                            f"removed by it")

    return CompiledRules(name=rules.name, rules=rules, warnings=warnings, excluded=excluded, factors=factors,
                         item_prices=item_prices, pinned=pinned, category_codes=np.asarray(model.category_codes),
                         _reference_prices=refs, _boost_notes=notes, _boost_combo=combo)
