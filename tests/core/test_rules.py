"""core.rules and core.store.rules: each merchandiser rule on its own, on a tiny shop worked out by hand;
the CompiledRules interface; JSON and database round trips; bad inputs.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import schema as S
from core.errors import WorkspaceError
from core.pipeline import BuildSettings, build_model
from core.rules import CompiledRules, RuleSet, compile_rules
from core.store.repo import delete_workspace, ensure_workspace
from core.store.rules import (RuleSetNotFound, delete_rule_set, get_active_rule_set, list_rule_sets,
                              load_rule_set, save_rule_set, set_active_rule_set)

# --- a tiny shop ----------------------------------------------------------------------------------
#
# item  category               brand  catalog price  order-line prices
# Y1    Dairy > Yogurt         Acme   2.0            2.0 (c1)
# Y2    Dairy > Yogurt         Bmart  1.0            - (c2)
# M1    Dairy > Milk           -      1.5            -
# G1    Breakfast > Cereal     acme   4.0            4.0 (c1)
# H1    Pantry > Spreads       -      10.0           8.0 (c3)
# F1    Frozen > Frozen Pizza  Bmart  -              5.0 (c4), 7.0 (c5)   -> item price median 6.0
# O1    Auto > Oil             -      -              -                    -> no price
#
# reference prices: c1 median(2, 4) = 3; c2 1 (catalog price of Y2); c3 8 (the price paid, not 10);
# c4 5; c5 7.

CATALOG = pd.DataFrame({
    S.PRODUCT_ID: ["Y1", "Y2", "M1", "G1", "H1", "F1", "O1"],
    S.TITLE: ["Greek yogurt", "Plain yogurt", "Whole milk", "Granola", "Honey", "Pizza", "Motor oil"],
    S.CATEGORY: ["Dairy > Yogurt", "Dairy > Yogurt", "Dairy > Milk", "Breakfast > Cereal", "Pantry > Spreads",
                 "Frozen > Frozen Pizza", "Auto > Oil"],
    S.BRAND: ["Acme", "Bmart", None, "acme", None, "Bmart", None],
    S.PRICE: [2.0, 1.0, 1.5, 4.0, 10.0, None, None],
})
ORDERS = pd.DataFrame(
    [("o1", "Y1", "c1", 2.0), ("o1", "G1", "c1", 4.0), ("o2", "Y2", "c2", None), ("o3", "H1", "c3", 8.0),
     ("o4", "F1", "c4", 5.0), ("o5", "F1", "c5", 7.0), ("o6", "Y1", "c6", None), ("o6", "M1", "c6", None),
     ("o6", "O1", "c6", None)],
    columns=[S.ORDER_ID, S.PRODUCT_ID, S.CUSTOMER_ID, S.PRICE]).assign(**{S.QUANTITY: 1})
ITEMS = CATALOG[S.PRODUCT_ID].tolist()
N = len(ITEMS)


@pytest.fixture(scope="module")
def shop():
    return build_model(CATALOG, ORDERS, settings=BuildSettings(use_text=False))


def compiled(shop, **rules) -> CompiledRules:
    return compile_rules(RuleSet("test", **rules), shop, CATALOG, ORDERS)


def hist(shop, customer):
    return shop.history(customer)[0]


def adjust(shop, rules: CompiledRules, customer, scores=None):
    scores = np.ones(N) if scores is None else np.asarray(scores, dtype=np.float64)
    return rules.adjust(customer, hist(shop, customer), scores)


def shown(shop, adjusted) -> set:
    return {ITEMS[j] for j in np.flatnonzero(np.isfinite(adjusted))}


# --- each rule on its own -------------------------------------------------------------------------

def test_no_rules_change_nothing(shop):
    r = compiled(shop)
    scores = np.array([3.0, -1.0, 0.0, 2.5, 1.0, 0.5, 7.0])
    out, notes = adjust(shop, r, "c1", scores)
    np.testing.assert_array_equal(out, scores)
    assert len(notes) == 0 and list(notes) == [] and r.warnings == [] and r.pins("c1", hist(shop, "c1")) == []
    assert RuleSet("x").is_empty and RuleSet("x").summary() == "no rules"


def test_exclude_items(shop):
    r = compiled(shop, exclude_items=["H1", "O1", "NOPE"])
    out, notes = adjust(shop, r, "c1")
    assert shown(shop, out) == {"Y1", "Y2", "M1", "G1", "F1"}
    assert r.warnings == ["excluded product ids not in the catalog: NOPE"]
    assert len(notes) == 0                               # exclusions carry no note: the item is gone


@pytest.mark.parametrize("category, gone", [
    ("frozen", {"F1"}),
    ("FROZEN  >  frozen pizza", {"F1"}),                 # a path, case and spaces ignored
    ("frozen pizza", {"F1"}),                            # a level below the top
    ("yogurt", {"Y1", "Y2"}),
    ("dairy", {"Y1", "Y2", "M1"}),
    ("Dairy > Milk", {"M1"}),
])
def test_exclude_categories_at_any_level(shop, category, gone):
    r = compiled(shop, exclude_categories=[category])
    out, _ = adjust(shop, r, "c2")
    assert shown(shop, out) == set(ITEMS) - gone
    assert r.warnings == []


@pytest.mark.parametrize("category", ["pizza", "milk > dairy", "dairy > frozen", "Frozen Pizza > Frozen"])
def test_exclude_category_matching_nothing_warns(shop, category):
    r = compiled(shop, exclude_categories=[category])
    out, _ = adjust(shop, r, "c2")
    assert np.isfinite(out).all()                        # whole level names only, in path order
    assert r.warnings == [f"excluded category {category!r} matches no product"]


def test_boost_and_bury(shop):
    r = compiled(shop, boosts=[("category", "dairy", 2), ("brand", "ACME", 0.5)])
    np.testing.assert_allclose(r.factors, [1.0, 2.0, 2.0, 0.5, 1.0, 1.0, 1.0])  # Y1: 2 x 0.5 = 1
    scores = np.array([1.0, 1.0, -1.0, 4.0, 3.0, 0.0, 2.0])
    out, notes = adjust(shop, r, "c6", scores)
    # positive scores multiplied; M1's negative score and F1's zero are left alone
    np.testing.assert_allclose(out, [1.0, 2.0, -1.0, 2.0, 3.0, 0.0, 2.0])
    assert dict(notes) == {1: "boosted: category 'dairy' x2", 3: "buried: brand 'ACME' x0.5"}
    assert 0 not in notes and 2 not in notes and notes.get(0) is None   # Y1's factors cancel; M1 unchanged
    assert r.note(2) == "boosted: category 'dairy' x2" and r.note(4) is None
    assert r.warnings == []


def test_two_boosts_on_one_item_multiply_and_share_a_note(shop):
    r = compiled(shop, boosts=[("category", "dairy", 2), ("category", "yogurt", 1.5)])
    out, notes = adjust(shop, r, "c3")
    np.testing.assert_allclose(out[:3], [3.0, 3.0, 2.0])
    assert notes[0] == "boosted: category 'dairy' x2; boosted: category 'yogurt' x1.5"
    assert notes[2] == "boosted: category 'dairy' x2"


def test_boosts_matching_nothing_warn(shop):
    r = compiled(shop, boosts=[("brand", "Zeta", 3), ("category", "toys", 0.5)])
    assert r.warnings == ["brand boost 'Zeta' matches no product", "category boost 'toys' matches no product"]
    assert (r.factors == 1).all()


def test_brand_boost_without_brands_warns(shop):
    r = compile_rules(RuleSet("b", boosts=[("brand", "Acme", 2)]), shop, CATALOG.drop(columns=S.BRAND), ORDERS)
    assert r.warnings == ["brand boosts ignored: the catalog has no brands"]
    out, notes = adjust(shop, r, "c1")
    assert (out == 1).all() and len(notes) == 0


@pytest.mark.parametrize("customer, kept", [
    ("c1", {"Y1", "M1", "G1", "F1", "O1"}),    # ref 3: [1.5, 6] inclusive; F1 priced 6 from its orders; O1 unpriced
    ("c2", {"Y1", "Y2", "M1", "O1"}),          # ref 1 (Y2's catalog price): [0.5, 2]
    ("c3", {"G1", "H1", "F1", "O1"}),          # ref 8, the price paid for H1: [4, 16]
    ("c6", {"Y1", "Y2", "M1", "O1"}),          # lines without prices: median(2, 1.5) = 1.75, [0.875, 3.5]
])
def test_price_band(shop, customer, kept):
    r = compiled(shop, price_band=(0.5, 2))
    np.testing.assert_allclose(r.item_prices, [2.0, 1.0, 1.5, 4.0, 10.0, 6.0, np.nan])
    out, notes = adjust(shop, r, customer)
    assert shown(shop, out) == kept and len(notes) == 0
    assert r.warnings == ["price band: 1 of 7 products have no price and are never removed by it"]


def test_price_band_customer_missing_from_the_orders_uses_their_history(shop):
    r = compiled(shop, price_band=(0.5, 2))
    h = shop.item_index(["H1", "G1", "O1"])                 # median of 10, 4 (O1 unpriced) = 7: [3.5, 14]
    assert r.reference_price("new", h) == pytest.approx(7.0)
    out, _ = r.adjust("new", h, np.ones(N))
    assert shown(shop, out) == {"G1", "H1", "F1", "O1"}
    assert r.reference_price("new", np.zeros(0, dtype=np.int64)) is None
    out, _ = r.adjust("new", np.zeros(0, dtype=np.int64), np.ones(N))   # no reference: no band
    assert np.isfinite(out).all()


def test_price_band_without_prices_is_ignored_with_a_warning(shop):
    r = compile_rules(RuleSet("p", price_band=(0.5, 2)), shop, CATALOG.drop(columns=S.PRICE),
                      ORDERS.drop(columns=S.PRICE))
    assert r.warnings == ["price band ignored: neither the catalog nor the orders have prices"]
    out, _ = adjust(shop, r, "c1")
    assert np.isfinite(out).all()


def test_price_band_counts_only_product_lines(shop):
    # a cancelled line at a silly price must not move c1's reference price
    orders = pd.concat([ORDERS.assign(**{S.LINE_TYPE: S.PRODUCT_LINE}), pd.DataFrame(
        [("o9", "O1", "c1", 500.0, 1, "cancellation")], columns=[*ORDERS.columns, S.LINE_TYPE])])
    r = compile_rules(RuleSet("p", price_band=(0.5, 2)), shop, CATALOG, orders)
    assert r.reference_price("c1", hist(shop, "c1")) == pytest.approx(3.0)
    assert math.isnan(r.item_prices[ITEMS.index("O1")])


def test_only_other_categories_at_the_model_level(shop):
    r = compiled(shop, only_other_categories=True)
    out, notes = adjust(shop, r, "c1")                      # bought Dairy and Breakfast
    assert shown(shop, out) == {"H1", "F1", "O1"} and len(notes) == 0
    fine = build_model(CATALOG, ORDERS, settings=BuildSettings(use_text=False, category_level=2))
    out, _ = compile_rules(RuleSet("o", only_other_categories=True), fine, CATALOG, ORDERS).adjust(
        "c1", hist(fine, "c1"), np.ones(N))
    assert shown(fine, out) == {"M1", "H1", "F1", "O1"}      # at level 2 milk is another category than yogurt
    out, _ = r.adjust("nobody", np.zeros(0, dtype=np.int64), np.ones(N))
    assert np.isfinite(out).all()                           # nothing bought: nothing to leave out


def test_pins(shop):
    r = compiled(shop, pins=[("F1", 4), ("Y1", 2), ("H1", 1), ("NOPE", 3)], exclude_categories=["frozen"])
    assert r.warnings == ["pinned product ids not in the catalog: NOPE",
                          "pinned product 'F1' is also excluded: it is never shown"]
    y1, h1 = ITEMS.index("Y1"), ITEMS.index("H1")
    assert r.pins("c2", hist(shop, "c2")) == [(h1, 1), (y1, 2)]          # by position
    assert r.pins("c1", hist(shop, "c1")) == [(h1, 1)]                   # c1 bought Y1
    assert all(isinstance(v, int) for pair in r.pins("c2", hist(shop, "c2")) for v in pair)
    assert r.pin_note(2) == "pinned: position 2"


def test_pins_outlast_the_price_band_and_only_other_categories(shop):
    r = compiled(shop, pins=[("M1", 1)], price_band=(3, 4), only_other_categories=True)
    out, _ = adjust(shop, r, "c2")
    assert not np.isfinite(out[ITEMS.index("M1")])          # the scores leave it out ...
    assert r.pins("c2", hist(shop, "c2")) == [(ITEMS.index("M1"), 1)]   # ... the pin still shows it


def test_all_rules_together(shop):
    r = compiled(shop, pins=[("O1", 1)], boosts=[("category", "pantry", 3), ("brand", "bmart", 0.5)],
                 exclude_items=["Y1"], exclude_categories=["auto"], price_band=(0.1, 10),
                 only_other_categories=True)
    # c2 (bought Dairy, ref 1 -> [0.1, 10]): Y1 excluded, dairy bought, O1 excluded (pin dropped too),
    # H1 10 <= 10 boosted x3, F1 6 buried x0.5, G1 unchanged
    out, notes = adjust(shop, r, "c2", [1, 1, 1, 2, 2, 2, 2])
    assert shown(shop, out) == {"G1", "H1", "F1"}
    np.testing.assert_allclose(out[[3, 4, 5]], [2.0, 6.0, 1.0])
    assert dict(notes) == {4: "boosted: category 'pantry' x3", 5: "buried: brand 'bmart' x0.5"}
    assert r.pins("c2", hist(shop, "c2")) == []
    assert r.rules.summary() == ("1 pin, 2 boosts, excludes 1 item and 1 category, price band 0.1x-10x, "
                                 "only other categories")


# --- the interface --------------------------------------------------------------------------------

def test_adjust_leaves_its_input_alone_and_checks_the_shape(shop):
    r = compiled(shop, exclude_items=["Y1"], boosts=[("category", "dairy", 2)])
    scores = np.arange(1, N + 1, dtype=np.float64)
    before = scores.copy()
    out, _ = adjust(shop, r, "c1", scores)
    np.testing.assert_array_equal(scores, before)
    assert out.dtype == np.float64 and out.shape == (N,) and out is not scores
    with pytest.raises(ValueError, match=r"scores must have shape \(7,\), got \(6,\)"):
        r.adjust("c1", hist(shop, "c1"), np.ones(N - 1))


def test_notes_are_a_lazy_mapping(shop):
    r = compiled(shop, boosts=[("category", "dairy", 2)], exclude_items=["Y2"])
    out, notes = adjust(shop, r, "c1", [1, 1, 1, 1, 1, 1, 1])
    assert list(notes) == [0, 2] and len(notes) == 2                    # Y2 excluded: no note
    with pytest.raises(KeyError):
        notes[1]
    assert -1 not in notes and 99 not in notes and "x" not in notes
    assert np.int64(2) in notes and notes[np.int64(2)] == "boosted: category 'dairy' x2"
    assert r.name == "test" and isinstance(r.warnings, list)


def test_compile_rules_checks_its_inputs(shop):
    with pytest.raises(TypeError, match="rules must be a RuleSet"):
        compile_rules({"name": "x"}, shop, CATALOG, ORDERS)
    with pytest.raises(ValueError, match="catalog must have a 'product_id' column"):
        compile_rules(RuleSet("x"), shop, CATALOG.drop(columns=S.PRODUCT_ID), ORDERS)


# --- RuleSet: validation and JSON -----------------------------------------------------------------

@pytest.mark.parametrize("kwargs, exc, match", [
    ({"name": ""}, ValueError, "name must not be empty"),
    ({"name": 3}, TypeError, "name must be a str"),
    ({"name": "x" * 101}, ValueError, "name must be at most 100 characters, got 101"),
    ({"pins": [("A", 0)]}, ValueError, r"pins\[0\] position must be >= 1"),
    ({"pins": [("A", 1.0)]}, TypeError, r"pins\[0\] position must be an int"),
    ({"pins": [("A", True)]}, TypeError, r"pins\[0\] position must be an int"),
    ({"pins": [(7, 1)]}, TypeError, r"pins\[0\] product_id must be a str"),
    ({"pins": [("A",)]}, ValueError, r"pins\[0\] must be \(product_id, position\)"),
    ({"pins": [("A", 1), ("B", 1)]}, ValueError, "pins: position 1 is pinned more than once"),
    ({"pins": [("A", 1), ("A", 2)]}, ValueError, "pins: product_id 'A' is pinned more than once"),
    ({"pins": "A"}, TypeError, "pins must be a list or tuple"),
    ({"boosts": [("colour", "red", 2)]}, ValueError, r"boosts\[0\] kind must be one of"),
    ({"boosts": [("brand", "Acme", 0)]}, ValueError, r"boosts\[0\] factor must be > 0"),
    ({"boosts": [("brand", "Acme", -2)]}, ValueError, r"boosts\[0\] factor must be > 0"),
    ({"boosts": [("brand", "Acme", float("inf"))]}, ValueError, r"boosts\[0\] factor must be finite"),
    ({"boosts": [("brand", "Acme", "2")]}, TypeError, r"boosts\[0\] factor must be a number"),
    ({"boosts": [("brand", " ", 2)]}, ValueError, r"boosts\[0\] value must not be empty"),
    ({"boosts": [("brand", "Acme", 2), ("brand", "ACME ", 3)]}, ValueError, "brand 'ACME' is given more than once"),
    ({"boosts": [("category", "a > b", 2), ("category", "A>B", 3)]}, ValueError, "given more than once"),
    ({"exclude_items": ["A", ""]}, ValueError, r"exclude_items\[1\] must not be empty"),
    ({"exclude_categories": [None]}, TypeError, r"exclude_categories\[0\] must be a str"),
    ({"price_band": (2, 1)}, ValueError, r"price_band must satisfy 0 <= low < high, got \(2.0, 1.0\)"),
    ({"price_band": (-1, 1)}, ValueError, "price_band must satisfy 0 <= low < high"),
    ({"price_band": (1,)}, ValueError, r"price_band must be \(low, high\)"),
    ({"price_band": (0.5, float("nan"))}, ValueError, "price_band high must be finite"),
    ({"only_other_categories": "yes"}, TypeError, "only_other_categories must be a bool"),
])
def test_rule_set_validation(kwargs, exc, match):
    kwargs = {"name": "r", **kwargs}
    with pytest.raises(exc, match=match):
        RuleSet(**kwargs)


def test_rule_set_normalises_lists_to_tuples():
    r = RuleSet(" summer ", pins=[["P", 2]], boosts=[["brand", "Acme", 2]], exclude_items=["A", "A", "B"],
                price_band=[0, 3])
    assert r.name == "summer" and r.pins == (("P", 2),) and r.boosts == (("brand", "Acme", 2.0),)
    assert r.exclude_items == ("A", "B") and r.price_band == (0.0, 3.0)
    hash(r)                                                  # frozen and hashable


@pytest.mark.parametrize("data, match", [
    ({"name": "x", "pin": []}, "unknown rule set field 'pin'"),
    ({"pins": []}, "needs a 'name'"),
    ({"name": "x", "version": 2}, "version must be 1"),
    ({"name": "x", "pins": [{"product_id": "A"}]}, r"pins\[0\] needs 'position'"),
])
def test_from_dict_rejects_bad_data(data, match):
    with pytest.raises(ValueError, match=match):
        RuleSet.from_dict(data)


names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12).filter(lambda s: s.strip())


@settings(max_examples=60, deadline=None)
@given(name=names, pins=st.dictionaries(names, st.integers(1, 50), max_size=4),
       boosts=st.dictionaries(st.tuples(st.sampled_from(["category", "brand"]), st.sampled_from(
           ["snacks", "Acme", "dairy > milk", "Frozen"])), st.floats(0.01, 100), max_size=4),
       excl=st.lists(names, max_size=4), cats=st.lists(names, max_size=3),
       band=st.none() | st.tuples(st.floats(0, 5), st.floats(0.01, 5)).filter(lambda b: b[0] < b[1]),
       other=st.booleans())
def test_json_round_trip(name, pins, boosts, excl, cats, band, other):
    pins = [(p, q) for p, q in pins.items()]
    if len({q for _, q in pins}) < len(pins):
        return
    r = RuleSet(name, pins=pins, boosts=[(k, v, f) for (k, v), f in boosts.items()], exclude_items=excl,
                exclude_categories=cats, price_band=band, only_other_categories=other)
    text = json.dumps(r.to_dict())
    assert RuleSet.from_dict(json.loads(text)) == r
    assert RuleSet.from_json(r.to_json()) == r


# --- storage --------------------------------------------------------------------------------------

def test_storage_round_trip(engine):
    ensure_workspace(engine, "shop")
    ensure_workspace(engine, "other")
    summer = RuleSet("summer", pins=[("P1", 1)], boosts=[("brand", "Acmé", 1.5)], exclude_categories=["frozen"],
                     price_band=(0.5, 2.0), only_other_categories=True)
    save_rule_set(engine, "shop", summer)
    save_rule_set(engine, "shop", RuleSet("clearance", exclude_items=["A"]))
    assert load_rule_set(engine, "shop", "summer") == summer
    listing = list_rule_sets(engine, "shop")
    assert listing["name"].tolist() == ["clearance", "summer"] and not listing["active"].any()
    assert listing["summary"].tolist() == ["excludes 1 item", "1 pin, 1 boost, excludes 1 category, "
                                           "price band 0.5x-2x, only other categories"]
    assert list_rule_sets(engine, "other").empty and get_active_rule_set(engine, "shop") is None

    set_active_rule_set(engine, "shop", "summer")
    assert get_active_rule_set(engine, "shop") == summer
    # saving again under the same name replaces it and keeps it active
    summer2 = RuleSet("summer", pins=[("P2", 3)])
    save_rule_set(engine, "shop", summer2)
    assert len(list_rule_sets(engine, "shop")) == 2 and get_active_rule_set(engine, "shop") == summer2
    set_active_rule_set(engine, "shop", "clearance")                 # only one active at a time
    assert list_rule_sets(engine, "shop")["active"].tolist() == [True, False]
    set_active_rule_set(engine, "shop", None)
    assert get_active_rule_set(engine, "shop") is None

    set_active_rule_set(engine, "shop", "clearance")
    delete_rule_set(engine, "shop", "clearance")                     # deleting the active set: no rules
    assert get_active_rule_set(engine, "shop") is None
    assert list_rule_sets(engine, "shop")["name"].tolist() == ["summer"]


def test_storage_errors(engine):
    ensure_workspace(engine, "shop")
    save_rule_set(engine, "shop", RuleSet("a"))
    set_active_rule_set(engine, "shop", "a")
    with pytest.raises(RuleSetNotFound, match="workspace 'shop' has no rule set named 'b'"):
        load_rule_set(engine, "shop", "b")
    with pytest.raises(RuleSetNotFound):
        delete_rule_set(engine, "shop", "b")
    with pytest.raises(RuleSetNotFound):
        set_active_rule_set(engine, "shop", "b")
    assert get_active_rule_set(engine, "shop") == RuleSet("a")     # a failed switch changes nothing
    with pytest.raises(WorkspaceError, match="workspace 'nope' does not exist"):
        save_rule_set(engine, "nope", RuleSet("a"))
    with pytest.raises(TypeError, match="rules must be a RuleSet"):
        save_rule_set(engine, "shop", {"name": "a"})


def test_deleting_the_workspace_deletes_its_rule_sets(engine):
    from sqlalchemy import func, select

    from core.store.models import RuleSetRecord

    ensure_workspace(engine, "shop")
    save_rule_set(engine, "shop", RuleSet("a"))
    delete_workspace(engine, "shop")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(RuleSetRecord)).scalar() == 0


# --- a real-data subset ---------------------------------------------------------------------------

def test_rules_on_the_instacart_fixture(instacart_tables):
    catalog, orders = instacart_tables
    m = build_model(catalog, orders, settings=BuildSettings(use_text=False))
    paths = pd.Series(m.category_paths)
    frozen = paths.str.startswith("frozen").to_numpy()
    snacks = paths.str.split(">").map(lambda p: "snacks" in [x.strip() for x in p]).to_numpy()
    assert frozen.any() and snacks.any()
    pin = m.item_ids[np.flatnonzero(~frozen)[0]]
    r = compile_rules(RuleSet("demo", pins=[(pin, 1)], exclude_categories=["Frozen"],
                              boosts=[("category", "snacks", 1.5), ("brand", "Acme", 2)], price_band=(0.5, 2)),
                      m, catalog, orders)
    # the fixture has neither brands nor prices: both rules say so instead of failing silently
    assert r.warnings == ["brand boosts ignored: the catalog has no brands",
                          "price band ignored: neither the catalog nor the orders have prices"]
    np.testing.assert_array_equal(r.excluded, frozen)
    for c in m.customer_ids[:20]:
        h = hist(m, c)
        out, notes = r.adjust(c, h, np.ones(m.n_items))
        np.testing.assert_array_equal(np.isinf(out), frozen)
        np.testing.assert_array_equal(out[~frozen], np.where(snacks[~frozen], 1.5, 1.0))
        assert set(notes) == set(np.flatnonzero(snacks & ~frozen).tolist())
        assert r.pins(c, h) == ([] if pin in set(m.item_ids[h]) else [(int(np.flatnonzero(m.item_ids == pin)[0]), 1)])
