"""Held-out complement evaluation (issue 4, item 5) on Instacart (data/demo) and Complete Journey.

    .venv/bin/python bench/bench_complement.py [--dataset demo|completejourney|all] [--max-queries N]
        [--cache PATH] [--epochs N] [--max-pairs N] [--seed N] [--torch-threads N]

Prints, per data set, the table of core.evaluation.complement_eval.evaluate_complements (method,
slice, queries, HitRate@10, Recall@10 and their standard errors), the blend weights chosen on the
validation split and the seconds each part took. Sentence vectors are cached in ``--cache`` (a
SQLite file, default var/complement_eval_embeddings.sqlite), so only the first run encodes.
See bench/README.md.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as `python bench/bench_complement.py` from the repo root
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from core.paths import shared_dir  # noqa: E402

DEFAULT_CJ = shared_dir() / "datasets" / "completejourney"
DEFAULT_CACHE = ROOT / "var" / "complement_eval_embeddings.sqlite"


def _print_table(table: pd.DataFrame) -> None:
    t = table.copy()
    for c in ("hit_rate_at_10", "recall_at_10", "hit_rate_se", "recall_se"):
        t[c] = t[c].map(lambda v: f"{v:.4f}")
    order = {s: i for i, s in enumerate(("all", "cold", "new"))}
    t = t.sort_values(["slice", "method"], key=lambda s: s.map(order) if s.name == "slice" else s.map(
        {m: i for i, m in enumerate(table["method"].unique())}), kind="stable")
    print(t.to_string(index=False))
    best = []
    for s in ("all", "cold", "new"):
        sub = table[table["slice"] == s]
        if len(sub):
            top = sub.loc[sub["recall_at_10"].idxmax()]
            best.append(f"{s}: {top['method']} ({top['recall_at_10']:.4f})")
    print("highest Recall@10 per slice -> " + "; ".join(best))


def run(name: str, catalog, split, args, settings) -> None:
    from core.evaluation.complement_eval import embed_catalog, evaluate_complements

    t0 = time.perf_counter()
    emb = embed_catalog(catalog, args.cache)
    t_emb = time.perf_counter() - t0
    print(f"{len(catalog):,} products embedded in {t_emb:.1f} s (cache {args.cache}); {split.how}", flush=True)
    print(f"lines: train {len(split.train):,} (fit {len(split.fit):,} + validation {len(split.valid):,}), "
          f"test {len(split.test):,}", flush=True)
    t0 = time.perf_counter()
    table = evaluate_complements(catalog, split, emb, settings, log=lambda m: print(f"  .. {m}", flush=True))
    dt = time.perf_counter() - t0
    print()
    _print_table(table)
    from core.evaluation.complement_eval import paired_difference

    print("\npaired Recall@10 differences (same queries; mean +- standard error of the per-query difference):")
    for method, baseline in (("blended", "cooccurrence_prior"), ("blended", "popularity"),
                             ("complement_model", "popularity"), ("complement_model", "cooccurrence_prior")):
        parts = []
        for s in ("all", "cold", "new"):
            d, se, n = paired_difference(table, method, baseline, s)
            parts.append(f"{s} {d:+.4f} +- {se:.4f}")
        print(f"  {method} - {baseline}: " + "; ".join(parts))
    info = table.attrs["info"]
    print(f"\n{name}: {info['items']:,} items in {info['departments']} departments; "
          f"{info['test_queries_total']:,} test queries in baskets spanning departments, "
          f"{info['scored_queries']:,} scored (<= {settings.max_queries:,} per slice, seed {settings.seed})")
    print(f"complement model: {info['train_pairs']:,} training pairs, {info['model_seconds']:.1f} s, "
          f"loss per epoch {info['model_loss']}")
    print(f"seconds: validation (refit + weight search) {info.get('validation_seconds', 0):.1f}, "
          f"test (fit + scoring) {info['test_seconds']:.1f}, evaluation in all {dt:.1f}")
    w = table.attrs["weights"]
    labels = ["0"] + [f"{lo}-{hi - 1}" for lo, hi in zip(settings.bins, settings.bins[1:])] + [f"{settings.bins[-1]}+"]
    if len(w):
        w = w.copy()
        w["bin"] = w["bin"].map(dict(enumerate(labels)))
        print("\nweights chosen on the validation split (per evidence bin = query's training basket count):")
        print(w.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    mc = table.attrs.get("model_config")
    if mc is not None and len(mc):
        mc = mc.copy()
        mc["bin"] = mc["bin"].map(dict(enumerate(labels)))
        print("\ncomplement model per evidence bin, chosen on validation: text_weight x towers + log prior at "
              "prior_level\n(as_trained = 1 x towers + category prior; prior_only = 0 x towers + basket popularity):")
        print(mc.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def main(argv=None) -> int:
    from core.complement import ComplementSettings
    from core.evaluation.complement_eval import (ComplementEvalSettings, instacart_split, load_completejourney,
                                                 week_split)

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=("demo", "completejourney", "all"), default="all")
    ap.add_argument("--max-queries", type=int, default=3000, metavar="N", help="test queries per slice (3000)")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, metavar="PATH")
    ap.add_argument("--completejourney-dir", type=Path, default=DEFAULT_CJ, metavar="PATH")
    ap.add_argument("--epochs", type=int, default=None, metavar="N")
    ap.add_argument("--max-pairs", type=int, default=None, metavar="N")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--torch-threads", type=int, default=None, metavar="N")
    args = ap.parse_args(argv)
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    model = ComplementSettings()
    if args.epochs:
        model = replace(model, epochs=args.epochs)
    if args.max_pairs:
        model = replace(model, max_pairs=args.max_pairs)
    settings = ComplementEvalSettings(max_queries=args.max_queries, model=model, seed=args.seed)
    print(f"complement evaluation: python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {model}")
    t_all = time.perf_counter()
    names = ("demo", "completejourney") if args.dataset == "all" else (args.dataset,)
    for name in names:
        if name == "demo":
            from core.workspace import DEMO_DIR, read_demo_tables

            catalog, orders, _ = read_demo_tables()
            print(f"\n== instacart: {DEMO_DIR} ==", flush=True)
            run("instacart", catalog, instacart_split(orders), args, settings)
        else:
            src = args.completejourney_dir
            if not (src / "transactions.parquet").is_file() or not (src / "products.csv").is_file():
                print(f"\n== completejourney: skipped: {src} not found ==")
                continue
            print(f"\n== completejourney: {src} ==", flush=True)
            catalog, orders = load_completejourney(src)
            run("completejourney", catalog, week_split(orders, 44, 6), args, settings)
    print(f"\ntotal {time.perf_counter() - t_all:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
