"""core.evaluation.complement_eval.complement_eval_table on a generic workspace (the Instacart fixture)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import schema as S
from core.complement import ComplementSettings
from core.errors import EmptyDataError
from core.evaluation.complement_eval import (METHODS, MODEL_CONFIGS, SLICES, ComplementEvalSettings,
                                             complement_eval_table)
from core.evaluation.split import leave_last_order_out

SMALL = ComplementEvalSettings(max_queries=120, max_valid_queries=60, grid_step=0.5, shortlist=20,
                               model=ComplementSettings(dim=8, hidden=8, epochs=1, max_pairs=2000))


def _vectors(n, d=24, seed=0):
    v = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_table_columns_slices_and_the_last_order_as_test(instacart_tables):
    catalog, orders = instacart_tables
    out = complement_eval_table(catalog, orders, _vectors(len(catalog)), SMALL)
    assert list(out.columns[:5]) == ["method", "slice", "queries", "hit_rate_at_10", "recall_at_10"]
    assert set(zip(out["method"], out["slice"])) == {(m, s) for m in METHODS for s in SLICES}
    assert out["recall_at_10"].dropna().between(0, 1).all()
    assert (out["recall_at_10"] <= out["hit_rate_at_10"] + 1e-12).dropna().all()
    # the test is the last order of each customer: queries come from those baskets only
    _, test = leave_last_order_out(orders)
    info = out.attrs["info"]
    assert "each customer's last order" in info["split"] and info["seconds"] > 0
    n_test_lines = len(test)
    assert 0 < info["test_queries_total"] <= n_test_lines
    # weights come from the validation split (one row per method and evidence bin)
    w = out.attrs["weights"]
    assert set(w["method"]) == {"cooccurrence_prior", "blended"} and len(w) == 2 * (len(SMALL.bins) + 1)
    # the complement model's configuration per bin, chosen on the same validation queries
    mc = out.attrs["model_config"]
    assert list(mc["bin"]) == list(range(len(SMALL.bins) + 1))
    assert set(zip(mc["text_weight"], mc["prior_level"])) <= set(MODEL_CONFIGS)
    assert (mc["validation_recall"] >= mc[["validation_recall_as_trained", "validation_recall_prior_only"]].max(axis=1)
            - 1e-12).all()
    blended_rows = w.loc[w["method"] == "blended", "validation_queries"].to_numpy()
    assert (mc["validation_queries"].to_numpy() == blended_rows).all()


def test_non_product_lines_are_left_out(instacart_tables):
    catalog, orders = instacart_tables
    base = complement_eval_table(catalog, orders, _vectors(len(catalog)), SMALL)
    # a postage line added to every order changes nothing once it is marked as such
    extra = orders.drop_duplicates(S.ORDER_ID).assign(**{S.PRODUCT_ID: str(catalog[S.PRODUCT_ID].iloc[0])})
    marked = pd.concat([orders.assign(**{S.LINE_TYPE: S.PRODUCT_LINE}),
                        extra.assign(**{S.LINE_TYPE: "postage"})], ignore_index=True)
    again = complement_eval_table(catalog, marked, _vectors(len(catalog)), SMALL)
    pd.testing.assert_frame_equal(base, again)


def test_errors(instacart_tables):
    catalog, orders = instacart_tables
    with pytest.raises(ValueError, match="embeddings have 3 rows"):
        complement_eval_table(catalog, orders, _vectors(3), SMALL)
    with pytest.raises(EmptyDataError, match="customer_id"):
        complement_eval_table(catalog, orders.drop(columns=[S.CUSTOMER_ID]), _vectors(len(catalog)), SMALL)
    one_order = orders[orders[S.ORDER_ID] == orders[S.ORDER_ID].iloc[0]]
    with pytest.raises(EmptyDataError, match="no customer has two or more orders"):
        complement_eval_table(catalog, one_order, _vectors(len(catalog)), SMALL)


def test_paired_difference_matches_the_table(instacart_tables):
    from core.evaluation.complement_eval import paired_difference

    catalog, orders = instacart_tables
    out = complement_eval_table(catalog, orders, _vectors(len(catalog)), SMALL)
    for s in SLICES:
        d, se, n = paired_difference(out, "blended", "popularity", s)
        row = out.set_index(["method", "slice"])
        assert n == row.loc[("blended", s), "queries"]
        if n:
            gap = row.loc[("blended", s), "recall_at_10"] - row.loc[("popularity", s), "recall_at_10"]
            assert d == pytest.approx(gap)
            assert se >= 0
    d, se, _ = paired_difference(out, "popularity", "popularity", "all")
    assert d == 0 and se == 0
