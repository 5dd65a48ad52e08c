"""Pair drill-down and neighbours, on a five-basket shop checked by hand."""
import pandas as pd
import pytest

from core import schema as S
from core.explain import neighbours, pair_details
from core.pipeline import BuildSettings, build_model
from core.affinity import AffinitySettings

CATALOG = pd.DataFrame({S.PRODUCT_ID: ["Y", "G", "T", "M"], S.TITLE: ["Yogurt", "Granola", "Tea", "Mug"],
                        S.CATEGORY: ["dairy", "breakfast", "drinks", "kitchen"]})
# baskets: 1 {Y,G}, 2 {Y,G,T}, 3 {Y}, 4 {T,M}, 5 {G}
ORDERS = pd.DataFrame({S.ORDER_ID: ["1", "1", "2", "2", "2", "3", "4", "4", "5"],
                       S.PRODUCT_ID: ["Y", "G", "Y", "G", "T", "Y", "T", "M", "G"],
                       S.CUSTOMER_ID: ["a", "a", "a", "a", "a", "b", "b", "b", "b"]})


@pytest.fixture(scope="module")
def model():
    return build_model(CATALOG, ORDERS, settings=BuildSettings(AffinitySettings(min_pair_count=1), use_text=False))


def test_pair_details_shows_the_baskets_and_a_checkable_reason(model):
    d = pair_details(model, "Y", "G")
    # n=5, n_Y=3, n_G=3, n_YG=2: lift = 5*2/(3*3) = 1.111; confidence Y->G = 2/3 = 67%
    assert sorted(d.example_baskets["basket_id"]) == ["1", "2"]
    assert "2 of 5 baskets hold both (lift 1.1" in d.reason
    assert "67% of baskets with Yogurt also hold Granola" in d.reason
    assert d.stats["pair_count"] == 2 and d.stats["lift"] == pytest.approx(10 / 9)
    assert "Yogurt · Granola · Tea" in d.example_baskets["items"].tolist()


def test_pair_without_shared_baskets_says_so(model):
    d = pair_details(model, "Y", "M")
    assert d.example_baskets.empty and d.stats == {}
    assert d.reason == "no basket holds both Yogurt and Mug"


def test_unknown_product_raises(model):
    with pytest.raises(KeyError, match="not in the catalog: Z"):
        pair_details(model, "Y", "Z")


def test_neighbours_are_cross_category_and_sorted(model):
    nb = neighbours(model, "T")
    assert set(nb["consequent_id"]) == {"Y", "G", "M"}  # T's partners: Y, G (basket 2), M (basket 4)
    assert nb["affinity"].is_monotonic_decreasing
