"""Recommendation strategies behind one interface (``fit(model)``, ``recommend(customer_id, k)``).

Every strategy takes the same two hooks: ``strategy.rules`` (a compiled merchandiser rule set) and
``strategy.diversity`` (:class:`MMR` re-ranking with a cap per category); see core.recommend.base.
"""
from core.recommend.als import ImplicitALS
from core.recommend.base import MMR, Recommendations, Strategy
from core.recommend.content import ContentProfile
from core.recommend.cooccurrence import ItemCooccurrence
from core.recommend.diverse import DiverseHybrid
from core.recommend.hybrid import CrossCategoryHybrid, HybridWeights
from core.recommend.lift import LiftOnly
from core.recommend.popular import PopularityGlobal, PopularUnseenCategories
from core.recommend.text import TextNeighbours

#: name -> factory (called without arguments: the default settings); the arms of the experiments page
#: and the rows of the evaluation.
STRATEGIES = {
    PopularityGlobal.name: PopularityGlobal,
    PopularUnseenCategories.name: PopularUnseenCategories,
    ItemCooccurrence.name: ItemCooccurrence,
    ImplicitALS.name: ImplicitALS,
    ContentProfile.name: ContentProfile,
    LiftOnly.name: LiftOnly,
    TextNeighbours.name: TextNeighbours,
    CrossCategoryHybrid.name: CrossCategoryHybrid,
    DiverseHybrid.name: DiverseHybrid,
}

__all__ = ["MMR", "Recommendations", "Strategy", "ContentProfile", "CrossCategoryHybrid", "DiverseHybrid",
           "HybridWeights", "ImplicitALS", "ItemCooccurrence", "LiftOnly", "PopularityGlobal",
           "PopularUnseenCategories", "TextNeighbours", "STRATEGIES"]
