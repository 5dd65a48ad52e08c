"""core.evaluation.offline: two real strategies on a tiny shop whose every metric is worked out by hand."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core import schema as S
from core.errors import EmptyDataError
from core.evaluation import leave_last_order_out
from core.evaluation.offline import (EVALUATION_COLUMNS, METRICS, default_strategies, evaluate_strategies,
                                     evaluate_workspace, held_out)
from core.pipeline import BuildSettings, build_model
from core.recommend import LiftOnly, PopularUnseenCategories

CATALOG = pd.DataFrame({S.PRODUCT_ID: ["Y1", "G1", "H1", "O1", "Y2"],
                        S.TITLE: ["Yogurt", "Granola", "Honey", "Oil", "Skyr"],
                        S.CATEGORY: ["Dairy", "Breakfast", "Pantry", "Auto", "Dairy"]})
# order_number decides the last order: c1 holds out H1, c2 holds out Y2 + O1, c3 holds out G1; c4 has one order
ORDERS = pd.DataFrame([
    ("o1", "Y1", "c1", 1), ("o1", "G1", "c1", 1), ("o5", "H1", "c1", 2),
    ("o2", "Y1", "c2", 1), ("o2", "G1", "c2", 1), ("o6", "Y2", "c2", 2), ("o6", "O1", "c2", 2),
    ("o3", "Y1", "c3", 1), ("o3", "H1", "c3", 1), ("o7", "G1", "c3", 2),
    ("o4", "O1", "c4", 1),
], columns=[S.ORDER_ID, S.PRODUCT_ID, S.CUSTOMER_ID, S.ORDER_NUMBER]).assign(**{S.QUANTITY: 1})

L3 = 1 / math.log2(3)
# Training baskets {Y1, G1} x2, {Y1, H1}, {O1}: basket counts Y1 3, G1 2, H1 1, O1 1, Y2 0.
# Novelty: N = 4 training customers; buyers Y1 3, G1 2, H1 1, O1 1, Y2 0 (-> 1): bits log2(4/k).
#
# popular in unseen categories, k = 2 (ties by catalog position):
#   c1 bought Dairy, Breakfast -> [H1, O1]; truth {H1}: hit at 1 -> P 1/2, R 1, NDCG 1, AP 1
#   c2 bought Dairy, Breakfast -> [H1, O1]; truth {Y2, O1}: hit at 2 -> P 1/2, R 1/2, NDCG L3/(1+L3), AP (1/2)/2
#   c3 bought Dairy, Pantry    -> [G1, O1]; truth {G1}: hit at 1 -> P 1/2, R 1, NDCG 1, AP 1
#   every held-out item is new; cross-category (level 1) drops Y2 (c2 bought Dairy): c2's truth {O1} found at 2
#   coverage {H1, O1, G1} = 3/5; novelty c1 (2 + 2)/2, c2 2, c3 (1 + 2)/2
# lift only, k = 2 (only Y1-G1 reaches min_pair_count 2; lift 4*2/(3*2)):
#   c1, c2 bought Y1 and G1: nothing left to show (empty lists: misses); c3 bought Y1 -> [G1]: hit
#   coverage {G1} = 1/5; novelty only c3 (the others were shown nothing): 1 bit
EXPECTED = {
    "popular in unseen categories": {
        "precision": 0.5, "recall": 2.5 / 3, "ndcg": (2 + L3 / (1 + L3)) / 3, "map": 2.25 / 3, "hit_rate": 1.0,
        "new_item_recall": 2.5 / 3, "new_item_ndcg": (2 + L3 / (1 + L3)) / 3, "new_item_hit_rate": 1.0,
        "cross_category_recall": 1.0, "cross_category_ndcg": (2 + L3) / 3, "cross_category_hit_rate": 1.0,
        "coverage": 3 / 5, "novelty": 5.5 / 3},
    "lift only": {
        "precision": 1 / 6, "recall": 1 / 3, "ndcg": 1 / 3, "map": 1 / 3, "hit_rate": 1 / 3,
        "new_item_recall": 1 / 3, "new_item_ndcg": 1 / 3, "new_item_hit_rate": 1 / 3,
        "cross_category_recall": 1 / 3, "cross_category_ndcg": 1 / 3, "cross_category_hit_rate": 1 / 3,
        "coverage": 1 / 5, "novelty": 1.0},
}


@pytest.fixture(scope="module")
def split():
    train, test = leave_last_order_out(ORDERS)
    return build_model(CATALOG, train, settings=BuildSettings(use_text=False)), test


def test_evaluate_strategies_known_answer(split):
    model, test = split
    out = evaluate_strategies(model, test, {"popular in unseen categories": PopularUnseenCategories(),
                                            "lift only": LiftOnly()}, k=2, n_boot=300, seed=0)
    assert tuple(out.columns) == EVALUATION_COLUMNS
    assert out["metric"].tolist() == list(METRICS) * 2 and (out["k"] == 2).all()
    got = {s: dict(zip(g["metric"], g["value"])) for s, g in out.groupby("strategy", sort=False)}
    for strategy, values in EXPECTED.items():
        for metric, value in values.items():
            assert got[strategy][metric] == pytest.approx(value), (strategy, metric)
    assert (out["ci_low"] <= out["value"] + 1e-12).all() and (out["value"] <= out["ci_high"] + 1e-12).all()
    # 3 held-out customers; each has a new and an other-category item; novelty counts customers shown something
    assert out.attrs["held_out_customers"] == 3
    assert out.attrs["customers"]["cross_category_recall"] == 3


def test_seed_fixes_intervals_and_paired_resamples(split):
    model, test = split
    a = evaluate_strategies(model, test, {"p": PopularUnseenCategories()}, k=2, n_boot=200, seed=5)
    b = evaluate_strategies(model, test, {"p": PopularUnseenCategories()}, k=2, n_boot=200, seed=5)
    pd.testing.assert_frame_equal(a, b)
    # the same strategy under two names gets the same intervals (same customers, same resamples)
    both = evaluate_strategies(model, test, {"x": PopularUnseenCategories(), "y": PopularUnseenCategories()},
                               k=2, n_boot=200, seed=5)
    x, y = (both[both["strategy"] == n].drop(columns="strategy").reset_index(drop=True) for n in "xy")
    pd.testing.assert_frame_equal(x, y)


def test_category_level_changes_cross_category_truth():
    # with two levels, "Dairy > Yogurt" and "Dairy > Skyr" differ at level 2: c2's held-out Y2 counts as
    # another category there, not at level 1
    cat = CATALOG.assign(**{S.CATEGORY: ["Dairy > Yogurt", "Breakfast", "Pantry", "Auto", "Dairy > Skyr"]})
    train, test = leave_last_order_out(ORDERS)
    model = build_model(cat, train, settings=BuildSettings(use_text=False))
    one = held_out(model, test, category_level=1)
    two = held_out(model, test, category_level=2)
    from core.evaluation.metrics import cross_category_truth
    row = list(one.customer_ids).index("c2")
    y2 = model.item_index(["Y2"])[0]
    assert cross_category_truth(one.truth, one.history, one.item_categories)[row, y2] == 0
    assert cross_category_truth(two.truth, two.history, two.item_categories)[row, y2] == 1


def test_evaluate_workspace_splits_and_builds():
    out = evaluate_workspace(CATALOG, ORDERS, strategies={"popular in unseen categories": PopularUnseenCategories()},
                             k=2, n_boot=100)
    got = dict(zip(out["metric"], out["value"]))
    assert got["recall"] == pytest.approx(EXPECTED["popular in unseen categories"]["recall"])
    assert out.attrs["train_orders"] == 4 and out.attrs["test_orders"] == 3


def test_default_strategies_are_the_registry():
    from core.recommend import STRATEGIES
    found = default_strategies()
    assert set(STRATEGIES) <= set(found)
    for s in found.values():
        assert callable(s.fit) and callable(s.recommend_many)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"k": 0}, ValueError, "k must be >= 1, got 0"),
    ({"k": 2.5}, TypeError, "k must be an int"),
    ({"n_boot": 0}, ValueError, "n_boot must be >= 1"),
    ({"strategies": {}}, ValueError, "strategies is empty"),
    ({"category_level": 0}, ValueError, "category_level must be an int >= 1"),
])
def test_bad_arguments(split, kwargs, exc, match):
    model, test = split
    args = {"strategies": {"p": PopularUnseenCategories()}, **kwargs}
    with pytest.raises(exc, match=match):
        evaluate_strategies(model, test, **args)


def test_no_known_customer(split):
    model, _ = split
    stranger = pd.DataFrame({S.CUSTOMER_ID: ["nobody"], S.PRODUCT_ID: ["Y1"]})
    with pytest.raises(EmptyDataError, match="no held-out customer"):
        evaluate_strategies(model, stranger, {"p": PopularUnseenCategories()})
    with pytest.raises(EmptyDataError, match="no customer has two or more orders"):
        evaluate_workspace(CATALOG, ORDERS[ORDERS[S.ORDER_NUMBER] == 1], strategies={"p": PopularUnseenCategories()})


def test_rule_set_changes_the_evaluation():
    from core.rules import RuleSet
    # excluding Pantry removes H1 from every slate: c1 (truth {H1}) now misses, c2 is shown [O1] only
    # (recall 1/2 as before), c3 keeps [G1, O1]: recall (0 + 1/2 + 1)/3 instead of 2.5/3
    out = evaluate_workspace(CATALOG, ORDERS, strategies={"p": PopularUnseenCategories()}, k=2, n_boot=50,
                             rules=RuleSet(name="no pantry", exclude_categories=("Pantry",)))
    got = dict(zip(out["metric"], out["value"]))
    assert got["recall"] == pytest.approx(0.5)
    assert got["coverage"] == pytest.approx(2 / 5)            # {O1, G1}
    assert out.attrs["rules"]["name"] == "no pantry"
