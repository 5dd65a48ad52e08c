"""Inferred categories of the UCI Online Retail catalog: the chosen k, the silhouette per k, and clusters.

Run from the repository root (the first run embeds ~3,900 titles: about a minute on 2 CPUs; later runs
read the vectors cached in the SQLite file)::

    python scripts/show_clusters.py [--k K] [--k-min 8] [--k-max 40] [--show 10] [--seed 0]
                                    [--db sqlite:////tmp/oret_emb.sqlite] [--all]

Products: lines that :func:`core.ingest.clean.classify_lines` keeps as product purchases, one per
StockCode (:func:`core.ingest.presets.catalog_from_invoice_lines`). The model reads the title without
colour, size and pack words (:func:`core.categories.strip_variant_words`; ``--raw-titles`` for the
titles as they are), the names are made from the full titles.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from core import schema as S  # noqa: E402
from core.categories import infer_categories, strip_variant_words  # noqa: E402
from core.embeddings import Encoder, embed_cached  # noqa: E402
from core.ingest.clean import PRODUCT, classify_lines  # noqa: E402
from core.ingest.presets import catalog_from_invoice_lines  # noqa: E402
from core.paths import shared_dir  # noqa: E402
from core.store import make_engine  # noqa: E402


def online_retail_catalog(path: Path) -> pd.DataFrame:
    """``product_id, title, price`` of the products bought in the UCI Online Retail invoices."""
    raw = pd.read_parquet(path)
    classes = classify_lines(raw, order_col="InvoiceNo", item_col="StockCode", quantity_col="Quantity",
                             title_col="Description")
    catalog = catalog_from_invoice_lines(raw[(classes == PRODUCT).to_numpy()])
    return catalog[catalog[S.TITLE].notna()].reset_index(drop=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(shared_dir() / "datasets" / "online_retail" / "online_retail.parquet"))
    ap.add_argument("--db", default="sqlite:////tmp/oret_emb.sqlite", help="embedding cache (SQLAlchemy URL)")
    ap.add_argument("--k", type=int, default=None, help="number of clusters (default: chosen by silhouette)")
    ap.add_argument("--k-min", type=int, default=8)
    ap.add_argument("--k-max", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show", type=int, default=10, help="clusters to print (evenly spread over the size order)")
    ap.add_argument("--all", action="store_true", help="print every cluster")
    ap.add_argument("--raw-titles", action="store_true", help="embed the titles as they are")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    catalog = online_retail_catalog(Path(args.data))
    titles = catalog[S.TITLE].tolist()
    model_texts = titles if args.raw_titles else [strip_variant_words(t) or t for t in titles]
    x, n_new = embed_cached(model_texts, Encoder(), make_engine(args.db))
    t1 = time.perf_counter()
    print(f"{len(titles):,} products; embeddings {x.shape} ({n_new:,} encoded now) in {t1 - t0:.1f} s")
    result = infer_categories(titles, x, k=args.k, k_range=(args.k_min, args.k_max), seed=args.seed)
    print(f"clustered and named in {time.perf_counter() - t1:.1f} s\n")
    print(result.criterion)
    print("\nmean silhouette per k:")
    table = result.silhouette.copy()
    print(table.to_string(index=False, formatters={"silhouette": "{:.4f}".format, "inertia": "{:.1f}".format}))
    print(f"\ncoverage (share of a cluster's products with a word of its name): median "
          f"{np.median(list(result.coverage.values())):.0%}; clusters below 40%: "
          f"{sum(v < 0.4 for v in result.coverage.values())} of {result.k}")
    summary = result.summary(titles, x, n_examples=5)
    if args.all or args.show >= result.k:
        shown = summary
    else:  # spread over the size order: the largest, the smallest and those between
        shown = summary.iloc[np.unique(np.linspace(0, result.k - 1, args.show).round().astype(int))]
    print(f"\n{len(shown)} of {result.k} clusters (examples: the titles nearest the centroid)")
    for row in shown.itertuples():
        print(f"\n[{row.cluster}] {row.name}  ({row.size} products, {row.coverage:.0%} with a name word)  "
              f"top terms: {row.top_terms}")
        for ex in row.examples.split(" | "):
            print(f"      {ex}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
