"""Train the shipped review-sentiment model (assets/sentiment_minilm.npz) on real reviews.

Data: Women's E-Commerce Clothing Reviews (23,486 reviews, CC0; shared/datasets/womens_clothing_reviews,
see its SOURCE.md). Label from the star rating: >= 4 positive, <= 2 negative, 3 left out. The texts are
de-duplicated, mojibake is repaired where it round-trips, and the sample is balanced: every negative review
(about 2,400) and as many positives drawn at random, so the intercept of the logistic regression sits at
the neutral point. The model reads the review text only (the canonical reviews table has no title).

Run from the repository root (encoding ~5,000 reviews takes a few minutes on 2 busy CPUs; the vectors are
cached under /tmp/sentiment_cache, so reruns take seconds)::

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/train_sentiment.py [--per-class 2400] [--neutral 300]
        [--seed 0] [--test-size 0.2] [--C C] [--out assets/sentiment_minilm.npz] [--cache /tmp/sentiment_cache]

Prints the held-out accuracy and ROC AUC (a stratified 20% of the balanced sample, never seen in
training) and, as a sanity figure, the mean sentiment of a sample of 3-star reviews (expected near 0).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from core.embeddings import Encoder  # noqa: E402
from core.paths import ROOT, shared_dir  # noqa: E402

DATA = "datasets/womens_clothing_reviews/womens_clothing_ecommerce_reviews.csv"
SOURCE = ("Women's E-Commerce Clothing Reviews (Kaggle nicapotato/womens-ecommerce-clothing-reviews v1, CC0), "
          "sha256 bd93cc51...e36ee0")


def _fix_mojibake(text: str) -> str:
    """'fiancã©' -> 'fiancé' where the latin-1 -> utf-8 round trip succeeds; anything else unchanged."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def load_reviews(path: Path) -> pd.DataFrame:
    """text, rating: non-empty texts, mojibake repaired, one row per distinct text (first kept)."""
    df = pd.read_csv(path, index_col=0)
    df = df[df["Review Text"].notna()]
    out = pd.DataFrame({"text": df["Review Text"].astype(str).str.strip().map(_fix_mojibake),
                        "rating": df["Rating"].astype(int)})
    out = out[out["text"].str.len() > 0]
    return out.drop_duplicates("text").reset_index(drop=True)


def encode_cached(texts: list[str], encoder: Encoder, cache: Path) -> np.ndarray:
    """Encode, reusing vectors kept per text under ``cache`` (one .npz per model id, keyed by sha256 of the text)."""
    f = cache / f"vectors_{hashlib.sha256(encoder.model_id.encode()).hexdigest()[:12]}.npz"
    keys = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
    have: dict[str, np.ndarray] = {}
    if f.is_file():
        with np.load(f) as z:
            have = dict(zip(z["keys"].tolist(), z["vecs"]))
    todo = list(dict.fromkeys(k for k in keys if k not in have))
    if todo:
        first = {k: t for k, t in zip(keys, texts)}
        t0 = time.perf_counter()
        vecs = encoder.encode([first[k] for k in todo], progress=lambda fr, m: print(f"  {m}", flush=True))
        print(f"  encoded {len(todo):,} texts in {time.perf_counter() - t0:.0f} s", flush=True)
        have.update(zip(todo, vecs))
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(f, keys=np.array(list(have)), vecs=np.vstack(list(have.values())).astype(np.float32))
    return np.vstack([have[k] for k in keys]).astype(np.float32)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-class", type=int, default=2400, help="reviews per class (negatives are ~2,400)")
    ap.add_argument("--neutral", type=int, default=300, help="3-star reviews scored as a sanity figure")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--test-size", type=float, default=0.2)
    ap.add_argument("--C", type=float, default=None,
                    help="inverse L2 regularisation strength (default: 5-fold CV on the training part)")
    ap.add_argument("--out", default=str(ROOT / "assets" / "sentiment_minilm.npz"))
    ap.add_argument("--cache", default="/tmp/sentiment_cache")
    args = ap.parse_args(argv)

    from core.sentiment import fit_sentiment, review_sentiment

    path = shared_dir() / DATA
    if not path.is_file():
        print(f"data set not found: {path}", file=sys.stderr)
        return 2
    rv = load_reviews(path)
    rng = np.random.default_rng(args.seed)
    neg = rv[rv["rating"] <= 2]
    pos = rv[rv["rating"] >= 4]
    n = min(args.per_class, len(neg), len(pos))
    pick = np.concatenate([rng.choice(neg.index.to_numpy(), n, replace=False),
                           rng.choice(pos.index.to_numpy(), n, replace=False)])
    pick.sort()
    sample = rv.loc[pick]
    print(f"{len(rv):,} distinct review texts; {len(neg):,} negative (<= 2 stars), {len(pos):,} positive "
          f"(>= 4 stars); training sample {len(sample):,} ({n:,} per class)", flush=True)

    encoder = Encoder()
    emb = encode_cached(sample["text"].tolist(), encoder, Path(args.cache))
    model = fit_sentiment(emb, sample["rating"].to_numpy(), test_size=args.test_size, seed=args.seed, C=args.C,
                          model_id=encoder.model_id, source=SOURCE)
    print(f"held-out ({model.n_test:,} reviews, balanced): accuracy {model.accuracy:.3f}, "
          f"ROC AUC {model.roc_auc:.3f}; C = {model.C:g}; final model refit on all {model.n_train:,}")

    if args.neutral:
        mid = rv[rv["rating"] == 3]
        mid = mid.loc[np.sort(rng.choice(mid.index.to_numpy(), min(args.neutral, len(mid)), replace=False))]
        s = review_sentiment(encode_cached(mid["text"].tolist(), encoder, Path(args.cache)), model)
        print(f"3-star reviews ({len(mid):,}, not used in training): mean sentiment {s.mean():+.3f}, "
              f"share positive {(s > 0).mean():.2f}")
    model.save(args.out)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
