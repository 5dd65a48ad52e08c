"""Held-out evaluation of cross-category complements for seen, cold and new items (issue 4, item 5).

Protocol
--------
Baskets are split in time: Instacart holds out each customer's last order
(:func:`core.evaluation.split.leave_last_order_out`); Complete Journey trains on weeks 1-44 and
tests on weeks 45-53. For every item ``q`` of a test basket that spans two or more departments
(top-level categories), every catalog item of the *other* departments except ``q`` is ranked;
the truth is the basket's items of other departments. Metrics over the queries::

    HitRate@K(q) = 1{ top_K(q) ∩ truth(q) ≠ ∅ }
    Recall@K(q)  = |top_K(q) ∩ truth(q)| / |truth(q)|

(standard definitions, e.g. the microsoft/recommenders metrics), reported as means with standard
errors ``std(ddof=1) / sqrt(queries)`` on three slices of the query item's training basket count
``n_q``: ``all`` (``n_q >= 1``), ``cold`` (``1 <= n_q <= 4``) and ``new`` (``n_q = 0``: only its
text and category can speak). At most ``max_queries`` (seeded) queries per slice.

Methods (all in one run, same queries, same candidates)::

    popularity          n_j                                   training baskets holding j
    cooccurrence        C_qj                                  pair count, no minimum
    lift                N C_qj / (n_q n_j) where C_qj >= 2, else 0
    text_cosine         <e_q, e_j>                            raw sentence-embedding cosine
    complement_model    t cos(u_q, v_j)/T + log P(j | c_q)    core.complement.ComplementModel.score;
                        (t, level of c_q) in MODEL_CONFIGS per evidence bin, chosen on validation
    cooccurrence_prior  (1-l) P_co(j|q) + l pi_j              l per evidence bin
    blended             a P_co(j|q) + b P_m(j|q) + c pi_j     (a, b, c) per evidence bin, a+b+c = 1

with ``P_co(j|q) = C_qj / sum_j' C_qj'`` and ``P_m(j|q) = softmax_j s(q, j)``, both over the
candidates (other departments), and the popularity prior ``pi_j = (n_j + 1/2) / sum_j' (n_j' + 1/2)``:
linear interpolation of conditional distributions (Jelinek & Mercer 1980; the Dirichlet prior of
Zhai & Lafferty 2001 is the special case ``l = alpha / (n_q + alpha)``). The weights depend on the
evidence bin of the query, its training basket count in {0, 1-4, 5-19, 20+} by default, and are chosen by
Recall@K on a validation split carved from the training period only (Instacart: each customer's
last training order; Complete Journey: the last ``valid_weeks`` training weeks), with every
statistic and the complement model refitted on the rest of the training period for that choice.
The complement model's own text weight ``t`` and prior level (basket popularity, department or
aisle: :data:`MODEL_CONFIGS`) are chosen per bin first, by validation Recall@K over every candidate;
``(0, 'base')`` is its popularity prior alone, so the table shows whether the text earns its
weight (``attrs["model_config"]``). The test never informs a weight. Ties (integer counts, no
evidence) are broken by a seeded random order of the items.

References
----------
Jelinek, F., Mercer, R. L. (1980). Interpolated estimation of Markov source parameters from sparse data.
Zhai, C., Lafferty, J. (2001). A study of smoothing methods for language models applied to ad hoc
    information retrieval. SIGIR '01.
Yi, X. et al. (2019). Sampling-bias-corrected neural modeling for large corpus item recommendations. RecSys '19.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core import schema as S
from core.baskets import build_baskets
from core.complement import ComplementModel, ComplementSettings, cross_category_pairs
from core.evaluation.split import leave_last_order_out
from core.model import category_at_level

#: (text_weight, prior level) of the complement model, chosen per evidence bin on validation; the
#: first is the model as trained, (0, 'base') its popularity prior alone
MODEL_CONFIGS = ((1.0, "category"), (0.5, "category"), (0.0, "category"), (1.0, "group"), (0.5, "group"),
                 (0.0, "group"), (1.0, "base"), (0.5, "base"), (0.0, "base"))
METHODS = ("popularity", "cooccurrence", "cooccurrence_prior", "lift", "text_cosine", "complement_model",
           "blended")
SLICES = ("all", "cold", "new")
COLUMNS = ("method", "slice", "queries", "hit_rate_at_10", "recall_at_10", "hit_rate_se", "recall_se")
WEEK = "week"
#: Complete Journey departments that are not merchandise (fuel, coupons, postage...): left out
CJ_NON_MERCHANDISE = ("FUEL", "MISCELLANEOUS", "COUPON", "POSTAL CENTER", "CHARITABLE CONT", "PROD-WHS SALES",
                      "CNTRL/STORE SUP", "GM MERCH EXP")


@dataclass(frozen=True)
class ComplementEvalSettings:
    """Settings of :func:`evaluate_complements`.

    Parameters
    ----------
    k : int, default 10
        Cut-off of HitRate@K and Recall@K (>= 1). The output columns say ``_at_10`` only for 10.
    max_queries : int, default 3000
        Test queries sampled per slice (>= 1), seeded.
    max_valid_queries : int, default 2000
        Validation queries sampled per evidence bin for the weight search (>= 1).
    bins : tuple of int, default (1, 5, 20)
        Upper-exclusive edges of the evidence bins over the query's training basket count:
        ``(1, 5, 20)`` gives {0}, {1-4}, {5-19}, {20+}. Strictly increasing, first >= 1.
    cold_max : int, default 4
        ``cold`` slice: query items in 1..cold_max training baskets (>= 1).
    grid_step : float, default 0.1
        Step of the weight grid on the simplex, in (0, 0.5]; 1/grid_step must be an integer.
    shortlist : int, default 200
        Weight search only: each component's top ``shortlist`` candidates per validation query
        (their union) stand in for the whole catalog (>= k). The test scores every candidate.
    block : int, default 256
        Queries scored at once (memory ~ block x n_items x 8 bytes per array) (>= 1).
    model : ComplementSettings
    seed : int, default 0
        Seeds the query samples, the tie-breaking order and (through child seeds) the model.
    """

    k: int = 10
    max_queries: int = 3000
    max_valid_queries: int = 2000
    bins: tuple = (1, 5, 20)
    cold_max: int = 4
    grid_step: float = 0.1
    shortlist: int = 200
    block: int = 256
    model: ComplementSettings = field(default_factory=ComplementSettings)
    seed: int = 0

    def __post_init__(self):
        for name, low in (("k", 1), ("max_queries", 1), ("max_valid_queries", 1), ("cold_max", 1),
                          ("shortlist", 1), ("block", 1), ("seed", 0)):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
                raise TypeError(f"{name} must be an int, got {type(v).__name__}")
            if v < low:
                raise ValueError(f"{name} must be >= {low}, got {v}")
        if self.shortlist < self.k:
            raise ValueError(f"shortlist must be >= k ({self.k}), got {self.shortlist}")
        if not isinstance(self.bins, tuple) or not all(isinstance(b, (int, np.integer)) for b in self.bins):
            raise TypeError(f"bins must be a tuple of ints, got {self.bins!r}")
        if not self.bins or self.bins[0] < 1 or any(b >= c for b, c in zip(self.bins, self.bins[1:])):
            raise ValueError(f"bins must be strictly increasing ints, the first >= 1, got {self.bins}")
        if not isinstance(self.grid_step, (int, float)) or isinstance(self.grid_step, bool):
            raise TypeError(f"grid_step must be a number, got {type(self.grid_step).__name__}")
        if not 0 < self.grid_step <= 0.5 or abs(1 / self.grid_step - round(1 / self.grid_step)) > 1e-9:
            raise ValueError(f"grid_step must be in (0, 0.5] with 1/grid_step an integer, got {self.grid_step}")
        if not isinstance(self.model, ComplementSettings):
            raise TypeError(f"model must be a ComplementSettings, got {type(self.model).__name__}")


# --- splits ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TimeSplit:
    """Order lines of one data set cut in time.

    ``train`` = ``fit`` + ``valid`` (the whole training period); ``test`` comes after it.
    ``valid`` is carved from the training period only and chooses the blend weights; ``fit`` is
    what the statistics and the model are refitted on for that choice.
    """

    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    fit: pd.DataFrame
    valid: pd.DataFrame
    how: str


def instacart_split(orders: pd.DataFrame, name: str = "instacart") -> TimeSplit:
    """Each customer's last order is the test; each customer's last *training* order is validation.

    Parameters
    ----------
    orders : DataFrame
        Canonical order lines with order_id, product_id, customer_id and order_number (or ordered_at).
    """
    train, test = leave_last_order_out(orders)
    fit, valid = leave_last_order_out(train)
    return TimeSplit(name, train, test, fit, valid,
                     "test: each customer's last order; validation: each customer's last training order")


def week_split(orders: pd.DataFrame, last_train_week: int = 44, valid_weeks: int = 6, week_col: str = WEEK,
               name: str = "completejourney") -> TimeSplit:
    """Weeks ``<= last_train_week`` train, later weeks test; the last ``valid_weeks`` training weeks validate.

    Raises
    ------
    ValueError
        ``valid_weeks`` < 1 or not shorter than the training period, or no ``week_col`` column.
    """
    if week_col not in orders:
        raise ValueError(f"orders have no {week_col!r} column")
    first = int(orders[week_col].min())
    if valid_weeks < 1 or last_train_week - valid_weeks < first:
        raise ValueError(f"valid_weeks must be in [1, {last_train_week - first}], got {valid_weeks}")
    w = orders[week_col].to_numpy()
    cut = last_train_week - valid_weeks
    return TimeSplit(name, orders[w <= last_train_week].reset_index(drop=True),
                     orders[w > last_train_week].reset_index(drop=True),
                     orders[w <= cut].reset_index(drop=True),
                     orders[(w > cut) & (w <= last_train_week)].reset_index(drop=True),
                     f"train: weeks {first}-{last_train_week}, test: weeks {last_train_week + 1}-"
                     f"{int(orders[week_col].max())}; validation: weeks {cut + 1}-{last_train_week}")


def load_completejourney(src: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Complete Journey as a canonical catalog and order lines with a ``week`` column.

    Catalog mapping as in bench/bench_pipeline.py: ``title`` = product_type (else
    product_category, else department) plus ``", <package_size>"`` when known; ``category`` =
    ``department > product_category > product_type``. Order lines: ``order_id`` = basket_id,
    ``customer_id`` = household_id, ``week``. Cleaned for affinity mining as SOURCE.md advises:
    lines with quantity <= 0, products missing from the catalog and the non-merchandise
    departments :data:`CJ_NON_MERCHANDISE` (fuel, coupons, postage...) are left out, those products
    too.

    Parameters
    ----------
    src : folder with products.csv and transactions.parquet.
    """
    src = Path(src)
    p = pd.read_csv(src / "products.csv", dtype=str, keep_default_na=False, na_values=[""])
    p = p[~p["department"].isin(CJ_NON_MERCHANDISE)]
    base = p["product_type"].fillna(p["product_category"]).fillna(p["department"]).fillna("product " + p["product_id"])
    title = base.where(p["package_size"].isna(), base + ", " + p["package_size"].fillna(""))
    levels = p[["department", "product_category", "product_type"]]
    category = [" > ".join(x for x in row if isinstance(x, str)) for row in levels.itertuples(index=False)]
    catalog = pd.DataFrame({S.PRODUCT_ID: p["product_id"].to_numpy(), S.TITLE: title.to_numpy(),
                            S.CATEGORY: category})
    tx = pd.read_parquet(src / "transactions.parquet",
                         columns=["basket_id", "product_id", "household_id", "quantity", "week"])
    tx = tx[tx["quantity"] > 0]
    orders = pd.DataFrame({S.ORDER_ID: tx["basket_id"].astype(str).to_numpy(),
                           S.PRODUCT_ID: tx["product_id"].astype(str).to_numpy(),
                           S.CUSTOMER_ID: tx["household_id"].astype(str).to_numpy(),
                           WEEK: tx["week"].to_numpy()})
    orders = orders[orders[S.PRODUCT_ID].isin(set(catalog[S.PRODUCT_ID]))].reset_index(drop=True)
    return catalog.reset_index(drop=True), orders


def embed_catalog(catalog: pd.DataFrame, cache_path: str | Path, encoder=None) -> np.ndarray:
    """``(n_products, 384)`` float32 sentence vectors of :func:`core.embeddings.product_texts`, catalog order.

    Vectors are cached in the SQLite file ``cache_path`` by (model id, text hash), so a second run
    encodes nothing. Products without text get a zero vector.
    """
    from core.embeddings import Encoder, embed_cached, product_texts
    from core.store import make_engine

    encoder = encoder or Encoder()
    texts = product_texts(catalog)
    engine = make_engine(f"sqlite:///{Path(cache_path)}")
    try:
        vecs, _ = embed_cached(list(texts.to_numpy()), encoder, engine)
    finally:
        engine.dispose()
    out = np.zeros((len(catalog), vecs.shape[1]), dtype=np.float32)
    out[pd.Index(catalog[S.PRODUCT_ID].astype(str)).get_indexer(texts.index)] = vecs
    return out


# --- metrics -----------------------------------------------------------------------------------

def ranking_hits(top: np.ndarray, truth: sp.spmatrix, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Per-query HitRate@K and Recall@K.

    Parameters
    ----------
    top : ``(n_queries, >= k)`` int, ranked item indices, best first (only the first k count).
    truth : sparse ``(n_queries, n_items)``, nonzero where the item is relevant to the query.
    k : int

    Returns
    -------
    (hit, recall) : two ``(n_queries,)`` float64 arrays; hit in {0, 1}, recall in [0, 1]
    (0 for a query without relevant items).

    Examples
    --------
    Query 0 ranks [3, 1] with truth {1, 2}: hit 1, recall 1/2.
    """
    top = np.asarray(top)[:, :k]
    t = sp.csr_matrix(truth)
    if t.shape[0] != top.shape[0]:
        raise ValueError(f"truth has {t.shape[0]} rows, top has {top.shape[0]}")
    t.data[:] = 1.0
    rows = np.repeat(np.arange(top.shape[0]), top.shape[1])
    found = np.asarray(t[rows, top.ravel()]).reshape(top.shape).sum(axis=1)
    size = np.diff(t.indptr)
    recall = np.divide(found, size, out=np.zeros(len(size)), where=size > 0)
    return (found > 0).astype(np.float64), recall


def summarise(values: np.ndarray) -> tuple[float, float]:
    """(mean, standard error ``std(ddof=1)/sqrt(n)``); NaN for no values, SE 0 for one."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """``(n, k)`` indices of the k largest entries per row, best first."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


# --- statistics of one training period ----------------------------------------------------------

class _Period:
    """Everything fitted on one training period: counts, pair counts, the complement model."""

    def __init__(self, lines: pd.DataFrame, item_ids: np.ndarray, dept: np.ndarray, embeddings: np.ndarray,
                 settings: ComplementEvalSettings, seed: int, cat: np.ndarray | None = None):
        t0 = time.perf_counter()
        self.x = build_baskets(lines, item_ids).basket_items
        self.n_baskets = self.x.shape[0]
        self.counts = np.asarray(self.x.sum(axis=0)).ravel().astype(np.float64)
        co = (self.x.T @ self.x).tocsr()
        co.setdiag(0)
        co.eliminate_zeros()
        self.co = co.astype(np.float64)
        self.dept = dept
        a, b = cross_category_pairs(self.x, dept, max_pairs=settings.model.max_pairs, seed=seed)
        t1 = time.perf_counter()
        self.model = ComplementModel(_with_seed(settings.model, seed)).fit(embeddings, a, b, self.counts, dept, cat)
        self.n_pairs = len(a)
        self.seconds_pairs, self.seconds_model = t1 - t0, time.perf_counter() - t1


def _with_seed(s: ComplementSettings, seed: int) -> ComplementSettings:
    from dataclasses import replace

    return replace(s, seed=int(seed))


class _Scorer:
    """Dense ``(block, n_items)`` scores of every method for a block of query items."""

    def __init__(self, period: _Period, embeddings: np.ndarray, tie: np.ndarray):
        self.p = period
        self.emb = embeddings
        self.tie = tie  # (n_items,) in [0, 1): a seeded random order for exact ties
        self.pop = period.counts
        self.prior_raw = period.counts + 0.5

    def mask(self, q: np.ndarray) -> np.ndarray:
        """True where the item is no candidate for the query (same department, or the item itself)."""
        m = self.p.dept[None, :] == self.p.dept[q][:, None]
        m[np.arange(len(q)), q] = True
        return m

    def model_scores(self, q: np.ndarray, config: list) -> np.ndarray:
        """``(n_q, n_items)`` float64 complement-model scores, query i with ``config[i] = (text_weight, level)``."""
        sim = self.p.model.similarity(q).astype(np.float64)
        tw = np.asarray([c[0] for c in config], dtype=np.float64)
        levels = np.asarray([c[1] for c in config], dtype=object)
        out = sim * tw[:, None]
        for level in set(levels.tolist()):
            at = np.flatnonzero(levels == level)
            out[at] += self.p.model.bias(q[at], level=level)
        return out

    def components(self, q: np.ndarray, mask: np.ndarray, config: list | None = None) -> dict:
        """Candidate distributions P_co, P_m, pi (rows sum to 1 over the candidates; 0 off them).

        ``config``: per query the complement model's ``(text_weight, level)`` (default: as trained)."""
        co = self.p.co[q].toarray()
        co[mask] = 0.0
        tot = co.sum(axis=1, keepdims=True)
        p_co = np.divide(co, tot, out=np.zeros_like(co), where=tot > 0)
        s = self.model_scores(q, config or [MODEL_CONFIGS[0]] * len(q))
        s[mask] = -np.inf
        s -= s.max(axis=1, keepdims=True)
        p_m = np.exp(s)
        p_m /= p_m.sum(axis=1, keepdims=True)
        pi = np.broadcast_to(self.prior_raw, mask.shape).copy()
        pi[mask] = 0.0
        pi /= pi.sum(axis=1, keepdims=True)
        return {"co": co, "p_co": p_co, "p_m": p_m, "pi": pi, "s": s}

    def method(self, name: str, q: np.ndarray, mask: np.ndarray, comp: dict, weights: dict, bins: np.ndarray):
        """Scores of one method (higher = better); -inf off the candidates."""
        if name == "popularity":
            out = np.broadcast_to(self.pop + self.tie, mask.shape).copy()
        elif name == "cooccurrence":
            out = comp["co"] + self.tie[None, :]
        elif name == "lift":
            co = comp["co"]
            n = self.p.counts
            with np.errstate(divide="ignore", invalid="ignore"):
                lift = np.where(co >= 2, self.p.n_baskets * co / (n[q][:, None] * n[None, :]), 0.0)
            out = lift + 1e-12 * self.tie[None, :]
        elif name == "text_cosine":
            out = (self.emb[q] @ self.emb.T).astype(np.float64)
        elif name == "complement_model":
            out = comp["s"].copy()
        elif name in ("cooccurrence_prior", "blended"):
            w = np.asarray([weights[name][b] for b in bins])  # (n_q, 3): co, model, prior
            out = (w[:, 0:1] * comp["p_co"] + w[:, 1:2] * comp["p_m"] + w[:, 2:3] * comp["pi"])
            out = out + 1e-15 * self.tie[None, :]
        else:  # pragma: no cover - names come from METHODS
            raise ValueError(f"unknown method {name!r}")
        out[mask] = -np.inf
        return out


# --- queries -----------------------------------------------------------------------------------

def _queries(lines: pd.DataFrame, item_ids: np.ndarray, dept: np.ndarray):
    """(basket matrix, basket row per query, query item per query) for baskets spanning departments."""
    x = build_baskets(lines, item_ids).basket_items.tocsr()
    rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
    d = dept[x.indices]
    first = pd.Series(d).groupby(rows).transform("min").to_numpy()
    last = pd.Series(d).groupby(rows).transform("max").to_numpy()
    keep = first != last
    return x, rows[keep], x.indices[keep].astype(np.int64)


def _truth(x: sp.csr_matrix, rows: np.ndarray, q: np.ndarray, dept: np.ndarray) -> sp.csr_matrix:
    """``(n_q, n_items)``: the query's basket, items of the query's department removed."""
    t = x[rows].tocoo()
    keep = dept[t.col] != dept[q[t.row]]
    return sp.csr_matrix((np.ones(keep.sum()), (t.row[keep], t.col[keep])), shape=(len(q), x.shape[1]))


def _bin_of(counts: np.ndarray, edges: tuple) -> np.ndarray:
    return np.searchsorted(np.asarray(edges), counts, side="right")


def _grid(step: float, with_model: bool) -> list[tuple]:
    n = int(round(1 / step))
    out = []
    for i, j in product(range(n + 1), range(n + 1)):
        if with_model or j == 0:
            if i + j <= n:
                out.append((i / n, j / n, (n - i - j) / n))
    return out


def _choose_weights(scorer: _Scorer, x: sp.csr_matrix, rows: np.ndarray, q: np.ndarray, bins: np.ndarray,
                    settings: ComplementEvalSettings, rng: np.random.Generator
                    ) -> tuple[dict, dict, pd.DataFrame, pd.DataFrame]:
    """Per evidence bin, on validation queries: first the complement model's (text_weight, prior level)
    among :data:`MODEL_CONFIGS` by Recall@K over every candidate, then the blend weights on the grid
    with that model (ties: the first listed)."""
    k = settings.k
    grids = {"cooccurrence_prior": _grid(settings.grid_step, False), "blended": _grid(settings.grid_step, True)}
    weights = {name: {} for name in grids}
    model_config, report, model_report = {}, [], []
    for b in range(len(settings.bins) + 1):
        idx = np.flatnonzero(bins == b)
        if len(idx) > settings.max_valid_queries:
            idx = np.sort(rng.choice(idx, size=settings.max_valid_queries, replace=False))
        m_recall = np.zeros(len(MODEL_CONFIGS))
        for s in range(0, len(idx), settings.block):
            sel = idx[s:s + settings.block]
            qq = q[sel]
            mask = scorer.mask(qq)
            truth = _truth(x, rows[sel], qq, scorer.p.dept)
            sim = scorer.p.model.similarity(qq).astype(np.float64)
            bias = {lv: scorer.p.model.bias(qq, level=lv) for lv in {c[1] for c in MODEL_CONFIGS}}
            for ci, (tw, lv) in enumerate(MODEL_CONFIGS):
                sc = tw * sim + bias[lv] + 1e-9 * scorer.tie[None, :]
                sc[mask] = -np.inf
                m_recall[ci] += ranking_hits(_top_k(sc, k), truth, k)[1].sum()
        best_m = int(np.argmax(m_recall)) if len(idx) else 0
        model_config[b] = MODEL_CONFIGS[best_m]
        model_report.append({"bin": b, "validation_queries": len(idx), "text_weight": MODEL_CONFIGS[best_m][0],
                             "prior_level": MODEL_CONFIGS[best_m][1],
                             "validation_recall": m_recall[best_m] / max(len(idx), 1),
                             "validation_recall_as_trained": m_recall[0] / max(len(idx), 1),
                             "validation_recall_prior_only": m_recall[MODEL_CONFIGS.index((0.0, "base"))]
                             / max(len(idx), 1)})
        recalls = {name: np.zeros(len(g)) for name, g in grids.items()}
        for s in range(0, len(idx), settings.block):
            sel = idx[s:s + settings.block]
            qq = q[sel]
            mask = scorer.mask(qq)
            comp = scorer.components(qq, mask, [model_config[b]] * len(sel))
            truth = _truth(x, rows[sel], qq, scorer.p.dept)
            # shortlist: the union of each component's top candidates stands in for the catalog
            short = np.hstack([_top_k(np.where(mask, -np.inf, comp[c] + 1e-15 * scorer.tie), settings.shortlist)
                               for c in ("p_co", "p_m", "pi")])
            parts = np.stack([np.take_along_axis(comp[c], short, axis=1) for c in ("p_co", "p_m", "pi")])
            t = truth.tocsr()
            rr = np.repeat(np.arange(len(sel)), short.shape[1])
            rel = np.asarray(t[rr, short.ravel()]).reshape(short.shape) > 0
            size = np.maximum(np.diff(t.indptr), 1)
            # a candidate listed by several components counts once
            dup = np.zeros_like(rel)
            order = np.argsort(short, axis=1, kind="stable")
            srt = np.take_along_axis(short, order, axis=1)
            d = np.zeros_like(srt, dtype=bool)
            d[:, 1:] = srt[:, 1:] == srt[:, :-1]
            np.put_along_axis(dup, order, d, axis=1)
            tie = scorer.tie[short] * 1e-15
            for name, g in grids.items():
                for gi, (wc, wm, wp) in enumerate(g):
                    sc = wc * parts[0] + wm * parts[1] + wp * parts[2] + tie
                    sc[dup] = -np.inf
                    top = _top_k(sc, k)
                    found = np.take_along_axis(rel & ~dup, top, axis=1).sum(axis=1)
                    recalls[name][gi] += (found / size).sum()
        for name, g in grids.items():
            best = int(np.argmax(recalls[name])) if len(idx) else (len(g) - 1)
            weights[name][b] = g[best]
            report.append({"method": name, "bin": b, "validation_queries": len(idx),
                           "w_cooccurrence": g[best][0], "w_model": g[best][1], "w_prior": g[best][2],
                           "validation_recall": recalls[name][best] / max(len(idx), 1)})
    return weights, model_config, pd.DataFrame(report), pd.DataFrame(model_report)


# --- the evaluation ----------------------------------------------------------------------------

def evaluate_complements(catalog: pd.DataFrame, split: TimeSplit, embeddings: np.ndarray,
                         settings: ComplementEvalSettings = ComplementEvalSettings(),
                         methods: tuple = METHODS, log=None) -> pd.DataFrame:
    """Run the held-out complement evaluation (module docstring) for every method.

    Parameters
    ----------
    catalog : DataFrame
        product_id and category (``department > ...``; the top level is the department).
    split : TimeSplit
        From :func:`instacart_split` or :func:`week_split`; lines need order_id and product_id.
    embeddings : ``(len(catalog), d)`` float32 L2-normalised text vectors in catalog order
        (:func:`embed_catalog`).
    settings : ComplementEvalSettings
    methods : tuple of str
        A subset of :data:`METHODS` (default all).
    log : callable(str), optional
        Progress messages.

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS` (``method, slice, queries, hit_rate_at_10, recall_at_10,
        hit_rate_se, recall_se``), one row per method and slice, rates in [0, 1]. ``attrs``
        holds ``per_query`` (Recall@K per scored query and method, slice flags: see
        :func:`paired_difference`), ``weights`` (the chosen blend weights per evidence bin, with validation recall),
        ``model_config`` (the complement model's text weight and prior level per bin, with the
        validation recall of the chosen, the as-trained and the prior-only configuration),
        ``info`` (sizes, seconds).

    Raises
    ------
    ValueError
        An unknown method, or embeddings not aligned with the catalog.
    """
    log = log or (lambda m: None)
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"methods must be among {METHODS}, got {sorted(unknown)}")
    if embeddings.shape[0] != len(catalog):
        raise ValueError(f"embeddings have {embeddings.shape[0]} rows, the catalog {len(catalog)}")
    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    item_ids = catalog[S.PRODUCT_ID].astype(str).to_numpy(dtype=object)
    paths = catalog[S.CATEGORY] if S.CATEGORY in catalog else pd.Series([None] * len(catalog))
    dept = pd.factorize(pd.Series(category_at_level(paths.reset_index(drop=True), 1), dtype=object))[0]
    cat = pd.factorize(pd.Series(category_at_level(paths.reset_index(drop=True), 2), dtype=object))[0]
    ss = np.random.SeedSequence(settings.seed)
    s_valid, s_test, s_tie, s_mv, s_mt = (int(c.generate_state(1)[0] % 2**31) for c in ss.spawn(5))
    tie = np.random.default_rng(s_tie).random(len(item_ids))
    info = {"items": len(item_ids), "departments": int(dept.max()) + 1, "split": split.how}
    needs_weights = {"cooccurrence_prior", "blended", "complement_model"} & set(methods)

    weights, report, model_report = {}, pd.DataFrame(), pd.DataFrame()
    model_config = {b: MODEL_CONFIGS[0] for b in range(len(settings.bins) + 1)}
    if needs_weights:
        t0 = time.perf_counter()
        fit = _Period(split.fit, item_ids, dept, emb, settings, s_mv, cat)
        xv, rv, qv = _queries(split.valid, item_ids, dept)
        bins_v = _bin_of(fit.counts[qv], settings.bins)
        weights, model_config, report, model_report = _choose_weights(
            _Scorer(fit, emb, tie), xv, rv, qv, bins_v, settings, np.random.default_rng(s_valid))
        info["validation_seconds"] = time.perf_counter() - t0
        log(f"weights chosen on {len(qv):,} validation queries in {info['validation_seconds']:.1f} s")
        del fit

    t0 = time.perf_counter()
    train = _Period(split.train, item_ids, dept, emb, settings, s_mt, cat)
    info.update(train_pairs=train.n_pairs, model_seconds=train.seconds_model, train_baskets=train.n_baskets,
                model_loss=[round(v, 4) for v in train.model.loss_history])
    log(f"complement model: {train.n_pairs:,} pairs, {train.seconds_model:.1f} s; "
        f"loss {train.model.loss_history}")
    xt, rt, qt = _queries(split.test, item_ids, dept)
    n_q = train.counts[qt]
    rng = np.random.default_rng(s_test)
    slice_idx = {}
    for name, ok in (("all", n_q >= 1), ("cold", (n_q >= 1) & (n_q <= settings.cold_max)), ("new", n_q == 0)):
        idx = np.flatnonzero(ok)
        if len(idx) > settings.max_queries:
            idx = np.sort(rng.choice(idx, size=settings.max_queries, replace=False))
        slice_idx[name] = idx
    union = np.unique(np.concatenate(list(slice_idx.values())))
    info.update(test_queries_total=len(qt), scored_queries=len(union))
    scorer = _Scorer(train, emb, tie)
    bins_t = _bin_of(n_q, settings.bins)
    hits = {m: np.zeros(len(union)) for m in methods}
    recs = {m: np.zeros(len(union)) for m in methods}
    for s in range(0, len(union), settings.block):
        sel = union[s:s + settings.block]
        q = qt[sel]
        mask = scorer.mask(q)
        comp = scorer.components(q, mask, [model_config[b] for b in bins_t[sel]])
        truth = _truth(xt, rt[sel], q, dept)
        for m in methods:
            top = _top_k(scorer.method(m, q, mask, comp, weights, bins_t[sel]), settings.k)
            h, r = ranking_hits(top, truth, settings.k)
            hits[m][s:s + len(sel)] = h
            recs[m][s:s + len(sel)] = r
    info["test_seconds"] = time.perf_counter() - t0
    pos = pd.Index(union)
    rows = []
    for m in methods:
        for name in SLICES:
            at = pos.get_indexer(slice_idx[name])
            hr, hr_se = summarise(hits[m][at])
            rc, rc_se = summarise(recs[m][at])
            rows.append({"method": m, "slice": name, "queries": len(at), "hit_rate_at_10": hr, "recall_at_10": rc,
                         "hit_rate_se": hr_se, "recall_se": rc_se})
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    out.attrs["weights"] = report
    out.attrs["model_config"] = model_report
    out.attrs["info"] = info
    per_query = pd.DataFrame({f"recall_{m}": recs[m] for m in methods})
    for name in SLICES:
        per_query[f"in_{name}"] = np.isin(np.arange(len(union)), pos.get_indexer(slice_idx[name]))
    out.attrs["per_query"] = per_query
    return out


def paired_difference(table: pd.DataFrame, method: str, baseline: str, slice_: str = "all") -> tuple[float, float, int]:
    """Mean per-query Recall@K difference ``method - baseline`` on a slice, its standard error, queries.

    Both methods ranked the same queries, so the paired difference has a much smaller standard
    error (``std(ddof=1)/sqrt(n)`` of the differences) than either rate.

    Parameters
    ----------
    table : the output of :func:`evaluate_complements` (needs ``attrs["per_query"]``).
    method, baseline : method names in the table.
    slice_ : one of :data:`SLICES`.

    Raises
    ------
    KeyError
        A method the table did not evaluate, or no per-query values.
    """
    pq = table.attrs["per_query"]
    sub = pq[pq[f"in_{slice_}"]]
    mean, se = summarise(sub[f"recall_{method}"].to_numpy() - sub[f"recall_{baseline}"].to_numpy())
    return mean, se, len(sub)


# --- a generic workspace -------------------------------------------------------------------------

#: Lighter defaults of :func:`complement_eval_table`: 1,000 queries per slice and evaluation bin,
#: at most 50,000 training pairs (the demo runs in about a minute on one busy core).
TABLE_SETTINGS = ComplementEvalSettings(max_queries=1000, max_valid_queries=1000,
                                        model=ComplementSettings(max_pairs=50_000))


def complement_eval_table(catalog: pd.DataFrame, orders: pd.DataFrame, embeddings: np.ndarray,
                          settings: ComplementEvalSettings = TABLE_SETTINGS, methods: tuple = METHODS,
                          log=None) -> pd.DataFrame:
    """The held-out complement evaluation of a workspace: each customer's last order is the test.

    The split is :func:`core.evaluation.split.leave_last_order_out` twice (:func:`instacart_split`):
    the test is each customer's last order (customers with >= 2 orders), the validation that
    chooses the blend weights is each customer's last *training* order; the rest fits. Then
    :func:`evaluate_complements` (protocol, methods and slices in the module docstring).

    Parameters
    ----------
    catalog : DataFrame
        Canonical catalog: product_id, category (``department > aisle > ...``; missing paths are
        one "(uncategorised)" department). Row order = the rows of ``embeddings``.
    orders : DataFrame
        Canonical order lines: order_id, product_id, customer_id and order_number or ordered_at
        (:func:`core.evaluation.split.order_sequence`). Lines whose ``line_type`` is not
        ``"product"`` (returns, postage..., see core.ingest.clean) are left out; lines naming
        products missing from the catalog are ignored.
    embeddings : ``(len(catalog), d)`` float32 L2-normalised text vectors in catalog order
        (e.g. ``core.embeddings.Encoder`` over ``core.embeddings.product_texts(catalog)``).
    settings : ComplementEvalSettings, default :data:`TABLE_SETTINGS`
    methods : tuple of str, default :data:`METHODS`
    log : callable(str), optional

    Returns
    -------
    DataFrame
        Columns ``method, slice, queries, hit_rate_at_10, recall_at_10, hit_rate_se, recall_se``;
        one row per method in :data:`METHODS` and slice in :data:`SLICES` (``all``, ``cold``,
        ``new``); rates in [0, 1], NaN where a slice has no query. ``attrs`` as
        :func:`evaluate_complements`, plus ``attrs["info"]["seconds"]``.

    Raises
    ------
    core.errors.EmptyDataError
        No customer_id column, or no customer with three orders (a test and a validation order
        each need a customer with an earlier order).
    ValueError
        ``embeddings`` not aligned with the catalog, an unknown method.

    Examples
    --------
    >>> table = complement_eval_table(catalog, orders, encoder.encode(list(product_texts(catalog))))  # doctest: +SKIP
    >>> table.to_csv(out / "complement_eval.csv", index=False)  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    if embeddings.shape[0] != len(catalog):
        raise ValueError(f"embeddings have {embeddings.shape[0]} rows, the catalog {len(catalog)}")
    lines = orders
    if S.LINE_TYPE in lines:
        lines = lines[lines[S.LINE_TYPE] == S.PRODUCT_LINE]
    split = instacart_split(lines.reset_index(drop=True), name="workspace")
    out = evaluate_complements(catalog.reset_index(drop=True), split, embeddings, settings, methods, log)
    out.attrs["info"]["seconds"] = time.perf_counter() - t0
    return out
