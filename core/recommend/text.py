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
    e = model.embeddings
    sims = e[anchors] @ e.T                                   # (m, n_items)
    same = model.categories[anchors][:, None] == model.categories[None, :]
    sims = np.where(same, -np.inf, sims)
    best = np.argmax(sims, axis=0)
    return sims[best, np.arange(sims.shape[1])], best


class TextNeighbours(Strategy):
    """Score_j = max over the customer's ``max_anchors`` most-bought items h of cos(e_h, e_j), cat(h) != cat(j)."""

    name = "text neighbours"

    def __init__(self, max_anchors: int = 20):
        super().__init__()
        if max_anchors < 1:
            raise ValueError(f"max_anchors must be >= 1, got {max_anchors}")
        self.max_anchors = max_anchors

    def _scores(self, hist, counts):
        m = self.model
        if m.embeddings is None:
            raise RuntimeError("text neighbours need embeddings; build with text enabled")
        anchors = hist[: self.max_anchors]
        sim, best = text_neighbour_scores(m, anchors)

        def reason(j):
            h = anchors[best[j]]
            return f"similar text to {m.describe_item(h)}, which they bought: text similarity {sim[j]:.2f}"
        return sim, reason
