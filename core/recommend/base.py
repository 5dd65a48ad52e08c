"""The interface every strategy shares: ``fit(model)`` then ``recommend(customer_id, k)``."""
from __future__ import annotations

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


class Strategy:
    """Base class. Subclasses set ``name`` and implement ``_scores(model, hist, counts) -> (scores, reason_fn)``.

    ``scores`` is ``(n_items,)`` with ``-inf`` for items that must not be shown; bought items are
    always excluded here.
    """

    name = "strategy"

    def __init__(self):
        self.model: ShopModel | None = None

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
        ids = list(customer_ids)
        out = []
        for start in range(0, len(ids), batch_size):
            chunk = ids[start:start + batch_size]
            hists = [self.model.history(c) for c in chunk]
            live = [i for i, (h, _) in enumerate(hists) if len(h)]
            prepared = dict(zip(live, self._prepare([hists[i] for i in live])))
            for i, c in enumerate(chunk):
                out.append(self._top(c, *hists[i], k, prepared.get(i)))
        return out

    def _top(self, customer_id, hist, counts, k, prepared) -> Recommendations:
        if len(hist) == 0:
            return Recommendations(str(customer_id), np.zeros(0, dtype=object), np.zeros(0), [])
        scores, reason = self._scores(hist, counts, prepared)
        scores = scores.astype(np.float64, copy=True)
        scores[hist] = -np.inf
        finite = np.isfinite(scores) & (scores > 0)
        n = int(min(k, finite.sum()))
        if n == 0:
            return Recommendations(str(customer_id), np.zeros(0, dtype=object), np.zeros(0), [])
        cand = np.nonzero(finite)[0]
        top = cand[np.argpartition(-scores[cand], n - 1)[:n]] if len(cand) > n else cand
        top = top[np.lexsort((top, -scores[top]))]
        return Recommendations(str(customer_id), self.model.item_ids[top], scores[top], [reason(j) for j in top])

    def recommend_frame(self, customer_ids, k: int = 10) -> pd.DataFrame:
        """Long format: customer_id, rank (1-based), product_id, category, score, reason."""
        rows = []
        m = self.model
        for c, rec in zip(customer_ids, self.recommend_many(customer_ids, k)):
            idx = m.item_index(rec.ids)
            for r, (pid, j, s, why) in enumerate(zip(rec.ids, idx, rec.scores, rec.reasons), start=1):
                rows.append((str(c), r, pid, m.categories[j], float(s), why))
        return pd.DataFrame(rows, columns=list(S.RECOMMENDATION_COLUMNS))


def bought_categories(model: ShopModel, hist: np.ndarray) -> set:
    return set(model.categories[hist].tolist())


def popularity_prior(model: ShopModel) -> np.ndarray:
    """``log1p(n_j) / log1p(max n)`` in [0, 1] (baskets holding item j)."""
    c = model.item_counts.astype(np.float64)
    top = np.log1p(c.max()) if c.max() > 0 else 1.0
    return np.log1p(c) / top
