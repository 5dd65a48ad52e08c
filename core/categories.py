"""Categories for a catalog that has none, inferred from product text.

Two situations:

* **No labels at all** (the UCI Online Retail invoices): :func:`infer_categories` clusters the
  sentence embeddings of the product titles with k-means on the unit vectors, chooses the number of
  clusters ``k`` by the best mean silhouette (cosine) unless the user sets it, and names each cluster
  by its most distinctive words with class-based TF-IDF (:func:`class_tfidf`). Names are editable
  (:meth:`CategoryInference.rename`).
* **Part of the catalog labelled**: :func:`label_from_partial` trains a logistic regression on the
  embeddings of the labelled rows, reports its accuracy and macro-F1 on a stratified held-out part of
  them, and labels the rest with the predicted probability as confidence.

Pure functions over arrays; nothing here reads files, the database or the model (embed with
:func:`core.embeddings.embed_cached` first). For clustering, embed the titles without their colour,
size and pack words (:func:`strip_variant_words`): with the raw Online Retail titles k-means made a
cluster of pink things (earrings, purses, lamp shades); names are made from the full titles.
``scripts/show_clusters.py`` runs the whole chain on the Online Retail catalog.

References
----------
.. [1] Grootendorst, M. (2022). BERTopic: Neural topic modeling with a class-based TF-IDF procedure.
   arXiv:2203.05794.
.. [2] Rousseeuw, P. J. (1987). Silhouettes: a graphical aid to the interpretation and validation of
   cluster analysis. Journal of Computational and Applied Mathematics 20, 53-65.
.. [3] Dhillon, I. S. & Modha, D. S. (2001). Concept decompositions for large sparse text data using
   clustering. Machine Learning 42, 143-175 (spherical k-means).
"""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

Progress = Callable[[float, str], None]

#: Token pattern of the names: runs of 3 or more letters (no digits, no underscore), so that
#: "S/6", "45CM" and "12" never name a category.
TOKEN_PATTERN = r"(?u)\b[^\W\d_]{3,}\b"
_WORD = re.compile(r"[^\W\d_]{3,}")
_PIECE = re.compile(r"[^\W_]+|[^\w\s]|_")   # a run of letters/digits, or one punctuation mark

#: Words that describe a variant, not a kind of product: colours, sizes, pack counts, generic
#: style words. Removed from the names (on top of scikit-learn's English stop words), never from
#: the text the model embeds. Chosen by reading the names of the UCI Online Retail clusters, where
#: "pink / blue / set" named clusters of bags, cushions and boxes alike.
DEFAULT_NAME_STOP_WORDS = frozenset({
    # colours and finishes
    "red", "pink", "blue", "green", "white", "black", "ivory", "cream", "yellow", "orange", "purple",
    "gold", "silver", "grey", "gray", "brown", "turquoise", "lilac", "beige", "aqua", "teal", "navy",
    "rose", "peach", "mint", "lime", "magenta", "violet", "amber", "copper", "bronze", "clear",
    "multicolour", "multicolor", "colour", "colours", "color", "colors", "coloured", "colored",
    "pastel", "bright", "dark", "light", "assorted", "asst", "assort",
    # sizes
    "small", "large", "medium", "mini", "big", "jumbo", "giant", "tiny", "size", "sizes", "long",
    "short", "tall", "wide", "round", "square",
    # counts and packs
    "set", "sets", "pack", "packs", "piece", "pieces", "pcs", "pair", "pairs", "one", "two", "three",
    "four", "five", "six", "seven", "eight", "nine", "ten", "twelve", "dozen",
    # generic
    "design", "designs", "new", "style", "type", "assorted", "various", "mixed",
})


@dataclass(frozen=True)
class CategorySettings:
    """How :func:`infer_categories` clusters and names.

    Parameters
    ----------
    sample_size : int, default 5000
        The silhouette that chooses ``k`` is computed on at most this many points (a seeded random
        sample; all points when there are fewer). Silhouette costs ``O(sample_size**2)``.
    n_init : int, default 3
        k-means restarts (k-means++ seeding) of the final clustering; the lowest inertia is kept.
    search_n_init : int, default 3
        Restarts per fit while choosing ``k`` (one fit per ``k`` in ``k_range``: 33 fits for the
        default range, about 3 minutes for 3,900 products on 2 CPU cores; 1 restart halves that but
        a single k-means++ start can land in a poor optimum and misjudge a ``k``: on 24 hand-made
        products in 3 obvious groups, k = 3 then scored below k = 6 for one seed).
    max_iter : int, default 300
        k-means iterations per restart.
    minibatch_above : int, default 20000
        With more points than this, the final clustering uses MiniBatchKMeans (batches of 4,096).
    n_words : int, default 3
        Words (or phrases) per cluster name, joined by ``" / "``.
    ngram_max : int, default 2
        Longest phrase considered for a name (1: single words; 2: also two-word phrases such as
        "cake stand"; at most 3).
    stop_words : frozenset of str, default :data:`DEFAULT_NAME_STOP_WORDS`
        Lower-case words never used in a name, on top of scikit-learn's English stop words.
    merge_plurals : bool, default True
        Count "candles" as "candle" when both occur (:func:`singular_map`).
    min_phrase_share : float, default 0.2
        A phrase names a cluster only when it holds at least this share of the occurrences of its
        rarer word, in ``[0, 1]`` (:func:`class_tfidf`).
    absorb : float, default 0.8
        In ``(0, 1]``; a phrase replaces a word of the name that occurs inside it at least this share
        of the time in the cluster (:func:`name_clusters`).
    mixed_below : float, default 0.3
        In ``[0, 1]``; a cluster whose name words occur in fewer of its texts than this share is
        named ``"mixed: ..."`` (0 never does).

    Raises
    ------
    TypeError
        A field has the wrong type.
    ValueError
        A field is out of range.

    Examples
    --------
    >>> CategorySettings(n_words=2, stop_words=frozenset()).n_words
    2
    """

    sample_size: int = 5000
    n_init: int = 3
    search_n_init: int = 3
    max_iter: int = 300
    minibatch_above: int = 20000
    n_words: int = 3
    ngram_max: int = 2
    stop_words: frozenset = DEFAULT_NAME_STOP_WORDS
    merge_plurals: bool = True
    min_phrase_share: float = 0.2
    absorb: float = 0.8
    mixed_below: float = 0.3

    def __post_init__(self):
        minimum = {"sample_size": 3, "n_init": 1, "search_n_init": 1, "max_iter": 1, "minibatch_above": 1, "n_words": 1,
                   "ngram_max": 1}
        for name, low in minimum.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
            if value < low:
                raise ValueError(f"{name} must be >= {low}, got {value}")
        if self.ngram_max > 3:
            raise ValueError(f"ngram_max must be <= 3, got {self.ngram_max}")
        words = self.stop_words
        if isinstance(words, str) or not hasattr(words, "__iter__"):
            raise TypeError(f"stop_words must be a set of str, got {type(words).__name__} ({words!r})")
        words = frozenset(words)
        for w in words:
            if not isinstance(w, str):
                raise TypeError(f"stop_words must hold only str, got {type(w).__name__} ({w!r})")
        object.__setattr__(self, "stop_words", frozenset(w.lower() for w in words))
        if not isinstance(self.merge_plurals, (bool, np.bool_)):
            raise TypeError(f"merge_plurals must be a bool, got {type(self.merge_plurals).__name__}")
        for name in ("min_phrase_share", "absorb", "mixed_below"):
            share = getattr(self, name)
            if isinstance(share, bool) or not isinstance(share, (int, float, np.floating)):
                raise TypeError(f"{name} must be a number, got {type(share).__name__} ({share!r})")
            if not 0 <= share <= 1 or (name == "absorb" and share == 0):
                raise ValueError(f"{name} must be in {'(0, 1]' if name == 'absorb' else '[0, 1]'}, got {share}")


@dataclass(frozen=True, eq=False)
class CategoryInference:
    """Inferred categories of ``n`` products.

    Attributes
    ----------
    labels : numpy.ndarray
        ``(n,)`` int, cluster id in ``[0, k)`` per product; ids are ordered by cluster size, largest
        first (ties: the cluster whose first member comes first).
    names : dict of int to str
        Display name per cluster id, e.g. ``"lantern / tealight / holder"``; edit with :meth:`rename`.
    k : int
        Number of clusters.
    criterion : str
        How ``k`` was chosen, in words (criterion, sample size, value, and whether the best ``k`` lies
        on the edge of the range tried).
    silhouette : pandas.DataFrame
        One row per ``k`` tried: columns ``k``, ``silhouette`` (mean silhouette, cosine distance, in
        ``[-1, 1]``, higher is better), ``inertia`` (k-means objective, sum of squared distances to
        the centroids, on the same sample) and ``chosen`` (bool). When the user set ``k``: one row,
        the final clustering (inertia over all products).
    sizes : pandas.Series
        Products per cluster id (int, sums to ``n``), indexed by cluster id.
    top_terms : dict of int to list of (str, float)
        The highest class-based TF-IDF terms per cluster with their weights, best first (up to 10).
    coverage : dict of int to float
        Share in ``[0, 1]`` of each cluster's products whose text has a term of the inferred name
        (:func:`name_clusters`); a low share marks a mixed cluster. Not updated by :meth:`rename`.
    centroids : numpy.ndarray
        ``(k, dim)`` float32 unit vectors: each cluster's normalised mean embedding.
    final_silhouette : float
        Mean silhouette (cosine) of the final clustering on the same sample, in ``[-1, 1]``.
    """

    labels: np.ndarray
    names: dict
    k: int
    criterion: str
    silhouette: pd.DataFrame
    sizes: pd.Series
    top_terms: dict = field(default_factory=dict)
    coverage: dict = field(default_factory=dict)
    centroids: np.ndarray | None = None
    final_silhouette: float = float("nan")

    def rename(self, mapping: Mapping[int, str]) -> "CategoryInference":
        """A copy with some clusters renamed; two clusters given one name read as one category.

        Parameters
        ----------
        mapping : mapping of cluster id to str
            New names (stripped, non-empty); ids not listed keep their name. A name may be a path,
            ``"Home > Candles"``: the catalog's category levels split on ``>``
            (:func:`core.model.category_at_level`).

        Raises
        ------
        TypeError
            ``mapping`` is not a mapping, or a name is not a str.
        ValueError
            An id is not a cluster id, or a name is blank.

        Examples
        --------
        >>> r = CategoryInference(np.array([0, 1]), {0: "mug / cup", 1: "candle"}, 2, "set", pd.DataFrame(),
        ...                       pd.Series([1, 1]))
        >>> r.rename({0: "Mugs"}).names
        {0: 'Mugs', 1: 'candle'}
        """
        if not isinstance(mapping, Mapping):
            raise TypeError(f"mapping must be a mapping of cluster id to name, got {type(mapping).__name__}")
        names = dict(self.names)
        for key, value in mapping.items():
            cid = int(key) if isinstance(key, (int, np.integer)) and not isinstance(key, bool) else None
            if cid not in names:
                raise ValueError(f"mapping: {key!r} is not a cluster id (ids are 0..{self.k - 1})")
            if not isinstance(value, str):
                raise TypeError(f"mapping: the name of cluster {cid} must be a str, got {type(value).__name__}")
            if not value.strip():
                raise ValueError(f"mapping: the name of cluster {cid} must not be blank")
            names[cid] = value.strip()
        return replace(self, names=names)

    def categories(self) -> np.ndarray:
        """``(n,)`` object array: the name of each product's cluster (a catalog's ``category``)."""
        return np.asarray([self.names[int(c)] for c in self.labels], dtype=object)

    def summary(self, texts: Sequence[str] | None = None, embeddings: np.ndarray | None = None,
                n_examples: int = 5) -> pd.DataFrame:
        """One row per cluster: ``cluster, name, size, coverage, top_terms`` and, given ``texts``, ``examples``.

        Examples are the ``n_examples`` texts nearest the cluster centroid (cosine) when
        ``embeddings`` (the ``(n, dim)`` array clustered) is given, else the first ones.
        """
        rows = []
        for cid in range(self.k):
            row = {"cluster": cid, "name": self.names[cid], "size": int(self.sizes.loc[cid]),
                   "coverage": self.coverage.get(cid, float("nan")),
                   "top_terms": ", ".join(t for t, _ in self.top_terms.get(cid, ())[:6])}
            if texts is not None:
                members = np.flatnonzero(self.labels == cid)
                if embeddings is not None and self.centroids is not None:
                    sims = np.asarray(embeddings)[members] @ self.centroids[cid]
                    members = members[np.argsort(-sims, kind="stable")]
                row["examples"] = " | ".join(str(texts[i]) for i in members[:n_examples])
            rows.append(row)
        return pd.DataFrame(rows)


@dataclass(frozen=True, eq=False)
class PartialLabelling:
    """Labels for a partly labelled catalog.

    Attributes
    ----------
    labels : numpy.ndarray
        ``(n,)`` object: the given label where there was one, the predicted one elsewhere.
    predicted : numpy.ndarray
        ``(n,)`` bool: True where the label was predicted.
    confidence : numpy.ndarray
        ``(n,)`` float: the predicted label's probability in ``[0, 1]`` on predicted rows, NaN on
        rows whose label was given.
    accuracy : float
        Held-out accuracy in ``[0, 1]`` (share of held-out labelled rows predicted right).
    macro_f1 : float
        Held-out macro-averaged F1 in ``[0, 1]`` (each class counts equally).
    baseline_accuracy : float
        Held-out accuracy of always answering the most frequent training class (the floor to beat).
    n_train, n_test : int
        Labelled rows used to train the evaluated model and held out to evaluate it.
    classes : tuple of str
        Labels known to the classifier, sorted.
    per_class : pandas.DataFrame
        Held-out ``precision, recall, f1, support`` per class (index: label).
    method : str
        What was done, in words.
    """

    labels: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    accuracy: float
    macro_f1: float
    baseline_accuracy: float
    n_train: int
    n_test: int
    classes: tuple
    per_class: pd.DataFrame
    method: str


# --- validation ----------------------------------------------------------------------------------

def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} ({seed!r})")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return int(seed)


def _check_texts(texts) -> list[str]:
    if isinstance(texts, (str, bytes)) or not hasattr(texts, "__len__"):
        raise TypeError(f"texts must be a sequence of str, got {type(texts).__name__}")
    values = texts.tolist() if hasattr(texts, "tolist") else list(texts)
    for i, t in enumerate(values):
        if not isinstance(t, str):
            raise TypeError(f"texts must hold only str, got {type(t).__name__} ({t!r}) at position {i}")
    return values


def _check_embeddings(embeddings, n: int | None = None, unit: bool = True) -> np.ndarray:
    if not isinstance(embeddings, np.ndarray):
        raise TypeError(f"embeddings must be a numpy array of shape (n, dim), got {type(embeddings).__name__}")
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings must be 2-D (n, dim), got shape {embeddings.shape}")
    if not np.issubdtype(embeddings.dtype, np.number) or np.issubdtype(embeddings.dtype, np.complexfloating):
        raise TypeError(f"embeddings must hold real numbers, got dtype {embeddings.dtype}")
    if n is not None and embeddings.shape[0] != n:
        raise ValueError(f"embeddings has {embeddings.shape[0]} rows but there are {n} texts/labels")
    x = np.asarray(embeddings, dtype=np.float32)
    if not np.isfinite(x).all():
        raise ValueError("embeddings must be finite (no NaN or inf)")
    if unit and len(x):
        norms = np.linalg.norm(x, axis=1)
        if np.abs(norms - 1).max() > 1e-3:
            raise ValueError("embeddings must be L2-normalised rows (norm 1, as Encoder.encode returns); got "
                             f"norms from {norms.min():.4g} to {norms.max():.4g}")
    return x


def _check_k_range(k_range) -> tuple[int, int]:
    if isinstance(k_range, str) or not hasattr(k_range, "__len__") or len(k_range) != 2:
        raise TypeError(f"k_range must be a pair (k_min, k_max), got {k_range!r}")
    lo, hi = k_range
    for v in (lo, hi):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"k_range must hold ints, got {type(v).__name__} ({v!r})")
    if lo < 2:
        raise ValueError(f"k_range must start at >= 2, got {lo}")
    if hi < lo:
        raise ValueError(f"k_range must be (k_min, k_max) with k_min <= k_max, got {tuple(k_range)}")
    return int(lo), int(hi)


def _child_seeds(seed: int, n: int) -> list[int]:
    """``n`` independent 32-bit seeds from ``SeedSequence(seed).spawn(n)`` (for scikit-learn)."""
    return [int(c.generate_state(1)[0]) for c in np.random.SeedSequence(seed).spawn(n)]


# --- class-based TF-IDF ----------------------------------------------------------------------------

def _runs(text: str, stop: frozenset) -> list[list[str]]:
    """Kept words of one text, in runs of adjacent kept words (a stop word, number, short word or
    punctuation mark ends a run: phrases never span one)."""
    runs, cur = [], []
    for tok in _PIECE.findall(text.lower()):
        if _WORD.fullmatch(tok) and tok not in stop:
            cur.append(tok)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    return runs


def strip_variant_words(text: str, stop_words: frozenset = DEFAULT_NAME_STOP_WORDS) -> str:
    """The text without the words that describe a variant rather than a kind of product.

    Drops ``stop_words`` (colours, sizes, pack counts: :data:`DEFAULT_NAME_STOP_WORDS`), numbers and
    words holding digits ("S/6", "45CM", "12"), and one- or two-letter leftovers; keeps the rest in
    order, lower-cased. Embedding these texts instead of the raw titles keeps k-means from grouping
    products by colour ("PINK ... BAG", "PINK ... EARRINGS") instead of by kind.

    Parameters
    ----------
    text : str
    stop_words : frozenset of str, default :data:`DEFAULT_NAME_STOP_WORDS`
        Lower-case words to drop.

    Returns
    -------
    str
        Possibly empty; callers fall back to the original text when it is.

    Examples
    --------
    >>> strip_variant_words("SET/6 PINK  BUTTERFLY T-LIGHTS")
    'butterfly lights'
    >>> strip_variant_words("PACK OF 12 VINTAGE CHRISTMAS TISSUES")
    'of vintage christmas tissues'
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    stop = frozenset(w.lower() for w in stop_words)
    words = [w for w in _PIECE.findall(text.lower()) if w.isalpha() and len(w) >= 2 and w not in stop]
    return " ".join(w for w in words if len(w) > 2 or w in {"of", "to", "in", "on"})


def singular_map(words) -> dict:
    """Plural -> singular for the words whose singular is also among ``words`` (nothing is guessed).

    ``candles -> candle``, ``boxes -> box``, ``doilies -> doily``, ``cases -> case``; ``xmas``,
    ``glass`` and ``christmas`` stay (their would-be singular is not a word of the corpus, or the word
    ends in ``ss``, ``us``, ``is``).

    Examples
    --------
    >>> singular_map({"candle", "candles", "box", "boxes", "doily", "doilies", "glass", "xmas", "cases", "case"})
    {'boxes': 'box', 'candles': 'candle', 'cases': 'case', 'doilies': 'doily'}
    """
    vocab = set(words)
    out = {}
    for w in sorted(vocab):
        if w.endswith("ies") and w[:-3] + "y" in vocab:
            out[w] = w[:-3] + "y"
        elif w.endswith("es") and w[:-2] in vocab and w[:-2].endswith(("s", "x", "z", "ch", "sh")):
            out[w] = w[:-2]
        elif w.endswith("s") and not w.endswith(("ss", "us", "is")) and w[:-1] in vocab:
            out[w] = w[:-1]
    return out


def _term_counts(texts: list[str], stop_words, ngram_max: int, merge_plurals: bool,
                 min_phrase_share: float) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
    """Terms ``(V,)`` sorted, counts per text ``(n, V)`` and in total ``(V,)`` (see :func:`class_tfidf`)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    stop = frozenset(ENGLISH_STOP_WORDS) | frozenset(w.lower() for w in (stop_words or ()))
    runs = [_runs(t, stop) for t in texts]
    if merge_plurals:
        single = singular_map({w for rs in runs for r in rs for w in r})
        runs = [[[single.get(w, w) for w in r] for r in rs] for rs in runs]
    features = [[" ".join(r[i:i + m]) for r in rs for m in range(1, int(ngram_max) + 1)
                 for i in range(len(r) - m + 1)] for rs in runs]
    vec = CountVectorizer(analyzer=lambda feats: feats)   # the features are computed above
    try:
        per_text = vec.fit_transform(features).tocsc()
    except ValueError:  # empty vocabulary: nothing but stop words, digits or short words
        return np.array([], dtype=str), sp.csr_matrix((len(texts), 0)), np.zeros(0)
    terms = vec.get_feature_names_out().astype(str)
    total = np.asarray(per_text.sum(axis=0)).ravel().astype(np.float64)
    n_words = np.array([t.count(" ") + 1 for t in terms])
    keep = n_words == 1
    if ngram_max > 1:
        index = {t: j for j, t in enumerate(terms)}
        for j in np.flatnonzero(n_words > 1):
            share = total[j] / min(total[index[p]] for p in terms[j].split(" "))
            keep[j] = total[j] >= 2 and share >= min_phrase_share
    return terms[keep], per_text[:, np.flatnonzero(keep)].tocsr(), total[keep]


def class_tfidf(texts: Sequence[str], labels, *, stop_words: frozenset | None = DEFAULT_NAME_STOP_WORDS,
                ngram_max: int = 1, merge_plurals: bool = True,
                min_phrase_share: float = 0.0) -> tuple[np.ndarray, np.ndarray, sp.csr_matrix]:
    """Class-based TF-IDF weights of the terms of each class.

    Each class's texts are joined into one document; for term ``t`` and class ``c``

    .. math:: W_{t,c} = tf_{t,c} \\cdot \\log\\left(1 + \\frac{A}{tf_t}\\right)

    where ``tf_{t,c}`` is how often ``t`` occurs in class ``c``, ``tf_t`` how often it occurs in all
    classes together, and ``A`` the mean number of words per class (single words, after stop words).
    A term frequent in one class and rare elsewhere weighs most. Raw counts are used as in [1]_
    (BERTopic's implementation L1-normalises ``tf_{t,c}`` per class first, which leaves the order of
    terms within a class, hence the names, unchanged).

    Terms: lower-cased runs of >= 3 letters (:data:`TOKEN_PATTERN`: no digits), without
    scikit-learn's English stop words and ``stop_words``, counted with a scikit-learn
    ``CountVectorizer``. With ``ngram_max >= 2`` also phrases of adjacent kept words: a phrase never
    spans a dropped word, a number or a punctuation mark, nor two texts ("CARD, RETRO SPOT" gives no
    "card retro"), and is kept only when it occurs at least twice and its words go together: the
    overlap coefficient ``n_phrase / min(n_word)`` over all texts (the share of the rarer word's
    occurrences that are in this phrase) is at least ``min_phrase_share``. On the Online Retail
    titles ``artificial flower`` has 1.0, ``trinket box`` 0.52, ``heart decoration`` 0.20, while
    ``bag vintage`` (from "JUMBO BAG VINTAGE ...") has 0.10 and ``card christmas`` 0.05.

    Parameters
    ----------
    texts : sequence of str
        ``n`` texts.
    labels : array-like
        ``(n,)`` class of each text (any sortable values).
    stop_words : frozenset of str, optional
        Extra lower-case words to drop; default :data:`DEFAULT_NAME_STOP_WORDS`; None for none.
    ngram_max : int, default 1
        Longest phrase, 1 to 3.
    merge_plurals : bool, default True
        Count a plural as its singular when the singular occurs too (:func:`singular_map`).
    min_phrase_share : float, default 0.0
        In ``[0, 1]``; phrases whose overlap coefficient is below it are dropped.

    Returns
    -------
    terms : numpy.ndarray
        ``(V,)`` str, sorted.
    classes : numpy.ndarray
        ``(C,)`` the distinct labels, sorted.
    weights : scipy.sparse.csr_matrix
        ``(C, V)`` float64, ``W[c, t] >= 0`` (0 where the term is absent from the class). ``V`` is 0
        when no text has a usable word.

    Raises
    ------
    TypeError, ValueError
        Bad ``texts``, ``labels`` of another length, or an option out of range.

    References
    ----------
    .. [1] Grootendorst, M. (2022). BERTopic: Neural topic modeling with a class-based TF-IDF
       procedure. arXiv:2203.05794, eq. (1).

    Examples
    --------
    >>> terms, classes, w = class_tfidf(["apple apple pie", "car car wheel apple"], [0, 1], stop_words=None)
    >>> terms.tolist()
    ['apple', 'car', 'pie', 'wheel']
    >>> round(float(w[1, 1]), 4)  # car in class 1: 2 * log(1 + 3.5 / 2)
    2.0232
    """
    texts = _check_texts(texts)
    labels = np.asarray(labels.tolist() if hasattr(labels, "tolist") else list(labels), dtype=object)
    if labels.shape != (len(texts),):
        raise ValueError(f"labels must have one value per text ({len(texts)}), got shape {labels.shape}")
    if isinstance(ngram_max, bool) or not isinstance(ngram_max, (int, np.integer)) or not 1 <= ngram_max <= 3:
        raise ValueError(f"ngram_max must be an int in [1, 3], got {ngram_max!r}")
    if isinstance(min_phrase_share, bool) or not isinstance(min_phrase_share, (int, float, np.floating)) \
            or not 0 <= min_phrase_share <= 1:
        raise ValueError(f"min_phrase_share must be a number in [0, 1], got {min_phrase_share!r}")
    empty = np.array([], dtype=str)
    if not len(labels):
        return empty, np.array([], dtype=object), sp.csr_matrix((0, 0))
    classes, inverse = np.unique(labels, return_inverse=True)
    terms, per_text, total = _term_counts(texts, stop_words, ngram_max, merge_plurals, min_phrase_share)
    if not len(terms):
        return empty, classes, sp.csr_matrix((len(classes), 0))
    n_words = np.array([t.count(" ") + 1 for t in terms])
    # counting per text, then summing per class, is joining each class's texts into one document
    member = sp.csr_matrix((np.ones(len(texts)), (inverse, np.arange(len(texts)))),
                           shape=(len(classes), len(texts)))
    counts = (member @ per_text).astype(np.float64).tocsr()
    mean_words = float(total[n_words == 1].sum()) / len(classes)        # A
    weights = counts.multiply(np.log1p(mean_words / total)[None, :]).tocsr()
    return terms, classes, weights


def _contains(phrase: list[str], part: list[str]) -> bool:
    """Whether ``part`` occurs as consecutive words of ``phrase``."""
    return any(phrase[i:i + len(part)] == part for i in range(len(phrase) - len(part) + 1))


def _name(terms: np.ndarray, row: np.ndarray, counts: np.ndarray, n_words: int,
          absorb: float) -> tuple[list[str], list[tuple[str, float]]]:
    """Name terms and the top 10 terms of one class (weights ``row``, class counts ``counts``)."""
    n_tokens = np.array([t.count(" ") + 1 for t in terms])
    order = np.lexsort((terms, -n_tokens, -row))  # weight descending; ties: longer phrase, then alphabetical
    chosen: list[str] = []
    top: list[tuple[str, float]] = []
    count = dict(zip(terms, counts))
    for j in order:
        if row[j] <= 0:
            break
        term = str(terms[j])
        if len(top) < 10:
            top.append((term, float(row[j])))
        words = term.split()
        # a phrase takes the place of chosen words and phrases that occur (almost) only inside it:
        # "hot" then "hot water" gives "hot water", but "candle" stays before "dinner candle"
        inside = [c for c in chosen if c != term and _contains(words, c.split()) and counts[j] >= absorb * count[c]]
        if inside:
            at = chosen.index(inside[0])
            chosen = [c for c in chosen[:at] if c not in inside] + [term] + \
                     [c for c in chosen[at:] if c not in inside]
        elif len(chosen) < n_words and not set(words) <= {w for c in chosen for w in c.split()}:
            chosen.append(term)
        if len(chosen) >= n_words and len(top) >= 10:
            break
    return chosen, top


def name_clusters(texts: Sequence[str], labels, settings: CategorySettings | None = None
                  ) -> tuple[dict, dict, dict]:
    """Name each cluster by its highest class-based TF-IDF terms (:func:`class_tfidf`).

    The name joins the ``settings.n_words`` best terms with ``" / "``, best first (weight ties: the
    longer phrase, then alphabetical), with two rules against repeating a word:

    * a term whose words are all in the name already is skipped ("cake", "fairy cake", then "fairy"
      adds nothing), so a broad word is followed by its kinds: "clock / wall clock / alarm clock";
    * a phrase replaces a word (or shorter phrase) of the name when, in this cluster, at least
      ``settings.absorb`` of that word's occurrences are inside the phrase: "hot" then "hot water"
      gives "hot water", not "hot / hot water".

    A cluster whose name words occur in fewer than ``settings.mixed_below`` of its texts gets the
    prefix ``"mixed: "``: the name describes a minority of it.

    Parameters
    ----------
    texts : sequence of str
        ``n`` texts.
    labels : array-like
        ``(n,)`` int cluster ids.
    settings : CategorySettings, optional
        ``n_words``, ``stop_words``, ``ngram_max``, ``merge_plurals``, ``min_phrase_share``,
        ``absorb``, ``mixed_below``.

    Returns
    -------
    names : dict of int to str
        e.g. ``"lantern / tealight / holder"``; ``"cluster 4"`` when a cluster has no usable word.
        Clusters that would get the same name get ``" (2)"``, ``" (3)"``, ... in id order.
    top_terms : dict of int to list of (str, float)
        Up to 10 best terms with their weights, best first.
    coverage : dict of int to float
        Share of the cluster's texts, in ``[0, 1]``, that contain at least one term of its name.
    """
    texts = _check_texts(texts)
    if settings is None:
        settings = CategorySettings()
    elif not isinstance(settings, CategorySettings):
        raise TypeError(f"settings must be a CategorySettings, got {type(settings).__name__}")
    labels = np.asarray(labels.tolist() if hasattr(labels, "tolist") else list(labels))
    options = dict(stop_words=settings.stop_words, ngram_max=settings.ngram_max,
                   merge_plurals=settings.merge_plurals, min_phrase_share=settings.min_phrase_share)
    terms, classes, weights = class_tfidf(texts, labels, **options)
    names, top_terms, coverage = {}, {}, {}
    if len(terms):
        _, per_text, _ = _term_counts(texts, **options)
        dense = weights.toarray()
        position = {t: j for j, t in enumerate(terms)}
    for i, c in enumerate(classes):
        cid = int(c)
        members = np.flatnonzero(labels == c)
        chosen, top = [], []
        if len(terms):
            counts = np.asarray(per_text[members].sum(axis=0)).ravel()
            chosen, top = _name(terms, dense[i], counts, settings.n_words, settings.absorb)
        top_terms[cid] = top
        if chosen:
            cols = [position[t] for t in chosen]
            coverage[cid] = float((per_text[members][:, cols].sum(axis=1) > 0).mean())
            prefix = "mixed: " if coverage[cid] < settings.mixed_below else ""
            names[cid] = prefix + " / ".join(chosen)
        else:
            coverage[cid] = 0.0
            names[cid] = f"cluster {cid}"
    seen: dict[str, int] = {}
    for c in sorted(names):
        base = names[c]
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            names[c] = f"{base} ({seen[base]})"
    return names, top_terms, coverage


# --- clustering ------------------------------------------------------------------------------------

def _kmeans(x: np.ndarray, k: int, seed: int, n_init: int, settings: CategorySettings):
    from sklearn.cluster import KMeans, MiniBatchKMeans

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "fewer distinct points than clusters" is checked by the caller
        if len(x) > settings.minibatch_above:
            model = MiniBatchKMeans(n_clusters=k, n_init=n_init, max_iter=settings.max_iter,
                                    batch_size=4096, random_state=seed)
        else:
            model = KMeans(n_clusters=k, n_init=n_init, max_iter=settings.max_iter, random_state=seed)
        model.fit(x)
    return model


def _by_size(raw: np.ndarray, k: int) -> np.ndarray:
    """Renumber cluster ids by size, largest first (ties: first member first)."""
    sizes = np.bincount(raw, minlength=k)
    first = np.full(k, len(raw))
    np.minimum.at(first, raw, np.arange(len(raw)))
    order = np.lexsort((first, -sizes))          # old ids in new order
    new_id = np.empty(k, dtype=np.int64)
    new_id[order] = np.arange(k)
    return new_id[raw]


def infer_categories(texts: Sequence[str], embeddings: np.ndarray, k: int | None = None,
                     k_range: tuple[int, int] = (8, 40), seed: int = 0, *,
                     settings: CategorySettings | None = None,
                     progress: Progress | None = None) -> CategoryInference:
    """Infer categories by clustering product embeddings and naming the clusters.

    1. **Cluster.** k-means (Euclidean) on the L2-normalised embeddings. On unit vectors
       ``||a - b||^2 = 2 (1 - cos(a, b))``, so the assignment step is the cosine one of spherical
       k-means [3]_; the centroids are left un-normalised (plain scikit-learn k-means), hence
       "spherical-ish". MiniBatchKMeans above ``settings.minibatch_above`` points.
    2. **Choose k** (when ``k`` is None): for every ``k`` in ``k_range`` (inclusive) fit k-means
       (``settings.search_n_init`` restarts) on a seeded random sample of at most
       ``settings.sample_size`` points and compute the mean silhouette [2]_ on that sample with
       cosine distance: for point ``i`` with mean distance ``a(i)`` to its own cluster and ``b(i)``
       to the nearest other cluster, ``s(i) = (b(i) - a(i)) / max(a(i), b(i))`` in ``[-1, 1]``. The
       ``k`` with the highest mean ``s`` wins (ties: the smaller ``k``); all products are then
       clustered with that ``k`` (``settings.n_init`` restarts). ``k_range`` is clipped to ``n - 1``
       (silhouette needs ``2 <= k <= n - 1``). Text embeddings give low silhouettes (0.06-0.13 on
       the Online Retail titles) that mostly grow with ``k``, so the best ``k`` often lies at the top
       of the range (``criterion`` says so): treat it as a starting point, not a truth.
    3. **Name.** Class-based TF-IDF [1]_ over ``texts`` (:func:`name_clusters`): the top
       ``settings.n_words`` terms of each cluster, e.g. ``"lantern / tealight / holder"``.

    Parameters
    ----------
    texts : sequence of str
        ``n`` product texts used for the names (titles: the words a merchandiser reads).
    embeddings : numpy.ndarray
        ``(n, dim)`` float, rows of unit L2 norm (:meth:`core.embeddings.Encoder.encode`).
    k : int, optional
        Number of clusters, ``2 <= k <= n``; None chooses it by silhouette over ``k_range``.
    k_range : (int, int), default (8, 40)
        Smallest and largest ``k`` tried, inclusive, ``2 <= k_min <= k_max``.
    seed : int, default 0
        Seeds the sample and every k-means fit (child seeds of ``numpy.random.SeedSequence(seed)``).
    settings : CategorySettings, optional
    progress : callable(fraction in [0, 1], message), optional

    Returns
    -------
    CategoryInference

    Raises
    ------
    TypeError
        Wrong argument types.
    ValueError
        Shapes disagree, rows are not unit vectors, ``k`` or ``k_range`` is impossible for ``n``
        points, or there are fewer distinct embeddings than clusters.

    References
    ----------
    .. [1] Grootendorst, M. (2022). BERTopic: Neural topic modeling with a class-based TF-IDF
       procedure. arXiv:2203.05794.
    .. [2] Rousseeuw, P. J. (1987). Silhouettes: a graphical aid to the interpretation and validation
       of cluster analysis. J. Comput. Appl. Math. 20, 53-65.
    .. [3] Dhillon, I. S. & Modha, D. S. (2001). Concept decompositions for large sparse text data
       using clustering. Machine Learning 42, 143-175.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.repeat(np.eye(3), 4, axis=0) + 0.01 * rng.normal(size=(12, 3))
    >>> x /= np.linalg.norm(x, axis=1, keepdims=True)
    >>> texts = ["candle jar"] * 4 + ["coffee mug"] * 4 + ["garden trowel"] * 4
    >>> r = infer_categories(texts, x, k_range=(2, 5))
    >>> r.k, sorted(r.names.values())
    (3, ['candle jar', 'coffee mug', 'garden trowel'])
    """
    from sklearn.metrics import silhouette_score

    texts = _check_texts(texts)
    x = _check_embeddings(embeddings, len(texts))
    seed = _check_seed(seed)
    if settings is None:
        settings = CategorySettings()
    elif not isinstance(settings, CategorySettings):
        raise TypeError(f"settings must be a CategorySettings, got {type(settings).__name__}")
    n = len(x)
    if n < 3:
        raise ValueError(f"texts must hold at least 3 products to cluster, got {n}")
    n_distinct = len(np.unique(x, axis=0))

    def report(frac: float, msg: str) -> None:
        if progress:
            progress(min(max(frac, 0.0), 1.0), msg)

    if k is not None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"k must be an int or None, got {type(k).__name__} ({k!r})")
        if not 2 <= k <= n:
            raise ValueError(f"k must be in [2, {n}] (the number of products), got {k}")
        if k > n_distinct:
            raise ValueError(f"k = {k} but there are only {n_distinct} distinct embeddings")
        ks = [int(k)]
    else:
        lo, hi = _check_k_range(k_range)
        top = min(hi, n - 1, n_distinct)
        if lo > top:
            raise ValueError(f"k_range {(lo, hi)} is impossible with {n} products ({n_distinct} distinct): "
                             f"k must be <= {min(n - 1, n_distinct)}")
        ks = list(range(lo, top + 1))

    seeds = _child_seeds(seed, 2 + len(ks))
    m = min(n, settings.sample_size)
    sample = np.sort(np.random.default_rng(seeds[0]).choice(n, size=m, replace=False)) if m < n else np.arange(n)
    xs = x[sample]

    def silhouette(lab: np.ndarray) -> float:
        used = len(np.unique(lab))
        return float(silhouette_score(xs, lab, metric="cosine")) if 2 <= used <= len(xs) - 1 else float("nan")

    steps = (len(ks) if k is None else 0) + 1
    if k is None:
        rows = []
        for i, kk in enumerate(ks):
            report(i / steps, f"trying k = {kk} ({i + 1} of {len(ks)})")
            model = _kmeans(xs, kk, seeds[2 + i], settings.search_n_init, settings)
            rows.append({"k": kk, "silhouette": silhouette(model.labels_), "inertia": float(model.inertia_)})
        table = pd.DataFrame(rows)
        scores = table["silhouette"].to_numpy()
        if np.isnan(scores).all():
            raise ValueError("no k in k_range gave a silhouette (too few distinct embeddings)")
        best = int(table["k"].iloc[int(np.nanargmax(scores))])  # first maximum: the smaller k on ties
    else:
        best = int(k)

    report((steps - 1) / steps, f"clustering all {n:,} products with k = {best}")
    final = _kmeans(x, best, seeds[1], settings.n_init, settings)
    raw = np.asarray(final.labels_, dtype=np.int64)
    if len(np.unique(raw)) < best:
        raise ValueError(f"k-means found only {len(np.unique(raw))} non-empty clusters for k = {best}")
    labels = _by_size(raw, best)
    final_sil = silhouette(labels[sample])
    if k is not None:
        table = pd.DataFrame([{"k": best, "silhouette": final_sil, "inertia": float(final.inertia_)}])
    table["chosen"] = table["k"] == best

    centroids = np.zeros((best, x.shape[1]), dtype=np.float32)
    np.add.at(centroids, labels, x)
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    names, top_terms, coverage = name_clusters(texts, labels, settings)
    sizes = pd.Series(np.bincount(labels, minlength=best), index=pd.RangeIndex(best, name="cluster"), name="size")

    where = f"all {n:,} products" if m == n else f"a random sample of {m:,} of {n:,} products (seeded)"
    if k is not None:
        criterion = f"k = {best} set by the user; mean silhouette (cosine distance) on {where}: {final_sil:.3f}"
    else:
        sil_best = float(table.loc[table["chosen"], "silhouette"].iloc[0])
        criterion = (f"k = {best}: the highest mean silhouette (cosine distance, Rousseeuw 1987) of k-means "
                     f"fits for k = {ks[0]}..{ks[-1]} on {where}: {sil_best:.3f}")
        if best == ks[-1] and len(ks) > 1:
            criterion += " (the largest k tried: a wider k_range may score higher)"
        elif best == ks[0] and len(ks) > 1:
            criterion += " (the smallest k tried: a lower k_min may score higher)"
        criterion += (f"; the final clustering of all {n:,} products, best of {settings.n_init} restarts, "
                      f"has {final_sil:.3f}")
    report(1.0, f"{best} categories")
    return CategoryInference(labels=labels, names=names, k=best, criterion=criterion, silhouette=table,
                             sizes=sizes, top_terms=top_terms, coverage=coverage, centroids=centroids,
                             final_silhouette=final_sil)


# --- partial labels --------------------------------------------------------------------------------

@dataclass(frozen=True)
class LabellingSettings:
    """The classifier of :func:`label_from_partial`.

    Parameters
    ----------
    c : float, default 1.0
        Inverse L2 regularisation strength of the logistic regression, > 0.
    max_iter : int, default 2000
        lbfgs iterations, >= 1.

    Raises
    ------
    TypeError, ValueError
        A field has the wrong type or is out of range.
    """

    c: float = 1.0
    max_iter: int = 2000

    def __post_init__(self):
        if isinstance(self.c, bool) or not isinstance(self.c, (int, float, np.number)):
            raise TypeError(f"c must be a number, got {type(self.c).__name__} ({self.c!r})")
        if not (math.isfinite(self.c) and self.c > 0):
            raise ValueError(f"c must be a finite number > 0, got {self.c}")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, (int, np.integer)):
            raise TypeError(f"max_iter must be an int, got {type(self.max_iter).__name__} ({self.max_iter!r})")
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter}")


def _is_missing(v) -> bool:
    if v is None or v is pd.NA:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()


def label_from_partial(embeddings: np.ndarray, labels: Sequence[str | None], seed: int = 0,
                       test_size: float = 0.2, *, settings: LabellingSettings | None = None) -> PartialLabelling:
    """Label the unlabelled rows of a partly labelled catalog with a classifier on the embeddings.

    A multinomial logistic regression (lbfgs, L2, ``class_weight="balanced"``: each class weighs
    ``n / (C * n_c)`` so that small categories are not ignored) is trained on the labelled rows.

    * **Evaluation.** The labelled rows are split, stratified by label, into a training part and a
      held-out part of ``ceil(test_size * n_labelled)`` rows; a model trained on the training part is
      scored on the held-out part: accuracy, macro-F1 and the majority-class baseline.
    * **Labelling.** A model trained on all labelled rows labels the unlabelled ones; confidence is its
      predicted probability of the label it gives.

    Parameters
    ----------
    embeddings : numpy.ndarray
        ``(n, dim)`` float (unit rows from :class:`core.embeddings.Encoder`; not required).
    labels : sequence of str or None
        ``n`` labels; None, NaN or a blank string marks an unlabelled row. Labels are stripped.
    seed : int, default 0
        Seeds the split (child seed of ``numpy.random.SeedSequence(seed)``).
    test_size : float, default 0.2
        Share of the labelled rows held out, in ``(0, 1)``.
    settings : LabellingSettings, optional

    Returns
    -------
    PartialLabelling

    Raises
    ------
    TypeError
        Wrong argument types (a label that is neither str nor missing included).
    ValueError
        Shapes disagree; fewer than 2 classes have >= 2 labelled rows; the held-out or training part
        cannot hold one row of each class (too few labelled rows for ``test_size``).

    Notes
    -----
    Classes with a single labelled row cannot be stratified: they are kept for training (both models)
    but never held out; ``method`` says how many there were.

    Examples
    --------
    >>> x = np.array([[1, 0], [0.9, 0.1], [0.95, 0.05], [0.8, 0.2], [0, 1], [0.1, 0.9], [0.05, 0.95],
    ...               [0.2, 0.8], [0.85, 0.15], [0.15, 0.85]])
    >>> r = label_from_partial(x, ["a", "a", "a", "a", "b", "b", "b", "b", None, None], test_size=0.25)
    >>> r.labels[-2:].tolist(), r.accuracy
    (['a', 'b'], 1.0)
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
    from sklearn.model_selection import train_test_split

    if isinstance(labels, (str, bytes)) or not hasattr(labels, "__len__"):
        raise TypeError(f"labels must be a sequence of str or None, got {type(labels).__name__}")
    values = labels.tolist() if hasattr(labels, "tolist") else list(labels)
    x = _check_embeddings(embeddings, len(values), unit=False)
    seed = _check_seed(seed)
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float, np.floating)):
        raise TypeError(f"test_size must be a float in (0, 1), got {type(test_size).__name__}")
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    if settings is None:
        settings = LabellingSettings()
    elif not isinstance(settings, LabellingSettings):
        raise TypeError(f"settings must be a LabellingSettings, got {type(settings).__name__}")
    clean = []
    for i, v in enumerate(values):
        if _is_missing(v):
            clean.append(None)
        elif isinstance(v, str):
            clean.append(v.strip())
        else:
            raise TypeError(f"labels must hold str or None, got {type(v).__name__} ({v!r}) at position {i}")
    known = np.array([v is not None for v in clean])
    y = np.array([v for v in clean if v is not None], dtype=object)
    counts = pd.Series(y, dtype=object).value_counts()
    if len(counts) < 2:
        raise ValueError(f"labels must name at least 2 classes to learn from, got {len(counts)} "
                         f"({', '.join(map(repr, counts.index)) or 'no labelled rows'})")
    strat_classes = counts.index[counts >= 2]
    if len(strat_classes) < 2:
        raise ValueError("too few labelled rows: at least 2 classes need >= 2 labelled rows each to hold one "
                         f"out; counts are {counts.to_dict()}")
    idx_known = np.flatnonzero(known)
    single = np.isin(y, counts.index[counts < 2].to_numpy())
    strat_idx, strat_y = idx_known[~single], y[~single]
    n_test = math.ceil(test_size * len(strat_idx))
    n_classes = len(strat_classes)
    if n_test < n_classes or len(strat_idx) - n_test < n_classes:
        raise ValueError(f"too few labelled rows: {len(strat_idx)} labelled rows of {n_classes} classes cannot "
                         f"be split into a held-out part ({n_test} rows at test_size={test_size}) and a "
                         f"training part that each hold one row per class; label more rows or change test_size")
    split_seed = _child_seeds(seed, 1)[0]
    train_idx, test_idx = train_test_split(strat_idx, test_size=n_test, stratify=strat_y.astype(str),
                                           random_state=split_seed)
    train_idx = np.sort(np.concatenate([train_idx, idx_known[single]]))
    test_idx = np.sort(test_idx)
    y_all = np.array(clean, dtype=object)

    def fit(rows):
        model = LogisticRegression(C=float(settings.c), max_iter=int(settings.max_iter), class_weight="balanced")
        return model.fit(x[rows], y_all[rows].astype(str))

    evaluated = fit(train_idx)
    y_true = y_all[test_idx].astype(str)
    y_pred = evaluated.predict(x[test_idx])
    accuracy = float(accuracy_score(y_true, y_pred))
    macro_f1 = float(f1_score(y_true, y_pred, average="macro", zero_division=0))
    majority = pd.Series(y_all[train_idx].astype(str)).value_counts().index[0]
    baseline = float(np.mean(y_true == majority))
    cls_eval = np.unique(y_true)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=cls_eval, zero_division=0)
    per_class = pd.DataFrame({"precision": p, "recall": r, "f1": f, "support": s},
                             index=pd.Index(cls_eval, name="label"))

    out_labels = y_all.copy()
    predicted = ~known
    confidence = np.full(len(values), np.nan)
    final = fit(idx_known)
    if predicted.any():
        proba = final.predict_proba(x[predicted])
        best = proba.argmax(axis=1)
        out_labels[predicted] = final.classes_[best]
        confidence[predicted] = proba[np.arange(len(best)), best]
    method = (f"logistic regression on the embeddings (class_weight='balanced', C={settings.c}); held out "
              f"{len(test_idx):,} of {int(known.sum()):,} labelled rows (stratified, seed {seed}), trained on "
              f"{len(train_idx):,}; accuracy {accuracy:.3f} (majority class {baseline:.3f}), macro-F1 {macro_f1:.3f}; "
              f"{int(predicted.sum()):,} unlabelled rows labelled by a model trained on all labelled rows")
    if single.any():
        method += f"; {int(single.sum())} classes with a single labelled row were used for training only"
    return PartialLabelling(labels=out_labels, predicted=predicted, confidence=confidence, accuracy=accuracy,
                            macro_f1=macro_f1, baseline_accuracy=baseline, n_train=len(train_idx),
                            n_test=len(test_idx), classes=tuple(str(c) for c in final.classes_),
                            per_class=per_class, method=method)
