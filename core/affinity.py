"""Pair statistics, the hybrid affinity score, and the affinity graph.

Definitions (STYLE.md Terms; Agrawal et al. 1993; Brin et al. 1997). For items A, B over N baskets,
n_A baskets with A, n_AB with both::

    support(A,B)      = n_AB / N
    confidence(A->B)  = n_AB / n_A
    lift(A,B)         = N * n_AB / (n_A * n_B)
    npmi(A,B)         = log(lift) / -log(support(A,B))     in [-1, 1] (Bouma 2009)

Hybrid affinity (our score, in [0, 1])::

    w(A,B)         = n_AB / (n_AB + evidence_k)                       trust in the co-purchase evidence
    affinity(A->B) = w * max(npmi, 0) + (1 - w) * text_weight * max(similarity, 0)

Why: co-purchase statistics are exact where many baskets hold both items, but for a pair seen in
two or three baskets lift is noise (a once-seen pair of once-seen items has lift = N). ``w`` shrinks
towards the language model's view exactly where the evidence is thin, and lets the evidence speak
once it is rich. NPMI rather than lift keeps the co-purchase part in [0, 1] and does not
reward rarity the way lift does. Text similarity alone finds substitutes (another yogurt), so it is
only a fallback weight (``text_weight`` < 1), never the whole score.
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.baskets import Baskets


@dataclass(frozen=True)
class AffinitySettings:
    """Settings of the affinity stage.

    Parameters
    ----------
    min_pair_count : int, default 2
        Pairs held by fewer baskets are dropped (>= 1).
    evidence_k : float, default 5.0
        Pair count at which co-purchase evidence and text similarity weigh equally (> 0).
    text_weight : float, default 0.5
        Weight of text similarity when evidence is absent, in [0, 1].
    """

    min_pair_count: int = 2
    evidence_k: float = 5.0
    text_weight: float = 0.5

    def __post_init__(self):
        if not isinstance(self.min_pair_count, (int, np.integer)) or isinstance(self.min_pair_count, bool):
            raise TypeError(f"min_pair_count must be an int, got {type(self.min_pair_count).__name__}")
        if self.min_pair_count < 1:
            raise ValueError(f"min_pair_count must be >= 1, got {self.min_pair_count}")
        for name in ("evidence_k", "text_weight"):
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.integer, np.floating)) or isinstance(v, bool):
                raise TypeError(f"{name} must be a number, got {type(v).__name__}")
        if not self.evidence_k > 0:
            raise ValueError(f"evidence_k must be > 0, got {self.evidence_k}")
        if not 0 <= self.text_weight <= 1:
            raise ValueError(f"text_weight must be in [0, 1], got {self.text_weight}")


def pair_counts(basket_items: sp.spmatrix, min_pair_count: int = 1) -> sp.coo_matrix:
    """Co-occurrence counts n_AB for A < B from XᵀX (upper triangle, no diagonal).

    Parameters
    ----------
    basket_items : sparse ``(n_baskets, n_items)`` binary matrix.
    min_pair_count : int
        Keep pairs with n_AB >= this.

    Returns
    -------
    scipy.sparse.coo_matrix ``(n_items, n_items)`` int64, entries only for i < j.
    """
    x = sp.csr_matrix(basket_items, dtype=np.float32)
    x.data[:] = 1.0
    co = (x.T @ x).tocoo()
    keep = (co.row < co.col) & (co.data >= min_pair_count)
    return sp.coo_matrix((np.rint(co.data[keep]).astype(np.int64), (co.row[keep], co.col[keep])), shape=co.shape)


def pair_stats(basket_items: sp.spmatrix, min_pair_count: int = 2) -> pd.DataFrame:
    """Directed pair statistics, both directions of every pair with n_AB >= min_pair_count.

    Parameters
    ----------
    basket_items : sparse ``(n_baskets, n_items)`` binary matrix.
    min_pair_count : int, default 2 (>= 1)

    Returns
    -------
    DataFrame
        Columns ``antecedent, consequent`` (column indices), ``pair_count`` (n_AB),
        ``antecedent_count`` (n_A), ``consequent_count`` (n_B), ``support`` in [0, 1],
        ``confidence`` (A->B) in [0, 1], ``lift`` >= 0, ``npmi`` in [-1, 1].
        Sorted by antecedent, then lift descending.

    Examples
    --------
    Five baskets {a,b}, {a,b}, {a}, {b,c}, {c}: n_a=3, n_b=3, n_ab=2, lift(a,b) = 5*2/(3*3) = 1.111.
    """
    if min_pair_count < 1:
        raise ValueError(f"min_pair_count must be >= 1, got {min_pair_count}")
    x = sp.csr_matrix(basket_items, dtype=np.float32)
    x.data[:] = 1.0
    n = x.shape[0]
    counts = np.asarray(x.sum(axis=0)).ravel()
    co = pair_counts(x, min_pair_count)
    a = np.concatenate([co.row, co.col])
    b = np.concatenate([co.col, co.row])
    nab = np.concatenate([co.data, co.data]).astype(np.float64)
    na, nb = counts[a].astype(np.float64), counts[b].astype(np.float64)
    support = nab / n if n else nab
    lift = n * nab / (na * nb)
    with np.errstate(divide="ignore", invalid="ignore"):
        npmi = np.where(support >= 1.0, 1.0, np.log(lift) / -np.log(support))
    out = pd.DataFrame({"antecedent": a, "consequent": b, "pair_count": nab.astype(np.int64),
                        "antecedent_count": na.astype(np.int64), "consequent_count": nb.astype(np.int64),
                        "support": support, "confidence": nab / na, "lift": lift, "npmi": npmi})
    return out.sort_values(["antecedent", "lift"], ascending=[True, False], kind="stable").reset_index(drop=True)


def category_matrix(baskets: Baskets, item_category: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """Basket x category binary matrix: 1 where the basket holds any item of the category.

    Parameters
    ----------
    item_category : ``(n_items,)`` category label per item (None/NaN: left out).

    Returns
    -------
    (matrix ``(n_baskets, n_categories)``, category labels ``(n_categories,)``)
    """
    cats = pd.Series(item_category, dtype=object)
    codes, labels = pd.factorize(cats, use_na_sentinel=True)
    keep = codes >= 0
    onehot = sp.csr_matrix((np.ones(keep.sum(), dtype=np.float32), (np.nonzero(keep)[0], codes[keep])),
                           shape=(len(cats), len(labels)))
    m = (baskets.basket_items @ onehot).tocsr()
    m.data[:] = 1.0
    m.eliminate_zeros()
    return m, np.asarray(labels, dtype=object)


def category_pair_stats(baskets: Baskets, item_category: np.ndarray, min_pair_count: int = 1) -> pd.DataFrame:
    """Pair statistics between categories (a basket "holds" a category if it holds any of its items).

    Returns
    -------
    DataFrame with ``antecedent_category, consequent_category, pair_count, antecedent_count,
    consequent_count, support, confidence, lift, npmi``.
    """
    m, labels = category_matrix(baskets, item_category)
    st = pair_stats(m, min_pair_count)
    st.insert(0, "antecedent_category", labels[st.pop("antecedent").to_numpy()])
    st.insert(1, "consequent_category", labels[st.pop("consequent").to_numpy()])
    return st.sort_values("lift", ascending=False, kind="stable").reset_index(drop=True)


def rowwise_cosine(embeddings: np.ndarray, a: np.ndarray, b: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    """cos(e[a_k], e[b_k]) for L2-normalised ``embeddings (n_items, dim)``; ``(len(a),)`` in [-1, 1]."""
    out = np.empty(len(a), dtype=np.float32)
    for s in range(0, len(a), chunk):
        out[s:s + chunk] = np.einsum("ij,ij->i", embeddings[a[s:s + chunk]], embeddings[b[s:s + chunk]])
    return np.clip(out, -1.0, 1.0)


def hybrid_affinity(pair_count: np.ndarray, npmi: np.ndarray, similarity: np.ndarray,
                    settings: AffinitySettings = AffinitySettings()) -> np.ndarray:
    """``w * max(npmi, 0) + (1 - w) * text_weight * max(similarity, 0)``, ``w = n_AB/(n_AB + k)``; in [0, 1].

    See the module docstring for the reasoning.
    """
    w = pair_count / (pair_count + settings.evidence_k)
    return w * np.maximum(npmi, 0.0) + (1.0 - w) * settings.text_weight * np.maximum(similarity, 0.0)


def affinity_graph(pairs: pd.DataFrame, weight: str = "affinity", top_n: int | None = None,
                   node_attrs: pd.DataFrame | None = None) -> nx.Graph:
    """An undirected graph of item pairs (one edge per unordered pair).

    Parameters
    ----------
    pairs : DataFrame
        Columns ``antecedent_id, consequent_id`` and ``weight`` (plus any edge attributes).
    weight : str
        Edge attribute used to pick the ``top_n`` strongest edges.
    node_attrs : DataFrame, optional
        Indexed by item id; columns become node attributes.

    Returns
    -------
    networkx.Graph with edge attribute ``weight`` and the pair's statistics.
    """
    df = pairs[pairs["antecedent_id"].astype(str) < pairs["consequent_id"].astype(str)]
    if top_n is not None:
        df = df.nlargest(top_n, weight)
    g = nx.Graph()
    for rec in df.to_dict("records"):
        a, b = rec.pop("antecedent_id"), rec.pop("consequent_id")
        g.add_edge(a, b, weight=float(rec[weight]), **rec)
    if node_attrs is not None:
        nx.set_node_attributes(g, {k: v for k, v in node_attrs.to_dict("index").items() if k in g})
    return g
