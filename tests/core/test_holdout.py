"""core.evaluation.holdout.slate_hits on a tiny shop (see test_recommend for its baskets)."""
from __future__ import annotations

import pandas as pd
import pytest

from core import schema as S
from core.evaluation import slate_hits
from core.pipeline import BuildSettings, build_model
from core.recommend import LiftOnly, PopularUnseenCategories

CATALOG = pd.DataFrame({S.PRODUCT_ID: ["Y1", "G1", "H1", "O1"], S.TITLE: ["Yogurt", "Granola", "Honey", "Oil"],
                        S.CATEGORY: ["Dairy", "Breakfast", "Pantry", "Auto"]})
# training baskets: Y1+G1 twice, Y1+H1 once, O1 once
TRAIN = pd.DataFrame([("o1", "Y1", "c1"), ("o1", "G1", "c1"), ("o2", "Y1", "c2"), ("o2", "G1", "c2"),
                      ("o3", "Y1", "c3"), ("o3", "H1", "c3"), ("o4", "O1", "c4")],
                     columns=[S.ORDER_ID, S.PRODUCT_ID, S.CUSTOMER_ID]).assign(**{S.QUANTITY: 1})


@pytest.fixture(scope="module")
def strategies():
    m = build_model(CATALOG, TRAIN, settings=BuildSettings(use_text=False))
    return [PopularUnseenCategories().fit(m), LiftOnly().fit(m)]


def test_slate_hits_by_hand(strategies):
    test = pd.DataFrame({S.CUSTOMER_ID: ["c3", "c3", "c4", "stranger"], S.PRODUCT_ID: ["G1", "Y1", "H1", "Y1"]})
    hits = slate_hits(strategies, test, k=1)
    # c3 bought Y1, H1 (Dairy, Pantry). popular k=1: G1 and O1 unseen, G1 in 2 baskets -> G1: hit.
    #   lift: Y1 -> G1 lift 4*2/(3*2) = 1.33 (n = 2): G1: hit.
    # c4 bought O1 (Auto). popular k=1: Y1 (3 baskets) -> held-out H1: miss. lift: O1 has no pairs: miss.
    # 'stranger' has no training history: left out
    assert hits.index.tolist() == ["c3", "c4"] and hits.index.name == S.CUSTOMER_ID
    assert list(hits.columns) == ["popular in unseen categories", "lift only"]
    assert hits.values.tolist() == [[1, 1], [0, 0]]


def test_slate_hits_k(strategies):
    test = pd.DataFrame({S.CUSTOMER_ID: ["c4"], S.PRODUCT_ID: ["H1"]})
    # k = 3: c4's popular slate is Y1 (3), G1 (2), H1 (1): the held-out H1 is in it
    assert slate_hits(strategies, test, k=3).values.tolist() == [[1, 0]]
    with pytest.raises(ValueError, match=r"k must be >= 1, got 0"):
        slate_hits(strategies, test, k=0)
