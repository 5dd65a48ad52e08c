"""A complement model over frozen sentence embeddings, trained on the shop's own cross-category co-purchases.

Text similarity finds substitutes (another yogurt); what goes *with* a yogurt (granola, berries) sits
in another category and usually reads nothing like it (McAuley et al. 2015 separate the two
relations for exactly this reason). Co-purchase statistics know complements, but only for items
that sell. This module learns a map from an item's text to its complements from the pairs the
shop's baskets already show, so that an item with few or no co-purchases, a product just added to
the catalog included, still gets complements from its text alone.

Model (a two-tower retrieval model over the frozen all-MiniLM-L6-v2 vectors ``e`` (384-d))::

    u(a)   = normalize(W_q e_a + MLP_q(e_a) + E[c_a])        query tower,     (dim,) unit norm
    v(b)   = normalize(W_c x_b + MLP_c(x_b))                 candidate tower, (dim,) unit norm
    x_b    = [e_b, log1p(n_b) / log1p(max n), 1{n_b = 0}]    candidate features (text + popularity)
    s(a,b) = <u(a), v(b)> / temperature + beta(a, b)         score

``c_a`` is the query's category (known for a new catalog item too: "only its text and category can
speak"), ``E`` a learned embedding per category (zero at the start). The bias ``beta`` is by
default the log of a category-conditional popularity prior, hierarchically smoothed with
Dirichlet priors of strength ``m`` (MacKay & Peto 1995; Zhai & Lafferty 2001), from the training
pairs: ``n_{c,b}`` pairs with query category ``c`` and candidate ``b``::

    Q(b)          = (n_b + 1/2) / (n_pairs + n_items / 2)                 candidate's share of the pairs
    P(b | g)      = (n_{g,b} + m Q(b)) / (n_g + m)                        g: the query's top-level group
    P(b | c)      = (n_{c,b} + m P(b | g(c))) / (n_c + m)                 c: the query's category
    beta(a, b)    = log P(b | c_a)      (falls back to g_a, then to Q where the query has none)

so the towers learn what the query's own text adds to what its category already says
(``exp(s)`` ~ ``P(b | c_a) * exp(cos / temperature)``).

Training (in-batch softmax with the logQ correction of Yi et al. 2019): a batch holds B observed
pairs ``(a_i, b_i)``, two items of different top-level categories bought in one basket; every other
``b_j`` of the batch is a negative for ``a_i``. The logits are corrected by the log of each
candidate's sampling probability ``Q(b)`` (its share of the training pairs), so that the
popular items that turn up as negatives in most batches are not pushed down for being popular::

    logit_ij = s(a_i, b_j) - log Q(b_j)
    loss     = mean_i [ -logit_ii + logsumexp_j logit_ij ]

with ``logit_ij = -inf`` where ``b_j`` is the item ``b_i`` itself (a duplicate in the batch is no
negative) or lies in the query's own category (never a candidate for a cross-category
complement). With the correction, ``exp(s(a, b))`` estimates the full-softmax ``P(b | a)``, popularity
included; ``s`` is what :meth:`ComplementModel.score` returns.

References
----------
Yi, X., Yang, J., Hong, L., Cheng, D. Z., Heldt, L., Kumthekar, A., Zhao, Z., Wei, L., Chi, E. (2019).
    Sampling-bias-corrected neural modeling for large corpus item recommendations. RecSys '19.
McAuley, J., Pandey, R., Leskovec, J. (2015). Inferring networks of substitutable and complementary
    products. KDD '15.
Covington, P., Adams, J., Sargin, E. (2016). Deep neural networks for YouTube recommendations. RecSys '16.
MacKay, D. J. C., Peto, L. C. B. (1995). A hierarchical Dirichlet language model. Natural Language Engineering 1(3).
Zhai, C., Lafferty, J. (2001). A study of smoothing methods for language models applied to ad hoc
    information retrieval. SIGIR '01.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn import functional as F

_N_POP = 2  # popularity features of a candidate: scaled log count, "never bought" flag


def _check_int(name: str, value, low: int) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")


def _check_float(name: str, value, low: float, high: float | None = None, low_open: bool = True) -> None:
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    ok = (value > low if low_open else value >= low) and (high is None or value <= high)
    if not ok:
        rng = f"{'(' if low_open else '['}{low}, {high if high is not None else 'inf'}{']' if high is not None else ')'}"
        raise ValueError(f"{name} must be in {rng}, got {value}")


@dataclass(frozen=True)
class ComplementSettings:
    """Settings of :class:`ComplementModel`.

    Parameters
    ----------
    dim : int, default 128
        Width of the towers' unit-norm outputs (>= 2).
    hidden : int, default 128
        Hidden width of each tower's residual MLP (>= 1).
    epochs : int, default 4
        Passes over the (capped) training pairs (>= 1).
    batch_size : int, default 1024
        Pairs per batch; the other pairs of a batch are the negatives (>= 2).
    lr : float, default 1e-2
        AdamW learning rate (> 0).
    weight_decay : float, default 1e-4
        AdamW weight decay (>= 0).
    temperature : float, default 0.05
        Divides the cosine of the two towers, in (0, 1]; the score of a pair spans
        ``[-1/temperature, 1/temperature]`` plus the candidate bias.
    max_pairs : int, default 100_000
        At most this many training pairs, drawn uniformly from those given (>= 1): caps the
        training time (about 0.05 s per batch of 1024 on one CPU core).
    logq_correction : bool, default True
        Subtract ``log Q(b)`` from the in-batch logits (Yi et al. 2019); False trains the plain
        in-batch softmax, which learns ``log P(b|a) - log Q(b)`` (popularity removed).
    bias : {'category', 'log_q', 'learned'}, default 'category'
        The term ``beta(a, b)`` of the score. ``'category'``: the log of the hierarchical
        category-conditional prior ``P(b | c_a)`` of the module docstring (``log Q(b)`` when fit is
        given no groups and no categories). ``'log_q'``: fixed to ``log Q(b)`` (the
        candidate's smoothed share of the training pairs, ``(count + 1/2) / (pairs + n_items/2)``),
        so the corrected in-batch logit is the towers' cosine alone and the towers learn only
        what the query adds to popularity (a pointwise mutual information); ``'learned'``: a small
        MLP on the candidate's text and popularity features.
    prior_strength : float, default 1000.0
        Dirichlet strength ``m`` (in pairs, >= 0) of the category prior: a category with ``m``
        training pairs gets half its prior from its parent level.
    threads : int, default 1
        ``torch.set_num_threads`` during :meth:`ComplementModel.fit` (restored after). The
        matrices are small: one thread is fastest on a shared machine (two threads on two busy
        cores ran 3-8x slower), and scores are bit-identical only for a fixed thread count.
    seed : int, default 0
        Seeds the pair sample, the initial weights and the batch order (>= 0).
    """

    dim: int = 128
    hidden: int = 128
    epochs: int = 4
    batch_size: int = 1024
    lr: float = 1e-2
    weight_decay: float = 1e-4
    temperature: float = 0.05
    max_pairs: int = 100_000
    logq_correction: bool = True
    bias: str = "category"
    prior_strength: float = 1000.0
    threads: int = 1
    seed: int = 0

    def __post_init__(self):
        _check_int("dim", self.dim, 2)
        _check_int("hidden", self.hidden, 1)
        _check_int("epochs", self.epochs, 1)
        _check_int("batch_size", self.batch_size, 2)
        _check_int("max_pairs", self.max_pairs, 1)
        _check_int("seed", self.seed, 0)
        _check_int("threads", self.threads, 1)
        _check_float("lr", self.lr, 0.0)
        _check_float("weight_decay", self.weight_decay, 0.0, low_open=False)
        _check_float("temperature", self.temperature, 0.0, 1.0)
        _check_float("prior_strength", self.prior_strength, 0.0, low_open=False)
        if self.bias not in ("category", "log_q", "learned"):
            raise ValueError(f"bias must be 'category', 'log_q' or 'learned', got {self.bias!r}")
        if not isinstance(self.logq_correction, (bool, np.bool_)):
            raise TypeError(f"logq_correction must be a bool, got {type(self.logq_correction).__name__}")


class _Tower(nn.Module):
    """``normalize(W x + MLP(x))``: a linear map with a residual two-layer MLP, unit-norm output."""

    def __init__(self, d_in: int, hidden: int, dim: int):
        super().__init__()
        self.linear = nn.Linear(d_in, dim)
        self.mlp = nn.Sequential(nn.Linear(d_in, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.linear(x) + self.mlp(x), dim=-1)


class _QueryTower(_Tower):
    """``normalize(W e + MLP(e) + E[c])``: the text tower plus a learned vector per query category."""

    def __init__(self, d_in: int, hidden: int, dim: int, n_categories: int):
        super().__init__(d_in, hidden, dim)
        self.category = nn.Embedding(max(n_categories, 1), dim)
        nn.init.zeros_(self.category.weight)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.linear(x) + self.mlp(x) + self.category(c), dim=-1)


class _TwoTower(nn.Module):
    def __init__(self, d_text: int, settings: ComplementSettings, n_categories: int = 1):
        super().__init__()
        self.query = _QueryTower(d_text, settings.hidden, settings.dim, n_categories)
        self.candidate = _Tower(d_text + _N_POP, settings.hidden, settings.dim)
        self.bias = nn.Sequential(nn.Linear(d_text + _N_POP, 32), nn.GELU(), nn.Linear(32, 1))
        self.inv_temperature = 1.0 / settings.temperature

    def candidates(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.candidate(x), self.bias(x).squeeze(-1)


@contextmanager
def _deterministic(threads: int):
    """Deterministic algorithms and ``threads`` torch threads for the block; the previous state restored after."""
    before, before_threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before)
        torch.set_num_threads(before_threads)


def popularity_features(item_popularity: np.ndarray, scale: float | None = None) -> np.ndarray:
    """``(n_items, 2)`` float32: ``log1p(n) / log1p(scale)`` in [0, 1] and the flag ``n == 0``.

    ``scale`` defaults to ``max(n)`` (at least 1); a fitted model keeps its own.
    """
    n = np.asarray(item_popularity, dtype=np.float64)
    scale = max(float(n.max()) if n.size else 1.0, 1.0) if scale is None else scale
    return np.column_stack([np.log1p(n) / np.log1p(scale), (n == 0)]).astype(np.float32)


def _cross_group_pair_total(x: sp.csr_matrix, groups: np.ndarray) -> int:
    """Ordered cross-group pairs over all baskets: ``sum_baskets (k^2 - sum_g k_g^2)``, k over grouped items."""
    ok = groups >= 0
    if not ok.any():
        return 0
    g = np.where(ok, groups, 0)
    member = sp.csr_matrix((ok.astype(np.float64), (np.arange(len(g)), g)), shape=(len(g), int(g.max()) + 1))
    xb = x.copy()
    xb.data[:] = 1.0
    per = (xb @ member).tocsr()  # (n_baskets, n_groups): items of each group per basket
    k = np.asarray(per.sum(axis=1)).ravel()
    return int(round(float((k * k).sum() - per.multiply(per).sum())))


def cross_category_pairs(basket_items: sp.spmatrix, item_groups: np.ndarray, max_pairs: int | None = None,
                         seed: int = 0, chunk: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """Ordered item pairs ``(a, b)`` bought in one basket, ``a`` and ``b`` in different groups.

    Each basket holding ``k`` items of several groups contributes every ordered cross-group pair
    once, so a pair appears as often as baskets hold it (its co-occurrence count ``n_ab``, in each
    direction): drawing uniformly from the result samples pairs in proportion to ``n_ab``.

    Parameters
    ----------
    basket_items : sparse ``(n_baskets, n_items)``, nonzero where a basket holds an item.
    item_groups : ``(n_items,)`` int group code per item (top-level category); ``-1`` items are
        left out.
    max_pairs : int, optional
        Keep a uniform sample of at most this many pairs (each pair kept independently with
        probability ``min(1, 1.1 * max_pairs / total)``, ``total`` the exact number of ordered
        cross-group pairs, ``sum_baskets (k^2 - sum_g k_g^2)``; then cut to ``max_pairs``).
    seed : int
        Seeds the sample.

    Returns
    -------
    (a, b) : two ``(n_pairs,)`` int64 arrays of column indices, in basket order.
    """
    x = sp.csr_matrix(basket_items)
    groups = np.asarray(item_groups)
    if groups.shape != (x.shape[1],):
        raise ValueError(f"item_groups must have shape ({x.shape[1]},), got {groups.shape}")
    if max_pairs is not None:
        _check_int("max_pairs", max_pairs, 1)
    rng = np.random.default_rng(seed)
    total = float(_cross_group_pair_total(x, groups))
    keep_p = 1.0 if max_pairs is None or total <= 0 else min(1.0, 1.1 * max_pairs / total)
    out_a, out_b = [], []
    for s in range(0, x.shape[0], chunk):
        sub = x[s:s + chunk]
        rows = np.repeat(np.arange(sub.shape[0]), np.diff(sub.indptr))
        cols = sub.indices.astype(np.int64)
        # all ordered pairs within each basket: join the lines of a basket with each other
        start = sub.indptr[:-1][rows]
        size = np.diff(sub.indptr)[rows]
        left = np.repeat(np.arange(len(cols)), size)
        right = np.repeat(start, size) + (np.arange(len(left)) - np.repeat(np.cumsum(size) - size, size))
        a, b = cols[left], cols[right]
        ok = (groups[a] != groups[b]) & (groups[a] >= 0) & (groups[b] >= 0)
        if keep_p < 1.0:
            ok &= rng.random(len(a)) < keep_p
        out_a.append(a[ok])
        out_b.append(b[ok])
    a = np.concatenate(out_a) if out_a else np.zeros(0, dtype=np.int64)
    b = np.concatenate(out_b) if out_b else np.zeros(0, dtype=np.int64)
    if max_pairs is not None and len(a) > max_pairs:
        pick = np.sort(rng.choice(len(a), size=max_pairs, replace=False))
        a, b = a[pick], b[pick]
    return a, b


#: levels of :func:`category_prior` (columns of its ``rows``), coarse to fine
PRIOR_LEVELS = ("base", "group", "category")


def category_prior(pairs_a: np.ndarray, pairs_b: np.ndarray, n_items: int, item_groups: np.ndarray | None = None,
                   item_categories: np.ndarray | None = None, strength: float = 1000.0,
                   base: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Hierarchical category-conditional prior ``P(b | category of the query)`` from complement pairs.

    Formulas in the module docstring (Dirichlet smoothing: category -> group -> ``Q(b)``).

    Parameters
    ----------
    pairs_a, pairs_b : ``(n_pairs,)`` int item indices, ``b`` bought with ``a``.
    n_items : int
    item_groups : ``(n_items,)`` int, optional; top-level group (department) code, -1 = none.
    item_categories : ``(n_items,)`` int, optional; finer category code (aisle), -1 = none. A
        category's parent group is the group of its first item.
    strength : float >= 0, the Dirichlet strength ``m`` in pairs.
    base : ``(n_items,)`` > 0, optional
        The top of the hierarchy in place of ``Q(b)`` (rescaled to sum to 1), e.g. the smoothed
        basket popularity ``(n_b + 1/2) / sum (n_b' + 1/2)``.

    Returns
    -------
    (table, rows) : ``(1 + n_groups + n_categories, n_items)`` float32, each row a distribution
        over the items (row 0 = the base ``Q``); ``(n_items, 3)`` int64, the table row of each item
        as a query at the levels ``base`` (0), ``group`` (its group's, else 0) and ``category``
        (its category's, else its group's, else 0): :data:`PRIOR_LEVELS`.
    """
    a = np.asarray(pairs_a, dtype=np.int64)
    b = np.asarray(pairs_b, dtype=np.int64)
    freq = np.bincount(b, minlength=n_items).astype(np.float64)
    q = (freq + 0.5) / (len(b) + 0.5 * n_items)
    if base is not None:
        q = np.asarray(base, dtype=np.float64)
        if q.shape != (n_items,) or not (q > 0).all():
            raise ValueError(f"base must be a positive ({n_items},) array")
        q = q / q.sum()
    rows, row = [q], np.zeros(n_items, dtype=np.int64)

    def level(codes, parent_rows):  # parent_rows: (n_codes,) index into rows of each code's parent
        codes = np.asarray(codes, dtype=np.int64)
        n_codes = int(codes.max()) + 1 if codes.size and codes.max() >= 0 else 0
        if n_codes == 0:
            return None
        ca = codes[a]
        ok = ca >= 0
        counts = np.zeros((n_codes, n_items))
        np.add.at(counts, (ca[ok], b[ok]), 1.0)
        parent = np.stack([rows[r] for r in parent_rows])
        first = len(rows)
        tot = counts.sum(axis=1, keepdims=True)
        rows.extend(list((counts + strength * parent) / np.maximum(tot + strength, 1e-300)))
        return first

    gcodes = np.asarray(item_groups, dtype=np.int64) if item_groups is not None else np.full(n_items, -1)
    n_g = int(gcodes.max()) + 1 if gcodes.size and gcodes.max() >= 0 else 0
    g_first = level(gcodes, np.zeros(n_g, dtype=np.int64)) if n_g else None
    if g_first is not None:
        row = np.where(gcodes >= 0, g_first + gcodes, row)
    row_group = row.copy()
    if item_categories is not None:
        ccodes = np.asarray(item_categories, dtype=np.int64)
        n_c = int(ccodes.max()) + 1 if ccodes.size and ccodes.max() >= 0 else 0
        if n_c:
            parent = np.zeros(n_c, dtype=np.int64)
            if g_first is not None:  # group of the category's first item (categories nest in groups)
                cs, first_item = np.unique(ccodes, return_index=True)
                gs = gcodes[first_item]
                ok = (cs >= 0) & (gs >= 0)
                parent[cs[ok]] = g_first + gs[ok]
            c_first = level(ccodes, parent)
            row = np.where(ccodes >= 0, c_first + ccodes, row)
    return np.stack(rows).astype(np.float32), np.column_stack([np.zeros(n_items, dtype=np.int64), row_group, row])


class ComplementModel:
    """Two-tower complement scorer over frozen text embeddings (see the module docstring).

    Parameters
    ----------
    settings : ComplementSettings

    Examples
    --------
    >>> model = ComplementModel(ComplementSettings(epochs=2)).fit(emb, a, b, counts, groups)  # doctest: +SKIP
    >>> model.score([0, 5])            # (2, n_items) float32, higher = more likely bought with it  # doctest: +SKIP
    """

    def __init__(self, settings: ComplementSettings = ComplementSettings()):
        if not isinstance(settings, ComplementSettings):
            raise TypeError(f"settings must be a ComplementSettings, got {type(settings).__name__}")
        self.settings = settings
        self._net: _TwoTower | None = None
        self.loss_history: list[float] = []

    # -- fitting --------------------------------------------------------------------------------

    def fit(self, embeddings: np.ndarray, pairs_a: np.ndarray, pairs_b: np.ndarray,
            item_popularity: np.ndarray, item_groups: np.ndarray | None = None,
            item_categories: np.ndarray | None = None) -> "ComplementModel":
        """Train on observed complement pairs.

        Parameters
        ----------
        embeddings : ``(n_items, d)`` float32, the frozen L2-normalised sentence vectors of the
            whole catalog (items never bought included: they are the cold and new items to score).
        pairs_a, pairs_b : ``(n_pairs,)`` int column indices; pair ``(a, b)``: ``b`` was bought
            with ``a`` (e.g. from :func:`cross_category_pairs`; a pair may repeat, once per basket).
        item_popularity : ``(n_items,)`` >= 0, training baskets holding each item (n_b); a
            candidate-tower input.
        item_groups : ``(n_items,)`` int, optional
            Top-level category code of each item; in-batch negatives of the query's own group are
            masked out (they are never candidates of a cross-category complement).
        item_categories : ``(n_items,)`` int, optional
            Finer category code of each item (e.g. the aisle; -1 = none), known for new items too:
            the query tower's category input and, with ``bias='category'``, the finest level of the
            prior (:func:`category_prior`). Without it the group is used.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Shapes disagree, an index is out of range, negative popularity, or no pairs.
        """
        s = self.settings
        emb = np.ascontiguousarray(embeddings, dtype=np.float32)
        if emb.ndim != 2 or emb.shape[0] == 0:
            raise ValueError(f"embeddings must be a non-empty (n_items, d) array, got shape {emb.shape}")
        n = emb.shape[0]
        a = np.asarray(pairs_a, dtype=np.int64)
        b = np.asarray(pairs_b, dtype=np.int64)
        if a.shape != b.shape or a.ndim != 1:
            raise ValueError(f"pairs_a and pairs_b must be 1-d of one length, got {a.shape} and {b.shape}")
        if len(a) == 0:
            raise ValueError("pairs_a is empty: no co-purchase pairs to learn from")
        if a.min() < 0 or b.min() < 0 or a.max() >= n or b.max() >= n:
            raise ValueError(f"pair indices must be in [0, {n}), got [{min(a.min(), b.min())}, "
                             f"{max(a.max(), b.max())}]")
        pop = np.asarray(item_popularity, dtype=np.float64)
        if pop.shape != (n,):
            raise ValueError(f"item_popularity must have shape ({n},), got {pop.shape}")
        if (pop < 0).any():
            raise ValueError("item_popularity must be >= 0")
        groups = cats = None
        if item_groups is not None:
            groups = np.asarray(item_groups)
            if groups.shape != (n,):
                raise ValueError(f"item_groups must have shape ({n},), got {groups.shape}")
        if item_categories is not None:
            cats = np.asarray(item_categories)
            if cats.shape != (n,):
                raise ValueError(f"item_categories must have shape ({n},), got {cats.shape}")

        torch.manual_seed(s.seed)
        rng = np.random.default_rng(s.seed)
        if len(a) > s.max_pairs:
            pick = np.sort(rng.choice(len(a), size=s.max_pairs, replace=False))
            a, b = a[pick], b[pick]
        self._pop_scale = max(float(pop.max()), 1.0)
        self._emb = torch.from_numpy(emb)
        self._cand_x = torch.from_numpy(np.hstack([emb, popularity_features(pop, self._pop_scale)]))
        # log Q(b): each candidate's share of the training pairs (Yi et al. 2019, eq. 3 with exact counts)
        freq = np.bincount(b, minlength=n).astype(np.float64)
        log_q = torch.from_numpy(np.log(np.maximum(freq, 1.0) / len(b)).astype(np.float32))
        if s.bias == "category":  # hierarchy on top of the smoothed basket popularity
            table, rows = category_prior(a, b, n, groups, cats, s.prior_strength, base=pop + 0.5)
        else:  # log Q(b) for every query: one row
            table, rows = category_prior(a, b, n, None, None, s.prior_strength)
        row = rows[:, 2]
        self._log_prior = torch.from_numpy(np.log(table))
        self._row = torch.from_numpy(row)
        learned = s.bias == "learned"
        grp = torch.from_numpy(np.asarray(groups, dtype=np.int64)) if groups is not None else None

        with _deterministic(s.threads):
            net = _TwoTower(emb.shape[1], s, n_categories=table.shape[0])
            opt = torch.optim.AdamW(net.parameters(), lr=s.lr, weight_decay=s.weight_decay)
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            steps = s.epochs * max(1, int(np.ceil(len(a) / s.batch_size)))
            warm = max(1, steps // 10)  # linear warm-up over the first tenth, then cosine decay to 0
            sched = torch.optim.lr_scheduler.LambdaLR(
                opt, lambda t: min(1.0, (t + 1) / warm) * 0.5 * (1.0 + np.cos(np.pi * min(t, steps) / steps)))
            gen = torch.Generator().manual_seed(s.seed)
            self.loss_history = []
            net.train()
            for _ in range(s.epochs):
                order = torch.randperm(len(a), generator=gen)
                total, count = 0.0, 0
                for start in range(0, len(a), s.batch_size):
                    idx = order[start:start + s.batch_size]
                    if len(idx) < 2:
                        continue
                    qa, cb = ta[idx], tb[idx]
                    u = net.query(self._emb[qa], self._row[qa])
                    v, beta = net.candidates(self._cand_x[cb])
                    beta = beta[None, :] if learned else self._log_prior[self._row[qa][:, None], cb[None, :]]
                    logits = (u @ v.T) * net.inv_temperature + beta
                    if s.logq_correction:
                        logits = logits - log_q[cb][None, :]
                    mask = cb[None, :] == cb[:, None]
                    if grp is not None:
                        mask = mask | (grp[cb][None, :] == grp[qa][:, None])
                    mask.fill_diagonal_(False)
                    logits = logits.masked_fill(mask, float("-inf"))
                    loss = F.cross_entropy(logits, torch.arange(len(idx)))
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    sched.step()
                    total += float(loss.detach()) * len(idx)
                    count += len(idx)
                self.loss_history.append(total / max(count, 1))
            net.eval()
            with torch.no_grad():
                self._u = net.query(self._emb, self._row).numpy()
                v, beta = net.candidates(self._cand_x)
                self._v = v.numpy()
                self._beta = beta.numpy() if learned else None
        self._log_prior_np, self._rows_np = self._log_prior.numpy(), rows
        self._net = net
        return self

    # -- scoring --------------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if self._net is None:
            raise RuntimeError("the ComplementModel is not fitted: call fit(...) first")

    def _index(self, items, name: str) -> np.ndarray:
        n = self._u.shape[0]
        idx = np.arange(n) if items is None else np.asarray(items, dtype=np.int64).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValueError(f"{name} must be item indices in [0, {n})")
        return idx

    def transform_query(self, items=None) -> np.ndarray:
        """Query-tower vectors ``(len(items), dim)`` float32, unit norm (all items when None)."""
        self._check_fitted()
        return self._u[self._index(items, "items")]

    def transform_candidate(self, items=None) -> tuple[np.ndarray, np.ndarray]:
        """Candidate-tower vectors ``(len(items), dim)`` (unit norm) and their query-independent bias
        ``(len(items),)`` (the learned bias with ``bias='learned'``, else zeros: see :meth:`bias`)."""
        self._check_fitted()
        idx = self._index(items, "items")
        beta = self._beta[idx] if self._beta is not None else np.zeros(len(idx), dtype=np.float32)
        return self._v[idx], beta

    def bias(self, query_items, candidate_items=None, level: str = "category") -> np.ndarray:
        """``beta(a, b)``: ``(n_q, n_c)`` float32; the log prior ``log P(b | c_a)`` of the module
        docstring at ``level`` (one of :data:`PRIOR_LEVELS`; ``'base'``: the smoothed basket
        popularity, ``log Q(b)`` unless ``bias='category'``), or the learned candidate bias."""
        self._check_fitted()
        if level not in PRIOR_LEVELS:
            raise ValueError(f"level must be one of {PRIOR_LEVELS}, got {level!r}")
        q = self._index(query_items, "query_items")
        c = self._index(candidate_items, "candidate_items")
        if self._beta is not None:
            return np.broadcast_to(self._beta[c], (len(q), len(c))).copy()
        return self._log_prior_np[self._rows_np[q, PRIOR_LEVELS.index(level)]][:, c]

    def similarity(self, query_items, candidate_items=None) -> np.ndarray:
        """``<u(a), v(b)> / temperature``: ``(n_q, n_c)`` float32, what the text adds to the prior."""
        self._check_fitted()
        u = self._u[self._index(query_items, "query_items")]
        v = self._v[self._index(candidate_items, "candidate_items")]
        return u @ v.T * np.float32(1.0 / self.settings.temperature)

    def score(self, query_items, candidate_items=None, text_weight: float = 1.0,
              level: str = "category") -> np.ndarray:
        """``s(a, b) = text_weight * <u(a), v(b)> / temperature + beta(a, b)`` for every query and candidate.

        Parameters
        ----------
        query_items : ``(n_q,)`` item indices (rows of the fitted embeddings).
        candidate_items : ``(n_c,)`` item indices, optional (all items when None).
        text_weight : float >= 0, default 1
            Scales the towers' term; 1 is the trained model, 0 the prior alone.
        level : {'base', 'group', 'category'}, default 'category'
            Level of the prior in :meth:`bias`.

        Returns
        -------
        ``(n_q, n_c)`` float32; ``softmax`` over a candidate set estimates ``P(b | a)`` restricted
        to it. Higher = more likely bought together.
        """
        _check_float("text_weight", text_weight, 0.0, low_open=False)
        out = self.similarity(query_items, candidate_items) * np.float32(text_weight)
        out += self.bias(query_items, candidate_items, level)
        return out.astype(np.float32, copy=False)
