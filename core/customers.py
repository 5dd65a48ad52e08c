"""Customer profiles: category shares, number of orders, last order, purchase history."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core import schema as S
from core.evaluation.split import order_sequence
from core.model import category_at_level


@dataclass(frozen=True)
class CustomerProfile:
    """One customer's behaviour.

    Attributes
    ----------
    customer_id : str
    n_orders, n_lines, n_products : int
    last_order : str
        ``ordered_at`` of the last order when dates exist, else "#n" (its order_number), else its id.
    category_shares : DataFrame
        category, lines, share (in [0, 1], sums to 1), sorted by share descending.
    history : DataFrame
        product_id, title, category, times_bought (lines), orders (distinct orders), sorted by times_bought.
    """

    customer_id: str
    n_orders: int
    n_lines: int
    n_products: int
    last_order: str
    category_shares: pd.DataFrame
    history: pd.DataFrame


def customer_summary(orders: pd.DataFrame) -> pd.DataFrame:
    """One row per customer: customer_id, orders, lines, products; sorted by orders descending."""
    o = orders[orders[S.CUSTOMER_ID].notna()]
    g = o.groupby(S.CUSTOMER_ID)
    out = pd.DataFrame({"orders": g[S.ORDER_ID].nunique(), "lines": g.size(), "products": g[S.PRODUCT_ID].nunique()})
    return out.reset_index().sort_values(["orders", S.CUSTOMER_ID], ascending=[False, True], kind="stable") \
        .reset_index(drop=True)


def customer_profile(customer_id, orders: pd.DataFrame, catalog: pd.DataFrame, level: int = 1) -> CustomerProfile:
    """Profile of one customer from the canonical orders and catalog.

    Raises
    ------
    KeyError
        The customer has no order lines.
    """
    cid = str(customer_id)
    o = orders[orders[S.CUSTOMER_ID].astype(str) == cid]
    if o.empty:
        raise KeyError(f"customer {cid!r} has no orders")
    cat = catalog.set_index(S.PRODUCT_ID)
    titles = o[S.PRODUCT_ID].map(cat[S.TITLE]).fillna("(not in catalog)")
    cats = pd.Series(category_at_level(o[S.PRODUCT_ID].map(cat[S.CATEGORY]) if S.CATEGORY in cat else
                                       pd.Series([None] * len(o)), level), index=o.index)
    hist = pd.DataFrame({S.PRODUCT_ID: o[S.PRODUCT_ID], "title": titles, "category": cats, S.ORDER_ID: o[S.ORDER_ID]})
    history = (hist.groupby([S.PRODUCT_ID, "title", "category"])
               .agg(times_bought=(S.ORDER_ID, "size"), orders=(S.ORDER_ID, "nunique")).reset_index()
               .sort_values(["times_bought", "title"], ascending=[False, True], kind="stable").reset_index(drop=True))
    shares = cats.value_counts().rename_axis("category").reset_index(name="lines")
    shares["share"] = shares["lines"] / shares["lines"].sum()
    seq = order_sequence(o)
    last_id = seq.loc[seq["seq"].idxmax(), S.ORDER_ID]
    last_lines = o[o[S.ORDER_ID] == last_id]
    if S.ORDERED_AT in o and last_lines[S.ORDERED_AT].notna().any():
        last = str(pd.Timestamp(last_lines[S.ORDERED_AT].max()))
    elif S.ORDER_NUMBER in o and last_lines[S.ORDER_NUMBER].notna().any():
        last = f"#{int(last_lines[S.ORDER_NUMBER].max())}"
    else:
        last = f"order {last_id}"
    return CustomerProfile(cid, int(o[S.ORDER_ID].nunique()), int(len(o)), int(o[S.PRODUCT_ID].nunique()), last,
                           shares, history)
