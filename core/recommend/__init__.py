"""Recommendation strategies behind one interface (``fit(model)``, ``recommend(customer_id, k)``)."""
from core.recommend.base import Recommendations, Strategy
from core.recommend.hybrid import CrossCategoryHybrid, HybridWeights
from core.recommend.lift import LiftOnly
from core.recommend.popular import PopularUnseenCategories
from core.recommend.text import TextNeighbours

#: name -> factory; the arms of the experiments page.
STRATEGIES = {
    PopularUnseenCategories.name: PopularUnseenCategories,
    LiftOnly.name: LiftOnly,
    TextNeighbours.name: TextNeighbours,
    CrossCategoryHybrid.name: CrossCategoryHybrid,
}

__all__ = ["Recommendations", "Strategy", "CrossCategoryHybrid", "HybridWeights", "LiftOnly",
           "PopularUnseenCategories", "TextNeighbours", "STRATEGIES"]
