"""core.categories: clustering, class-based TF-IDF names, partial labels.

The embedding tests use the real packaged all-MiniLM-L6-v2 (session fixture ``encoder``, offline);
the hand-made lists are small enough to check by eye, the partial-label test runs on a stratified
subset of the Instacart fixture (titles only, so the department cannot leak into the text).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from core import schema as S
from core.categories import (
    DEFAULT_NAME_STOP_WORDS,
    CategoryInference,
    CategorySettings,
    LabellingSettings,
    class_tfidf,
    infer_categories,
    label_from_partial,
    name_clusters,
    singular_map,
    strip_variant_words,
)
from core.embeddings import embed_cached
from core.model import category_at_level

CANDLES = ["vanilla scented candle", "lavender soy candle in a glass jar", "beeswax pillar candle",
           "unscented tealight candles", "cinnamon candle tin", "rose scented jar candle",
           "tapered dinner candles", "citronella outdoor candle"]
MUGS = ["ceramic coffee mug", "stoneware tea mug", "enamel camping mug", "travel mug with lid",
        "large latte mug", "porcelain mug with handle", "novelty coffee mug", "espresso mug"]
GARDEN = ["garden trowel", "pruning shears for the garden", "steel garden rake", "garden hoe",
          "hand fork for weeding the garden", "garden spade", "leaf rake for the lawn", "garden secateurs"]
PRODUCTS = CANDLES + MUGS + GARDEN
TRUTH = np.repeat([0, 1, 2], 8)


@pytest.fixture(scope="module")
def product_vectors(encoder):
    return encoder.encode(PRODUCTS)


def _unit(rows) -> np.ndarray:
    x = np.asarray(rows, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# --- clustering with the real model ----------------------------------------------------------------

def test_k3_recovers_candles_mugs_and_garden_tools(product_vectors):
    r = infer_categories(PRODUCTS, product_vectors, k=3)
    assert r.k == 3 and r.labels.shape == (24,) and r.labels.dtype.kind == "i"
    assert adjusted_rand_score(TRUTH, r.labels) == 1.0
    names = {g: r.names[int(r.labels[8 * g])] for g in range(3)}
    assert "candle" in names[0].split(" / ")[0]
    assert "mug" in names[1].split(" / ")[0]
    assert "garden" in names[2].split(" / ")[0]
    assert r.sizes.tolist() == [8, 8, 8] and r.sizes.sum() == 24
    assert r.silhouette["k"].tolist() == [3] and r.silhouette["chosen"].tolist() == [True]
    assert 0 < r.final_silhouette <= 1 and "set by the user" in r.criterion
    np.testing.assert_allclose(np.linalg.norm(r.centroids, axis=1), 1.0, atol=1e-5)


def test_automatic_k_picks_3_by_silhouette(product_vectors):
    r = infer_categories(PRODUCTS, product_vectors, k_range=(2, 6), seed=0)
    assert r.k == 3
    assert adjusted_rand_score(TRUTH, r.labels) == 1.0
    table = r.silhouette
    assert table["k"].tolist() == [2, 3, 4, 5, 6]
    assert table.loc[table["chosen"], "k"].tolist() == [3]
    assert table["silhouette"].idxmax() == table.index[table["chosen"]][0]
    assert table["silhouette"].between(-1, 1).all()
    assert "highest mean silhouette" in r.criterion and "k = 2..6" in r.criterion
    assert "all 24 products" in r.criterion


def test_same_seed_same_clusters_and_inputs_untouched(product_vectors):
    before = product_vectors.copy()
    a = infer_categories(PRODUCTS, product_vectors, k_range=(2, 5), seed=7)
    b = infer_categories(PRODUCTS, product_vectors, k_range=(2, 5), seed=7)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.names == b.names
    np.testing.assert_array_equal(product_vectors, before)


def test_summary_lists_examples_nearest_the_centroid(product_vectors):
    r = infer_categories(PRODUCTS, product_vectors, k=3)
    s = r.summary(PRODUCTS, product_vectors, n_examples=2)
    assert s.columns.tolist() == ["cluster", "name", "size", "coverage", "top_terms", "examples"]
    assert s["size"].tolist() == [8, 8, 8]
    for row in s.itertuples():
        members = {PRODUCTS[i] for i in np.flatnonzero(r.labels == row.cluster)}
        examples = row.examples.split(" | ")
        assert len(examples) == 2 and set(examples) <= members
    assert (s["coverage"] > 0.6).all()          # every name word group shows up in most members


def test_sample_used_for_the_silhouette_when_there_are_many_points():
    rng = np.random.default_rng(0)
    centres = _unit(rng.normal(size=(4, 16)))
    x = _unit(np.repeat(centres, 50, axis=0) + 0.05 * rng.normal(size=(200, 16)))
    texts = [w for w in ("alpha", "beta", "gamma", "delta") for _ in range(50)]
    r = infer_categories(texts, x, k_range=(2, 6), settings=CategorySettings(sample_size=60))
    assert r.k == 4 and adjusted_rand_score(np.repeat(range(4), 50), r.labels) == 1.0
    assert "a random sample of 60 of 200 products" in r.criterion
    assert sorted(r.names.values()) == ["alpha", "beta", "delta", "gamma"]


def test_clusters_numbered_by_size_largest_first():
    x = _unit(np.repeat(np.eye(3), [2, 5, 3], axis=0) + 0.01)
    r = infer_categories(["a"] * 10, x, k=3)
    assert r.sizes.tolist() == [5, 3, 2]
    assert r.labels.tolist() == [2, 2, 0, 0, 0, 0, 0, 1, 1, 1]
    assert set(r.names.values()) == {"cluster 0", "cluster 1", "cluster 2"}   # no usable word


def test_k_range_edge_is_reported():
    x = _unit(np.repeat(np.eye(6), 4, axis=0) + 0.01 * np.random.default_rng(1).normal(size=(24, 6)))
    r = infer_categories(["x"] * 24, x, k_range=(2, 4))
    assert r.k == 4 and "largest k tried" in r.criterion


# --- class-based TF-IDF by hand --------------------------------------------------------------------

def test_class_tfidf_weights_by_hand():
    # class 0: "apple apple pie" (3 words), class 1: "car car wheel apple" (4 words); A = 3.5
    # tf_t over classes: apple 3, car 2, pie 1, wheel 1
    texts = ["apple pie", "apple", "car car wheel", "apple"]
    terms, classes, w = class_tfidf(texts, ["fruit", "fruit", "motor", "motor"], stop_words=None)
    assert terms.tolist() == ["apple", "car", "pie", "wheel"]
    assert classes.tolist() == ["fruit", "motor"]
    expected = np.array([
        [2 * math.log(1 + 3.5 / 3), 0.0, 1 * math.log(1 + 3.5 / 1), 0.0],
        [1 * math.log(1 + 3.5 / 3), 2 * math.log(1 + 3.5 / 2), 0.0, 1 * math.log(1 + 3.5 / 1)],
    ])
    np.testing.assert_allclose(w.toarray(), expected, rtol=1e-12)
    # 1.5464 > 1.5041: apple outranks pie in class 0 although pie occurs nowhere else
    names, top, coverage = name_clusters(texts, [0, 0, 1, 1], CategorySettings(n_words=2, stop_words=frozenset()))
    assert names == {0: "apple / pie", 1: "car / wheel"}
    assert [t for t, _ in top[1]] == ["car", "wheel", "apple"]
    assert coverage == {0: 1.0, 1: 0.5}       # "apple" in class 1 holds neither car nor wheel


def test_class_tfidf_drops_stop_words_digits_and_short_tokens():
    terms, _, _ = class_tfidf(["SET/6 PINK T-LIGHTS 45CM", "the red mug of 12"], [0, 1])
    assert terms.tolist() == ["lights", "mug"]      # set, pink, red: variant words; the, of: English
    terms, _, _ = class_tfidf(["SET/6 PINK T-LIGHTS"], [0], stop_words=None)
    assert terms.tolist() == ["lights", "pink", "set"]


def test_phrases_never_span_a_punctuation_mark_a_number_or_two_texts():
    texts = ["birthday card, retro spot", "card retro", "cake stand 3 tier", "cake stand"]
    terms, _, _ = class_tfidf(texts, [0, 0, 1, 1], stop_words=None, ngram_max=2)
    assert "cake stand" in terms
    assert "stand tier" not in terms and "spot card" not in terms
    assert "card retro" not in terms            # only once: phrases must occur twice
    # overlap coefficient: "jumbo bag" is 2 of jumbo's 2 occurrences, "bag vintage" 1... not kept twice
    texts = ["jumbo bag vintage", "jumbo bag", "bag charm", "bag vintage", "bag", "bag", "bag", "vintage",
             "vintage", "vintage"]
    terms, _, _ = class_tfidf(texts, [0] * 10, stop_words=None, ngram_max=2, min_phrase_share=0.3)
    # jumbo bag: 2 / min(2, 8) = 1.0 kept; bag vintage: 2 / min(8, 5) = 0.4 kept; bag charm once
    assert [t for t in terms if " " in t] == ["bag vintage", "jumbo bag"]
    terms, _, _ = class_tfidf(texts, [0] * 10, stop_words=None, ngram_max=2, min_phrase_share=0.5)
    assert [t for t in terms if " " in t] == ["jumbo bag"]


def test_name_puts_the_broad_word_first_then_its_kinds():
    texts = ["wall clock"] * 3 + ["alarm clock"] * 2 + ["clock"] + ["table lamp"] * 3
    names, _, _ = name_clusters(texts, [0] * 6 + [1] * 3, CategorySettings(stop_words=frozenset()))
    assert names[0] == "clock / wall clock / alarm clock"


def test_a_phrase_replaces_a_word_that_occurs_almost_only_inside_it():
    # class 0: hot 5, water 4, "hot water" 4; class 1: mug 3; A = (9 + 3) / 2 = 6
    # W(hot) = 5 log(1 + 6/5) = 3.94 > W(hot water) = W(water) = 4 log(1 + 6/4) = 3.67
    texts = ["hot water"] * 4 + ["hot"] + ["mug"] * 3
    labels = [0] * 5 + [1] * 3
    plain = CategorySettings(stop_words=frozenset())
    names, top, _ = name_clusters(texts, labels, plain)
    assert [t for t, _ in top[0]] == ["hot", "hot water", "water"]
    assert names[0] == "hot water"                   # 4 of hot's 5 occurrences are in "hot water" (>= 0.8)
    names, _, _ = name_clusters(texts, labels, CategorySettings(stop_words=frozenset(), absorb=0.9))
    assert names[0] == "hot / hot water"


def test_a_cluster_its_name_barely_covers_is_called_mixed():
    texts = ["mug", "mug", "apple", "pear", "plum", "kiwi", "fig", "date", "cup", "cup"]
    labels = [0] * 8 + [1] * 2
    names, _, coverage = name_clusters(texts, labels, CategorySettings(n_words=1, stop_words=frozenset()))
    assert names == {0: "mixed: mug", 1: "cup"} and coverage == {0: 0.25, 1: 1.0}
    names, _, _ = name_clusters(texts, labels, CategorySettings(n_words=1, stop_words=frozenset(), mixed_below=0))
    assert names[0] == "mug"


def test_plurals_counted_as_their_singular():
    assert singular_map({"candle", "candles", "boxes", "box", "xmas", "glass", "glasses", "cases", "case",
                         "doilies", "doily", "mugs"}) == {
        "boxes": "box", "candles": "candle", "cases": "case", "doilies": "doily", "glasses": "glass"}
    terms, _, w = class_tfidf(["candles", "candle", "mugs"], [0, 0, 1], stop_words=None)
    assert terms.tolist() == ["candle", "mugs"] and w.toarray()[0, 0] == pytest.approx(2 * math.log(1 + 1.5 / 2))
    terms, _, _ = class_tfidf(["candles", "candle"], [0, 0], stop_words=None, merge_plurals=False)
    assert terms.tolist() == ["candle", "candles"]


def test_duplicate_and_empty_names():
    texts = ["mug", "mug", "cup", "cup", "12", "S/6"]
    names, _, coverage = name_clusters(texts, [0, 0, 1, 1, 2, 2], CategorySettings(n_words=1))
    assert names == {0: "mug", 1: "cup", 2: "cluster 2"} and coverage[2] == 0.0
    names, _, _ = name_clusters(["mug", "mug"], [0, 1], CategorySettings(n_words=1))
    assert names == {0: "mug", 1: "mug (2)"}


def test_strip_variant_words():
    assert strip_variant_words("SET/6 PINK  BUTTERFLY T-LIGHTS") == "butterfly lights"
    assert strip_variant_words("JUMBO BAG RED RETROSPOT") == "bag retrospot"
    assert strip_variant_words("12 PINK 45CM") == ""
    assert strip_variant_words("Red Mug", stop_words=frozenset()) == "red mug"
    assert {"pink", "small", "set"} <= DEFAULT_NAME_STOP_WORDS


# --- renaming ----------------------------------------------------------------------------------------

def _result() -> CategoryInference:
    return CategoryInference(labels=np.array([0, 1, 1, 2]), names={0: "candle", 1: "mug / cup", 2: "rake"}, k=3,
                             criterion="k = 3 set by the user", silhouette=pd.DataFrame(),
                             sizes=pd.Series([1, 2, 1]))


def test_rename_returns_a_new_result_and_merges_equal_names():
    r = _result()
    s = r.rename({1: "  Mugs ", 2: "Candles", 0: "Candles"})
    assert s.names == {0: "Candles", 1: "Mugs", 2: "Candles"}
    assert r.names == {0: "candle", 1: "mug / cup", 2: "rake"}         # the original is unchanged
    assert s.categories().tolist() == ["Candles", "Mugs", "Mugs", "Candles"]
    np.testing.assert_array_equal(s.labels, r.labels)


@pytest.mark.parametrize("mapping, error, match", [
    ({3: "x"}, ValueError, r"mapping: 3 is not a cluster id \(ids are 0..2\)"),
    ({"1": "x"}, ValueError, r"'1' is not a cluster id"),
    ({True: "x"}, ValueError, r"True is not a cluster id"),
    ({1: "  "}, ValueError, r"name of cluster 1 must not be blank"),
    ({1: 5}, TypeError, r"name of cluster 1 must be a str"),
    ([(1, "x")], TypeError, r"mapping must be a mapping"),
])
def test_rename_rejects(mapping, error, match):
    with pytest.raises(error, match=match):
        _result().rename(mapping)


# --- argument validation ----------------------------------------------------------------------------

X6 = _unit(np.repeat(np.eye(3), 2, axis=0) + 0.01)
T6 = ["a b", "a c", "d e", "d f", "g h", "g i"]


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(texts="candle"), TypeError, r"texts must be a sequence of str"),
    (dict(texts=["a"] * 5 + [None]), TypeError, r"texts must hold only str, got NoneType .* at position 5"),
    (dict(embeddings=X6.tolist()), TypeError, r"embeddings must be a numpy array"),
    (dict(embeddings=X6[:5]), ValueError, r"embeddings has 5 rows but there are 6"),
    (dict(embeddings=X6[0]), ValueError, r"embeddings must be 2-D"),
    (dict(embeddings=X6 * 2), ValueError, r"embeddings must be L2-normalised rows"),
    (dict(embeddings=np.where(np.eye(6, 3) > 0, np.nan, X6)), ValueError, r"embeddings must be finite"),
    (dict(k=1), ValueError, r"k must be in \[2, 6\]"),
    (dict(k=7), ValueError, r"k must be in \[2, 6\]"),
    (dict(k=3.0), TypeError, r"k must be an int or None"),
    (dict(k=True), TypeError, r"k must be an int or None"),
    (dict(k_range=(1, 4)), ValueError, r"k_range must start at >= 2"),
    (dict(k_range=(4, 3)), ValueError, r"k_min <= k_max"),
    (dict(k_range=5), TypeError, r"k_range must be a pair"),
    (dict(k_range=(2.0, 4)), TypeError, r"k_range must hold ints"),
    (dict(k_range=(6, 9)), ValueError, r"k_range \(6, 9\) is impossible with 6 products"),
    (dict(seed=-1), ValueError, r"seed must be >= 0"),
    (dict(seed=1.5), TypeError, r"seed must be an int"),
    (dict(settings={"n_words": 2}), TypeError, r"settings must be a CategorySettings"),
])
def test_infer_categories_rejects(kwargs, error, match):
    args = dict(texts=T6, embeddings=X6, k=None, k_range=(2, 4), seed=0)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        infer_categories(**args)


def test_fewer_distinct_embeddings_than_clusters():
    x = _unit(np.repeat(np.eye(2), 3, axis=0))
    with pytest.raises(ValueError, match=r"k = 3 but there are only 2 distinct embeddings"):
        infer_categories(["a"] * 6, x, k=3)
    with pytest.raises(ValueError, match=r"texts must hold at least 3 products to cluster, got 2"):
        infer_categories(["a", "b"], x[:2], k=2)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(sample_size=2), ValueError, r"sample_size must be >= 3, got 2"),
    (dict(n_init=0), ValueError, r"n_init must be >= 1"),
    (dict(search_n_init=1.0), TypeError, r"search_n_init must be an int"),
    (dict(n_words=True), TypeError, r"n_words must be an int"),
    (dict(ngram_max=4), ValueError, r"ngram_max must be <= 3"),
    (dict(stop_words="pink"), TypeError, r"stop_words must be a set of str"),
    (dict(stop_words={"pink", 3}), TypeError, r"stop_words must hold only str"),
    (dict(merge_plurals="yes"), TypeError, r"merge_plurals must be a bool"),
    (dict(min_phrase_share=1.5), ValueError, r"min_phrase_share must be in \[0, 1\], got 1.5"),
    (dict(min_phrase_share="0.2"), TypeError, r"min_phrase_share must be a number"),
    (dict(absorb=0), ValueError, r"absorb must be in \(0, 1\], got 0"),
    (dict(mixed_below=-0.1), ValueError, r"mixed_below must be in \[0, 1\], got -0.1"),
])
def test_category_settings_rejects(kwargs, error, match):
    with pytest.raises(error, match=match):
        CategorySettings(**kwargs)


def test_category_settings_lower_cases_stop_words_and_is_frozen():
    s = CategorySettings(stop_words=["Pink", "SMALL"])
    assert s.stop_words == frozenset({"pink", "small"})
    with pytest.raises(AttributeError):
        s.n_words = 2


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(texts="abc", labels=[0]), TypeError, r"texts must be a sequence of str"),
    (dict(texts=["a", "b"], labels=[0]), ValueError, r"labels must have one value per text \(2\)"),
    (dict(texts=["a"], labels=[0], ngram_max=0), ValueError, r"ngram_max must be an int in \[1, 3\]"),
    (dict(texts=["a"], labels=[0], min_phrase_share=-0.1), ValueError, r"min_phrase_share must be a number"),
])
def test_class_tfidf_rejects(kwargs, error, match):
    with pytest.raises(error, match=match):
        class_tfidf(**kwargs)


# --- partial labels ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def instacart_departments(encoder, instacart_dir, embedding_cache_engine):
    """Titles, departments and title embeddings of 40 products per department (those with >= 26)."""
    catalog = pd.read_csv(instacart_dir / "catalog.csv", dtype=str)
    catalog["department"] = category_at_level(catalog[S.CATEGORY], 1)
    big = catalog["department"].map(catalog["department"].value_counts()) >= 26
    subset = catalog[big].sample(frac=1.0, random_state=0).groupby("department").head(40).reset_index(drop=True)
    x, _ = embed_cached(subset[S.TITLE].tolist(), encoder, embedding_cache_engine)
    return subset, x


def test_label_from_partial_on_instacart_departments(instacart_departments):
    subset, x = instacart_departments
    truth = subset["department"].to_numpy(dtype=object)
    rng = np.random.default_rng(0)
    hidden = rng.random(len(truth)) < 0.3
    given = [None if h else d for h, d in zip(hidden, truth)]
    r = label_from_partial(x, given, seed=0)

    assert len(set(truth)) == 17 and r.classes == tuple(sorted(set(truth)))
    assert r.accuracy > 0.6 and r.macro_f1 > 0.5
    assert r.accuracy > r.baseline_accuracy + 0.4            # far above always answering one department
    assert r.n_test == math.ceil(0.2 * (~hidden).sum()) and r.n_train + r.n_test == (~hidden).sum()
    assert r.per_class["support"].sum() == r.n_test
    np.testing.assert_array_equal(r.predicted, hidden)
    assert all(isinstance(v, str) and v in r.classes for v in r.labels[hidden])
    assert (r.labels[~hidden] == truth[~hidden]).all()        # given labels kept as they are
    assert ((r.confidence[hidden] > 0) & (r.confidence[hidden] <= 1)).all()
    assert np.isnan(r.confidence[~hidden]).all()
    # the rows whose label was hidden are labelled about as well as the held-out part predicts
    assert (r.labels[hidden] == truth[hidden]).mean() > 0.6
    assert "held out" in r.method and "class_weight='balanced'" in r.method


def test_label_from_partial_small_example_and_missing_markers():
    x = np.array([[1, 0], [0.9, 0.1], [0.95, 0.05], [0.8, 0.2], [0, 1], [0.1, 0.9], [0.05, 0.95],
                  [0.2, 0.8], [0.85, 0.15], [0.15, 0.85], [0.5, 0.52]])
    labels = ["a", " a ", "a", "a", "b", "b", "b", "b", None, float("nan"), "  "]
    r = label_from_partial(x, labels, test_size=0.25)
    assert r.predicted.tolist() == [False] * 8 + [True] * 3
    assert r.labels[:2].tolist() == ["a", "a"] and r.labels[8:10].tolist() == ["a", "b"]
    assert r.accuracy == 1.0 and r.macro_f1 == 1.0 and r.n_test == 2 and r.n_train == 6
    assert r.confidence[10] < r.confidence[8]               # the point between the classes is less sure


def test_label_from_partial_keeps_singleton_classes_for_training_only():
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal([3, 0, 0], 0.1, (10, 3)), rng.normal([0, 3, 0], 0.1, (10, 3)), [[0, 0, 3]]])
    r = label_from_partial(x, ["a"] * 10 + ["b"] * 10 + ["c"], test_size=0.2)
    assert r.classes == ("a", "b", "c") and r.n_test == 4 and r.n_train == 17
    assert "1 classes with a single labelled row" in r.method


@pytest.mark.parametrize("labels, kwargs, error, match", [
    (["a"] * 6, {}, ValueError, r"at least 2 classes to learn from, got 1"),
    ([None] * 6, {}, ValueError, r"at least 2 classes to learn from, got 0 \(no labelled rows\)"),
    (["a", "b", "c", "d", None, None], {}, ValueError, r"too few labelled rows: at least 2 classes need >= 2"),
    (["a", "a", "b", "b", None, None], {}, ValueError, r"too few labelled rows: 4 labelled rows of 2 classes"),
    (["a", "a", "a", "b", "b", 3], {}, TypeError, r"labels must hold str or None, got int \(3\) at position 5"),
    ("aabbcc", {}, TypeError, r"labels must be a sequence"),
    (["a"] * 3 + ["b"] * 3, dict(test_size=0), ValueError, r"test_size must be in \(0, 1\), got 0"),
    (["a"] * 3 + ["b"] * 3, dict(test_size=1.0), ValueError, r"test_size must be in \(0, 1\)"),
    (["a"] * 3 + ["b"] * 3, dict(test_size="0.2"), TypeError, r"test_size must be a float"),
    (["a"] * 3 + ["b"] * 3, dict(seed=-2), ValueError, r"seed must be >= 0"),
    (["a"] * 3 + ["b"] * 3, dict(settings=LabellingSettings), TypeError, r"settings must be a LabellingSettings"),
    (["a"] * 5, {}, ValueError, r"embeddings has 6 rows but there are 5"),
])
def test_label_from_partial_rejects(labels, kwargs, error, match):
    x = np.eye(6)
    with pytest.raises(error, match=match):
        label_from_partial(x, labels, **kwargs)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(c=0), ValueError, r"c must be a finite number > 0, got 0"),
    (dict(c=float("inf")), ValueError, r"c must be a finite number > 0"),
    (dict(c="1"), TypeError, r"c must be a number"),
    (dict(max_iter=0), ValueError, r"max_iter must be >= 1"),
    (dict(max_iter=10.0), TypeError, r"max_iter must be an int"),
])
def test_labelling_settings_rejects(kwargs, error, match):
    with pytest.raises(error, match=match):
        LabellingSettings(**kwargs)


# --- the user's choices, stored per workspace -------------------------------------------------------

def test_category_choices_round_trip_and_leave_with_the_workspace(tmp_path):
    from core.store import make_engine
    from core.store.category_choices import CategoryChoices, load_category_choices, save_category_choices
    from core.store.repo import delete_workspace, ensure_workspace

    eng = make_engine(f"sqlite:///{tmp_path}/c.sqlite")
    assert load_category_choices(eng, "nowhere") == CategoryChoices()
    ensure_workspace(eng, "b")
    save_category_choices(eng, "a", CategoryChoices(k=12, names={"mug / cup": "Mugs", "candle": "Home > Candles"}))
    save_category_choices(eng, "b", CategoryChoices(label_uncategorised=True))
    got = load_category_choices(eng, "a")
    assert got.k == 12 and got.names == {"mug / cup": "Mugs", "candle": "Home > Candles"}
    assert got.names_tuple() == (("candle", "Home > Candles"), ("mug / cup", "Mugs"))
    assert load_category_choices(eng, "b") == CategoryChoices(label_uncategorised=True)
    save_category_choices(eng, "a", CategoryChoices(k=None))             # replaces, never appends
    assert load_category_choices(eng, "a") == CategoryChoices()
    save_category_choices(eng, "a", CategoryChoices(k=3))
    delete_workspace(eng, "a")
    ensure_workspace(eng, "a")
    assert load_category_choices(eng, "a") == CategoryChoices()         # gone with its workspace
    eng.dispose()


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"k": 1}, ValueError, "k must be >= 2 or None, got 1"),
    ({"k": 2.0}, TypeError, "k must be an int or None, got float"),
    ({"names": {"a": " "}}, ValueError, "the new name of 'a' must not be blank"),
    ({"names": {"a": 3}}, TypeError, "names must map str to str"),
])
def test_category_choices_validation(kwargs, exc, match):
    from core.store.category_choices import CategoryChoices

    with pytest.raises(exc, match=match):
        CategoryChoices(**kwargs)
