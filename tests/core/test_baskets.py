"""core.baskets: order lines -> binary basket x item CSR matrix."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from core import schema as S
from core.baskets import build_baskets
from core.errors import EmptyDataError


def lines(*pairs) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=[S.ORDER_ID, S.PRODUCT_ID])


def test_matrix_ids_and_counts():
    b = build_baskets(lines(("o1", "A"), ("o1", "B"), ("o2", "B"), ("o3", "C"), ("o3", "A")))
    assert b.item_ids.tolist() == ["A", "B", "C"]          # first appearance
    assert b.basket_ids.tolist() == ["o1", "o2", "o3"]
    assert isinstance(b.basket_items, sp.csr_matrix) and b.basket_items.dtype == np.float32
    assert b.basket_items.toarray().tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    assert b.n_baskets == 3
    assert b.item_counts.tolist() == [2, 2, 1]            # A in o1, o3; B in o1, o2; C in o3


def test_repeated_product_in_one_order_counts_once():
    # o1 holds A on three lines (e.g. two sizes and a re-add), B once
    b = build_baskets(lines(("o1", "A"), ("o1", "A"), ("o1", "B"), ("o1", "A"), ("o2", "A")))
    assert b.basket_items.toarray().tolist() == [[1, 1], [1, 0]]
    assert b.basket_items.data.tolist() == [1.0, 1.0, 1.0]   # stored entries are 1, never 3
    assert b.item_counts.tolist() == [2, 1]


def test_item_universe_order_is_respected_and_unknown_items_ignored():
    # the catalog fixes the columns: C, A, B, D (D never bought); X is not in the catalog
    orders = lines(("o1", "A"), ("o1", "X"), ("o2", "X"), ("o3", "B"), ("o3", "C"))
    b = build_baskets(orders, item_ids=["C", "A", "B", "D"])
    assert b.item_ids.tolist() == ["C", "A", "B", "D"]
    # o2 holds only the unknown X: it is not a basket at all
    assert b.basket_ids.tolist() == ["o1", "o3"]
    assert b.basket_items.toarray().tolist() == [[0, 1, 0, 0], [1, 0, 1, 0]]
    assert b.item_counts.tolist() == [1, 1, 1, 0]


def test_numeric_ids_match_text_catalog_ids():
    # order lines read by another tool may hold ints; the catalog's ids are text
    orders = pd.DataFrame({S.ORDER_ID: [1, 1, 2], S.PRODUCT_ID: [7, 8, 7]})
    b = build_baskets(orders, item_ids=["7", "8"])
    assert b.basket_items.toarray().tolist() == [[1, 1], [1, 0]]


def test_custom_column_names():
    df = pd.DataFrame({"basket": ["x", "x", "y"], "sku": ["A", "B", "A"]})
    b = build_baskets(df, order_col="basket", item_col="sku")
    assert b.basket_ids.tolist() == ["x", "y"] and b.item_counts.tolist() == [2, 1]


def test_no_known_item_raises_empty_data_error():
    with pytest.raises(EmptyDataError, match="no order line names a product of the catalog"):
        build_baskets(lines(("o1", "X"), ("o2", "Y")), item_ids=["A", "B"])


def test_no_order_lines_raises_empty_data_error():
    with pytest.raises(EmptyDataError, match="no order line names a product"):
        build_baskets(lines(), item_ids=["A"])
