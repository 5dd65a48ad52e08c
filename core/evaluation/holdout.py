"""Ground the experiments in held-out data: would each strategy's slate have converted each customer?"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd

from core import schema as S


def slate_hits(strategies: Sequence, test: pd.DataFrame, k: int = 10,
               progress: Callable[[float, str], None] | None = None) -> pd.DataFrame:
    """Whether each strategy's top-k slate contains an item of each customer's held-out order.

    Parameters
    ----------
    strategies : sequence of fitted Strategy (fit on the training orders only).
    test : DataFrame
        Held-out order lines (customer_id, product_id), e.g. from ``leave_last_order_out``.
    k : int >= 1
        Slate size.

    Returns
    -------
    DataFrame indexed by customer_id, one 0/1 column per strategy name (a converted visit = 1).
    Customers the strategies know nothing about (no training history) are left out.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    truth = test.groupby(S.CUSTOMER_ID)[S.PRODUCT_ID].agg(lambda s: set(map(str, s)))
    model = strategies[0].model
    customers = [c for c in truth.index if model.customer_row(c) >= 0]
    out = np.zeros((len(customers), len(strategies)), dtype=np.int8)
    total = len(customers) * len(strategies)
    step = 64
    for j, strat in enumerate(strategies):
        for start in range(0, len(customers), step):
            chunk = customers[start:start + step]
            for i, rec in enumerate(strat.recommend_many(chunk, k), start=start):
                out[i, j] = bool(truth[customers[i]].intersection(map(str, rec.ids)))
            if progress:
                done = min(start + step, len(customers))
                progress((j * len(customers) + done) / total, f"{strat.name}: customer {done:,} of {len(customers):,}")
    if progress:
        progress(1.0, "slates scored")
    return pd.DataFrame(out, index=pd.Index(customers, name=S.CUSTOMER_ID), columns=[s.name for s in strategies])
