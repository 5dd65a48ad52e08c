"""Review sentiment in [-1, 1]: a logistic regression over the frozen sentence embeddings.

The classifier reads the same L2-normalised all-MiniLM-L6-v2 vectors the rest of the app uses
(:class:`core.embeddings.Encoder`), so scoring a review costs one dot product once its text is encoded, and
nothing is downloaded. Labels come from star ratings: >= 4 positive, <= 2 negative, 3 left out (the usual
binarisation of review ratings, e.g. Blitzer et al., "Biographies, Bollywood, Boom-boxes and Blenders",
ACL 2007). The sentiment of a review is ``2 p - 1`` where ``p = sigmoid(w . x + b)`` is the predicted
probability of a positive review, so -1 is certainly negative, 0 undecided and +1 certainly positive.

The default model (``assets/sentiment_minilm.npz``) is trained by ``scripts/train_sentiment.py`` on the
Women's E-Commerce Clothing Reviews (CC0; see ``assets/README.md``): held-out balanced accuracy 0.870, ROC AUC
0.930. On other goods its ranking carries over but its neutral point shifts (phrasings of clothing complaints,
"was ...", "as described", read as negative), so :func:`fit_sentiment` refits one on a shop's own rated
reviews and reports its held-out accuracy.

Typical calls::

    s = text_sentiment(reviews["text"], encoder, engine=engine)      # (n,) in [-1, 1], NaN for blank texts
    per_product = product_sentiment(reviews, sentiment=s)              # product_id, mean_sentiment, ...
    model = fit_sentiment(encoder.encode(texts), ratings, model_id=encoder.model_id)
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from core import schema as S
from core.errors import EmptyDataError, ModelLoadError

DEFAULT_MODEL_PATH = Path(__file__).resolve().parents[1] / "assets" / "sentiment_minilm.npz"
POSITIVE_MIN_RATING = 4   # ratings >= 4 are positive
NEGATIVE_MAX_RATING = 2   # ratings <= 2 are negative; 3 is left out
MIN_PER_CLASS = 5         # fewer labelled reviews of one class cannot be split and scored


@dataclass(frozen=True)
class SentimentModel:
    """A fitted linear sentiment classifier over sentence embeddings.

    Attributes
    ----------
    coef : ndarray, shape (dim,), float32
        Weights ``w`` of the logistic regression.
    intercept : float
        Bias ``b``.
    model_id : str
        :attr:`core.embeddings.Encoder.model_id` of the encoder whose vectors it reads ('' when unknown).
    n_train, n_test : int
        Labelled reviews used to fit it and held out to score it.
    accuracy : float in [0, 1]
        Held-out accuracy at p = 0.5 (NaN when nothing was held out).
    balanced_accuracy : float in [0, 1]
        Held-out mean of the recall of each class at p = 0.5 (= accuracy on balanced classes; on a typical
        shop's ~85% positive reviews, plain accuracy rewards calling everything positive, this does not).
    roc_auc : float in [0, 1]
        Held-out ROC AUC (NaN when nothing was held out).
    source : str
        Where the training reviews came from.
    C : float
        Inverse regularisation strength it was fit with (NaN when unknown).
    """

    coef: np.ndarray
    intercept: float
    model_id: str = ""
    n_train: int = 0
    n_test: int = 0
    accuracy: float = float("nan")
    balanced_accuracy: float = float("nan")
    roc_auc: float = float("nan")
    source: str = ""
    C: float = float("nan")

    def __post_init__(self):
        coef = np.asarray(self.coef, dtype=np.float32)
        if coef.ndim != 1 or coef.size == 0:
            raise ValueError(f"coef must be a non-empty 1-d array, got shape {coef.shape}")
        if not np.all(np.isfinite(coef)) or not np.isfinite(self.intercept):
            raise ValueError("coef and intercept must be finite")
        object.__setattr__(self, "coef", coef)
        object.__setattr__(self, "intercept", float(self.intercept))

    @property
    def dim(self) -> int:
        """Embedding dimension the model reads."""
        return int(self.coef.shape[0])

    def probability(self, embeddings: np.ndarray) -> np.ndarray:
        """P(positive) = sigmoid(w . x + b), shape (n,), float64 in [0, 1].

        Raises
        ------
        ValueError
            ``embeddings`` is not 2-d with ``dim`` columns.
        """
        x = np.asarray(embeddings, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"embeddings must have shape (n, {self.dim}), got {x.shape}")
        z = x.astype(np.float64) @ self.coef.astype(np.float64) + self.intercept
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # = sigmoid(z), without overflow

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        """Sentiment ``2 p - 1``, shape (n,), float64 in [-1, 1] (= tanh((w . x + b) / 2))."""
        return 2.0 * self.probability(embeddings) - 1.0

    def save(self, path) -> Path:
        """Write the model as a small .npz (coef, intercept and the metadata); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, coef=self.coef, intercept=np.float64(self.intercept), model_id=np.str_(self.model_id),
                 n_train=np.int64(self.n_train), n_test=np.int64(self.n_test),
                 accuracy=np.float64(self.accuracy), balanced_accuracy=np.float64(self.balanced_accuracy),
                 roc_auc=np.float64(self.roc_auc), source=np.str_(self.source), C=np.float64(self.C))
        return path

    @classmethod
    def load(cls, path) -> "SentimentModel":
        """Read a model written by :meth:`save`.

        Raises
        ------
        FileNotFoundError
            No file at ``path``.
        ValueError
            The file lacks ``coef`` or ``intercept``.
        """
        with np.load(Path(path), allow_pickle=False) as z:
            if "coef" not in z or "intercept" not in z:
                raise ValueError(f"{path}: not a sentiment model (needs coef and intercept)")
            get = lambda k, d, f: f(z[k]) if k in z else d  # noqa: E731
            return cls(coef=z["coef"], intercept=float(z["intercept"]), model_id=get("model_id", "", str),
                       n_train=get("n_train", 0, int), n_test=get("n_test", 0, int),
                       accuracy=get("accuracy", float("nan"), float),
                       balanced_accuracy=get("balanced_accuracy", float("nan"), float),
                       roc_auc=get("roc_auc", float("nan"), float),
                       source=get("source", "", str), C=get("C", float("nan"), float))


@functools.lru_cache(maxsize=1)
def default_model() -> SentimentModel:
    """The shipped model (``assets/sentiment_minilm.npz``), read once per process."""
    return SentimentModel.load(DEFAULT_MODEL_PATH)


def review_sentiment(embeddings: np.ndarray, model: SentimentModel | None = None) -> np.ndarray:
    """Sentiment of each review from its sentence embedding.

    Parameters
    ----------
    embeddings : ndarray, shape (n, 384), float32
        L2-normalised review vectors from :class:`core.embeddings.Encoder` (the model the classifier was
        trained on).
    model : SentimentModel, optional
        Default: :func:`default_model`.

    Returns
    -------
    ndarray, shape (n,), float64 in [-1, 1]
        ``2 p - 1`` with ``p`` the predicted probability that the review is positive (rating >= 4).

    Raises
    ------
    ValueError
        ``embeddings`` does not have the model's dimension.
    """
    return (model or default_model()).score(embeddings)


def text_sentiment(texts: Sequence[str], encoder, model: SentimentModel | None = None,
                   engine=None) -> np.ndarray:
    """Encode review texts and score them; blank texts get NaN.

    Parameters
    ----------
    texts : sequence of str (None / NaN / blank allowed)
    encoder : core.embeddings.Encoder
    model : SentimentModel, optional
        Default: :func:`default_model`.
    engine : sqlalchemy Engine, optional
        When given, vectors are cached in the database (:func:`core.embeddings.embed_cached`).

    Returns
    -------
    ndarray, shape (len(texts),), float64 in [-1, 1] or NaN for blank texts.

    Raises
    ------
    ModelLoadError
        The model was trained on another encoder's vectors (its ``model_id`` differs from the encoder's, e.g.
        with ``CROSS_SELL_MODEL`` set): a :class:`core.errors.CrossSellError`, so pages show it as a message.
    """
    from core.embeddings import embed_cached, strip_html

    model = model or default_model()
    if model.model_id and model.model_id != encoder.model_id:
        raise ModelLoadError(f"the sentiment model reads {model.model_id!r} vectors, the encoder is "
                         f"{encoder.model_id!r}; refit it with fit_sentiment on this encoder's vectors")
    clean = [strip_html(t) for t in texts]
    keep = np.array([bool(t) for t in clean], dtype=bool)
    out = np.full(len(clean), np.nan)
    if keep.any():
        vecs, _ = embed_cached([t for t, k in zip(clean, keep) if k], encoder, engine)
        out[keep] = model.score(vecs)
    return out


C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)


def fit_sentiment(embeddings: np.ndarray, ratings, test_size: float = 0.2, seed: int = 0, C: float | None = None,
                  model_id: str = "", source: str = "") -> SentimentModel:
    """Fit a sentiment model on rated reviews and score it on a held-out part.

    Labels: rating >= 4 positive, <= 2 negative; rating 3 and missing ratings are left out. Classes are
    weighted inversely to their frequency (``class_weight='balanced'``) so the decision point (sentiment 0)
    does not drift toward the majority class, as it would on typical shop reviews (~85% positive). The
    held-out part is a stratified random ``test_size`` share; the returned model is refit on all labelled
    reviews, and its ``accuracy`` / ``roc_auc`` are the held-out figures of the fit without them.

    Parameters
    ----------
    embeddings : ndarray, shape (n, dim), float32
        Review vectors from :class:`core.embeddings.Encoder`.
    ratings : array-like, shape (n,)
        Star ratings 1..5 (NaN allowed, left out).
    test_size : float in (0, 0.5]
    seed : int >= 0
    C : float > 0, optional
        Inverse L2 regularisation strength of :class:`sklearn.linear_model.LogisticRegression`. Default: chosen
        from ``C_GRID`` by 5-fold stratified cross-validation (ROC AUC) on the training part only, never on the
        held-out part.
    model_id : str
        The encoder's ``model_id``, stored with the model.
    source : str
        Where the reviews came from, stored with the model.

    Returns
    -------
    SentimentModel
        ``n_train`` = labelled reviews (all of them, after the refit), ``n_test`` = held-out reviews,
        ``accuracy``, ``balanced_accuracy`` (threshold p = 0.5) and ``roc_auc`` on the held-out part.

    Raises
    ------
    ValueError
        Shapes disagree, ``test_size`` / ``C`` out of range, or ratings outside 1..5.
    EmptyDataError
        Fewer than 5 labelled reviews of either class.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score
    from sklearn.model_selection import train_test_split

    x = np.asarray(embeddings, dtype=np.float32)
    r = pd.to_numeric(pd.Series(np.asarray(ratings).ravel()), errors="coerce").to_numpy(dtype=float)
    if x.ndim != 2 or x.shape[0] != r.shape[0]:
        raise ValueError(f"embeddings must be (n, dim) with n = len(ratings) = {r.shape[0]}, got {x.shape}")
    if not 0 < test_size <= 0.5:
        raise ValueError(f"test_size must be in (0, 0.5], got {test_size}")
    if C is not None and not C > 0:
        raise ValueError(f"C must be > 0, got {C}")
    bad = ~np.isnan(r) & ((r < 1) | (r > 5))
    if bad.any():
        raise ValueError(f"ratings must be in 1..5, got {r[bad][:5].tolist()}")
    lab = np.where(r >= POSITIVE_MIN_RATING, 1, np.where(r <= NEGATIVE_MAX_RATING, 0, -1))
    lab[np.isnan(r)] = -1
    use = lab >= 0
    n_pos, n_neg = int((lab == 1).sum()), int((lab == 0).sum())
    if min(n_pos, n_neg) < MIN_PER_CLASS:
        raise EmptyDataError(f"need at least {MIN_PER_CLASS} positive (rating >= 4) and {MIN_PER_CLASS} negative "
                             f"(rating <= 2) reviews, got {n_pos} and {n_neg}")
    xs, ys = x[use], lab[use]
    x_tr, x_te, y_tr, y_te = train_test_split(xs, ys, test_size=test_size, random_state=seed, stratify=ys)

    def _fit(a, b, c):
        return LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit(a, b)

    if C is None:
        from sklearn.model_selection import StratifiedKFold

        folds = StratifiedKFold(int(min(5, np.bincount(y_tr).min())), shuffle=True, random_state=seed)
        split = list(folds.split(x_tr, y_tr))
        cv_auc = [np.mean([roc_auc_score(y_tr[te], _fit(x_tr[tr], y_tr[tr], c).decision_function(x_tr[te]))
                           for tr, te in split]) for c in C_GRID]
        C = float(C_GRID[int(np.argmax(cv_auc))])

    held = _fit(x_tr, y_tr, C)
    p = held.predict_proba(x_te)[:, 1]
    acc = float(accuracy_score(y_te, (p >= 0.5).astype(int)))
    bacc = float(balanced_accuracy_score(y_te, (p >= 0.5).astype(int)))
    auc = float(roc_auc_score(y_te, p))
    full = _fit(xs, ys, C)
    return SentimentModel(coef=full.coef_[0], intercept=float(full.intercept_[0]), model_id=model_id,
                          n_train=int(len(ys)), n_test=int(len(y_te)), accuracy=acc, balanced_accuracy=bacc,
                          roc_auc=auc, source=source,
                          C=float(C))


def sentiment_by(reviews: pd.DataFrame, sentiment, by: str = S.PRODUCT_ID) -> pd.DataFrame:
    """Mean review sentiment and rating per value of column ``by`` (product_id or customer_id).

    Parameters
    ----------
    reviews : DataFrame
        Column ``by``; optional rating. Rows whose ``by`` is missing are left out.
    sentiment : array, shape (len(reviews),)
        Per-review sentiment in [-1, 1]; NaN = not scored.
    by : str

    Returns
    -------
    DataFrame
        ``by``, reviews (count), scored (reviews with a sentiment), mean_sentiment (in [-1, 1], NaN when none
        scored), positive_share (share of scored reviews with sentiment > 0), mean_rating (NaN without
        ratings); sorted by ``by``. Empty, with these columns, when ``reviews`` lacks the column ``by``.

    Raises
    ------
    ValueError
        ``sentiment`` has the wrong length.
    """
    sentiment = np.asarray(sentiment, dtype=float)
    if sentiment.shape != (len(reviews),):
        raise ValueError(f"sentiment must have shape ({len(reviews)},), got {sentiment.shape}")
    cols = [by, "reviews", "scored", "mean_sentiment", "positive_share", "mean_rating"]
    if by not in reviews:
        return pd.DataFrame(columns=cols)
    key = reviews[by]
    keep = key.notna().to_numpy()
    df = pd.DataFrame({by: key[keep].astype(str).to_numpy(), "s": sentiment[keep],
                       "pos": np.where(np.isnan(sentiment), np.nan, (sentiment > 0).astype(float))[keep],
                       "r": pd.to_numeric(reviews[S.RATING], errors="coerce").to_numpy(dtype=float)[keep]
                       if S.RATING in reviews else np.nan})
    g = df.groupby(by, sort=True)
    out = pd.DataFrame({"reviews": g.size(), "scored": g["s"].count(), "mean_sentiment": g["s"].mean(),
                        "positive_share": g["pos"].mean(), "mean_rating": g["r"].mean()}).reset_index()
    return out[cols]


def product_sentiment(reviews: pd.DataFrame, sentiment: np.ndarray | None = None, encoder=None,
                      model: SentimentModel | None = None, engine=None) -> pd.DataFrame:
    """Mean review sentiment and rating per product.

    Parameters
    ----------
    reviews : DataFrame
        Columns product_id, text; optional rating.
    sentiment : ndarray, shape (len(reviews),), optional
        Per-review sentiment already computed (NaN = not scored); else computed with ``encoder``.
    encoder : core.embeddings.Encoder, optional
        Needed when ``sentiment`` is not given.
    model, engine
        Passed to :func:`text_sentiment`.

    Returns
    -------
    DataFrame
        product_id, reviews (count of reviews), scored (reviews with a sentiment), mean_sentiment
        (in [-1, 1], NaN when none scored), positive_share (share of scored reviews with sentiment > 0),
        mean_rating (NaN without ratings); sorted by product_id (see :func:`sentiment_by`).

    Raises
    ------
    ValueError
        Neither ``sentiment`` nor ``encoder`` given, or ``sentiment`` has the wrong length.
    ModelLoadError
        The sentiment model does not match the encoder (see :func:`text_sentiment`).
    """
    if sentiment is None:
        if encoder is None:
            raise ValueError("give either sentiment or an encoder to compute it")
        sentiment = text_sentiment(reviews[S.TEXT].tolist(), encoder, model, engine)
    return sentiment_by(reviews, sentiment, by=S.PRODUCT_ID)
