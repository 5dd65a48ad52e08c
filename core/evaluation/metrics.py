"""Ranking metrics of top-K recommendations against held-out purchases, per customer, with bootstrap intervals.

Inputs shared by every function:

* ``ranked`` : ``(n_customers, width)`` int array of item indices, best first, padded with ``-1`` on the
  right when a strategy returned fewer than ``width`` items. Items within a row are distinct.
* ``truth`` : sparse ``(n_customers, n_items)`` (any scipy sparse format; CSR is fastest); a stored nonzero
  marks an item the customer bought in the held-out order (binary relevance: the value is ignored).

Every ranking metric is returned *per customer* (``(n_customers,)`` float64) so that intervals can be
bootstrapped over customers. A customer whose truth row is empty gets ``NaN`` (no information: nothing
could have been found); summaries average the non-NaN rows. Restricted truths (new items, other
categories) leave many rows empty, so each restricted metric is averaged over the customers for whom the
restriction leaves at least one item.

Definitions (binary relevance ``rel_r`` of the item at rank ``r`` = 1..K, truth set ``T``):

* Precision@K = hits / K                                          (K, not the items returned, divides)
* Recall@K    = hits / |T|
* HitRate@K   = 1 if hits > 0 else 0
* NDCG@K      = sum_r rel_r / log2(r + 1)  /  sum_{r=1..min(K,|T|)} 1 / log2(r + 1)
  (Järvelin & Kekäläinen, "Cumulated gain-based evaluation of IR techniques", ACM TOIS 20(4), 2002, with
  binary gains and the log2(r + 1) discount, as ``ndcg_at_k`` of microsoft/recommenders)
* MAP@K: AP@K = sum_r Precision@r * rel_r / min(K, |T|), averaged over customers. Normalising by
  min(K, |T|) rather than |T| is the convention of ``apk`` in Ben Hamner's ml_metrics (the Kaggle
  reference implementation, github benhamner/Metrics, Python/ml_metrics/average_precision.py): a perfect
  top-K list scores 1 even when the customer bought more than K items.
* catalog coverage = distinct items recommended to any customer / n_items  (a scalar, see
  :func:`bootstrap_summary` for its interval)
* novelty = mean over a customer's recommended items of the self-information -log2 p(i), with
  p(i) = k_i / N: the share of the N training customers who bought item i (Zhou et al., "Solving the
  apparent diversity-accuracy dilemma of recommender systems", PNAS 107(10), 2010, eq. for "novelty":
  mean self-information log2(N / k_i)). An item no training customer bought counts as bought by one
  (k_i = 1, the maximum log2 N bits) so the value stays finite. In bits, in [0, log2 N] (not in [0, 1]).
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import pandas as pd
import scipy.sparse as sp

#: metrics computed by :func:`ranking_metrics`, in output order
RANKING_METRICS = ("precision", "recall", "ndcg", "map", "hit_rate")


# --- input checks ----------------------------------------------------------------------------------

def _check_k(k) -> int:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise TypeError(f"k must be an int, got {type(k).__name__}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return int(k)


def _ranked(ranked, k: int, n_items: int | None = None) -> np.ndarray:
    """The first k columns of ``ranked`` as int64, padded with -1 to width k; validated."""
    r = np.asarray(ranked)
    if r.ndim != 2:
        raise ValueError(f"ranked must be a 2-D (n_customers, K) array, got {r.ndim} dimensions")
    if r.size and not np.issubdtype(r.dtype, np.integer):
        raise TypeError(f"ranked must hold integer item indices, got dtype {r.dtype}")
    r = r.astype(np.int64, copy=False)[:, :k]
    if r.shape[1] < k:
        r = np.hstack([r, np.full((r.shape[0], k - r.shape[1]), -1, dtype=np.int64)])
    if r.size:
        if r.min() < -1:
            raise ValueError(f"ranked holds {int(r.min())}: item indices are >= 0 and -1 is the only padding")
        if n_items is not None and r.max() >= n_items:
            raise ValueError(f"ranked holds item {int(r.max())} but there are only {n_items} items")
        s = np.sort(r, axis=1)
        if ((s[:, 1:] == s[:, :-1]) & (s[:, 1:] >= 0)).any():
            raise ValueError("ranked lists must not repeat an item within a row")
    return r


def _binary_csr(m, name: str = "truth") -> sp.csr_matrix:
    if not sp.issparse(m):
        raise TypeError(f"{name} must be a scipy sparse matrix, got {type(m).__name__}")
    t = sp.csr_matrix(m, copy=True)
    t.eliminate_zeros()
    t.sum_duplicates()
    t.sort_indices()
    t.data = np.ones_like(t.data, dtype=np.float64)
    return t


def relevance(ranked, truth, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Whether each of the first k ranked items is in the customer's truth.

    Parameters
    ----------
    ranked : ``(n_customers, width)`` int, -1 padded.
    truth : sparse ``(n_customers, n_items)``.
    k : int >= 1 (a ranked width below k counts as padding).

    Returns
    -------
    (rel, n_truth) : ``(n_customers, k)`` bool and ``(n_customers,)`` int64 (|T| per customer).

    Raises
    ------
    TypeError : truth not sparse, ranked not integer, k not an int.
    ValueError : shapes disagree, k < 1, an index out of range, a repeated item in a row.
    """
    k = _check_k(k)
    t = _binary_csr(truth)
    r = _ranked(ranked, k, t.shape[1])
    if r.shape[0] != t.shape[0]:
        raise ValueError(f"ranked has {r.shape[0]} rows but truth has {t.shape[0]}")
    n_items = np.int64(max(t.shape[1], 1))
    rows = np.repeat(np.arange(t.shape[0], dtype=np.int64), np.diff(t.indptr))
    keys = rows * n_items + t.indices.astype(np.int64)          # sorted: rows ascending, indices sorted
    want = np.arange(r.shape[0], dtype=np.int64)[:, None] * n_items + r
    pos = np.searchsorted(keys, want)
    found = np.zeros(want.shape, dtype=bool)
    ok = pos < len(keys)
    found[ok] = keys[pos[ok]] == want[ok]
    return found & (r >= 0), np.diff(t.indptr).astype(np.int64)


# --- per-customer ranking metrics --------------------------------------------------------------------

def _from_relevance(rel: np.ndarray, n_truth: np.ndarray, k: int) -> dict:
    hits = rel.sum(axis=1).astype(np.float64)
    empty = n_truth == 0
    size = np.where(empty, 1, n_truth).astype(np.float64)
    disc = 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))
    ideal = np.cumsum(disc)[np.minimum(np.maximum(n_truth, 1), k) - 1]
    cum = np.cumsum(rel, axis=1) / np.arange(1, k + 1, dtype=np.float64)
    out = {
        "precision": hits / k,
        "recall": hits / size,
        "ndcg": (rel @ disc) / ideal,
        "map": (cum * rel).sum(axis=1) / np.minimum(size, k),
        "hit_rate": (hits > 0).astype(np.float64),
    }
    for v in out.values():
        v[empty] = np.nan
    return out


def ranking_metrics(ranked, truth, k: int = 10) -> dict[str, np.ndarray]:
    """Precision, Recall, NDCG, MAP and HitRate at k per customer, from one relevance pass.

    Parameters
    ----------
    ranked : ``(n_customers, width)`` int item indices, best first, -1 padded.
    truth : sparse ``(n_customers, n_items)``, nonzero = relevant.
    k : int >= 1

    Returns
    -------
    dict name -> ``(n_customers,)`` float64 in [0, 1], NaN where the truth row is empty; names are
    :data:`RANKING_METRICS`. Definitions in the module docstring.

    Raises
    ------
    TypeError, ValueError : see :func:`relevance`.

    Examples
    --------
    Ranked [3, 1, 5] with truth {1, 2}, k = 3: hits 1 (rank 2); precision 1/3, recall 1/2, hit 1,
    NDCG (1/log2 3) / (1 + 1/log2 3) = 0.3869, MAP (1/2) / 2 = 0.25.
    """
    k = _check_k(k)
    rel, n = relevance(ranked, truth, k)
    return _from_relevance(rel, n, k)


def precision_at_k(ranked, truth, k: int = 10) -> np.ndarray:
    """Per customer hits in the top k / k, in [0, 1]; NaN for an empty truth row. See :func:`ranking_metrics`."""
    return ranking_metrics(ranked, truth, k)["precision"]


def recall_at_k(ranked, truth, k: int = 10) -> np.ndarray:
    """Per customer hits in the top k / |truth|, in [0, 1]; NaN for an empty truth row. See :func:`ranking_metrics`."""
    return ranking_metrics(ranked, truth, k)["recall"]


def ndcg_at_k(ranked, truth, k: int = 10) -> np.ndarray:
    """Per customer binary-gain NDCG@k (log2 discount, ideal = min(k, |truth|) hits), in [0, 1]; NaN for an
    empty truth row (Järvelin & Kekäläinen 2002). See :func:`ranking_metrics`."""
    return ranking_metrics(ranked, truth, k)["ndcg"]


def map_at_k(ranked, truth, k: int = 10) -> np.ndarray:
    """Per customer AP@k normalised by min(k, |truth|) (ml_metrics ``apk``), in [0, 1]; NaN for an empty
    truth row. The mean over customers is MAP@k. See :func:`ranking_metrics`."""
    return ranking_metrics(ranked, truth, k)["map"]


def hit_rate_at_k(ranked, truth, k: int = 10) -> np.ndarray:
    """Per customer 1 when any of the top k is in the truth, else 0; NaN for an empty truth row."""
    return ranking_metrics(ranked, truth, k)["hit_rate"]


# --- restricted truths ---------------------------------------------------------------------------------

def new_item_truth(truth, history) -> sp.csr_matrix:
    """The truth without the items each customer bought before (both ``(n_customers, n_items)`` sparse).

    Parameters
    ----------
    truth : sparse ``(n_customers, n_items)`` held-out purchases.
    history : sparse ``(n_customers, n_items)`` training purchases (nonzero = bought before), rows aligned
        with ``truth``.

    Returns
    -------
    CSR ``(n_customers, n_items)`` of 1.0 where held out and never bought before.

    Raises
    ------
    TypeError : not sparse.   ValueError : shapes differ.
    """
    t, h = _binary_csr(truth), _binary_csr(history, "history")
    if t.shape != h.shape:
        raise ValueError(f"truth {t.shape} and history {h.shape} must have the same shape")
    out = t - t.multiply(h)
    out = sp.csr_matrix(out)
    out.eliminate_zeros()
    return out


def cross_category_truth(truth, history, item_categories) -> sp.csr_matrix:
    """The truth restricted to items whose category the customer never bought before.

    Parameters
    ----------
    truth, history : sparse ``(n_customers, n_items)``, rows aligned (see :func:`new_item_truth`).
    item_categories : ``(n_items,)`` category label or integer code of each item at the chosen level of
        the category path (equal values = same category).

    Returns
    -------
    CSR ``(n_customers, n_items)`` of 1.0 where held out and of a category absent from the history.

    Raises
    ------
    TypeError : not sparse.   ValueError : shapes or lengths differ.
    """
    t, h = _binary_csr(truth), _binary_csr(history, "history")
    if t.shape != h.shape:
        raise ValueError(f"truth {t.shape} and history {h.shape} must have the same shape")
    codes = pd.factorize(pd.Series(np.asarray(item_categories, dtype=object)))[0]
    if len(codes) != t.shape[1]:
        raise ValueError(f"item_categories has {len(codes)} entries but there are {t.shape[1]} items")
    n_cat = int(codes.max()) + 1 if len(codes) else 0
    onehot = sp.csr_matrix((np.ones(len(codes)), (np.arange(len(codes)), codes)), shape=(len(codes), n_cat))
    seen = (h @ onehot).tocsr()                                     # (n_customers, n_categories) counts
    seen.data[:] = 1.0
    rows = np.repeat(np.arange(t.shape[0]), np.diff(t.indptr))
    drop = np.asarray(seen[rows, codes[t.indices]]).ravel() > 0 if t.nnz else np.zeros(0, dtype=bool)
    out = t.copy()
    out.data[drop] = 0.0
    out.eliminate_zeros()
    return out


def new_item_recall_at_k(ranked, truth, history, k: int = 10) -> np.ndarray:
    """Recall@k against :func:`new_item_truth`; NaN for customers whose held-out order holds no new item."""
    return recall_at_k(ranked, new_item_truth(truth, history), k)


def cross_category_recall_at_k(ranked, truth, history, item_categories, k: int = 10) -> np.ndarray:
    """Recall@k against :func:`cross_category_truth`; NaN for customers whose held-out order holds no item
    of a category they never bought."""
    return recall_at_k(ranked, cross_category_truth(truth, history, item_categories), k)


# --- catalogue-level metrics ------------------------------------------------------------------------------

def catalog_coverage(ranked, n_items: int, k: int = 10) -> float:
    """Distinct items in anyone's top k / n_items, in [0, 1].

    Raises
    ------
    ValueError : n_items < 1, or ranked invalid (see :func:`relevance`).
    """
    k = _check_k(k)
    if n_items < 1:
        raise ValueError(f"n_items must be >= 1, got {n_items}")
    r = _ranked(ranked, k, n_items)
    return float(len(np.unique(r[r >= 0])) / n_items)


def self_information(item_customers, n_customers: int) -> np.ndarray:
    """``-log2 p(i)`` in bits with p(i) = max(k_i, 1) / N (Zhou et al. 2010).

    Parameters
    ----------
    item_customers : ``(n_items,)`` k_i, training customers who bought each item (>= 0).
    n_customers : int N >= 1, training customers.

    Returns
    -------
    ``(n_items,)`` float64 in [0, log2 N].

    Raises
    ------
    ValueError : N < 1, a negative count or a count above N.
    """
    c = np.asarray(item_customers, dtype=np.float64)
    if n_customers < 1:
        raise ValueError(f"n_customers must be >= 1, got {n_customers}")
    if c.size and (c.min() < 0 or c.max() > n_customers):
        raise ValueError(f"item_customers must be in [0, n_customers={n_customers}]")
    return np.log2(n_customers / np.maximum(c, 1.0))


def novelty_at_k(ranked, item_information, k: int = 10) -> np.ndarray:
    """Per customer mean self-information (bits) of the top-k items; NaN for an empty list.

    Parameters
    ----------
    ranked : ``(n_customers, width)`` int, -1 padded.
    item_information : ``(n_items,)`` bits per item, e.g. :func:`self_information`.
    """
    k = _check_k(k)
    info = np.asarray(item_information, dtype=np.float64)
    r = _ranked(ranked, k, len(info))
    valid = r >= 0
    vals = np.where(valid, info[np.where(valid, r, 0)] if info.size else 0.0, 0.0)
    n = valid.sum(axis=1)
    return np.divide(vals.sum(axis=1), n, out=np.full(len(n), np.nan), where=n > 0)


# --- bootstrap ------------------------------------------------------------------------------------------

def bootstrap_counts(n: int, n_boot: int = 1000, seed: int = 0, max_cells: int = 4_000_000) -> Iterator[np.ndarray]:
    """Resample n customers with replacement ``n_boot`` times, as multiplicities.

    Yields chunks of ``(b, n)`` int64: how often each customer appears in each replicate (row sums = n).
    The draws come from one ``numpy.random.default_rng(seed)`` in a fixed chunking that depends only on
    (n, n_boot, max_cells), so a seed always gives the same replicates and every metric summarised
    over the same customers sees the same resamples.
    """
    if n < 1 or n_boot < 1:
        raise ValueError(f"n and n_boot must be >= 1, got n={n}, n_boot={n_boot}")
    rng = np.random.default_rng(seed)
    step = max(1, max_cells // n)
    for start in range(0, n_boot, step):
        b = min(step, n_boot - start)
        idx = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
        yield np.bincount(idx.ravel(), minlength=b * n).reshape(b, n)


def bootstrap_summary(per_customer: dict, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                      ranked=None, n_items: int | None = None, k: int | None = None) -> pd.DataFrame:
    """Point value and percentile bootstrap interval of each metric, resampling customers.

    Every per-customer metric is the mean of its non-NaN rows; a replicate's value is the mean of the
    non-NaN rows drawn (weighted by multiplicity). All metrics share one set of resamples
    (:func:`bootstrap_counts`), drawn once: with the same seed, strategies evaluated on the same customers
    are compared on the same replicates (paired). The interval is the percentile interval
    ((1 - level)/2 and (1 + level)/2 quantiles of the replicates; Efron & Tibshirani, "An Introduction to
    the Bootstrap", 1993, ch. 13).

    Catalog coverage (when ``ranked`` and ``n_items`` are given) is not a mean over customers: it is
    computed over each replicate's *distinct* customers, and a resample with replacement holds only about
    63% of them, so the replicates sit below the value over all customers. Its interval is therefore the
    percentile interval shifted by the bootstrap bias estimate (value - mean of replicates; Efron &
    Tibshirani ch. 10), clipped to [0, 1]: its width is the spread of coverage across resamples of the
    customers, centred on the value measured.

    Parameters
    ----------
    per_customer : dict name -> ``(n_customers,)`` float, NaN = customer not counted for that metric.
    n_boot : int >= 1 replicates.   seed : int.   level : float in (0, 1).
    ranked, n_items, k : optional, add a ``coverage`` row (see :func:`catalog_coverage`).

    Returns
    -------
    DataFrame: metric, value, ci_low, ci_high, customers (non-NaN rows). Metrics whose every row is NaN
    get NaN value and interval.

    Raises
    ------
    ValueError : arrays of different lengths, no customers, n_boot < 1, level outside (0, 1).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    names = list(per_customer)
    n = len(per_customer[names[0]]) if names else (np.asarray(ranked).shape[0] if ranked is not None else 0)
    for m in names:
        if len(per_customer[m]) != n:
            raise ValueError(f"metric {m!r} has {len(per_customer[m])} values, expected {n}")
    vals = np.column_stack([np.asarray(per_customer[m], dtype=np.float64) for m in names]) if names else None
    if n == 0:
        raise ValueError("no customers to summarise")
    rec = None
    if ranked is not None:
        if n_items is None or k is None:
            raise ValueError("coverage needs ranked, n_items and k together")
        r = _ranked(ranked, _check_k(k), n_items)
        if r.shape[0] != n:
            raise ValueError(f"ranked has {r.shape[0]} rows, expected {n}")
        rows = np.repeat(np.arange(n), k)[(r >= 0).ravel()]
        rec = sp.csr_matrix((np.ones(len(rows)), (rows, r[r >= 0])), shape=(n, n_items))
    m = len(names)
    valid = ~np.isnan(vals) if m else np.zeros((n, 0), dtype=bool)
    filled = np.where(valid, vals, 0.0) if m else np.zeros((n, 0))
    reps = []
    cov_reps = []
    for w in bootstrap_counts(n, n_boot, seed):
        w = w.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            reps.append((w @ filled) / (w @ valid))
        if rec is not None:
            present = sp.csr_matrix((w > 0).astype(np.float64))
            cov_reps.append(np.diff((present @ rec).tocsr().indptr) / n_items)
    reps = np.vstack(reps) if reps else np.zeros((0, m))
    lo_q, hi_q = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    out = []
    for j, name in enumerate(names):
        count = int(valid[:, j].sum())
        if count == 0:
            out.append((name, np.nan, np.nan, np.nan, 0))
            continue
        point = float(filled[:, j].sum() / count)
        lo, hi = np.nanpercentile(reps[:, j], [lo_q, hi_q])
        out.append((name, point, float(lo), float(hi), count))
    if rec is not None:
        point = float(len(np.unique(rec.indices)) / n_items)
        c = np.concatenate(cov_reps)
        shift = point - float(c.mean())
        lo, hi = np.percentile(c, [lo_q, hi_q]) + shift
        out.append(("coverage", point, float(np.clip(lo, 0, 1)), float(np.clip(hi, 0, 1)), n))
    return pd.DataFrame(out, columns=["metric", "value", "ci_low", "ci_high", "customers"])


__all__ = ["RANKING_METRICS", "relevance", "ranking_metrics", "precision_at_k", "recall_at_k", "ndcg_at_k",
           "map_at_k", "hit_rate_at_k", "new_item_truth", "cross_category_truth", "new_item_recall_at_k",
           "cross_category_recall_at_k", "catalog_coverage", "self_information", "novelty_at_k",
           "bootstrap_counts", "bootstrap_summary"]
