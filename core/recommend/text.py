"""Text neighbours: the most similar product descriptions in other categories (language model only)."""
from __future__ import annotations

import numpy as np

from core.recommend.base import Strategy


def text_neighbour_scores(model, anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Max cosine similarity to any anchor in another category, and which anchor gave it.

    Parameters
    ----------
    model : ShopModel with embeddings.
    anchors : ``(m,)`` item indices.

    Returns
    -------
    (sim ``(n_items,)`` in [-1, 1] or -inf where no anchor is of another category,
     best ``(n_items,)`` anchor position in ``anchors``)
    """
    return text_neighbour_scores_batch(model, [np.asarray(anchors)])[0]


def text_neighbour_scores_batch(model, anchor_lists: list) -> list:
    """:func:`text_neighbour_scores` for many customers with one matrix product.

    Parameters
    ----------
    anchor_lists : list of ``(m_i,)`` item-index arrays (each non-empty).

    Returns
    -------
    list of (sim ``(n_items,)``, best), aligned with ``anchor_lists``; ``best[j]`` is the position in the
    anchor list of the anchor that gave ``sim[j]`` (first on ties), worked out when asked (the reasons
    need it for k items; an argmax over every column cost ~10% of the call).
    """
    if not anchor_lists:
        return []
    e = model.embeddings
    codes = model.category_codes
    allanchors = np.concatenate(anchor_lists)
    # customers share anchors (bananas, milk...): one row per distinct anchor, 23% fewer rows on the
    # demo's batches of 64 customers (14,026 of 18,307), more on bigger batches
    uniq, inv = np.unique(allanchors, return_inverse=True)
    sims = e[uniq] @ e.T                                                  # (distinct anchors, n_items)
    sims[codes[uniq][:, None] == codes[None, :]] = -np.inf
    out, start = [], 0
    for anchors in anchor_lists:
        rows = inv[start:start + len(anchors)]
        out.append((sims[rows].max(axis=0), _BestAnchor(sims, rows)))
        start += len(anchors)
    return out


class _BestAnchor:
    """``best[j]`` = argmax over the anchors (``sims[rows]``) of column j."""

    __slots__ = ("sims", "rows")

    def __init__(self, sims: np.ndarray, rows: np.ndarray):
        self.sims, self.rows = sims, rows

    def __getitem__(self, j) -> int:
        return int(np.argmax(self.sims[self.rows, j]))


class TextNeighbours(Strategy):
    """Score_j = max over the customer's ``max_anchors`` most-bought items h of cos(e_h, e_j), cat(h) != cat(j)."""

    name = "text neighbours"

    def __init__(self, max_anchors: int = 20):
        super().__init__()
        if max_anchors < 1:
            raise ValueError(f"max_anchors must be >= 1, got {max_anchors}")
        self.max_anchors = max_anchors

    def _prepare(self, histories):
        if self.model.embeddings is None:
            raise RuntimeError("text neighbours need embeddings; build with text enabled")
        return text_neighbour_scores_batch(self.model, [h[: self.max_anchors] for h, _ in histories])

    def _scores(self, hist, counts, prepared=None):
        m = self.model
        anchors = hist[: self.max_anchors]
        sim, best = prepared if prepared is not None else self._prepare([(hist, counts)])[0]

        def reason(j):
            h = anchors[best[j]]
            return f"similar text to {m.describe_item(h)}, which they bought: text similarity {sim[j]:.2f}"
        return sim, reason
