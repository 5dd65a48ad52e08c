"""The interface every strategy shares: ``fit(model)`` then ``recommend(customer_id, k)``.

Two optional hooks act on every strategy alike, in this order, after the customer's bought items are
masked: ``strategy.rules`` (a compiled merchandiser rule set, core.rules: exclude, boost, bury, then pins)
and ``strategy.diversity`` (an :class:`MMR` re-ranking with a cap per category).
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core import schema as S
from core.model import ShopModel


@dataclass(frozen=True)
class Recommendations:
    """Top-k for one customer, best first.

    Attributes
    ----------
    ids : ``(<= k,)`` product ids.   scores : ``(<= k,)`` float, higher is better (strategy units).
    reasons : list of str, one a person can check per item.
    """

    customer_id: str
    ids: np.ndarray
    scores: np.ndarray
    reasons: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class MMR:
    """Maximal marginal relevance re-ranking with a cap per category.

    Greedy: the next item is the candidate with the highest

        lam * rel_j - (1 - lam) * max_{s in selected} sim(j, s)

    where rel_j is the strategy score min-max scaled to [0, 1] over the candidate pool and sim is the
    cosine of the two items' embeddings when the model has them, else 1 for the same category and 0
    otherwise. An item whose category already holds ``max_per_category`` selected items is skipped.
    Carbonell & Goldstein (1998), "The use of MMR, diversity-based reranking for reordering documents
    and producing summaries", SIGIR.

    Parameters
    ----------
    lam : float in [0, 1]; 1 = the strategy's order (only the cap acts), 0 = diversity only.
    max_per_category : int >= 1 or None (no cap).
    pool : int >= 1; the candidate pool is the ``max(pool, k)`` best-scored items. When the cap leaves
        fewer than k items in the pool, the slate is filled from the remaining candidates in score
        order, still under the cap; it is shorter than k only when the cap allows no more.

    Raises
    ------
    TypeError, ValueError for a parameter of the wrong type or out of range.
    """

    lam: float = 0.7
    max_per_category: int | None = None
    pool: int = 100

    def __post_init__(self):
        if not isinstance(self.lam, numbers.Real) or isinstance(self.lam, bool):
            raise TypeError(f"lam must be a number, got {type(self.lam).__name__}")
        if not 0 <= self.lam <= 1:
            raise ValueError(f"lam must be in [0, 1], got {self.lam}")
        for name in ("max_per_category", "pool"):
            v = getattr(self, name)
            if v is None and name == "max_per_category":
                continue
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
                raise TypeError(f"{name} must be an int, got {type(v).__name__}")
            if v < 1:
                raise ValueError(f"{name} must be >= 1, got {v}")

    def select(self, model: ShopModel, scores: np.ndarray, cand: np.ndarray, k: int) -> np.ndarray:
        """Pick up to ``k`` of ``cand`` (item indices with finite scores), in display order.

        Parameters
        ----------
        model : ShopModel (embeddings and category codes).
        scores : ``(n_items,)`` float64.   cand : ``(m,)`` int item indices.   k : int >= 1.

        Returns
        -------
        ``(<= k,)`` int item indices.
        """
        pool = _top_n(scores, cand, max(self.pool, k))              # best first, ties by index
        codes = model.category_codes
        rel = scores[pool]
        span = rel[0] - rel[-1]
        rel = (rel - rel[-1]) / span if span > 0 else np.ones(len(pool))
        if model.embeddings is not None:
            e = model.embeddings[pool].astype(np.float64)
            sim = e @ e.T
        else:
            sim = (codes[pool][:, None] == codes[pool][None, :]).astype(np.float64)
        cap = self.max_per_category if self.max_per_category is not None else k + 1
        taken: dict = {}
        max_sim = np.full(len(pool), -np.inf)
        free = np.ones(len(pool), dtype=bool)
        chosen = []
        while len(chosen) < k and free.any():
            red = np.where(np.isfinite(max_sim), max_sim, 0.0)
            val = np.where(free, self.lam * rel - (1 - self.lam) * red, -np.inf)
            i = int(np.argmax(val))
            chosen.append(i)
            free[i] = False
            c = codes[pool[i]]
            taken[c] = taken.get(c, 0) + 1
            if taken[c] >= cap:
                free &= codes[pool] != c
            max_sim = np.maximum(max_sim, sim[i])
        out = list(pool[chosen])
        if len(out) < k and len(cand) > len(pool):                # fill beyond the pool under the cap
            rest = np.setdiff1d(cand, pool, assume_unique=True)
            for j in rest[np.lexsort((rest, -scores[rest]))]:
                if len(out) >= k:
                    break
                c = codes[j]
                if taken.get(c, 0) < cap:
                    out.append(j)
                    taken[c] = taken.get(c, 0) + 1
        return np.asarray(out, dtype=np.int64)


class Strategy:
    """Base class. Subclasses set ``name`` and implement ``_scores(hist, counts, prepared) -> (scores, reason_fn)``.

    ``scores`` is ``(n_items,)`` with ``-inf`` for items that must not be shown; bought items are
    always excluded here, and only items with a finite score > 0 are shown.

    Attributes
    ----------
    rules : compiled rule set or None. Anything with ``name``, ``adjust(customer_id, hist, scores) ->
        (scores, notes)`` (``notes``: Mapping item index -> text) and ``pins(customer_id, hist) -> [(item
        index, 1-based position), ...]``, see core.rules. ``adjust`` runs after bought items are masked
        (``-inf`` = excluded); pins are placed after the top k is chosen, their reason is "pinned at
        position P by rule set 'NAME'", the score shown is their own (0.0 where it is not finite), and
        "; rule: <note>" ends the reason of every shown item with a note.
    diversity : :class:`MMR` or None; re-ranks the top k for category diversity.
    """

    name = "strategy"
    #: BLAS threads while recommending (see ``_blas_limit``); None leaves BLAS as it is
    blas_threads: int | None = 1
    rules = None
    diversity: MMR | None = None

    def __init__(self):
        self.model: ShopModel | None = None
        self.rules = None
        self.diversity = None

    def fit(self, model: ShopModel) -> "Strategy":
        self.model = model
        return self

    def _scores(self, hist: np.ndarray, counts: np.ndarray, prepared=None):  # pragma: no cover - abstract
        raise NotImplementedError

    def _prepare(self, histories: list) -> list:
        """Work shared by a batch of customers (``[(hist, counts), ...]``); one entry per customer."""
        return [None] * len(histories)

    def _check(self, k) -> None:
        if self.model is None:
            raise RuntimeError(f"{type(self).__name__}.recommend called before fit")
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise ValueError(f"k must be a positive int, got {k!r}")

    def recommend(self, customer_id, k: int = 10) -> Recommendations:
        """Top ``k`` items the customer has not bought.

        Parameters
        ----------
        customer_id : str
        k : int >= 1

        Returns
        -------
        Recommendations (empty for a customer without history)

        Raises
        ------
        RuntimeError if called before ``fit``; ValueError for k < 1.
        """
        return self.recommend_many([customer_id], k)[0]

    def recommend_many(self, customer_ids, k: int = 10, batch_size: int = 64) -> list:
        """:meth:`recommend` for many customers; shared work (e.g. text similarity) is batched.

        Returns
        -------
        list of Recommendations, aligned with ``customer_ids``.
        """
        self._check(k)
        with _blas_limit(self.blas_threads):
            return self._recommend_many(list(customer_ids), k, batch_size)

    def _recommend_many(self, ids, k, batch_size):
        out = []
        for start in range(0, len(ids), batch_size):
            chunk = ids[start:start + batch_size]
            hists = [self.model.history(c) for c in chunk]
            live = [i for i, (h, _) in enumerate(hists) if len(h)]
            prepared = dict(zip(live, self._prepare([hists[i] for i in live]))) if live else {}
            for i, c in enumerate(chunk):
                out.append(self._top(c, *hists[i], k, prepared.get(i)))
        return out

    def _top(self, customer_id, hist, counts, k, prepared) -> Recommendations:
        empty = Recommendations(str(customer_id), np.zeros(0, dtype=object), np.zeros(0), [])
        if len(hist) == 0:
            return empty
        scores, reason = self._scores(hist, counts, prepared)
        scores = scores.astype(np.float64, copy=True)
        scores[hist] = -np.inf
        notes, pins = {}, []
        if self.rules is not None:
            # notes may be a lazy Mapping over the adjusted scores (core.rules): only looked up, never copied
            scores, notes = self.rules.adjust(customer_id, hist, scores)
            scores = np.asarray(scores, dtype=np.float64)
            notes = {} if notes is None else notes
            pins = list(self.rules.pins(customer_id, hist))
        finite = np.isfinite(scores) & (scores > 0)
        cand = np.nonzero(finite)[0]
        n = int(min(k, len(cand)))
        if n and self.diversity is not None:
            top = self.diversity.select(self.model, scores, cand, n)
        elif n:
            top = _top_n(scores, cand, n)
        else:
            top = cand[:0]
        items = [int(j) for j in top]
        why = {j: None for j in items}
        if pins:
            items, pinned_at = self._place_pins(items, pins, hist, k)
            why.update({j: f"pinned at position {p} by rule set '{self.rules.name}'" for j, p in pinned_at.items()})
        if not items:
            return empty
        reasons = []
        for j in items:
            r = why.get(j) or reason(j)
            if j in notes:
                r = f"{r}; rule: {notes[j]}"
            reasons.append(r)
        idx = np.asarray(items, dtype=np.int64)
        out_scores = np.where(np.isfinite(scores[idx]), scores[idx], 0.0)
        return Recommendations(str(customer_id), self.model.item_ids[idx], out_scores, reasons)

    @staticmethod
    def _place_pins(items, pins, hist, k):
        """Insert pinned items at their 1-based positions (in position order, first pin of an item wins).

        Which pins apply is the rule set's decision (core.rules: not bought, not excluded; the price band
        and only-other-categories do not remove a pin); a pin of a bought item or at a position beyond k is
        dropped here all the same. Pinned items leave their ranked place, so the slate keeps ``<= k``
        distinct items; a pin past the end of a short slate lands at its end.
        Returns (items, {item: final 1-based position}).
        """
        bought = set(hist.tolist())
        seen, valid = set(), []
        for j, pos in sorted(((int(j), int(p)) for j, p in pins), key=lambda t: t[1]):
            if j in seen or j in bought or pos < 1 or pos > k:
                continue
            seen.add(j)
            valid.append((j, pos))
        rest = [j for j in items if j not in seen]
        out = []
        for j, pos in valid:
            while len(out) < pos - 1 and rest:
                out.append(rest.pop(0))
            out.append(j)
        out.extend(rest)
        out = out[:k]
        pinned_at = {j: out.index(j) + 1 for j, _ in valid if j in out}
        return out, pinned_at

    def recommend_frame(self, customer_ids, k: int = 10) -> pd.DataFrame:
        """Long format: customer_id, rank (1-based), product_id, category, score, reason."""
        rows = []
        m = self.model
        for c, rec in zip(customer_ids, self.recommend_many(customer_ids, k)):
            idx = m.item_index(rec.ids)
            for r, (pid, j, s, why) in enumerate(zip(rec.ids, idx, rec.scores, rec.reasons), start=1):
                rows.append((str(c), r, pid, m.categories[j], float(s), why))
        return pd.DataFrame(rows, columns=list(S.RECOMMENDATION_COLUMNS))


_BLAS = None


def _blas_limit(threads):
    """BLAS limited to ``threads`` threads (None: unchanged) while recommending.

    The per-customer products are small: on a busy two-core machine OpenBLAS's own threads made a
    (100, 384) x (384, 100) product 280x slower (28 ms against 0.1 ms, measured), and one thread is
    what implicit recommends too. ``threadpoolctl.ThreadpoolController.limit`` costs ~10 us a call.
    """
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController
        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=threads, user_api="blas")


def _top_n(scores: np.ndarray, cand: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` best of ``cand`` (ascending item indices), best first; ties go to the lower index, also at
    the cut (so the top 3 is always a prefix of the top 10)."""
    s = scores[cand]
    if len(cand) > n:
        thr = -np.partition(-s, n - 1)[n - 1]                 # the n-th best score
        above = cand[s > thr]
        cand = np.concatenate([above, cand[s == thr][: n - len(above)]])
    return cand[np.lexsort((cand, -scores[cand]))]


def csr_value(mat, i: int, j: int) -> float:
    """``mat[i, j]`` of a CSR matrix by binary search in row i (~5 us; scipy's indexing costs ~50-100 us).

    Returns 0.0 for an entry that is not stored. Works whether or not the row's indices are sorted.
    """
    lo, hi = mat.indptr[i], mat.indptr[i + 1]
    idx = mat.indices[lo:hi]
    if mat.has_sorted_indices:
        k = int(np.searchsorted(idx, j))
        return float(mat.data[lo + k]) if k < len(idx) and idx[k] == j else 0.0
    hit = np.nonzero(idx == j)[0]
    return float(mat.data[lo:hi][hit].sum()) if len(hit) else 0.0


def column_argmax(mat) -> np.ndarray:
    """Row of the largest stored value in each column of a sparse matrix (first row on ties), -1 for empty columns.

    Vectorised: the entries equal to their column's maximum, then the first row per column (a sort of
    those entries only); scipy's ``argmax(axis=0)`` loops in Python per column and was ~30 ms for a
    customer's rows of the demo's lift matrix.

    Parameters
    ----------
    mat : ``(m, n)`` scipy sparse matrix with values > 0.

    Returns
    -------
    ``(n,)`` int64 row indices in [0, m) or -1.
    """
    coo = mat.tocoo()
    out = np.full(mat.shape[1], -1, dtype=np.int64)
    if coo.nnz:
        col_max = np.zeros(mat.shape[1], dtype=coo.data.dtype)
        np.maximum.at(col_max, coo.col, coo.data)
        top = coo.data == col_max[coo.col]
        rows, cols = coo.row[top], coo.col[top]
        order = np.lexsort((rows, cols))
        cols, rows = cols[order], rows[order]
        first = np.r_[True, cols[1:] != cols[:-1]]
        out[cols[first]] = rows[first]
    return out


def bought_categories(model: ShopModel, hist: np.ndarray) -> set:
    return set(model.categories[hist].tolist())


def popularity_prior(model: ShopModel) -> np.ndarray:
    """``log1p(n_j) / log1p(max n)`` in [0, 1] (baskets holding item j)."""
    c = model.item_counts.astype(np.float64)
    top = np.log1p(c.max()) if c.max() > 0 else 1.0
    return np.log1p(c) / top
