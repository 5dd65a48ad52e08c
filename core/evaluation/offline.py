"""Offline evaluation of recommendation strategies on each customer's held-out last order.

1. ``leave_last_order_out`` (core.evaluation.split) holds out each customer's last order.
2. A :class:`~core.model.ShopModel` is built from the training lines only (``core.pipeline.build_model``).
3. Every strategy is fitted on it and asked, through ``recommend_many(customer_ids, k)``, for the top k of
   each held-out customer; the ranked lists are scored by core.evaluation.metrics against the held-out
   order (all of it, its new items, and its items of categories the customer never bought), with 95%
   intervals by bootstrap over customers.

Output (:data:`EVALUATION_COLUMNS`): one row per (strategy, metric): strategy, metric, k, value, ci_low,
ci_high. Metric names: :data:`METRICS`.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core import schema as S
from core.errors import EmptyDataError
from core.evaluation.metrics import (bootstrap_summary, cross_category_truth, new_item_truth, novelty_at_k,
                                     ranking_metrics, self_information)
from core.evaluation.split import leave_last_order_out
from core.model import ShopModel, category_at_level

Progress = Callable[[float, str], None]

#: columns of the evaluation table (and of ``evaluation.csv``)
EVALUATION_COLUMNS = ("strategy", "metric", "k", "value", "ci_low", "ci_high")

#: metric names, in output order. Unprefixed ones use the whole held-out order; ``new_item_*`` only its
#: items the customer never bought before; ``cross_category_*`` only its items of a category (at the
#: evaluation's category level) the customer never bought before. ``coverage`` is catalog coverage,
#: ``novelty`` the mean self-information in bits (core.evaluation.metrics).
METRICS = ("precision", "recall", "ndcg", "map", "hit_rate",
           "new_item_recall", "new_item_ndcg", "new_item_hit_rate",
           "cross_category_recall", "cross_category_ndcg", "cross_category_hit_rate",
           "coverage", "novelty")


@dataclass(frozen=True)
class HeldOut:
    """The held-out purchases of the customers a train model knows, aligned with its item columns.

    Attributes
    ----------
    customer_ids : ``(n,)`` str, held-out customers with training history and >= 1 held-out catalog item,
        in the order of the model's ``user_items`` rows.
    truth : CSR ``(n, n_items)`` 1.0 = in the held-out order.
    history : CSR ``(n, n_items)`` training order lines per item (their rows of ``user_items``).
    item_categories : ``(n_items,)`` category label at ``category_level``.
    item_information : ``(n_items,)`` self-information in bits (novelty), from training customers.
    category_level : int
    """

    customer_ids: np.ndarray
    truth: sp.csr_matrix
    history: sp.csr_matrix
    item_categories: np.ndarray
    item_information: np.ndarray
    category_level: int

    @property
    def n_items(self) -> int:
        return self.truth.shape[1]


def held_out(train_model: ShopModel, test: pd.DataFrame, category_level: int | None = None) -> HeldOut:
    """Align held-out order lines with a model built on the training lines.

    Parameters
    ----------
    train_model : ShopModel built from the training part of the split only.
    test : DataFrame with customer_id, product_id (held-out order lines, e.g. from ``leave_last_order_out``).
    category_level : int >= 1, optional
        Level of the category path that defines "a category" for the cross-category metrics
        (1 = top level, 2 = e.g. the aisle); default the model's own ``category_level``.

    Returns
    -------
    HeldOut. Customers without training history, and lines naming products outside the catalog, are
    left out.

    Raises
    ------
    EmptyDataError : no held-out customer is known to the model with a catalog item held out.
    ValueError : category_level < 1.   KeyError : a required column is missing.
    """
    level = train_model.category_level if category_level is None else category_level
    if not isinstance(level, (int, np.integer)) or isinstance(level, bool) or level < 1:
        raise ValueError(f"category_level must be an int >= 1, got {level!r}")
    missing = [c for c in (S.CUSTOMER_ID, S.PRODUCT_ID) if c not in test]
    if missing:
        raise KeyError(f"test order lines need the column(s) {missing}")
    rows = pd.Index(train_model.customer_ids).get_indexer(test[S.CUSTOMER_ID].astype(str))
    cols = train_model.item_index(test[S.PRODUCT_ID].astype(str).to_numpy())
    keep = (rows >= 0) & (cols >= 0)
    if not keep.any():
        raise EmptyDataError("no held-out customer has training history and a held-out catalog product")
    user_rows = np.unique(rows[keep])
    local = np.searchsorted(user_rows, rows[keep])
    truth = sp.csr_matrix((np.ones(int(keep.sum())), (local, cols[keep])), shape=(len(user_rows), train_model.n_items))
    truth.sum_duplicates()
    truth.data[:] = 1.0
    history = train_model.user_items[user_rows].tocsr()
    cats = category_at_level(pd.Series(train_model.category_paths, dtype=object), int(level))
    bought = train_model.user_items.copy()
    bought.data[:] = 1.0
    k_i = np.asarray(bought.sum(axis=0)).ravel()
    info = self_information(k_i, max(train_model.user_items.shape[0], 1))
    return HeldOut(np.asarray(train_model.customer_ids[user_rows], dtype=object), truth, history,
                   np.asarray(cats, dtype=object), info, int(level))


def ranked_indices(model: ShopModel, recommendations, k: int) -> np.ndarray:
    """``(n, k)`` int64 item indices of each customer's recommended ids, best first, -1 padded.

    Parameters
    ----------
    recommendations : sequence of objects with ``ids`` (product ids), as returned by ``recommend_many``.

    Raises
    ------
    ValueError : a recommended id is not in the model's catalog.
    """
    out = np.full((len(recommendations), k), -1, dtype=np.int64)
    for i, rec in enumerate(recommendations):
        ids = np.asarray(rec.ids, dtype=object)[:k]
        if len(ids):
            idx = model.item_index(ids)
            if (idx < 0).any():
                raise ValueError(f"recommended product {ids[idx < 0][0]!r} is not in the catalog")
            out[i, :len(idx)] = idx
    return out


def score_ranked(held: HeldOut, ranked: np.ndarray, k: int = 10, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Every metric of :data:`METRICS` for ranked lists aligned with ``held.customer_ids``.

    Parameters
    ----------
    held : HeldOut
    ranked : ``(n, >= 1)`` int item indices, best first, -1 padded (see core.evaluation.metrics).
    k : int >= 1.   n_boot : int >= 1 bootstrap replicates.   seed : int (same seed = same resamples).

    Returns
    -------
    DataFrame: metric, k, value, ci_low, ci_high, customers (customers counted for that metric: the
    restricted metrics count only customers whose held-out order has a new / other-category item).
    """
    per = {}
    for prefix, truth in (("", held.truth), ("new_item_", new_item_truth(held.truth, held.history)),
                          ("cross_category_", cross_category_truth(held.truth, held.history, held.item_categories))):
        m = ranking_metrics(ranked, truth, k)
        names = ("precision", "recall", "ndcg", "map", "hit_rate") if not prefix else ("recall", "ndcg", "hit_rate")
        per.update({prefix + n: m[n] for n in names})
    per["novelty"] = novelty_at_k(ranked, held.item_information, k)
    table = bootstrap_summary(per, n_boot=n_boot, seed=seed, ranked=ranked, n_items=held.n_items, k=k)
    table.insert(1, "k", int(k))
    order = {m: i for i, m in enumerate(METRICS)}
    return table.sort_values("metric", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


def evaluate_strategies(train_model: ShopModel, test: pd.DataFrame, strategies: Mapping, k: int = 10,
                        n_boot: int = 1000, seed: int = 0, progress: Progress | None = None,
                        category_level: int | None = None, batch_size: int = 256) -> pd.DataFrame:
    """Fit each strategy on the training model and score its top k on the held-out orders.

    Parameters
    ----------
    train_model : ShopModel built from the training lines only (see :func:`evaluate_workspace`).
    test : DataFrame of held-out order lines (customer_id, product_id), e.g. ``leave_last_order_out(orders)[1]``.
    strategies : dict name -> strategy (anything with ``fit(model)`` and ``recommend_many(customer_ids, k)``
        returning objects with ``ids``); each is fitted on ``train_model`` here.
    k : int >= 1 list length.
    n_boot : int >= 1 bootstrap replicates per interval (resampling held-out customers).
    seed : int; the same resamples serve every strategy (paired comparison).
    progress : callable(fraction in [0, 1], message), optional.
    category_level : int >= 1, optional; the level of "another category" for the cross-category metrics
        (default the model's ``category_level``).
    batch_size : customers per ``recommend_many`` call (progress granularity).

    Returns
    -------
    DataFrame with columns exactly :data:`EVALUATION_COLUMNS`, one row per strategy and metric of
    :data:`METRICS`; rates in [0, 1], novelty in bits. ``attrs["customers"]``: dict metric -> customers
    counted (same for every strategy); ``attrs["seconds"]``: dict strategy -> seconds to recommend.

    Raises
    ------
    EmptyDataError : no held-out customer is known to the model.
    ValueError : no strategies, k < 1, n_boot < 1; a strategy recommending an id outside the catalog.
    TypeError : k not an int.
    """
    import time

    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise TypeError(f"k must be an int, got {type(k).__name__}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not strategies:
        raise ValueError("strategies is empty: give at least one strategy")
    p = progress or (lambda f, m: None)
    held = held_out(train_model, test, category_level)
    ids = list(held.customer_ids)
    frames, seconds, customers = [], {}, {}
    n_s = len(strategies)
    for s_i, (name, strat) in enumerate(strategies.items()):
        p(s_i / n_s, f"{name}: fitting")
        t0 = time.perf_counter()
        strat.fit(train_model)
        recs = []
        for start in range(0, len(ids), batch_size):
            recs.extend(strat.recommend_many(ids[start:start + batch_size], k))
            done = min(start + batch_size, len(ids))
            p((s_i + 0.9 * done / len(ids)) / n_s, f"{name}: customer {done:,} of {len(ids):,}")
        seconds[name] = time.perf_counter() - t0
        if len(recs) != len(ids):
            raise ValueError(f"strategy {name!r} returned {len(recs)} lists for {len(ids)} customers")
        table = score_ranked(held, ranked_indices(train_model, recs, k), k, n_boot, seed)
        customers = dict(zip(table["metric"], table["customers"].astype(int)))
        table.insert(0, "strategy", name)
        frames.append(table[list(EVALUATION_COLUMNS)])
    p(1.0, f"{n_s} strategies scored on {len(ids):,} held-out customers")
    out = pd.concat(frames, ignore_index=True)
    out.attrs.update(customers=customers, seconds=seconds, held_out_customers=len(ids),
                     category_level=held.category_level)
    return out


def default_strategies() -> dict:
    """One instance per strategy class of core.recommend, default parameters: ``{name: strategy}``.

    The classes are those of the ``core.recommend.STRATEGIES`` registry plus any other concrete
    strategy class core.recommend exports (a class with ``fit`` and ``recommend_many``, its own ``name``,
    constructible without arguments).
    """
    import core.recommend as R
    from core.recommend.base import Strategy

    classes = list(getattr(R, "STRATEGIES", {}).values())
    for obj in vars(R).values():
        if (inspect.isclass(obj) and obj is not Strategy and obj not in classes
                and callable(getattr(obj, "fit", None)) and callable(getattr(obj, "recommend_many", None))
                and getattr(obj, "name", Strategy.name) != Strategy.name and not inspect.isabstract(obj)):
            try:
                required = [p for p in inspect.signature(obj).parameters.values()
                            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD,
                                                                   p.KEYWORD_ONLY)]
            except (TypeError, ValueError):
                continue
            if not required:
                classes.append(obj)
    out = {}
    for cls in classes:
        inst = cls()
        out[getattr(inst, "name", cls.__name__)] = inst
    return out


def evaluate_workspace(catalog: pd.DataFrame, orders: pd.DataFrame, reviews: pd.DataFrame | None = None,
                       strategies: Mapping | None = None, k: int = 10, embed=None, progress: Progress | None = None,
                       n_boot: int = 1000, seed: int = 0, settings=None,
                       category_level: int | None = None, rules=None) -> pd.DataFrame:
    """Split the orders, build the training model and evaluate the strategies (:func:`evaluate_strategies`).

    Parameters
    ----------
    catalog, orders, reviews : canonical tables (core.schema).
    strategies : dict name -> strategy, optional; None = :func:`default_strategies`.
    k : int >= 1.
    embed : callable(texts, progress) -> ``(len(texts), dim)`` float32, optional (as for
        ``core.pipeline.build_model``). Without it the model is built without text
        (``BuildSettings(use_text=False)``) and, when ``strategies`` is None, the strategies that need
        embeddings are left out (listed in ``attrs["skipped"]``).
    progress : callable(fraction, message), optional: 0-60% building, 60-100% evaluating.
    n_boot, seed, category_level : see :func:`evaluate_strategies`.
    settings : core.pipeline.BuildSettings, optional (``use_text`` follows ``embed`` when not given).
    rules : core.rules.RuleSet, optional
        A merchandiser rule set: compiled against the training model and orders (``core.rules.compile_rules``;
        the held-out orders never reach it) and set as ``strategy.rules`` on every strategy, so the evaluation
        scores what customers would be shown. ``attrs["rules"]`` names it and lists the compile warnings.

    Returns
    -------
    DataFrame (:data:`EVALUATION_COLUMNS`), attrs as :func:`evaluate_strategies` plus ``train_orders``,
    ``test_orders`` and ``skipped`` (dict name -> reason).

    Raises
    ------
    EmptyDataError : no customer has two orders, empty catalog or orders.
    """
    from core.pipeline import BuildSettings, build_model

    def sub(lo, hi):
        return (lambda f, m: progress(lo + (hi - lo) * f, m)) if progress else None

    if settings is None:
        settings = BuildSettings(use_text=embed is not None)
    train, test = leave_last_order_out(orders)
    model = build_model(catalog, train, reviews, settings, embed=embed, progress=sub(0.0, 0.6))
    skipped = {}
    if strategies is None:
        strategies = default_strategies()
        if model.embeddings is None:
            keep = {}
            for name, s in strategies.items():
                try:
                    s.fit(model).recommend_many(list(model.customer_ids[:1]), 1)
                    keep[name] = s
                except RuntimeError as exc:  # e.g. text neighbours without embeddings
                    skipped[name] = str(exc)
            strategies = keep
    rule_info = None
    if rules is not None:
        from core.rules import compile_rules
        compiled = compile_rules(rules, model, catalog, train)
        for s in strategies.values():
            s.rules = compiled
        rule_info = {"name": getattr(compiled, "name", None), "warnings": list(getattr(compiled, "warnings", []))}
    out = evaluate_strategies(model, test, strategies, k=k, n_boot=n_boot, seed=seed, progress=sub(0.6, 1.0),
                              category_level=category_level)
    out.attrs.update(train_orders=int(train[S.ORDER_ID].nunique()), test_orders=int(test[S.ORDER_ID].nunique()),
                     skipped=skipped, rules=rule_info)
    return out


__all__ = ["EVALUATION_COLUMNS", "METRICS", "HeldOut", "held_out", "ranked_indices", "score_ranked",
           "evaluate_strategies", "default_strategies", "evaluate_workspace"]
