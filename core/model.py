"""ShopModel: everything the recommenders need, built once per workspace (see core.pipeline)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core import schema as S
from core.affinity import AffinitySettings
from core.baskets import Baskets


@dataclass
class ShopModel:
    """Fitted state of one workspace.

    Attributes
    ----------
    item_ids : ``(n_items,)`` product ids (the catalog, in catalog order).
    titles, categories, category_paths : ``(n_items,)`` title, category label at the chosen level,
        full category path.
    baskets : Baskets over ``item_ids``.
    item_counts : ``(n_items,)`` baskets holding each item (n_A).
    pairs : DataFrame of directed item pairs (pair_count >= min_pair_count) with ids, categories,
        statistics, ``similarity`` and ``affinity``.
    category_pairs : DataFrame of directed category pairs at the chosen level.
    pair_count, lift, affinity : ``(n_items, n_items)`` CSR, cross-category pairs only.
    embeddings : ``(n_items, dim)`` float32 L2-normalised, or None when text is switched off.
    user_items : ``(n_customers, n_items)`` CSR, order lines per customer and item.
    customer_ids : ``(n_customers,)``.
    category_source : ``"catalog"`` (the catalog's own categories), ``"inferred"`` (clustered from the
        titles: the catalog had none) or ``"partly inferred"`` (the classifier labelled the uncategorised).
    category_inference : core.categories.CategoryInference or None
        The clustering when categories were inferred, with the inferred (c-TF-IDF) names, before renames.
    category_clusters : DataFrame or None
        One row per inferred cluster: ``cluster, inferred_name, name`` (after the user's renames),
        ``size, coverage, top_terms, examples`` (titles nearest the centroid).
    category_labelling : core.categories.PartialLabelling or None
        The classifier's result (held-out accuracy, ...) when it labelled uncategorised products.
    category_note : str
        Why categories were not inferred or labelled, when that was asked for and impossible ("" otherwise).
    item_reviews : DataFrame or None
        ``(n_items,)`` rows in item order: ``reviews`` (count), ``mean_rating`` in [1, 5], ``mean_sentiment``
        in [-1, 1] (NaN where none); None without reviews (core.pipeline.review_signals).
    """

    item_ids: np.ndarray
    titles: np.ndarray
    categories: np.ndarray
    category_paths: np.ndarray
    baskets: Baskets
    item_counts: np.ndarray
    pairs: pd.DataFrame
    category_pairs: pd.DataFrame
    pair_count: sp.csr_matrix
    lift: sp.csr_matrix
    affinity: sp.csr_matrix
    embeddings: np.ndarray | None
    user_items: sp.csr_matrix
    customer_ids: np.ndarray
    settings: AffinitySettings
    category_level: int = 1
    category_source: str = "catalog"
    category_inference: object = None
    category_clusters: pd.DataFrame | None = None
    category_labelling: object = None
    category_note: str = ""
    item_reviews: pd.DataFrame | None = None

    def __post_init__(self):
        self._item_index = pd.Index(self.item_ids)
        self._customer_index = pd.Index(self.customer_ids)
        #: ``(n_items,)`` integer code of each item's category (same code = same category)
        self.category_codes = pd.factorize(pd.Series(self.categories, dtype=object))[0]

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def item_index(self, product_ids) -> np.ndarray:
        """Column index of each product id (-1 when unknown)."""
        return self._item_index.get_indexer(pd.Index(np.asarray(product_ids, dtype=object)))

    def customer_row(self, customer_id) -> int:
        """Row of ``user_items`` for a customer, -1 when the customer has no history."""
        try:
            return int(self._customer_index.get_loc(str(customer_id)))
        except KeyError:
            return -1

    def history(self, customer_id) -> tuple[np.ndarray, np.ndarray]:
        """(item indices, line counts) the customer bought, most bought first."""
        r = self.customer_row(customer_id)
        if r < 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        row = self.user_items.getrow(r)
        order = np.argsort(-row.data, kind="stable")
        return row.indices[order].astype(np.int64), row.data[order]

    def describe_item(self, j: int) -> str:
        return f"{self.titles[j]} ({self.categories[j]})"


def category_at_level(paths: pd.Series, level: int) -> np.ndarray:
    """Category label at ``level`` (1 = top) of ``a > b > c`` paths; deeper than the path: the whole path.

    Missing or empty paths become :data:`core.schema.UNCATEGORISED`.
    """
    if level < 1:
        raise ValueError(f"level must be >= 1, got {level}")
    out = []
    for p in paths.tolist():
        if p is None or (isinstance(p, float) and np.isnan(p)) or not str(p).strip():
            out.append(S.UNCATEGORISED)
            continue
        parts = [x.strip() for x in str(p).split(S.CATEGORY_SEP)]
        out.append(f" {S.CATEGORY_SEP} ".join(parts[:level]))
    return np.asarray(out, dtype=object)
