"""Run the stages for one workspace: baskets -> embeddings -> pair statistics -> hybrid affinity.

Progress is reported through ``progress(fraction in [0, 1], message)``; the app draws a progress
bar, the CLI prints to stderr.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import hashlib
import json
from collections import OrderedDict
from typing import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core import schema as S
from core.affinity import (AffinitySettings, category_pair_stats, hybrid_affinity, pair_customers, pair_stats,
                           rowwise_cosine)
from core.baskets import build_baskets
from core.categories import infer_categories, label_from_partial, strip_variant_words
from core.embeddings import product_texts, strip_html
from core.errors import EmptyDataError
from core.model import ShopModel, category_at_level

Progress = Callable[[float, str], None]
EmbedFn = Callable[[list, Progress], np.ndarray]


@dataclass(frozen=True)
class BuildSettings:
    """Settings of a build.

    Parameters
    ----------
    affinity : AffinitySettings
    category_level : int, default 1
        Level of the category path that defines "another category" (1 = top, e.g. department).
    use_text : bool, default True
        Embed product text with the language model (False: co-purchase only).
    infer_categories : bool, default True
        When no catalog product has a category (the UCI Online Retail invoices), cluster the title
        embeddings into categories named by c-TF-IDF (:func:`core.categories.infer_categories`). Needs
        ``use_text``.
    category_k : int or None, default None
        Number of inferred categories (>= 2); None: the best mean silhouette over ``category_k_range``.
    category_k_range : (int, int), default (8, 40)
        Smallest and largest k tried, inclusive.
    category_names : tuple of (str, str), default ()
        Renames ``(inferred name, new name)`` of inferred categories (a user's edits).
    label_uncategorised : bool, default False
        In a partly labelled catalog, label the uncategorised products with a classifier on the
        embeddings (:func:`core.categories.label_from_partial`; the full category path is predicted).
        Off by default: a merchandiser's own categories are not mixed with guessed ones unasked.
    category_seed : int, default 0
        Seed of the clustering and of the classifier's held-out split.
    """

    affinity: AffinitySettings = field(default_factory=AffinitySettings)
    category_level: int = 1
    use_text: bool = True
    infer_categories: bool = True
    category_k: int | None = None
    category_k_range: tuple = (8, 40)
    category_names: tuple = ()
    label_uncategorised: bool = False
    category_seed: int = 0

    def __post_init__(self):
        if not isinstance(self.category_level, int) or self.category_level < 1:
            raise ValueError(f"category_level must be an int >= 1, got {self.category_level!r}")
        if self.category_k is not None and (isinstance(self.category_k, bool) or not isinstance(self.category_k, int)
                                            or self.category_k < 2):
            raise ValueError(f"category_k must be an int >= 2 or None, got {self.category_k!r}")
        if not isinstance(self.category_names, tuple) or not all(
                isinstance(p, tuple) and len(p) == 2 and all(isinstance(v, str) for v in p)
                for p in self.category_names):
            raise TypeError(f"category_names must be a tuple of (str, str) pairs, got {self.category_names!r}")


def _sub(progress: Progress | None, lo: float, hi: float) -> Progress:
    def inner(frac: float, msg: str) -> None:
        if progress:
            progress(lo + (hi - lo) * min(max(frac, 0.0), 1.0), msg)
    return inner


def _cross_csr(pairs: pd.DataFrame, values: np.ndarray, n: int) -> sp.csr_matrix:
    return sp.csr_matrix((values, (pairs["antecedent"].to_numpy(), pairs["consequent"].to_numpy())), shape=(n, n))


def basket_customers(orders: pd.DataFrame, basket_ids: np.ndarray) -> np.ndarray:
    """``(n_baskets,)`` object: the customer id (str) of each basket, None where the order has none.

    The first line of an order names its customer (an order belongs to one customer).
    """
    if S.CUSTOMER_ID not in orders:
        return np.full(len(basket_ids), None, dtype=object)
    first = orders.drop_duplicates(S.ORDER_ID).set_index(S.ORDER_ID)[S.CUSTOMER_ID]
    out = first.reindex(pd.Index(basket_ids)).to_numpy(dtype=object)
    return np.asarray([None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v)
                       for v in out], dtype=object)


_INFERENCE_CACHE: OrderedDict = OrderedDict()   # content hash -> (CategoryInference, summary frame)
_INFERENCE_CACHE_SIZE = 4


def _missing_category(paths: pd.Series) -> np.ndarray:
    return paths.isna().to_numpy() | (paths.astype(str).str.strip() == "").to_numpy()


def infer_catalog_categories(titles: Sequence[str], embed: EmbedFn, k: int | None = None,
                             k_range: tuple = (8, 40), seed: int = 0, progress: Progress | None = None):
    """Categories for a catalog that has none: cluster the title embeddings, name by c-TF-IDF.

    The model reads each title without its colour, size and pack words
    (:func:`core.categories.strip_variant_words`); the names come from the full titles. Results are
    cached in this process by content (sha256 of the titles, ``k``, ``k_range``, ``seed``): renaming a
    cluster or changing another setting never clusters again.

    Parameters
    ----------
    titles : sequence of str, ``n >= 3`` product titles.
    embed : callable(texts, progress) -> ``(len(texts), dim)`` float32 unit rows.
    k, k_range, seed : see :func:`core.categories.infer_categories`.

    Returns
    -------
    (CategoryInference, DataFrame)
        The clustering and its summary: ``cluster, inferred_name, size, coverage, top_terms, examples``
        (the 5 titles nearest each centroid).

    Raises
    ------
    ValueError
        Fewer than 3 products, or ``k`` impossible for them (from :func:`core.categories.infer_categories`).
    """
    titles = [str(t) for t in titles]
    key = hashlib.sha256(json.dumps([titles, k, list(k_range), seed]).encode()).hexdigest()
    if key in _INFERENCE_CACHE:
        _INFERENCE_CACHE.move_to_end(key)
        return _INFERENCE_CACHE[key]
    p = progress or (lambda f, m: None)
    stripped = [strip_variant_words(t) or t for t in titles]
    vecs = np.asarray(embed(stripped, _sub(progress, 0.0, 0.3)), dtype=np.float32)
    result = infer_categories(titles, vecs, k=k, k_range=tuple(k_range), seed=seed, progress=_sub(progress, 0.3, 1.0))
    summary = result.summary(titles, vecs).rename(columns={"name": "inferred_name"})
    p(1.0, f"{result.k} categories inferred")
    _INFERENCE_CACHE[key] = (result, summary)
    while len(_INFERENCE_CACHE) > _INFERENCE_CACHE_SIZE:
        _INFERENCE_CACHE.popitem(last=False)
    return result, summary


def review_signals(reviews: pd.DataFrame | None, item_ids: np.ndarray, embed: EmbedFn | None = None,
                   progress: Progress | None = None) -> pd.DataFrame | None:
    """Per product: review count, mean rating and mean review sentiment (graph attributes and filters).

    Sentiment is :func:`core.sentiment.review_sentiment` of each review's MiniLM vector (a classifier
    trained on ratings: ``2 P(positive) - 1`` in [-1, 1]), averaged per product; without ``embed`` it is
    left NaN and only the ratings count.

    Parameters
    ----------
    reviews : DataFrame or None
        Columns product_id, text; optional rating (1..5).
    item_ids : ``(n_items,)`` product ids.
    embed : callable(texts, progress) -> unit vectors of the model the sentiment classifier was trained on.

    Returns
    -------
    DataFrame or None
        ``(n_items,)`` rows in ``item_ids`` order: ``reviews`` (int, 0 without any), ``mean_rating`` in
        [1, 5] and ``mean_sentiment`` in [-1, 1] (NaN where there is nothing to average). None when there
        are no reviews.

    Raises
    ------
    ValueError
        The vectors' dimension is not the sentiment model's (another encoder).
    """
    if reviews is None or not len(reviews) or S.PRODUCT_ID not in reviews:
        return None
    from core.sentiment import review_sentiment, sentiment_by

    sentiment = np.full(len(reviews), np.nan)
    if embed is not None and S.TEXT in reviews:
        clean = [strip_html(t) for t in reviews[S.TEXT].tolist()]
        keep = np.array([bool(t) for t in clean], dtype=bool)
        if keep.any():
            vecs = embed([t for t, k in zip(clean, keep) if k], progress or (lambda f, m: None))
            sentiment[keep] = review_sentiment(np.asarray(vecs, dtype=np.float32))
    per = sentiment_by(reviews, sentiment).set_index(S.PRODUCT_ID).reindex(pd.Index(item_ids, dtype=object))
    return pd.DataFrame({"reviews": per["reviews"].fillna(0).astype(np.int64).to_numpy(),
                         "mean_rating": per["mean_rating"].to_numpy(dtype=float),
                         "mean_sentiment": per["mean_sentiment"].to_numpy(dtype=float)})


def build_model(catalog: pd.DataFrame, orders: pd.DataFrame, reviews: pd.DataFrame | None = None,
                settings: BuildSettings = BuildSettings(), embed: EmbedFn | None = None,
                progress: Progress | None = None) -> ShopModel:
    """Build the :class:`~core.model.ShopModel` of a shop.

    Parameters
    ----------
    catalog, orders, reviews : DataFrame
        Canonical tables (core.schema); order lines naming products absent from the catalog are
        left out of baskets (report them with ``WorkspaceData.unknown_products``).
    settings : BuildSettings
    embed : callable(texts, progress) -> ``(len(texts), dim)`` float32, optional
        Usually ``functools.partial(core.embeddings.embed_cached, encoder=..., engine=...)``
        wrapped to return only the vectors. Required when ``settings.use_text``.
    progress : callable(fraction, message), optional

    Raises
    ------
    EmptyDataError
        Empty catalog, or no order line names a catalog product.
    """
    p = progress or (lambda f, m: None)
    if catalog is None or len(catalog) == 0:
        raise EmptyDataError("the catalog is empty: upload a product catalog first")
    if orders is None or len(orders) == 0:
        raise EmptyDataError("there are no orders: upload an order export first")
    if settings.use_text and embed is None:
        raise ValueError("embed is required when settings.use_text is True")
    p(0.0, "building baskets")
    if S.LINE_TYPE in orders:  # cancellations, adjustments, fees... are stored but never form baskets
        # ("not_in_catalog" lines join baskets as soon as the catalog lists their product)
        orders = orders[orders[S.LINE_TYPE].isin([S.PRODUCT_LINE, "not_in_catalog"])]
    item_ids = catalog[S.PRODUCT_ID].astype(str).to_numpy(dtype=object)
    baskets = build_baskets(orders, item_ids)
    n = len(item_ids)
    raw_paths = (catalog[S.CATEGORY] if S.CATEGORY in catalog else pd.Series([None] * n)).reset_index(drop=True)

    embeddings = None
    if settings.use_text:
        texts = product_texts(catalog, reviews)
        p(0.05, f"reading {len(texts):,} product texts with the language model")
        vecs = embed(list(texts.to_numpy()), _sub(progress, 0.05, 0.7))
        embeddings = np.zeros((n, vecs.shape[1]), dtype=np.float32)
        embeddings[pd.Index(item_ids).get_indexer(texts.index)] = vecs

    source, inference, clusters, labelling, note = "catalog", None, None, None, ""
    missing = _missing_category(raw_paths)
    if missing.all() and settings.infer_categories:
        if not settings.use_text:
            note = "the catalog has no categories; inferring them needs the language model (text is off)"
        else:
            p(0.7, "inferring categories from the product titles")
            try:
                inference, summary = infer_catalog_categories(
                    catalog[S.TITLE].astype(str).tolist(), embed, settings.category_k, settings.category_k_range,
                    settings.category_seed, _sub(progress, 0.7, 0.8))
            except ValueError as exc:
                note = f"categories could not be inferred: {exc}"
            else:
                renames = dict(settings.category_names)
                names = {cid: renames.get(nm, nm) for cid, nm in inference.names.items()}
                clusters = summary.copy()
                clusters.insert(2, "name", clusters["cluster"].map(names))
                raw_paths = pd.Series([names[int(c)] for c in inference.labels], dtype=object)
                source = "inferred"
    elif missing.any() and not missing.all() and settings.label_uncategorised:
        if not settings.use_text:
            note = "labelling the uncategorised products needs the language model (text is off)"
        else:
            p(0.7, f"labelling {int(missing.sum()):,} uncategorised products")
            labels = [None if miss else f" {S.CATEGORY_SEP} ".join(x.strip() for x in str(v).split(S.CATEGORY_SEP))
                      for v, miss in zip(raw_paths.tolist(), missing)]
            try:
                labelling = label_from_partial(embeddings, labels, seed=settings.category_seed)
            except ValueError as exc:
                note = f"the uncategorised products could not be labelled: {exc}"
            else:
                raw_paths = pd.Series(labelling.labels, dtype=object)
                source = "partly inferred"
    categories = category_at_level(raw_paths, settings.category_level)
    paths = category_at_level(raw_paths, 99)
    item_reviews = None
    if reviews is not None and len(reviews):
        p(0.8, "review ratings and sentiment")
        try:
            item_reviews = review_signals(reviews, item_ids, embed if settings.use_text else None,
                                          _sub(progress, 0.8, 0.82))
        except ValueError as exc:      # vectors of another encoder than the sentiment model's
            note = (note + "; " if note else "") + f"review sentiment left out: {exc}"
            item_reviews = review_signals(reviews, item_ids, None)

    p(0.82, "counting item pairs")
    pairs = pair_stats(baskets.basket_items, settings.affinity.min_pair_count,
                       max_basket_size=settings.affinity.max_basket_size)
    a, b = pairs["antecedent"].to_numpy(), pairs["consequent"].to_numpy()
    pairs.insert(pairs.columns.get_loc("pair_count") + 1, "customers",
                 pair_customers(baskets.basket_items, basket_customers(orders, baskets.basket_ids), a, b,
                                max_basket_size=settings.affinity.max_basket_size))
    sim = rowwise_cosine(embeddings, a, b) if embeddings is not None else np.zeros(len(pairs), dtype=np.float32)
    pairs["similarity"] = sim.astype(np.float64)
    pairs["affinity"] = hybrid_affinity(pairs["pair_count"].to_numpy(), pairs["npmi"].to_numpy(),
                                        pairs["similarity"].to_numpy(), settings.affinity)
    pairs.insert(0, "antecedent_id", item_ids[a])
    pairs.insert(1, "consequent_id", item_ids[b])
    pairs.insert(2, "antecedent_category", categories[a])
    pairs.insert(3, "consequent_category", categories[b])
    pairs.insert(4, "antecedent_title", catalog[S.TITLE].to_numpy()[a])
    pairs.insert(5, "consequent_title", catalog[S.TITLE].to_numpy()[b])
    cross = pairs[pairs["antecedent_category"] != pairs["consequent_category"]]

    p(0.9, "category statistics")
    cat_pairs = category_pair_stats(baskets, categories, min_pair_count=1,
                                    max_basket_size=settings.affinity.max_basket_size)

    p(0.95, "customer histories")
    o = orders[orders[S.CUSTOMER_ID].notna()] if S.CUSTOMER_ID in orders else orders.iloc[:0]
    cols = pd.Index(item_ids).get_indexer(o[S.PRODUCT_ID].astype(str))
    keep = cols >= 0
    rows, customer_ids = pd.factorize(o[S.CUSTOMER_ID].astype(str).to_numpy()[keep])
    user_items = sp.csr_matrix((np.ones(keep.sum()), (rows, cols[keep])), shape=(len(customer_ids), n))
    user_items.sum_duplicates()

    ci = cross.index.to_numpy()
    model = ShopModel(
        item_ids=item_ids, titles=catalog[S.TITLE].astype(str).to_numpy(dtype=object), categories=categories,
        category_paths=paths, baskets=baskets, item_counts=baskets.item_counts, pairs=pairs,
        category_pairs=cat_pairs,
        pair_count=_cross_csr(pairs.loc[ci], pairs.loc[ci, "pair_count"].to_numpy(), n),
        lift=_cross_csr(pairs.loc[ci], pairs.loc[ci, "lift"].to_numpy(), n),
        affinity=_cross_csr(pairs.loc[ci], pairs.loc[ci, "affinity"].to_numpy(), n),
        embeddings=embeddings, user_items=user_items, customer_ids=np.asarray(customer_ids, dtype=object),
        settings=settings.affinity, category_level=settings.category_level, category_source=source,
        category_inference=inference, category_clusters=clusters, category_labelling=labelling, category_note=note,
        item_reviews=item_reviews)
    p(1.0, "done")
    return model


def item_pairs_table(model: ShopModel, cross_only: bool = False) -> pd.DataFrame:
    """The ``item_pairs.csv`` table (:data:`core.schema.ITEM_PAIR_COLUMNS`), strongest affinity first."""
    df = model.pairs
    if cross_only:
        df = df[df["antecedent_category"] != df["consequent_category"]]
    return df[list(S.ITEM_PAIR_COLUMNS)].sort_values("affinity", ascending=False, kind="stable").reset_index(drop=True)


def category_pairs_table(model: ShopModel) -> pd.DataFrame:
    """The ``category_pairs.csv`` table (:data:`core.schema.CATEGORY_PAIR_COLUMNS`), highest lift first."""
    return model.category_pairs[list(S.CATEGORY_PAIR_COLUMNS)].reset_index(drop=True)
