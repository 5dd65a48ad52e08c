"""Temporal splits of order lines."""
from __future__ import annotations

import numpy as np
import pandas as pd

from core import schema as S
from core.errors import EmptyDataError


def order_sequence(orders: pd.DataFrame) -> pd.DataFrame:
    """One row per (customer, order) with its position in the customer's history.

    Orders are put in sequence by ``ordered_at`` when present, else ``order_number``, else their
    first appearance in the file.

    Returns
    -------
    DataFrame with columns customer_id, order_id, seq (0-based), n_orders (per customer).
    """
    o = orders[orders[S.CUSTOMER_ID].notna()]
    first = o.groupby([S.CUSTOMER_ID, S.ORDER_ID], sort=False).agg(
        _pos=(S.ORDER_ID, lambda s: s.index.min()),
        _at=(S.ORDERED_AT, "min") if S.ORDERED_AT in o else (S.ORDER_ID, lambda s: pd.NaT),
        _num=(S.ORDER_NUMBER, "min") if S.ORDER_NUMBER in o else (S.ORDER_ID, lambda s: np.nan),
    ).reset_index()
    keys = [k for k in ("_at", "_num") if first[k].notna().any()] + ["_pos"]
    first = first.sort_values([S.CUSTOMER_ID, *keys], kind="stable")
    first["seq"] = first.groupby(S.CUSTOMER_ID).cumcount()
    first["n_orders"] = first.groupby(S.CUSTOMER_ID)[S.ORDER_ID].transform("size")
    return first[[S.CUSTOMER_ID, S.ORDER_ID, "seq", "n_orders"]].reset_index(drop=True)


def leave_last_order_out(orders: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out each customer's last order (customers with >= 2 orders).

    Parameters
    ----------
    orders : DataFrame
        Canonical order lines (needs order_id, product_id, customer_id; ordered_at or order_number
        decide the order, see :func:`order_sequence`).

    Returns
    -------
    (train, test) : order lines. ``train`` keeps every line not held out, including lines without a
    customer id (they still count for baskets); ``test`` holds the last order of each customer with
    at least two orders.

    Raises
    ------
    EmptyDataError
        No customer has two orders.
    """
    if S.CUSTOMER_ID not in orders:
        raise EmptyDataError("orders have no customer_id column: a held-out split needs customers")
    seq = order_sequence(orders)
    last = seq[(seq["n_orders"] >= 2) & (seq["seq"] == seq["n_orders"] - 1)]
    if last.empty:
        raise EmptyDataError("no customer has two or more orders: nothing to hold out")
    key = pd.MultiIndex.from_frame(orders[[S.CUSTOMER_ID, S.ORDER_ID]].astype(object))
    held = key.isin(pd.MultiIndex.from_frame(last[[S.CUSTOMER_ID, S.ORDER_ID]].astype(object)))
    return orders[~held].reset_index(drop=True), orders[held].reset_index(drop=True)
