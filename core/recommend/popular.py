"""Popularity baselines: overall (the bestseller list) and within categories the customer has never bought
(the classic cross-sell baseline)."""
from __future__ import annotations

import numpy as np

from core.recommend.base import Strategy, bought_categories


class PopularUnseenCategories(Strategy):
    """Score = baskets holding the item, only for items of categories the customer never bought.

    A customer who has bought from every category gets the most popular items they never bought.
    """

    name = "popular in unseen categories"

    def _scores(self, hist, counts, prepared=None):
        m = self.model
        seen = bought_categories(m, hist)
        pop = m.item_counts.astype(np.float64)
        codes = m.category_codes
        seen_codes = np.zeros(codes.max() + 1, dtype=bool)
        seen_codes[codes[hist]] = True
        unseen = ~seen_codes[codes]
        scores = np.where(unseen, pop, -np.inf) if unseen.any() else pop.copy()
        n = max(m.baskets.n_baskets, 1)

        def reason(j):
            where = "a category not bought yet" if m.categories[j] not in seen else "already a category of theirs"
            return (f"popular in {m.categories[j]} ({where}): in {int(pop[j]):,} of {n:,} baskets "
                    f"({pop[j] / n:.1%})")
        return scores, reason


class PopularityGlobal(Strategy):
    """Score_j = n_j, the number of baskets holding item j (the bestseller list, the same for everyone).

    Items nobody bought (n_j = 0) are never shown; ties go to the earlier catalog item.
    """

    name = "popular overall"

    def fit(self, model):
        super().fit(model)
        pop = model.item_counts.astype(np.float64)
        self._pop = pop
        order = np.lexsort((np.arange(len(pop)), -pop))
        self._rank = np.empty(len(pop), dtype=np.int64)
        self._rank[order] = np.arange(1, len(pop) + 1)
        return self

    def _scores(self, hist, counts, prepared=None):
        m, pop, rank = self.model, self._pop, self._rank
        n = max(m.baskets.n_baskets, 1)

        def reason(j):
            return (f"bestseller #{rank[j]:,} of the shop: in {int(pop[j]):,} of {n:,} baskets "
                    f"({pop[j] / n:.1%})")
        return pop, reason
