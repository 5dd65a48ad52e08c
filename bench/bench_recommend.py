"""Offline evaluation of the strategies against established peers on one split (issue 5, item 5).

    .venv/bin/python bench/bench_recommend.py [--k 10] [--n-boot 1000] [--seed 0] [--category-level 2]
        [--model-level 2] [--cache PATH] [--latency-customers 200] [--quick]

Data: the bundled demo (data/demo: 1,000 Instacart customers). Split: ``leave_last_order_out`` (each
customer's last order with contents held out); the peers are tuned on a validation split carved from the
training part the same way (each customer's second-to-last order), refitted on the whole training part
with the chosen settings, then scored on the test orders. Every method recommends only items the customer
never bought, and every method is scored by ``core.evaluation.offline.score_ranked`` on the same customers
with the same bootstrap resamples (95% percentile intervals, ``--n-boot`` replicates, ``--seed``).

Peers (the libraries a shop would otherwise use):

* implicit 0.7.3 ``AlternatingLeastSquares`` (CPU; factors x regularization x alpha tuned), ``CosineRecommender``
  and ``BM25Recommender`` item-kNN (K tuned) on the customer x item order-line matrix;
* SAR's formulas (microsoft/recommenders ``SARSingleNode``): item co-occurrence counted over customers,
  similarity jaccard or lift, score = affinity (order lines, no time decay) @ similarity; threshold tuned;
* popularity (baskets holding the item);
* raw MiniLM content profile: cosine between an item's all-MiniLM-L6-v2 vector and the customer's
  line-weighted mean vector (nothing tuned).

Ours: one instance per strategy of core.recommend (``default_strategies``, default parameters), on a model
built with ``--model-level`` (the level of the category path the strategies treat as "another category");
the hybrid also at level 1 (the app's default) for reference.

Tuning criterion: new-item NDCG@k on the validation split. Cross-category metrics use ``--category-level``
(2 = aisle on the demo). The script prints every metric for every method, the 95% intervals of the two
target metrics, the ratio of the hybrid to the best peer on cross-category Recall@k and new-item NDCG@k,
and latency: one customer's ``recommend`` (p50/p95 warm, over ``--latency-customers``) and all held-out
customers through ``recommend_many``, each against implicit ALS doing the same in the same run.
Timings are wall-clock seconds on whatever else the machine runs: compare ratios. See bench/README.md.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # implicit warns (and slows) under a threaded BLAS

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as `python bench/bench_recommend.py` from the repo root
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from bench.common import load_average, revision  # noqa: E402
from core.evaluation.offline import (METRICS, default_strategies, held_out, ranked_indices,  # noqa: E402
                                     score_ranked)

DEFAULT_CACHE = ROOT / "var" / "complement_eval_embeddings.sqlite"
#: the issue's figures on Instacart (new-item NDCG@10, cross-category Recall@10), for reference
ISSUE = {"implicit ALS": (0.041, 0.022), "popularity": (0.033, 0.015), "SAR jaccard": (0.027, 0.011),
         "implicit BM25": (0.014, 0.010), "MiniLM profile": (0.005, 0.003)}
TUNE_METRIC = "new_item_ndcg"


# --- peers: fit on a customer x item matrix, rank the customers' rows ------------------------------------

def _top_unbought(scores: np.ndarray, bought: sp.csr_matrix, k: int) -> np.ndarray:
    """``(n, k)`` indices of the k best-scoring items each customer never bought (-1 when fewer qualify)."""
    s = np.asarray(scores, dtype=np.float64).copy()
    rows = np.repeat(np.arange(bought.shape[0]), np.diff(bought.indptr))
    s[rows, bought.indices] = -np.inf
    part = np.argpartition(-s, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(s, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    top = np.take_along_axis(part, order, axis=1)
    return np.where(np.isfinite(np.take_along_axis(vals, order, axis=1)), top, -1)


class Popularity:
    label = "popularity"

    def fit(self, model):
        self.counts = model.item_counts.astype(np.float64)
        return self

    def rank(self, model, rows, k):
        bought = model.user_items[rows].tocsr()
        return _top_unbought(np.broadcast_to(self.counts, (len(rows), len(self.counts))), bought, k)


class SAR:
    """SAR (microsoft/recommenders SARSingleNode): C = B^T B over customers (B binary), entries < threshold
    dropped; jaccard C_ij / (C_ii + C_jj - C_ij) or lift C_ij / (C_ii C_jj); score = A S, A = order lines."""

    def __init__(self, similarity="jaccard", threshold=1):
        self.similarity, self.threshold = similarity, threshold
        self.label = f"SAR {similarity}"

    def params(self):
        return f"threshold={self.threshold}"

    def fit(self, model):
        b = model.user_items.tocsr().astype(np.float32)
        b.data[:] = 1.0
        c = (b.T @ b).tocsr()
        diag = c.diagonal().astype(np.float64)
        c.data[c.data < self.threshold] = 0
        c.eliminate_zeros()
        c = c.tocoo()
        if self.similarity == "jaccard":
            v = c.data / (diag[c.row] + diag[c.col] - c.data)
        else:
            v = c.data / (diag[c.row] * diag[c.col])
        self.s = sp.csr_matrix((v.astype(np.float32), (c.row, c.col)), shape=c.shape)
        return self

    def rank(self, model, rows, k):
        a = model.user_items[rows].tocsr().astype(np.float32)
        return _top_unbought((a @ self.s).toarray(), a, k)


class ImplicitPeer:
    """An ``implicit`` 0.7 recommender fitted on the customer x item order-line matrix."""

    def __init__(self, kind, **params):
        self.kind, self.kw = kind, params
        self.label = {"als": "implicit ALS", "cosine": "implicit cosine", "bm25": "implicit BM25"}[kind]

    def params(self):
        return ", ".join(f"{k}={v}" for k, v in self.kw.items() if k not in ("random_state", "num_threads"))

    def make(self):
        from implicit.cpu.als import AlternatingLeastSquares
        from implicit.nearest_neighbours import BM25Recommender, CosineRecommender
        cls = {"als": AlternatingLeastSquares, "cosine": CosineRecommender, "bm25": BM25Recommender}[self.kind]
        return cls(**self.kw)

    def fit(self, model):
        import warnings
        from implicit.utils import ParameterWarning
        self.algo = self.make()
        self.user_items = model.user_items.tocsr().astype(np.float32)
        with warnings.catch_warnings():  # BM25/cosine fit passes its own bm25_weight COO output inside implicit
            warnings.simplefilter("ignore", ParameterWarning)
            self.algo.fit(self.user_items, show_progress=False)
        return self

    def rank(self, model, rows, k):
        rows = np.asarray(rows)
        ids, scores = self.algo.recommend(rows, self.user_items[rows], N=k, filter_already_liked_items=True)
        ids = np.asarray(ids, dtype=np.int64).reshape(len(rows), -1)
        scores = np.asarray(scores).reshape(len(rows), -1)
        ids[~np.isfinite(scores) | (scores <= -1e30) | (ids < 0)] = -1   # implicit pads short lists
        out = np.full((len(rows), k), -1, dtype=np.int64)
        out[:, :ids.shape[1]] = ids[:, :k]
        return out


class MiniLMProfile:
    """score_j = cos(e_j, sum_h log1p(lines_h) e_h): the raw sentence-vector profile, no co-purchase."""

    label = "MiniLM profile"

    def fit(self, model):
        if model.embeddings is None:
            raise RuntimeError("the MiniLM profile needs embeddings")
        return self

    def rank(self, model, rows, k):
        x = model.user_items[rows].tocsr().astype(np.float32)
        w = x.copy()
        w.data = np.log1p(w.data)
        prof = np.asarray(w @ model.embeddings)
        prof /= np.maximum(np.linalg.norm(prof, axis=1, keepdims=True), 1e-12)
        return _top_unbought(prof @ model.embeddings.T, x, k)


def peer_grid(seed: int, quick: bool) -> dict:
    """label -> candidate settings (tuned on the validation split)."""
    f = (32, 64) if quick else (16, 32, 64, 128)
    reg = (0.01, 1.0) if quick else (0.01, 0.1, 1.0)
    alpha = (1.0,) if quick else (1.0, 5.0)
    thresholds = (1, 5) if quick else (1, 2, 3, 5, 8, 12, 20)
    ks = (50, 500) if quick else (10, 20, 50, 100, 200, 500, 1000, 2000)
    return {
        "popularity": [Popularity()],
        "implicit ALS": [ImplicitPeer("als", factors=a, regularization=b, alpha=c, iterations=15, random_state=seed,
                                      num_threads=1) for a in f for b in reg for c in alpha],
        "implicit cosine": [ImplicitPeer("cosine", K=x, num_threads=1) for x in ks],
        "implicit BM25": [ImplicitPeer("bm25", K=x, num_threads=1) for x in ks],
        "SAR jaccard": [SAR("jaccard", t) for t in thresholds],
        "SAR lift": [SAR("lift", t) for t in thresholds],
        "MiniLM profile": [MiniLMProfile()],
    }


# --- the run -------------------------------------------------------------------------------------------------

def _embed_fn(cache: Path):
    from core.embeddings import Encoder, embed_cached
    from core.store import make_engine
    encoder, engine = Encoder(), make_engine(f"sqlite:///{cache}")

    def embed(texts, progress):
        vecs, n_new = embed_cached(texts, encoder, engine, progress)
        print(f"  embeddings: {n_new:,} texts encoded now, {len(texts) - n_new:,} from the cache {cache}", flush=True)
        return vecs
    return embed


def _rows(model, held):
    return pd.Index(model.customer_ids).get_indexer(held.customer_ids)


def _pctl(ms):
    return np.percentile(ms, 50), np.percentile(ms, 95)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--category-level", type=int, default=2, help="level of 'category' in the cross-category metrics")
    ap.add_argument("--model-level", type=int, default=2, help="category level of the model our strategies use")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="SQLite embedding cache")
    ap.add_argument("--latency-customers", type=int, default=200)
    ap.add_argument("--quick", action="store_true", help="smaller tuning grids")
    args = ap.parse_args(argv)

    from core.affinity import AffinitySettings
    from core.evaluation import leave_last_order_out
    from core.pipeline import BuildSettings, build_model
    from core.recommend import CrossCategoryHybrid
    from core.workspace import read_demo_tables

    k = args.k
    print(f"bench_recommend: {revision()}; {load_average()}", flush=True)
    t_all = time.perf_counter()
    catalog, orders, reviews = read_demo_tables()
    train, test = leave_last_order_out(orders)
    fit_lines, valid = leave_last_order_out(train)
    print(f"demo: {len(catalog):,} products, {orders['order_id'].nunique():,} orders; test {test['order_id'].nunique():,} "
          f"orders, validation {valid['order_id'].nunique():,} (second-to-last), fit {fit_lines['order_id'].nunique():,}",
          flush=True)
    embed = _embed_fn(args.cache)

    def build(lines, level):
        t0 = time.perf_counter()
        m = build_model(catalog, lines, reviews, BuildSettings(AffinitySettings(), category_level=level), embed=embed)
        print(f"  model (category level {level}) on {len(lines):,} lines in {time.perf_counter() - t0:.1f} s", flush=True)
        return m

    valid_model = build(fit_lines, 1)
    test_model = build(train, args.model_level)
    test_model_l1 = build(train, 1) if args.model_level != 1 else test_model
    held_v = held_out(valid_model, valid, args.category_level)
    held_t = held_out(test_model, test, args.category_level)
    rows_v, rows_t = _rows(valid_model, held_v), _rows(test_model, held_t)
    print(f"held-out customers: validation {len(rows_v):,}, test {len(rows_t):,}; cross-category level "
          f"{args.category_level}", flush=True)

    # 1. tune every peer on the validation split
    tables, chosen, seconds = {}, {}, {}
    print(f"\ntuning peers on the validation split ({TUNE_METRIC}@{k}, n_boot 1 = point values only):", flush=True)
    for label, grid in peer_grid(args.seed, args.quick).items():
        best, best_v = grid[0], -1.0
        for cand in grid:
            t0 = time.perf_counter()
            r = cand.fit(valid_model).rank(valid_model, rows_v, k)
            v = score_ranked(held_v, r, k, n_boot=1, seed=args.seed).set_index("metric").loc[TUNE_METRIC, "value"]
            if len(grid) > 1:
                print(f"  {label:16s} {cand.params():42s} {v:.4f}  ({time.perf_counter() - t0:.1f} s)", flush=True)
            if v > best_v:
                best, best_v = cand, v
        chosen[label] = best.params() if hasattr(best, "params") else ""
        t0 = time.perf_counter()
        r = best.fit(test_model).rank(test_model, rows_t, k)
        seconds[label] = time.perf_counter() - t0
        tables[label] = score_ranked(held_t, r, k, args.n_boot, args.seed)
        if label == "implicit ALS":
            als = best
    peers = list(tables)

    # 2. ours, default parameters, same customers and resamples
    ours = []
    strategies = [(f"{n} (level {args.model_level})" if args.model_level != 1 else n, s, test_model)
                  for n, s in default_strategies().items()]
    if args.model_level != 1:
        strategies.append(("hybrid (level 1)", CrossCategoryHybrid(), test_model_l1))
    for name, strat, model in strategies:
        t0 = time.perf_counter()
        strat.fit(model)
        recs = strat.recommend_many(list(held_t.customer_ids), k)
        seconds[name] = time.perf_counter() - t0
        tables[name] = score_ranked(held_t, ranked_indices(model, recs, k), k, args.n_boot, args.seed)
        ours.append(name)

    # 3. tables
    wide = pd.DataFrame({m: t.set_index("metric")["value"] for m, t in tables.items()}).T[list(METRICS)]
    wide.insert(0, "group", ["peer"] * len(peers) + ["ours"] * len(ours))
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    print(f"\nevery metric @{k} on the {len(rows_t):,} held-out test customers (rates in [0, 1]; novelty in bits; "
          f"cross_category = level {args.category_level}):")
    short = {m: m.replace("cross_category_", "xcat_").replace("new_item_", "new_") for m in METRICS}
    print(wide.rename(columns=short).to_string(float_format=lambda v: f"{v:.4f}"))
    cust = tables[peers[0]].set_index("metric")["customers"]
    print(f"customers counted: all {cust['recall']:,}, new-item {cust['new_item_recall']:,}, "
          f"cross-category {cust['cross_category_recall']:,}")
    print("\npeer settings chosen on validation: " + "; ".join(f"{p}: {c}" for p, c in chosen.items() if c))

    print(f"\n95% bootstrap intervals ({args.n_boot} resamples of customers, seed {args.seed}, the same for every method):")
    rows = []
    for name, t in tables.items():
        t = t.set_index("metric")
        rows.append((name, *(f"{t.loc[m, 'value']:.4f} [{t.loc[m, 'ci_low']:.4f}, {t.loc[m, 'ci_high']:.4f}]"
                             for m in ("new_item_ndcg", "cross_category_recall")),
                     *(f"{ISSUE[name][i]:.3f}" if name in ISSUE else "" for i in (0, 1))))
    print(pd.DataFrame(rows, columns=["method", f"new-item NDCG@{k}", f"cross-category Recall@{k}",
                                      "issue new-item NDCG", "issue cross-cat Recall"]).to_string(index=False))

    hyb = [n for n in ours if n.startswith("hybrid")]
    print("\nratio of the hybrid to the best peer:")
    for metric in ("cross_category_recall", "new_item_ndcg"):
        best_peer = max(peers, key=lambda p: wide.loc[p, metric])
        for h in hyb:
            v, b = wide.loc[h, metric], wide.loc[best_peer, metric]
            print(f"  {metric}@{k}: {h} {v:.4f} / {best_peer} {b:.4f} = {v / b if b > 0 else float('nan'):.2f}x "
                  f"(target >= 1.1x)")

    # 4. latency: one customer warm, and all held-out customers in one batch
    hybrid = CrossCategoryHybrid().fit(test_model)
    ids = list(held_t.customer_ids)
    rng = np.random.default_rng(args.seed)
    sample = rng.choice(len(ids), size=min(args.latency_customers, len(ids)), replace=False)
    for i in sample[:5]:
        hybrid.recommend(ids[i], k)                                               # warm-up
        als.algo.recommend(rows_t[i], als.user_items[rows_t[i]], N=k)
    ms_h, ms_a = [], []
    for i in sample:
        t0 = time.perf_counter()
        hybrid.recommend(ids[i], k)
        ms_h.append(1000 * (time.perf_counter() - t0))
        t0 = time.perf_counter()
        als.algo.recommend(rows_t[i], als.user_items[rows_t[i]], N=k, filter_already_liked_items=True)
        ms_a.append(1000 * (time.perf_counter() - t0))
    t0 = time.perf_counter()
    hybrid.recommend_many(ids, k)
    all_h = time.perf_counter() - t0
    t0 = time.perf_counter()
    als.algo.recommend(rows_t, als.user_items[rows_t], N=k, filter_already_liked_items=True)
    all_a = time.perf_counter() - t0
    (h50, h95), (a50, a95) = _pctl(ms_h), _pctl(ms_a)
    print(f"\nlatency (hybrid at model level {args.model_level}; peer: implicit ALS {chosen['implicit ALS']}):")
    print(f"  one customer, warm, {len(sample)} customers: hybrid p50 {h50:.1f} ms, p95 {h95:.1f} ms (target <= 20 ms); "
          f"ALS p50 {a50:.2f} ms, p95 {a95:.2f} ms; p95 ratio {h95 / a95:.1f}x")
    print(f"  all {len(ids):,} customers through recommend_many: hybrid {all_h:.2f} s (target <= 5 s); "
          f"ALS batch recommend {all_a:.3f} s; ratio {all_h / all_a:.1f}x")
    print("\nseconds to fit + recommend for every test customer: "
          + ", ".join(f"{n} {s:.1f}" for n, s in seconds.items()))
    print(f"total {time.perf_counter() - t_all:.0f} s; {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
