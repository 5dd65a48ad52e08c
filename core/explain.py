"""Explanations a merchandiser can check: one pair's evidence, one item's neighbours."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core import schema as S
from core.model import ShopModel


@dataclass(frozen=True)
class PairDetails:
    """Everything behind one item pair (A -> B).

    Attributes
    ----------
    stats : dict
        The pair's row of ``model.pairs`` (pair_count, support, confidence, lift, similarity, affinity, ...);
        empty when the pair is below the minimum pair count.
    example_baskets : DataFrame
        basket_id, items (titles of the basket, ' · '-joined), up to ``n_examples`` baskets holding both.
    similarity : float
        Cosine similarity of the two products' texts in [-1, 1] (nan without embeddings).
    review_snippets : dict
        product_id -> up to 3 review texts (longest first), when reviews are given.
    review_signals : dict
        product_id -> {"reviews": int, "mean_rating": float, "mean_sentiment": float} (NaN where none) for
        both products; empty when the model has no reviews.
    reason : str
        One line, e.g. "37 of 15,968 baskets hold both (lift 3.2: 3.2x more often than chance); 62% of
        baskets with Greek yogurt also hold Granola; text similarity 0.41".
    """

    a: str
    b: str
    stats: dict
    example_baskets: pd.DataFrame
    similarity: float
    review_snippets: dict
    reason: str
    review_signals: dict = field(default_factory=dict)


def pair_details(model: ShopModel, a_id, b_id, reviews: pd.DataFrame | None = None,
                 n_examples: int = 5) -> PairDetails:
    """Collect the evidence of pair ``a_id -> b_id``.

    Raises
    ------
    KeyError
        Either product is not in the model's catalog.
    """
    ia, ib = model.item_index([str(a_id), str(b_id)])
    if ia < 0 or ib < 0:
        missing = [p for p, i in ((a_id, ia), (b_id, ib)) if i < 0]
        raise KeyError(f"not in the catalog: {', '.join(map(str, missing))}")
    x = model.baskets.basket_items.tocsc()
    both = np.intersect1d(x[:, ia].indices, x[:, ib].indices)
    rows = model.pairs[(model.pairs["antecedent_id"] == str(a_id)) & (model.pairs["consequent_id"] == str(b_id))]
    stats = rows.iloc[0].to_dict() if len(rows) else {}
    xr = model.baskets.basket_items
    examples = pd.DataFrame({
        "basket_id": [model.baskets.basket_ids[r] for r in both[:n_examples]],
        "items": [" · ".join(model.titles[xr.getrow(r).indices]) for r in both[:n_examples]]})
    sim = float(model.embeddings[ia] @ model.embeddings[ib]) if model.embeddings is not None else float("nan")
    snippets = {}
    if reviews is not None and len(reviews):
        for pid in (str(a_id), str(b_id)):
            texts = reviews.loc[reviews[S.PRODUCT_ID].astype(str) == pid, S.TEXT].dropna().astype(str)
            snippets[pid] = texts.loc[texts.str.len().sort_values(ascending=False).index].head(3).tolist()
    n, n_a = model.baskets.n_baskets, int(model.item_counts[ia])
    if len(both):
        lift = n * len(both) / (n_a * int(model.item_counts[ib]))
        reason = (f"{len(both):,} of {n:,} baskets hold both (lift {lift:.1f}: "
                  + (f"{lift:.1f}x more often than chance" if lift > 1 else "no more often than chance")
                  + f"); {len(both) / n_a:.0%} of baskets with {model.titles[ia]} also hold {model.titles[ib]}")
    else:
        reason = f"no basket holds both {model.titles[ia]} and {model.titles[ib]}"
    if np.isfinite(sim):
        reason += f"; text similarity {sim:.2f}"
    signals = {}
    if model.item_reviews is not None:
        for pid, i in ((str(a_id), ia), (str(b_id), ib)):
            row = model.item_reviews.iloc[i]
            signals[pid] = {"reviews": int(row["reviews"]), "mean_rating": float(row["mean_rating"]),
                            "mean_sentiment": float(row["mean_sentiment"])}
    return PairDetails(str(a_id), str(b_id), stats, examples, sim, snippets, reason, signals)


def neighbours(model: ShopModel, item_id, k: int = 15, cross_only: bool = True) -> pd.DataFrame:
    """The ``k`` strongest partners of one item by hybrid affinity.

    Returns
    -------
    DataFrame: consequent_id, consequent_title, consequent_category, pair_count, customers (when the model
    has it), lift, similarity, affinity; with reviews also the partner's reviews, mean_rating, mean_sentiment.
    """
    p = model.pairs[model.pairs["antecedent_id"] == str(item_id)]
    if cross_only:
        p = p[p["antecedent_category"] != p["consequent_category"]]
    cols = ["consequent_id", "consequent_title", "consequent_category", "pair_count", "customers", "lift",
            "similarity", "affinity"]
    out = p.nlargest(k, "affinity")[[c for c in cols if c in p.columns]].reset_index(drop=True)
    if model.item_reviews is not None:
        rv = model.item_reviews.iloc[model.item_index(out["consequent_id"].tolist())].reset_index(drop=True)
        out = pd.concat([out, rv], axis=1)
    return out
