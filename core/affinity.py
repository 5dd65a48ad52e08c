"""Pair statistics, the hybrid affinity score, and the affinity graph.

Definitions (STYLE.md Terms). For items A, B over N baskets, n_A baskets with A, n_AB with both::

    support(A,B)      = n_AB / N                                       in [0, 1]     (Agrawal et al. 1993)
    confidence(A->B)  = n_AB / n_A                                     in [0, 1]     (Agrawal et al. 1993)
    lift(A,B)         = N * n_AB / (n_A * n_B)                         in [0, N]     (Brin et al. 1997, "interest")
    leverage(A,B)     = support(A,B) - support(A) * support(B)         in [-0.25, 0.25] (Piatetsky-Shapiro 1991)
    conviction(A->B)  = (1 - support(B)) / (1 - confidence(A->B))      in [0, inf]   (Brin et al. 1997)
    jaccard(A,B)      = n_AB / (n_A + n_B - n_AB)                      in [0, 1]     (Tan, Kumar & Srivastava 2004)
    npmi(A,B)         = log(lift) / -log(support(A,B))                 in [-1, 1]    (Bouma 2009)

**Infinite conviction.** When confidence(A->B) = 1 (every basket with A also holds B) conviction is
+inf by definition. It is never stored as a number: the ``conviction`` column holds NaN there and the
boolean ``conviction_infinite`` says why, so no ``inf`` reaches a frame, a CSV, JSON or a chart axis
(display it as "∞ (B always follows A)"; filter on the flag, not on the value). The case B in every
basket (0/0) is flagged the same way, since confidence is then 1 too.

**Significance.** One-sided Fisher exact test of positive association on the 2 x 2 table
``[[n_AB, n_A - n_AB], [n_B - n_AB, N - n_A - n_B + n_AB]]``: under independence with the margins
fixed, n_AB ~ Hypergeometric(N, n_A, n_B), so (Fisher 1922; Agresti 2002, sec. 3.5.1)::

    p_value = P(X >= n_AB) = scipy.stats.hypergeom.sf(n_AB - 1, N, n_A, n_B)

which is exactly ``scipy.stats.fisher_exact(table, alternative="greater").pvalue``, computed for all
pairs at once (one vectorised call instead of one fisher_exact per pair). The test is symmetric in A
and B, so both directions of a pair share one p-value. ``q_value`` is the Benjamini–Hochberg (1995)
adjusted p-value (``scipy.stats.false_discovery_control(p, method="bh")``) over the family of tested
pairs: the unordered pairs with n_AB >= ``min_pair_count`` (pairs below the minimum are neither
tested nor reported). Keep pairs with ``q_value <= alpha`` to control the false discovery rate at alpha.

**Very large baskets** (a wholesale order, a store's inventory count exported as one "basket") add
one pair for every two of their items and can swamp real co-purchases. With ``max_basket_size`` set,
baskets holding more items are left out of *every* count (N, n_A, n_AB), so the statistics stay
consistent; :func:`basket_size_report` says how many were left out.

Hybrid affinity (our score, in [0, 1])::

    w(A,B)         = n_AB / (n_AB + evidence_k)                       trust in the co-purchase evidence
    affinity(A->B) = w * max(npmi, 0) + (1 - w) * text_weight * max(similarity, 0)

Why: co-purchase statistics are exact where many baskets hold both items, but for a pair seen in
two or three baskets lift is noise (a once-seen pair of once-seen items has lift = N). ``w`` shrinks
towards the language model's view exactly where the evidence is thin, and lets the evidence speak
once it is rich. NPMI rather than lift keeps the co-purchase part in [0, 1] and does not
reward rarity the way lift does. Text similarity alone finds substitutes (another yogurt), so it is
only a fallback weight (``text_weight`` < 1), never the whole score.

References
----------
Agrawal, Imieliński & Swami (1993), Mining association rules between sets of items in large databases, SIGMOD.
Brin, Motwani, Ullman & Tsur (1997), Dynamic itemset counting and implication rules for market basket data, SIGMOD.
Piatetsky-Shapiro (1991), Discovery, analysis, and presentation of strong rules, in Knowledge Discovery in Databases.
Tan, Kumar & Srivastava (2004), Selecting the right objective measure for association analysis, Inf. Systems 29.
Bouma (2009), Normalized (pointwise) mutual information in collocation extraction, GSCL.
Fisher (1922), On the interpretation of chi-square from contingency tables, J. Royal Stat. Soc. 85.
Agresti (2002), Categorical Data Analysis, 2nd ed., Wiley.
Benjamini & Hochberg (1995), Controlling the false discovery rate, J. Royal Stat. Soc. B 57.
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import special, stats

from core.baskets import Baskets

_PRODUCT_BLOCKS = 4          # row blocks of the co-occurrence product (see _upper_pairs)
_BLOCK_MIN_NNZ = 200_000     # below this many basket lines one block is faster

#: Columns of :func:`pair_stats`, in order (``category_pair_stats`` has the two category labels first).
PAIR_STAT_COLUMNS = ("antecedent", "consequent", "pair_count", "antecedent_count", "consequent_count", "support",
                     "confidence", "lift", "leverage", "conviction", "conviction_infinite", "jaccard", "npmi",
                     "p_value", "q_value")


def _check_int(name: str, value, minimum: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        kind = "an int or None" if allow_none else "an int"
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}{' or None' if allow_none else ''}, got {value}")


@dataclass(frozen=True)
class AffinitySettings:
    """Settings of the affinity stage.

    Parameters
    ----------
    min_pair_count : int, default 2
        Pairs held by fewer baskets are dropped (>= 1).
    evidence_k : float, default 5.0
        Pair count at which co-purchase evidence and text similarity weigh equally (> 0).
    text_weight : float, default 0.5
        Weight of text similarity when evidence is absent, in [0, 1].
    max_basket_size : int or None, default None
        Baskets with more items are left out of the pair statistics (>= 2; None: no cap). How many
        were left out: :func:`basket_size_report`.
    """

    min_pair_count: int = 2
    evidence_k: float = 5.0
    text_weight: float = 0.5
    max_basket_size: int | None = None

    def __post_init__(self):
        _check_int("min_pair_count", self.min_pair_count, 1)
        for name in ("evidence_k", "text_weight"):
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.integer, np.floating)) or isinstance(v, bool):
                raise TypeError(f"{name} must be a number, got {type(v).__name__}")
        if not self.evidence_k > 0:
            raise ValueError(f"evidence_k must be > 0, got {self.evidence_k}")
        if not 0 <= self.text_weight <= 1:
            raise ValueError(f"text_weight must be in [0, 1], got {self.text_weight}")
        _check_int("max_basket_size", self.max_basket_size, 2, allow_none=True)


@dataclass(frozen=True)
class BasketSizeReport:
    """What the basket-size cap did (see :func:`basket_size_report`).

    Attributes
    ----------
    n_baskets : int
        Baskets in the matrix (rows).
    n_counted : int
        Baskets the statistics count (N): those with at most ``max_basket_size`` items.
    n_dropped : int
        Baskets with more than ``max_basket_size`` items, left out of every count.
    lines_dropped : int
        Distinct (basket, item) entries in the dropped baskets.
    largest_basket : int
        Items in the largest basket of the matrix (before the cap; 0 when there is none).
    max_basket_size : int or None
        The cap (None: no cap).
    """

    n_baskets: int
    n_counted: int
    n_dropped: int
    lines_dropped: int
    largest_basket: int
    max_basket_size: int | None


def _binary_structure(basket_items) -> sp.csr_matrix:
    """CSR with the nonzero pattern of ``basket_items`` (canonical: sorted, no duplicates, no explicit zeros).

    Its ``data`` is not meant to be read. ``basket_items`` is never modified (a copy is made only when
    the input has duplicates or stored zeros).
    """
    if not (sp.issparse(basket_items) or isinstance(basket_items, np.ndarray)):
        raise TypeError(f"basket_items must be a scipy sparse matrix, got {type(basket_items).__name__}")
    x = sp.csr_matrix(basket_items)
    if x.ndim != 2:
        raise ValueError(f"basket_items must be 2-d (n_baskets, n_items), got shape {x.shape}")
    if not x.has_canonical_format or (x.data == 0).any():
        x = x.copy()
        x.sum_duplicates()   # a product repeated in a basket counts once
        x.eliminate_zeros()
    return x


def basket_size_report(basket_items, max_basket_size: int | None = None) -> BasketSizeReport:
    """How many baskets a ``max_basket_size`` cap leaves out of the pair statistics.

    Parameters
    ----------
    basket_items : sparse ``(n_baskets, n_items)`` matrix; any nonzero counts as "holds the item".
    max_basket_size : int or None
        Baskets with more distinct items are left out (>= 2); None: no cap.

    Returns
    -------
    BasketSizeReport

    Raises
    ------
    TypeError, ValueError
        ``max_basket_size`` is not an int >= 2 or None.

    Examples
    --------
    Baskets of 2, 3 and 5 items, cap 3: one basket (5 lines) is left out.

    >>> x = sp.csr_matrix(np.array([[1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]))
    >>> r = basket_size_report(x, 3)
    >>> (r.n_counted, r.n_dropped, r.lines_dropped, r.largest_basket)
    (2, 1, 5, 5)
    """
    _check_int("max_basket_size", max_basket_size, 2, allow_none=True)
    sizes = np.diff(_binary_structure(basket_items).indptr)
    over = sizes > max_basket_size if max_basket_size is not None else np.zeros(len(sizes), dtype=bool)
    return BasketSizeReport(n_baskets=len(sizes), n_counted=int(len(sizes) - over.sum()), n_dropped=int(over.sum()),
                            lines_dropped=int(sizes[over].sum()), largest_basket=int(sizes.max()) if len(sizes) else 0,
                            max_basket_size=max_basket_size)


def _upper_pairs(x: sp.csr_matrix, min_pair_count: int, max_basket_size: int | None):
    """The co-occurrence counts the statistics need, from sparse products XᵀX (upper triangle).

    Returns ``(n, counts, rows, cols, n_ab)``: baskets counted, ``(n_items,)`` int64 n_A over them, and
    the pairs ``rows < cols`` with ``n_ab >= min_pair_count`` (int64 arrays, rows ascending).

    Every step is exact: baskets over the cap leave; items in fewer than ``min_pair_count`` baskets
    cannot be in such a pair and leave before the product, as do baskets with fewer than two remaining
    items; the product is CSR @ CSR with int32 counts, in row blocks; the upper triangle is taken on
    the CSR arrays of the entries that pass the minimum (never a COO copy of the symmetric product).
    """
    n_items = x.shape[1]
    indptr, indices = x.indptr.astype(np.int64), x.indices
    sizes = np.diff(indptr)
    if max_basket_size is not None and len(sizes) and sizes.max() > max_basket_size:
        keep_row = sizes <= max_basket_size
        indices = indices[np.repeat(keep_row, sizes)]
        sizes = sizes[keep_row]
    n = len(sizes)
    counts = np.bincount(indices, minlength=n_items).astype(np.int64)
    item_keep = counts >= min_pair_count
    kept_ids = np.flatnonzero(item_keep)
    entry_keep = item_keep[indices]
    new_col = np.cumsum(item_keep) - 1
    cum = np.concatenate([[0], np.cumsum(entry_keep)])
    indptr = cum[np.concatenate([[0], np.cumsum(sizes)])]
    indices = new_col[indices[entry_keep]]
    sizes = np.diff(indptr)
    pairs_possible = sizes >= 2
    if not pairs_possible.all():
        indices = indices[np.repeat(pairs_possible, sizes)]
        sizes = sizes[pairs_possible]
    empty = np.zeros(0, dtype=np.int64)
    if not len(indices):
        return n, counts, empty, empty, empty
    count_dtype = np.int32 if n < np.iinfo(np.int32).max else np.int64
    idx_dtype = np.int32 if len(indices) < np.iinfo(np.int32).max and len(kept_ids) < np.iinfo(np.int32).max \
        else np.int64
    y = sp.csr_matrix((np.ones(len(indices), dtype=count_dtype), indices.astype(idx_dtype),
                       np.concatenate([[0], np.cumsum(sizes)]).astype(idx_dtype)), shape=(len(sizes), len(kept_ids)))
    yt = y.T.tocsr()                                    # (k, baskets): rows of the product
    k = yt.shape[0]
    # Row blocks [i0, i1) times columns [i0, k) only: the product's lower triangle is never computed
    # outside the diagonal blocks (4 blocks: ~20% less work than the full XᵀX), and only one block's
    # counts are in memory at a time. Bounds split the rows' nonzeros evenly.
    n_blocks = _PRODUCT_BLOCKS if y.nnz >= _BLOCK_MIN_NNZ else 1
    cum = np.cumsum(np.diff(yt.indptr))
    bounds = np.unique(np.concatenate([[0], np.searchsorted(cum, cum[-1] * np.arange(1, n_blocks) / n_blocks), [k]]))
    rows, cols, nabs = [], [], []
    for i0, i1 in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        co = yt[i0:i1] @ yt[i0:].T.tocsr()              # (i1 - i0, k - i0) counts
        pos = np.flatnonzero(co.data >= min_pair_count)
        r = np.searchsorted(co.indptr, pos, side="right") - 1
        c = co.indices[pos] + i0
        r += i0
        up = c > r
        rows.append(kept_ids[r[up]])
        cols.append(kept_ids[c[up]])
        nabs.append(co.data[pos[up]].astype(np.int64))
        del co
    return n, counts, np.concatenate(rows), np.concatenate(cols), np.concatenate(nabs)


def pair_counts(basket_items: sp.spmatrix, min_pair_count: int = 1) -> sp.coo_matrix:
    """Co-occurrence counts n_AB for A < B from XᵀX (upper triangle, no diagonal).

    Parameters
    ----------
    basket_items : sparse ``(n_baskets, n_items)`` matrix; any nonzero counts as "holds the item".
    min_pair_count : int
        Keep pairs with n_AB >= this (>= 1).

    Returns
    -------
    scipy.sparse.coo_matrix ``(n_items, n_items)`` int64, entries only for i < j.
    """
    _check_int("min_pair_count", min_pair_count, 1)
    x = _binary_structure(basket_items)
    _, _, r, c, nab = _upper_pairs(x, min_pair_count, None)
    return sp.coo_matrix((nab, (r, c)), shape=(x.shape[1], x.shape[1]))


def _log_factorials(v: np.ndarray) -> np.ndarray:
    """``log(v!)`` for integer-valued float64 ``v >= 0``, as ``np.longdouble``.

    Stirling's series with Loader's (2000) correction terms, the large part ``(v + 1/2) log v - v`` in
    extended precision: differences of log-factorials near 10^6 then keep ~13 digits, where float64
    ``lgamma`` keeps ~9. ``v < 16``: ``scipy.special.gammaln`` (small values, exact to the last bit).
    """
    vl = v.astype(np.longdouble)
    with np.errstate(divide="ignore", invalid="ignore"):
        vv = v * v
        corr = (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - 1 / 1188 / vv) / vv) / vv) / vv) / v
        out = (vl + 0.5) * np.log(vl) - vl + np.log(np.longdouble(2) * np.longdouble(np.pi)) / 2 + corr
    small = v < 16
    out[small] = special.gammaln(v[small] + 1.0)
    return out


def _log_factorial_tables(m: int, n: int):
    """``(low, high, offset)``: ``low[v] = log(v!)`` for ``v`` in ``[0, m]`` and ``high[v - offset] = log(v!)``
    for ``v`` in ``[n - 2m, n]``, the integers a 2 x 2 table over ``n`` baskets can need when no margin
    exceeds ``m`` (one table of ``n + 1`` entries, shared, when the ranges meet). Indexing the right table
    directly saves a ``np.where`` per lookup."""
    hi0 = n - 2 * m
    if hi0 <= m + 1:
        table = _log_factorials(np.arange(n + 1, dtype=np.float64))
        return table, table, 0
    return (_log_factorials(np.arange(m + 1, dtype=np.float64)),
            _log_factorials(np.arange(hi0, n + 1, dtype=np.float64)), hi0)


def _ratio_sum(a: np.ndarray, b: np.ndarray, c: np.ndarray, e: np.ndarray, tol: float) -> np.ndarray:
    """``sum_{j>=0} prod_{i<j} (a-i)(b-i) / ((c+i)(e+i))``, vectorised, stopping per element once a term
    is below ``tol`` times its sum (the ratios shrink as j grows, so the rest is smaller still). Finished
    elements are dropped from the arrays once half of them are done."""
    out = np.empty(len(a))
    idx = np.arange(len(a))
    s, t = np.ones(len(a)), np.ones(len(a))
    r, w = np.empty(len(a)), np.empty(len(a))
    j = 0
    while len(idx):
        k = len(idx)
        rk, wk = r[:k], w[:k]
        np.subtract(a, j, out=rk)
        np.subtract(b, j, out=wk)
        rk *= wk
        np.add(c, j, out=wk)
        rk /= wk
        np.add(e, j, out=wk)
        rk /= wk
        t *= rk
        s += t
        j += 1
        np.multiply(s, tol, out=wk)
        live = t > wk
        n_live = np.count_nonzero(live)
        if n_live * 2 <= k:
            dead = ~live
            out[idx[dead]] = s[dead]
            idx, a, b, c, e, s, t = idx[live], a[live], b[live], c[live], e[live], s[live], t[live]
    return out


def fisher_greater(n_ab: np.ndarray, n_a: np.ndarray, n_b: np.ndarray, n: int, tol: float = 1e-14) -> np.ndarray:
    """One-sided Fisher exact test p-values for positive association, vectorised.

    ``p = P(X >= n_ab)`` for ``X ~ Hypergeometric(n, n_a, n_b)``, the p-value of
    ``scipy.stats.fisher_exact([[n_ab, n_a - n_ab], [n_b - n_ab, n - n_a - n_b + n_ab]],
    alternative="greater")`` and the same number as ``scipy.stats.hypergeom.sf(n_ab - 1, n, n_a, n_b)``
    (Agresti 2002, sec. 3.5.1; tested against both).

    Why not call ``hypergeom.sf``: it costs ~1.2 µs a pair (Boost's pmf), as much as the whole
    co-occurrence count on Complete Journey. Here the pmf at ``n_ab`` comes from log-factorial tables
    in extended precision and the tail from the exact term ratios
    ``pmf(x+1)/pmf(x) = (n_a-x)(n_b-x) / ((x+1)(n-n_a-n_b+x+1))``, summed outwards from ``n_ab`` above
    the mode (``p = pmf(n_ab) * sum``), or as ``1 - P(X <= n_ab - 1)`` summed downwards at or below
    it (never a sum of terms that cancel). About 3x faster than ``hypergeom.sf``; relative error
    below 1e-12 against exact rational arithmetic on the Complete Journey pairs (mpmath, 40 digits),
    where ``hypergeom.sf`` is within 5e-11 and rounds some values below 1e-300 to 0. Where
    ``np.longdouble`` is plain float64 (Windows, macOS on ARM) the error grows to ~1e-9 for
    ``n`` ~ 10^5, still far below any significance level.

    Parameters
    ----------
    n_ab, n_a, n_b : int arrays of one shape ``(m,)``
        Baskets with both items, with A, with B; ``1 <= n_ab <= min(n_a, n_b)``, ``n_a + n_b - n_ab <= n``.
    n : int
        Baskets.
    tol : float
        Relative truncation of the tail sum.

    Returns
    -------
    ``(m,)`` float64 in [0, 1].

    Examples
    --------
    >>> from scipy.stats import fisher_exact
    >>> p = fisher_greater(np.array([2]), np.array([3]), np.array([3]), 5)
    >>> round(float(p[0]), 12), round(float(fisher_exact([[2, 1], [1, 1]], alternative="greater").pvalue), 12)
    (0.7, 0.7)
    """
    n_ab, n_a, n_b = (np.asarray(v, dtype=np.int64) for v in (n_ab, n_a, n_b))
    out = np.ones(len(n_ab))
    if not len(n_ab):
        return out
    low, high, off = _log_factorial_tables(int(max(n_a.max(), n_b.max())), int(n))
    mode = (n_a + 1) * (n_b + 1) // (n + 2)
    above = n_ab > mode
    x = np.where(above, n_ab, n_ab - 1)             # first term of the tail we sum
    lo = np.maximum(0, n_a + n_b - n)
    has_lower = x >= lo                             # else P(X <= n_ab - 1) = 0 and p = 1
    x = np.where(has_lower, x, lo)
    rest = n - n_a - n_b + x                        # >= n - 2m: in the high table
    # x, n_a - x, n_b - x, n_a, n_b <= m (low table); n - n_a, n - n_b, rest, n >= n - 2m (high table)
    log_pmf = (low[n_a] + high[n - n_a - off] + low[n_b] + high[n - n_b - off] - high[n - off]
               - low[x] - low[n_a - x] - low[n_b - x] - high[rest - off]).astype(np.float64)
    pmf = np.exp(log_pmf)
    xf, ka, kb, rf = x.astype(np.float64), n_a.astype(np.float64), n_b.astype(np.float64), rest.astype(np.float64)
    i = np.flatnonzero(above)
    out[i] = pmf[i] * _ratio_sum(ka[i] - xf[i], kb[i] - xf[i], xf[i] + 1, rf[i] + 1, tol)
    i = np.flatnonzero(~above & has_lower)
    # pmf(x-1)/pmf(x) = x (n-n_a-n_b+x) / ((n_a-x+1)(n_b-x+1))
    out[i] = 1.0 - pmf[i] * _ratio_sum(xf[i], rf[i], ka[i] - xf[i] + 1, kb[i] - xf[i] + 1, tol)
    return np.clip(out, 0.0, 1.0)


def _bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values, the same numbers as ``scipy.stats.false_discovery_control(p,
    method="bh")`` (the same steps: sort, ``p_(i) * m / i``, running minimum from the largest, clip), without
    its second sort to restore the order (a scatter does it) and its argument checks. ``p``: ``(m,)`` in [0, 1]."""
    m = len(p)
    order = np.argsort(p)
    ps = p[order]
    ps *= m / np.arange(1, m + 1, dtype=np.float64)
    np.minimum.accumulate(ps[::-1], out=ps[::-1])
    out = np.empty(m)
    out[order] = ps
    return np.clip(out, 0.0, 1.0, out=out)


def _directed_order(r: np.ndarray, c: np.ndarray, lift: np.ndarray, n_items: int) -> np.ndarray:
    """Order of the directed rows ``[(r, c) ..., (c, r) ...]``: antecedent, lift descending, consequent.

    One argsort of an int64 key ``(antecedent, dense rank of -lift, consequent)`` where it fits in 63 bits
    (about 3x faster than ``np.lexsort`` on three keys), else ``np.lexsort``. Ties in lift are exact float
    equality, as a sort on the lift column would see them.
    """
    u = len(lift)
    a, b = np.concatenate([r, c]), np.concatenate([c, r])
    if u == 0:
        return np.zeros(0, dtype=np.int64)
    o = np.argsort(-lift)
    s = lift[o]
    new = np.empty(u, dtype=bool)
    new[0] = True
    np.not_equal(s[1:], s[:-1], out=new[1:])
    dense = np.empty(u, dtype=np.int64)
    dense[o] = np.cumsum(new) - 1
    n_ranks = int(dense.max()) + 1
    if (n_items + 1) * (n_ranks + 1) * (n_items + 1) < 2 ** 62:
        key = (a * n_ranks + np.concatenate([dense, dense])) * n_items + b
        return np.argsort(key)                            # keys are unique: no stability needed
    return np.lexsort((b, np.concatenate([dense, dense]), a))


def _pair_frame(n: int, counts: np.ndarray, r: np.ndarray, c: np.ndarray, nab: np.ndarray,
                n_items: int) -> pd.DataFrame:
    """Every statistic for the unordered pairs ``(r, c, nab)``, both directions, sorted; one frame build.

    The symmetric statistics are computed once per unordered pair and gathered into both directions.
    """
    u = len(nab)
    countsf = counts.astype(np.float64)                 # per item: gathers below need no conversion pass
    na_i, nb_i = counts[r], counts[c]
    na_u, nb_u, nab_f = countsf[r], countsf[c], nab.astype(np.float64)
    nf = float(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        support_u = nab_f / nf
        lift_u = nf * nab_f / (na_u * nb_u)
        npmi_u = np.clip(np.where(nab == n, 1.0, np.log(lift_u) / -np.log(support_u)), -1.0, 1.0)
    leverage_u = (nf * nab_f - na_u * nb_u) / (nf * nf)
    jaccard_u = nab_f / (na_u + nb_u - nab_f)
    if u:
        p_u = fisher_greater(nab, na_i, nb_i, n)
        q_u = _bh_adjust(p_u)
    else:
        p_u = q_u = np.zeros(0)
    order = _directed_order(r, c, lift_u, n_items)
    a = np.concatenate([r, c])[order]
    b = np.concatenate([c, r])[order]
    src = order                                         # the unordered pair of each directed row
    np.subtract(order, u, out=src, where=order >= u)
    n_ab = nab[src]
    n_a, n_b = counts[a], counts[b]
    fab, fa = n_ab.astype(np.float64), countsf[a]
    infinite = n_ab == n_a                              # confidence(A->B) = 1
    with np.errstate(divide="ignore", invalid="ignore"):
        # (1 - n_B/N) / (1 - n_AB/n_A) = n_A (N - n_B) / (N (n_A - n_AB)); exact integers in float64
        conviction = fa * (nf - countsf[b]) / (nf * (fa - fab))
    conviction[infinite] = np.nan
    return pd.DataFrame({
        "antecedent": a, "consequent": b, "pair_count": n_ab, "antecedent_count": n_a, "consequent_count": n_b,
        "support": fab / nf, "confidence": fab / fa, "lift": lift_u[src], "leverage": leverage_u[src],
        "conviction": conviction, "conviction_infinite": infinite, "jaccard": jaccard_u[src],
        "npmi": npmi_u[src], "p_value": p_u[src], "q_value": q_u[src],
    }, copy=False)


def pair_stats(basket_items: sp.spmatrix, min_pair_count: int = 2, *,
               max_basket_size: int | None = None) -> pd.DataFrame:
    """Directed pair statistics, both directions of every pair with n_AB >= min_pair_count.

    Counts come from one sparse product XᵀX (never a dense basket x item matrix); see the module
    docstring for the definitions, the significance test and the basket-size cap.

    Parameters
    ----------
    basket_items : sparse ``(n_baskets, n_items)`` matrix
        Any nonzero counts as "the basket holds the item" (a product repeated in a basket counts once).
        Not modified.
    min_pair_count : int, default 2 (>= 1)
        Minimum absolute pair count n_AB; only these pairs are tested and reported.
    max_basket_size : int or None, keyword-only, default None
        Baskets with more items are left out of every count (>= 2; None: no cap).

    Returns
    -------
    DataFrame
        Columns :data:`PAIR_STAT_COLUMNS`: ``antecedent, consequent`` (column indices), ``pair_count``
        (n_AB), ``antecedent_count`` (n_A), ``consequent_count`` (n_B), int64; ``support`` in [0, 1],
        ``confidence`` (A->B) in [0, 1], ``lift`` >= 0, ``leverage`` in [-0.25, 0.25], ``conviction``
        (A->B) >= 0 or NaN where it is infinite, ``conviction_infinite`` (bool: confidence = 1),
        ``jaccard`` in [0, 1], ``npmi`` in [-1, 1], ``p_value`` (one-sided Fisher) and ``q_value``
        (Benjamini–Hochberg) in [0, 1], float64. Never ``inf``. Sorted by antecedent, then lift
        descending, then consequent. ``attrs["basket_size_report"]`` holds the
        :class:`BasketSizeReport` of the cap.

    Raises
    ------
    TypeError
        ``basket_items`` is not a matrix, or an argument is not an int.
    ValueError
        ``min_pair_count`` < 1 or ``max_basket_size`` < 2.

    Examples
    --------
    Five baskets {a,b}, {a,b}, {a}, {b,c}, {c}: n_a=3, n_b=3, n_ab=2, lift(a,b) = 5*2/(3*3) = 1.111,
    leverage = 2/5 - (3/5)(3/5) = 0.04, conviction(a->b) = (1 - 3/5)/(1 - 2/3) = 1.2, jaccard = 2/4.

    >>> x = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [1, 0, 0], [0, 1, 1], [0, 0, 1]]))
    >>> pair_stats(x).loc[0, ["lift", "leverage", "conviction", "jaccard"]].round(4).tolist()
    [1.1111, 0.04, 1.2, 0.5]
    """
    _check_int("min_pair_count", min_pair_count, 1)
    _check_int("max_basket_size", max_basket_size, 2, allow_none=True)
    x = _binary_structure(basket_items)
    n, counts, r, c, nab = _upper_pairs(x, int(min_pair_count), max_basket_size)
    out = _pair_frame(n, counts, r, c, nab, x.shape[1])
    sizes = np.diff(x.indptr)
    over = sizes > max_basket_size if max_basket_size is not None else np.zeros(len(sizes), dtype=bool)
    out.attrs["basket_size_report"] = BasketSizeReport(
        n_baskets=len(sizes), n_counted=n, n_dropped=int(over.sum()), lines_dropped=int(sizes[over].sum()),
        largest_basket=int(sizes.max()) if len(sizes) else 0, max_basket_size=max_basket_size)
    return out


def pair_customers(basket_items: sp.spmatrix, basket_customers, a, b, *, max_basket_size: int | None = None,
                   chunk_pairs: int = 4_000_000) -> np.ndarray:
    """Distinct customers who bought items ``a[k]`` and ``b[k]`` together (in one basket), per pair.

    ``customers(A,B) = |{c : some basket of customer c holds both A and B}|`` <= n_AB. The top pairs of
    a shop are often one shopper's repeated baskets (the same two products reordered every week):
    n_AB = 30 from one customer is one person's habit, not a pattern; this count says so.

    Parameters
    ----------
    basket_items : sparse ``(n_baskets, n_items)``; any nonzero counts as "holds the item".
    basket_customers : array-like ``(n_baskets,)``
        The customer of each basket (any hashable); None/NaN: unknown, and such a basket counts as a
        customer of its own (it cannot be told apart from a new shopper), so without any customer ids
        ``customers == pair_count``.
    a, b : int arrays ``(m,)``
        Column indices of the pairs (order within a pair does not matter; ``a[k] != b[k]``).
    max_basket_size : int or None, keyword-only
        Baskets with more items are left out, as in :func:`pair_stats`.
    chunk_pairs : int
        Basket-pair incidences generated at a time (memory bound: ~40 bytes each); customers are
        never split across chunks.

    Returns
    -------
    ``(m,)`` int64, in ``[0, n_AB]``.

    Raises
    ------
    TypeError, ValueError
        Shapes disagree, or ``max_basket_size`` is not an int >= 2 or None.

    Examples
    --------
    Customer 1 holds {0,1} twice, customer 2 once; basket 4 ({0,1}) has no customer:

    >>> x = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 1], [1, 1, 0], [1, 1, 0], [0, 1, 1]]))
    >>> pair_customers(x, ["c1", "c1", "c2", None, "c2"], np.array([0, 1]), np.array([1, 2])).tolist()
    [3, 2]
    """
    _check_int("max_basket_size", max_basket_size, 2, allow_none=True)
    x = _binary_structure(basket_items)
    cust = pd.Series(np.asarray(basket_customers, dtype=object))
    if len(cust) != x.shape[0]:
        raise ValueError(f"basket_customers must have one entry per basket ({x.shape[0]}), got {len(cust)}")
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"a and b must be 1-d arrays of one length, got shapes {a.shape} and {b.shape}")
    out = np.zeros(len(a), dtype=np.int64)
    if not len(a):
        return out
    n_items = x.shape[1]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keys, inverse = np.unique(lo * n_items + hi, return_inverse=True)
    codes, _ = pd.factorize(cust, use_na_sentinel=True)
    codes = codes.astype(np.int64)
    unknown = codes < 0
    codes[unknown] = codes.max(initial=-1) + 1 + np.arange(int(unknown.sum()))
    # only the items of the asked pairs matter; baskets keep those, in column order
    wanted = np.zeros(n_items, dtype=bool)
    wanted[lo] = wanted[hi] = True
    sizes = np.diff(x.indptr)
    keep_basket = np.ones(len(sizes), dtype=bool) if max_basket_size is None else sizes <= max_basket_size
    entry_keep = wanted[x.indices] & np.repeat(keep_basket, sizes)
    row_of = np.repeat(np.arange(len(sizes)), sizes)[entry_keep]
    items = x.indices[entry_keep].astype(np.int64)
    # entries grouped by customer (stable: a basket's items stay together)
    order = np.argsort(codes[row_of], kind="stable")
    row_of, items = row_of[order], items[order]
    ent_cust = codes[row_of]
    # baskets of one customer: a basket's pairs cost s(s-1)/2; chunks of whole customers
    bstart = np.flatnonzero(np.r_[True, row_of[1:] != row_of[:-1]])
    bsize = np.diff(np.r_[bstart, len(row_of)])
    cum = np.cumsum(bsize * (bsize - 1) // 2)
    cust_first = np.flatnonzero(np.r_[True, ent_cust[bstart][1:] != ent_cust[bstart][:-1]])  # basket positions
    total = sp.csr_matrix((n_items, n_items), dtype=np.int64)
    i, n_b = 0, len(bsize)
    while i < n_b:
        done = cum[i - 1] if i else 0
        j = int(np.searchsorted(cum, done + chunk_pairs, side="right"))
        j = int(cust_first[np.searchsorted(cust_first, j, side="right") - 1]) if j < n_b else n_b
        if j <= i:  # one customer above the chunk size: take them whole
            nxt = np.searchsorted(cust_first, i, side="right")
            j = int(cust_first[nxt]) if nxt < len(cust_first) else n_b
        e0, e1 = int(bstart[i]), int(bstart[j]) if j < n_b else len(row_of)
        # columns = the distinct (customer, item) of the chunk: in YᵀY an entry (u, v) is one customer who
        # bought items u and v in some basket (a basket has one customer), counted once however often
        col_key = ent_cust[e0:e1] * n_items + items[e0:e1]
        cols, col_keys = pd.factorize(col_key)
        rows = np.repeat(np.arange(j - i), bsize[i:j])
        y = sp.csr_matrix((np.ones(e1 - e0, dtype=np.int32), (rows, cols)), shape=(j - i, len(col_keys)))
        co = (y.T.tocsr() @ y).tocoo()
        col_item = np.asarray(col_keys) % n_items
        ia, ib = col_item[co.row], col_item[co.col]
        up = ia < ib
        total = total + sp.csr_matrix((np.ones(int(up.sum()), dtype=np.int64), (ia[up], ib[up])),
                                      shape=(n_items, n_items))
        i = j
    total.sum_duplicates()
    total.sort_indices()
    t_keys = np.repeat(np.arange(n_items, dtype=np.int64), np.diff(total.indptr)) * n_items + total.indices
    hit = np.searchsorted(t_keys, keys)
    hit[hit == len(t_keys)] = 0
    found = (t_keys[hit] == keys) if len(t_keys) else np.zeros(len(keys), dtype=bool)
    counts = np.where(found, total.data[hit] if len(t_keys) else 0, 0)
    out[:] = counts[inverse]
    return out


def category_matrix(baskets: Baskets, item_category: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """Basket x category binary matrix: 1 where the basket holds any item of the category.

    Parameters
    ----------
    item_category : ``(n_items,)`` category label per item (None/NaN: left out).

    Returns
    -------
    (matrix ``(n_baskets, n_categories)``, category labels ``(n_categories,)``)
    """
    cats = pd.Series(item_category, dtype=object)
    codes, labels = pd.factorize(cats, use_na_sentinel=True)
    keep = codes >= 0
    onehot = sp.csr_matrix((np.ones(keep.sum(), dtype=np.float32), (np.nonzero(keep)[0], codes[keep])),
                           shape=(len(cats), len(labels)))
    m = (baskets.basket_items @ onehot).tocsr()
    m.data[:] = 1.0
    m.eliminate_zeros()
    return m, np.asarray(labels, dtype=object)


def category_pair_stats(baskets: Baskets, item_category: np.ndarray, min_pair_count: int = 1, *,
                        max_basket_size: int | None = None) -> pd.DataFrame:
    """Pair statistics between categories (a basket "holds" a category if it holds any of its items).

    Parameters
    ----------
    baskets : Baskets
    item_category : ``(n_items,)`` category label per item (None/NaN: left out).
    min_pair_count : int, default 1 (>= 1)
    max_basket_size : int or None, keyword-only
        Baskets with more *items* (not categories) are left out, the same baskets as
        ``pair_stats(baskets.basket_items, max_basket_size=...)`` leaves out.

    Returns
    -------
    DataFrame with ``antecedent_category, consequent_category`` and the statistics of
    :func:`pair_stats` (same columns, same ranges, same ``attrs["basket_size_report"]``), sorted by
    lift descending.
    """
    _check_int("max_basket_size", max_basket_size, 2, allow_none=True)
    m, labels = category_matrix(baskets, item_category)
    report = basket_size_report(baskets.basket_items, max_basket_size)
    if report.n_dropped:
        m = m[np.diff(_binary_structure(baskets.basket_items).indptr) <= max_basket_size]
    st = pair_stats(m, min_pair_count)
    st.insert(0, "antecedent_category", labels[st.pop("antecedent").to_numpy()])
    st.insert(1, "consequent_category", labels[st.pop("consequent").to_numpy()])
    st = st.sort_values("lift", ascending=False, kind="stable").reset_index(drop=True)
    st.attrs["basket_size_report"] = report
    return st


def rowwise_cosine(embeddings: np.ndarray, a: np.ndarray, b: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    """cos(e[a_k], e[b_k]) for L2-normalised ``embeddings (n_items, dim)``; ``(len(a),)`` in [-1, 1]."""
    out = np.empty(len(a), dtype=np.float32)
    for s in range(0, len(a), chunk):
        out[s:s + chunk] = np.einsum("ij,ij->i", embeddings[a[s:s + chunk]], embeddings[b[s:s + chunk]])
    return np.clip(out, -1.0, 1.0)


def hybrid_affinity(pair_count: np.ndarray, npmi: np.ndarray, similarity: np.ndarray,
                    settings: AffinitySettings = AffinitySettings()) -> np.ndarray:
    """``w * max(npmi, 0) + (1 - w) * text_weight * max(similarity, 0)``, ``w = n_AB/(n_AB + k)``; in [0, 1].

    See the module docstring for the reasoning.
    """
    w = pair_count / (pair_count + settings.evidence_k)
    return w * np.maximum(npmi, 0.0) + (1.0 - w) * settings.text_weight * np.maximum(similarity, 0.0)


def affinity_graph(pairs: pd.DataFrame, weight: str = "affinity", top_n: int | None = None,
                   node_attrs: pd.DataFrame | None = None) -> nx.Graph:
    """An undirected graph of item pairs (one edge per unordered pair).

    Parameters
    ----------
    pairs : DataFrame
        Columns ``antecedent_id, consequent_id`` and ``weight`` (plus any edge attributes).
    weight : str
        Edge attribute used to pick the ``top_n`` strongest edges.
    node_attrs : DataFrame, optional
        Indexed by item id; columns become node attributes.

    Returns
    -------
    networkx.Graph with edge attribute ``weight`` and the pair's statistics.
    """
    df = pairs[pairs["antecedent_id"].astype(str) < pairs["consequent_id"].astype(str)]
    if top_n is not None:
        df = df.nlargest(top_n, weight)
    g = nx.Graph()
    for rec in df.to_dict("records"):
        a, b = rec.pop("antecedent_id"), rec.pop("consequent_id")
        g.add_edge(a, b, weight=float(rec[weight]), **rec)
    if node_attrs is not None:
        nx.set_node_attributes(g, {k: v for k, v in node_attrs.to_dict("index").items() if k in g})
    return g
