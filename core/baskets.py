"""Order lines -> binary basket x item sparse matrix (CSR) with id maps."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core import schema as S
from core.errors import EmptyDataError


@dataclass(frozen=True)
class Baskets:
    """One basket per order.

    Attributes
    ----------
    basket_items : scipy.sparse.csr_matrix
        ``(n_baskets, n_items)`` float32, 1 where the basket holds the item (a product repeated in
        one order counts once).
    basket_ids : numpy.ndarray
        ``(n_baskets,)`` order ids.
    item_ids : numpy.ndarray
        ``(n_items,)`` product ids; column j of ``basket_items`` is ``item_ids[j]``.
    """

    basket_items: sp.csr_matrix
    basket_ids: np.ndarray
    item_ids: np.ndarray

    @property
    def n_baskets(self) -> int:
        return self.basket_items.shape[0]

    @property
    def item_counts(self) -> np.ndarray:
        """``(n_items,)`` number of baskets holding each item (n_A)."""
        return np.asarray(self.basket_items.sum(axis=0)).ravel().astype(np.int64)


def build_baskets(orders: pd.DataFrame, item_ids=None, order_col: str = S.ORDER_ID,
                  item_col: str = S.PRODUCT_ID) -> Baskets:
    """Build the basket x item matrix.

    Parameters
    ----------
    orders : DataFrame
        Columns ``order_col`` and ``item_col``; one row per order line.
    item_ids : array-like, optional
        Fix the item universe and column order (e.g. the catalog). Lines naming other items are
        ignored here; report them with :meth:`core.store.WorkspaceData.unknown_products`.
        Items never bought get an empty column.

    Returns
    -------
    Baskets

    Raises
    ------
    EmptyDataError
        No order line names a known item.
    """
    o = orders[[order_col, item_col]]
    if item_ids is None:
        item_ids = np.asarray(pd.unique(o[item_col].astype(str)), dtype=object)
    else:
        item_ids = np.asarray(item_ids, dtype=object)
    index = pd.Index(item_ids)
    cols = index.get_indexer(o[item_col].astype(str))
    keep = cols >= 0
    if not keep.any():
        raise EmptyDataError("no order line names a product of the catalog")
    rows, basket_ids = pd.factorize(o[order_col].to_numpy()[keep])
    mat = sp.csr_matrix((np.ones(keep.sum(), dtype=np.float32), (rows, cols[keep])),
                        shape=(len(basket_ids), len(item_ids)))
    mat.sum_duplicates()
    mat.data[:] = 1.0  # duplicates in a basket count once
    return Baskets(mat, np.asarray(basket_ids, dtype=object), item_ids)
