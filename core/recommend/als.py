"""Matrix factorisation: implicit-feedback ALS through the ``implicit`` library (CPU).

Hu, Koren & Volinsky (2008), "Collaborative Filtering for Implicit Feedback Datasets", ICDM, as
implemented by ``implicit.cpu.als.AlternatingLeastSquares`` 0.7: preference p_ui = 1 where customer u
bought item i, confidence c_ui = alpha * r_ui (r_ui = order lines; implicit 0.7 multiplies the matrix by
alpha and treats unobserved entries as c = 1, p = 0), and

    minimise  sum_ui c_ui (p_ui - x_u . y_i)^2 + regularization * (|x_u|^2 + |y_i|^2).

Only the item factors y are kept from training. At recommendation time the customer's factors are
solved exactly from their history against them (implicit's ``recalculate_user``; section 5 of the paper):

    W_u = (Y^T Y + regularization I + sum_h (c_uh - 1) y_h y_h^T)^-1,   x_u = W_u sum_h c_uh y_h,

so score_uj = y_j . x_u = sum_h c_uh y_j^T W_u y_h splits exactly into one contribution per bought item h;
the reason names the item with the largest contribution.
"""
from __future__ import annotations

import numbers

import numpy as np

from core.recommend.base import Strategy


def _positive_number(name, v):
    if not isinstance(v, numbers.Real) or isinstance(v, bool):
        raise TypeError(f"{name} must be a number, got {type(v).__name__}")
    if not v > 0:
        raise ValueError(f"{name} must be > 0, got {v}")


def _positive_int(name, v):
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
        raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    if v < 1:
        raise ValueError(f"{name} must be >= 1, got {v}")


class ImplicitALS(Strategy):
    """ALS matrix factorisation of ``model.user_items`` (customer x item order lines).

    Parameters
    ----------
    factors : int >= 1, latent dimensions.
    regularization : float > 0, L2 weight.
    iterations : int >= 1, ALS sweeps.
    alpha : float > 0, confidence per order line (c = alpha * lines).

    The defaults (32, 1.0, 15, 1.0) were chosen on a validation split carved from the demo's training
    period (each customer's second-to-last order held out, the last never seen; K = 10, 1,000 customers,
    core.evaluation.offline.evaluate_strategies): new-item NDCG@10 for factors 32 / 64 x alpha 1 / 5 / 20
    x regularization 0.01 / 0.1 / 1 ranged 0.024-0.038; best (32, alpha 1, reg 1) 0.038, then
    (32, 1, 0.01) 0.037; larger alpha or 64 factors were worse (0.024-0.033), popularity 0.033.
    random_state : int, seed of implicit's factor initialisation.
    num_threads : int >= 1, implicit's solver threads (1: the same factors on every machine and run).

    Attributes (after ``fit``)
    --------------------------
    item_factors_ : ``(n_items, factors)`` float64, implicit's item factors y_i.

    Raises
    ------
    TypeError / ValueError for parameters of the wrong type or range.
    """

    name = "ALS (implicit)"

    def __init__(self, factors: int = 32, regularization: float = 1.0, iterations: int = 15,
                 alpha: float = 1.0, random_state: int = 42, num_threads: int = 1):
        super().__init__()
        _positive_int("factors", factors)
        _positive_int("iterations", iterations)
        _positive_int("num_threads", num_threads)
        _positive_number("regularization", regularization)
        _positive_number("alpha", alpha)
        if not isinstance(random_state, (int, np.integer)) or isinstance(random_state, bool):
            raise TypeError(f"random_state must be an int, got {type(random_state).__name__}")
        self.factors, self.regularization, self.iterations = int(factors), float(regularization), int(iterations)
        self.alpha, self.random_state, self.num_threads = float(alpha), int(random_state), int(num_threads)

    def fit(self, model):
        super().fit(model)
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        # implicit draws the initial factors in row/column order: fit in a canonical order (customers and
        # products sorted by id) so the same data gives the same factors however the catalog was ordered
        # (the app reads it from the database, the CLI from the file)
        users = np.argsort(np.asarray(model.customer_ids, dtype=str), kind="stable")
        items = np.argsort(np.asarray(model.item_ids, dtype=str), kind="stable")
        ui = model.user_items.tocsr()[users][:, items].tocsr().astype(np.float32)
        with threadpool_limits(1, "blas"):  # implicit warns (and slows down) when BLAS runs its own threads
            als = AlternatingLeastSquares(factors=self.factors, regularization=self.regularization,
                                          alpha=self.alpha, iterations=self.iterations,
                                          random_state=self.random_state, num_threads=self.num_threads)
            als.fit(ui, show_progress=False)
        #: ``(n_items, factors)`` float64 item factors y_i
        self.item_factors_ = np.empty((model.n_items, self.factors), dtype=np.float64)
        self.item_factors_[items] = np.asarray(als.item_factors, dtype=np.float64)
        y = self.item_factors_
        self._gram = y.T @ y + self.regularization * np.eye(y.shape[1])
        return self

    def _solve(self, hist, counts):
        """(G ``(factors, len(hist))`` = W_u * c_uh y_h column by column, x_u = G.sum(1))."""
        y = self.item_factors_[hist]
        c = self.alpha * np.asarray(counts, dtype=np.float64)
        a = self._gram + (y.T * (c - 1.0)) @ y
        g = np.linalg.solve(a, y.T * c)
        return g

    def _prepare(self, histories):
        gs = [self._solve(h, c) for h, c in histories]
        x = np.stack([g.sum(axis=1) for g in gs])                  # (b, factors)
        scores = x @ self.item_factors_.T                          # (b, n_items)
        return [(g, s) for g, s in zip(gs, scores)]

    def _scores(self, hist, counts, prepared=None):
        m = self.model
        g, scores = prepared if prepared is not None else self._prepare([(hist, counts)])[0]

        def reason(j):
            contrib = self.item_factors_[j] @ g                    # (len(hist),), sums to scores[j]
            b = int(np.argmax(contrib))
            h = int(hist[b])
            times = int(counts[b])
            rest = "" if len(hist) == 1 else (f"; the other {len(hist) - 1} bought item"
                                                f"{'s' if len(hist) > 2 else ''} {scores[j] - contrib[b]:+.3f}")
            return (f"bought {m.describe_item(h)} {times} time{'s' if times != 1 else ''}: its factors add "
                    f"{contrib[b]:+.3f} to the score {scores[j]:.3f} (matrix factorisation{rest})")
        return scores, reason
