"""Lift only: the strongest cross-category lift from anything the customer bought."""
from __future__ import annotations

import numpy as np

from core.recommend.base import Strategy, column_argmax, csr_value


class LiftOnly(Strategy):
    """Score_j = max over bought items h of lift(h, j), cross-category pairs with n_hj >= min_pair_count.

    Known weakness (kept on purpose as a comparison arm): lift favours rare items.
    """

    name = "lift only"

    def _scores(self, hist, counts, prepared=None):
        m = self.model
        rows = m.lift[hist]
        scores = np.full(m.n_items, -np.inf)
        best = np.zeros(m.n_items, dtype=np.int64)
        if rows.nnz:
            dense_max = rows.max(axis=0).toarray().ravel()
            scores = np.where(dense_max > 0, dense_max, -np.inf)
            best = column_argmax(rows)                         # which bought item gives the max (first on ties)

        def reason(j):
            h = hist[best[j]]
            n = int(csr_value(m.pair_count, h, j))
            return f"bought {m.describe_item(h)}; {n} baskets hold both, lift {scores[j]:.1f}"
        return scores, reason
