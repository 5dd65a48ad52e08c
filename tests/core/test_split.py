"""core.evaluation.split: leave-last-order-out on tiny hand-made frames.

Customers: c1 has three orders, c2 one, c3 two; o5 has no customer id.
"""
from __future__ import annotations

import pandas as pd
import pytest

from core import schema as S
from core.errors import EmptyDataError
from core.evaluation import leave_last_order_out, order_sequence

# file order on purpose differs from time order: c1's o3 comes first in the file
BASE = pd.DataFrame({
    S.ORDER_ID: ["o3", "o3", "o1", "o2", "o4", "o5", "o6", "o7"],
    S.PRODUCT_ID: ["A", "B", "C", "D", "E", "F", "G", "H"],
    S.CUSTOMER_ID: ["c1", "c1", "c1", "c1", "c2", None, "c3", "c3"],
})


def products(frame: pd.DataFrame) -> list[str]:
    return sorted(frame[S.PRODUCT_ID])


def test_by_order_number():
    o = BASE.assign(**{S.ORDER_NUMBER: pd.array([3, 3, 2, 1, 1, None, 1, 2], dtype="Int64")})
    train, test = leave_last_order_out(o)
    # c1: numbers o2=1, o1=2, o3=3 -> hold out o3 (A, B); c3: o6=1, o7=2 -> hold out o7 (H)
    assert products(test) == ["A", "B", "H"]
    # c2 has one order (E) and o5 has no customer (F): both stay in train
    assert products(train) == ["C", "D", "E", "F", "G"]
    assert len(train) + len(test) == len(o)
    assert list(train.columns) == list(o.columns)


def test_by_ordered_at():
    at = pd.to_datetime(["2024-03-01", "2024-03-01", "2024-01-01", "2024-02-01", "2024-01-01", None,
                         "2024-05-01", "2024-04-01"])
    train, test = leave_last_order_out(BASE.assign(**{S.ORDERED_AT: at}))
    # c1: o1 Jan, o2 Feb, o3 Mar -> o3; c3: o7 Apr, o6 May -> o6 (G), although o7 is later in the file
    assert products(test) == ["A", "B", "G"]
    assert products(train) == ["C", "D", "E", "F", "H"]


def test_ordered_at_wins_over_order_number_and_numbers_break_ties():
    o = BASE.assign(**{
        S.ORDERED_AT: pd.to_datetime(["2024-02-01", "2024-02-01", "2024-02-01", "2024-01-01", "2024-01-01", None,
                                      "2024-05-01", "2024-04-01"]),
        # c3: the numbers put o6 (1) before o7 (2); the dates put o7 (Apr) before o6 (May)
        S.ORDER_NUMBER: pd.array([2, 2, 3, 1, 1, None, 1, 2], dtype="Int64"),
    })
    seq = order_sequence(o)
    # c1: o2 (Jan) first; o3 and o1 share Feb 1, order_number 2 < 3 -> o3 then o1
    assert seq[seq[S.CUSTOMER_ID] == "c1"][S.ORDER_ID].tolist() == ["o2", "o3", "o1"]
    # c3: dates say o7 (Apr) then o6 (May), whatever the numbers say
    assert seq[seq[S.CUSTOMER_ID] == "c3"][S.ORDER_ID].tolist() == ["o7", "o6"]
    _, test = leave_last_order_out(o)
    assert products(test) == ["C", "G"]


def test_without_dates_or_numbers_file_order_decides():
    train, test = leave_last_order_out(BASE)
    # first appearance: c1 o3, o1, o2 -> o2 (D) last; c3 o6, o7 -> o7 (H)
    assert products(test) == ["D", "H"]
    assert products(train) == ["A", "B", "C", "E", "F", "G"]


def test_order_sequence_columns_and_counts():
    seq = order_sequence(BASE)
    assert list(seq.columns) == [S.CUSTOMER_ID, S.ORDER_ID, "seq", "n_orders"]
    assert seq.values.tolist() == [["c1", "o3", 0, 3], ["c1", "o1", 1, 3], ["c1", "o2", 2, 3],
                                   ["c2", "o4", 0, 1], ["c3", "o6", 0, 2], ["c3", "o7", 1, 2]]


def test_input_is_not_mutated():
    o = BASE.copy()
    leave_last_order_out(o)
    pd.testing.assert_frame_equal(o, BASE)


def test_no_customer_with_two_orders():
    o = BASE[BASE[S.CUSTOMER_ID].isin(["c2"]) | BASE[S.CUSTOMER_ID].isna()]
    with pytest.raises(EmptyDataError, match="no customer has two or more orders"):
        leave_last_order_out(o)


def test_no_customer_column():
    with pytest.raises(EmptyDataError, match="orders have no customer_id column"):
        leave_last_order_out(BASE.drop(columns=S.CUSTOMER_ID))


def test_instacart_fixture_split(instacart_tables):
    _, orders = instacart_tables
    train, test = leave_last_order_out(orders)
    # every fixture customer has 3-63 orders: one held-out order each, the highest order_number
    held = test.groupby(S.CUSTOMER_ID)[S.ORDER_ID].nunique()
    assert len(held) == 60 and (held == 1).all()
    last = orders.groupby(S.CUSTOMER_ID)[S.ORDER_NUMBER].max()
    assert (test.groupby(S.CUSTOMER_ID)[S.ORDER_NUMBER].max() == last).all()
    assert len(train) + len(test) == len(orders) == 8443
    assert not set(test[S.ORDER_ID]) & set(train[S.ORDER_ID])
