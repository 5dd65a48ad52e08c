"""Item-to-item co-occurrence (SAR-style): similar items to what the customer bought, in any category.

Follows Microsoft Recommenders' SAR (Smart Adaptive Recommendations), recommenders/models/sar/
sar_singlenode.py and recommenders/utils/python_utils.py (jaccard, lift), without time decay:

* co-occurrence  C = X^T X over the basket x item matrix X (binary; one basket per order), so C_ij = n_ij
  baskets holding both and C_jj = n_j; entries with C_ij < ``threshold`` are set to 0 (SAR's threshold);
* item similarity S from C: ``"jaccard"`` n_ij / (n_i + n_j - n_ij), ``"lift"`` N n_ij / (n_i n_j)
  (SAR's lift is n_ij / (n_i n_j); the factor N is the same for every pair, so the ranking is SAR's,
  and the value is the lift of core.affinity), or ``"counts"`` n_ij (SAR's "cooccurrence");
* user affinity a_uh = order lines of item h by customer u (SAR's sum of event weights, all weights 1);
* score_uj = sum_h a_uh S_hj = (A S)_uj; bought items are removed, as SAR's ``remove_seen``.

Unlike ``ShopModel.pair_count`` (cross-category pairs with n >= min_pair_count), C holds every pair,
same category included: this strategy is the classic "bought together" baseline, not a cross-sell one.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from core.recommend.base import Strategy, csr_value

SIMILARITIES = ("jaccard", "lift", "counts")


def cooccurrence(basket_items: sp.spmatrix, threshold: int = 1, max_basket_size: int | None = None):
    """Item x item co-occurrence counts.

    Parameters
    ----------
    basket_items : ``(n_baskets, n_items)`` sparse, 1 where a basket holds an item.
    threshold : int >= 1; off-diagonal counts below it become 0 (the diagonal n_j is kept).
    max_basket_size : int or None; baskets with more items are left out (as core.affinity does).

    Returns
    -------
    (C ``(n_items, n_items)`` CSR float64 symmetric with diagonal n_j, N baskets counted)
    """
    x = sp.csr_matrix(basket_items, dtype=np.float64)
    x.data[:] = 1.0
    if max_basket_size is not None:
        x = x[np.diff(x.indptr) <= max_basket_size]
    c = (x.T @ x).tocsr()
    if threshold > 1:
        diag = c.diagonal()
        c.data[c.data < threshold] = 0.0
        c.setdiag(diag)
        c.eliminate_zeros()
    c.sort_indices()
    return c, x.shape[0]


def item_similarity(c: sp.csr_matrix, kind: str = "jaccard", n_baskets: int | None = None) -> sp.csr_matrix:
    """Similarity matrix from co-occurrence counts (see the module docstring for the formulas).

    Parameters
    ----------
    c : ``(n_items, n_items)`` CSR co-occurrence, diagonal = n_j.
    kind : "jaccard" (in [0, 1]), "lift" (>= 0, 1 = independence; needs ``n_baskets``) or "counts".

    Returns
    -------
    ``(n_items, n_items)`` CSR float64, zero diagonal (an item is not its own recommendation).

    Raises
    ------
    ValueError for an unknown ``kind`` or "lift" without ``n_baskets``.
    """
    if kind not in SIMILARITIES:
        raise ValueError(f"similarity must be one of {SIMILARITIES}, got {kind!r}")
    coo = c.tocoo()
    off = coo.row != coo.col
    r, k, v = coo.row[off], coo.col[off], coo.data[off]
    d = c.diagonal()
    if kind == "jaccard":
        v = v / (d[r] + d[k] - v)
    elif kind == "lift":
        if not n_baskets:
            raise ValueError("lift needs n_baskets")
        v = n_baskets * v / (d[r] * d[k])
    s = sp.csr_matrix((v, (r, k)), shape=c.shape)
    s.sort_indices()
    return s


class ItemCooccurrence(Strategy):
    """SAR-style item-to-item recommender: score_j = sum over bought h of lines(h) * S(h, j).

    Parameters
    ----------
    similarity : "jaccard" (default), "lift" or "counts".
    threshold : int >= 1, minimum baskets holding both items for a pair to count (SAR's threshold).

    Attributes (after ``fit``)
    --------------------------
    cooccurrence_ : ``(n_items, n_items)`` CSR float64, C with diagonal n_j.
    n_baskets_ : int, N (baskets counted; ``model.settings.max_basket_size`` applies).
    similarity_ : ``(n_items, n_items)`` CSR float64 S, zero diagonal.

    Raises
    ------
    ValueError / TypeError for an unknown similarity or a threshold that is not an int >= 1.

    On the demo's validation split (second-to-last orders; K = 10) new-item NDCG@10 was 0.036 with
    "counts" (close to popularity, 0.033; catalog coverage 3%), 0.023 with "jaccard" (coverage 20%) and
    0.001 with "lift" (rare items; coverage 31%). Jaccard stays the default: SAR's own default and a
    real alternative to the bestseller list rather than a copy of it.
    """

    name = "item co-occurrence (SAR)"

    def __init__(self, similarity: str = "jaccard", threshold: int = 1):
        super().__init__()
        if similarity not in SIMILARITIES:
            raise ValueError(f"similarity must be one of {SIMILARITIES}, got {similarity!r}")
        if not isinstance(threshold, (int, np.integer)) or isinstance(threshold, bool):
            raise TypeError(f"threshold must be an int, got {type(threshold).__name__}")
        if threshold < 1:
            raise ValueError(f"threshold must be >= 1, got {threshold}")
        self.similarity = similarity
        self.threshold = int(threshold)

    def fit(self, model):
        super().fit(model)
        self.cooccurrence_, self.n_baskets_ = cooccurrence(model.baskets.basket_items, self.threshold,
                                                           model.settings.max_basket_size)
        self.similarity_ = item_similarity(self.cooccurrence_, self.similarity, self.n_baskets_)
        return self

    def _prepare(self, histories):
        n = self.model.n_items
        rows = np.repeat(np.arange(len(histories)), [len(h) for h, _ in histories])
        cols = np.concatenate([h for h, _ in histories])
        vals = np.concatenate([np.asarray(c, dtype=np.float64) for _, c in histories])
        a = sp.csr_matrix((vals, (rows, cols)), shape=(len(histories), n))
        scores = (a @ self.similarity_).toarray()
        return list(scores)

    def _scores(self, hist, counts, prepared=None):
        m, s, c = self.model, self.similarity_, self.cooccurrence_
        scores = prepared if prepared is not None else self._prepare([(hist, counts)])[0]
        weight = np.zeros(m.n_items)
        weight[hist] = counts
        label = {"jaccard": "jaccard", "lift": "lift", "counts": "baskets"}[self.similarity]

        def reason(j):
            lo, hi = s.indptr[j], s.indptr[j + 1]          # S is symmetric: row j = column j
            nb, val = s.indices[lo:hi], s.data[lo:hi]
            w = weight[nb]
            best = int(np.argmax(w * val))
            h = int(nb[best])
            n_hj = int(csr_value(c, h, j))
            times = int(weight[h])
            stat = "" if self.similarity == "counts" else f", {label} {val[best]:.2f}"
            return (f"bought {m.describe_item(h)} {times} time{'s' if times != 1 else ''}; "
                    f"{n_hj} basket{'s hold' if n_hj != 1 else ' holds'} both{stat}")
        return scores, reason
