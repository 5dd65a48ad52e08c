"""Latency of every recommendation strategy on the demo (issue 5: one customer p95 <= 20 ms warm;
all 1,000 demo customers <= 5 s through recommend_many); never asserts on time.

    .venv/bin/python bench/bench_strategies.py [--customers N] [--single N] [--cache PATH] [STRATEGY ...]

For each strategy of core.recommend.STRATEGIES (or those named), plain and with MMR(0.7, cap 3):
fit seconds; ``recommend(customer, k=10)`` one customer at a time (warm: 20 calls first) as p50 / p95 ms
over ``--single`` customers; then ``recommend_many`` over ``--customers`` customers (batches of 64).

Peer, measured in the same run: the bare matrix product the text strategies cannot avoid,
``e[20 most-bought] @ e.T`` for one customer (one BLAS thread), so text latencies read as a ratio.
The model is built with core.pipeline.build_model on data/demo; product vectors are cached in
``--cache`` (default var/bench_strategies_embeddings.sqlite; the first run encodes 14,887 texts,
one to three minutes on two cores).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import load_average, revision  # noqa: E402

import numpy as np  # noqa: E402


def build_demo(cache: Path):
    from core import schema as S
    from core.embeddings import Encoder, embed_cached
    from core.ingest import load_table
    from core.pipeline import build_model
    from core.store import make_engine
    from core.workspace import DEMO_DIR, DEMO_FILES

    cat = load_table((DEMO_DIR / DEMO_FILES[S.CATALOG]).read_bytes(), DEMO_FILES[S.CATALOG], S.CATALOG).valid
    orders = load_table((DEMO_DIR / DEMO_FILES[S.ORDERS]).read_bytes(), DEMO_FILES[S.ORDERS], S.ORDERS).valid
    cache.parent.mkdir(parents=True, exist_ok=True)
    enc, eng = Encoder(), make_engine(f"sqlite:///{cache}")
    t = time.perf_counter()
    model = build_model(cat, orders, embed=lambda texts, progress: embed_cached(texts, enc, eng, progress)[0])
    print(f"build_model (embedding cache {cache}): {time.perf_counter() - t:.1f} s")
    return model


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("strategies", nargs="*", help="names from core.recommend.STRATEGIES (default: all)")
    ap.add_argument("--customers", type=int, default=1000)
    ap.add_argument("--single", type=int, default=300)
    ap.add_argument("--cache", type=Path, default=ROOT / "var" / "bench_strategies_embeddings.sqlite")
    args = ap.parse_args(argv)

    from threadpoolctl import threadpool_limits

    from core.recommend import MMR, STRATEGIES

    print(revision(), "|", load_average())
    model = build_demo(args.cache)
    customers = list(model.customer_ids)[: args.customers]
    print(f"demo: {model.n_items:,} items, {len(model.customer_ids):,} customers, {model.baskets.n_baskets:,} baskets")

    with threadpool_limits(1, "blas"):
        lat = []
        for c in customers[: args.single]:
            a = model.history(c)[0][:20]
            t = time.perf_counter()
            model.embeddings[a] @ model.embeddings.T
            lat.append(time.perf_counter() - t)
    floor = np.percentile(lat, [50, 95]) * 1000
    print(f"peer: bare e[20 most-bought] @ e.T, one customer, 1 BLAS thread: p50 {floor[0]:.1f} ms, "
          f"p95 {floor[1]:.1f} ms")

    names = args.strategies or list(STRATEGIES)
    print(f"\n{'strategy':48s} {'fit s':>6s} {'p50 ms':>7s} {'p95 ms':>7s} {'batched s':>10s} {'ms/cust':>8s}")
    for name in names:
        for mmr in (False, True):
            s = STRATEGIES[name]()
            if mmr:
                s.diversity = MMR(lam=0.7, max_per_category=3)
            t = time.perf_counter()
            s.fit(model)
            fit = time.perf_counter() - t
            for c in customers[:20]:
                s.recommend(c, 10)
            lat = []
            for c in customers[: args.single]:
                t = time.perf_counter()
                s.recommend(c, 10)
                lat.append(time.perf_counter() - t)
            t = time.perf_counter()
            s.recommend_many(customers, 10)
            total = time.perf_counter() - t
            p50, p95 = np.percentile(lat, [50, 95]) * 1000
            label = name + (" + MMR(0.7, cap 3)" if mmr else "")
            print(f"{label:48s} {fit:6.2f} {p50:7.1f} {p95:7.1f} {total:10.2f} {total / len(customers) * 1000:8.2f}",
                  flush=True)
    print("\n", load_average(), sep="")


if __name__ == "__main__":
    main()
